import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { createTokenIssuer } from '../../../src/auth/issuer'
import { loadSigningKeys } from '../../../src/auth/keys'
import { verifyLedger } from '../../../src/ledger/sqlite/verify'
import { sqliteUsersRepository } from '../../../src/users/repository'
import type { Role } from '../../../src/users/user'
import { type InProcessLedgerd, inProcessLedgerd } from '../../support/app'
import {
  type LedgerAccount,
  type LedgerClient,
  type LedgerTransaction,
  ledgerClient,
  type Reply,
} from '../../support/ledger-client'

// Model-based test: random sequences of ledger operations run against the real API (in-process, over a
// real SQLite file) and against a few lines of in-memory bookkeeping written from the API contract. After
// every operation the status, the transaction and every balance must agree; at the end, the ledger-wide
// invariants and the verifier.

const currencies = ['USD', 'JPY'] as const
type Currency = (typeof currencies)[number]
const exponents: Record<Currency, number> = { USD: 2, JPY: 0 }

/** 0 and 1 are the two users; admin only ever reverses. */
type Caller = 0 | 1 | 'admin'
const other = (user: 0 | 1): 0 | 1 => (user === 0 ? 1 : 0)

// Operations as generated: accounts and transactions are picked by index among those that exist when the
// operation runs, so every generated sequence is meaningful whatever came before it.
type Op =
  | { t: 'open'; owner: 0 | 1; currency: Currency; key: string | undefined }
  | { t: 'deposit' | 'withdraw'; stranger: boolean; account: number; amount: number; key: string | undefined }
  | { t: 'transfer'; stranger: boolean; from: number; to: number; amount: number; key: string | undefined }
  | { t: 'reverse'; byAdmin: boolean; transaction: number; key: string | undefined }
  | { t: 'replay'; request: number }

// A small pool of keys, so that the same key comes back for the same request (a replay), for another
// request (reused), and from the other user (a key of their own).
const keyArb = fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined, freq: 2 })
/** Unbiased: small indices would mostly pick the first account, and transfers would go nowhere. */
const indexArb = fc.noBias(fc.nat())
const strangerArb = fc.integer({ min: 0, max: 5 }).map((n) => n === 0)

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('open' as const),
      owner: fc.constantFrom(0 as const, 1 as const),
      currency: fc.constantFrom(...currencies),
      key: keyArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('deposit' as const),
      stranger: strangerArb,
      account: indexArb,
      amount: fc.integer({ min: 1, max: 1_000 }),
      key: keyArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('withdraw' as const),
      stranger: strangerArb,
      account: indexArb,
      amount: fc.integer({ min: 1, max: 600 }),
      key: keyArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('transfer' as const),
      stranger: strangerArb,
      from: indexArb,
      to: indexArb,
      amount: fc.integer({ min: 1, max: 600 }),
      key: keyArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('reverse' as const),
      byAdmin: fc.integer({ min: 0, max: 5 }).map((n) => n !== 0),
      transaction: indexArb,
      key: keyArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('replay' as const), request: indexArb }) },
)

// Operations with ids resolved: what is actually sent, and what a replay sends again.
type Resolved =
  | { t: 'open'; caller: 0 | 1; currency: Currency; key: string | undefined }
  | { t: 'deposit' | 'withdraw'; caller: 0 | 1; account: string; amount: number; key: string | undefined }
  | { t: 'transfer'; caller: 0 | 1; from: string; to: string; amount: number; key: string | undefined }
  | { t: 'reverse'; caller: Caller; transaction: string; key: string | undefined }

interface ModelAccount {
  id: string
  owner: 0 | 1
  currency: Currency
  balance: number
}

interface ModelTransaction {
  id: string
  kind: LedgerTransaction['kind']
  currency: Currency
  amount: number
  /** Movement of each user account; the external account takes the opposite of their sum. */
  deltas: Map<string, number>
  /** Reversed already, or a reversal itself. */
  final: boolean
}

/** What the contract says happens, computed from the model before the request is sent. */
type Prediction =
  | { status: 201; account: (body: LedgerAccount) => void }
  | {
      status: 201
      kind: LedgerTransaction['kind']
      currency: Currency
      amount: number
      deltas: Map<string, number>
      reverses: ModelTransaction | undefined
      /** The account whose balance balanceAfter reports; undefined: the first user account posted. */
      viewpoint: string | undefined
    }
  /** slug undefined: the contract names no problem type, only the status. */
  | { status: number; slug: string | undefined; storable: boolean }

interface StoredAnswer {
  fingerprint: string
  status: number
  body: unknown
}

const storableRefusals = new Set(['insufficient-funds', 'already-reversed'])

class Model {
  accounts: ModelAccount[] = []
  transactions: ModelTransaction[] = []
  /** Stored idempotent answers by caller and key. */
  stored = new Map<string, StoredAnswer>()
  /** The external account of each currency, learned from the first posting to it. */
  external = new Map<string, string>()

