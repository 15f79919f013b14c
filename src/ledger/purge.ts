import type { Logger } from '../observability/logger'
import type { LedgerEngine } from './engine'

/**
 * Forgets Idempotency-Keys older than the retention. The engine purges in small slices between write
 * batches, so a backlog never holds up writes. Unref'd: it never keeps the process alive on its own.
 */
export function startIdempotencyPurge({
  engine,
  retentionMs,
  logger,
}: {
  engine: LedgerEngine
  retentionMs: number
  logger: Logger
}): Timer {
  const every = Math.min(retentionMs / 4, 5 * 60_000)
  const timer = setInterval(() => {
    engine
      .purgeIdempotencyKeys(Date.now() - retentionMs)
      .then((purged) => purged > 0 && logger.info('idempotency keys purged', { purged }))
      .catch((error) => logger.error('idempotency purge failed', { error }))
  }, every)
  timer.unref()
  return timer
}
