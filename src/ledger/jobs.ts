import { HttpProblem, type ProblemType, problemBody } from '../http/problem'
import type { Undo } from './batch-committer'
import type { Account, AccountIdentity, LedgerRepository, Posting, Transaction } from './repository'
import { accountView, transactionView } from './views'

// The write side of the ledger as plain data in, plain data out: a job names what to do, runJob does it
// inside a group-commit batch and returns the answer to send. Nothing here closes over a request, so the
// batch can run in the writer thread (writer-worker.ts).

export type WriteJob =
  | { op: 'open-account'; currency: string }
  | { op: 'deposit' | 'withdrawal'; account: AccountIdentity; amount: number; description?: string }
  | { op: 'transfer'; from: AccountIdentity; to: AccountIdentity; amount: number; description?: string }
  | { op: 'reversal'; original: Transaction }

export interface JobEnvelope {
  job: WriteJob
  ownerId: string
  idempotencyKey?: string
  fingerprint: string
  /** For the problem body's `instance` and `requestId`. */
  path: string
  requestId?: string
}

/** What a mutation answers: stored with its Idempotency-Key and replayed byte for byte. */
export interface Outcome {
  status: number
  /** JSON text, so a replay is the identical body. */
  body: string
  problem: boolean
  replayed: boolean
  location?: string
}

/** A business refusal inside a write (insufficient funds...): its writes are undone, the answer is kept. */
class Refusal extends Error {
  constructor(readonly problem: HttpProblem) {
    super(problem.message)
  }
}

const refuse = (type: ProblemType, detail?: string): never => {
  throw new Refusal(new HttpProblem(type, detail))
}

type Write = LedgerRepository['write']
type Done = { status: number; body: unknown; transactionId: string | null; location?: string }

function record(write: Write, transaction: Transaction) {
  write.insertTransaction(transaction)
  for (const posting of transaction.postings) write.insertPosting(transaction.id, posting)
}

function newTransaction(
  fields: Pick<Transaction, 'kind' | 'amount' | 'currency' | 'reversesId' | 'createdBy' | 'createdAt'> & {
    description: string | undefined | null
  },
  postings: Posting[],
): Transaction {
  return { id: Bun.randomUUIDv7(), ...fields, description: fields.description ?? null, postings }
}

const created = (transaction: Transaction, viewpoint: string): Done => ({
  status: 201,
  body: transactionView(transaction, viewpoint),
  transactionId: transaction.id,
})

/**
 * Deposits, withdrawals and transfers are one shape: debit `from` (guarded: a user account cannot go
 * below zero), credit `to`, two postings. The user account the caller acted on is the viewpoint: the
 * destination of a deposit, the source otherwise.
 */
function move(
  write: Write,
  kind: 'deposit' | 'withdrawal' | 'transfer',
  from: AccountIdentity,
  to: AccountIdentity,
  amount: number,
  description: string | undefined,
  createdBy: string,
  now: string,
): Done {
  const fromAfter =
    write.debit(from, amount) ??
    (from.kind === 'user'
      ? refuse('insufficient-funds', `The balance is below ${amount}.`)
      : refuse('balance-limit'))
  const toAfter = write.credit(to.id, amount) ?? refuse('balance-limit')
  const transaction = newTransaction(
    { kind, amount, currency: from.currency, description, reversesId: null, createdBy, createdAt: now },
    [
      { accountId: from.id, amount: -amount, balanceAfter: fromAfter },
      { accountId: to.id, amount, balanceAfter: toAfter },
    ],
  )
  record(write, transaction)
  return created(transaction, kind === 'deposit' ? to.id : from.id)
}

