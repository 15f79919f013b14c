import type { Sql } from '../../db/postgres/connection'
import {
  type Caller,
  type Command,
  type HistoryPage,
  InvalidCursorError,
  type LedgerEngine,
  LedgerUnavailableError,
} from '../engine'
import { accountResult, type JobResult, transactionResult } from '../jobs'
import { LedgerCommands } from './commands'
import { ledgerErrorOf, withDeadline } from './faults'
import { purgeIdempotencyKeys } from './purge'
import {
  type AccountRow,
  accountOf,
  type Int8,
  type TransactionRow,
  transactionColumns,
  transactionJoins,
  transactionOf,
} from './rows'
import { verifyPostgresLedger } from './verify'

export interface PostgresLedgerOptions {
  /** --db-statement-timeout: the server cancels a statement past it; the engine gives up a call soon after. */
  statementTimeoutMs: number
  /** Whether close() ends the pool: false when users and health share it. */
  ownsPool: boolean
  /**
   * Told of every write transaction that committed, as a batch of one (PostgreSQL groups concurrent
   * commits into one flush itself): feeds the same commit metrics as SQLite's group commit.
   */
  committed?: (batchSize: number, seconds: number) => void
  /** How long `verify` may run (it scans everything); default 10 minutes. */
  verifyTimeoutMs?: number
}

/**
 * Past the statement timeout, how long a call still waits before answering 503: the server cancels a
 * slow statement itself, so this only fires when the server (or the network to it) stops answering.
 */
const deadlineMarginMs = 1000
const cursorPattern = /^\d{1,16}$/
/** Text PostgreSQL cannot hold names no row (and would fail the query): such an id is simply not found. */
const storable = (text: string) => !text.includes('\u0000')

/**
 * The PostgreSQL ledger engine: the SQLite engine's behaviour (tests/unit/ledger/engine-contract.ts),
 * with any number of replicas writing to one database. Each command is one short transaction (or one
 * statement) on the shared pool; commands.ts has the rules that make replicas safe. Every call is
 * bounded: it answers, or rejects with LedgerUnavailableError, by the statement timeout plus a margin.
 */
