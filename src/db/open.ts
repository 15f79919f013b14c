import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/settings'
import { openBetterSqlite3 } from './drivers/better-sqlite3'
import { openBunSqlite } from './drivers/bun-sqlite'
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
