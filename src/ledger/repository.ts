import type { SqliteConnection } from '../db/sqlite'

export const maxAmount = Number.MAX_SAFE_INTEGER

export interface Account {
  id: string
  ownerId: string | null
  kind: 'user' | 'external'
  currency: string
  balance: number
  createdAt: string
}

/** What never changes about an account: safe to cache. */
export type AccountIdentity = Pick<Account, 'id' | 'ownerId' | 'kind' | 'currency'>

export type TransactionKind = 'deposit' | 'withdrawal' | 'transfer' | 'reversal'

export interface Posting {
  accountId: string
  amount: number
  balanceAfter: number
}

export interface Transaction {
  id: string
  kind: TransactionKind
  amount: number
  currency: string
  description: string | null
  reversesId: string | null
  createdBy: string
  createdAt: string
  postings: Posting[]
}

export interface StoredResponse {
  fingerprint: string
  status: number
  response: string
}

const accountColumns = 'id, owner_id AS ownerId, kind, currency, balance, created_at AS createdAt'
const transactionColumns =
  'id, kind, amount, currency, description, reverses_id AS reversesId, created_by AS createdBy, created_at AS createdAt'

/**
 * All ledger SQL, prepared once, as plain SQL with positional parameters: this is the hot path, and
 * drizzle's per-call placeholder and row mapping cost about a tenth of a write. Reads are async (the
 * seam for another database); the write methods are synchronous because they run inside a group-commit
 * batch, which must not yield mid-transaction.
 */
