import type { Sql } from '../../db/postgres/connection'
import type { VerifyReport } from '../engine'

// Each check states one invariant of the PostgreSQL ledger and finds every row that breaks it, naming it:
// the same facts as src/ledger/sqlite/verify.ts, plus what PostgreSQL's schema leaves to it (transactions
// name accounts without foreign keys; the external account's balance is derived, not stored).

/** Each user side of each transaction: the rows the per-account checks walk. */
const userLegs = `
  SELECT t.seq, t.id AS tx_id, a.id AS account_id, a.seq AS account, t.debit_balance AS balance,
         -t.amount AS change, t.debit_prev AS prev
  FROM transactions t JOIN accounts a ON a.seq = t.debit_account WHERE a.owner_id IS NOT NULL
  UNION ALL
  SELECT t.seq, t.id, a.id, a.seq, t.credit_balance, t.amount, t.credit_prev
  FROM transactions t JOIN accounts a ON a.seq = t.credit_account WHERE a.owner_id IS NOT NULL`

/** Every leg's signed change, per account seq. */
const allLegs = `
  SELECT debit_account AS account, seq, -amount AS change FROM transactions
  UNION ALL SELECT credit_account, seq, amount FROM transactions`

const checks: string[] = [
  `SELECT 'transaction ' || t.id || ' names an account that does not exist' AS detail
   FROM transactions t
   WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.seq = t.debit_account)
      OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.seq = t.credit_account)`,
  `SELECT 'transaction ' || t.id || ' moves ' || t.currency || ' between accounts of ' || d.currency
          || ' and ' || c.currency AS detail
   FROM transactions t JOIN accounts d ON d.seq = t.debit_account JOIN accounts c ON c.seq = t.credit_account
   WHERE d.currency <> t.currency OR c.currency <> t.currency`,
  // The external account's side records no balance or link; a user account's side records a balance.
  `SELECT 'transaction ' || t.id || ' records ' || side || ' balance or link wrongly' AS detail
   FROM (SELECT t.id, 'debit' AS side, a.owner_id, t.debit_balance AS balance, t.debit_prev AS prev
         FROM transactions t JOIN accounts a ON a.seq = t.debit_account
         UNION ALL
         SELECT t.id, 'credit', a.owner_id, t.credit_balance, t.credit_prev
         FROM transactions t JOIN accounts a ON a.seq = t.credit_account) AS t
   WHERE (owner_id IS NULL) <> (balance IS NULL) OR (owner_id IS NULL AND prev IS NOT NULL)`,
  // The stored balance is what the account's transactions add up to.
  `SELECT 'account ' || a.id || ' balance ' || a.balance || ' differs from the sum of its transactions '
          || coalesce(m.net, 0) AS detail
   FROM accounts a LEFT JOIN (SELECT account, sum(change) AS net FROM (${allLegs}) l GROUP BY account) m
     ON m.account = a.seq
   WHERE a.owner_id IS NOT NULL AND a.balance <> coalesce(m.net, 0)`,
  `SELECT 'account ' || id || ' is overdrawn: balance ' || balance AS detail
   FROM accounts WHERE owner_id IS NOT NULL AND balance < 0`,
  // Every currency's balances sum to zero: what users hold, the external account owes. Its balance is
  // the sum of its legs, as NUMERIC (past 2^63 if it must).
  `SELECT 'currency ' || a.currency || ' balances sum to ' || sum(coalesce(a.balance, m.net, 0)) AS detail
   FROM accounts a LEFT JOIN (
     SELECT account, sum(change::numeric) AS net FROM (${allLegs}) l GROUP BY account) m
     ON m.account = a.seq AND a.owner_id IS NULL
   GROUP BY a.currency HAVING sum(coalesce(a.balance, m.net, 0)) <> 0`,
  // Each user side's balance is the running sum of the account's transactions up to it, and its link
  // names the account's previous transaction; the account's head names its newest.
  `SELECT 'transaction ' || tx_id || ' records balance ' || balance || ' for account ' || account_id
          || ' but the running sum is ' || running AS detail
   FROM (SELECT tx_id, account_id, balance, sum(change) OVER (PARTITION BY account ORDER BY seq) AS running
         FROM (${userLegs}) l) r
   WHERE balance IS DISTINCT FROM running`,
  `SELECT 'transaction ' || tx_id || ' links account ' || account_id || ' to ' || coalesce(prev::text, 'nothing')
          || ' instead of ' || coalesce(expected::text, 'nothing') AS detail
   FROM (SELECT tx_id, account_id, prev, lag(seq) OVER (PARTITION BY account ORDER BY seq) AS expected
         FROM (${userLegs}) l) r
   WHERE prev IS DISTINCT FROM expected`,
  `SELECT 'account ' || a.id || ' names ' || coalesce(a.head::text, 'nothing')
          || ' as its newest transaction instead of ' || coalesce(m.newest::text, 'nothing') AS detail
   FROM accounts a LEFT JOIN (SELECT account, max(seq) AS newest FROM (${allLegs}) l GROUP BY account) m
     ON m.account = a.seq
   WHERE a.owner_id IS NOT NULL AND a.head IS DISTINCT FROM m.newest`,
  // head_prev exists for the engine's UPDATE ... RETURNING; it must be the newest transaction's link.
  `SELECT 'account ' || a.id || ' keeps ' || coalesce(a.head_prev::text, 'nothing')
          || ' before its newest transaction instead of ' || coalesce(l.prev::text, 'nothing') AS detail
   FROM accounts a JOIN (${userLegs}) l ON l.account = a.seq AND l.seq = a.head
   WHERE a.head_prev IS DISTINCT FROM l.prev`,
  `SELECT 'reversal ' || r.id || ' does not mirror ' || o.id AS detail
   FROM transactions r JOIN transactions o ON o.seq = r.reverses
   WHERE r.debit_account <> o.credit_account OR r.credit_account <> o.debit_account OR r.amount <> o.amount
      OR o.kind = 'reversal'`,
  `SELECT 'account ' || id || ' is external but not the only one for ' || currency AS detail
   FROM accounts WHERE owner_id IS NULL
     AND currency IN (SELECT currency FROM accounts WHERE owner_id IS NULL GROUP BY currency HAVING count(*) > 1)`,
]

/**
 * Checks every ledger invariant against the database as it is; read-only. All checks read one snapshot
 * (REPEATABLE READ), so writes of running replicas neither wait for it nor show up half-way through it.
 * `timeoutMs` bounds each check on the server.
 */
export async function verifyPostgresLedger(sql: Sql, timeoutMs: number): Promise<VerifyReport> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    // The checks scan everything: the request-sized statement timeout is too short for a large ledger.
    await tx`SELECT set_config('statement_timeout', ${String(timeoutMs)}, true)`
    const violations: string[] = []
    for (const check of checks) {
      const rows = await tx.unsafe<{ detail: string }[]>(check)
      violations.push(...rows.map((row) => row.detail))
    }
    const [counts] = await tx<{ accounts: string; transactions: string }[]>`
      SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM transactions) AS transactions`
    return {
      accounts: Number(counts?.accounts ?? 0),
      transactions: Number(counts?.transactions ?? 0),
      violations,
    }
  })
}
