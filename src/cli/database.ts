import type { Config } from '../config/settings'
import { sqliteMigrations } from '../db/migrations/sqlite'
import { MigrationError, migrate } from '../db/migrator'
import { openDatabase } from '../db/open'
import type { SqliteConnection } from '../db/sqlite'

/**
 * Opens the database for a command that reads or writes users, applying pending migrations first as
 * `serve` does, so `ledgerd users create` works on a fresh data dir before the first start.
 */
export async function openMigratedDatabase(config: Config): Promise<SqliteConnection> {
  const db = await openDatabase(config)
  try {
    migrate(db, sqliteMigrations)
    return db
  } catch (error) {
    db.close()
    if (error instanceof MigrationError) throw new Error(error.message)
    throw error
  }
}
