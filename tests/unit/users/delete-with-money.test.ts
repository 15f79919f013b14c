import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { sqliteMigrations } from '../../../src/db/migrations/sqlite'
import { migrate } from '../../../src/db/migrator'
import { openDatabase } from '../../../src/db/open'
import type { Sql } from '../../../src/db/postgres/connection'
import { HttpProblem } from '../../../src/http/problem'
import type { Account, Caller, LedgerEngine, Result } from '../../../src/ledger/engine'
import { openSqliteLedgerEngine } from '../../../src/ledger/sqlite/engine'
import { postgresUsersRepository } from '../../../src/users/postgres-repository'
import { sqliteUsersRepository, type UsersRepository } from '../../../src/users/repository'
import { type AccountsOf, deleteUser } from '../../../src/users/service'
import { openTestDatabase } from '../../support/databases'
import { tempDir } from '../../support/ledgerd-process'
import { type LedgerDatabase, ledgerDatabase, poolFor } from '../../support/postgres-ledger'
import { migratedDatabase, openTestPool } from '../../support/postgres-pools'

// Deleting a user while money arrives: the service's check and the delete are not one transaction, so
// the delete itself must refuse when an account holds money, and on PostgreSQL a movement that credits
// a user and that user's delete must not both pass each other's checks (users/postgres-repository.ts
// explains the lock order). Once the delete has committed, nothing credits the user's accounts again:
// neither the user's own request authenticated before it, nor an admin's reversal.

interface Engine {
  users: UsersRepository
  /** An account of the user's holding `balance`, written straight into the accounts table. */
  openAccount(ownerId: string, balance: number): Promise<Account>
  dispose(): Promise<void>
}

async function sqliteEngine(): Promise<Engine> {
  const handle = await openTestDatabase('bun-sqlite')
  migrate(handle.db, sqliteMigrations)
  const insert = handle.db.statement(
    'INSERT INTO accounts (id, owner_id, currency, balance, created_at) VALUES (?, ?, ?, ?, ?)',
  )
  return {
    users: sqliteUsersRepository(handle.db),
    async openAccount(ownerId, balance) {
      const account = { id: Bun.randomUUIDv7(), ownerId, currency: 'EUR', balance, createdAt: Date.now() }
      insert.run(account.id, ownerId, account.currency, balance, account.createdAt)
      return account
    },
    dispose: async () => handle.dispose(),
  }
}

async function postgresEngine(): Promise<Engine> {
  const sql = openTestPool(await migratedDatabase('delete'))
  return {
    users: postgresUsersRepository(sql),
    async openAccount(ownerId, balance) {
      const account = { id: Bun.randomUUIDv7(), ownerId, currency: 'EUR', balance, createdAt: Date.now() }
      await sql`INSERT INTO accounts (id, owner_id, currency, balance, created_at)
        VALUES (${account.id}, ${ownerId}, ${account.currency}, ${balance}, ${account.createdAt})`
      return account
    },
    dispose: () => sql.end(),
  }
}

const newUser = () => {
  const email = `delete-${crypto.randomUUID()}@example.com`
  return { email, emailKey: email, name: 'Del Ete', passwordHash: null, role: 'user' as const }
}

for (const [name, open] of [
  ['SQLite', sqliteEngine],
  ['PostgreSQL', postgresEngine],
] as const) {
  describe(`deleteUser racing money on ${name}`, () => {
    let engine: Engine
    beforeAll(async () => {
      engine = await open()
    }, 60_000)
    afterAll(() => engine.dispose())

    test('money that arrives after the check is refused by the delete itself: 409 naming the account, user live', async () => {
      const user = await engine.users.create(newUser())
      if (!user) throw new Error('create refused a fresh email')
      const account = await engine.openAccount(user.id, 25)
      // The ledger's listing as it was before a transfer committed, then as it is.
      let listings = 0
      const accountsOf: AccountsOf = async () => (listings++ === 0 ? [{ ...account, balance: 0 }] : [account])
      const principal = { userId: user.id, roles: [], isAdmin: false }
      const refused = await deleteUser(engine.users, principal, user.id, accountsOf).catch((error) => error)
      expect(refused).toBeInstanceOf(HttpProblem)
      expect(refused).toMatchObject({
        type: 'balance-not-zero',
        status: 409,
        extensions: { accounts: [{ id: account.id, currency: 'EUR', balance: 25 }] },
      })
      expect(await engine.users.findById(user.id)).toEqual(user)
    })
  })
}

/** A real ledger and the users beside it in one database, as `ledgerd serve` has them. */
interface Ledger {
  engine: LedgerEngine
  users: UsersRepository
  createUser(): Promise<string>
  dispose(): Promise<void>
}

