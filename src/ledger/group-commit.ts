import type { SqliteConnection } from '../db/sqlite'

type Job<T> = { run: () => T; resolve: (value: T) => void; reject: (error: unknown) => void }

export interface CommitObserver {
  committed(batchSize: number, seconds: number): void
}

/**
 * Group commit. Writes that arrive while the event loop is busy are run together in one immediate
 * transaction and made durable by one commit (one fsync), then every caller is answered. Each write runs
 * in its own savepoint, so one that throws is rolled back alone and the others still commit. Nothing is
 * acknowledged before the commit returns: a 2xx always means the write is on disk.
 *
 * SQLite calls are synchronous, so a batch is simply everything queued before the flush runs: the flush
 * is scheduled with setImmediate, after the requests already read from sockets have queued their writes.
 */
export class GroupCommit {
  #queue: Job<unknown>[] = []
  #scheduled = false

  constructor(
    private readonly db: SqliteConnection,
    private readonly observer: CommitObserver,
    private readonly maxBatch = 256,
  ) {}

  /**
   * Inside a job: runs fn in a nested savepoint and undoes its writes if it throws, so a job can refuse
   * half-way (insufficient funds) and still record that answer in the same transaction.
   */
  savepoint<T>(fn: () => T): T {
    this.db.exec('SAVEPOINT step')
    try {
      const result = fn()
      this.db.exec('RELEASE step')
      return result
    } catch (error) {
      this.db.exec('ROLLBACK TO step')
      this.db.exec('RELEASE step')
      throw error
    }
  }

  submit<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve, reject } as Job<unknown>)
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => this.#flush())
      }
    })
  }

  #flush(): void {
    const batch = this.#queue.splice(0, this.maxBatch)
    this.#scheduled = false
    if (this.#queue.length > 0) {
      this.#scheduled = true
      setImmediate(() => this.#flush())
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = []
    const started = performance.now()
    try {
      this.db.immediate(() => {
        for (const job of batch) {
          this.db.exec('SAVEPOINT job')
          try {
            outcomes.push({ ok: true, value: job.run() })
            this.db.exec('RELEASE job')
          } catch (error) {
            this.db.exec('ROLLBACK TO job')
            this.db.exec('RELEASE job')
            outcomes.push({ ok: false, error })
          }
        }
      })
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
      for (const job of batch) job.reject(error)
      return
    }
    this.observer.committed(batch.length, (performance.now() - started) / 1000)
    batch.forEach((job, i) => {
      const outcome = outcomes[i] as (typeof outcomes)[number]
      if (outcome.ok) job.resolve(outcome.value)
      else job.reject(outcome.error)
    })
  }
}
