import type { DatabaseConfig } from '../../db/open'
import type { SqliteConnection } from '../../db/sqlite'
import { writerThreadUrl } from '../../writer-thread-url'
import {
  type Account,
  type Caller,
  type Command,
  type HistoryPage,
  InvalidCursorError,
  type LedgerEngine,
  LedgerUnavailableError,
} from '../engine'
import { accountResult, type Job, type JobResult, transactionResult } from '../jobs'
import { accountColumns, type TransactionRow, transactionOf, transactionSelect } from './rows'
import { verifyLedger } from './verify'
import type { Failure, FromWriter, ToWriter } from './writer-protocol'

export interface CommitObserver {
  committed(batchSize: number, seconds: number): void
  /** A batch did not commit and nothing of it is durable; the writer goes on with the next one. */
  failed(reason: string): void
  /**
   * The writer cannot go on: a commit's outcome is unknown, or the thread died. Every write from now on
   * is refused; the process should exit and let its supervisor restart it from what is on disk.
   */
  stopped(reason: string): void
}

type Pending = { resolve: (result: JobResult) => void; reject: (error: Error) => void }

const cursorPattern = /^\d{1,16}$/

/**
 * The most jobs one commit takes: bounds the work and memory of a batch however many requests wait (the
 * rest go in the next), and keeps every account a batch touches among the writer's most recently used.
 */
export const maxBatchJobs = 1024

/**
 * The SQLite ledger engine. Reads run on the API thread's connection; every write is a job for the
 * writer thread (writer-worker.ts), which keeps the balances and commits jobs in groups: the jobs queued
 * while the API thread is busy go over as one batch (flushed with setImmediate, after the requests
 * already read from the sockets have queued theirs), one transaction and one fsync, and every caller is
 * answered when it is durable. While a batch commits, the next one gathers.
 */
