import { isRetryable, isUnavailable } from '../../db/postgres/connection'
import { LedgerInputError, LedgerUnavailableError } from '../engine'

// What a failed PostgreSQL call means for the caller. Three answers, never a bare error that the routes
// would turn into a 500: run it again (a conflict that rolled back whole), 503 (the database cannot take
// writes now, or its answer did not come in time), or 400 (a value the database cannot store).

const sqlstateOf = (error: unknown): string => String((error as { code?: unknown })?.code ?? '')

/**
 * A conflict between replicas that rolled the whole transaction back, so running the command again is
 * safe and will see the winner: a serialization failure or deadlock, or a unique index that another
 * transaction won (the same key or the same reversal; the next run finds its row and answers from it).
 */
export function isConflict(error: unknown): boolean {
  return isRetryable(error) || sqlstateOf(error) === '23505'
}

/**
 * Besides connection.ts's list: the server out of disk, memory or connections (class 53), an I/O or
 * system error (class 58), a read-only server (a failover's standby), and a lock held past lock_timeout.
 */
function databaseCannotWrite(error: unknown): boolean {
  const state = sqlstateOf(error)
  return (
    isUnavailable(error) ||
    state.startsWith('53') ||
    state.startsWith('58') ||
    state === '25006' ||
    state === '55P03'
  )
}

/** A data exception (class 22): what the command carries cannot be stored, e.g. U+0000 in text. */
const isDataException = (error: unknown) => /^22[0-9A-Z]{3}$/.test(sqlstateOf(error))

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * The error an engine call rejects with. `committing`: the failure came while COMMIT was on its way, so
 * the transaction may be durable or not; the caller is told the ledger is unavailable, and a retry with
 * the same Idempotency-Key finds the committed row if there is one.
 */
export function ledgerErrorOf(error: unknown, committing: boolean): Error {
  if (error instanceof LedgerUnavailableError || error instanceof LedgerInputError) return error
  if (committing && (databaseCannotWrite(error) || sqlstateOf(error).startsWith('CONNECTION'))) {
    return new LedgerUnavailableError(`the outcome of a commit is unknown: ${messageOf(error)}`, 1, {
      cause: error,
    })
  }
  // The cause keeps the SQLSTATE, which the fault metric is labelled by (src/db/faults.ts).
  if (databaseCannotWrite(error)) return new LedgerUnavailableError(messageOf(error), 1, { cause: error })
  if (isConflict(error)) {
    return new LedgerUnavailableError(`too many conflicts: ${messageOf(error)}`, 1, { cause: error })
  }
  if (isDataException(error)) return new LedgerInputError(`PostgreSQL cannot store it: ${messageOf(error)}`)
  return error instanceof Error ? error : new Error(String(error))
}

/** Rejects with LedgerUnavailableError when `work` has not settled within `ms`; see the engine's use. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LedgerUnavailableError(`PostgreSQL did not answer ${what} within ${ms} ms`)),
      ms,
    )
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
