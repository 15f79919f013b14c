/**
 * Thrown by Semaphore.run when the queue is full, or when a task waited its longest without a permit:
 * the caller answers "busy", it does not wait (longer).
 */
export class QueueFullError extends Error {
  constructor(message = 'the queue is full') {
    super(message)
    this.name = 'QueueFullError'
  }
}

/** A place held with Semaphore.reserve: run one task with it, or release it unused (either releases). */
export interface Reservation {
  run<T>(task: () => Promise<T>): Promise<T>
  /** Gives the place back; a no-op once released. */
  release(): void
}

/**
 * At most `permits` tasks run at once; up to `queueLimit` more wait, each at most `maxWaitMs`, and past
 * either run() rejects with QueueFullError. A finished task hands its permit straight to the next waiter,
 * so a permit is never free while someone waits, and every permit taken is given back, whether the task
 * resolves or rejects.
 */
export class Semaphore {
  #running = 0
  readonly #waiting: (() => void)[] = []
  #reserved = 0

  constructor(
    readonly permits: number,
    readonly queueLimit: number,
    readonly maxWaitMs = Number.POSITIVE_INFINITY,
  ) {}

  get running(): number {
    return this.#running
  }

  get queued(): number {
    return this.#waiting.length
  }

  /** Reservations not yet released. */
  get reserved(): number {
    return this.#reserved
  }

  /** Whether reserve() would refuse now: every place it can hand out is held. */
  get full(): boolean {
    return this.#reserved >= this.permits + this.queueLimit
  }

  /**
   * A place for a task the caller will run after checks of its own (a sign-up's count per client, a
   * database round trip): at most `permits + queueLimit`, what can run or queue, and past that
   * QueueFullError at once. So a burst is turned away before its checks, not after them, while the checks
   * of the few let through are still made before any task is queued. The place is a claim on capacity,
   * not a permit or a queue slot: its run() is an ordinary run() (and may still find the queue full), and
   * it holds no permit while the caller checks.
   */
  reserve(): Reservation {
    if (this.full) throw new QueueFullError()
    this.#reserved++
    let held = true
    const release = () => {
      if (held) this.#reserved--
      held = false
    }
    return {
      run: async (task) => {
        try {
          return await this.run(task)
        } finally {
          release()
        }
      },
      release,
    }
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire()
    try {
      return await task()
    } finally {
      this.#release()
    }
  }

  #acquire(): Promise<void> {
    if (this.#running < this.permits) {
      this.#running++
      return Promise.resolve()
    }
    if (this.#waiting.length >= this.queueLimit) return Promise.reject(new QueueFullError())
    return new Promise((resolve, reject) => {
      const granted = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = Number.isFinite(this.maxWaitMs)
        ? setTimeout(() => {
            this.#waiting.splice(this.#waiting.indexOf(granted), 1)
            reject(new QueueFullError(`no permit within ${this.maxWaitMs} ms`))
          }, this.maxWaitMs)
        : undefined
      this.#waiting.push(granted)
    })
  }

  #release(): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#running--
  }
}