  account(id: string) {
    return this.accounts.find((a) => a.id === id) as ModelAccount
  }

  predict(r: Resolved): Prediction {
    const refused = (status: number, slug?: string) => ({
      status,
      slug,
      storable: slug !== undefined && storableRefusals.has(slug),
    })
    switch (r.t) {
      case 'open':
        return { status: 201, account: () => undefined }
      case 'deposit':
      case 'withdraw': {
        const account = this.account(r.account)
        if (account.owner !== r.caller) return refused(404, 'not-found')
        if (r.t === 'withdraw' && account.balance < r.amount) return refused(409, 'insufficient-funds')
        const delta = r.t === 'deposit' ? r.amount : -r.amount
        return {
          status: 201,
          kind: r.t === 'deposit' ? 'deposit' : 'withdrawal',
          currency: account.currency,
          amount: r.amount,
          deltas: new Map([[account.id, delta]]),
          reverses: undefined,
          viewpoint: account.id,
        }
      }
      case 'transfer': {
        const from = this.account(r.from)
        const to = this.account(r.to)
        if (from.owner !== r.caller) return refused(404, 'not-found')
        if (from.currency !== to.currency) return refused(422, 'currency-mismatch')
        if (from.id === to.id) return refused(422)
        if (from.balance < r.amount) return refused(409, 'insufficient-funds')
        return {
          status: 201,
          kind: 'transfer',
          currency: from.currency,
          amount: r.amount,
          deltas: new Map([
            [from.id, -r.amount],
            [to.id, r.amount],
          ]),
          reverses: undefined,
          viewpoint: from.id,
        }
      }
      case 'reverse': {
        if (r.caller !== 'admin') return refused(403, 'forbidden')
        const original = this.transactions.find((t) => t.id === r.transaction) as ModelTransaction
        if (original.final) return refused(409, 'already-reversed')
        for (const [id, delta] of original.deltas)
          if (this.account(id).balance - delta < 0) return refused(409, 'insufficient-funds')
        return {
          status: 201,
          kind: 'reversal',
          currency: original.currency,
          amount: original.amount,
          deltas: new Map([...original.deltas].map(([id, delta]) => [id, -delta])),
          reverses: original,
          viewpoint: undefined,
        }
      }
    }
  }
}

interface Users {
  tokens: Record<'0' | '1' | 'admin', string>
  ids: [string, string]
}

/** Users straight in the repository and tokens from the local key: no password hashing per run. */
async function makeUsers(ledgerd: InProcessLedgerd): Promise<Users> {
  const repository = sqliteUsersRepository(ledgerd.db)
  const issue = createTokenIssuer({
    keys: await loadSigningKeys(ledgerd.config),
    issuer: ledgerd.config.tokenIssuer,
    audience: ledgerd.config.tokenAudience,
    ttlMs: ledgerd.config.tokenTtlMs,
  })
  const make = async (name: string, role: Role) => {
    const email = `${name}@example.com`
    const user = await repository.create({ email, emailKey: email, name, passwordHash: null, role })
    if (!user) throw new Error(`could not create ${email}`)
    const roles: Role[] = role === 'admin' ? ['user', 'admin'] : ['user']
    return { id: user.id, token: (await issue(user.id, roles)).accessToken }
  }
  const [ann, bob, root] = [await make('ann', 'user'), await make('bob', 'user'), await make('root', 'admin')]
  return { tokens: { '0': ann.token, '1': bob.token, admin: root.token }, ids: [ann.id, bob.id] }
}

function request(r: Resolved): { method: string; path: string; body: Record<string, unknown> | undefined } {
  switch (r.t) {
    case 'open':
      return { method: 'POST', path: '/v1/accounts', body: { currency: r.currency } }
    case 'deposit':
      return { method: 'POST', path: `/v1/accounts/${r.account}/deposits`, body: { amount: r.amount } }
    case 'withdraw':
      return { method: 'POST', path: `/v1/accounts/${r.account}/withdrawals`, body: { amount: r.amount } }
    case 'transfer':
      return {
        method: 'POST',
        path: '/v1/transfers',
        body: { fromAccountId: r.from, toAccountId: r.to, amount: r.amount },
      }
    case 'reverse':
      return { method: 'POST', path: `/v1/transactions/${r.transaction}/reversal`, body: undefined }
  }
}

const fingerprint = (r: Resolved) => {
  const { method, path, body } = request(r)
  return `${method} ${path} ${JSON.stringify(body ?? null)}`
}