export function openPostgresLedgerEngine(sql: Sql, options: PostgresLedgerOptions): LedgerEngine {
  const commands = new LedgerCommands(sql)
  const deadlineMs = options.statementTimeoutMs + deadlineMarginMs
  const verifyTimeoutMs = options.verifyTimeoutMs ?? 10 * 60_000
  /** Why the last write failed for want of a database; cleared by the next write that commits. */
  let failing: string | undefined
  let closed = false
  /** Keys this replica is running now: a duplicate answers in-use without a round trip. */
  const inFlightKeys = new Set<string>()

  const bound = <T>(work: Promise<T>, what = 'a ledger call') => withDeadline(work, deadlineMs, what)

  /** A read: 503 when the database is unavailable, like a write, but it does not mark writes failing. */
  const read = async <T>(work: () => Promise<T>, ms = deadlineMs): Promise<T> => {
    if (closed) throw new LedgerUnavailableError('the ledger is closed')
    try {
      return await withDeadline(work(), ms, 'a ledger read')
    } catch (error) {
      throw ledgerErrorOf(error, false)
    }
  }

  /** A write: its failure for want of a database is what writeProblem() reports until one succeeds. */
  const write = async <T>(work: () => Promise<T>): Promise<T> => {
    if (closed) throw new LedgerUnavailableError('the ledger is closed')
    try {
      const started = performance.now()
      const result = await bound(work())
      failing = undefined
      options.committed?.(1, (performance.now() - started) / 1000)
      return result
    } catch (error) {
      const mapped = ledgerErrorOf(error, false)
      if (mapped instanceof LedgerUnavailableError) failing = mapped.reason
      throw mapped
    }
  }

  async function submit(caller: Caller, command: Command): Promise<JobResult> {
    const key = caller.idempotency?.key
    const claim = key === undefined ? undefined : `${caller.userId}\n${key}`
    if (claim !== undefined) {
      if (inFlightKeys.has(claim)) {
        return { ok: false, replayed: false, refusal: { code: 'idempotency-key-in-use' } }
      }
      inFlightKeys.add(claim)
    }
    try {
      return await write(() =>
        commands.run({ caller: caller.userId, key, requestId: caller.idempotency?.requestId, command }),
      )
    } finally {
      if (claim !== undefined) inFlightKeys.delete(claim)
    }
  }

  const transactionBySeq = async (seq: number) => {
    const [row] = await sql<TransactionRow[]>`
      SELECT ${sql.unsafe(transactionColumns)} FROM transactions t ${sql.unsafe(transactionJoins)}
      WHERE t.seq = ${seq}::int8`
    return row
  }

  return {
    async openAccount(caller, command) {
      return accountResult(await submit(caller, command))
    },

    async move(caller, command) {
      return transactionResult(await submit(caller, command))
    },

    account: (id) =>
      read(async () => {
        if (!storable(id)) return undefined
        const [row] = await sql<AccountRow[]>`
          SELECT seq, id, owner_id AS "ownerId", currency, balance, created_at AS "createdAt"
          FROM accounts WHERE id = ${id} AND owner_id IS NOT NULL`
        return row && accountOf(row)
      }),

    accountsOf: (ownerId, afterId, limit) =>
      read(async () => {
        if (!storable(ownerId) || !storable(afterId ?? '')) return []
        const rows = await sql<AccountRow[]>`
          SELECT seq, id, owner_id AS "ownerId", currency, balance, created_at AS "createdAt"
          FROM accounts WHERE owner_id = ${ownerId} AND id > ${afterId ?? ''} ORDER BY id LIMIT ${limit}`
        return rows.map(accountOf)
      }),

    transaction: (id) =>
      read(async () => {
        if (!storable(id)) return undefined
        const [row] = await sql<TransactionRow[]>`
          SELECT ${sql.unsafe(transactionColumns)} FROM transactions t ${sql.unsafe(transactionJoins)}
          WHERE t.id = ${id}`
        return row && transactionOf(row)
      }),

    /**
     * Follows the account's chain of links from its newest transaction, or from the cursor's, in one
     * recursive query. The chain only grows at its head, so a walk is not disturbed by new transactions.
     */
    history: (accountId, cursor, limit): Promise<HistoryPage> =>
      read(async () => {
        if (!storable(accountId)) return { items: [] }
        const [account] = await sql<{ seq: Int8; head: Int8 | null }[]>`
          SELECT seq, head FROM accounts WHERE id = ${accountId} AND owner_id IS NOT NULL`
        if (!account) return { items: [] }
        const seq = Number(account.seq)
        let start = account.head === null ? null : Number(account.head)
        if (cursor !== undefined) {
          const after = cursorPattern.test(cursor) ? await transactionBySeq(Number(cursor)) : undefined
          // A cursor must be one of this account's transactions: another account's would walk its chain.
          const side =
            after && Number(after.debitSeq) === seq
              ? 'debit'
              : after && Number(after.creditSeq) === seq
                ? 'credit'
                : undefined
          if (!after || !side) throw new InvalidCursorError('not a cursor of this account')
          const prev = side === 'debit' ? after.debitPrev : after.creditPrev
          start = prev === null ? null : Number(prev)
        }
        if (start === null || limit < 1) return { items: [] }
        const rows = await sql<(TransactionRow & { walkPrev: Int8 | null })[]>`
          WITH RECURSIVE walk AS (
            SELECT t.seq, CASE WHEN t.debit_account = ${seq}::int8 THEN t.debit_prev ELSE t.credit_prev END AS prev,
                   1 AS n
            FROM transactions t WHERE t.seq = ${start}::int8
            UNION ALL
            SELECT t.seq, CASE WHEN t.debit_account = ${seq}::int8 THEN t.debit_prev ELSE t.credit_prev END,
                   w.n + 1
            FROM walk w JOIN transactions t ON t.seq = w.prev
            WHERE w.n < ${limit}
          )
          SELECT ${sql.unsafe(transactionColumns)}, w.prev AS "walkPrev"
          FROM walk w JOIN transactions t ON t.seq = w.seq ${sql.unsafe(transactionJoins)}
          ORDER BY w.n`
        const last = rows.at(-1)
        return {
          items: rows.map(transactionOf),
          next: last && last.walkPrev !== null ? String(last.seq) : undefined,
        }
      }),

    purgeIdempotencyKeys: (beforeMs) =>
      write(() => purgeIdempotencyKeys(sql, beforeMs, (work) => bound(work, 'a purge slice'))),

    /** Free while writes succeed; while they fail, each call tries one small write to see if they work again. */
    async writeProblem() {
      if (closed) return 'the ledger is closed'
      if (failing === undefined) return undefined
      try {
        await write(() => sql`UPDATE ledger_meta SET value = ${Date.now()}::int8 WHERE name = 'write_probe'`)
      } catch {
        // `failing` now says why.
      }
      return failing
    },

    verify: () => read(() => verifyPostgresLedger(sql, verifyTimeoutMs), verifyTimeoutMs + deadlineMarginMs),

    async close() {
      closed = true
      if (options.ownsPool) await sql.end({ timeout: 5 })
    },
  }
}
