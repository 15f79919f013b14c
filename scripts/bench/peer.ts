// The peer for scripts/bench.sh: what a plain Bun + SQLite server does with the same mixed load, the
// baseline the ledger benchmark compares ledgerd against. Bun.serve routes, bun:sqlite prepared statements,
// one thread; each mutation is its own BEGIN IMMEDIATE transaction (a guarded balance update and one
// journal row), WAL with synchronous=NORMAL. No authentication (Authorization is ignored), no
// idempotency (Idempotency-Key is ignored), no group commit, no access log. It answers exactly what
// mixed.lua sends, with ledgerd's statuses: POST /v1/accounts/:id/deposits and /withdrawals with
// {"amount":N} → 201 and the transaction, 409 insufficient-funds, 422 a bad amount; GET /v1/accounts/:id
// → 200; an unknown account or path → 404.
// The accounts are the ledgerd run's (setup.ts's file, "<account id> <token>" lines), each seeded with the
// same initial balance in a fresh database in a temp dir under $TMPDIR. Prints the port as one line.
// On SIGTERM or SIGINT it checks that every balance equals the sum of its journal rows, removes the temp
// dir, and exits 0 (consistent) or 1.
// Usage: bun scripts/bench/peer.ts <accounts file> <initial balance> [port]   (port 0: kernel-chosen)
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const [accountsFile, initialArg, portArg = '0'] = Bun.argv.slice(2)
const initialBalance = Number(initialArg)
if (!accountsFile || !Number.isSafeInteger(initialBalance) || initialBalance < 0) {
  throw new Error('usage: peer.ts <accounts file> <initial balance> [port]')
}
const accountIds = (await Bun.file(accountsFile).text())
  .split('\n')
  .map((line) => line.split(' ')[0])
  .filter((id): id is string => Boolean(id))

const dir = mkdtempSync(join(tmpdir(), 'ledgerd-peer-'))
const db = new Database(join(dir, 'peer.db'))
db.run('PRAGMA journal_mode = WAL')
db.run('PRAGMA synchronous = NORMAL')
// The index is what a ledger needs to list an account's history; ledgerd keeps one on its postings.
db.run(`CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  currency TEXT NOT NULL,
  balance INTEGER NOT NULL CHECK (balance >= 0)
)`)
db.run(`CREATE TABLE journal (
  id INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  amount INTEGER NOT NULL,
  balance_after INTEGER NOT NULL,
  created_at TEXT NOT NULL
)`)
db.run('CREATE INDEX journal_account_id ON journal (account_id)')

const credit = db.prepare<{ balance: number }, [number, string]>(
  'UPDATE accounts SET balance = balance + ?1 WHERE id = ?2 RETURNING balance',
)
// The overdraft guard is the UPDATE itself, as in ledgerd: no row back means too little money (or no account).
const debit = db.prepare<{ balance: number }, [number, string]>(
  'UPDATE accounts SET balance = balance - ?1 WHERE id = ?2 AND balance >= ?1 RETURNING balance',
)
const accountExists = db.prepare<{ found: number }, [string]>('SELECT 1 AS found FROM accounts WHERE id = ?')
const accountById = db.prepare<{ id: string; currency: string; balance: number }, [string]>(
  'SELECT id, currency, balance FROM accounts WHERE id = ?',
)
const journal = db.prepare<never, [string, string, number, number, string]>(
  'INSERT INTO journal (account_id, kind, amount, balance_after, created_at) VALUES (?, ?, ?, ?, ?)',
)
const openAccount = db.prepare<never, [string, number]>(
  "INSERT INTO accounts (id, currency, balance) VALUES (?, 'USD', ?)",
)

db.transaction(() => {
  const now = new Date().toISOString()
  for (const id of accountIds) {
    openAccount.run(id, initialBalance)
    journal.run(id, 'deposit', initialBalance, initialBalance, now)
  }
}).immediate()

type Kind = 'deposit' | 'withdrawal'
type Outcome = { status: 201; transaction: object } | { status: 404 | 409 }

const move = db.transaction((accountId: string, kind: Kind, amount: number): Outcome => {
  const row = kind === 'deposit' ? credit.get(amount, accountId) : debit.get(amount, accountId)
  if (!row) return { status: accountExists.get(accountId) ? 409 : 404 }
  const signed = kind === 'deposit' ? amount : -amount
  const createdAt = new Date().toISOString()
  const { lastInsertRowid } = journal.run(accountId, kind, signed, row.balance, createdAt)
  return {
    status: 201,
    transaction: {
      id: Number(lastInsertRowid),
      kind,
      accountId,
      amount,
      balanceAfter: row.balance,
      createdAt,
    },
  }
})

const problems = {
  404: { type: '/problems/not-found', title: 'No such resource' },
  409: { type: '/problems/insufficient-funds', title: 'The balance is too low for this debit' },
  400: { type: '/problems/malformed-body', title: 'The request body could not be parsed' },
  422: { type: '/problems/validation-failed', title: 'The request body is not valid' },
}
const problem = (status: keyof typeof problems) =>
  Response.json(
    { ...problems[status], status },
    { status, headers: { 'content-type': 'application/problem+json' } },
  )

async function mutate(accountId: string, kind: Kind, request: Request): Promise<Response> {
  let body: { amount?: unknown }
  try {
    body = (await request.json()) as { amount?: unknown }
  } catch {
    return problem(400)
  }
  const amount = body?.amount
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1) return problem(422)
  const outcome = move.immediate(accountId, kind, amount)
  return outcome.status === 201
    ? Response.json(outcome.transaction, { status: 201 })
    : problem(outcome.status)
}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(portArg),
  development: false, // as in the binary (NODE_ENV=production)
  reusePort: false, // a second server on a fixed port must fail, not share it
  routes: {
    '/v1/accounts/:id': {
      GET: (request) => {
        const account = accountById.get(request.params.id)
        return account ? Response.json(account) : problem(404)
      },
    },
    '/v1/accounts/:id/deposits': { POST: (request) => mutate(request.params.id, 'deposit', request) },
    '/v1/accounts/:id/withdrawals': { POST: (request) => mutate(request.params.id, 'withdrawal', request) },
  },
  fetch: () => problem(404),
})
console.log(server.port)

function stop() {
  server.stop(true)
  const [check] = db
    .query<{ accounts: number; rows: number; mismatched: number }, []>(
      `SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM journal) AS rows,
         (SELECT count(*) FROM accounts a
          WHERE a.balance != (SELECT coalesce(sum(amount), 0) FROM journal j WHERE j.account_id = a.id))
         AS mismatched`,
    )
    .all()
  db.close()
  rmSync(dir, { recursive: true, force: true })
  const consistent = check?.mismatched === 0
  console.log(
    `peer ${consistent ? 'consistent' : 'INCONSISTENT'}: ${check?.accounts} accounts, ${check?.rows} ` +
      `journal rows, ${check?.mismatched} balances differ from the sum of their journal rows`,
  )
  process.exit(consistent ? 0 : 1)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
