import type { SqliteConnection } from '../../db/sqlite'
import { BoundedMap } from '../../lib/bounded-map'
import {
  type Account,
  type CommandOf,
  maxAmount,
  type Refusal,
  type RefusalCode,
  storedRefusals,
  type Transaction,
  type TransactionKind,
} from '../engine'
import { commandText, creditsDeleted, type Job, type JobResult, sameMovement } from '../jobs'
import { accountColumns, type TransactionRow, transactionOf, transactionSelect } from './rows'

// The SQLite ledger's single writer. It keeps every balance it has touched in memory and decides each
// command there (the overdraft guard, the balance limits, "reversed once") before it writes a row, so a
// batch needs no savepoints: a batch commits whole or fails whole, and after a failure the writer
// forgets what it held and reloads from the database. This is only sound while it is the database's
// only writer: `ledgerd serve` holds the data dir's lock (NOTES.md, "The ledger").

/**
 * A batch that did not commit. `clean`: nothing of it is in the database (disk full, read-only volume,
 * or a failure before COMMIT); the writer can go on. `unknown`: COMMIT itself failed in a way that may
 * have left it durable; the writer must not go on guessing (the process exits and restarts from disk).
 */
export class BatchFailure extends Error {
  constructor(
    readonly outcome: 'clean' | 'unknown',
    readonly reason: string,
  ) {
    super(reason)
    this.name = 'BatchFailure'
  }
}

// SQLite's signed 64-bit INTEGER: the range of an external account's balance.
const int64Min = -(2n ** 63n)
const int64Max = 2n ** 63n - 1n

interface UserAccountState {
  seq: number
  id: string
  ownerId: string
  currency: string
  balance: number
  /** The account's newest transaction: the next one links back to it. */
  head: number | null
  createdAt: number
}

interface ExternalAccountState {
  seq: number
  id: string
  currency: string
  balance: bigint
}

type Side = { user: UserAccountState } | { external: ExternalAccountState }

type KeyUse =
  | { transaction: Transaction }
  | { account: Account }
  | { refused: Extract<JobResult, { ok: false }> }

/** Failures of COMMIT that leave nothing durable: SQLite rolled the transaction back. */
function commitFailedCleanly(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '')
  return code === 'SQLITE_FULL' || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_BUSY')
}

const reasonOf = (error: unknown) => {
  const code = (error as { code?: unknown }).code
  const message = error instanceof Error ? error.message : String(error)
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message
}

class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.code)
  }
}

const refuse = (code: RefusalCode, detail?: string): never => {
  throw new Refused(detail === undefined ? { code } : { code, detail })
}

/**
 * Accounts kept in memory at most; the least recently used are dropped. An account a batch touches is
 * among the most recently used, so it is never dropped mid-batch (batches are far smaller: see
 * maxBatchJobs in engine.ts).
 */
const maxCachedAccounts = 100_000

export class LedgerWriterCore {
  readonly #accounts = new BoundedMap<string, UserAccountState>(maxCachedAccounts, 'use')
  readonly #external = new Map<string, ExternalAccountState>()
  readonly #dirty = new Set<UserAccountState>()
  readonly #dirtyExternal = new Set<ExternalAccountState>()
  /** Owners found live in the running transaction: none can be deleted before it commits. */
  readonly #liveOwners = new Set<string>()
  #nextAccountSeq = 0
  #nextTransactionSeq = 0

  readonly #sql

