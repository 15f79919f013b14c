import { expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { sqliteMigrations } from '../../../src/db/migrations/sqlite'
import { migrate } from '../../../src/db/migrator'
import { openDatabase } from '../../../src/db/open'
import { maxBatchJobs, openSqliteLedgerEngine } from '../../../src/ledger/sqlite/engine'
import { sqliteUsersRepository } from '../../../src/users/repository'
import { dbDrivers } from '../../support/databases'
import { tempDir } from '../../support/ledgerd-process'
import { describeLedgerEngine, type EngineFixture } from './engine-contract'

async function sqliteEngine(
  driver: (typeof dbDrivers)[number],
  batches: number[] = [],
): Promise<EngineFixture> {
  const dataDir = tempDir('ledgerd-engine-')
  const config = { dataDir, dbDriver: driver, sqliteBusyTimeoutMs: 1000 }
  const db = await openDatabase(config)
  migrate(db, sqliteMigrations)
  const users = sqliteUsersRepository(db)
  const engine = await openSqliteLedgerEngine(config, db, {
    committed: (size) => batches.push(size),
    failed: () => {},
    stopped: () => {},
  })
  let n = 0
  return {
    engine,
    async createUser() {
      const email = `user${n++}@example.com`
      const user = await users.create({ email, emailKey: email, name: 'U', passwordHash: null, role: 'user' })
      return (user as { id: string }).id
    },
    async deleteUser(id) {
      await users.delete(id)
    },
    async dispose() {
      await engine.close()
      db.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

for (const driver of dbDrivers) describeLedgerEngine(`SQLite (${driver})`, () => sqliteEngine(driver))

test('writes submitted together are committed together, and every one is answered when durable', async () => {
  const batches: number[] = []
  const fixture = await sqliteEngine('bun-sqlite', batches)
  const owner = { userId: await fixture.createUser() }
  const opened = await Promise.all(
    Array.from({ length: 50 }, () =>
      fixture.engine.openAccount(owner, { op: 'open-account', currency: 'USD' }),
    ),
  )
  expect(opened.every((result) => result.ok)).toBe(true)
  expect(batches.reduce((sum, size) => sum + size, 0)).toBe(50)
  expect(Math.max(...batches)).toBeGreaterThan(1)
  // Answered means committed: the API thread's own connection sees every account.
  expect(await fixture.engine.accountsOf(owner.userId, undefined, 100)).toHaveLength(50)
  await fixture.dispose()
})

test('one commit takes at most maxBatchJobs jobs; the rest go in the next', async () => {
  const batches: number[] = []
  const fixture = await sqliteEngine('bun-sqlite', batches)
  const owner = { userId: await fixture.createUser() }
  const jobs = 2 * maxBatchJobs + 10
  const opened = await Promise.all(
    Array.from({ length: jobs }, () =>
      fixture.engine.openAccount(owner, { op: 'open-account', currency: 'USD' }),
    ),
  )
  expect(opened.every((result) => result.ok)).toBe(true)
  expect(batches.reduce((sum, size) => sum + size, 0)).toBe(jobs)
  expect(Math.max(...batches)).toBe(maxBatchJobs)
  await fixture.dispose()
})

test('a writer that cannot open its database fails to start, saying why', async () => {
  const dataDir = tempDir('ledgerd-engine-')
  const config = { dataDir, dbDriver: 'bun-sqlite' as const, sqliteBusyTimeoutMs: 1000 }
  const db = await openDatabase(config)
  // Not migrated: the writer finds no ledger tables.
  const observer = { committed: () => {}, failed: () => {}, stopped: () => {} }
  await expect(openSqliteLedgerEngine(config, db, observer)).rejects.toThrow('could not open the database')
  db.close()
  rmSync(dataDir, { recursive: true, force: true })
})

test('a purge of many expired keys runs in slices between batches: a write is answered while it runs', async () => {
  const fixture = await sqliteEngine('bun-sqlite')
  const { engine } = fixture
  const userId = await fixture.createUser()
  const opened = await engine.openAccount({ userId }, { op: 'open-account', currency: 'USD' })
  const accountId = (opened as { value: { id: string } }).value.id
  const expired = 5_000
  for (let sent = 0; sent < expired; sent += 500) {
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        engine.move(
          { userId, idempotency: { key: `old-${sent + i}` } },
          { op: 'deposit', accountId, amount: 1 },
        ),
      ),
    )
  }
  let purgeDone = false
  const purge = engine.purgeIdempotencyKeys(Date.now() + 1).then((count) => {
    purgeDone = true
    return count
  })
  // One after the other, each answered before the purge has finished: the writer does not hold writes
  // until the whole purge is over.
  for (let i = 0; i < 3; i++) {
    expect((await engine.move({ userId }, { op: 'deposit', accountId, amount: 1 })).ok).toBe(true)
    expect(purgeDone).toBe(false)
  }
  expect(await purge).toBe(expired)
  // Forgotten: the first key now runs afresh.
  const again = await engine.move(
    { userId, idempotency: { key: 'old-0' } },
    { op: 'deposit', accountId, amount: 1 },
  )
  expect(again.replayed).toBe(false)
  expect((await engine.account(accountId))?.balance).toBe(expired + 4)
  await fixture.dispose()
})
