import { afterAll, describe, expect, test } from 'bun:test'
import { PostgresLoginThrottle } from '../../../src/auth/postgres-login-throttle'
import type { Sql } from '../../../src/db/postgres/connection'
import { DatabaseUnavailableError } from '../../../src/db/unavailable'
import { migratedDatabase, openTestPool, unreachablePool } from '../../support/postgres-pools'
import { describeLoginThrottle, fakeClock, freshKey } from './login-throttle-contract'

const pools: Sql[] = []
const url = await migratedDatabase('throttle')
/** A pool of its own: one more ledgerd replica. */
function replica(): Sql {
  const sql = openTestPool(url)
  pools.push(sql)
  return sql
}
afterAll(async () => {
  await Promise.all(pools.map((sql) => sql.end()))
})

describeLoginThrottle('PostgreSQL', async () => {
  const sql = replica()
  return {
    throttle: ({ scope = 'email', ...options }) => new PostgresLoginThrottle(sql, { scope, ...options }),
    dispose: async () => {},
  }
})

describe('the login throttle on PostgreSQL, shared by replicas', () => {
  test('failures counted through one replica lock the key out on another', async () => {
    const clock = fakeClock()
    const options = { scope: 'email', limit: 3, windowMs: 60_000, now: clock.now }
    const [a, b] = [
      new PostgresLoginThrottle(replica(), options),
      new PostgresLoginThrottle(replica(), options),
    ]
    const key = freshKey()
    for (let i = 0; i < 3; i++) expect(await a.attempt(key)).toBe(0)
    expect(await b.retryAfterMs(key)).toBe(60_000)
    expect(await b.attempt(key)).toBe(60_000)
    await b.reset(key)
    expect(await a.retryAfterMs(key)).toBe(0)
  })

  test('of 30 attempts spread over three replicas at once, exactly the limit are counted', async () => {
    const clock = fakeClock()
    const options = { scope: 'email', limit: 4, windowMs: 60_000, now: clock.now }
    const sqls = [replica(), replica(), replica()]
    // Every connection open first: a pool still connecting would run the first attempts one by one.
    await Promise.all(sqls.flatMap((sql) => [1, 2, 3].map(() => sql`SELECT pg_sleep(0.05)`)))
    const throttles = sqls.map((sql) => new PostgresLoginThrottle(sql, options))
    const key = freshKey()
    const waits = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (throttles[i % 3] as PostgresLoginThrottle).attempt(key)),
    )
    expect(waits.filter((wait) => wait === 0)).toHaveLength(4)
  })

  test("work stays bounded: a key's aged-out rows go on its next attempt, other keys' a few at a time", async () => {
    const sql = replica()
    const clock = fakeClock()
    const scope = `bounded-${crypto.randomUUID()}`
    const throttle = new PostgresLoginThrottle(sql, { scope, limit: 2, windowMs: 1000, now: clock.now })
    const rows = async (like: string) =>
      (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM login_failures WHERE key LIKE ${like}`)[0]?.n
    const key = freshKey()
    for (let i = 0; i < 10; i++) {
      await throttle.attempt(key)
      clock.advance(600)
    }
    expect(await rows(`${scope}:${key}`)).toBeLessThanOrEqual(2)
    // Twenty keys tried once each and never again: later attempts on any key sweep them away.
    for (let i = 0; i < 20; i++) await throttle.attempt(freshKey())
    clock.advance(1001) // every row so far has aged out
    const stale = (await rows(`${scope}:%`)) as number
    const other = freshKey()
    await throttle.attempt(other)
    expect(await rows(`${scope}:%`)).toBe(stale - 8 + 1) // eight swept, one counted
    for (let i = 0; i < 3; i++) await throttle.attempt(other)
    expect(await rows(`${scope}:%`)).toBe(2) // only the live key's failures inside the window
  })

  test("by default the database's clock: three failures block for at most the window", async () => {
    const throttle = new PostgresLoginThrottle(replica(), { scope: 'email', limit: 3, windowMs: 60_000 })
    const key = freshKey()
    for (let i = 0; i < 3; i++) expect(await throttle.attempt(key)).toBe(0)
    const wait = await throttle.retryAfterMs(key)
    expect(wait).toBeGreaterThan(0)
    expect(wait).toBeLessThanOrEqual(60_000)
  })

  const calls: [string, (throttle: PostgresLoginThrottle) => Promise<unknown>][] = [
    ['attempt', (throttle) => throttle.attempt('k')],
    ['retryAfterMs', (throttle) => throttle.retryAfterMs('k')],
    ['forgive', (throttle) => throttle.forgive('k')],
    ['reset', (throttle) => throttle.reset('k')],
  ]
  test.each(calls)(
    '%s against an unreachable database rejects with DatabaseUnavailableError',
    async (_, call) => {
      const sql = await unreachablePool()
      pools.push(sql)
      const throttle = new PostgresLoginThrottle(sql, { scope: 'email', limit: 3, windowMs: 1000 })
      await expect(call(throttle)).rejects.toBeInstanceOf(DatabaseUnavailableError)
    },
  )
})
