import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sqliteMigrations } from '../../../src/db/migrations/sqlite'
import { migrate } from '../../../src/db/migrator'
import type { Sql } from '../../../src/db/postgres/connection'
import { HttpProblem } from '../../../src/http/problem'
import type { Account, Result } from '../../../src/ledger/engine'
import { postgresUsersRepository } from '../../../src/users/postgres-repository'
import { sqliteUsersRepository, type UsersRepository } from '../../../src/users/repository'
import { type AccountsOf, deleteUser } from '../../../src/users/service'
import { openTestDatabase } from '../../support/databases'
import { type LedgerDatabase, ledgerDatabase, poolFor } from '../../support/postgres-ledger'
import { migratedDatabase, openTestPool } from '../../support/postgres-pools'

// Deleting a user while money arrives: the service's check and the delete are not one transaction, so
// the delete itself must refuse when an account holds money, and on PostgreSQL a transfer and a delete
// must not both pass each other's checks (users/postgres-repository.ts explains the lock order).

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

describe('a transfer and a user delete on PostgreSQL, interleaved', () => {
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

  const value = <T>(result: Result<T>): T => {
    if (!result.ok) throw new Error(`refused: ${result.refusal.code}`)
    return result.value
  }
  /** Backends of this database waiting for a lock (the blocker's and the waiters'). */
  const waitingForLocks = async () => {
    const [row] = await db.admin<{ waiting: number }[]>`
      SELECT count(*)::int AS waiting FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`
    return row?.waiting ?? 0
  }
  /** Polls until `count` backends wait for a lock, or fails after a bound. */
  const untilWaiting = async (count: number, what: string) => {
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await Bun.sleep(10))
      if ((await waitingForLocks()) >= count) return
    throw new Error(`${what} never waited for a lock`)
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
    let release = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked = () => {}
    const holding = new Promise<void>((resolve) => (locked = resolve))
    const blocking = blocker.begin(async (tx) => {
      await tx`SELECT 1 FROM accounts WHERE id = ${bobUsd.id} FOR UPDATE`
      locked()
      await held
    })
    await holding
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
      await blocking
      expect(value(await transfer).postings[1]).toMatchObject({ accountId: bobUsd.id, balanceAfter: 15 })
      expect(await deleting).toBe('refused')
      expect(await users.findById(bob.userId)).toMatchObject({ id: bob.userId })
    } finally {
      release() // a failed wait must not leave A's lock held past the test
    }
  })
})
