import type postgres from 'postgres'
import type { Sql } from '../../db/postgres/connection'
import { BoundedMap } from '../../lib/bounded-map'
import {
  type Account,
  type CommandOf,
  maxAmount,
  type RefusalCode,
  storedRefusals,
  type Transaction,
  type TransactionKind,
} from '../engine'
import { commandText, creditsDeleted, type Job, type JobResult, sameMovement } from '../jobs'
import { isConflict, ledgerErrorOf } from './faults'
import {
  type AccountRow,
  accountOf,
  type Int8,
  type RefusalRow,
  type TransactionRow,
  transactionColumns,
  transactionJoins,
  transactionOf,
} from './rows'

// The PostgreSQL ledger's commands. Unlike SQLite's single writer, every replica writes, so nothing is
// decided from memory: each rule holds in the database at the moment of the write.
//
// - The overdraft guard and the balance limit are conditions of the UPDATE that moves the balance
//   (`WHERE balance BETWEEN low AND high`); zero rows updated is the refusal. Nothing is read first.
// - A transfer locks its two accounts in the order of their internal seq, so two transfers between the
//   same accounts in opposite directions queue instead of deadlocking; single-account commands take one
//   row lock and cannot be part of a cycle.
// - A transaction's number is taken (nextval) while it holds its accounts' locks, so each account's
//   chain of transactions grows in number order whichever replica writes.
// - An Idempotency-Key is claimed with a transaction-scoped advisory lock on (caller, key): a second
//   request with the key while the first runs, on any replica, answers idempotency-key-in-use at once
//   instead of holding a connection; once the first has committed, the key's row is found and replayed.
// - Serialization failures, deadlocks and lost unique races roll back whole and run again, a few times.

type Query = Sql | postgres.TransactionSql

/** An account's identity: fixed for ever (a trigger refuses changes), so replicas may cache it. */
interface Identity {
  seq: number
  id: string
  ownerId: string
  currency: string
}

/** The currency's external account: it has no owner, no stored balance and no chain. */
interface External {
  seq: number
  id: string
}

/** One side of a movement: a user account (guarded, chained) or its currency's external account. */
type Side = { user: Identity } | { external: External }

/** One leg of a posted transaction, as its row records it. */
interface Leg {
  seq: number
  id: string
  owner: string | null
  balance: Int8 | null
  prev: Int8 | null
}

interface Movement {
  kind: TransactionKind
  from: Side
  to: Side
  amount: number
  currency: string
  description: string | null
  original?: { seq: number; id: string }
}

interface KeyUse {
  kind: 't' | 'a' | 'r'
  seq: Int8 | null
  command: string | null
  code: RefusalCode | null
  detail: string | null
  requestId: string | null
}

/** Conflicts are rare and each attempt rolls back whole; past this many the caller gets 503. */
const maxAttempts = 5
/** Account identities cached per replica; they never change, so the cache is never stale. */
const maxCachedAccounts = 100_000

const refusal = (job: Job, code: RefusalCode, detail?: string): JobResult => ({
  ok: false,
  replayed: false,
  refusal: detail === undefined ? { code } : { code, detail },
  requestId: job.requestId,
})
const inUse: JobResult = { ok: false, replayed: false, refusal: { code: 'idempotency-key-in-use' } }

/** Text PostgreSQL cannot hold names no row: such an id is simply not found. */
const storable = (text: string) => !text.includes('\u0000')

/** A commit whose outcome is unknown: the connection went while COMMIT was on its way. */
class CommitFailed extends Error {
  constructor(readonly failure: unknown) {
    super('commit failed')
  }
}

export class LedgerCommands {
  readonly #identities = new BoundedMap<string, Identity>(maxCachedAccounts, 'use')
  readonly #externals = new Map<string, External>()

  constructor(private readonly sql: Sql) {}

