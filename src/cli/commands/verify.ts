import { existsSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../config/load'
import type { Config } from '../../config/settings'
import { canWriteDatabase, databaseFileName, openDatabaseReadOnly } from '../../db/open'
import { openPostgresStorage } from '../../storage/postgres'
import { openSqliteStorage, sqliteStorageOf } from '../../storage/sqlite'
import type { Storage } from '../../storage/storage'
import { parseArgs } from '../args'
import { type CommandIO, exitCodes } from '../io'

/**
 * `ledgerd verify`: checks every ledger invariant; exit 1 naming each violation. Read-only, and safe
 * while ledgerd serves. A missing or unmigrated database is an error, never "ok": a mistyped --data-dir
 * must not pass for a healthy ledger. A data dir it may not write (a snapshot, a read-only copy or mount)
 * is opened read-only; a full disk is named as such, not as "disk I/O error".
 */
export async function verifyCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true })
  const { config } = loadConfig(args.settings, io.env)
  try {
    return await verifyStorage(config, io)
  } catch (error) {
    if (config.databaseUrl) throw error
    const free = freeBytes(config.dataDir)
    if (free === undefined || free >= roomToOpen) throw error
    io.err(
      `ledgerd verify: the disk holding ${config.dataDir} is full (${free} bytes free): SQLite cannot create ` +
        `the shared-memory file it reads through (${(error as Error).message}); free some space, or verify ` +
        'a read-only copy elsewhere\n',
    )
    return exitCodes.failure
  }
}

/** SQLite's -shm grows in 32 KiB steps, and opening in WAL mode writes its first page to -wal. */
const roomToOpen = 64 * 1024

function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir)
    return stats.bavail * stats.bsize
  } catch {
    return undefined
  }
}

async function verifyStorage(config: Config, io: CommandIO): Promise<number> {
  let storage: Storage
  if (config.databaseUrl) {
    storage = openPostgresStorage(config)
  } else {
    const path = join(config.dataDir, databaseFileName)
    if (!existsSync(path)) {
      io.err(`ledgerd verify: no database at ${path}\n`)
      return exitCodes.failure
    }
    storage = canWriteDatabase(config.dataDir)
      ? await openSqliteStorage(config)
      : sqliteStorageOf(config, openDatabaseReadOnly(config))
  }
  try {
    let version: number
    try {
      version = await storage.health.schemaVersion()
    } catch (error) {
      io.err(
        `ledgerd verify: cannot read the schema version of ${storage.location}: ${(error as Error).message}\n`,
      )
      return exitCodes.failure
    }
    if (version !== storage.schemaVersion) {
      io.err(
        `ledgerd verify: the database is at schema version ${version}, this binary at ${storage.schemaVersion}\n`,
      )
      return exitCodes.failure
    }
    const report = await storage.verify()
    for (const violation of report.violations) io.err(`violation: ${violation}\n`)
    if (report.violations.length > 0) {
      io.err(
        `${report.violations.length} violation(s) in ${report.accounts} accounts, ${report.transactions} transactions\n`,
      )
      return exitCodes.failure
    }
    io.out(`ok: ${report.accounts} accounts, ${report.transactions} transactions checked\n`)
    return exitCodes.ok
  } finally {
    await storage.close()
  }
}