/** The opposite postings as a new transaction; once only, and never of a reversal. */
function reverse(write: Write, original: Transaction, createdBy: string, now: string): Done {
  if (original.kind === 'reversal' || write.isReversed(original.id)) refuse('already-reversed')
  const accounts = original.postings.map((posting) => write.account(posting.accountId) as Account)
  const legs: Posting[] = original.postings.map((posting, i) => {
    const account = accounts[i] as Account
    // What was credited is debited back (guarded for user accounts), and the other way round.
    const balanceAfter =
      posting.amount > 0
        ? (write.debit(account, posting.amount) ??
          refuse('insufficient-funds', `Reversing would take account ${account.id} below zero.`))
        : (write.credit(account.id, -posting.amount) ?? refuse('balance-limit'))
    return { accountId: account.id, amount: -posting.amount, balanceAfter }
  })
  const transaction = newTransaction(
    {
      kind: 'reversal',
      amount: original.amount,
      currency: original.currency,
      description: `Reversal of ${original.id}`,
      reversesId: original.id,
      createdBy,
      createdAt: now,
    },
    legs,
  )
  record(write, transaction)
  // Seen from the first user account, as an admin reading the original sees it.
  const viewpoint = accounts.find((account) => account.kind === 'user') ?? accounts[0]
  return created(transaction, (viewpoint as Account).id)
}

function perform(write: Write, job: WriteJob, ownerId: string, now: string): Done {
  switch (job.op) {
    case 'open-account': {
      // Created with the currency's first account, so by the time money moves it is committed.
      write.externalAccount(job.currency, now)
      const account = write.insertAccount(
        { id: Bun.randomUUIDv7(), ownerId, kind: 'user', currency: job.currency },
        now,
      ) as Account
      return {
        status: 201,
        body: accountView(account),
        transactionId: null,
        location: `/v1/accounts/${account.id}`,
      }
    }
    case 'deposit':
      return move(
        write,
        'deposit',
        write.externalAccount(job.account.currency, now),
        job.account,
        job.amount,
        job.description,
        ownerId,
        now,
      )
    case 'withdrawal':
      return move(
        write,
        'withdrawal',
        job.account,
        write.externalAccount(job.account.currency, now),
        job.amount,
        job.description,
        ownerId,
        now,
      )
    case 'transfer':
      return move(write, 'transfer', job.from, job.to, job.amount, job.description, ownerId, now)
    case 'reversal':
      return reverse(write, job.original, ownerId, now)
  }
}

/**
 * Runs one job inside a batch, with Stripe's idempotency semantics: a key seen before answers its stored
 * response (422 if the request differs); otherwise the mutation runs, a business refusal undoes its
 * writes, and the answer is stored with the key in the same transaction.
 */
export function runJob(write: Write, envelope: JobEnvelope, undo: Undo): Outcome {
  const { ownerId, idempotencyKey: key, job } = envelope
  const stored = key ? write.storedResponse(ownerId, key) : undefined
  if (stored) {
    if (stored.fingerprint !== envelope.fingerprint) {
      throw new HttpProblem('idempotency-key-reused', 'Use a new key for a different request.')
    }
    // Headers are derived, not stored: an opened account's Location comes from its id.
    const location =
      job.op === 'open-account' && stored.status === 201
        ? `/v1/accounts/${(JSON.parse(stored.response) as { id: string }).id}`
        : undefined
    return {
      status: stored.status,
      body: stored.response,
      problem: stored.status >= 400,
      replayed: true,
      location,
    }
  }
  const now = new Date().toISOString()
  let result: {
    status: number
    body: string
    problem: boolean
    transactionId: string | null
    location?: string
  }
  try {
    const done = perform(write, job, ownerId, now)
    result = { ...done, body: JSON.stringify(done.body), problem: false }
  } catch (error) {
    if (!(error instanceof Refusal)) throw error
    // Undo whatever the refused mutation wrote; its answer is still recorded below.
    undo()
    const body = problemBody(error.problem, envelope.path, envelope.requestId)
    result = { status: error.problem.status, body: JSON.stringify(body), problem: true, transactionId: null }
  }
  if (key) {
    write.storeResponse({
      ownerId,
      key,
      fingerprint: envelope.fingerprint,
      status: result.status,
      response: result.body,
      transactionId: result.transactionId,
      now,
    })
  }
  return {
    status: result.status,
    body: result.body,
    problem: result.problem,
    replayed: false,
    location: result.location,
  }
}
