import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  type Caller,
  InvalidCursorError,
  type LedgerEngine,
  maxAmount,
  type Result,
  type Transaction,
} from '../../../src/ledger/engine'

// What every ledger engine must do, in domain terms: SQLite today, PostgreSQL next. An engine's test file
// calls describeLedgerEngine with a way to make one over a fresh database, and these run unchanged.

export interface EngineFixture {
  engine: LedgerEngine
  /** A live user in the engine's database (users are not the ledger's, but transfers check liveness). */
  createUser(): Promise<string>
  deleteUser(id: string): Promise<void>
  dispose(): Promise<void>
}

const value = <T>(result: Result<T>): T => {
  if (!result.ok) throw new Error(`refused: ${result.refusal.code} ${result.refusal.detail ?? ''}`)
  return result.value
}

const refusalOf = (result: Result<unknown>) => (result.ok ? undefined : result.refusal.code)

let keys = 0
const withKey = (userId: string, key = `key-${keys++}`): Caller => ({
  userId,
  idempotency: { key, requestId: `request-${keys}` },
})

export function describeLedgerEngine(name: string, open: () => Promise<EngineFixture>) {
  describe(`ledger engine contract: ${name}`, () => {
    let fixture: EngineFixture
    let engine: LedgerEngine
    // Generous: opening may start a database server first (PostgreSQL's initdb takes seconds on a busy
    // machine). The tests themselves keep the default timeout.
    beforeAll(async () => {
      fixture = await open()
      engine = fixture.engine
    }, 60_000)
    afterAll(() => fixture.dispose())

    const user = async () => {
      const userId = await fixture.createUser()
      return { userId }
    }
    const openAccount = async (caller: Caller, currency = 'USD') =>
      value(await engine.openAccount(caller, { op: 'open-account', currency }))
    const deposit = async (caller: Caller, accountId: string, amount: number, description?: string) =>
      engine.move(caller, { op: 'deposit', accountId, amount, description })
    const withdraw = async (caller: Caller, accountId: string, amount: number) =>
      engine.move(caller, { op: 'withdrawal', accountId, amount })
    const balance = async (accountId: string) => (await engine.account(accountId))?.balance

    test('an opened account is the owner’s, empty, listed and readable', async () => {
      const ann = await user()
      const account = await openAccount(ann, 'JPY')
      expect(account).toMatchObject({ ownerId: ann.userId, currency: 'JPY', balance: 0 })
      expect(await engine.account(account.id)).toEqual(account)
      expect((await engine.accountsOf(ann.userId, undefined, 10)).map((a) => a.id)).toEqual([account.id])
      expect(await engine.account('00000000-0000-0000-0000-000000000000')).toBeUndefined()
    })

    test('deposits and withdrawals move the balance; each transaction has a debit and a credit leg', async () => {
      const ann = await user()
      const account = await openAccount(ann)
      const made = value(await deposit(ann, account.id, 500, 'salary'))
      expect(made).toMatchObject({ kind: 'deposit', amount: 500, currency: 'USD', description: 'salary' })
      expect(made.postings.map((p) => p.amount)).toEqual([-500, 500])
      expect(made.postings[1]).toMatchObject({
        accountId: account.id,
        ownerId: ann.userId,
        balanceAfter: 500,
      })
      expect(made.postings[0].ownerId).toBeNull()
      const taken = value(await withdraw(ann, account.id, 200))
      expect(taken.postings[0]).toMatchObject({ accountId: account.id, amount: -200, balanceAfter: 300 })
      expect(await balance(account.id)).toBe(300)
      expect(await engine.transaction(made.id)).toEqual(made)
    })

    test('a withdrawal past the balance is refused and changes nothing', async () => {
      const ann = await user()
      const account = await openAccount(ann)
      await deposit(ann, account.id, 100)
      expect(refusalOf(await withdraw(ann, account.id, 101))).toBe('insufficient-funds')
      expect(await balance(account.id)).toBe(100)
      expect((await engine.history(account.id, undefined, 10)).items).toHaveLength(1)
    })

    test('200 concurrent withdrawals of 1 from 100: exactly 100 succeed', async () => {
      const ann = await user()
      const account = await openAccount(ann)
      await deposit(ann, account.id, 100)
      const results = await Promise.all(Array.from({ length: 200 }, () => withdraw(ann, account.id, 1)))
      expect(results.filter((r) => r.ok)).toHaveLength(100)
      expect(results.filter((r) => refusalOf(r) === 'insufficient-funds')).toHaveLength(100)
      expect(await balance(account.id)).toBe(0)
    })

    test("only the owner moves money: someone else's or an unknown account is not found", async () => {
      const [ann, bob] = [await user(), await user()]
      const account = await openAccount(ann)
      await deposit(ann, account.id, 50)
      expect(refusalOf(await deposit(bob, account.id, 5))).toBe('not-found')
      expect(refusalOf(await withdraw(bob, account.id, 5))).toBe('not-found')
      expect(refusalOf(await deposit(ann, crypto.randomUUID(), 5))).toBe('not-found')
      expect(await balance(account.id)).toBe(50)
    })

    test('transfers: between two users, never to the same account, another currency or a deleted user', async () => {
      const [ann, bob, gone] = [await user(), await user(), await user()]
      const [annUsd, annEur, bobUsd, goneUsd] = [
        await openAccount(ann),
        await openAccount(ann, 'EUR'),
        await openAccount(bob),
        await openAccount(gone),
      ]
      await deposit(ann, annUsd.id, 100)
      const sent = value(
        await engine.move(ann, {
          op: 'transfer',
          fromAccountId: annUsd.id,
          toAccountId: bobUsd.id,
          amount: 30,
        }),
      )
      expect(sent.postings).toEqual([
        { accountId: annUsd.id, ownerId: ann.userId, amount: -30, balanceAfter: 70 },
        { accountId: bobUsd.id, ownerId: bob.userId, amount: 30, balanceAfter: 30 },
      ])
      const transfer = (from: string, to: string, caller = ann) =>
        engine.move(caller, { op: 'transfer', fromAccountId: from, toAccountId: to, amount: 1 })
      expect(refusalOf(await transfer(annUsd.id, annUsd.id))).toBe('same-account')
      expect(refusalOf(await transfer(annUsd.id, annEur.id))).toBe('currency-mismatch')
      expect(refusalOf(await transfer(bobUsd.id, annUsd.id))).toBe('not-found')
      await fixture.deleteUser(gone.userId)
      expect(refusalOf(await transfer(annUsd.id, goneUsd.id))).toBe('destination-not-found')
      expect([await balance(annUsd.id), await balance(bobUsd.id), await balance(goneUsd.id)]).toEqual([
        70, 30, 0,
      ])
    })

    test('a reversal mirrors its original once; never of a reversal; refused when the money has moved on', async () => {
      const [ann, admin] = [await user(), await user()]
      const account = await openAccount(ann)
      const made = value(await deposit(ann, account.id, 80))
      const reversal = value(await engine.move(admin, { op: 'reversal', transactionId: made.id }))
      expect(reversal).toMatchObject({
        kind: 'reversal',
        amount: 80,
        reversesId: made.id,
        createdBy: admin.userId,
      })
      expect(reversal.postings.map((p) => [p.accountId, p.amount])).toEqual(
        made.postings.map((p) => [p.accountId, -p.amount]),
      )
      expect(await balance(account.id)).toBe(0)
      const again = await engine.move(admin, { op: 'reversal', transactionId: made.id })
      expect(refusalOf(again)).toBe('already-reversed')
      expect(refusalOf(await engine.move(admin, { op: 'reversal', transactionId: reversal.id }))).toBe(
        'already-reversed',
      )
      const spent = value(await deposit(ann, account.id, 40))
      await withdraw(ann, account.id, 30)
      expect(refusalOf(await engine.move(admin, { op: 'reversal', transactionId: spent.id }))).toBe(
        'insufficient-funds',
      )
      expect(
        refusalOf(await engine.move(admin, { op: 'reversal', transactionId: crypto.randomUUID() })),
      ).toBe('not-found')
      expect(await balance(account.id)).toBe(10)
    })

    test('one user balance stops at 2^53-1; the external account does not cap anyone else', async () => {
      const [whale, minnow] = [await user(), await user()]
      const [big, small] = [await openAccount(whale, 'CHF'), await openAccount(minnow, 'CHF')]
      expect(value(await deposit(whale, big.id, maxAmount)).postings[1].balanceAfter).toBe(maxAmount)
      expect(refusalOf(await deposit(whale, big.id, 1))).toBe('balance-limit')
      // The external CHF account is now at -(2^53-1): another user's deposits still go through.
      expect(value(await deposit(minnow, small.id, maxAmount)).postings[1].balanceAfter).toBe(maxAmount)
      expect(value(await withdraw(minnow, small.id, maxAmount)).postings[0].balanceAfter).toBe(0)
      expect((await engine.verify()).violations).toEqual([])
    })

    describe('idempotency keys', () => {
      test('the same command again is the same answer, replayed, with one effect', async () => {
        const ann = await user()
        const account = await openAccount(ann)
        const caller = withKey(ann.userId)
        const first = await deposit(caller, account.id, 25, 'once')
        const second = await deposit(caller, account.id, 25, 'once')
        expect(first.replayed).toBe(false)
        expect(second).toEqual({ ...first, replayed: true })
        expect(await balance(account.id)).toBe(25)
        const opening = withKey(ann.userId)
        const opened = await engine.openAccount(opening, { op: 'open-account', currency: 'GBP' })
        const reopened = await engine.openAccount(opening, { op: 'open-account', currency: 'GBP' })
        expect(reopened).toEqual({ ...opened, replayed: true })
        expect(await engine.accountsOf(ann.userId, undefined, 10)).toHaveLength(2)
      })

      test('another command with the key is refused, whatever it is, and does nothing', async () => {
        const ann = await user()
        const [account, other] = [await openAccount(ann), await openAccount(ann)]
        const caller = withKey(ann.userId)
        value(await deposit(caller, account.id, 5))
        for (const attempt of [
          () => deposit(caller, account.id, 6),
          () => deposit(caller, account.id, 5, 'x'),
          () => deposit(caller, other.id, 5),
          () => withdraw(caller, account.id, 5),
          () => engine.openAccount(caller, { op: 'open-account', currency: 'USD' }),
          () =>
            engine.move(caller, {
              op: 'transfer',
              fromAccountId: account.id,
              toAccountId: other.id,
              amount: 5,
            }),
        ]) {
          expect(refusalOf(await attempt())).toBe('idempotency-key-reused')
        }
        expect([await balance(account.id), await balance(other.id)]).toEqual([5, 0])
        expect(await engine.accountsOf(ann.userId, undefined, 10)).toHaveLength(2)
      })

      test('a business refusal is kept with its key and replayed, even once the command would pass', async () => {
        const ann = await user()
        const account = await openAccount(ann)
        const caller = withKey(ann.userId)
        const refused = await withdraw(caller, account.id, 5)
        expect(refusalOf(refused)).toBe('insufficient-funds')
        await deposit(ann, account.id, 10)
        const again = await withdraw(
          { userId: ann.userId, idempotency: { key: caller.idempotency?.key ?? '' } },
          account.id,
          5,
        )
        expect(again).toEqual({ ...refused, replayed: true })
        expect(refusalOf(await withdraw(caller, account.id, 6))).toBe('idempotency-key-reused')
        expect(await balance(account.id)).toBe(10)
      })

      test('a refusal before anything runs (not found) leaves the key free', async () => {
        const [ann, bob] = [await user(), await user()]
        const [account, bobs] = [await openAccount(ann), await openAccount(bob)]
        const caller = withKey(ann.userId)
        expect(refusalOf(await deposit(caller, bobs.id, 5))).toBe('not-found')
        expect((await deposit(caller, account.id, 5)).replayed).toBe(false)
        expect(await balance(account.id)).toBe(5)
      })

      test('keys belong to their caller', async () => {
        const [ann, bob] = [await user(), await user()]
        const [annAccount, bobAccount] = [await openAccount(ann), await openAccount(bob)]
        const a = await deposit(withKey(ann.userId, 'shared'), annAccount.id, 7)
        const b = await deposit(withKey(bob.userId, 'shared'), bobAccount.id, 7)
        expect(b.replayed).toBe(false)
        expect(value(b).id).not.toBe(value(a).id)
      })

      test('one key sent many times at once: one effect; every answer is it, or key-in-use', async () => {
        const ann = await user()
        const account = await openAccount(ann)
        await deposit(ann, account.id, 1_000)
        const caller = withKey(ann.userId)
        const results = await Promise.all(Array.from({ length: 30 }, () => withdraw(caller, account.id, 10)))
        const effects = results.filter((r) => r.ok && !r.replayed)
        expect(effects).toHaveLength(1)
        for (const result of results) {
          if (result.ok) expect(value(result)).toEqual(value(effects[0] as Result<Transaction>))
          else expect(result.refusal.code).toBe('idempotency-key-in-use')
        }
        expect(await balance(account.id)).toBe(990)
      })

      test('purged keys are forgotten: the command runs again; newer keys are kept', async () => {
        const ann = await user()
        const account = await openAccount(ann)
        const old = withKey(ann.userId)
        await deposit(old, account.id, 1)
        const cutoff = Date.now() + 1
        await Bun.sleep(5)
        const recent = withKey(ann.userId)
        await deposit(recent, account.id, 1)
        expect(await engine.purgeIdempotencyKeys(cutoff)).toBeGreaterThanOrEqual(1)
        expect((await deposit(old, account.id, 1)).replayed).toBe(false)
        expect((await deposit(recent, account.id, 1)).replayed).toBe(true)
        expect(await balance(account.id)).toBe(3)
      })
    })

    test('history: newest first, in pages that a concurrent write does not disturb', async () => {
      const ann = await user()
      const [account, other] = [await openAccount(ann), await openAccount(ann)]
      const made: string[] = []
      for (let amount = 1; amount <= 5; amount++) made.push(value(await deposit(ann, account.id, amount)).id)
      await deposit(ann, other.id, 9)
      await deposit(ann, other.id, 9)
      const first = await engine.history(account.id, undefined, 2)
      expect(first.items.map((t) => t.id)).toEqual(made.slice(3).reverse())
      await deposit(ann, account.id, 100)
      const second = await engine.history(account.id, first.next, 2)
      const third = await engine.history(account.id, second.next, 2)
      expect([...second.items, ...third.items].map((t) => t.id)).toEqual(made.slice(0, 3).reverse())
      expect(third.next).toBeUndefined()
      // Another account's position is not a cursor of this one.
      const foreign = (await engine.history(other.id, undefined, 1)).next
      expect(foreign).toBeDefined()
      await expect(engine.history(account.id, foreign, 2)).rejects.toBeInstanceOf(InvalidCursorError)
      await expect(engine.history(account.id, 'not-a-cursor', 2)).rejects.toBeInstanceOf(InvalidCursorError)
    })

    test('writes are durable and consistent: verify passes', async () => {
      const report = await engine.verify()
      expect(report.violations).toEqual([])
      expect(report.transactions).toBeGreaterThan(0)
    })
  })
}
