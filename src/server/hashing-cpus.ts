import { ConfigError } from '../config/load'
import { cpusOfThisThread, pinThisThread, splitCpus } from '../lib/thread-scheduling'
import type { Logger } from '../observability/logger'

/**
 * --hashing-cpus: this (the API) thread, and every thread it starts from now on (the writers), leaves
 * the last N of its CPUs to the sign-up hashing threads, which pin themselves there. So a flood of
 * sign-ups cannot take a CPU the ledger runs on, not even the idle moments between its writes, which
 * nice 19 alone gives away (NOTES.md, the sign-up-flood benchmark). Called before any thread is started.
 * A setting that leaves the API no CPU refuses to start; one that libc cannot apply is logged and ignored.
 * Returns the CPUs for the hashing threads (none: they run anywhere).
 */
/** Logged once when the hashing threads could not be kept to their CPUs, here or as each starts. */
export const hashingOnEveryCpu = 'sign-up hashing runs on every CPU'

export function setAsideHashingCpus(hashingCpus: number, logger: Logger): number[] {
  if (hashingCpus === 0) return []
  const allowed = cpusOfThisThread()
  if ('error' in allowed) {
    logger.warn(hashingOnEveryCpu, { reason: allowed.error })
    return []
  }
  const split = splitCpus(allowed.cpus, hashingCpus)
  if ('error' in split) throw new ConfigError(split.error)
  const pinned = pinThisThread(split.api)
  if ('error' in pinned) {
    logger.warn(hashingOnEveryCpu, { reason: pinned.error })
    return []
  }
  logger.info('CPUs set aside for sign-up hashing', { api: split.api, hashing: split.hashing })
  return split.hashing
}
