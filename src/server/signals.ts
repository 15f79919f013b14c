import type { Logger } from '../observability/logger'

/**
 * Resolves on the first SIGTERM or SIGINT. A second one means the operator has given up waiting for the
 * drain: exit at once, non-zero, rather than make them reach for kill -9.
 */
export function onShutdownSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false
    const handle = (signal: NodeJS.Signals) => {
      if (received) {
        logger.warn('second signal received; exiting without finishing the drain', { signal })
        process.exit(1)
      }
      received = true
      resolve(signal)
    }
    process.on('SIGTERM', handle)
    process.on('SIGINT', handle)
  })
}
