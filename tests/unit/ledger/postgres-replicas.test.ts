import { afterEach, describe, expect, test } from 'bun:test'
import {
  type Caller,
  type LedgerEngine,
  LedgerInputError,
  maxAmount,
  type Result,
  type Transaction,
} from '../../../src/ledger/engine'
import { type LedgerDatabase, ledgerDatabase } from '../../support/postgres-ledger'

// Several ledgerd replicas on one PostgreSQL database: each engine below has a pool of its own, as a
// separate process would. What the contract suite checks within one engine must hold across them.

let database: LedgerDatabase
afterEach(() => database?.dispose())

/** Not a measure of speed: a bound for a loaded 2-core machine, where a hang still fails the test. */
const bound = { timeout: 60_000 }

const replicas = async (count: number) => {
  database = await ledgerDatabase()
  return Array.from({ length: count }, () => database.replica().engine)
}

const value = <T>(result: Result<T>): T => {
  if (!result.ok) throw new Error(`refused: ${result.refusal.code}`)
  return result.value
}
const refusalOf = (result: Result<unknown>) => (result.ok ? undefined : result.refusal.code)

async function fundedAccount(engine: LedgerEngine, amount: number, currency = 'USD') {
  const userId = await database.createUser()
  const account = value(await engine.openAccount({ userId }, { op: 'open-account', currency }))
  if (amount > 0) value(await engine.move({ userId }, { op: 'deposit', accountId: account.id, amount }))
  return { userId, accountId: account.id }
}

