import { BoundedMap } from '../lib/bounded-map'

/**
 * Counts failed logins per key (an email, a client address) in a sliding window. Memory is bounded: past
 * maxKeys the oldest key is forgotten, which can only make the throttle more lenient, never lock anyone
 * out wrongly.
 */
export class FailureThrottle {
  readonly #failures: BoundedMap<string, number[]>

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    maxKeys = 100_000,
    private readonly now = Date.now,
  ) {
    this.#failures = new BoundedMap(maxKeys)
  }

  /** Milliseconds until the key may try again, or 0 if it may try now. */
  retryAfterMs(key: string): number {
    const recent = this.#recent(key)
    if (recent.length < this.limit) return 0
    return (recent[recent.length - this.limit] as number) + this.windowMs - this.now()
  }

  recordFailure(key: string): void {
    const recent = this.#recent(key)
    recent.push(this.now())
    // Added again rather than updated: a key that keeps failing is the last one forgotten.
    this.#failures.delete(key)
    this.#failures.set(key, recent.slice(-this.limit))
  }

  /** Takes back the latest failure: for an attempt counted before it was checked that then succeeded. */
  forgive(key: string): void {
    this.#failures.get(key)?.pop()
  }

  reset(key: string): void {
    this.#failures.delete(key)
  }

  #recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs
    return (this.#failures.get(key) ?? []).filter((at) => at > cutoff)
  }
}
