import type { Account, RefusalCode, Transaction, TransactionKind } from '../engine'
import { transactionOf as fromSqliteShape } from '../sqlite/rows'

// How the PostgreSQL ledger's rows read back as domain values. BIGINT arrives as text (the pool does not
// parse int8, since a number past 2^53 would silently lose digits): every column below is at most 2^53-1
// by a CHECK, so Number() of it is exact. A transaction is rendered by the SQLite engine's transactionOf,
// so both engines order postings (a reversal's mirror its original's) the same way.

export type Int8 = string | number

/** Number() of a BIGINT column that may be NULL. */
export const numberOrNull = (value: Int8 | null): number | null => (value === null ? null : Number(value))

export interface AccountRow {
  seq: Int8
  id: string
  ownerId: string
  currency: string
  balance: Int8
  createdAt: Int8
}

export const accountOf = (row: AccountRow): Account => ({
  id: row.id,
  ownerId: row.ownerId,
  currency: row.currency,
  balance: Number(row.balance),
  createdAt: Number(row.createdAt),
})

/** A transaction's row as `transactionColumns` selects it. */
export interface TransactionRow {
  seq: Int8
  id: string
  kind: TransactionKind
  amount: Int8
  currency: string
  description: string | null
  reversesId: string | null
  createdBy: string
  createdAt: Int8
  debitSeq: Int8
  debitId: string
  debitOwner: string | null
  debitBalance: Int8 | null
  debitPrev: Int8 | null
  creditSeq: Int8
  creditId: string
  creditOwner: string | null
  creditBalance: Int8 | null
  creditPrev: Int8 | null
}

/** One transaction with its two accounts' public ids and owners; `t` is the transactions row. */
export const transactionColumns = `
  t.seq, t.id, t.kind, t.amount, t.currency, t.description, r.id AS "reversesId",
  t.created_by AS "createdBy", t.created_at AS "createdAt",
  t.debit_account AS "debitSeq", d.id AS "debitId", d.owner_id AS "debitOwner",
  t.debit_balance AS "debitBalance", t.debit_prev AS "debitPrev",
  t.credit_account AS "creditSeq", c.id AS "creditId", c.owner_id AS "creditOwner",
  t.credit_balance AS "creditBalance", t.credit_prev AS "creditPrev"`

export const transactionJoins = `
  JOIN accounts d ON d.seq = t.debit_account
  JOIN accounts c ON c.seq = t.credit_account
  LEFT JOIN transactions r ON r.seq = t.reverses`

export function transactionOf(row: TransactionRow): Transaction {
  return fromSqliteShape({
    ...row,
    seq: Number(row.seq),
    amount: Number(row.amount),
    createdAt: Number(row.createdAt),
    debitSeq: Number(row.debitSeq),
    debitBalance: numberOrNull(row.debitBalance),
    debitPrev: numberOrNull(row.debitPrev),
    creditSeq: Number(row.creditSeq),
    creditBalance: numberOrNull(row.creditBalance),
    creditPrev: numberOrNull(row.creditPrev),
  })
}

/** A stored refusal as it reads back. */
export interface RefusalRow {
  /** NULL for a 0003-era refusal copied from SQLite: it replays for any command with its key. */
  command: string | null
  code: RefusalCode
  detail: string | null
  requestId: string | null
}