/** Runs one sequence against a fresh ledger and the model; throws at the first disagreement. */
async function runSequence(ops: Op[]) {
  const ledgerd = await inProcessLedgerd()
  try {
    const users = await makeUsers(ledgerd)
    const api: LedgerClient = ledgerClient(ledgerd.fetch)
    const model = new Model()
    const sent: Resolved[] = []
    const history: string[] = []
    const tokenOf = (caller: Caller) => users.tokens[String(caller) as '0' | '1' | 'admin']

    const send = (r: Resolved) => {
      const { method, path, body } = request(r)
      return api.send<LedgerTransaction>(method, path, {
        token: tokenOf(r.caller),
        body,
        idempotencyKey: r.key,
      })
    }

    const checkTransaction = (
      reply: Reply<LedgerTransaction>,
      expected: Extract<Prediction, { kind: string }>,
      context: string,
    ) => {
      const transaction = reply.body
      expect({ context, ...pickFields(transaction) }).toEqual({
        context,
        kind: expected.kind,
        amount: expected.amount,
        currency: expected.currency,
        // A reversal has no request body; the server may describe it.
        description: expected.kind === 'reversal' ? transaction.description : null,
        reversesId: expected.reverses?.id ?? null,
      })
      expect(transaction.postings.reduce((sum, p) => sum + p.amount, 0)).toBe(0)
      const byAccount = new Map<string, number>()
      for (const p of transaction.postings)
        byAccount.set(p.accountId, (byAccount.get(p.accountId) ?? 0) + p.amount)
      const userPostings = new Map([...byAccount].filter(([id]) => model.accounts.some((a) => a.id === id)))
      expect({ context, postings: Object.fromEntries(userPostings) }).toEqual({
        context,
        postings: Object.fromEntries(expected.deltas),
      })
      const externalAmount = -[...expected.deltas.values()].reduce((sum, d) => sum + d, 0)
      const externalPostings = [...byAccount].filter(([id]) => !userPostings.has(id))
      if (externalAmount === 0) expect(externalPostings).toEqual([])
      else {
        expect(externalPostings).toHaveLength(1)
        const [externalId, amount] = externalPostings[0] as [string, number]
        expect(amount).toBe(externalAmount)
        const known = model.external.get(expected.currency)
        if (known) expect(externalId).toBe(known)
        else model.external.set(expected.currency, externalId)
      }
    }

    const run = async (r: Resolved) => {
      const fresh = model.predict(r)
      const slot = r.key === undefined ? undefined : `${String(r.caller)}:${r.key}`
      const stored = slot === undefined ? undefined : model.stored.get(slot)
      // Whether a refusal (404, 403, 422) or the key check comes first is not in the contract: keep
      // such requests off keys that are taken.
      if (stored && stored.fingerprint !== fingerprint(r) && 'slug' in fresh && !fresh.storable)
        return run({ ...r, key: undefined })
      sent.push(r)
      const context = `${history.length}: ${JSON.stringify(r)}`
      history.push(context)
      const reply = await send(r)

      if (stored) {
        if (stored.fingerprint === fingerprint(r)) {
          expect({ context, status: reply.status, replayed: reply.replayed }).toEqual({
            context,
            status: stored.status,
            replayed: true,
          })
          expect(reply.body as unknown).toEqual(stored.body)
        } else {
          expect({ context, status: reply.status, type: reply.problem?.type }).toEqual({
            context,
            status: 422,
            type: '/problems/idempotency-key-reused',
          })
        }
        return
      }

      expect({ context, status: reply.status, replayed: reply.replayed }).toEqual({
        context,
        status: fresh.status,
        replayed: false,
      })
      if ('slug' in fresh) {
        if (fresh.slug)
          expect({ context, type: reply.problem.type }).toEqual({ context, type: `/problems/${fresh.slug}` })
        if (slot && fresh.storable)
          model.stored.set(slot, { fingerprint: fingerprint(r), status: reply.status, body: reply.body })
        return
      }
      if (slot)
        model.stored.set(slot, { fingerprint: fingerprint(r), status: reply.status, body: reply.body })
      if ('account' in fresh) {
        if (r.t !== 'open') throw new Error('unreachable')
        const opened = reply.body as unknown as LedgerAccount
        expect({ context, ...opened, id: '', createdAt: '' }).toEqual({
          context,
          id: '',
          ownerId: users.ids[r.caller],
          currency: r.currency,
          exponent: exponents[r.currency],
          balance: 0,
          createdAt: '',
        })
        model.accounts.push({ id: opened.id, owner: r.caller, currency: r.currency, balance: 0 })
        return
      }
      checkTransaction(reply, fresh, context)
      for (const [id, delta] of fresh.deltas) model.account(id).balance += delta
      if (fresh.reverses) fresh.reverses.final = true
      model.transactions.push({
        id: reply.body.id,
        kind: fresh.kind,
        currency: fresh.currency,
        amount: fresh.amount,
        deltas: fresh.deltas,
        final: fresh.kind === 'reversal',
      })
      const viewpoint =
        fresh.viewpoint ?? reply.body.postings.find((p) => fresh.deltas.has(p.accountId))?.accountId
      expect({ context, balanceAfter: reply.body.balanceAfter }).toEqual({
        context,
        balanceAfter: model.account(viewpoint as string).balance,
      })
    }

    const checkBalances = async () => {
      for (const account of model.accounts) {
        const reply = await api.getAccount(tokenOf(account.owner), account.id)
        expect({ step: history.at(-1), id: account.id, balance: reply.body.balance }).toEqual({
          step: history.at(-1),
          id: account.id,
          balance: account.balance,
        })
      }
    }

    // A few funded accounts to start with, so that most sequences move money from their first operation.
    for (const [owner, currency] of [
      [0, 'USD'],
      [1, 'USD'],
      [0, 'JPY'],
    ] as const)
      await run({ t: 'open', caller: owner, currency, key: undefined })
    for (const account of [...model.accounts])
      await run({ t: 'deposit', caller: account.owner, account: account.id, amount: 500, key: undefined })

    for (const op of ops) {
      const resolved = resolve(op, model, sent)
      if (!resolved) continue
      await run(resolved)
      await checkBalances()
    }

    // Every account lists exactly the transactions that moved it, the newest reporting its balance.
    for (const account of model.accounts) {
      const listed = await api.allTransactions(tokenOf(account.owner), account.id, 7)
      const expected = model.transactions.filter((t) => t.deltas.has(account.id)).map((t) => t.id)
      expect(listed.map((t) => t.id)).toEqual([...expected].reverse())
      if (listed[0]) expect(listed[0].balanceAfter).toBe(account.balance)
    }

    // Ledger-wide: each currency sums to zero, no user account is below zero, the verifier agrees.
    // Straight from the table: the external accounts are not readable through the API.
    const totals = ledgerd.db.all<{ currency: string; kind: string; total: number; lowest: number }>(
      `SELECT currency, CASE WHEN owner_id IS NULL THEN 'external' ELSE 'user' END AS kind,
              sum(balance) AS total, min(balance) AS lowest
       FROM accounts GROUP BY currency, kind`,
    )
    for (const currency of currencies) {
      const userTotal = model.accounts
        .filter((a) => a.currency === currency)
        .reduce((s, a) => s + a.balance, 0)
      const rows = totals.filter((row) => row.currency === currency)
      expect(rows.reduce((sum, row) => sum + row.total, 0)).toBe(0)
      expect(rows.find((row) => row.kind === 'user')?.total ?? 0).toBe(userTotal)
      expect(rows.find((row) => row.kind === 'user')?.lowest ?? 0).toBeGreaterThanOrEqual(0)
    }
    expect(verifyLedger(ledgerd.db).violations).toEqual([])
  } finally {
    ledgerd.dispose()
  }
}

