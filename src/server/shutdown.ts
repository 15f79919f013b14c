import type { Logger } from '../observability/logger'
import type { Listeners } from './listen'

export interface ShutdownPlan {
  listeners: Listeners
  /** Turns readiness false; the admin listener keeps answering so probes see 503, not a refused connection. */
  startDraining(): void
  /** Releases what the server holds (the database), after the last request has finished. */
  close(): void | Promise<void>
  delayMs: number
  timeoutMs: number
  logger: Logger
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Fail readiness, keep serving for the delay (load balancers need time to stop sending traffic), stop
 * accepting connections, let in-flight requests finish within the timeout, then close the database.
 * Returns whether every in-flight request finished in time.
 */
export async function shutdownGracefully(plan: ShutdownPlan): Promise<boolean> {
  const { listeners, logger } = plan
  plan.startDraining()
  logger.info('shutdown started', { delayMs: plan.delayMs, timeoutMs: plan.timeoutMs })
  if (plan.delayMs > 0) await sleep(plan.delayMs)
  let timer: Timer | undefined
  const outcome = await Promise.race([
    listeners.api.stop(false).then(() => 'drained' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), plan.timeoutMs)
    }),
  ])
  // A pending timer would keep the process alive for the rest of the timeout after a quick drain.
  clearTimeout(timer)
  if (outcome === 'timeout') {
    logger.warn('shutdown timeout reached; closing remaining connections', {
      pendingRequests: listeners.api.pendingRequests,
    })
    await listeners.api.stop(true)
  }
  await plan.close()
  await listeners.admin.stop(true)
  logger.info('shutdown complete', { drained: outcome === 'drained' })
  return outcome === 'drained'
}
