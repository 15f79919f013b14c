/**
 * Which entry goes first when a BoundedMap is full. `insertion`: the one added longest ago (a Map's own
 * order: setting a key it holds keeps the key's place). `use`: the least recently used, where get and
 * set of a key both make it the newest.
 */
export type EvictionOrder = 'insertion' | 'use'

/**
 * A Map that holds at most `maxSize` entries: adding a new key to a full one drops the oldest entry
 * first, oldest by `order`. For caches and counters keyed by what clients send, whose memory must stay
 * bounded whatever they send.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>()

  constructor(
    readonly maxSize: number,
    readonly order: EvictionOrder = 'insertion',
  ) {
    if (!Number.isInteger(maxSize) || maxSize < 1) {
      throw new RangeError(`a BoundedMap holds at least one entry, not ${maxSize}`)
    }
  }

  get size(): number {
    return this.#entries.size
  }

  has(key: K): boolean {
    return this.#entries.has(key)
  }

  get(key: K): V | undefined {
    const entries = this.#entries
    const value = entries.get(key)
    if (this.order === 'use' && (value !== undefined || entries.has(key))) {
      entries.delete(key)
      entries.set(key, value as V)
    }
    return value
  }

  set(key: K, value: V): this {
    const entries = this.#entries
    if (entries.has(key)) {
      if (this.order === 'use') entries.delete(key)
    } else if (entries.size >= this.maxSize) {
      entries.delete(entries.keys().next().value as K)
    }
    entries.set(key, value)
    return this
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }

  /** Keys from oldest to newest: the order they would be dropped in. */
  keys(): MapIterator<K> {
    return this.#entries.keys()
  }
}