const pickFields = (t: LedgerTransaction) => ({
  kind: t.kind,
  amount: t.amount,
  currency: t.currency,
  description: t.description,
  reversesId: t.reversesId,
})

function resolve(op: Op, model: Model, sent: Resolved[]): Resolved | undefined {
  const { accounts, transactions } = model
  switch (op.t) {
    case 'open':
      return { t: 'open', caller: op.owner, currency: op.currency, key: op.key }
    case 'deposit':
    case 'withdraw': {
      const account = accounts[op.account % accounts.length] as ModelAccount
      const caller = op.stranger ? other(account.owner) : account.owner
      return { t: op.t, caller, account: account.id, amount: op.amount, key: op.key }
    }
    case 'transfer': {
      const from = accounts[op.from % accounts.length] as ModelAccount
      const to = accounts[op.to % accounts.length] as ModelAccount
      // Someone else's account to itself: 404 or 422, the contract does not say which check comes first.
      if (op.stranger && from.id === to.id) return undefined
      const caller = op.stranger ? other(from.owner) : from.owner
      return { t: 'transfer', caller, from: from.id, to: to.id, amount: op.amount, key: op.key }
    }
    case 'reverse': {
      const transaction = transactions[op.transaction % Math.max(transactions.length, 1)]
      if (!transaction) return undefined
      return { t: 'reverse', caller: op.byAdmin ? 'admin' : 0, transaction: transaction.id, key: op.key }
    }
    case 'replay': {
      const keyed = sent.filter((r) => r.key !== undefined)
      return keyed[op.request % Math.max(keyed.length, 1)]
    }
  }
}

describe('the ledger against a model of the contract', () => {
  test('random sequences agree on every status, transaction and balance', async () => {
    const sequences = fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' })
    await fc.assert(fc.asyncProperty(sequences, runSequence), {
      numRuns: 100,
    })
    // A hang guard: 100 runs take ~20 s on a quiet machine and over a minute on a loaded one.
  }, 180_000)
})
