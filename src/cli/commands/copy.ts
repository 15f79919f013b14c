import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generatedKeyFileName } from '../../auth/keys'
import { loadConfig } from '../../config/load'
import { parsePostgresUrl, ValueError } from '../../config/values'
import { acquireDataDirLock, DataDirInUseError } from '../../db/data-dir-lock'
import { MigrationError } from '../../db/migrator'
import { databaseFileName } from '../../db/open'
import type { VerifyReport } from '../../ledger/engine'
import { copyLedger, postgresHoldings, sqliteHoldings, TargetNotEmptyError } from '../../storage/copy'
import { openPostgresStorage } from '../../storage/postgres'
import { openSqliteStorage } from '../../storage/sqlite'
import { parseArgs, UsageError } from '../args'
import { type CommandIO, exitCodes } from '../io'

/**
 * `ledgerd copy --to <postgres-url>`: moves the SQLite ledger in the data dir into an empty PostgreSQL
 * database, for a user who started with the binary and moves to the cluster. The data dir is locked
 * meanwhile (a server writing it would make the copy stale before it finished), the target is migrated
 * and must be empty, everything goes over in one transaction, and `verify` runs on both sides, which must
 * agree on the counts and on what users hold per currency. The source is left as it was.
 */
export async function copyCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true, options: ['to'] })
  const { config } = loadConfig(args.settings, io.env)
  const rawTarget = args.options.get('to') ?? ''
  let targetUrl: string
  try {
    targetUrl = parsePostgresUrl(rawTarget)
  } catch (error) {
    if (error instanceof ValueError) throw new UsageError(`--to: ${error.message}`)
    throw error
  }
  const sourcePath = join(config.dataDir, databaseFileName)
  if (!existsSync(sourcePath)) {
    io.err(`ledgerd copy: no database at ${sourcePath}\n`)
    return exitCodes.failure
  }
  let lock: ReturnType<typeof acquireDataDirLock>
  try {
    lock = acquireDataDirLock(config.dataDir)
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error
    io.err(`ledgerd copy: ${error.message}; stop it first, so that nothing is written after the copy\n`)
    return exitCodes.failure
  }
  const source = await openSqliteStorage(config)
  const target = openPostgresStorage({ ...config, databaseUrl: targetUrl })
  try {
    const sourceVersion = await source.health.schemaVersion().catch(() => 0)
    if (sourceVersion !== source.schemaVersion) {
      io.err(
        `ledgerd copy: the SQLite database is at schema version ${sourceVersion}, this binary at ${source.schemaVersion}; ` +
          'run `ledgerd migrate` on it first\n',
      )
      return exitCodes.failure
    }
    await target.migrate()
    const keyPath = join(config.dataDir, generatedKeyFileName)
    const signingKey = existsSync(keyPath)
      ? { name: generatedKeyFileName, value: readFileSync(keyPath, 'utf8') }
      : undefined
    const counts = await copyLedger(source.db, target.sql, { signingKey })
    io.out(
      `copied ${counts.users} users, ${counts.accounts} accounts, ${counts.transactions} transactions, ` +
        `${counts.refusals} refused commands to ${target.location}\n`,
    )
    const [before, after] = [await source.verify(), await target.verify()]
    const holdings = [sqliteHoldings(source.db), await postgresHoldings(target.sql)]
    io.out(`verify sqlite:   ${summary(before)}\nverify postgres: ${summary(after)}\n`)
    const agree =
      before.violations.length === 0 &&
      after.violations.length === 0 &&
      before.accounts === after.accounts &&
      before.transactions === after.transactions &&
      JSON.stringify(holdings[0]) === JSON.stringify(holdings[1])
    for (const violation of [...before.violations, ...after.violations]) io.err(`violation: ${violation}\n`)
    if (!agree) {
      io.err(
        `ledgerd copy: the two sides disagree (users hold ${JSON.stringify(holdings[0])} on SQLite, ` +
          `${JSON.stringify(holdings[1])} on PostgreSQL)\n`,
      )
      return exitCodes.failure
    }
    io.out(`ok: both sides verified; users hold ${formatHoldings(holdings[0] ?? {})}\n`)
    return exitCodes.ok
  } catch (error) {
    if (error instanceof TargetNotEmptyError || error instanceof MigrationError) {
      io.err(`ledgerd copy: ${error.message}\n`)
      return exitCodes.failure
    }
    throw error
  } finally {
    await target.close()
    await source.close()
    lock.release()
  }
}

const summary = (report: VerifyReport) =>
  `${report.violations.length === 0 ? 'ok' : `${report.violations.length} violation(s)`}, ` +
  `${report.accounts} accounts, ${report.transactions} transactions`

const formatHoldings = (holdings: Record<string, string>) =>
  Object.entries(holdings)
    .map(([currency, total]) => `${total} ${currency}`)
    .join(', ') || 'nothing'
