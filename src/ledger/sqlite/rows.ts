import type { Transaction } from '../engine'

// How the SQLite ledger's rows read back as domain values: shared by the API thread's reads and the
// writer's replays, so a replayed answer is rendered exactly as the first one was.

export const accountColumns = 'id, owner_id AS ownerId, currency, balance, created_at AS createdAt'

/** One transaction with its two accounts' public ids and owners (the external account has none). */
export const transactionSelect = `
  SELECT t.seq, t.id, t.kind, t.amount, t.currency, t.description, r.id AS reversesId,
         t.created_by AS createdBy, t.created_at AS createdAt,
         t.debit_account AS debitSeq, d.id AS debitId, d.owner_id AS debitOwner, t.debit_balance AS debitBalance,
         t.debit_prev AS debitPrev,
         t.credit_account AS creditSeq, c.id AS creditId, c.owner_id AS creditOwner,
         t.credit_balance AS creditBalance, t.credit_prev AS creditPrev
  FROM transactions t
  JOIN accounts d ON d.seq = t.debit_account
  JOIN accounts c ON c.seq = t.credit_account
  LEFT JOIN transactions r ON r.seq = t.reverses`

/** A transaction's columns as transactionSelect reads them: the domain fields, and each leg's account. */
export interface TransactionRow extends Omit<Transaction, 'postings'> {
  seq: number
  debitSeq: number
  debitId: string
  debitOwner: string | null
  debitBalance: number | null
  debitPrev: number | null
  creditSeq: number
  creditId: string
  creditOwner: string | null
  creditBalance: number | null
  creditPrev: number | null
}

export function transactionOf(row: TransactionRow): Transaction {
  const debit = {
    accountId: row.debitId,
    ownerId: row.debitOwner,
    amount: -row.amount,
    balanceAfter: row.debitBalance,
  }
  const credit = {
    accountId: row.creditId,
    ownerId: row.creditOwner,
    amount: row.amount,
    balanceAfter: row.creditBalance,
  }
  return {
    id: row.id,
    kind: row.kind,
    amount: row.amount,
    currency: row.currency,
    description: row.description,
    reversesId: row.reversesId,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    // A reversal lists its postings in the order of the original's, which it mirrors.
    postings: row.kind === 'reversal' ? [credit, debit] : [debit, credit],
  }
}
