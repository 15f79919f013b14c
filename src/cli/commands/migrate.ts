import { loadConfig } from '../../config/load'
import type { Config } from '../../config/settings'
import { acquireDataDirLock, DataDirInUseError, type DataDirLock } from '../../db/data-dir-lock'
import { sqliteMigrations } from '../../db/migrations/sqlite'
import { MigrationError, migrate, migrationStatus } from '../../db/migrator'
import { databaseFileName, openDatabase } from '../../db/open'
import { parseArgs } from '../args'
import { type CommandIO, exitCodes } from '../io'

export async function migrateCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true, switches: ['status'] })
  const { config } = loadConfig(args.settings, io.env)
  const statusOnly = args.switches.has('status')
  // Changing the schema under a running server is refused; reading the status is not.
  let lock: DataDirLock | undefined
  if (!statusOnly) {
    try {
      lock = acquireDataDirLock(config.dataDir)
    } catch (error) {
      if (!(error instanceof DataDirInUseError)) throw error
      io.err(`ledgerd migrate: ${error.message}\n`)
      return exitCodes.failure
    }
  }
  try {
    return await migrateDatabase(config, statusOnly, io)
  } finally {
    lock?.release()
  }
}

async function migrateDatabase(config: Config, statusOnly: boolean, io: CommandIO): Promise<number> {
  const db = await openDatabase(config)
  try {
    if (statusOnly) {
      io.out(`database: ${config.dataDir}/${databaseFileName}\n`)
      for (const m of migrationStatus(db, sqliteMigrations)) {
        io.out(
          `${String(m.version).padStart(4, '0')}  ${m.name.padEnd(24)} ${m.state.padEnd(8)} ${m.appliedAt ?? ''}\n`,
        )
      }
      return exitCodes.ok
    }
    const applied = migrate(db, sqliteMigrations)
    const latest = sqliteMigrations.at(-1)?.version ?? 0
    io.out(
      applied.length === 0
        ? `database is up to date at version ${latest}\n`
        : `applied ${applied.length} migration(s): ${applied.join(', ')}; database is at version ${latest}\n`,
    )
    return exitCodes.ok
  } catch (error) {
    if (error instanceof MigrationError) {
      io.err(`ledgerd: ${error.message}\n`)
      return exitCodes.failure
    }
    throw error
  } finally {
    db.close()
  }
}