  constructor(db: SqliteConnection) {
    const s = (sql: string) => db.statement(sql)
    this.#sql = {
      begin: db.prepared('BEGIN IMMEDIATE'),
      commit: db.prepared('COMMIT'),
      rollback: db.prepared('ROLLBACK'),
      maxAccountSeq: s('SELECT coalesce(max(seq), 0) AS seq FROM accounts'),
      maxTransactionSeq: s('SELECT coalesce(max(seq), 0) AS seq FROM transactions'),
      userAccountById: s(
        `SELECT seq, id, owner_id AS ownerId, currency, balance, head, created_at AS createdAt
         FROM accounts WHERE id = ? AND owner_id IS NOT NULL`,
      ),
      // As text: an external balance may pass 2^53, where a JavaScript number stops being exact.
      externalAccount: s(
        'SELECT seq, id, CAST(balance AS TEXT) AS balance FROM accounts WHERE currency = ? AND owner_id IS NULL',
      ),
      insertAccount: s(
        `INSERT INTO accounts (seq, id, owner_id, currency, balance, head, created_at, idem_key)
         VALUES (?, ?, ?, ?, 0, NULL, ?, ?)`,
      ),
      updateUserAccount: s('UPDATE accounts SET balance = ?, head = ? WHERE seq = ?'),
      updateExternalAccount: s('UPDATE accounts SET balance = ? WHERE seq = ?'),
      insertTransaction: s(
        `INSERT INTO transactions (seq, id, kind, amount, currency, debit_account, debit_balance, debit_prev,
           credit_account, credit_balance, credit_prev, description, reverses, created_by, created_at, idem_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      originalForReversal: s(
        `SELECT t.seq, t.id, t.kind, t.amount, t.currency,
                d.id AS debitId, d.owner_id IS NULL AS debitExternal,
                c.id AS creditId, c.owner_id IS NULL AS creditExternal,
                EXISTS (SELECT 1 FROM transactions r WHERE r.reverses = t.seq) AS reversed
         FROM transactions t
         JOIN accounts d ON d.seq = t.debit_account JOIN accounts c ON c.seq = t.credit_account
         WHERE t.id = ?`,
      ),
      liveUser: s('SELECT 1 AS live FROM users WHERE id = ? AND deleted_at IS NULL'),
      // One statement, three index probes: a key is the caller's across accounts, transactions and refusals.
      keyUse: s(
        `SELECT 't' AS kind, seq FROM transactions WHERE created_by = ? AND idem_key = ?
         UNION ALL SELECT 'a', seq FROM accounts WHERE owner_id = ? AND idem_key = ?
         UNION ALL SELECT 'r', rowid FROM refused_commands WHERE owner_id = ? AND idem_key = ?
         LIMIT 1`,
      ),
      transactionBySeq: s(`${transactionSelect} WHERE t.seq = ?`),
      accountBySeq: s(`SELECT ${accountColumns} FROM accounts WHERE seq = ?`),
      refusalByRowid: s(
        'SELECT command, code, detail, request_id AS requestId FROM refused_commands WHERE rowid = ?',
      ),
      insertRefusal: s(
        `INSERT INTO refused_commands (owner_id, idem_key, command, code, detail, request_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      meta: s('SELECT value FROM ledger_meta WHERE name = ?'),
      setMeta: s('UPDATE ledger_meta SET value = ? WHERE name = ?'),
      transactionsFrom: s(
        `SELECT seq, created_at AS createdAt, idem_key IS NOT NULL AS keyed FROM transactions
         WHERE seq > ? ORDER BY seq LIMIT ?`,
      ),
      forgetTransactionKey: s('UPDATE transactions SET idem_key = NULL WHERE seq = ?'),
      forgetAccountKeys: s(
        `UPDATE accounts SET idem_key = NULL WHERE seq IN (
           SELECT seq FROM accounts WHERE idem_key IS NOT NULL AND created_at < ? LIMIT ?)`,
      ),
      forgetRefusals: s(
        `DELETE FROM refused_commands WHERE rowid IN (
           SELECT rowid FROM refused_commands WHERE created_at < ? LIMIT ?)`,
      ),
    }
    this.#reload()
  }

  /**
   * Runs the jobs as one transaction with one fsync. Every job gets its answer (a refusal is an answer);
   * a failure to commit throws a BatchFailure and leaves the writer as if the batch never ran.
   */
  runBatch(jobs: readonly Job[]): JobResult[] {
    return this.#inTransaction(() => {
      const results = jobs.map((job) => this.#run(job))
      this.#writeBalances()
      return results
    })
  }

  /** A small commit that proves writes work again (readiness, after a failed commit). */
  probeWrite(): void {
    this.#inTransaction(() => this.#sql.setMeta.run(Date.now(), 'write_probe'))
  }

