import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../config/load'
import { sqliteMigrations } from '../../db/migrations/sqlite'
import { databaseFileName, openDatabase } from '../../db/open'
import { verifyLedger } from '../../ledger/sqlite/verify'
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
  const path = join(config.dataDir, databaseFileName)
  if (!existsSync(path)) {
    io.err(`ledgerd verify: no database at ${path}\n`)
    return exitCodes.failure
  }
  const db = await openDatabase(config)
  try {
    const latest = sqliteMigrations.at(-1)?.version ?? 0
    const [row] = db.all<{ version: number | null }>(
      "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'ledgerd_migrations') " +
        'THEN (SELECT max(version) FROM ledgerd_migrations) END AS version',
    )
    if ((row?.version ?? 0) !== latest) {
      io.err(
        `ledgerd verify: the database is at schema version ${row?.version ?? 0}, this binary at ${latest}\n`,
      )
      return exitCodes.failure
    }
    const report = verifyLedger(db)
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
    db.close()
  }
}
