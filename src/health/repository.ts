import { sql } from 'drizzle-orm'
import { ledgerdMigrations } from '../db/schema'
import type { SqliteConnection } from '../db/sqlite'

export interface HealthRepository {
  /** The highest applied migration version; rejects when the database cannot be queried. */
  schemaVersion(): Promise<number>
}

export function sqliteHealthRepository(db: SqliteConnection): HealthRepository {
  const query = db.orm
    .select({ version: sql<number | null>`max(${ledgerdMigrations.version})` })
    .from(ledgerdMigrations)
    .prepare()
  return {
    async schemaVersion() {
      return query.get()?.version ?? 0
    },
  }
}
