// A PostgreSQL for scripts/bench/postgres.sh: Debian's server in a temp dir (tests/support/postgres.ts:
// initdb as the postgres user, 127.0.0.1 on a free port, fsync and synchronous_commit on), with one empty
// database per name given. Prints "<name> <url>" per database, then "ready", and runs until SIGTERM or
// SIGINT, when it stops the server and removes its files. Only 127.0.0.1.
// Usage: bun scripts/bench/pg-server.ts <database name>...
import { startPostgres } from '../../tests/support/postgres'

const names = Bun.argv.slice(2)
if (names.length === 0) throw new Error('usage: pg-server.ts <database name>...')
const server = await startPostgres()
for (const name of names) console.log(`${name} ${await server.createDatabase(name)}`)
console.log('ready')
// The 'exit' handler startPostgres installs stops the server; signals must reach it as an exit.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0))
setInterval(() => {}, 1 << 30)
