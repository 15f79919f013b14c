import { describe, expect, test } from 'bun:test'
import type { Sql } from '../../../src/db/postgres/connection'
import { DatabaseUnavailableError } from '../../../src/db/unavailable'
import { postgresUsersRepository } from '../../../src/users/postgres-repository'
import { migratedDatabase, openTestPool, unreachablePool } from '../../support/postgres-pools'
import { describeUsersRepository, type UsersFixture } from './repository-contract'

// Each replica gets a pool of its own, as separate ledgerd processes would: the concurrency cases then
// race on the server's unique indexes, not inside one pool.
async function postgresUsers(): Promise<UsersFixture> {
  const url = await migratedDatabase('users')
  const pools: Sql[] = []
  const admin = openTestPool(url, 1)
  pools.push(admin)
  return {
    replica(cache) {
      const sql = openTestPool(url)
      pools.push(sql)
      return postgresUsersRepository(sql, cache)
    },
    async openAccount(ownerId, balance) {
      await admin`INSERT INTO accounts (id, owner_id, currency, balance, created_at)
        VALUES (${Bun.randomUUIDv7()}, ${ownerId}, 'EUR', ${balance}, ${Date.now()})`
    },
    dispose: async () => {
      await Promise.all(pools.map((sql) => sql.end()))
    },
  }
}

describeUsersRepository('PostgreSQL', postgresUsers)

describe('users on PostgreSQL that cannot be reached', () => {
  const id = '00000000-0000-7000-8000-000000000000'
  const calls: [string, (users: ReturnType<typeof postgresUsersRepository>) => Promise<unknown>][] = [
    [
      'create',
      (users) =>
        users.create({ email: 'a@b.co', emailKey: 'a@b.co', name: 'A', passwordHash: null, role: 'user' }),
    ],
    ['findById', (users) => users.findById(id)],
    ['findCredentials', (users) => users.findCredentials('a@b.co')],
    [
      'findOrCreateExternal',
      (users) => users.findOrCreateExternal({ issuer: 'i', subject: 's', email: '', name: 'A' }),
    ],
    ['list', (users) => users.list(undefined, 10)],
    ['updateName', (users) => users.updateName(id, 'B')],
    ['delete', (users) => users.delete(id)],
    ['isLive', (users) => users.isLive(id)],
  ]
  // A pool each: postgres.js backs off between reconnects, growing with each failure in the same pool.
  test.each(calls)(
    '%s rejects with DatabaseUnavailableError (a 503 at the edge), not a raw socket error',
    async (_, call) => {
      const sql = await unreachablePool()
      try {
        await expect(call(postgresUsersRepository(sql))).rejects.toBeInstanceOf(DatabaseUnavailableError)
      } finally {
        await sql.end()
      }
    },
  )
})
