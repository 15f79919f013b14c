import { describe, expect, test } from 'bun:test'
import { FailureThrottle } from '../../../src/auth/login-throttle'
import { hashPassword } from '../../../src/auth/passwords'
import { login } from '../../../src/auth/service'
import { HttpProblem } from '../../../src/http/problem'
import type { UsersRepository } from '../../../src/users/repository'
import type { User } from '../../../src/users/user'

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

function dependencies(limit: number) {
  const users = {
    findCredentials: async (key: string) => (key === 'ann@example.com' ? { user, passwordHash } : undefined),
  } as unknown as UsersRepository
  return {
    users,
    issue: async (subject: string) => ({ accessToken: `token-for-${subject}`, expiresIn: 900 }),
    byEmail: new FailureThrottle(limit, 60_000),
    byClient: new FailureThrottle(limit * 4, 60_000),
  }
}

const attempt = (deps: ReturnType<typeof dependencies>, secret: string, email = 'ann@example.com') =>
  login(deps, { email, password: secret, clientAddress: '192.0.2.1' }).then(
    () => 200,
    (error) => (error instanceof HttpProblem ? error.status : 500),
  )

describe('login throttling under concurrency', () => {
  test('of 20 wrong passwords sent at once, limit 3: only 3 are checked, the rest get 429', async () => {
    const deps = dependencies(3)
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(deps, `guess ${i}`)))
    expect(statuses.filter((status) => status === 401)).toHaveLength(3)
    expect(statuses.filter((status) => status === 429)).toHaveLength(17)
    expect(await attempt(deps, password)).toBe(429)
  })

  test('a right password sent alongside wrong ones is not counted against the client', async () => {
    const deps = dependencies(3)
    expect(await Promise.all([attempt(deps, password), attempt(deps, 'wrong one')])).toEqual([200, 401])
    // One failure remains for the client address; the email count was cleared by the success.
    expect(deps.byClient.retryAfterMs('192.0.2.1')).toBe(0)
    for (let i = 0; i < 3; i++) expect(await attempt(deps, 'wrong again')).toBe(401)
    expect(await attempt(deps, password)).toBe(429)
  })

  test('an unknown email is counted and throttled like a known one', async () => {
    const deps = dependencies(2)
    expect(await attempt(deps, password, 'nobody@example.com')).toBe(401)
    expect(await attempt(deps, password, 'nobody@example.com')).toBe(401)
    expect(await attempt(deps, password, 'nobody@example.com')).toBe(429)
  })
})
