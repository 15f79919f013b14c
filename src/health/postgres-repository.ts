import type { Sql } from '../db/postgres/connection'
import { orUnavailable } from '../db/postgres/unavailable'
import type { HealthRepository } from './repository'

/** SQLSTATE undefined_table: the bookkeeping table does not exist yet. */
const undefinedTable = '42P01'

/**
 * Readiness on PostgreSQL. A database no ledgerd has migrated yet has no ledgerd_migrations table (the
 * PostgreSQL migrator reads status without creating it): that is version 0, "migrations pending", not
 * an unreachable database. Anything else that fails the query rejects, and the replica is not ready.
 */
export function postgresHealthRepository(sql: Sql): HealthRepository {
  return {
    async schemaVersion() {
      try {
        const [row] = await orUnavailable(
          sql<{ version: number | null }[]>`SELECT max(version) AS version FROM ledgerd_migrations`,
        )
        return row?.version ?? 0
      } catch (error) {
        if ((error as { code?: string }).code === undefinedTable) return 0
        throw error
      }
    },
  }
}
