import { rmSync } from 'node:fs'
import { loadConfig } from '../../src/config/load'
import type { Config } from '../../src/config/settings'
import { sqliteMigrations } from '../../src/db/migrations/sqlite'
import { migrate } from '../../src/db/migrator'
import { openDatabase } from '../../src/db/open'
import type { SqliteConnection } from '../../src/db/sqlite'
import { type FetchHandler, instrument } from '../../src/http/handler'
import { createMetrics } from '../../src/observability/metrics'
import { composeApi } from '../../src/server/compose'
import { sqliteStorageOf } from '../../src/storage/sqlite'
import { type CapturedLog, captureLogger } from './http'
import { tempDir } from './ledgerd-process'

export interface InProcessLedgerd {
  config: Config
  db: SqliteConnection
  log: CapturedLog
  /** The Elysia app itself (its route table), as composeApi built it. */
  app: Awaited<ReturnType<typeof composeApi>>['app']
  /** The full API as `serve` builds it, called without a socket. */
  fetch: FetchHandler
  request(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string; headers?: Record<string, string> },
  ): Promise<Response>
  dispose(): void
}

/** The real API over a real SQLite file in a temp data dir, configured as `serve` would be. */
export async function inProcessLedgerd(settings: Record<string, string> = {}): Promise<InProcessLedgerd> {
  const dataDir = tempDir('ledgerd-app-')
  const { config } = loadConfig(new Map(Object.entries({ 'data-dir': dataDir, ...settings })), {})
  const db = await openDatabase(config)
  migrate(db, sqliteMigrations)
  const log = captureLogger()
  const metrics = createMetrics()
  const storage = sqliteStorageOf(config, db)
  const { app, ownsBodyLimit, close } = await composeApi(config, storage, log.logger, metrics)
  const fetch = instrument((request) => app.handle(request), {
    logger: log.logger,
    metrics,
    bodyLimitBytes: config.bodyLimitBytes,
    ownsBodyLimit,
  })
  return {
    config,
    db,
    log,
    app,
    fetch,
    request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers }
      if (options.token) headers.authorization = `Bearer ${options.token}`
      if (options.body !== undefined) headers['content-type'] ??= 'application/json'
      return fetch(
        new Request(`http://localhost${path}`, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
        }),
      )
    },
    dispose() {
      void close().finally(() => db.close())
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
