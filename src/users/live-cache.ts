import { BoundedMap } from '../lib/bounded-map'

/**
 * How long a "this user exists" answer is reused. Deletion through this process clears it at once; the
 * bound is for other replicas sharing a database, where a deleted user's tokens keep working this long.
 */
export const liveUserCacheMs = 2000
/** How many users' "exists" answers are kept; past it the longest-kept is dropped. */
const liveUserCacheSize = 100_000

export interface LiveCacheOptions {
  /** Defaults to liveUserCacheMs; tests pass a clock to step past it without waiting. */
  ttlMs?: number
  now?: () => number
}

/**
 * The cache behind UsersRepository.isLive, the same for every engine. Only "live" is cached: a user who
 * does not exist yet may be created by another replica, and a deleted one never comes back.
 */
export function liveUserCache({ ttlMs = liveUserCacheMs, now = Date.now }: LiveCacheOptions = {}) {
  const liveUntil = new BoundedMap<string, number>(liveUserCacheSize)
  return {
    /** Whether a look-up found the user live within the last ttlMs. */
    has(id: string): boolean {
      const until = liveUntil.get(id)
      return until !== undefined && until > now()
    },
    /** Notes what a look-up found. */
    note(id: string, live: boolean): void {
      if (live) liveUntil.set(id, now() + ttlMs)
      else liveUntil.delete(id)
    },
    forget(id: string): void {
      liveUntil.delete(id)
    },
  }
}
