/** Thrown by Semaphore.run when its lane's queue is full: the caller answers "busy", it does not wait. */
export class QueueFullError extends Error {
  constructor() {
    super('the queue is full')
    this.name = 'QueueFullError'
  }
}

/** Waiters in the first lane are served before any in the last: logins ahead of sign-ups. */
export type Lane = 'first' | 'last'

/**
 * At most `permits` tasks run at once; up to `queueLimit` more wait in each lane, and past that run()
 * rejects at once with QueueFullError. A finished task hands its permit straight to the next waiter, so
 * a permit is never free while someone waits, and every permit taken is given back, whether the task
 * resolves or rejects.
 */
export class Semaphore {
  #running = 0
  readonly #waiting: Record<Lane, (() => void)[]> = { first: [], last: [] }

  constructor(
    readonly permits: number,
    readonly queueLimit: number,
  ) {}

  get running(): number {
    return this.#running
  }

  queued(lane?: Lane): number {
    return lane ? this.#waiting[lane].length : this.#waiting.first.length + this.#waiting.last.length
  }

  async run<T>(task: () => Promise<T>, lane: Lane = 'last'): Promise<T> {
    await this.#acquire(lane)
    try {
      return await task()
    } finally {
      this.#release()
    }
  }

  #acquire(lane: Lane): Promise<void> {
    if (this.#running < this.permits) {
      this.#running++
      return Promise.resolve()
    }
    const waiting = this.#waiting[lane]
    if (waiting.length >= this.queueLimit) return Promise.reject(new QueueFullError())
    return new Promise((resolve) => waiting.push(resolve))
  }

  #release(): void {
    const next = this.#waiting.first.shift() ?? this.#waiting.last.shift()
    if (next) next()
    else this.#running--
  }
}
