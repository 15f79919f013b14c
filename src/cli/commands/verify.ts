import { loadConfig } from '../../config/load'
import { verifyLedger } from '../../ledger/verify'
import { parseArgs } from '../args'
import { openMigratedDatabase } from '../database'
import { type CommandIO, exitCodes } from '../io'

/** `ledgerd verify`: checks every ledger invariant; exit 1 naming each violation. Safe while serving. */
export async function verifyCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true })
  const { config } = loadConfig(args.settings, io.env)
  const db = await openMigratedDatabase(config)
  try {
    // One deferred read transaction: a consistent snapshot (WAL) that never blocks ledgerd's writers.
    db.exec('BEGIN')
    const report = verifyLedger(db)
    db.exec('COMMIT')
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
