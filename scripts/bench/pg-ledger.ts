// The PostgreSQL ledger engine's write path, driven directly: M replicas (each an engine with its own
// pool, as separate ledgerd processes would have) and N concurrent callers spread over them, depositing
// and withdrawing (70 : 20 : 10 transfers) with a fresh Idempotency-Key each, on random accounts of a
// fresh database, for a few seconds. No HTTP in the way. Prints writes/s and latency percentiles.
//
// Usage: bun scripts/bench/pg-ledger.ts [--url postgres://...] [--replicas 3] [--callers 64]
//          [--seconds 10] [--accounts 1000] [--pool 10] [--unkeyed]
// Without --url it starts a private PostgreSQL 15 (tests/support/postgres.ts: initdb, fsync on) and
// prints its URL, so pgbench can be run against the same server for comparison. Loopback only.
import { parseArgs } from 'node:util'
import { postgresMigrations } from '../../src/db/migrations/postgres'
import { openPostgres } from '../../src/db/postgres/connection'
import { migratePostgres } from '../../src/db/postgres/migrator'
import type { Caller, LedgerEngine } from '../../src/ledger/engine'
import { openPostgresLedgerEngine } from '../../src/ledger/postgres/engine'
import { startPostgres } from '../../tests/support/postgres'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    url: { type: 'string' },
    replicas: { type: 'string', default: '3' },
    callers: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    accounts: { type: 'string', default: '1000' },
    pool: { type: 'string', default: '10' },
    unkeyed: { type: 'boolean', default: false },
    hold: { type: 'boolean', default: false },
  },
})
const replicas = Number(values.replicas)
const callers = Number(values.callers)
const seconds = Number(values.seconds)
const accountCount = Number(values.accounts)

let url = values.url
if (!url) {
  const server = await startPostgres()
  url = await server.createDatabase('bench')
  console.log(`server ${server.url()} (data ${server.dataDir})`)
}
if (!/@(127\.0\.0\.1|localhost)[:/]/.test(url)) throw new Error('load tests run on loopback only')

const pool = (size: number) =>
  openPostgres({
    databaseUrl: url as string,
    dbPoolSize: size,
    dbStatementTimeoutMs: 10_000,
    dbConnectTimeoutMs: 5000,
    dbSslMode: 'disable',
    dbSslRootCert: '',
  })

const admin = pool(2)
await migratePostgres(admin, postgresMigrations)
const engines: LedgerEngine[] = Array.from({ length: replicas }, () =>
  openPostgresLedgerEngine(pool(Number(values.pool)), { statementTimeoutMs: 10_000, ownsPool: true }),
)

// One user owns every account (as writer-ceiling.ts does for SQLite): keys are per caller, so each
// bench caller has its own counter.
const ownerId = Bun.randomUUIDv7()
const now = new Date().toISOString()
await admin`INSERT INTO users (id, email, email_key, name, role, created_at, updated_at)
  VALUES (${ownerId}, 'bench@example.com', 'bench@example.com', 'Bench', 'user', ${now}, ${now})`
const owner: Caller = { userId: ownerId }
const accounts: string[] = []
const first = engines[0] as LedgerEngine
for (let i = 0; i < accountCount; i += 100) {
  const opened = await Promise.all(
    Array.from({ length: Math.min(100, accountCount - i) }, async () => {
      const made = await first.openAccount(owner, { op: 'open-account', currency: 'USD' })
      if (!made.ok) throw new Error('open failed')
      await first.move(owner, { op: 'deposit', accountId: made.value.id, amount: 1_000_000 })
      return made.value.id
    }),
  )
  accounts.push(...opened)
}

const latencies: number[] = []
let refused = 0
let failed = 0
let sequence = 0
const pick = () => accounts[Math.floor(Math.random() * accounts.length)] as string
const deadline = performance.now() + seconds * 1000

async function caller(index: number) {
  const engine = engines[index % replicas] as LedgerEngine
  while (performance.now() < deadline) {
    const who: Caller = values.unkeyed
      ? owner
      : { userId: ownerId, idempotency: { key: `bench-${index}-${sequence++}` } }
    const roll = Math.random()
    const started = performance.now()
    try {
      const result =
        roll < 0.7
          ? await engine.move(who, {
              op: 'deposit',
              accountId: pick(),
              amount: 1 + Math.floor(Math.random() * 100),
            })
          : roll < 0.9
            ? await engine.move(who, {
                op: 'withdrawal',
                accountId: pick(),
                amount: 1 + Math.floor(Math.random() * 50),
              })
            : await engine.move(who, {
                op: 'transfer',
                fromAccountId: pick(),
                toAccountId: pick(),
                amount: 1,
              })
      if (!result.ok) refused++
      latencies.push(performance.now() - started)
    } catch {
      failed++
    }
  }
}

const began = performance.now()
await Promise.all(Array.from({ length: callers }, (_, i) => caller(i)))
const elapsed = (performance.now() - began) / 1000
latencies.sort((a, b) => a - b)
const at = (p: number) =>
  (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2)
console.log(
  `RESULT replicas=${replicas} callers=${callers} pool=${values.pool} keyed=${!values.unkeyed} ` +
    `writes=${latencies.length} writes_per_s=${(latencies.length / elapsed).toFixed(0)} ` +
    `p50_ms=${at(0.5)} p99_ms=${at(0.99)} refused=${refused} failed=${failed}`,
)
const report = await first.verify()
console.log(`verify: ${report.transactions} transactions, ${report.violations.length} violations`)
if (values.hold) {
  console.log(`holding the server for pgbench: ${url}; Ctrl-C to stop`)
  await new Promise(() => {})
}
await Promise.all(engines.map((engine) => engine.close()))
await admin.end()
process.exit(0)
