import type { Logger } from '../observability/logger'
import type { GroupCommit } from './group-commit'
import type { LedgerRepository } from './repository'

/**
 * Deletes stored Idempotency-Key answers older than the retention, through the group commit so it never
 * contends with request writes for the lock. Unref'd: it never keeps the process alive on its own.
 */
export function startIdempotencyPurge({
  repository,
  commit,
  retentionMs,
  logger,
}: {
  repository: LedgerRepository
  commit: GroupCommit
  retentionMs: number
  logger: Logger
}): Timer {
  const every = Math.min(retentionMs / 4, 5 * 60_000)
  const timer = setInterval(() => {
    const before = new Date(Date.now() - retentionMs).toISOString()
    commit
      .submit(() => repository.purgeResponses(before))
      .then((purged) => purged > 0 && logger.info('idempotency keys purged', { purged }))
      .catch((error) => logger.error('idempotency purge failed', { error }))
  }, every)
  timer.unref()
  return timer
}