  /** Runs one command to its answer; rejects only with LedgerUnavailableError or LedgerInputError. */
  async run(job: Job): Promise<JobResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(job)
      } catch (error) {
        const committing = error instanceof CommitFailed
        const cause = committing ? error.failure : error
        if (!committing && isConflict(cause) && attempt < maxAttempts) continue
        throw ledgerErrorOf(cause, committing)
      }
    }
  }

  #once(job: Job): Promise<JobResult> {
    const { command } = job
    switch (command.op) {
      case 'open-account':
        return this.#openAccount(job, command)
      case 'deposit':
      case 'withdrawal':
        return this.#depositOrWithdrawal(job, command)
      case 'transfer':
        return this.#transfer(job, command)
      case 'reversal':
        return this.#reversal(job, command)
    }
  }

  // ---- commands --------------------------------------------------------------------------------------

  async #openAccount(job: Job, command: CommandOf<'open-account'>): Promise<JobResult> {
    await this.#ensureExternal(command.currency)
    const open = (q: Query) => this.#insertAccount(q, job, command.currency)
    if (!job.key) return open(this.sql)
    return this.#keyed(job, open, async (use, tx) => {
      if (use.kind === 'r') return this.#replayRefusal(job, use)
      const opened = use.kind === 'a' ? await this.#accountBySeq(tx, Number(use.seq)) : undefined
      if (!opened || opened.currency !== command.currency) return refusal(job, 'idempotency-key-reused')
      // The answer it gave then: the account as it was opened.
      return { ok: true, replayed: true, account: { ...opened, balance: 0 } }
    })
  }

  async #depositOrWithdrawal(job: Job, command: CommandOf<'deposit' | 'withdrawal'>): Promise<JobResult> {
    const account = await this.#userAccount(command.accountId)
    if (account?.ownerId !== job.caller) return refusal(job, 'not-found', 'No such account.')
    const user = { user: account }
    const external = { external: await this.#externalOf(account.currency) }
    const movement: Movement = {
      kind: command.op,
      from: command.op === 'deposit' ? external : user,
      to: command.op === 'deposit' ? user : external,
      amount: command.amount,
      currency: account.currency,
      description: command.description ?? null,
    }
    return this.#move(
      job,
      movement,
      (stored) =>
        stored.kind === command.op &&
        stored.postings[command.op === 'deposit' ? 1 : 0].accountId === account.id &&
        sameMovement(stored, command),
    )
  }

  async #transfer(job: Job, command: CommandOf<'transfer'>): Promise<JobResult> {
    const from = await this.#userAccount(command.fromAccountId)
    if (from?.ownerId !== job.caller) return refusal(job, 'not-found', 'No such account.')
    // Not to a deleted user's account, where the money would be stuck. Checked again, locked, in the
    // transaction (#creditedOwnerDeletedMeanwhile): this early look keeps the refusal's precedence.
    const to = await this.#userAccount(command.toAccountId)
    if (!to || !(await this.#liveUser(to.ownerId))) {
      return refusal(job, 'destination-not-found', 'No such destination account.')
    }
    if (from.id === to.id) return refusal(job, 'same-account')
    if (from.currency !== to.currency) {
      return refusal(job, 'currency-mismatch', `${from.currency} cannot move into a ${to.currency} account.`)
    }
    const movement: Movement = {
      kind: 'transfer',
      from: { user: from },
      to: { user: to },
      amount: command.amount,
      currency: from.currency,
      description: command.description ?? null,
    }
    return this.#move(
      job,
      movement,
      (stored) =>
        stored.kind === 'transfer' &&
        stored.postings[0].accountId === from.id &&
        stored.postings[1].accountId === to.id &&
        sameMovement(stored, command),
    )
  }

  async #reversal(job: Job, command: CommandOf<'reversal'>): Promise<JobResult> {
    const found = storable(command.transactionId)
      ? await this.#transactionBy(this.sql, 'id', command.transactionId)
      : undefined
    if (!found) return refusal(job, 'not-found', 'No such transaction.')
    const original = found.transaction
    // The row's debit and credit legs (a reversal lists its postings credit first).
    const [first, second] = original.postings
    const [debit, credit] = original.kind === 'reversal' ? [second, first] : [first, second]
    // What was credited is debited back (guarded on a user account), and the other way round.
    const sideOf = async (posting: Transaction['postings'][number]): Promise<Side> =>
      posting.ownerId === null
        ? { external: await this.#externalOf(original.currency) }
        : { user: (await this.#userAccount(posting.accountId)) as Identity }
    const movement: Movement = {
      kind: 'reversal',
      from: await sideOf(credit),
      to: await sideOf(debit),
      amount: original.amount,
      currency: original.currency,
      description: `Reversal of ${original.id}`,
      original: { seq: found.seq, id: original.id },
    }
    return this.#move(
      job,
      movement,
      (stored) => stored.kind === 'reversal' && stored.reversesId === original.id,
      // Checked after the key's earlier use: a replayed reversal is reversed by itself. A reversal that
      // commits between this read and ours loses at the unique index and the command runs again.
      () => (original.kind === 'reversal' || found.reversed ? refusal(job, 'already-reversed') : undefined),
    )
  }

  /**
   * Posts a movement, or answers from the key's earlier use. A single-account movement without a key is
   * one statement (autocommit, one round trip); the rest run in a transaction.
   */
  #move(
    job: Job,
    movement: Movement,
    matches: (stored: Transaction) => boolean,
    precondition: () => JobResult | undefined = () => undefined,
  ): Promise<JobResult> {
    const betweenUsers = 'user' in movement.from && 'user' in movement.to
    const original = movement.original
    const post = async (q: Query) => {
      const refused =
        precondition() ??
        (original ? await this.#reversedMeanwhile(q, job, original.seq) : undefined) ??
        (betweenUsers ? await this.#creditedOwnerDeletedMeanwhile(q, job, movement) : undefined)
      if (refused) return this.#noteRefusal(q, job, refused)
      return betweenUsers ? this.#postBetweenUsers(q, job, movement) : this.#postOneSide(q, job, movement)
    }
    // A reversal always runs in a transaction: it holds its original's lock until it commits.
    if (!job.key && !betweenUsers && !original) return this.#autocommit(() => post(this.sql))
    return this.#keyed(job, post, async (use, tx) => {
      if (use.kind === 'r') return this.#replayRefusal(job, use)
      const stored =
        use.kind === 't' ? (await this.#transactionBy(tx, 'seq', Number(use.seq)))?.transaction : undefined
      if (!stored || !matches(stored)) return refusal(job, 'idempotency-key-reused')
      return { ok: true, replayed: true, transaction: stored }
    })
  }

  // ---- posting ---------------------------------------------------------------------------------------

  /**
   * A movement between a user account and the external account: one statement moves the balance under
   * its guard and inserts the row, or does neither. When it credits the user (a deposit, a withdrawal's
   * reversal) the same statement first holds the owner's row FOR SHARE and moves nothing if the owner is
   * deleted: the lock #creditedOwnerDeletedMeanwhile takes, without a round trip of its own.
   */
  async #postOneSide(q: Query, job: Job, m: Movement): Promise<JobResult> {
    const userIsDebit = 'user' in m.from
    const user = ('user' in m.from ? m.from.user : (m.to as { user: Identity }).user) as Identity
    const external = (
      'external' in m.from ? m.from.external : (m.to as { external: External }).external
    ) as External
    // Where the balance may be before: what keeps it within 0..2^53-1 after.
    const [low, high] = userIsDebit ? [m.amount, maxAmount] : [0, maxAmount - m.amount]
    const change = userIsDebit ? -m.amount : m.amount
    const id = Bun.randomUUIDv7()
    const createdAt = Date.now()
    const [row] = await q<{ seq: Int8 | null; balance: Int8; prev: Int8 | null; live: boolean }[]>`
      WITH live AS MATERIALIZED (
        SELECT 1 FROM users
        WHERE NOT ${userIsDebit}::bool AND id = ${user.ownerId} AND deleted_at IS NULL FOR SHARE
      ),
      moved AS (
        UPDATE accounts SET balance = balance + ${change}::int8, head_prev = head,
                            head = nextval('transactions_seq')
        WHERE seq = ${user.seq} AND balance BETWEEN ${low}::int8 AND ${high}::int8
          AND (${userIsDebit}::bool OR EXISTS (SELECT 1 FROM live))
        RETURNING seq, head, head_prev, balance
      ),
      posted AS (
        INSERT INTO transactions (seq, id, kind, amount, currency, debit_account, debit_balance, debit_prev,
                                  credit_account, credit_balance, credit_prev, description, reverses,
                                  created_by, created_at, idem_key)
        SELECT m.head, ${id}, ${m.kind}, ${m.amount}::int8, ${m.currency},
               CASE WHEN ${userIsDebit}::bool THEN m.seq ELSE ${external.seq}::int8 END,
               CASE WHEN ${userIsDebit}::bool THEN m.balance END,
               CASE WHEN ${userIsDebit}::bool THEN m.head_prev END,
               CASE WHEN ${userIsDebit}::bool THEN ${external.seq}::int8 ELSE m.seq END,
               CASE WHEN ${userIsDebit}::bool THEN NULL ELSE m.balance END,
               CASE WHEN ${userIsDebit}::bool THEN NULL ELSE m.head_prev END,
               ${m.description}, ${m.original?.seq ?? null}::int8, ${job.caller}, ${createdAt}::int8,
               ${job.key ?? null}
        FROM moved m
        RETURNING seq, coalesce(debit_balance, credit_balance) AS balance,
                  coalesce(debit_prev, credit_prev) AS prev
      )
      SELECT p.seq, p.balance, p.prev, ${userIsDebit}::bool OR EXISTS (SELECT 1 FROM live) AS live
      FROM (SELECT) AS one LEFT JOIN posted p ON true`
    if (!row?.live) return this.#creditsDeletedOwner(job, m, user)
    if (row.seq === null) {
      return this.#noteRefusal(
        q,
        job,
        userIsDebit ? this.#insufficientFunds(job, m, user) : refusal(job, 'balance-limit'),
      )
    }
    const userLeg = { seq: user.seq, id: user.id, owner: user.ownerId, balance: row.balance, prev: row.prev }
    const externalLeg = { seq: external.seq, id: external.id, owner: null, balance: null, prev: null }
    return this.#posted(
      job,
      m,
      id,
      row.seq,
      createdAt,
      userIsDebit ? [userLeg, externalLeg] : [externalLeg, userLeg],
    )
  }

  /**
   * A movement between two user accounts. Both rows are locked first, in seq order (no deadlock with a
   * transfer the other way), then one statement moves both balances under their guards and inserts the
   * row. The guards read the locked rows, so when the debit's guard fails nothing has moved at all.
   */
  async #postBetweenUsers(q: Query, job: Job, m: Movement): Promise<JobResult> {
    const from = (m.from as { user: Identity }).user
    const to = (m.to as { user: Identity }).user
    const locked = await q<{ seq: Int8; balance: Int8 }[]>`
      SELECT seq, balance FROM accounts WHERE seq IN (${from.seq}::int8, ${to.seq}::int8)
      ORDER BY seq FOR NO KEY UPDATE`
    const id = Bun.randomUUIDv7()
    const createdAt = Date.now()
    const [row] = await q<
      {
        seq: Int8
        debitBalance: Int8
        debitPrev: Int8 | null
        creditBalance: Int8
        creditPrev: Int8 | null
      }[]
    >`
      WITH n AS MATERIALIZED (SELECT nextval('transactions_seq') AS seq),
      debit AS (
        UPDATE accounts a SET balance = a.balance - ${m.amount}::int8, head_prev = a.head, head = n.seq
        FROM n
        WHERE a.seq = ${from.seq} AND a.balance >= ${m.amount}::int8
          AND (SELECT balance FROM accounts WHERE seq = ${to.seq}) <= ${maxAmount - m.amount}::int8
        RETURNING a.balance, a.head_prev
      ),
      credit AS (
        UPDATE accounts a SET balance = a.balance + ${m.amount}::int8, head_prev = a.head, head = n.seq
        FROM n, debit
        WHERE a.seq = ${to.seq}
        RETURNING a.balance, a.head_prev
      )
      INSERT INTO transactions (seq, id, kind, amount, currency, debit_account, debit_balance, debit_prev,
                                credit_account, credit_balance, credit_prev, description, reverses,
                                created_by, created_at, idem_key)
      SELECT n.seq, ${id}, ${m.kind}, ${m.amount}::int8, ${m.currency},
             ${from.seq}::int8, debit.balance, debit.head_prev, ${to.seq}::int8, credit.balance, credit.head_prev,
             ${m.description}, ${m.original?.seq ?? null}::int8, ${job.caller}, ${createdAt}::int8,
             ${job.key ?? null}
      FROM n, debit, credit
      RETURNING seq, debit_balance AS "debitBalance", debit_prev AS "debitPrev",
                credit_balance AS "creditBalance", credit_prev AS "creditPrev"`
    if (!row) {
      const fromBalance = Number(locked.find((r) => Number(r.seq) === from.seq)?.balance)
      return this.#noteRefusal(
        q,
        job,
        fromBalance < m.amount ? this.#insufficientFunds(job, m, from) : refusal(job, 'balance-limit'),
      )
    }
    return this.#posted(job, m, id, row.seq, createdAt, [
      { seq: from.seq, id: from.id, owner: from.ownerId, balance: row.debitBalance, prev: row.debitPrev },
      { seq: to.seq, id: to.id, owner: to.ownerId, balance: row.creditBalance, prev: row.creditPrev },
    ])
  }

  /**
   * Reversals of one transaction, on any replica, one at a time: each takes a lock on the original for
   * the rest of its transaction, then looks again. Without it, concurrent reversals all pass the check
   * made before, the first commits, and the others fail the balance guard instead: insufficient-funds
   * where SQLite (and the truth) says already-reversed.
   */
  async #reversedMeanwhile(q: Query, job: Job, originalSeq: number): Promise<JobResult | undefined> {
    await q`SELECT pg_advisory_xact_lock(hashtextextended(${`reversal\n${originalSeq}`}, 0))`
    // A statement of its own: under READ COMMITTED its snapshot is taken after the lock was granted, so
    // it sees the reversal that held the lock before us, committed.
    const [row] = await q<{ reversed: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM transactions WHERE reverses = ${originalSeq}::int8) AS reversed`
    return row?.reversed ? refusal(job, 'already-reversed') : undefined
  }

  /**
   * The credited user's liveness, inside the transaction and holding its row FOR SHARE until commit: a
   * user delete (users/postgres-repository.ts) takes that row FOR UPDATE before its guarded UPDATE, so
   * either it waits for this movement and then sees the money, or this waits for it and then sees the
   * user deleted. (FOR KEY SHARE would not do: the delete's UPDATE takes FOR NO KEY UPDATE.)
   */
  async #creditedOwnerDeletedMeanwhile(q: Query, job: Job, m: Movement): Promise<JobResult | undefined> {
    const to = (m.to as { user: Identity }).user
    const rows = await q`SELECT 1 FROM users WHERE id = ${to.ownerId} AND deleted_at IS NULL FOR SHARE`
    return rows.length > 0 ? undefined : this.#creditsDeletedOwner(job, m, to)
  }

  /** Money is not credited to a deleted user's account, where nobody could take it out again. */
  #creditsDeletedOwner(job: Job, m: Movement, to: Identity): JobResult {
    if (m.kind === 'deposit') return refusal(job, 'not-found', 'No such account.')
    if (m.kind === 'reversal') return refusal(job, 'destination-not-found', creditsDeleted(to.id))
    return refusal(job, 'destination-not-found', 'No such destination account.')
  }

  #insufficientFunds(job: Job, m: Movement, from: Identity): JobResult {
    return refusal(
      job,
      'insufficient-funds',
      m.kind === 'reversal'
        ? `Reversing would take account ${from.id} below zero.`
        : `The balance is below ${m.amount}.`,
    )
  }

  /** The posted transaction, rendered as a read of its row would render it. */
  #posted(
    job: Job,
    m: Movement,
    id: string,
    seq: Int8,
    createdAt: number,
    [debit, credit]: [Leg, Leg],
  ): JobResult {
    const row: TransactionRow = {
      seq,
      id,
      kind: m.kind,
      amount: m.amount,
      currency: m.currency,
      description: m.description,
      reversesId: m.original?.id ?? null,
      createdBy: job.caller,
      createdAt,
      debitSeq: debit.seq,
      debitId: debit.id,
      debitOwner: debit.owner,
      debitBalance: debit.balance,
      debitPrev: debit.prev,
      creditSeq: credit.seq,
      creditId: credit.id,
      creditOwner: credit.owner,
      creditBalance: credit.balance,
      creditPrev: credit.prev,
    }
    return { ok: true, replayed: false, transaction: transactionOf(row) }
  }

  /** A business refusal with a key is kept with it (in the transaction that holds the key). */
  async #noteRefusal(q: Query, job: Job, refused: JobResult): Promise<JobResult> {
    if (refused.ok || !job.key || !storedRefusals.has(refused.refusal.code)) return refused
    await q`
      INSERT INTO refused_commands (owner_id, idem_key, command, code, detail, request_id, created_at)
      VALUES (${job.caller}, ${job.key}, ${commandText(job.command)}, ${refused.refusal.code},
              ${refused.refusal.detail ?? null}, ${job.requestId ?? null}, ${Date.now()}::int8)`
    return refused
  }

  // ---- idempotency -----------------------------------------------------------------------------------

  /**
   * Runs `work` in a transaction that first claims the caller's key. Claimed and unused: `work` runs
   * with it. Used before: `replay` answers from that use. Claimed by a transaction still running: in use.
   * The claim and the lookup go in one round trip; the lookup is a later statement, so it sees whatever
   * committed before the claim was granted.
   */
  #keyed(
    job: Job,
    work: (tx: Query) => Promise<JobResult>,
    replay: (use: KeyUse, tx: Query) => Promise<JobResult>,
  ): Promise<JobResult> {
    return this.#transaction(async (tx) => {
      if (!job.key) return work(tx)
      const claim = tx<{ claimed: boolean }[]>`
        SELECT pg_try_advisory_xact_lock(hashtextextended(${`${job.caller}\n${job.key}`}, 0)) AS claimed`
      const lookup = tx<KeyUse[]>`
        SELECT 't' AS kind, seq, NULL AS command, NULL AS code, NULL AS detail, NULL AS "requestId"
        FROM transactions WHERE created_by = ${job.caller} AND idem_key = ${job.key}
        UNION ALL
        SELECT 'a', seq, NULL, NULL, NULL, NULL FROM accounts WHERE owner_id = ${job.caller} AND idem_key = ${job.key}
        UNION ALL
        SELECT 'r', NULL, command, code, detail, request_id FROM refused_commands
        WHERE owner_id = ${job.caller} AND idem_key = ${job.key}
        LIMIT 1`
      claim.execute()
      lookup.execute()
      const [[granted], [use]] = await Promise.all([claim, lookup])
      if (!granted?.claimed) return inUse
      return use ? replay(use, tx) : work(tx)
    })
  }

  #replayRefusal(job: Job, use: KeyUse): JobResult {
    const stored = use as unknown as RefusalRow
    // A refusal copied from a SQLite ledger that the 0003 release wrote kept no command to compare (see
    // `ledgerd copy`): it answers any command with its key, as it does on SQLite.
    if (stored.command !== null && stored.command !== commandText(job.command))
      return refusal(job, 'idempotency-key-reused')
    const refused =
      stored.detail === null ? { code: stored.code } : { code: stored.code, detail: stored.detail }
    return { ok: false, replayed: true, refusal: refused, requestId: stored.requestId ?? undefined }
  }

  // ---- transactions ----------------------------------------------------------------------------------

  /** sql.begin, telling a failure of COMMIT (outcome unknown) from one before it (rolled back). */
  async #transaction(work: (tx: Query) => Promise<JobResult>): Promise<JobResult> {
    let done = false
    try {
      return (await this.sql.begin(async (tx) => {
        const result = await work(tx)
        done = true
        return result
      })) as JobResult
    } catch (error) {
      throw done ? new CommitFailed(error) : error
    }
  }

  /** One autocommit statement: a failure that is not a clean conflict may have committed or not. */
  async #autocommit(work: () => Promise<JobResult>): Promise<JobResult> {
    try {
      return await work()
    } catch (error) {
      throw isConflict(error) ? error : new CommitFailed(error)
    }
  }

  // ---- accounts --------------------------------------------------------------------------------------

  async #insertAccount(q: Query, job: Job, currency: string): Promise<JobResult> {
    const account: Account = {
      id: Bun.randomUUIDv7(),
      ownerId: job.caller,
      currency,
      balance: 0,
      createdAt: Date.now(),
    }
    const [row] = await q<{ seq: Int8 }[]>`
      INSERT INTO accounts (id, owner_id, currency, balance, created_at, idem_key)
      VALUES (${account.id}, ${account.ownerId}, ${currency}, 0, ${account.createdAt}::int8, ${job.key ?? null})
      RETURNING seq`
    if (!row) throw new Error('INSERT ... RETURNING returned no row')
    return { ok: true, replayed: false, account }
  }

  /** The currency's external account, made with its first user account; replicas may race to make it. */
  async #ensureExternal(currency: string): Promise<void> {
    if (this.#externals.has(currency)) return
    await this.sql`
      INSERT INTO accounts (id, owner_id, currency, balance, created_at)
      VALUES (${Bun.randomUUIDv7()}, NULL, ${currency}, NULL, ${Date.now()}::int8)
      ON CONFLICT (currency) WHERE owner_id IS NULL DO NOTHING`
    await this.#externalOf(currency)
  }

  async #externalOf(currency: string): Promise<External> {
    const cached = this.#externals.get(currency)
    if (cached !== undefined) return cached
    const [row] = await this.sql<{ seq: Int8; id: string }[]>`
      SELECT seq, id FROM accounts WHERE currency = ${currency} AND owner_id IS NULL`
    if (!row) throw new Error(`no external account for ${currency}`)
    const external = { seq: Number(row.seq), id: row.id }
    this.#externals.set(currency, external)
    return external
  }

  async #userAccount(id: string): Promise<Identity | undefined> {
    const cached = this.#identities.get(id)
    if (cached) return cached
    if (!storable(id)) return undefined
    const [row] = await this.sql<{ seq: Int8; id: string; ownerId: string; currency: string }[]>`
      SELECT seq, id, owner_id AS "ownerId", currency FROM accounts WHERE id = ${id} AND owner_id IS NOT NULL`
    if (!row) return undefined
    const identity = { seq: Number(row.seq), id: row.id, ownerId: row.ownerId, currency: row.currency }
    this.#identities.set(id, identity)
    return identity
  }

  async #accountBySeq(q: Query, seq: number): Promise<Account | undefined> {
    const [row] = await q<AccountRow[]>`
      SELECT seq, id, owner_id AS "ownerId", currency, balance, created_at AS "createdAt"
      FROM accounts WHERE seq = ${seq}`
    return row && accountOf(row)
  }

  async #liveUser(id: string): Promise<boolean> {
    const rows = await this.sql`SELECT 1 FROM users WHERE id = ${id} AND deleted_at IS NULL`
    return rows.length > 0
  }

  async #transactionBy(
    q: Query,
    column: 'id' | 'seq',
    value: string | number,
  ): Promise<{ transaction: Transaction; seq: number; reversed: boolean } | undefined> {
    const [row] = await q<(TransactionRow & { reversed: boolean })[]>`
      SELECT ${this.sql.unsafe(transactionColumns)},
             EXISTS (SELECT 1 FROM transactions x WHERE x.reverses = t.seq) AS reversed
      FROM transactions t ${this.sql.unsafe(transactionJoins)}
      WHERE ${column === 'id' ? this.sql`t.id = ${value}` : this.sql`t.seq = ${value}::int8`}`
    return row && { transaction: transactionOf(row), seq: Number(row.seq), reversed: row.reversed }
  }
}
