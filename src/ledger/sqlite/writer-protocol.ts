import type { DatabaseConfig } from '../../db/open'
import type { Job, JobResult } from '../jobs'

// Messages between the API thread and the writer thread (writer-worker.ts): plain domain data, sent as
// JSON text. Posting a batch as objects (Bun's structured clone) cost the API thread 2.5 µs a job against
// 1.1 µs for JSON.stringify and posting the text, and a batch's round trip took 40 % longer.

/** A write that did not commit; `unknown` when it may have (the writer then stops for good). */
export interface Failure {
  outcome: 'clean' | 'unknown'
  reason: string
}

export type ToWriter =
  | { type: 'open'; config: DatabaseConfig }
  | { type: 'batch'; jobs: Job[] }
  | { type: 'purge'; beforeMs: number }
  | { type: 'probe' }
  | { type: 'close' }

export type FromWriter =
  | { type: 'opened' }
  | { type: 'open-failed'; message: string }
  | { type: 'batch'; results: JobResult[]; seconds: number }
  | { type: 'batch-failed'; failure: Failure }
  | { type: 'purged'; count: number; failure?: Failure }
  | { type: 'probed'; failure?: Failure }
  | { type: 'closed' }