describe('PostgreSQL ledger across replicas', () => {
  test(
    '200 concurrent withdrawals of 1 from 100 over 3 replicas: exactly 100 succeed',
    async () => {
      const engines = await replicas(3)
      const [first] = engines as [LedgerEngine]
      const { userId, accountId } = await fundedAccount(first, 100)
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (engines[i % 3] as LedgerEngine).move({ userId }, { op: 'withdrawal', accountId, amount: 1 }),
        ),
      )
      expect(results.filter((r) => r.ok)).toHaveLength(100)
      expect(results.filter((r) => refusalOf(r) === 'insufficient-funds')).toHaveLength(100)
      expect((await first.account(accountId))?.balance).toBe(0)
      expect((await first.verify()).violations).toEqual([])
    },
    bound,
  )

  test(
    'one key sent 30 times at once over 3 replicas: one effect, every answer it or key-in-use',
    async () => {
      const engines = await replicas(3)
      const [first] = engines as [LedgerEngine]
      const { userId, accountId } = await fundedAccount(first, 10_000)
      // Each replica has looked the account up already, so all of them reach the key at the same time.
      for (const engine of engines)
        value(await engine.move({ userId }, { op: 'deposit', accountId, amount: 1 }))
      const keys = Array.from({ length: 10 }, (_, k) => `once-across-the-fleet-${k}`)
      const sent = keys.map((key) => {
        const caller: Caller = { userId, idempotency: { key, requestId: `request-${key}` } }
        return Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (engines[i % 3] as LedgerEngine).move(caller, { op: 'withdrawal', accountId, amount: 10 }),
          ),
        )
      })
      for (const [k, results] of (await Promise.all(sent)).entries()) {
        const effects = results.filter((r) => r.ok && !r.replayed)
        expect(effects).toHaveLength(1)
        for (const result of results) {
          if (result.ok) expect(value(result)).toEqual(value(effects[0] as Result<Transaction>))
          else expect(result.refusal.code).toBe('idempotency-key-in-use')
        }
        const [rows] = await database.admin<{ n: string }[]>`
        SELECT count(*) AS n FROM transactions WHERE idem_key = ${keys[k] as string}`
        expect(Number(rows?.n)).toBe(1)
      }
      expect((await first.account(accountId))?.balance).toBe(10_003 - 10 * keys.length)
      // Once it has finished, every replica replays it.
      const caller: Caller = { userId, idempotency: { key: keys[0] as string } }
      const original = await first.move(caller, { op: 'withdrawal', accountId, amount: 10 })
      expect(original.replayed).toBe(true)
      for (const engine of engines) {
        expect(await engine.move(caller, { op: 'withdrawal', accountId, amount: 10 })).toEqual(original)
      }
    },
    bound,
  )

  test(
    'transfers A→B and B→A at once over 3 replicas: no deadlock surfaces, money is conserved',
    async () => {
      const engines = await replicas(3)
      const [first] = engines as [LedgerEngine]
      const a = await fundedAccount(first, 1_000)
      const b = await fundedAccount(first, 1_000)
      const results = await Promise.all(
        Array.from({ length: 150 }, (_, i) => {
          const [from, to] = i % 2 === 0 ? [a, b] : [b, a]
          return (engines[i % 3] as LedgerEngine).move(
            { userId: from.userId },
            { op: 'transfer', fromAccountId: from.accountId, toAccountId: to.accountId, amount: 1 + (i % 7) },
          )
        }),
      )
      // Every one is carried out: each side starts with far more than the other can take from it.
      expect(results.filter((r) => !r.ok)).toEqual([])
      const balances = [
        (await first.account(a.accountId))?.balance,
        (await first.account(b.accountId))?.balance,
      ]
      expect((balances[0] ?? 0) + (balances[1] ?? 0)).toBe(2_000)
      expect((await first.verify()).violations).toEqual([])
    },
    bound,
  )

  test(
    'one transaction reversed from 3 replicas at once: reversed once, the others already-reversed',
    async () => {
      const engines = await replicas(3)
      const [first] = engines as [LedgerEngine]
      const { userId, accountId } = await fundedAccount(first, 0)
      const admin = { userId: await database.createUser() }
      const made = value(await first.move({ userId }, { op: 'deposit', accountId, amount: 70 }))
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (engines[i % 3] as LedgerEngine).move(admin, { op: 'reversal', transactionId: made.id }),
        ),
      )
      expect(results.filter((r) => r.ok)).toHaveLength(1)
      expect(results.filter((r) => refusalOf(r) === 'already-reversed')).toHaveLength(11)
      expect((await first.account(accountId))?.balance).toBe(0)
      expect((await first.verify()).violations).toEqual([])
    },
    bound,
  )

  test(
    'a purge run by 3 replicas at once forgets each key once',
    async () => {
      const engines = await replicas(3)
      const [first] = engines as [LedgerEngine]
      const { userId, accountId } = await fundedAccount(first, 0)
      const keys = 1_000
      for (let sent = 0; sent < keys; sent += 250) {
        await Promise.all(
          Array.from({ length: 250 }, (_, i) =>
            (engines[i % 3] as LedgerEngine).move(
              { userId, idempotency: { key: `old-${sent + i}` } },
              { op: 'deposit', accountId, amount: 1 },
            ),
          ),
        )
      }
      const cutoff = Date.now() + 1
      const purged = await Promise.all(engines.map((engine) => engine.purgeIdempotencyKeys(cutoff)))
      // Each replica stops when it finds another purging, so one may end early; run again until done.
      let total = purged.reduce((sum, n) => sum + n, 0)
      for (
        let n = await first.purgeIdempotencyKeys(cutoff);
        n > 0;
        n = await first.purgeIdempotencyKeys(cutoff)
      ) {
        total += n
      }
      expect(total).toBe(keys)
      const [left] = await database.admin<{ n: string }[]>`
      SELECT count(*) AS n FROM transactions WHERE idem_key IS NOT NULL`
      expect(Number(left?.n)).toBe(0)
      expect(await first.purgeIdempotencyKeys(cutoff)).toBe(0)
    },
    bound,
  )

  test(
    "one user's 2^53-1 deposit does not cap another user's deposits, on another replica",
    async () => {
      const [one, two] = (await replicas(2)) as [LedgerEngine, LedgerEngine]
      const whale = await fundedAccount(one, 0, 'CHF')
      const minnow = await fundedAccount(two, 0, 'CHF')
      const third = await fundedAccount(two, 0, 'CHF')
      const deposit = (engine: LedgerEngine, who: typeof whale) =>
        engine.move({ userId: who.userId }, { op: 'deposit', accountId: who.accountId, amount: maxAmount })
      expect(value(await deposit(one, whale)).postings[1].balanceAfter).toBe(maxAmount)
      expect(
        refusalOf(
          await one.move({ userId: whale.userId }, { op: 'deposit', accountId: whale.accountId, amount: 1 }),
        ),
      ).toBe('balance-limit')
      // The external CHF side now owes 2·(2^53-1), then 3·(2^53-1): past what a JSON number carries.
      expect(value(await deposit(two, minnow)).postings[1].balanceAfter).toBe(maxAmount)
      expect(value(await deposit(one, third)).postings[1].balanceAfter).toBe(maxAmount)
      expect((await two.verify()).violations).toEqual([])
    },
    bound,
  )

  test(
    'text PostgreSQL cannot store is refused as input, never a generic error',
    async () => {
      const [engine] = (await replicas(1)) as [LedgerEngine]
      const { userId, accountId } = await fundedAccount(engine, 10)
      const withNul = engine.move(
        { userId },
        { op: 'deposit', accountId, amount: 1, description: 'a\u0000b' },
      )
      await expect(withNul).rejects.toBeInstanceOf(LedgerInputError)
      // An id with U+0000 names no account or transaction.
      expect(
        refusalOf(
          await engine.move(
            { userId },
            { op: 'transfer', fromAccountId: accountId, toAccountId: 'x\u0000', amount: 1 },
          ),
        ),
      ).toBe('destination-not-found')
      expect(refusalOf(await engine.move({ userId }, { op: 'reversal', transactionId: '\u0000' }))).toBe(
        'not-found',
      )
      expect(await engine.account('\u0000')).toBeUndefined()
      expect(await engine.transaction('\u0000')).toBeUndefined()
      expect((await engine.account(accountId))?.balance).toBe(10)
      expect(await engine.writeProblem()).toBeUndefined()
    },
    bound,
  )
})
