import { openDatabase } from '../db/open'
import type { SqliteConnection } from '../db/sqlite'
import { HttpProblem } from '../http/problem'
import { BatchCommitter } from './batch-committer'
import { runJob } from './jobs'
import { type LedgerRepository, sqliteLedgerRepository } from './repository'
import type { FromWriter, ItemResult, JobError, ToWriter } from './writer-protocol'

// The writer thread: its own SQLite connection, and every ledger write. The API thread parses,
// authenticates and reads; SQLite's write work and the fsync of each commit run here, on the other core.

declare const self: Worker

let db: SqliteConnection | undefined
let repository: LedgerRepository | undefined
let committer: BatchCommitter | undefined

const send = (message: FromWriter) => self.postMessage(JSON.stringify(message))

function asJobError(error: unknown): JobError {
  if (error instanceof HttpProblem)
    return { problem: { type: error.type, detail: error.detail }, message: error.message }
  return { message: error instanceof Error ? error.message : String(error) }
}

self.onmessage = async (event: MessageEvent<string>) => {
  const message = JSON.parse(event.data) as ToWriter
  if (message.type === 'open') {
    try {
      db = await openDatabase(message.config)
      repository = sqliteLedgerRepository(db)
      committer = new BatchCommitter(db)
      send({ type: 'opened' })
    } catch (error) {
      send({ type: 'open-failed', message: (error as Error).message })
    }
    return
  }
  if (message.type === 'close') {
    db?.close()
    send({ type: 'closed' })
    return
  }
  const write = (repository as LedgerRepository).write
  const jobs = message.items.map(
    (item) => (undo: () => void) =>
      'purgeBefore' in item
        ? { purged: (repository as LedgerRepository).purgeResponses(item.purgeBefore) }
        : { outcome: runJob(write, item.envelope, undo) },
  )
  try {
    const { outcomes, seconds } = (committer as BatchCommitter).run(jobs)
    const results: ItemResult[] = outcomes.map((outcome, i) => {
      const seq = (message.items[i] as { seq: number }).seq
      return outcome.ok
        ? { seq, ok: true, ...outcome.value }
        : { seq, ok: false, error: asJobError(outcome.error) }
    })
    send({ type: 'batch', results, size: jobs.length, seconds })
  } catch (error) {
    // The whole batch was rolled back: anything cached from inside it may be untrue.
    write.forgetCached()
    send({
      type: 'commit-failed',
      seqs: message.items.map((item) => item.seq),
      message: (error as Error).message,
    })
  }
}
