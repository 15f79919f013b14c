import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/settings'
import { acquireDataDirLock, DataDirInUseError, type DataDirLock } from '../db/data-dir-lock'
import { sqliteMigrations } from '../db/migrations/sqlite'
import { MigrationError, migrate, migrationStatus } from '../db/migrator'
import { databaseFileName, openDatabase } from '../db/open'
import type { SqliteConnection } from '../db/sqlite'
import { openPostgresStorage } from '../storage/postgres'
import { sqliteStorageOf } from '../storage/sqlite'
import type { Storage } from '../storage/storage'

/**
 * The data dir (or PostgreSQL database) has no ledgerd database. Only `serve` and `migrate` create one:
 * any other command there is most likely pointed at the wrong place (a typo in --data-dir), and creating
 * an empty database would let it "succeed" against nothing: mint a token, create a user nobody serves.
 */
export class NoDatabaseError extends Error {}

const createItFirst = 'run `ledgerd migrate` (or start `ledgerd serve`) with this setting to create it'

/**
 * The storage for a command that reads or writes users, migrated first as `serve` does. On PostgreSQL
 * the advisory lock makes migrating safe beside running replicas; on SQLite see openMigratedDatabase.
 * Refuses (NoDatabaseError) where there is no ledgerd database yet, rather than creating one.
 */
export async function openMigratedStorage(config: Config): Promise<Storage> {
  if (config.databaseUrl) {
    const storage = openPostgresStorage(config)
    try {
      if ((await storage.health.schemaVersion()) === 0)
        throw new NoDatabaseError(
          `the PostgreSQL database ${storage.location} has no ledgerd schema; ${createItFirst}`,
        )
      await storage.migrate()
      return storage
    } catch (error) {
      await storage.close()
      if (error instanceof MigrationError) throw new Error(error.message)
      throw error
    }
  }
  const path = join(config.dataDir, databaseFileName)
  if (!existsSync(path)) throw new NoDatabaseError(`no database at ${path}; ${createItFirst}`)
  return sqliteStorageOf(config, await openMigratedDatabase(config))
}

/**
 * Opens the database for a command that reads or writes users, applying pending migrations first as
 * `serve` does, so a binary newer than the database works on it before the next start. While a server
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
