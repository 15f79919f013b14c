import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../config/load'
import { databaseFileName } from '../../db/open'
import { openPostgresStorage } from '../../storage/postgres'
import { openSqliteStorage } from '../../storage/sqlite'
import type { Storage } from '../../storage/storage'
import { parseArgs } from '../args'
import { type CommandIO, exitCodes } from '../io'

/**
 * `ledgerd verify`: checks every ledger invariant; exit 1 naming each violation. Read-only, and safe
 * while ledgerd serves. A missing or unmigrated database is an error, never "ok": a mistyped --data-dir
 * must not pass for a healthy ledger.
 */
export async function verifyCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true })
  const { config } = loadConfig(args.settings, io.env)
  let storage: Storage
  if (config.databaseUrl) {
    storage = openPostgresStorage(config)
  } else {
    const path = join(config.dataDir, databaseFileName)
    if (!existsSync(path)) {
      io.err(`ledgerd verify: no database at ${path}\n`)
      return exitCodes.failure
    }
    storage = await openSqliteStorage(config)
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
