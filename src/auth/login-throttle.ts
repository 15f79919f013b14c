import { BoundedMap } from '../lib/bounded-map'

/**
 * Failed logins per key (an email, a client address) in a sliding window. Every method is async: on
 * PostgreSQL the count is shared by all replicas, so a client cannot spread its guesses across them.
 * An implementation that cannot reach its store rejects, and the login is refused (503), never let
 * through unthrottled.
 */
export interface LoginThrottle {
  /**
   * Counts an attempt as a failure and answers 0, or, when the key has reached its limit already,
   * counts nothing and answers the milliseconds until it may try again. Checking and counting are one
   * step: checked first and counted later, concurrent guesses would all pass the check.
   */
  attempt(key: string): Promise<number>
  /** Milliseconds until the key may try again, or 0 if it may try now. */
  retryAfterMs(key: string): Promise<number>
  /** Failures of the key inside the window (at most the limit). */
  failures(key: string): Promise<number>
  /** Takes back the latest failure: for an attempt counted before it was checked that then succeeded. */
  forgive(key: string): Promise<void>
  /** Forgets every failure of the key. */
  reset(key: string): Promise<void>
}

/**
 * The throttle of a single ledgerd process (SQLite: one process owns the database), in memory. Memory is
 * bounded: past maxKeys the oldest key is forgotten, which can only make the throttle more lenient,
 * never lock anyone out wrongly. Each method runs to completion without awaiting, so attempt's check
 * and count cannot interleave with another request's.
 */
export class MemoryLoginThrottle implements LoginThrottle {
  readonly #failures: BoundedMap<string, number[]>

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    maxKeys = 100_000,
    private readonly now = Date.now,
  ) {
    this.#failures = new BoundedMap(maxKeys)
  }

  async attempt(key: string): Promise<number> {
    const wait = this.#wait(key)
    if (wait > 0) return wait
    const recent = this.#recent(key)
    recent.push(this.now())
    // Added again rather than updated: a key that keeps failing is the last one forgotten.
    this.#failures.delete(key)
    this.#failures.set(key, recent.slice(-this.limit))
    return 0
  }

  async retryAfterMs(key: string): Promise<number> {
    return this.#wait(key)
  }

  async failures(key: string): Promise<number> {
    return this.#recent(key).length
  }

  async forgive(key: string): Promise<void> {
    this.#failures.get(key)?.pop()
  }

  async reset(key: string): Promise<void> {
    this.#failures.delete(key)
  }

  #wait(key: string): number {
    const recent = this.#recent(key)
    if (recent.length < this.limit) return 0
    return (recent[recent.length - this.limit] as number) + this.windowMs - this.now()
  }

  #recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs
    return (this.#failures.get(key) ?? []).filter((at) => at > cutoff)
  }
}
