import { loadConfig } from '../../config/load'
import type { Config } from '../../config/settings'
import { acquireDataDirLock, DataDirInUseError, type DataDirLock } from '../../db/data-dir-lock'
import { MigrationError } from '../../db/migrator'
import { openPostgresStorage } from '../../storage/postgres'
import { openSqliteStorage } from '../../storage/sqlite'
import type { Storage } from '../../storage/storage'
import { parseArgs } from '../args'
import { type CommandIO, exitCodes } from '../io'

export async function migrateCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true, switches: ['status'] })
  const { config } = loadConfig(args.settings, io.env)
  const statusOnly = args.switches.has('status')
  if (config.databaseUrl) return migrateStorage(openPostgresStorage(config), statusOnly, io)
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
  return migrateStorage(await openSqliteStorage(config), statusOnly, io)
}

/** Prints the status, or applies what is pending. PostgreSQL's advisory lock lets replicas run meanwhile. */
async function migrateStorage(storage: Storage, statusOnly: boolean, io: CommandIO): Promise<number> {
  try {
    if (statusOnly) {
      io.out(`database: ${storage.location}\n`)
      for (const m of await storage.migrationStatus()) {
        io.out(
          `${String(m.version).padStart(4, '0')}  ${m.name.padEnd(24)} ${m.state.padEnd(8)} ${m.appliedAt ?? ''}\n`,
        )
      }
      return exitCodes.ok
    }
    const applied = await storage.migrate()
    const latest = storage.schemaVersion
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
    await storage.close()
  }
}
