import type { DatabaseConfig } from '../db/open'
import { HttpProblem } from '../http/problem'
import { writerThreadUrl } from '../writer-thread-url'
import type { JobEnvelope, Outcome } from './jobs'
import type { FromWriter, ItemResult, ToWriter, WorkItem } from './writer-protocol'

export interface CommitObserver {
  committed(batchSize: number, seconds: number): void
  /** A batch failed to commit; the writer goes on with the next one. */
  failed(message: string): void
  /** The writer thread itself died: no write can succeed any more. */
  died(message: string): void
}

/** The ledger's only writer. Every write is durable (committed and fsynced) when its promise resolves. */
export interface LedgerWriter {
  write(envelope: JobEnvelope): Promise<Outcome>
  purge(before: string): Promise<number>
  close(): Promise<void>
}

type Pending = { resolve: (result: ItemResult) => void; reject: (error: Error) => void }

/**
 * Group commit across threads. Writes queued while the API thread is busy are sent to the writer thread
 * as one batch (the flush is scheduled with setImmediate, after the requests already read from sockets
 * have queued theirs); the writer runs the batch as one transaction and one fsync, and answers every
 * write at once. While a batch commits, the next one gathers here, so the writer is never idle under load.
 */
export async function startWriterThread(
  config: DatabaseConfig,
  observer: CommitObserver,
): Promise<LedgerWriter> {
  const worker = new Worker(writerThreadUrl)
  const pending = new Map<number, Pending>()
  let queue: WorkItem[] = []
  let inFlight = false
  let nextSeq = 0
  let lifecycle: ((message: FromWriter) => void) | undefined
  let dead: Error | undefined

  const post = (message: ToWriter) => worker.postMessage(JSON.stringify(message))

  const flush = () => {
    if (inFlight || queue.length === 0) return
    inFlight = true
    const items = queue
    queue = []
    post({ type: 'batch', items })
  }

  worker.onmessage = (event: MessageEvent<string>) => {
    const message = JSON.parse(event.data) as FromWriter
    if (message.type === 'batch') {
      observer.committed(message.size, message.seconds)
      for (const result of message.results) {
        pending.get(result.seq)?.resolve(result)
        pending.delete(result.seq)
      }
    } else if (message.type === 'commit-failed') {
      observer.failed(message.message)
      for (const seq of message.seqs) {
        pending.get(seq)?.reject(new Error(`ledger commit failed: ${message.message}`))
        pending.delete(seq)
      }
    } else {
      lifecycle?.(message)
      return
    }
    inFlight = false
    flush()
  }

  const call = (item: Omit<WorkItem, 'seq'>) =>
    new Promise<ItemResult>((resolve, reject) => {
      if (dead) return reject(dead)
      const seq = nextSeq++
      pending.set(seq, { resolve, reject })
      queue.push({ ...item, seq } as WorkItem)
      if (queue.length === 1 && !inFlight) setImmediate(flush)
    })

  worker.onerror = (event) => {
    // The thread could not start or crashed: fail every waiting and every later write rather than hang.
    dead = new Error(`the ledger writer thread died: ${event.message}`)
    for (const { reject } of pending.values()) reject(dead)
    pending.clear()
    lifecycle?.({ type: 'open-failed', message: event.message })
    observer.died(event.message)
  }

  const next = (message: ToWriter) =>
    new Promise<FromWriter>((resolve) => {
      lifecycle = resolve
      post(message)
    })

  const opened = await next({ type: 'open', config })
  if (opened.type !== 'opened') {
    worker.terminate()
    throw new Error(
      `the ledger writer could not open the database: ${(opened as { message?: string }).message}`,
    )
  }

  return {
    async write(envelope) {
      const result = await call({ envelope })
      if (result.ok) return result.outcome as Outcome
      const { problem, message } = result.error
      if (problem) throw new HttpProblem(problem.type, problem.detail)
      throw new Error(message)
    },
    async purge(before) {
      const result = await call({ purgeBefore: before })
      if (!result.ok) throw new Error(result.error.message)
      return result.purged ?? 0
    },
    async close() {
      await next({ type: 'close' })
      worker.terminate()
    },
  }
}