async function sqliteLedger(): Promise<Ledger> {
  const dataDir = tempDir('ledgerd-delete-')
  const config = { dataDir, dbDriver: 'bun-sqlite' as const, sqliteBusyTimeoutMs: 1000 }
  const db = await openDatabase(config)
  migrate(db, sqliteMigrations)
  const users = sqliteUsersRepository(db)
  const engine = await openSqliteLedgerEngine(config, db, {
    committed: () => {},
    failed: () => {},
    stopped: () => {},
  })
  return {
    engine,
    users,
    async createUser() {
      const user = await users.create(newUser())
      if (!user) throw new Error('create refused a fresh email')
      return user.id
    },
    async dispose() {
      await engine.close()
      db.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

async function postgresLedger(): Promise<Ledger> {
  const db = await ledgerDatabase()
  return {
    engine: db.replica().engine,
    users: postgresUsersRepository(db.admin),
    createUser: () => db.createUser(),
    dispose: () => db.dispose(),
  }
}

const value = <T>(result: Result<T>): T => {
  if (!result.ok) throw new Error(`refused: ${result.refusal.code}`)
  return result.value
}

for (const [name, open] of [
  ['SQLite', sqliteLedger],
  ['PostgreSQL', postgresLedger],
] as const) {
  describe(`money credited after the owner's delete on ${name}`, () => {
    let ledger: Ledger
    beforeAll(async () => {
      ledger = await open()
    }, 60_000)
    afterAll(() => ledger.dispose())

    const admin = { userId: 'an-admin' }
    const usdAccount = async (caller: Caller) =>
      value(await ledger.engine.openAccount(caller, { op: 'open-account', currency: 'USD' }))
    const balance = async (id: string) => (await ledger.engine.account(id))?.balance
    const deleted = async (userId: string) => expect(await ledger.users.delete(userId)).toBe('deleted')

    test("a deposit the owner's request commits after the delete is refused as not-found, with or without a key", async () => {
      const ann = { userId: await ledger.createUser() }
      const account = await usdAccount(ann)
      await deleted(ann.userId)
      const deposit = { op: 'deposit', accountId: account.id, amount: 25 } as const
      const keyed = { ...ann, idempotency: { key: 'late-deposit', requestId: 'r1' } }
      for (const caller of [ann, keyed]) {
        expect(await ledger.engine.move(caller, deposit)).toMatchObject({
          ok: false,
          refusal: { code: 'not-found', detail: 'No such account.' },
        })
      }
      expect(await balance(account.id)).toBe(0)
      expect((await ledger.engine.history(account.id, undefined, 10)).items).toEqual([])
      // A debit finds nothing to take: the delete left the balance at zero.
      expect(
        await ledger.engine.move(ann, { op: 'withdrawal', accountId: account.id, amount: 1 }),
      ).toMatchObject({ ok: false, refusal: { code: 'insufficient-funds' } })
    })

    test('reversing a withdrawal of a user deleted since is refused: the money would be stranded', async () => {
      const ann = { userId: await ledger.createUser() }
      const account = await usdAccount(ann)
      value(await ledger.engine.move(ann, { op: 'deposit', accountId: account.id, amount: 50 }))
      const withdrawal = value(
        await ledger.engine.move(ann, { op: 'withdrawal', accountId: account.id, amount: 50 }),
      )
      await deleted(ann.userId)
      expect(await ledger.engine.move(admin, { op: 'reversal', transactionId: withdrawal.id })).toMatchObject(
        {
          ok: false,
          refusal: {
            code: 'destination-not-found',
            detail: `Account ${account.id}, which the reversal would credit, belongs to a deleted user.`,
          },
        },
      )
      expect(await balance(account.id)).toBe(0)
    })

    test('reversing a transfer whose sender was deleted after it is refused; the recipient keeps the money', async () => {
      const [ann, bob] = [{ userId: await ledger.createUser() }, { userId: await ledger.createUser() }]
      const [annUsd, bobUsd] = [await usdAccount(ann), await usdAccount(bob)]
      value(await ledger.engine.move(ann, { op: 'deposit', accountId: annUsd.id, amount: 30 }))
      const transfer = value(
        await ledger.engine.move(ann, {
          op: 'transfer',
          fromAccountId: annUsd.id,
          toAccountId: bobUsd.id,
          amount: 30,
        }),
      )
      await deleted(ann.userId)
      const keyed = { ...admin, idempotency: { key: `reverse-${transfer.id}`, requestId: 'r2' } }
      for (const caller of [admin, keyed]) {
        expect(
          await ledger.engine.move(caller, { op: 'reversal', transactionId: transfer.id }),
        ).toMatchObject({ ok: false, refusal: { code: 'destination-not-found' } })
      }
      expect([await balance(annUsd.id), await balance(bobUsd.id)]).toEqual([0, 30])
    })
  })
}

describe('a credit and a user delete on PostgreSQL, interleaved', () => {
  let db: LedgerDatabase
  let usersSql: Sql
  let blocker: Sql
  beforeAll(async () => {
    db = await ledgerDatabase()
    usersSql = poolFor(db.url, { poolSize: 2 })
    blocker = poolFor(db.url, { poolSize: 1 })
  }, 60_000)
  afterAll(async () => {
    await Promise.all([usersSql.end(), blocker.end()])
    await db.dispose()
  })

  /** Backends of this database waiting for a lock (the blocker's and the waiters'). */
  const waitingForLocks = async () => {
    const [row] = await db.admin<{ waiting: number }[]>`
      SELECT count(*)::int AS waiting FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`
    return row?.waiting ?? 0
  }
  /** Polls until `count` backends wait for a lock, or fails after a bound (within the test's 5 s). */
  const untilWaiting = async (count: number, what: string) => {
    for (const deadline = Date.now() + 3000; Date.now() < deadline; await Bun.sleep(10))
      if ((await waitingForLocks()) >= count) return
    throw new Error(`${what} never waited for a lock`)
  }
  /** Another session's transaction that takes its locks, then holds them until released. */
  const holding = async (lock: (tx: Sql) => Promise<unknown>) => {
    let release = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked = () => {}
    const taken = new Promise<void>((resolve) => (locked = resolve))
    const committed = blocker.begin(async (tx) => {
      await lock(tx as unknown as Sql)
      locked()
      await held
    })
    await taken
    return { release, committed }
  }

  test('a delete that comes while a transfer holds its destination check waits for it, then refuses', async () => {
    const { engine } = db.replica()
    const users = postgresUsersRepository(usersSql)
    const [ann, bob] = [{ userId: await db.createUser() }, { userId: await db.createUser() }]
    const annUsd = value(await engine.openAccount(ann, { op: 'open-account', currency: 'USD' }))
    const bobUsd = value(await engine.openAccount(bob, { op: 'open-account', currency: 'USD' }))
    value(await engine.move(ann, { op: 'deposit', accountId: annUsd.id, amount: 40 }))

    // Holding Bob's account row pauses the transfer at its account locks, after its FOR SHARE check of
    // Bob: transaction A, stopped exactly between the check and the balance change.
    const { release, committed } = await holding(
      (tx) => tx`SELECT 1 FROM accounts WHERE id = ${bobUsd.id} FOR UPDATE`,
    )
    try {
      const transfer = engine.move(ann, {
        op: 'transfer',
        fromAccountId: annUsd.id,
        toAccountId: bobUsd.id,
        amount: 15,
      })
      await untilWaiting(1, 'the transfer')

      // B: the delete must wait for A's check, not pass its guard on a balance of zero.
      let settled = false
      const deleting = users.delete(bob.userId).finally(() => (settled = true))
      await untilWaiting(2, 'the delete')
      expect(settled).toBe(false)

      release()
      await committed
      expect(value(await transfer).postings[1]).toMatchObject({ accountId: bobUsd.id, balanceAfter: 15 })
      expect(await deleting).toBe('refused')
      expect(await users.findById(bob.userId)).toMatchObject({ id: bob.userId })
    } finally {
      release() // a failed wait must not leave A's lock held past the test
    }
  })

  test("a delete that comes while the owner's deposit holds its check waits for it, then refuses", async () => {
    const { engine } = db.replica()
    const users = postgresUsersRepository(usersSql)
    const ann = { userId: await db.createUser() }
    const annUsd = value(await engine.openAccount(ann, { op: 'open-account', currency: 'USD' }))
    // Holding the account row pauses the deposit's one statement after its FOR SHARE look at Ann.
    const { release, committed } = await holding(
      (tx) => tx`SELECT 1 FROM accounts WHERE id = ${annUsd.id} FOR UPDATE`,
    )
    try {
      const deposit = engine.move(ann, { op: 'deposit', accountId: annUsd.id, amount: 25 })
      await untilWaiting(1, 'the deposit')
      let settled = false
      const deleting = users.delete(ann.userId).finally(() => (settled = true))
      await untilWaiting(2, 'the delete')
      expect(settled).toBe(false)

      release()
      await committed
      expect(value(await deposit).postings[1]).toMatchObject({ accountId: annUsd.id, balanceAfter: 25 })
      expect(await deleting).toBe('refused')
      expect(await users.findById(ann.userId)).toMatchObject({ id: ann.userId })
    } finally {
      release()
    }
  })

  test("the owner's deposit that comes while the delete holds the user waits for it, then is refused", async () => {
    const { engine } = db.replica()
    const ann = { userId: await db.createUser() }
    const annUsd = value(await engine.openAccount(ann, { op: 'open-account', currency: 'USD' }))
    // The delete's own steps (users/postgres-repository.ts), held before its commit.
    const { release, committed } = await holding(async (tx) => {
      await tx`SELECT 1 FROM users WHERE id = ${ann.userId} AND deleted_at IS NULL FOR UPDATE`
      await tx`UPDATE users SET deleted_at = ${new Date().toISOString()} WHERE id = ${ann.userId}`
    })
    try {
      let settled = false
      const deposit = engine
        .move(ann, { op: 'deposit', accountId: annUsd.id, amount: 25 })
        .finally(() => (settled = true))
      await untilWaiting(1, 'the deposit')
      expect(settled).toBe(false)

      release()
      await committed
      expect(await deposit).toMatchObject({ ok: false, refusal: { code: 'not-found' } })
      expect((await engine.account(annUsd.id))?.balance).toBe(0)
    } finally {
      release()
    }
  })
})
