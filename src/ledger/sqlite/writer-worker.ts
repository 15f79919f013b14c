import { openDatabase } from '../../db/open'
import type { SqliteConnection } from '../../db/sqlite'
import { BatchFailure, LedgerWriterCore } from './writer-core'
import type { Failure, FromWriter, ToWriter } from './writer-protocol'

// The writer thread: its own SQLite connection and every ledger write. The API thread parses,
// authenticates and reads; the writer's decisions, SQLite's write work and each commit's fsync run here,
// on the other core, so the event loop never waits on the disk.

declare const self: Worker

/** Keys forgotten per purge commit: small enough that a batch waiting behind one is not held up. */
const purgeSlice = 200

let db: SqliteConnection | undefined
let core: LedgerWriterCore | undefined
let purge: { beforeMs: number; count: number } | undefined

const send = (message: FromWriter) => self.postMessage(JSON.stringify(message))

function failureOf(error: unknown): Failure {
  if (error instanceof BatchFailure) return { outcome: error.outcome, reason: error.reason }
  return { outcome: 'unknown', reason: error instanceof Error ? error.message : String(error) }
}

/** One slice of the purge, then back to the message queue: batches that arrived meanwhile go first. */
function purgeStep(): void {
  if (!purge || !core) return
  try {
    const { purged, done } = core.purgeSlice(purge.beforeMs, purgeSlice)
    purge.count += purged
    if (!done) {
      setTimeout(purgeStep, 0)
      return
    }
    send({ type: 'purged', count: purge.count })
  } catch (error) {
    send({ type: 'purged', count: purge.count, failure: failureOf(error) })
  }
  purge = undefined
}

self.onmessage = async (event: MessageEvent<string>) => {
  const message = JSON.parse(event.data) as ToWriter
  switch (message.type) {
    case 'open':
      try {
        db = await openDatabase(message.config)
        core = new LedgerWriterCore(db)
        send({ type: 'opened' })
      } catch (error) {
        send({ type: 'open-failed', message: (error as Error).message })
      }
      return
    case 'batch': {
      const started = performance.now()
      try {
        const results = (core as LedgerWriterCore).runBatch(message.jobs)
        send({ type: 'batch', results, seconds: (performance.now() - started) / 1000 })
      } catch (error) {
        send({ type: 'batch-failed', failure: failureOf(error) })
      }
      return
    }
    case 'purge':
      if (purge) return
      purge = { beforeMs: message.beforeMs, count: 0 }
      setTimeout(purgeStep, 0)
      return
    case 'probe':
      try {
        ;(core as LedgerWriterCore).probeWrite()
        send({ type: 'probed' })
      } catch (error) {
        send({ type: 'probed', failure: failureOf(error) })
      }
      return
    case 'close':
      purge = undefined
      db?.close()
      send({ type: 'closed' })
      return
  }
}
