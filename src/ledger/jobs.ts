import type { Account, Command, Refusal, Result, Transaction } from './engine'

// What both ledger engines share below the seam: a command as an engine runs it, its outcome, and how an
// Idempotency-Key's earlier use is recognised as "the same command". One definition for both, because
// `ledgerd copy` moves stored refusals from SQLite to PostgreSQL: their canonical text must compare
// equal on either side.

/** One command as an engine runs it: plain data (it crosses to SQLite's writer thread as JSON). */
export interface Job {
  caller: string
  key?: string
  requestId?: string
  command: Command
}

export type JobResult =
  | { ok: true; replayed: boolean; account: Account }
  | { ok: true; replayed: boolean; transaction: Transaction }
  | { ok: false; replayed: boolean; refusal: Refusal; requestId?: string }

/** Canonical JSON of a command: how a refused command is compared with a retry of its key. */
export const commandText = (command: Command) => JSON.stringify(command, Object.keys(command).sort())

/** A stored transaction is the same movement as a retried command when amount and description agree. */
export const sameMovement = (stored: Transaction, command: { amount: number; description?: string }) =>
  stored.amount === command.amount && stored.description === (command.description ?? null)

/**
 * Why a reversal is refused (`destination-not-found`) when the account it would credit belongs to a user
 * deleted since: the money would be stranded where nobody can take it out.
 */
export const creditsDeleted = (accountId: string) =>
  `Account ${accountId}, which the reversal would credit, belongs to a deleted user.`

/** The seam's answer to an open-account job. */
export function accountResult(result: JobResult): Result<Account> {
  if (!result.ok) return result
  return { ok: true, value: (result as { account: Account }).account, replayed: result.replayed }
}

/** The seam's answer to a movement job. */
export function transactionResult(result: JobResult): Result<Transaction> {
  if (!result.ok) return result
  return { ok: true, value: (result as { transaction: Transaction }).transaction, replayed: result.replayed }
}
