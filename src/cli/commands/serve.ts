import { createAdminHandler } from '../../admin'
import { type LoadedConfig, loadConfig } from '../../config/load'
import { type Config, envName, formatValue, type Setting, settings } from '../../config/settings'
import { acquireDataDirLock, DataDirInUseError, type DataDirLock } from '../../db/data-dir-lock'
import { sqliteMigrations } from '../../db/migrations/sqlite'
import { MigrationError, migrate } from '../../db/migrator'
import { openDatabase } from '../../db/open'
import { ReadinessProbe } from '../../health/readiness'
import { sqliteHealthRepository } from '../../health/repository'
import { instrument } from '../../http/handler'
import { createLogger, type Logger } from '../../observability/logger'
import { createMetrics } from '../../observability/metrics'
import { composeApi } from '../../server/compose'
import { type Listeners, listen } from '../../server/listen'
import { shutdownGracefully } from '../../server/shutdown'
import { onShutdownSignal } from '../../server/signals'
import { commit, version } from '../../version'
import { parseArgs } from '../args'
import { type CommandIO, exitCodes } from '../io'

/** Environment-file format, so the output can be reviewed, diffed, or saved and sourced. */
export function formatConfig({ config, sources }: LoadedConfig): string {
  return (settings as readonly Setting[])
    .map((s) => `${envName(s)}=${formatValue(s, config[s.key])}  # ${sources[s.key]}`)
    .join('\n')
    .concat('\n')
}

export async function serveCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true, switches: ['print-config'] })
  const loaded = loadConfig(args.settings, io.env)
  if (args.switches.has('print-config')) {
    io.out(formatConfig(loaded))
    return exitCodes.ok
  }
  const { config } = loaded
  const logger = createLogger(config.logLevel)
  for (const name of loaded.unknownEnv) logger.warn('environment variable matches no setting', { name })

  // The ledger's writer must be the database's only writer (it is to keep balances in memory): a second
  // server on this data dir stops here, before it migrates, writes or binds anything.
  let lock: DataDirLock
  try {
    lock = acquireDataDirLock(config.dataDir)
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error
    logger.error('data dir is in use', {
      dataDir: error.dataDir,
      holder: error.holder,
      reason: error.message,
    })
    return exitCodes.failure
  }
  try {
    return await serveHoldingTheDataDir(config, logger)
  } finally {
    lock.release()
  }
}

/** Everything `serve` does once it owns the data dir; returns with the database closed. */
async function serveHoldingTheDataDir(config: Config, logger: Logger): Promise<number> {
  const db = await openDatabase(config)
  let expectedSchemaVersion: number
  try {
    const applied = migrate(db, sqliteMigrations)
    expectedSchemaVersion = sqliteMigrations.at(-1)?.version ?? 0
    if (applied.length > 0) logger.info('migrations applied', { versions: applied })
  } catch (error) {
    db.close()
    if (!(error instanceof MigrationError)) throw error
    logger.error('database cannot be used', { reason: error.message })
    return exitCodes.failure
  }

  // Listening for signals before the listeners exist: a SIGTERM that arrives during start-up then still
  // shuts down cleanly (exit 0) instead of killing the process mid-way.
  const shutdownSignal = onShutdownSignal(logger)
  const metrics = createMetrics()
  const { app, ownsBodyLimit, close, engine } = await composeApi(config, db, logger, metrics.registry)
  const readiness = new ReadinessProbe(sqliteHealthRepository(db), expectedSchemaVersion, () =>
    engine.writeProblem(),
  )
  let listeners: Listeners
  try {
    listeners = listen(config, {
      api: instrument((request) => app.handle(request), {
        logger,
        metrics,
        bodyLimitBytes: config.bodyLimitBytes,
        forwardedForHops: config.forwardedForHops,
        ownsBodyLimit,
      }),
      admin: createAdminHandler({ readiness, metrics }),
    })
  } catch (error) {
    // The writer thread would keep the process alive: stop it before reporting the failure.
    await close()
    db.close()
    throw error
  }
  logger.announce('listening', {
    version,
    commit,
    apiPort: listeners.api.port,
    adminPort: listeners.admin.port,
    dataDir: config.dataDir,
    dbDriver: db.driver,
  })

  const signal = await shutdownSignal
  logger.info('signal received', { signal })
  await shutdownGracefully({
    listeners,
    startDraining: () => readiness.startDraining(),
    close: async () => {
      await close()
      db.close()
    },
    delayMs: config.shutdownDelayMs,
    timeoutMs: config.shutdownTimeoutMs,
    logger,
  })
  return exitCodes.ok
}
