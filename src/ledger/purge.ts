import type { Logger } from '../observability/logger'
import type { LedgerWriter } from './writer'

/**
 * Deletes stored Idempotency-Key answers older than the retention, through the writer so it never
 * contends with request writes for the lock. Unref'd: it never keeps the process alive on its own.
 */
export function startIdempotencyPurge({
  writer,
  retentionMs,
  logger,
}: {
  writer: LedgerWriter
  retentionMs: number
  logger: Logger
}): Timer {
  const every = Math.min(retentionMs / 4, 5 * 60_000)
  const timer = setInterval(() => {
    const before = new Date(Date.now() - retentionMs).toISOString()
    writer
      .purge(before)
      .then((purged) => purged > 0 && logger.info('idempotency keys purged', { purged }))
      .catch((error) => logger.error('idempotency purge failed', { error }))
  }, every)
  timer.unref()
  return timer
}
