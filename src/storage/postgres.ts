import { PostgresLoginThrottle } from '../auth/postgres-login-throttle'
import type { Config } from '../config/settings'
import { postgresMigrations } from '../db/migrations/postgres'
import { openPostgres, type Sql } from '../db/postgres/connection'
import { migratePostgres, postgresMigrationStatus } from '../db/postgres/migrator'
import { countPoolUsage } from '../db/postgres/pool-usage'
import type { GeneratedSecrets } from '../files/generated-secrets'
import { postgresHealthRepository } from '../health/postgres-repository'
import { openPostgresLedgerEngine } from '../ledger/postgres/engine'
import { verifyPostgresLedger } from '../ledger/postgres/verify'
import { postgresUsersRepository } from '../users/postgres-repository'
import type { Storage } from './storage'

/** `ledgerd verify` reads every row in one snapshot: minutes, not the statement timeout of a request. */
const verifyTimeoutMs = 10 * 60_000

/**
 * Generated secrets as rows: made only while none is stored (not on every start), and when replicas
 * make one at once, the first insert wins and everyone reads the winner's.
 */
export function postgresSecrets(sql: Sql): GeneratedSecrets {
  const stored = async (name: string) =>
    (await sql<{ value: string }[]>`SELECT value FROM generated_secrets WHERE name = ${name}`)[0]?.value
  return {
    async once(name, make) {
      const existing = await stored(name)
      if (existing !== undefined) return existing
      const candidate = await make()
      await sql`INSERT INTO generated_secrets (name, value) VALUES (${name}, ${candidate}) ON CONFLICT (name) DO NOTHING`
      const value = await stored(name)
      if (value === undefined) throw new Error(`generated secret ${name} vanished`)
      return value
    },
  }
}

/** The URL as logs may show it: no password, no query. */
export function redactedDatabaseUrl(raw: string): string {
  const url = new URL(raw)
  return `${url.protocol}//${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}`
}

/**
 * A PostgreSQL shared by every replica. Opening never fails: connections are made on first use, so a
 * database that is not up yet shows as failing queries that `serve` retries, not as a crash.
 */
export function openPostgresStorage(config: Config): Storage & { sql: Sql } {
  let connectionClosed = () => {}
  const { sql, usage } = countPoolUsage(
    openPostgres(config, () => connectionClosed()),
    config.dbPoolSize,
  )
  connectionClosed = usage.connectionClosed
  return {
    kind: 'postgres',
    location: redactedDatabaseUrl(config.databaseUrl),
    schemaVersion: postgresMigrations.at(-1)?.version ?? 0,
    sql,
    poolUsage: usage,
    users: postgresUsersRepository(sql),
    async serveUsers() {
      return this.users
    },
    health: postgresHealthRepository(sql),
    secrets: postgresSecrets(sql),
    loginThrottle: (scope, limit, windowMs) => new PostgresLoginThrottle(sql, { scope, limit, windowMs }),
    migrate: () => migratePostgres(sql, postgresMigrations),
    migrationStatus: () => postgresMigrationStatus(sql, postgresMigrations),
    openLedger: async (config, observer) =>
      openPostgresLedgerEngine(sql, {
        statementTimeoutMs: config.dbStatementTimeoutMs,
        ownsPool: false,
        committed: (size, seconds) => observer.committed(size, seconds),
      }),
    verify: () => verifyPostgresLedger(sql, verifyTimeoutMs),
    async close() {
      await sql.end({ timeout: 5 })
    },
  }
}
