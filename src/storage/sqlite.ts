import { join } from 'node:path'
import { MemoryLoginThrottle } from '../auth/login-throttle'
import type { Config } from '../config/settings'
import { sqliteMigrations } from '../db/migrations/sqlite'
import { migrate, migrationStatus } from '../db/migrator'
import { databaseFileName, openDatabase } from '../db/open'
import type { SqliteConnection } from '../db/sqlite'
import { dataDirSecrets } from '../files/generated-secrets'
import { sqliteHealthRepository } from '../health/repository'
import { openSqliteLedgerEngine } from '../ledger/sqlite/engine'
import { verifyLedger } from '../ledger/sqlite/verify'
import { withOffThreadWrites } from '../users/off-thread-writes'
import { sqliteUsersRepository, type UsersRepository } from '../users/repository'
import type { Storage } from './storage'

/** The embedded SQLite database in the data dir (created if missing). */
export async function openSqliteStorage(config: Config): Promise<Storage & { db: SqliteConnection }> {
  return sqliteStorageOf(config, await openDatabase(config))
}

/** Storage over an open SQLite connection; closing the storage closes it. */
export function sqliteStorageOf(config: Config, db: SqliteConnection): Storage & { db: SqliteConnection } {
  let users: ReturnType<typeof sqliteUsersRepository> | undefined
  let served: (UsersRepository & { close(): void }) | undefined
  return {
    kind: 'sqlite',
    location: join(config.dataDir, databaseFileName),
    schemaVersion: sqliteMigrations.at(-1)?.version ?? 0,
    db,
    // Built on first use: the repository prepares its statements, which needs the migrated tables.
    get users() {
      users ??= sqliteUsersRepository(db)
      return users
    },
    async serveUsers() {
      users ??= sqliteUsersRepository(db)
      served ??= await withOffThreadWrites(users, config)
      return served
    },
    health: sqliteHealthRepository(db),
    secrets: dataDirSecrets(config.dataDir),
    loginThrottle: (_scope, limit, windowMs) => new MemoryLoginThrottle(limit, windowMs),
    async migrate() {
      return migrate(db, sqliteMigrations)
    },
    async migrationStatus() {
      return migrationStatus(db, sqliteMigrations)
    },
    openLedger: (config, observer) => openSqliteLedgerEngine(config, db, observer),
    async verify() {
      return verifyLedger(db)
    },
    async close() {
      served?.close()
      db.close()
    },
  }
}
