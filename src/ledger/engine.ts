import { DatabaseUnavailableError } from '../db/unavailable'
// The ledger's storage-engine seam: what the routes and the service may ask of a ledger, in plain domain
// data. An engine (SQLite today, PostgreSQL next) implements all of it and passes the contract suite in
// tests/unit/ledger/engine-contract.ts. Nothing here knows about HTTP: no status codes, no problem types,
// no JSON text. The routes map results to responses in one place (src/ledger/index.ts).

/** The largest amount, and the largest user balance: 2^53-1 minor units, exact as a JSON number. */
export const maxAmount = Number.MAX_SAFE_INTEGER

export type TransactionKind = 'deposit' | 'withdrawal' | 'transfer' | 'reversal'

/** A user's account. The per-currency external accounts are the engine's own and never returned. */
export interface Account {
  id: string
  ownerId: string
  currency: string
  balance: number
  /** Milliseconds since the epoch. */
  createdAt: number
}

export interface Posting {
  accountId: string
  /** Null for the external account. */
  ownerId: string | null
  /** Signed: negative debits the account, positive credits it. */
  amount: number
  /** The account's balance after this transaction; null on the external account's side. */
  balanceAfter: number | null
}

export interface Transaction {
  id: string
  kind: TransactionKind
  amount: number
  currency: string
  description: string | null
  reversesId: string | null
  createdBy: string
  /** Milliseconds since the epoch. */
  createdAt: number
  /** Debit first; for a reversal, in the order of the original's postings (credit first). */
  postings: [Posting, Posting]
}

/**
 * Why a command was not carried out. `stored` refusals are business outcomes recorded with the
 * command's Idempotency-Key and replayed for it; the others are answered before anything runs and leave
 * the key free.
 */
export type RefusalCode =
  | 'not-found'
  | 'destination-not-found'
  | 'same-account'
  | 'currency-mismatch'
  | 'insufficient-funds'
  | 'already-reversed'
  | 'balance-limit'
  | 'idempotency-key-reused'
  | 'idempotency-key-in-use'

export const storedRefusals: ReadonlySet<RefusalCode> = new Set([
  'insufficient-funds',
  'already-reversed',
  'balance-limit',
])

export interface Refusal {
  code: RefusalCode
  detail?: string
}

/**
 * Idempotency-Key semantics (Stripe's): the first command with a key runs and its outcome is kept with
 * it; the same command again gets that outcome (`replayed`), another command with the key is refused
 * (`idempotency-key-reused`). "The same command" means the same operation on the same accounts with the
 * same amount and description: the command's content is its fingerprint, compared with what was stored.
 */
export interface Idempotency {
  key: string
  /** The request that first used the key; a replayed refusal reports the original's id. */
  requestId?: string
}

export type Result<T> =
  | { ok: true; value: T; replayed: boolean }
  | { ok: false; refusal: Refusal; replayed: boolean; requestId?: string }

export type Command =
  | { op: 'open-account'; currency: string }
  | { op: 'deposit' | 'withdrawal'; accountId: string; amount: number; description?: string }
  | { op: 'transfer'; fromAccountId: string; toAccountId: string; amount: number; description?: string }
  | { op: 'reversal'; transactionId: string }

export type CommandOf<Op extends Command['op']> = Extract<Command, { op: Op }>

/** Who asks, and with which key: every command carries both. */
export interface Caller {
  userId: string
  idempotency?: Idempotency
}

export interface HistoryPage {
  items: Transaction[]
  /** Where the next (older) page starts; undefined on the last page. */
  next?: string
}

export interface VerifyReport {
  accounts: number
  transactions: number
  violations: string[]
}

/**
 * Writes cannot be committed right now (disk full, read-only volume, the database gone, or a commit whose
 * outcome is unknown while the engine restarts). Nothing of the command took effect that a retry with the
 * same Idempotency-Key would repeat.
 */
export class LedgerUnavailableError extends DatabaseUnavailableError {
  constructor(reason: string, retryAfterSeconds = 1, options?: ErrorOptions) {
    super(reason, retryAfterSeconds, options)
    // A DatabaseUnavailableError to the HTTP edge (503 for reads too); the message says what it means here.
    this.message = `the ledger cannot commit writes now: ${reason}`
    this.name = 'LedgerUnavailableError'
  }
}

/**
 * A command carries a value the database cannot store, e.g. U+0000 in a description (PostgreSQL's text
 * refuses it; any SQLSTATE of class 22, data exception). Nothing ran; the route answers 400.
 */
export class LedgerInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LedgerInputError'
  }
}

/** A history cursor this engine did not hand out (or one for another account). */
export class InvalidCursorError extends Error {}

export interface LedgerEngine {
  openAccount(caller: Caller, command: CommandOf<'open-account'>): Promise<Result<Account>>
  /** Deposit, withdrawal, transfer or reversal. Only the owner moves money out of or into an account. */
  move(caller: Caller, command: Exclude<Command, { op: 'open-account' }>): Promise<Result<Transaction>>

  account(id: string): Promise<Account | undefined>
  /** The owner's accounts ordered by id, after the given id. */
  accountsOf(ownerId: string, afterId: string | undefined, limit: number): Promise<Account[]>
  transaction(id: string): Promise<Transaction | undefined>
  /** An account's transactions, newest first; a walk is not disturbed by transactions that arrive meanwhile. */
  history(accountId: string, cursor: string | undefined, limit: number): Promise<HistoryPage>

  /** Forgets Idempotency-Keys used before the given time, in ms since the epoch (their commands stay). */
  purgeIdempotencyKeys(beforeMs: number): Promise<number>
  /**
   * Why writes cannot commit now, or undefined when they can. Free while commits succeed; after a failed
   * commit it tries a small write, so readiness recovers by itself when the disk does.
   */
  writeProblem(): Promise<string | undefined>
  verify(): Promise<VerifyReport>
  close(): Promise<void>
}
