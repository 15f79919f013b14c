import { afterAll, describe, expect, test } from 'bun:test'
import { authRoutes } from '../../../src/auth'
import type { SigningKeys } from '../../../src/auth/keys'
import { type LoginThrottle, MemoryLoginThrottle } from '../../../src/auth/login-throttle'
import { hashPassword } from '../../../src/auth/passwords'
import { PostgresLoginThrottle } from '../../../src/auth/postgres-login-throttle'
import { type LoginDependencies, login } from '../../../src/auth/service'
import type { Sql } from '../../../src/db/postgres/connection'
import { DatabaseUnavailableError } from '../../../src/db/unavailable'
import { HttpProblem } from '../../../src/http/problem'
import type { UsersRepository } from '../../../src/users/repository'
import type { User } from '../../../src/users/user'
import { inProcessApi, jsonPost } from '../../support/http'
import { migratedDatabase, openTestPool, unreachablePool } from '../../support/postgres-pools'

const password = 'correct horse battery staple'
const user: User = {
  id: 'u1',
  email: 'ann@example.com',
  name: 'Ann',
  role: 'user',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
}
const passwordHash = await hashPassword(password)

/** Counts password checks: a throttled attempt must never reach one. */
function fakeUsers() {
  const looked = { count: 0 }
  const users = {
    findCredentials: async (key: string) => {
      looked.count++
      return key === 'ann@example.com' ? { user, passwordHash } : undefined
    },
  } as unknown as UsersRepository
  return { users, looked }
}

const issue = async (subject: string) => ({ accessToken: `token-for-${subject}`, expiresIn: 900 })

const pools: Sql[] = []
const url = await migratedDatabase('login')
afterAll(async () => {
  await Promise.all(pools.map((sql) => sql.end()))
})
/** One ledgerd replica's throttles on the shared database; keys are scoped by a test's own prefix. */
function postgresThrottles(limit: number, prefix: string, sql = openTestPool(url)) {
  pools.push(sql)
  const scoped = (scope: string, scopeLimit: number) =>
    new PostgresLoginThrottle(sql, { scope: `${prefix}-${scope}`, limit: scopeLimit, windowMs: 60_000 })
  return {
    byPair: scoped('pair', limit),
    byClient: scoped('client', limit * 4),
    byEmail: scoped('email', limit * 4),
  }
}

type Throttles = { byPair: LoginThrottle; byClient: LoginThrottle; byEmail: LoginThrottle }
const stores: [string, (limit: number) => Throttles][] = [
  [
    'in memory',
    (limit) => ({
      byPair: new MemoryLoginThrottle(limit, 60_000),
      byClient: new MemoryLoginThrottle(limit * 4, 60_000),
      byEmail: new MemoryLoginThrottle(limit * 4, 60_000),
    }),
  ],
  ['on PostgreSQL', (limit) => postgresThrottles(limit, crypto.randomUUID())],
]

const attempt = (
  deps: LoginDependencies,
  secret: string,
  email = 'ann@example.com',
  clientAddress = '192.0.2.1',
) =>
  login(deps, { email, password: secret, clientAddress }).then(
    () => 200,
    (error) => (error instanceof HttpProblem ? error.status : 500),
  )