export function sqliteLedgerRepository(db: SqliteConnection) {
  const accountById = db.statement(`SELECT ${accountColumns} FROM accounts WHERE id = ?`)
  const liveUserAccount = db.statement(
    `SELECT accounts.id, owner_id AS ownerId, kind, currency, balance, accounts.created_at AS createdAt
     FROM accounts JOIN users ON users.id = accounts.owner_id
     WHERE accounts.id = ? AND users.deleted_at IS NULL`,
  )
  const accountsOfOwner = db.statement(
    `SELECT ${accountColumns} FROM accounts WHERE owner_id = ? AND id > ? ORDER BY id LIMIT ?`,
  )
  const externalAccount = db.statement(
    `SELECT ${accountColumns} FROM accounts WHERE currency = ? AND owner_id IS NULL`,
  )
  const insertAccount = db.statement(
    `INSERT INTO accounts (id, owner_id, kind, currency, balance, created_at) VALUES (?, ?, ?, ?, 0, ?)
     ON CONFLICT DO NOTHING RETURNING ${accountColumns}`,
  )
  // The guards are conditions of the UPDATE itself, never a read followed by a write: two withdrawals
  // cannot both see the same balance. Balances stay within 2^53-1 so they are exact as JSON numbers.
  const debitNotBelowZero = db.statement(
    'UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ? RETURNING balance',
  )
  const debitExternal = db.statement(
    `UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ? - ${maxAmount} RETURNING balance`,
  )
  const credit = db.statement(
    `UPDATE accounts SET balance = balance + ? WHERE id = ? AND balance <= ${maxAmount} - ? RETURNING balance`,
  )
  const insertTransaction = db.statement(
    `INSERT INTO transactions (id, kind, amount, currency, description, reverses_id, created_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const insertPosting = db.statement(
    'INSERT INTO postings (transaction_id, account_id, amount, balance_after) VALUES (?, ?, ?, ?)',
  )
  const transactionById = db.statement(`SELECT ${transactionColumns} FROM transactions WHERE id = ?`)
  const reversalOf = db.statement('SELECT id FROM transactions WHERE reverses_id = ?')
  const postingsOf = db.statement(
    `SELECT account_id AS accountId, amount, balance_after AS balanceAfter FROM postings
     WHERE transaction_id = ? ORDER BY id`,
  )
  const historyPage = db.statement(
    `SELECT id AS postingId, transaction_id AS transactionId FROM postings
     WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
  )
  const storedResponse = db.statement(
    'SELECT fingerprint, status, response FROM idempotency_keys WHERE owner_id = ? AND key = ?',
  )
  const storeResponse = db.statement(
    `INSERT INTO idempotency_keys (owner_id, key, fingerprint, status, response, transaction_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  )
  const purgeResponses = db.statement('DELETE FROM idempotency_keys WHERE created_at < ? RETURNING key')

  // An account's owner, kind and currency never change and accounts are never deleted, so they are cached
  // (bounded); every deposit and withdrawal checks ownership, and a read outside a transaction is costly.
  const identities = new Map<string, AccountIdentity>()
  const maxIdentities = 100_000

  // External accounts never change identity once committed; the cache saves a query on every deposit and
  // withdrawal. Cleared when a batch fails to commit, since it may then hold a row that was rolled back.
  const externalAccounts = new Map<string, Account>()

  const transactionWithPostings = (id: string): Transaction | undefined => {
    const row = transactionById.get<Omit<Transaction, 'postings'>>(id)
    return row && { ...row, postings: postingsOf.all<Posting>(id) }
  }

  return {
    async findAccount(id: string) {
      return accountById.get<Account>(id)
    },
    async accountIdentity(id: string): Promise<AccountIdentity | undefined> {
      const cached = identities.get(id)
      if (cached) return cached
      const row = accountById.get<Account>(id)
      if (!row) return undefined
      const identity = { id: row.id, ownerId: row.ownerId, kind: row.kind, currency: row.currency }
      if (identities.size >= maxIdentities) identities.delete(identities.keys().next().value as string)
      identities.set(id, identity)
      return identity
    },
    /** A user account whose owner has not been deleted. */
    async findLiveUserAccount(id: string) {
      return liveUserAccount.get<Account>(id)
    },
    async listAccounts(ownerId: string, after: string | undefined, limit: number) {
      return accountsOfOwner.all<Account>(ownerId, after ?? '', limit)
    },
    async findTransaction(id: string) {
      return transactionWithPostings(id)
    },
    /** An account's transactions, newest first, before the given posting id (keyset, stable under inserts). */
    async history(accountId: string, beforePostingId: number | undefined, limit: number) {
      const page = historyPage.all<{ postingId: number; transactionId: string }>(
        accountId,
        beforePostingId ?? Number.MAX_SAFE_INTEGER,
        limit,
      )
      return page.map((row) => ({
        postingId: row.postingId,
        transaction: transactionWithPostings(row.transactionId) as Transaction,
      }))
    },
    purgeResponses(before: string) {
      return purgeResponses.all(before).length
    },

    // Writes: call only inside a GroupCommit job.
    write: {
      insertAccount(account: Omit<Account, 'balance' | 'createdAt'>, now: string) {
        return insertAccount.get<Account>(account.id, account.ownerId, account.kind, account.currency, now)
      },
      externalAccount(currency: string, now: string): Account {
        const cached = externalAccounts.get(currency)
        if (cached) return cached
        const existing = externalAccount.get<Account>(currency)
        if (existing) {
          externalAccounts.set(currency, existing)
          return existing
        }
        insertAccount.get(Bun.randomUUIDv7(), null, 'external', currency, now)
        return externalAccount.get<Account>(currency) as Account
      },
      forgetCached() {
        externalAccounts.clear()
      },
      /** New balance, or undefined if the debit would take a user account below zero. */
      debit(account: Pick<AccountIdentity, 'id' | 'kind'>, amount: number) {
        const guard = account.kind === 'external' ? debitExternal : debitNotBelowZero
        return guard.get<{ balance: number }>(amount, account.id, amount)?.balance
      },
      /** New balance, or undefined if it would pass 2^53-1. */
      credit(accountId: string, amount: number) {
        return credit.get<{ balance: number }>(amount, accountId, amount)?.balance
      },
      insertTransaction(transaction: Omit<Transaction, 'postings'>) {
        insertTransaction.run(
          transaction.id,
          transaction.kind,
          transaction.amount,
          transaction.currency,
          transaction.description,
          transaction.reversesId,
          transaction.createdBy,
          transaction.createdAt,
        )
      },
      insertPosting(transactionId: string, posting: Posting) {
        insertPosting.run(transactionId, posting.accountId, posting.amount, posting.balanceAfter)
      },
      account(id: string) {
        return accountById.get<Account>(id)
      },
      isReversed(transactionId: string) {
        return reversalOf.get(transactionId) !== undefined
      },
      transaction: transactionWithPostings,
      storedResponse(ownerId: string, key: string) {
        return storedResponse.get<StoredResponse>(ownerId, key)
      },
      storeResponse(
        entry: { ownerId: string; key: string; transactionId: string | null; now: string } & StoredResponse,
      ) {
        storeResponse.run(
          entry.ownerId,
          entry.key,
          entry.fingerprint,
          entry.status,
          entry.response,
          entry.transactionId,
          entry.now,
        )
      },
    },
  }
}

export type LedgerRepository = ReturnType<typeof sqliteLedgerRepository>
