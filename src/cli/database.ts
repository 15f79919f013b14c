import type { Config } from '../config/settings'
import { acquireDataDirLock, DataDirInUseError, type DataDirLock } from '../db/data-dir-lock'
import { sqliteMigrations } from '../db/migrations/sqlite'
import { MigrationError, migrate, migrationStatus } from '../db/migrator'
import { openDatabase } from '../db/open'
import type { SqliteConnection } from '../db/sqlite'
import { openPostgresStorage } from '../storage/postgres'
import { sqliteStorageOf } from '../storage/sqlite'
import type { Storage } from '../storage/storage'

/**
 * The storage for a command that reads or writes users, migrated first as `serve` does. On PostgreSQL
 * the advisory lock makes migrating safe beside running replicas; on SQLite see openMigratedDatabase.
 */
export async function openMigratedStorage(config: Config): Promise<Storage> {
  if (config.databaseUrl) {
    const storage = openPostgresStorage(config)
    try {
      await storage.migrate()
      return storage
    } catch (error) {
      await storage.close()
      if (error instanceof MigrationError) throw new Error(error.message)
      throw error
    }
  }
  return sqliteStorageOf(config, await openMigratedDatabase(config))
}

/**
 * Opens the database for a command that reads or writes users, applying pending migrations first as
 * `serve` does, so `ledgerd users create` works on a fresh data dir before the first start. While a server
 * owns the data dir, users are still read and written (that is how an operator bootstraps an admin), but
 * the schema is left to the server: a binary newer than the server's stops instead of migrating under it.
 */
export async function openMigratedDatabase(config: Config): Promise<SqliteConnection> {
  let lock: DataDirLock | undefined
  let inUse: DataDirInUseError | undefined
  try {
    lock = acquireDataDirLock(config.dataDir)
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error
    inUse = error
  }
  try {
    const db = await openDatabase(config)
    try {
      if (inUse) requireNoPendingMigrations(db, inUse)
      else migrate(db, sqliteMigrations)
      return db
    } catch (error) {
      db.close()
      if (error instanceof MigrationError) throw new Error(error.message)
      throw error
    }
  } finally {
    // Held only while migrating: a server starting while an operator creates a user is not refused.
    lock?.release()
  }
}

function requireNoPendingMigrations(db: SqliteConnection, inUse: DataDirInUseError): void {
  const pending = migrationStatus(db, sqliteMigrations).filter((m) => m.state === 'pending')
  if (pending.length === 0) return
  throw new Error(
    `the database lacks migration(s) ${pending.map((m) => m.version).join(', ')} of this binary, and ${inUse.message}`,
  )
}
