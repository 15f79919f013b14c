import { sql } from 'drizzle-orm'
import { ledgerdMigrations } from '../db/schema'
import type { SqliteConnection } from '../db/sqlite'

export interface HealthRepository {
  /** The highest applied migration version; rejects when the database cannot be queried. */
  schemaVersion(): Promise<number>
}

export function sqliteHealthRepository(db: SqliteConnection): HealthRepository {
  // Prepared on first use: `serve` builds its readiness probe before the first migration has created
  // the table (and a probe asked meanwhile gets a rejection: not ready).
  let query: { get(): { version: number | null } | undefined } | undefined
  return {
    async schemaVersion() {
      query ??= db.orm
        .select({ version: sql<number | null>`max(${ledgerdMigrations.version})` })
        .from(ledgerdMigrations)
        .prepare()
      return query.get()?.version ?? 0
    },
  }
}
