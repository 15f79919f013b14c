import { postgresMigrations } from '../../src/db/migrations/postgres'
import { openPostgres, type Sql } from '../../src/db/postgres/connection'
import { migratePostgres } from '../../src/db/postgres/migrator'
import { testPostgres } from './postgres'

/** A pool as `serve` opens one, small: each stands for one ledgerd replica. */
export function openTestPool(databaseUrl: string, dbPoolSize = 3): Sql {
  return openPostgres({
    databaseUrl,
    dbPoolSize,
    dbStatementTimeoutMs: 10_000,
    dbConnectTimeoutMs: 5000,
    dbSslMode: 'disable',
    dbSslRootCert: '',
  })
}

/** A fresh database on the test server with every ledgerd migration applied; returns its URL. */
export async function migratedDatabase(prefix: string): Promise<string> {
  const url = await (await testPostgres()).createDatabase(prefix)
  const sql = openTestPool(url, 1)
  try {
    await migratePostgres(sql, postgresMigrations)
  } finally {
    await sql.end()
  }
  return url
}

/**
 * A pool to a port nothing listens on: every query fails at once with ECONNREFUSED, as against a
 * PostgreSQL that is down.
 */
export async function unreachablePool(): Promise<Sql> {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return openTestPool(`postgres://ledgerd:unused@127.0.0.1:${port}/ledgerd`, 1)
}
