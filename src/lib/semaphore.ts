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

/**
 * At most `permits` tasks run at once; up to `queueLimit` more wait, each at most `maxWaitMs`, and past
 * either run() rejects with QueueFullError. A finished task hands its permit straight to the next waiter,
 * so a permit is never free while someone waits, and every permit taken is given back, whether the task
 * resolves or rejects.
 */
export class Semaphore {
  #running = 0
  readonly #waiting: (() => void)[] = []

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
