import {
  type AppliedRow,
  checkCompatible,
  checksum,
  type Migration,
  type MigrationStatus,
  statusOf,
} from '../migrator'
import type { Sql } from './connection'

/**
 * The advisory lock every ledgerd takes to migrate: N replicas starting together queue on it, the first
 * applies what is pending and the rest find nothing left to do. Any constant would do; this one spells
 * "ledgerd" in ASCII so it is recognisable in pg_locks.
 */
export const migrationLockKey = 0x6c65646765726400n

const bookkeeping = `CREATE TABLE IF NOT EXISTS ledgerd_migrations (
  version INTEGER PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`

async function applied(sql: Sql): Promise<AppliedRow[]> {
  // Read without creating: `migrate --status` on a fresh database must not write to it.
  const [table] = await sql<
    { exists: boolean }[]
  >`SELECT to_regclass('ledgerd_migrations') IS NOT NULL AS exists`
  if (!table?.exists) return []
  return sql<
    AppliedRow[]
  >`SELECT version, name, checksum, applied_at FROM ledgerd_migrations ORDER BY version`
}

export async function postgresMigrationStatus(
  sql: Sql,
  migrations: readonly Migration[],
): Promise<MigrationStatus[]> {
  return statusOf(await applied(sql), migrations)
}

/**
 * Applies pending migrations under the advisory lock, each in its own transaction with its bookkeeping
 * row (PostgreSQL's DDL is transactional: a migration applies whole or not at all). Returns the versions
 * applied. Refuses, applying nothing, a database migrated by a newer binary.
 */
export async function migratePostgres(sql: Sql, migrations: readonly Migration[]): Promise<number[]> {
  const done: number[] = []
  // postgres.js's reserve() waits for an idle open connection and never opens one itself (3.4.9): a
  // query first makes sure the pool has one.
  await sql`SELECT 1`
  const session = await sql.reserve()
  try {
    await session`SELECT pg_advisory_lock(${migrationLockKey.toString()}::bigint)`
    try {
      await session.unsafe(bookkeeping)
      const rows = await applied(session as unknown as Sql)
      checkCompatible(rows, migrations)
      const have = new Set(rows.map((row) => row.version))
      for (const migration of migrations) {
        if (have.has(migration.version)) continue
        // BEGIN and COMMIT by hand: the reserved connection holds the lock, and sql.begin() would take
        // another connection from the pool.
        await session.unsafe('BEGIN')
        try {
          await session.unsafe(migration.sql)
          await session`INSERT INTO ledgerd_migrations (version, name, checksum, applied_at)
            VALUES (${migration.version}, ${migration.name}, ${checksum(migration.sql)}, ${new Date().toISOString()})`
          await session.unsafe('COMMIT')
        } catch (error) {
          await session.unsafe('ROLLBACK').catch(() => {})
          throw error
        }
        done.push(migration.version)
      }
    } finally {
      await session`SELECT pg_advisory_unlock(${migrationLockKey.toString()}::bigint)`
    }
  } finally {
    session.release()
  }
  return done
}
