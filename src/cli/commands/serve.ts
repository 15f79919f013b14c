import { createAdminHandler } from '../../admin'
import { type LoadedConfig, loadConfig } from '../../config/load'
import { type Config, envName, formatValue, type Setting, settings } from '../../config/settings'
import { acquireDataDirLock, DataDirInUseError, type DataDirLock } from '../../db/data-dir-lock'
import { MigrationError } from '../../db/migrator'
import { ReadinessProbe } from '../../health/readiness'
import { CorsPolicy } from '../../http/cors'
import { instrument } from '../../http/handler'
import { HttpProblem, problemResponse } from '../../http/problem'
import { createLogger, type Logger } from '../../observability/logger'
import { createMetrics } from '../../observability/metrics'
import { composeApi } from '../../server/compose'
import { setAsideHashingCpus } from '../../server/hashing-cpus'
import { type Listeners, listen } from '../../server/listen'
import { residentHeapFailure } from '../../server/resident-heap'
import { shutdownGracefully } from '../../server/shutdown'
import { onShutdownSignal } from '../../server/signals'
import { registerStorageMetrics } from '../../storage/metrics'
import { openPostgresStorage } from '../../storage/postgres'
import { openSqliteStorage } from '../../storage/sqlite'
import type { Storage } from '../../storage/storage'
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
  const heapFailure = residentHeapFailure()
  if (heapFailure)
    logger.warn('freed memory goes back to the kernel: every password hash costs about 3 times the CPU', {
      reason: heapFailure,
    })
  for (const name of loaded.unknownEnv) logger.warn('environment variable matches no setting', { name })
  // Before any thread is started (the writers inherit this thread's CPUs).
  const hashingCpus = setAsideHashingCpus(config.hashingCpus, logger)

  if (config.databaseUrl) {
    if (!config.avatarBucket) {
      logger.warn("avatars are kept in this replica's data dir; with several replicas, set --avatar-bucket", {
        dataDir: config.dataDir,
      })
    }
    return serve(config, logger, openPostgresStorage(config), { retryDatabase: true, hashingCpus })
  }

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
    return await serve(config, logger, await openSqliteStorage(config), { retryDatabase: false, hashingCpus })
  } finally {
    lock.release()
  }
}

/** The first wait after a failed attempt to reach the database; doubled each time up to the cap. */
const firstRetryMs = 250
const maxRetryMs = 10_000

/** A 503 for every API request until the database is reachable and migrated. */
const starting = (request: Request) =>
  problemResponse(
    new HttpProblem(
      'service-unavailable',
      'ledgerd is starting: the database is not reachable yet.',
      {},
      {
        'retry-after': '1',
      },
    ),
    new URL(request.url).pathname,
  )

/**
 * Everything `serve` does with its storage open; returns with the storage closed. Both ports are bound
 * first, so that probes get answers while the database is not there yet: /healthz says the process lives,
 * /readyz says why it is not ready, and the API answers 503. With `retryDatabase` (PostgreSQL: pods often
 * start before their database), a database that cannot be reached is retried with backoff for as long
 * as it takes; otherwise (SQLite: a local file) the first failure is final.
 */
async function serve(
  config: Config,
  logger: Logger,
  storage: Storage,
  { retryDatabase, hashingCpus }: { retryDatabase: boolean; hashingCpus: readonly number[] },
): Promise<number> {
  // Listening for signals before the listeners exist: a SIGTERM that arrives during start-up then still
  // shuts down cleanly (exit 0) instead of killing the process mid-way.
  const shutdownSignal = onShutdownSignal(logger)
  const metrics = createMetrics({ storage: storage.kind })
  registerStorageMetrics(metrics.registry, storage, config.dataDir)
  let composed: Awaited<ReturnType<typeof composeApi>> | undefined
  const readiness = new ReadinessProbe(storage.health, storage.schemaVersion, async () =>
    composed ? composed.engine.writeProblem() : 'starting',
  )
  let handle: (request: Request) => Response | Promise<Response> = starting
  let listeners: Listeners
  try {
    listeners = listen(config, {
      api: instrument((request) => handle(request), {
        logger,
        metrics,
        bodyLimitBytes: config.bodyLimitBytes,
        forwardedForHops: config.forwardedForHops,
        publicUrl: config.publicUrl,
        cors: new CorsPolicy(config.corsOrigins),
        ownsBodyLimit: (pathname) => composed?.ownsBodyLimit(pathname) ?? false,
        shed: (method, path) => composed?.shed(method, path),
      }),
      admin: createAdminHandler({ readiness, metrics }),
    })
  } catch (error) {
    await storage.close()
    throw error
  }
  const stopListening = async () => {
    await listeners.api.stop(true)
    await listeners.admin.stop(true)
  }

  const signalled = shutdownSignal.then((signal) => ({ signal }))
  for (
    let attempt = 1, waitMs = firstRetryMs;
    !composed;
    attempt++, waitMs = Math.min(waitMs * 2, maxRetryMs)
  ) {
    try {
      const applied = await storage.migrate()
      if (applied.length > 0) logger.info('migrations applied', { versions: applied })
      composed = await composeApi(config, storage, logger, metrics, hashingCpus)
    } catch (error) {
      if (error instanceof MigrationError || !retryDatabase) {
        await stopListening()
        await storage.close()
        if (!(error instanceof MigrationError)) throw error
        logger.error('database cannot be used', { reason: error.message })
        return exitCodes.failure
      }
      // Jitter: a fleet restarted together must not knock on the database in step.
      const delayMs = Math.round(waitMs * (0.5 + Math.random() / 2))
      logger.warn('database unavailable; retrying', {
        apiPort: listeners.api.port,
        adminPort: listeners.admin.port,
        attempt,
        retryInMs: delayMs,
        reason: (error as Error).message,
      })
      const woken = await Promise.race([signalled, Bun.sleep(delayMs).then(() => undefined)])
      if (woken) {
        logger.info('signal received before the database was reached', { signal: woken.signal })
        await stopListening()
        await storage.close()
        return exitCodes.ok
      }
    }
  }
  const { app, close } = composed
  handle = (request) => app.handle(request)
  logger.announce('listening', {
    version,
    commit,
    apiPort: listeners.api.port,
    adminPort: listeners.admin.port,
    storage: storage.kind,
    database: storage.location,
    ...(storage.kind === 'sqlite' ? { dataDir: config.dataDir, dbDriver: config.dbDriver } : {}),
  })

  const { signal } = await signalled
  logger.info('signal received', { signal })
  await shutdownGracefully({
    listeners,
    startDraining: () => readiness.startDraining(),
    close: async () => {
      await close()
      await storage.close()
    },
    delayMs: config.shutdownDelayMs,
    timeoutMs: config.shutdownTimeoutMs,
    logger,
  })
  return exitCodes.ok
}