  /**
   * Forgets up to `slice` Idempotency-Keys used before `beforeMs`, oldest first, in one short commit, so
   * that purging never holds the writer for long. Returns how many were forgotten and whether it is done.
   */
  purgeSlice(beforeMs: number, slice: number): { purged: number; done: boolean } {
    return this.#inTransaction(() => {
      const from = this.#sql.meta.get<{ value: number }>('purged_through')?.value ?? 0
      const rows = this.#sql.transactionsFrom.all<{ seq: number; createdAt: number; keyed: number }>(
        from,
        slice,
      )
      let through = from
      let purged = 0
      let done = rows.length < slice
      for (const row of rows) {
        if (row.createdAt >= beforeMs) {
          done = true
          break
        }
        through = row.seq
        if (row.keyed) {
          this.#sql.forgetTransactionKey.run(row.seq)
          purged++
        }
      }
      if (through !== from) this.#sql.setMeta.run(through, 'purged_through')
      // Account openings and refusals are few next to transactions: a slice each is plenty.
      this.#sql.forgetAccountKeys.run(beforeMs, slice)
      this.#sql.forgetRefusals.run(beforeMs, slice)
      return { purged, done }
    })
  }

  #inTransaction<T>(work: () => T): T {
    let committing = false
    this.#liveOwners.clear()
    try {
      this.#sql.begin()
      const result = work()
      committing = true
      this.#sql.commit()
      return result
    } catch (error) {
      const unknown = committing && !commitFailedCleanly(error)
      try {
        this.#sql.rollback()
      } catch {
        // COMMIT that failed cleanly has rolled back already; there is nothing to undo.
      }
      this.#reload()
      throw new BatchFailure(unknown ? 'unknown' : 'clean', reasonOf(error))
    }
  }

  /** Forget everything held in memory: the database is the truth after a failed batch. */
  #reload(): void {
    this.#accounts.clear()
    this.#external.clear()
    this.#dirty.clear()
    this.#dirtyExternal.clear()
    this.#nextAccountSeq = (this.#sql.maxAccountSeq.get<{ seq: number }>()?.seq ?? 0) + 1
    this.#nextTransactionSeq = (this.#sql.maxTransactionSeq.get<{ seq: number }>()?.seq ?? 0) + 1
  }

  #writeBalances(): void {
    for (const account of this.#dirty) {
      this.#sql.updateUserAccount.run(account.balance, account.head, account.seq)
    }
    for (const external of this.#dirtyExternal) {
      this.#sql.updateExternalAccount.run(external.balance, external.seq)
    }
    this.#dirty.clear()
    this.#dirtyExternal.clear()
  }

  #run(job: Job): JobResult {
    try {
      switch (job.command.op) {
        case 'open-account':
          return this.#openAccount(job, job.command)
        case 'deposit':
        case 'withdrawal':
          return this.#depositOrWithdrawal(job, job.command)
        case 'transfer':
          return this.#transfer(job, job.command)
        case 'reversal':
          return this.#reversal(job, job.command)
      }
    } catch (error) {
      if (!(error instanceof Refused)) throw error
      const { refusal } = error
      if (job.key && storedRefusals.has(refusal.code)) {
        this.#sql.insertRefusal.run(
          job.caller,
          job.key,
          commandText(job.command),
          refusal.code,
          refusal.detail ?? null,
          job.requestId ?? null,
          Date.now(),
        )
      }
      return { ok: false, replayed: false, refusal, requestId: job.requestId }
    }
  }

  // ---- commands --------------------------------------------------------------------------------------

  #openAccount(job: Job, command: CommandOf<'open-account'>): JobResult {
    const use = this.#keyUse(job)
    if (use && 'refused' in use) return use.refused
    if (use) {
      if (!('account' in use) || use.account.currency !== command.currency) refuse('idempotency-key-reused')
      // The answer it gave then: the account as it was opened.
      return { ok: true, replayed: true, account: { ...(use as { account: Account }).account, balance: 0 } }
    }
    this.#externalAccount(command.currency)
    const account: UserAccountState = {
      seq: this.#nextAccountSeq++,
      id: Bun.randomUUIDv7(),
      ownerId: job.caller,
      currency: command.currency,
      balance: 0,
      head: null,
      createdAt: Date.now(),
    }
    this.#sql.insertAccount.run(
      account.seq,
      account.id,
      account.ownerId,
      account.currency,
      account.createdAt,
      job.key ?? null,
    )
    this.#remember(account)
    return { ok: true, replayed: false, account: accountOf(account) }
  }

  #depositOrWithdrawal(job: Job, command: CommandOf<'deposit' | 'withdrawal'>): JobResult {
    const account = this.#userAccount(command.accountId)
    if (account?.ownerId !== job.caller) return refuse('not-found', 'No such account.')
    const replay = this.#replayTransaction(
      job,
      (stored) =>
        stored.kind === command.op &&
        stored.postings[command.op === 'deposit' ? 1 : 0].accountId === account.id &&
        sameMovement(stored, command),
    )
    if (replay) return replay
    // The owner's own request, authenticated before the owner was deleted, must not strand money.
    if (command.op === 'deposit' && !this.#liveOwner(account)) return refuse('not-found', 'No such account.')
    const external = { external: this.#externalAccount(account.currency) }
    const user = { user: account }
    return command.op === 'deposit'
      ? this.#post(job, 'deposit', external, user, command.amount, command.description)
      : this.#post(job, 'withdrawal', user, external, command.amount, command.description)
  }

  #transfer(job: Job, command: CommandOf<'transfer'>): JobResult {
    const from = this.#userAccount(command.fromAccountId)
    if (from?.ownerId !== job.caller) return refuse('not-found', 'No such account.')
    // Not to a deleted user's account, where the money would be stuck.
    const to = this.#userAccount(command.toAccountId)
    if (!to || !this.#liveOwner(to)) {
      return refuse('destination-not-found', 'No such destination account.')
    }
    if (from.id === to.id) refuse('same-account')
    if (from.currency !== to.currency) {
      refuse('currency-mismatch', `${from.currency} cannot move into a ${to.currency} account.`)
    }
    const replay = this.#replayTransaction(
      job,
      (stored) =>
        stored.kind === 'transfer' &&
        stored.postings[0].accountId === from.id &&
        stored.postings[1].accountId === to.id &&
        sameMovement(stored, command),
    )
    if (replay) return replay
    return this.#post(job, 'transfer', { user: from }, { user: to }, command.amount, command.description)
  }

  #reversal(job: Job, command: CommandOf<'reversal'>): JobResult {
    const original = this.#sql.originalForReversal.get<{
      seq: number
      id: string
      kind: TransactionKind
      amount: number
      currency: string
      debitId: string
      debitExternal: number
      creditId: string
      creditExternal: number
      reversed: number
    }>(command.transactionId)
    if (!original) return refuse('not-found', 'No such transaction.')
    const replay = this.#replayTransaction(
      job,
      (stored) => stored.kind === 'reversal' && stored.reversesId === original.id,
    )
    if (replay) return replay
    if (original.kind === 'reversal' || original.reversed) refuse('already-reversed')
    // What was credited is debited back (guarded on a user account), and the other way round.
    const sideOf = (id: string, external: number): Side =>
      external
        ? { external: this.#externalAccount(original.currency) }
        : { user: this.#userAccount(id) as UserAccountState }
    const from = sideOf(original.creditId, original.creditExternal)
    const to = sideOf(original.debitId, original.debitExternal)
    if ('user' in to && !this.#liveOwner(to.user)) {
      return refuse('destination-not-found', creditsDeleted(to.user.id))
    }
    return this.#post(job, 'reversal', from, to, original.amount, `Reversal of ${original.id}`, original)
  }

  /**
   * Moves `amount` from one side to the other, decided in memory first: a refusal leaves no trace but its
   * own record. Then one row records both legs.
   */
  #post(
    job: Job,
    kind: TransactionKind,
    from: Side,
    to: Side,
    amount: number,
    description: string | undefined,
    original?: { seq: number; id: string },
  ): JobResult {
    // Check both sides before changing either.
    if ('user' in from && from.user.balance < amount) {
      refuse(
        'insufficient-funds',
        kind === 'reversal'
          ? `Reversing would take account ${from.user.id} below zero.`
          : `The balance is below ${amount}.`,
      )
    }
    if ('external' in from && from.external.balance - BigInt(amount) < int64Min) refuse('balance-limit')
    if ('user' in to && to.user.balance > maxAmount - amount) refuse('balance-limit')
    if ('external' in to && to.external.balance + BigInt(amount) > int64Max) refuse('balance-limit')

    const seq = this.#nextTransactionSeq++
    const createdAt = Date.now()
    const debit = this.#apply(from, -amount, seq)
    const credit = this.#apply(to, amount, seq)
    const id = Bun.randomUUIDv7()
    this.#sql.insertTransaction.run(
      seq,
      id,
      kind,
      amount,
      debit.currency,
      debit.seq,
      debit.balanceAfter,
      debit.prev,
      credit.seq,
      credit.balanceAfter,
      credit.prev,
      description ?? null,
      original?.seq ?? null,
      job.caller,
      createdAt,
      job.key ?? null,
    )
    const transaction = transactionOf({
      seq,
      id,
      kind,
      amount,
      currency: debit.currency,
      description: description ?? null,
      reversesId: original?.id ?? null,
      createdBy: job.caller,
      createdAt,
      debitSeq: debit.seq,
      debitId: debit.id,
      debitOwner: debit.ownerId,
      debitBalance: debit.balanceAfter,
      debitPrev: debit.prev,
      creditSeq: credit.seq,
      creditId: credit.id,
      creditOwner: credit.ownerId,
      creditBalance: credit.balanceAfter,
      creditPrev: credit.prev,
    })
    return { ok: true, replayed: false, transaction }
  }

  /** Applies a signed change to one side in memory; what its leg of the row records. */
  #apply(side: Side, change: number, seq: number) {
    if ('external' in side) {
      const { external } = side
      external.balance += BigInt(change)
      this.#dirtyExternal.add(external)
      return {
        seq: external.seq,
        id: external.id,
        ownerId: null,
        currency: external.currency,
        balanceAfter: null,
        prev: null,
      }
    }
    const { user } = side
    const prev = user.head
    user.balance += change
    user.head = seq
    this.#dirty.add(user)
    return {
      seq: user.seq,
      id: user.id,
      ownerId: user.ownerId,
      currency: user.currency,
      balanceAfter: user.balance,
      prev,
    }
  }

  // ---- idempotency -----------------------------------------------------------------------------------

  /**
   * What the caller's key was used for before, if it was: a transaction, an account opening, or a stored
   * refusal. A refusal is compared here (its command was stored as text); the callers compare the others
   * with the command, whose content is its fingerprint.
   */
  #keyUse(job: Job): KeyUse | undefined {
    if (!job.key) return undefined
    const { caller, key } = job
    const use = this.#sql.keyUse.get<{ kind: 't' | 'a' | 'r'; seq: number }>(
      caller,
      key,
      caller,
      key,
      caller,
      key,
    )
    if (!use) return undefined
    if (use.kind === 't') {
      return {
        transaction: transactionOf(this.#sql.transactionBySeq.get<TransactionRow>(use.seq) as TransactionRow),
      }
    }
    if (use.kind === 'a') return { account: this.#sql.accountBySeq.get<Account>(use.seq) as Account }
    const stored = this.#sql.refusalByRowid.get<{
      command: string | null
      code: RefusalCode
      detail: string | null
      requestId: string | null
    }>(use.seq) as {
      command: string | null
      code: RefusalCode
      detail: string | null
      requestId: string | null
    }
    // A refusal recorded before 0004 kept no command to compare: it answers any command with its key.
    if (stored.command !== null && stored.command !== commandText(job.command))
      refuse('idempotency-key-reused')
    const refusal =
      stored.detail === null ? { code: stored.code } : { code: stored.code, detail: stored.detail }
    return { refused: { ok: false, replayed: true, refusal, requestId: stored.requestId ?? undefined } }
  }

  /** The stored answer when the key was used for this very transaction; a refusal when for another. */
  #replayTransaction(job: Job, matches: (stored: Transaction) => boolean): JobResult | undefined {
    const use = this.#keyUse(job)
    if (!use) return undefined
    if ('refused' in use) return use.refused
    if ('transaction' in use && matches(use.transaction)) {
      return { ok: true, replayed: true, transaction: use.transaction }
    }
    return refuse('idempotency-key-reused')
  }

  // ---- state -----------------------------------------------------------------------------------------

  /**
   * Whether the account's owner is not deleted, read inside the write: a user delete takes the same
   * database lock, so whichever commits second sees the other (it refuses while the user holds money).
   * Read once per owner and transaction: a batch's deposits are mostly a few users'.
   */
  #liveOwner(account: UserAccountState): boolean {
    if (this.#liveOwners.has(account.ownerId)) return true
    const live = Boolean(this.#sql.liveUser.get(account.ownerId))
    if (live) this.#liveOwners.add(account.ownerId)
    return live
  }

  #remember(account: UserAccountState): UserAccountState {
    this.#accounts.set(account.id, account)
    return account
  }

  #userAccount(id: string): UserAccountState | undefined {
    const cached = this.#accounts.get(id)
    if (cached) return cached
    const row = this.#sql.userAccountById.get<UserAccountState>(id)
    return row && this.#remember(row)
  }

  /** The currency's external account, created with the currency's first user account. */
  #externalAccount(currency: string): ExternalAccountState {
    const cached = this.#external.get(currency)
    if (cached) return cached
    const row = this.#sql.externalAccount.get<{ seq: number; id: string; balance: string }>(currency)
    const external = row
      ? { seq: row.seq, id: row.id, currency, balance: BigInt(row.balance) }
      : this.#insertExternal(currency)
    this.#external.set(currency, external)
    return external
  }

  #insertExternal(currency: string): ExternalAccountState {
    const external = { seq: this.#nextAccountSeq++, id: Bun.randomUUIDv7(), currency, balance: 0n }
    this.#sql.insertAccount.run(external.seq, external.id, null, currency, Date.now(), null)
    return external
  }
}

function accountOf(state: UserAccountState): Account {
  return {
    id: state.id,
    ownerId: state.ownerId,
    currency: state.currency,
    balance: state.balance,
    createdAt: state.createdAt,
  }
}