describe.each(stores)('login throttling under concurrency, %s', (_, throttles) => {
  const dependencies = (limit: number) => ({ ...fakeUsers(), issue, ...throttles(limit) })

  test('of 20 wrong passwords sent at once, limit 3: only 3 are checked, the rest get 429', async () => {
    const deps = dependencies(3)
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(deps, `guess ${i}`)))
    expect(statuses.filter((status) => status === 401)).toHaveLength(3)
    expect(statuses.filter((status) => status === 429)).toHaveLength(17)
    expect(deps.looked.count).toBe(3)
    expect(await attempt(deps, password)).toBe(429)
  })

  test('a right password sent alongside wrong ones is not counted against the client', async () => {
    const deps = dependencies(3)
    expect(await Promise.all([attempt(deps, password), attempt(deps, 'wrong one')])).toEqual([200, 401])
    // One failure remains for the client address. The email's count is cleared by the success, but
    // whether before or after the concurrent failure was counted depends on which finished first (on
    // PostgreSQL, truly either), so it holds 0 or 1 failure: two more wrong ones are still checked.
    expect(await deps.byClient.retryAfterMs('192.0.2.1')).toBe(0)
    for (let i = 0; i < 2; i++) expect(await attempt(deps, 'wrong again')).toBe(401)
    expect(await deps.byClient.retryAfterMs('192.0.2.1')).toBe(0)
  })

  test('an unknown email is counted and throttled like a known one', async () => {
    const deps = dependencies(2)
    expect(await attempt(deps, password, 'nobody@example.com')).toBe(401)
    expect(await attempt(deps, password, 'nobody@example.com')).toBe(401)
    expect(await attempt(deps, password, 'nobody@example.com')).toBe(429)
  })

  test('a client at its limit is refused for any email, and the refused email is not charged', async () => {
    const deps = dependencies(1) // the client may fail 4 times
    for (let i = 0; i < 4; i++) expect(await attempt(deps, 'wrong', `other${i}@example.com`)).toBe(401)
    expect(await attempt(deps, password)).toBe(429)
    expect(await deps.byEmail.failures('ann@example.com')).toBe(0)
  })

  test('100 failures from one address never lock the owner out: from another address the right password works', async () => {
    const deps = dependencies(3)
    const statuses = []
    for (let i = 0; i < 100; i++)
      statuses.push(await attempt(deps, `guess ${i}`, 'ann@example.com', '6.6.6.6'))
    expect(statuses.filter((status) => status === 401)).toHaveLength(3)
    expect(statuses.filter((status) => status === 429)).toHaveLength(97)
    expect(await attempt(deps, password, 'ann@example.com', '192.0.2.7')).toBe(200)
  })

  test('guesses spread over many addresses: past the email cap, addresses that failed are refused, fresh ones are not', async () => {
    const deps = dependencies(1) // pair 1, email cap 4
    for (let i = 0; i < 4; i++)
      expect(await attempt(deps, 'wrong', 'ann@example.com', `6.6.6.${i}`)).toBe(401)
    // Each of those addresses has failed on ann already: refused, whatever the password.
    expect(await attempt(deps, password, 'ann@example.com', '6.6.6.0')).toBe(429)
    // A fresh address (the owner's, or a new one of the attacker's) may still try, and the owner gets in.
    expect(await attempt(deps, password, 'ann@example.com', '192.0.2.9')).toBe(200)
    expect(await attempt(deps, 'wrong', 'ann@example.com', '6.6.7.1')).toBe(401)
    expect(await attempt(deps, 'wrong', 'ann@example.com', '6.6.7.1')).toBe(429)
  })

  test("the owner's success does not clear the email's failures from other clients", async () => {
    const deps = dependencies(1)
    for (let i = 0; i < 4; i++)
      expect(await attempt(deps, 'wrong', 'ann@example.com', `6.6.6.${i}`)).toBe(401)
    expect(await attempt(deps, password, 'ann@example.com', '192.0.2.9')).toBe(200)
    expect(await deps.byEmail.retryAfterMs('ann@example.com')).toBeGreaterThan(0)
  })
})

describe('login throttling shared by replicas on PostgreSQL', () => {
  test('failures through one replica count for the same client on another, right password included', async () => {
    const prefix = crypto.randomUUID()
    const first = { ...fakeUsers(), issue, ...postgresThrottles(3, prefix) }
    const second = { ...fakeUsers(), issue, ...postgresThrottles(3, prefix) }
    for (let i = 0; i < 3; i++) expect(await attempt(first, `guess ${i}`)).toBe(401)
    expect(await attempt(second, password)).toBe(429)
    expect(second.looked.count).toBe(0)
  })

  test('a throttle that cannot reach PostgreSQL refuses the login: no password is checked', async () => {
    const deps = { ...fakeUsers(), issue, ...postgresThrottles(3, 'down', await unreachablePool()) }
    await expect(
      login(deps, { email: 'ann@example.com', password, clientAddress: '192.0.2.1' }),
    ).rejects.toThrow(DatabaseUnavailableError)
    expect(deps.looked.count).toBe(0)
  })

  test('… and the token endpoint answers 503 with Retry-After, not 500 and not a token', async () => {
    const deps = { ...fakeUsers(), issue, ...postgresThrottles(3, 'down', await unreachablePool()) }
    const api = inProcessApi((app) =>
      app.use(
        authRoutes(
          { mode: 'builtin', issuer: 'https://ledgerd.test', keys: {} as SigningKeys, ...deps },
          'http://localhost',
        ),
      ),
    )
    const response = await api.handle(jsonPost('/v1/auth/token', { email: 'ann@example.com', password }))
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    expect(((await response.json()) as { type: string }).type).toBe('/problems/service-unavailable')
    expect(deps.looked.count).toBe(0)
  })
})
