/** Thrown by Semaphore.run when its lane's queue is full: the caller answers "busy", it does not wait. */
export class QueueFullError extends Error {
  constructor() {
    super('the queue is full')
    this.name = 'QueueFullError'
  }
}

/** Waiters in the first lane are served before any in the last: logins ahead of sign-ups. */
export type Lane = 'first' | 'last'

/** A place held with Semaphore.reserve: run one task with it, or release it unused (either releases). */
export interface Reservation {
  run<T>(task: () => Promise<T>): Promise<T>
  /** Gives the place back; a no-op once released. */
  release(): void
}

/**
 * At most `permits` tasks run at once; up to `queueLimit` more wait in each lane, and past that run()
 * rejects at once with QueueFullError. A finished task hands its permit straight to the next waiter, so
 * a permit is never free while someone waits, and every permit taken is given back, whether the task
 * resolves or rejects.
 */
export class Semaphore {
  #running = 0
  readonly #waiting: Record<Lane, (() => void)[]> = { first: [], last: [] }
  readonly #reserved: Record<Lane, number> = { first: 0, last: 0 }

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

  /** Reservations of the lane not yet released. */
  reserved(lane: Lane): number {
    return this.#reserved[lane]
  }

  /**
   * A place for a task the caller will run after checks of its own (a sign-up's count per client, a
   * database round trip): at most `permits + queueLimit` per lane, what the lane can run or queue, and
   * past that QueueFullError at once. So a burst is turned away before its checks, not after them, while
   * the checks of the few let through are still made before any task is queued. The place is a claim on
   * capacity, not a permit or a queue slot: its run() is an ordinary run() (and may still find the queue
   * full), and it holds no permit while the caller checks.
   */
  reserve(lane: Lane = 'last'): Reservation {
    if (this.#reserved[lane] >= this.permits + this.queueLimit) throw new QueueFullError()
    this.#reserved[lane]++
    let held = true
    const release = () => {
      if (held) this.#reserved[lane]--
      held = false
    }
    return {
      run: async (task) => {
        try {
          return await this.run(task, lane)
        } finally {
          release()
        }
      },
      release,
    }
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