export async function openSqliteLedgerEngine(
  config: DatabaseConfig,
  db: SqliteConnection,
  observer: CommitObserver,
): Promise<LedgerEngine> {
  const worker = new Worker(writerThreadUrl)
  let queue: { job: Job; pending: Pending }[] = []
  let inFlight: Pending[] | undefined
  /** Why the last commit failed cleanly; cleared by the next one that succeeds. */
  let failing: string | undefined
  /** Set for good once a commit's outcome is unknown or the thread died. */
  let stopped: string | undefined
  let lifecycle: ((message: FromWriter) => void) | undefined
  const replies: { purged?: (m: FromWriter) => void; probed?: (m: FromWriter) => void } = {}
  const inFlightKeys = new Set<string>()

  const post = (message: ToWriter) => worker.postMessage(JSON.stringify(message))

  const flush = () => {
    if (inFlight || queue.length === 0 || stopped) return
    const batch = queue.length > maxBatchJobs ? queue.slice(0, maxBatchJobs) : queue
    queue = queue.length > maxBatchJobs ? queue.slice(maxBatchJobs) : []
    inFlight = batch.map((item) => item.pending)
    post({ type: 'batch', jobs: batch.map((item) => item.job) })
  }

  const stop = (reason: string) => {
    if (stopped) return
    stopped = reason
    const error = new LedgerUnavailableError(reason)
    for (const waiting of [...(inFlight ?? []), ...queue.map((item) => item.pending)]) {
      waiting.reject(error)
    }
    inFlight = undefined
    queue = []
    observer.stopped(reason)
  }

  /** A failure reported by the writer: clean ones are passing, unknown ones stop every later write. */
  const noteFailure = (failure: Failure) => {
    if (failure.outcome === 'unknown') return stop(`a commit's outcome is unknown: ${failure.reason}`)
    failing = failure.reason
    observer.failed(failure.reason)
  }

  worker.onmessage = (event: MessageEvent<string>) => {
    const message = JSON.parse(event.data) as FromWriter
    switch (message.type) {
      case 'batch': {
        failing = undefined
        observer.committed(message.results.length, message.seconds)
        const answered = inFlight ?? []
        inFlight = undefined
        for (const [i, result] of message.results.entries()) answered[i]?.resolve(result)
        flush()
        return
      }
      case 'batch-failed': {
        const answered = inFlight ?? []
        inFlight = undefined
        noteFailure(message.failure)
        const error = new LedgerUnavailableError(message.failure.reason)
        for (const waiting of answered) waiting.reject(error)
        flush()
        return
      }
      case 'purged':
      case 'probed': {
        if (message.failure) noteFailure(message.failure)
        else if (message.type === 'probed') failing = undefined
        const reply = replies[message.type]
        replies[message.type] = undefined
        reply?.(message)
        return
      }
      default:
        lifecycle?.(message)
    }
  }

  worker.onerror = (event) => {
    // The thread could not start or crashed: fail every waiting and every later write rather than hang.
    lifecycle?.({ type: 'open-failed', message: event.message })
    stop(`the ledger writer thread died: ${event.message}`)
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

  const ask = (type: 'purged' | 'probed', message: ToWriter) =>
    new Promise<FromWriter>((resolve) => {
      replies[type] = resolve
      post(message)
    })

  /** Queues the job for the next batch; one key runs at most once at a time per caller. */
  async function submit(caller: Caller, command: Command): Promise<JobResult> {
    if (stopped) throw new LedgerUnavailableError(stopped)
    const key = caller.idempotency?.key
    const claim = key === undefined ? undefined : `${caller.userId}\n${key}`
    if (claim !== undefined) {
      if (inFlightKeys.has(claim)) {
        return { ok: false, replayed: false, refusal: { code: 'idempotency-key-in-use' } }
      }
      inFlightKeys.add(claim)
    }
    const job: Job = { caller: caller.userId, key, requestId: caller.idempotency?.requestId, command }
    try {
      return await new Promise<JobResult>((resolve, reject) => {
        queue.push({ job, pending: { resolve, reject } })
        if (queue.length === 1 && !inFlight) setImmediate(flush)
      })
    } finally {
      if (claim !== undefined) inFlightKeys.delete(claim)
    }
  }

  const reads = {
    account: db.statement(`SELECT ${accountColumns} FROM accounts WHERE id = ? AND owner_id IS NOT NULL`),
    accountsOf: db.statement(
      `SELECT ${accountColumns} FROM accounts WHERE owner_id = ? AND id > ? ORDER BY id LIMIT ?`,
    ),
    accountChain: db.statement('SELECT seq, head FROM accounts WHERE id = ? AND owner_id IS NOT NULL'),
    transaction: db.statement(`${transactionSelect} WHERE t.id = ?`),
    transactionBySeq: db.statement(`${transactionSelect} WHERE t.seq = ?`),
  }

  return {
    async openAccount(caller, command) {
      return accountResult(await submit(caller, command))
    },

    async move(caller, command) {
      return transactionResult(await submit(caller, command))
    },

    async account(id) {
      return reads.account.get<Account>(id)
    },

    async accountsOf(ownerId, afterId, limit) {
      return reads.accountsOf.all<Account>(ownerId, afterId ?? '', limit)
    },

    async transaction(id) {
      const row = reads.transaction.get<TransactionRow>(id)
      return row && transactionOf(row)
    },

    /** Follows the account's chain of links from its newest transaction, or from the cursor's. */
    async history(accountId, cursor, limit): Promise<HistoryPage> {
      const account = reads.accountChain.get<{ seq: number; head: number | null }>(accountId)
      if (!account) return { items: [] }
      const previous = (row: TransactionRow) =>
        row.debitSeq === account.seq ? row.debitPrev : row.creditPrev
      let next = account.head
      if (cursor !== undefined) {
        const after = cursorPattern.test(cursor)
          ? reads.transactionBySeq.get<TransactionRow>(Number(cursor))
          : undefined
        // A cursor must be one of this account's transactions: another account's would walk its chain.
        if (!after || (after.debitSeq !== account.seq && after.creditSeq !== account.seq)) {
          throw new InvalidCursorError('not a cursor of this account')
        }
        next = previous(after)
      }
      const rows: TransactionRow[] = []
      while (next !== null && rows.length < limit) {
        const row = reads.transactionBySeq.get<TransactionRow>(next) as TransactionRow
        rows.push(row)
        next = previous(row)
      }
      const last = rows.at(-1)
      return { items: rows.map(transactionOf), next: next !== null && last ? String(last.seq) : undefined }
    },

    async purgeIdempotencyKeys(beforeMs) {
      if (stopped) throw new LedgerUnavailableError(stopped)
      if (replies.purged) return 0
      const reply = (await ask('purged', { type: 'purge', beforeMs })) as Extract<
        FromWriter,
        { type: 'purged' }
      >
      if (reply.failure) throw new LedgerUnavailableError(reply.failure.reason)
      return reply.count
    },

    async writeProblem() {
      if (stopped) return stopped
      if (failing === undefined) return undefined
      if (!replies.probed) await ask('probed', { type: 'probe' })
      return stopped ?? failing
    },

    async verify() {
      return verifyLedger(db)
    },

    async close() {
      stopped ??= 'closed'
      await next({ type: 'close' })
      worker.terminate()
    },
  }
}
