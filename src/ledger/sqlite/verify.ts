import type { SqliteConnection } from '../../db/sqlite'
import type { VerifyReport } from '../engine'

// Each check states one invariant of the SQLite ledger and finds every row that breaks it, naming it.
// Double entry itself is structural (one amount, a debit and a credit account per row); what is checked
// is that everything derived from the rows agrees with them.
const checks: string[] = [
  `SELECT 'transaction ' || t.id || ' moves ' || t.currency || ' between accounts of ' || d.currency || ' and ' || c.currency AS detail
   FROM transactions t JOIN accounts d ON d.seq = t.debit_account JOIN accounts c ON c.seq = t.credit_account
   WHERE d.currency <> t.currency OR c.currency <> t.currency`,
  // The external account's side records no balance or link; a user account's side records both.
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
   FROM accounts a LEFT JOIN (
     SELECT account, sum(change) AS net FROM (
       SELECT debit_account AS account, -amount AS change FROM transactions
       UNION ALL SELECT credit_account, amount FROM transactions) GROUP BY account) m ON m.account = a.seq
   WHERE a.balance <> coalesce(m.net, 0)`,
  `SELECT 'account ' || id || ' is overdrawn: balance ' || balance AS detail
   FROM accounts WHERE owner_id IS NOT NULL AND balance < 0`,
  // Every currency's balances sum to zero: what users hold, the external account owes.
  `SELECT 'currency ' || currency || ' balances sum to ' || sum(balance) AS detail
   FROM accounts GROUP BY currency HAVING sum(balance) <> 0`,
  // Each user side's balance is the running sum of the account's transactions up to it, and its link
  // names the account's previous transaction; the account's head names its newest.
  `SELECT 'transaction ' || tx_id || ' records balance ' || balance || ' for account ' || account_id
          || ' but the running sum is ' || running AS detail
   FROM (SELECT tx_id, account_id, balance, sum(change) OVER (PARTITION BY account ORDER BY seq) AS running
         FROM (SELECT t.seq, t.id AS tx_id, a.id AS account_id, a.seq AS account, t.debit_balance AS balance, -t.amount AS change
               FROM transactions t JOIN accounts a ON a.seq = t.debit_account WHERE a.owner_id IS NOT NULL
               UNION ALL
               SELECT t.seq, t.id, a.id, a.seq, t.credit_balance, t.amount
               FROM transactions t JOIN accounts a ON a.seq = t.credit_account WHERE a.owner_id IS NOT NULL))
   WHERE balance <> running`,
  `SELECT 'transaction ' || tx_id || ' links account ' || account_id || ' to ' || coalesce(prev, 'nothing')
          || ' instead of ' || coalesce(expected, 'nothing') AS detail
   FROM (SELECT tx_id, account_id, prev, lag(seq) OVER (PARTITION BY account ORDER BY seq) AS expected
         FROM (SELECT t.seq, t.id AS tx_id, a.id AS account_id, a.seq AS account, t.debit_prev AS prev
               FROM transactions t JOIN accounts a ON a.seq = t.debit_account WHERE a.owner_id IS NOT NULL
               UNION ALL
               SELECT t.seq, t.id, a.id, a.seq, t.credit_prev
               FROM transactions t JOIN accounts a ON a.seq = t.credit_account WHERE a.owner_id IS NOT NULL))
   WHERE prev IS NOT expected`,
  `SELECT 'account ' || a.id || ' names ' || coalesce(a.head, 'nothing') || ' as its newest transaction instead of '
          || coalesce(m.newest, 'nothing') AS detail
   FROM accounts a LEFT JOIN (
     SELECT account, max(seq) AS newest FROM (
       SELECT debit_account AS account, seq FROM transactions
       UNION ALL SELECT credit_account, seq FROM transactions) GROUP BY account) m ON m.account = a.seq
   WHERE a.owner_id IS NOT NULL AND a.head IS NOT m.newest`,
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
 * (a deferred read transaction, in WAL mode), so a running server's writes neither wait for it nor show
 * up half-way through it.
 */
export function verifyLedger(db: SqliteConnection): VerifyReport {
  db.exec('BEGIN')
  try {
    const violations = checks.flatMap((sql) => db.all<{ detail: string }>(sql).map((row) => row.detail))
    const [counts] = db.all<{ accounts: number; transactions: number }>(
      `SELECT (SELECT count(*) FROM accounts) AS accounts,
              (SELECT count(*) FROM transactions) AS transactions`,
    )
    return { accounts: counts?.accounts ?? 0, transactions: counts?.transactions ?? 0, violations }
  } finally {
    db.exec('COMMIT')
  }
}
