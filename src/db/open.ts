import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/settings'
import { openBetterSqlite3 } from './drivers/better-sqlite3'
import { openBunSqlite, openBunSqliteReadOnly } from './drivers/bun-sqlite'
import type { SqliteConnection } from './sqlite'

export const databaseFileName = 'ledgerd.db'

export type DatabaseConfig = Pick<Config, 'dataDir' | 'dbDriver' | 'sqliteBusyTimeoutMs'>

/** Creates the data dir if needed. */
export function createDataDir(dataDir: string): void {
  // 0700: the database holds balances and password hashes; other local users have no business there.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
}

/** Opens (creating if needed) the SQLite database in the data dir with the configured driver. */
export async function openDatabase(config: DatabaseConfig): Promise<SqliteConnection> {
  createDataDir(config.dataDir)
  const path = join(config.dataDir, databaseFileName)
  // Create the file 0600 before SQLite does (it would use 0644); its -wal and -shm files inherit the mode.
  closeSync(openSync(path, 'a', 0o600))
  const options = { busyTimeoutMs: config.sqliteBusyTimeoutMs }
  return config.dbDriver === 'better-sqlite3'
    ? openBetterSqlite3(path, options)
    : openBunSqlite(path, options)
}

/** Whether this process may write the data dir and its database (a snapshot or copy may be read-only). */
export function canWriteDatabase(dataDir: string): boolean {
  try {
    accessSync(dataDir, constants.W_OK)
    accessSync(join(dataDir, databaseFileName), constants.W_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Opens the existing database without writing anything, for `verify` on a read-only copy: the usual open
 * would create the file, its -wal and its -shm. With the -shm of a server that ran here it shares its WAL;
 * without one (a copy taken after a clean stop) it reads the main file as immutable, which holds every
 * commit unless a -wal with content is left beside it: then it refuses rather than check stale data.
 * Always the bun:sqlite driver: better-sqlite3 is only a fallback for serving.
 */
export function openDatabaseReadOnly(config: DatabaseConfig): SqliteConnection {
  const path = join(config.dataDir, databaseFileName)
  const options = { busyTimeoutMs: config.sqliteBusyTimeoutMs }
  try {
    return openBunSqliteReadOnly(path, { ...options, immutable: false })
  } catch (error) {
    const wal = `${path}-wal`
    if (existsSync(wal) && statSync(wal).size > 0) {
      throw new Error(
        `cannot read ${path} read-only: ${(error as Error).message}, and ${wal} holds commits that reading the main file alone would miss; open a writable copy`,
      )
    }
    return openBunSqliteReadOnly(path, { ...options, immutable: true })
  }
}
