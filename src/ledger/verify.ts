import type { SqliteConnection } from '../db/sqlite'

export interface VerifyReport {
  accounts: number
  transactions: number
  violations: string[]
}

interface Check {
  /** Returns one row per violation; `detail` says what is wrong, naming the ids. */
  sql: string
}

// Each check states one invariant and finds every row that breaks it.
const checks: Check[] = [
  {
    // Double entry: debits equal credits in every transaction.
    sql: `SELECT 'transaction ' || transaction_id || ' does not balance: its postings sum to ' || sum(amount) AS detail
          FROM postings GROUP BY transaction_id HAVING sum(amount) <> 0`,
  },
  {
    sql: `SELECT 'transaction ' || t.id || ' has fewer than two postings' AS detail
          FROM transactions t LEFT JOIN postings p ON p.transaction_id = t.id
          GROUP BY t.id HAVING count(p.id) < 2`,
  },
  {
    sql: `SELECT 'transaction ' || t.id || ' amount ' || t.amount || ' differs from its credits ' || sum(p.amount) AS detail
          FROM transactions t JOIN postings p ON p.transaction_id = t.id AND p.amount > 0
          GROUP BY t.id HAVING sum(p.amount) <> t.amount`,
  },
  {
    sql: `SELECT 'posting ' || p.id || ' moves ' || a.currency || ' in a ' || t.currency || ' transaction' AS detail
          FROM postings p JOIN transactions t ON t.id = p.transaction_id JOIN accounts a ON a.id = p.account_id
          WHERE a.currency <> t.currency`,
  },
  {
    // The stored balance is the sum of the account's postings.
    sql: `SELECT 'account ' || a.id || ' balance ' || a.balance || ' differs from the sum of its postings '
                 || coalesce(sum(p.amount), 0) AS detail
          FROM accounts a LEFT JOIN postings p ON p.account_id = a.id
          GROUP BY a.id HAVING a.balance <> coalesce(sum(p.amount), 0)`,
  },
  {
    sql: `SELECT 'account ' || id || ' is overdrawn: balance ' || balance AS detail
          FROM accounts WHERE kind = 'user' AND balance < 0`,
  },
  {
    // Each posting's balance_after is the running sum of the account's postings up to it.
    sql: `SELECT 'posting ' || id || ' records balance ' || balance_after || ' but the running sum is ' || running AS detail
          FROM (SELECT id, balance_after, sum(amount) OVER (PARTITION BY account_id ORDER BY id) AS running FROM postings)
          WHERE balance_after <> running`,
  },
  {
    sql: `SELECT 'reversal ' || r.id || ' does not mirror ' || r.reverses_id AS detail
          FROM transactions r
          WHERE r.reverses_id IS NOT NULL AND EXISTS (
            SELECT account_id, -amount FROM postings WHERE transaction_id = r.reverses_id
            EXCEPT SELECT account_id, amount FROM postings WHERE transaction_id = r.id)`,
  },
  {
    // A stored idempotent answer that names a transaction must be that transaction's answer.
    sql: `SELECT 'idempotency key ' || k.key || ' of ' || k.owner_id || ' names transaction ' || k.transaction_id
                 || ', which ' || CASE WHEN t.id IS NULL THEN 'does not exist' ELSE 'is not in its stored response' END AS detail
          FROM idempotency_keys k LEFT JOIN transactions t ON t.id = k.transaction_id
          WHERE k.transaction_id IS NOT NULL
            AND (t.id IS NULL OR json_extract(k.response, '$.id') IS NOT k.transaction_id)`,
  },
  {
    sql: `SELECT 'idempotency key ' || key || ' of ' || owner_id || ' stored status ' || status
                 || ' without a transaction' AS detail
          FROM idempotency_keys WHERE status = 201 AND transaction_id IS NULL
            AND json_extract(response, '$.kind') IS NOT NULL`,
  },
]

/** Checks every ledger invariant against the database as it is; read-only. */
export function verifyLedger(db: SqliteConnection): VerifyReport {
  const violations = checks.flatMap((check) => db.all<{ detail: string }>(check.sql).map((row) => row.detail))
  const [{ accounts } = { accounts: 0 }] = db.all<{ accounts: number }>(
    'SELECT count(*) AS accounts FROM accounts',
  )
  const [{ transactions } = { transactions: 0 }] = db.all<{ transactions: number }>(
    'SELECT count(*) AS transactions FROM transactions',
  )
  return { accounts, transactions, violations }
}
