import type { DatabaseConfig } from '../db/open'
import type { ProblemType } from '../http/problem'
import type { JobEnvelope, Outcome } from './jobs'

// Messages between the API thread and the writer thread (writer-worker.ts). Plain data only, sent as JSON
// text: posting a batch as objects (Bun's structured clone) cost the API thread 2.5 µs a job against
// 1.1 µs for JSON.stringify and posting the text, and a batch's round trip took 40 % longer.

export type WorkItem = { seq: number; envelope: JobEnvelope } | { seq: number; purgeBefore: string }

export type ToWriter =
  | { type: 'open'; config: DatabaseConfig }
  | { type: 'batch'; items: WorkItem[] }
  | { type: 'close' }

/** An error thrown by a job, as data: a problem the API answers with, or anything else (a 500). */
export type JobError = { problem?: { type: ProblemType; detail?: string }; message: string }

export type ItemResult =
  | { seq: number; ok: true; outcome?: Outcome; purged?: number }
  | { seq: number; ok: false; error: JobError }

export type FromWriter =
  | { type: 'opened' }
  | { type: 'open-failed'; message: string }
  | { type: 'batch'; results: ItemResult[]; size: number; seconds: number }
  | { type: 'commit-failed'; seqs: number[]; message: string }
  | { type: 'closed' }
