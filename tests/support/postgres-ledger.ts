import { postgresMigrations } from '../../src/db/migrations/postgres'
import { openPostgres, type Sql } from '../../src/db/postgres/connection'
import { migratePostgres } from '../../src/db/postgres/migrator'
import type { LedgerEngine } from '../../src/ledger/engine'
import { openPostgresLedgerEngine } from '../../src/ledger/postgres/engine'
import { type TestPostgres, testPostgres } from './postgres'

// PostgreSQL ledgers for the tests: a migrated database, and any number of "replicas" on it, each an
// engine with a pool of its own, as separate ledgerd processes would have.

export interface LedgerDatabase {
  url: string
  /** A replica: its own pool and engine. Closed by dispose(). */
  replica(options?: { poolSize?: number; statementTimeoutMs?: number }): { sql: Sql; engine: LedgerEngine }
  /** The first replica's pool, for setting up users and reading rows behind the engines' backs. */
  admin: Sql
  createUser(): Promise<string>
  deleteUser(id: string): Promise<void>
  dispose(): Promise<void>
}

let users = 0

export function poolFor(url: string, options: { poolSize?: number; statementTimeoutMs?: number } = {}): Sql {
  return openPostgres({
    databaseUrl: url,
    dbPoolSize: options.poolSize ?? 10,
    dbStatementTimeoutMs: options.statementTimeoutMs ?? 5000,
    dbConnectTimeoutMs: 2000,
    dbSslMode: 'disable',
    dbSslRootCert: '',
  })
}

/** A fresh migrated ledger database on the given server (the shared test server by default). */
export async function ledgerDatabase(server?: TestPostgres): Promise<LedgerDatabase> {
  const url = await (server ?? (await testPostgres())).createDatabase('ledger')
  const admin = poolFor(url, { poolSize: 4 })
  await migratePostgres(admin, postgresMigrations)
  const opened: { sql: Sql; engine: LedgerEngine }[] = []
  return {
    url,
    admin,
    replica(options = {}) {
      const sql = poolFor(url, options)
      const engine = openPostgresLedgerEngine(sql, {
        statementTimeoutMs: options.statementTimeoutMs ?? 5000,
        ownsPool: true,
      })
      opened.push({ sql, engine })
      return { sql, engine }
    },
    async createUser() {
      const id = Bun.randomUUIDv7()
      const email = `user${users++}-${id}@example.com`
      const now = new Date().toISOString()
      await admin`INSERT INTO users (id, email, email_key, name, role, created_at, updated_at)
        VALUES (${id}, ${email}, ${email}, 'U', 'user', ${now}, ${now})`
      return id
    },
    async deleteUser(id) {
      await admin`UPDATE users SET deleted_at = ${new Date().toISOString()} WHERE id = ${id}`
    },
    async dispose() {
      await Promise.all(opened.splice(0).map(({ engine }) => engine.close()))
      await admin.end({ timeout: 5 })
    },
  }
}
