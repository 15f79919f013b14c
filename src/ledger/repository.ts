import { and, asc, desc, eq, gt, gte, isNull, lt, lte, sql } from 'drizzle-orm'
import { accounts, idempotencyKeys, postings, transactions, users } from '../db/schema'
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

const accountColumns = {
  id: accounts.id,
  ownerId: accounts.ownerId,
  kind: accounts.kind,
  currency: accounts.currency,
  balance: accounts.balance,
  createdAt: accounts.createdAt,
}

const transactionColumns = {
  id: transactions.id,
  kind: transactions.kind,
  amount: transactions.amount,
  currency: transactions.currency,
  description: transactions.description,
  reversesId: transactions.reversesId,
  createdBy: transactions.createdBy,
  createdAt: transactions.createdAt,
}

/**
 * All ledger SQL, prepared once. Reads are async (the seam for another database); the write methods are
 * synchronous because they run inside a group-commit batch, which must not yield mid-transaction.
 */
export function sqliteLedgerRepository(db: SqliteConnection) {
  const { orm } = db
  const p = sql.placeholder

  const accountById = orm
    .select(accountColumns)
    .from(accounts)
    .where(eq(accounts.id, p('id')))
    .prepare()
  const liveUserAccount = orm
    .select(accountColumns)
    .from(accounts)
    .innerJoin(users, eq(users.id, accounts.ownerId))
    .where(and(eq(accounts.id, p('id')), isNull(users.deletedAt)))
    .prepare()
  const accountsOfOwner = orm
    .select(accountColumns)
    .from(accounts)
    .where(and(eq(accounts.ownerId, p('ownerId')), gt(accounts.id, p('after'))))
    .orderBy(asc(accounts.id))
    .limit(p('limit'))
    .prepare()
  const externalAccount = orm
    .select(accountColumns)
    .from(accounts)
    .where(and(eq(accounts.currency, p('currency')), isNull(accounts.ownerId)))
    .prepare()
  const insertAccount = orm
    .insert(accounts)
    .values({
      id: p('id'),
      ownerId: p('ownerId'),
      kind: p('kind'),
      currency: p('currency'),
      balance: 0,
      createdAt: p('now'),
    })
    .onConflictDoNothing()
    .returning(accountColumns)
    .prepare()
  // The guards are conditions of the UPDATE itself, never a read followed by a write: two withdrawals
  // cannot both see the same balance.
  const debitNotBelowZero = orm
    .update(accounts)
    .set({ balance: sql`${accounts.balance} - ${p('amount')}` })
    .where(and(eq(accounts.id, p('id')), gte(accounts.balance, p('amount'))))
    .returning({ balance: accounts.balance })
    .prepare()
  const debitExternal = orm
    .update(accounts)
    .set({ balance: sql`${accounts.balance} - ${p('amount')}` })
    .where(and(eq(accounts.id, p('id')), gte(accounts.balance, sql`${p('amount')} - ${maxAmount}`)))
    .returning({ balance: accounts.balance })
    .prepare()
  // Balances stay within 2^53-1 so they are exact as JSON numbers.
  const credit = orm
    .update(accounts)
    .set({ balance: sql`${accounts.balance} + ${p('amount')}` })
    .where(and(eq(accounts.id, p('id')), lte(accounts.balance, sql`${maxAmount} - ${p('amount')}`)))
    .returning({ balance: accounts.balance })
    .prepare()
  const insertTransaction = orm
    .insert(transactions)
    .values({
      id: p('id'),
      kind: p('kind'),
      amount: p('amount'),
      currency: p('currency'),
      description: p('description'),
      reversesId: p('reversesId'),
      createdBy: p('createdBy'),
      createdAt: p('now'),
    })
    .prepare()
  const insertPosting = orm
    .insert(postings)
    .values({
      transactionId: p('transactionId'),
      accountId: p('accountId'),
      amount: p('amount'),
      balanceAfter: p('balanceAfter'),
    })
    .prepare()
  const transactionById = orm
    .select(transactionColumns)
    .from(transactions)
    .where(eq(transactions.id, p('id')))
    .prepare()
  const reversalOf = orm
    .select({ id: transactions.id })
    .from(transactions)
    .where(eq(transactions.reversesId, p('id')))
    .prepare()
  const postingsOf = orm
    .select({ accountId: postings.accountId, amount: postings.amount, balanceAfter: postings.balanceAfter })
    .from(postings)
    .where(eq(postings.transactionId, p('id')))
    .orderBy(asc(postings.id))
    .prepare()
  const historyPage = orm
    .select({ postingId: postings.id, transactionId: postings.transactionId })
    .from(postings)
    .where(and(eq(postings.accountId, p('accountId')), lt(postings.id, p('before'))))
    .orderBy(desc(postings.id))
    .limit(p('limit'))
    .prepare()
  const storedResponse = orm
    .select({
      fingerprint: idempotencyKeys.fingerprint,
      status: idempotencyKeys.status,
      response: idempotencyKeys.response,
    })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.ownerId, p('ownerId')), eq(idempotencyKeys.key, p('key'))))
    .prepare()
  const storeResponse = orm
    .insert(idempotencyKeys)
    .values({
      ownerId: p('ownerId'),
      key: p('key'),
      fingerprint: p('fingerprint'),
      status: p('status'),
      response: p('response'),
      transactionId: p('transactionId'),
      createdAt: p('now'),
    })
    .prepare()
  const purgeResponses = orm
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, p('before')))
    .returning({ key: idempotencyKeys.key })
    .prepare()

  // An account's owner, kind and currency never change and accounts are never deleted, so they are cached
  // (bounded); every deposit and withdrawal checks ownership, and a read outside a transaction is costly.
  const identities = new Map<string, AccountIdentity>()
  const maxIdentities = 100_000

  // External accounts never change identity once committed; the cache saves a query on every deposit and
  // withdrawal. Cleared when a batch fails to commit, since it may then hold a row that was rolled back.
  const externalAccounts = new Map<string, Account>()

  const transactionWithPostings = (id: string): Transaction | undefined => {
    const row = transactionById.get({ id }) as Omit<Transaction, 'postings'> | undefined
    return row && { ...row, postings: postingsOf.all({ id }) as Posting[] }
  }

  return {
    async findAccount(id: string) {
      return accountById.get({ id }) as Account | undefined
    },
    async accountIdentity(id: string): Promise<AccountIdentity | undefined> {
      const cached = identities.get(id)
      if (cached) return cached
      const row = accountById.get({ id }) as Account | undefined
      if (!row) return undefined
      const identity = { id: row.id, ownerId: row.ownerId, kind: row.kind, currency: row.currency }
      if (identities.size >= maxIdentities) identities.delete(identities.keys().next().value as string)
      identities.set(id, identity)
      return identity
    },
    /** A user account whose owner has not been deleted. */
    async findLiveUserAccount(id: string) {
      return liveUserAccount.get({ id }) as Account | undefined
    },
    async listAccounts(ownerId: string, after: string | undefined, limit: number) {
      return accountsOfOwner.all({ ownerId, after: after ?? '', limit }) as Account[]
    },
    async findTransaction(id: string) {
      return transactionWithPostings(id)
    },
    /** An account's transactions, newest first, before the given posting id (keyset, stable under inserts). */
    async history(accountId: string, beforePostingId: number | undefined, limit: number) {
      const page = historyPage.all({ accountId, before: beforePostingId ?? Number.MAX_SAFE_INTEGER, limit })
      return page.map((row) => ({
        postingId: row.postingId,
        transaction: transactionWithPostings(row.transactionId) as Transaction,
      }))
    },
    purgeResponses(before: string) {
      return purgeResponses.all({ before }).length
    },

    // Writes: call only inside a GroupCommit job.
    write: {
      insertAccount(account: Omit<Account, 'balance' | 'createdAt'>, now: string) {
        return insertAccount.get({ ...account, now }) as Account | undefined
      },
      externalAccount(currency: string, now: string): Account {
        const cached = externalAccounts.get(currency)
        if (cached) return cached
        const existing = externalAccount.get({ currency }) as Account | undefined
        if (existing) {
          externalAccounts.set(currency, existing)
          return existing
        }
        insertAccount.get({ id: Bun.randomUUIDv7(), ownerId: null, kind: 'external', currency, now })
        return externalAccount.get({ currency }) as Account
      },
      forgetCached() {
        externalAccounts.clear()
      },
      /** New balance, or undefined if the debit would take a user account below zero. */
      debit(account: Pick<AccountIdentity, 'id' | 'kind'>, amount: number) {
        const guard = account.kind === 'external' ? debitExternal : debitNotBelowZero
        return (guard.get({ id: account.id, amount }) as { balance: number } | undefined)?.balance
      },
      /** New balance, or undefined if it would pass 2^53-1. */
      credit(accountId: string, amount: number) {
        return (credit.get({ id: accountId, amount }) as { balance: number } | undefined)?.balance
      },
      insertTransaction(transaction: Omit<Transaction, 'postings'>) {
        insertTransaction.run({ ...transaction, now: transaction.createdAt })
      },
      insertPosting(transactionId: string, posting: Posting) {
        insertPosting.run({ transactionId, ...posting })
      },
      account(id: string) {
        return accountById.get({ id }) as Account | undefined
      },
      isReversed(transactionId: string) {
        return reversalOf.get({ id: transactionId }) !== undefined
      },
      transaction: transactionWithPostings,
      storedResponse(ownerId: string, key: string) {
        return storedResponse.get({ ownerId, key }) as StoredResponse | undefined
      },
      storeResponse(
        entry: { ownerId: string; key: string; transactionId: string | null; now: string } & StoredResponse,
      ) {
        storeResponse.run({ ...entry })
      },
    },
  }
}

export type LedgerRepository = ReturnType<typeof sqliteLedgerRepository>
