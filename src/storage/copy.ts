import type { Sql } from '../db/postgres/connection'
import type { SqliteConnection, SqlValue } from '../db/sqlite'

/** The target already holds data: `ledgerd copy` moves a ledger into an empty database only. */
export class TargetNotEmptyError extends Error {}

export interface CopyCounts {
  users: number
  accounts: number
  transactions: number
  refusals: number
}

/** Per-currency sums of what users hold: compared on both sides after a copy. */
export type Holdings = Record<string, string>

/** Rows per INSERT: big enough that round trips do not dominate, small enough to stay under 65k params. */
const chunkRows = 2000

interface Table {
  name: string
  /** Source columns in the target's order; a target column computed from others is added by `extra`. */
  columns: string[]
  /** The SELECT on SQLite; ordered so chunks are stable and inserts respect references. */
  select: string
  /** Keyset pagination column, read back from the last row of a chunk. */
  cursor: string
}

const tables: Table[] = [
  {
    name: 'users',
    columns: [
      'id',
      'email',
      'email_key',
      'name',
      'password_hash',
      'role',
      'external_issuer',
      'external_subject',
      'created_at',
      'updated_at',
      'deleted_at',
    ],
    select: 'SELECT * FROM users WHERE id > ? ORDER BY id LIMIT ?',
    cursor: 'id',
  },
  {
    name: 'accounts',
    columns: ['seq', 'id', 'owner_id', 'currency', 'balance', 'head', 'head_prev', 'created_at', 'idem_key'],
    // head_prev (PostgreSQL only) is the link the head transaction recorded for this account; the
    // external account's balance is derived on PostgreSQL, so it is not copied.
    select: `SELECT a.seq, a.id, a.owner_id, a.currency,
                    CASE WHEN a.owner_id IS NULL THEN NULL ELSE a.balance END AS balance,
                    a.head,
                    CASE WHEN t.debit_account = a.seq THEN t.debit_prev ELSE t.credit_prev END AS head_prev,
                    a.created_at, a.idem_key
             FROM accounts a LEFT JOIN transactions t ON t.seq = a.head
             WHERE a.seq > ? ORDER BY a.seq LIMIT ?`,
    cursor: 'seq',
  },
  {
    name: 'transactions',
    columns: [
      'seq',
      'id',
      'kind',
      'amount',
      'currency',
      'debit_account',
      'debit_balance',
      'debit_prev',
      'credit_account',
      'credit_balance',
      'credit_prev',
      'description',
      'reverses',
      'created_by',
      'created_at',
      'idem_key',
    ],
    select: 'SELECT * FROM transactions WHERE seq > ? ORDER BY seq LIMIT ?',
    cursor: 'seq',
  },
  {
    name: 'refused_commands',
    columns: ['owner_id', 'idem_key', 'command', 'code', 'detail', 'request_id', 'created_at'],
    select: `SELECT rowid AS copy_cursor, * FROM refused_commands WHERE rowid > ? ORDER BY rowid LIMIT ?`,
    cursor: 'copy_cursor',
  },
]

/**
 * Copies a SQLite ledger (users, accounts, transactions with their history links, Idempotency-Keys and
 * refused commands, the installation's id) into a migrated, empty PostgreSQL database, in one
 * PostgreSQL transaction: the target ends up with all of it or none. The source is read in one snapshot.
 * `signingKey`, when given, replaces the target's generated token key, so tokens issued before the move
 * keep working after it.
 */
export async function copyLedger(
  source: SqliteConnection,
  target: Sql,
  options: { signingKey?: { name: string; value: string } } = {},
): Promise<CopyCounts> {
  const counts: CopyCounts = { users: 0, accounts: 0, transactions: 0, refusals: 0 }
  source.exec('BEGIN')
  try {
    await target.begin(async (tx) => {
      const [held] = await tx<{ n: number }[]>`
        SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM accounts)
             + (SELECT count(*) FROM transactions) + (SELECT count(*) FROM refused_commands) AS n`
      if (Number(held?.n ?? 0) > 0) {
        throw new TargetNotEmptyError(
          'the target database holds users or ledger data already; copy into an empty database',
        )
      }
      for (const table of tables) {
        let after: SqlValue = table.cursor === 'id' ? '' : 0
        for (;;) {
          const rows: Record<string, SqlValue>[] = source.all(table.select, after, chunkRows)
          if (rows.length === 0) break
          after = rows.at(-1)?.[table.cursor] ?? after
          const values = rows.map((row) => table.columns.map((column) => toPostgres(row[column])))
          await tx.unsafe(insertSql(table.name, table.columns, rows.length), values.flat() as never[])
          const key = table.name === 'refused_commands' ? 'refusals' : (table.name as keyof CopyCounts)
          counts[key] += rows.length
          if (rows.length < chunkRows) break
        }
      }
      const [instance] = source.all<{ id: string; created_at: string }>('SELECT id, created_at FROM instance')
      if (instance) await tx`UPDATE instance SET id = ${instance.id}, created_at = ${instance.created_at}`
      const [purged] = source.all<{ value: number }>(
        "SELECT value FROM ledger_meta WHERE name = 'purged_through'",
      )
      await tx`UPDATE ledger_meta SET value = ${purged?.value ?? 0} WHERE name = 'purged_through'`
      // New rows continue after the copied ones.
      await tx`SELECT setval('transactions_seq', GREATEST((SELECT max(seq) FROM transactions), 1),
                             (SELECT max(seq) FROM transactions) IS NOT NULL)`
      await tx`SELECT setval(pg_get_serial_sequence('accounts', 'seq'),
                             GREATEST((SELECT max(seq) FROM accounts), 1),
                             (SELECT max(seq) FROM accounts) IS NOT NULL)`
      if (options.signingKey) {
        const { name, value } = options.signingKey
        await tx`INSERT INTO generated_secrets (name, value) VALUES (${name}, ${value})
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, created_at = clock_timestamp()`
      }
    })
  } finally {
    source.exec('COMMIT')
  }
  return counts
}

/** SQLite's 64-bit integers arrive as numbers or bigints; PostgreSQL takes both as text parameters. */
function toPostgres(value: SqlValue | undefined): string | number | null {
  if (value === undefined || value === null) return null
  return typeof value === 'bigint' ? value.toString() : value
}

function insertSql(table: string, columns: string[], rows: number): string {
  const width = columns.length
  const tuples = Array.from(
    { length: rows },
    (_, r) => `(${columns.map((_, c) => `$${r * width + c + 1}`).join(', ')})`,
  )
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`
}

/** What users hold per currency, from SQLite: the number `verify` must agree on after a copy. */
export function sqliteHoldings(db: SqliteConnection): Holdings {
  const rows = db.all<{ currency: string; total: string }>(
    `SELECT currency, CAST(sum(balance) AS TEXT) AS total FROM accounts WHERE owner_id IS NOT NULL
     GROUP BY currency ORDER BY currency`,
  )
  return Object.fromEntries(rows.map((row) => [row.currency, row.total]))
}

export async function postgresHoldings(sql: Sql): Promise<Holdings> {
  const rows = await sql<{ currency: string; total: string }[]>`
    SELECT currency, sum(balance)::text AS total FROM accounts WHERE owner_id IS NOT NULL
    GROUP BY currency ORDER BY currency`
  return Object.fromEntries(rows.map((row) => [row.currency, row.total]))
}
