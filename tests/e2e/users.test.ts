import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createAdmin, type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'

// The users API and the login endpoint, against the compiled binary.

const password = 'correct horse battery staple'

interface UserBody {
  id: string
  email: string
  name: string
  roles: string[]
  createdAt: string
  updatedAt: string
}

/** Every response body this file received, checked at the end for password hashes. */
const bodies: string[] = []
/** Every password this file sent, checked at the end against the responses and the logs. */
const passwordsSent = new Set<string>([password])

interface Client {
  server: RunningLedgerd
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<Response>
  signUp(email: string, name?: string): Promise<UserBody>
  login(email: string, secret?: string): Promise<Response>
  tokenFor(email: string, secret?: string): Promise<string>
}

function client(server: RunningLedgerd): Client {
  const call: Client['call'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = {}
    if (options.token) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    if (typeof (options.body as { password?: unknown })?.password === 'string')
      passwordsSent.add((options.body as { password: string }).password)
    const response = await fetch(`${server.apiUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
    bodies.push(await response.clone().text())
    return response
  }
  const login = (email: string, secret = password) =>
    call('POST', '/v1/auth/token', { body: { email, password: secret } })
  return {
    server,
    call,
    login,
    async signUp(email, name = email.split('@')[0] as string) {
      const response = await call('POST', '/v1/users', { body: { email, name, password } })
      expect(response.status).toBe(201)
      return (await response.json()) as UserBody
    },
    async tokenFor(email, secret = password) {
      const response = await login(email, secret)
      expect(response.status).toBe(200)
      return ((await response.json()) as { access_token: string }).access_token
    },
  }
}

const started: RunningLedgerd[] = []
async function start(args: string[] = []): Promise<Client> {
  const server = await startLedgerd({ args })
  started.push(server)
  return client(server)
}

let main: Client
let adminToken: string

beforeAll(async () => {
  // A high per-email limit: the client-address limit is four times it, and every request here comes
  // from 127.0.0.1, so the default would throttle the timing test below. Throttling has its own servers.
  main = await start(['--login-max-failures', '1000'])
  // The first admin, made the way an operator does: `ledgerd users create --admin` on the data dir.
  const generated = await createAdmin(main.server.dataDir, 'root@example.com')
  passwordsSent.add(generated)
  adminToken = await main.tokenFor('root@example.com', generated)
})

afterAll(async () => {
  for (const server of started) expect(await server.stop()).toBe(0)
})

describe('sign-up', () => {
  test('201 with a Location that serves the new user, roles ["user"], and no password or hash', async () => {
    const response = await main.call('POST', '/v1/users', {
      body: { email: 'Ann@Example.com', name: 'Ann', password },
    })
    expect(response.status).toBe(201)
    const user = (await response.json()) as UserBody
    expect(Object.keys(user).sort()).toEqual(['createdAt', 'email', 'id', 'name', 'roles', 'updatedAt'])
    expect(user).toMatchObject({ email: 'Ann@Example.com', name: 'Ann', roles: ['user'] })
    expect(response.headers.get('location')).toBe(`/v1/users/${user.id}`)
    const token = await main.tokenFor('ann@example.com')
    const located = await main.call('GET', response.headers.get('location') as string, { token })
    expect(located.status).toBe(200)
    expect(await located.json()).toEqual(user)
  })

  test('the same email in another case is taken: 409 problem', async () => {
    await main.signUp('dup@example.com')
    const response = await main.call('POST', '/v1/users', {
      body: { email: 'DUP@Example.COM', name: 'Dup', password },
    })
    expect(response.status).toBe(409)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ type: '/problems/email-taken', status: 409 })
  })

  test('a password of 11 characters: 422 naming password; 12 characters is enough', async () => {
    const short = await main.call('POST', '/v1/users', {
      body: { email: 'short@example.com', name: 'Short', password: 'x'.repeat(11) },
    })
    expect(short.status).toBe(422)
    const problem = (await short.json()) as { type: string; errors: { field: string; in: string }[] }
    expect(problem.type).toBe('/problems/validation-failed')
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'password', in: 'body' })])
    const enough = await main.call('POST', '/v1/users', {
      body: { email: 'short@example.com', name: 'Short', password: 'x'.repeat(12) },
    })
    expect(enough.status).toBe(201)
  })

  test('a role sent with the sign-up is ignored: a plain user, who cannot list users', async () => {
    const response = await main.call('POST', '/v1/users', {
      body: { email: 'sneaky@example.com', name: 'Sneaky', password, role: 'admin', roles: ['admin'] },
    })
    // Elysia strips unknown fields (normalize) rather than refusing them; either is safe, a role is not.
    expect([201, 422]).toContain(response.status)
    if (response.status === 201) expect(((await response.json()) as UserBody).roles).toEqual(['user'])
    const token = await main.tokenFor('sneaky@example.com')
    expect((await main.call('GET', '/v1/users', { token })).status).toBe(403)
  })

  test('with --signup closed: 403 problem, and no user is created', async () => {
    const closed = await start(['--signup', 'closed'])
    const response = await closed.call('POST', '/v1/users', {
      body: { email: 'late@example.com', name: 'Late', password },
    })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ type: '/problems/signup-closed', status: 403 })
    expect((await closed.login('late@example.com')).status).toBe(401)
  })
})

describe('login', () => {
  type Problem = Record<string, unknown>
  const comparable = ({ instance, requestId, ...rest }: Problem) => rest

  test('a wrong password and an unknown email get the same 401 answer', async () => {
    await main.signUp('known@example.com')
    const wrong = await main.login('known@example.com', 'not the password at all')
    const unknown = await main.login('nobody@example.com', 'not the password at all')
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
    }
    expect(wrong.headers.get('www-authenticate')).toBe(unknown.headers.get('www-authenticate'))
    const [wrongBody, unknownBody] = [(await wrong.json()) as Problem, (await unknown.json()) as Problem]
    expect(comparable(wrongBody)).toEqual(comparable(unknownBody))
    expect(wrongBody).toMatchObject({ type: '/problems/invalid-credentials', status: 401 })
  })

  test('a wrong password and an unknown email take comparable time (both check a hash)', async () => {
    const time = async (email: string) => {
      const startedAt = performance.now()
      expect((await main.login(email, 'not the password at all')).status).toBe(401)
      return performance.now() - startedAt
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
    // One of each first: the throwaway hash for unknown emails is made on first use.
    await time('known@example.com')
    await time('nobody@example.com')
    const wrongPassword: number[] = []
    const unknownEmail: number[] = []
    for (let i = 0; i < 7; i++) {
      wrongPassword.push(await time('known@example.com'))
      unknownEmail.push(await time(`nobody-${i}@example.com`))
    }
    const ratio = median(wrongPassword) / median(unknownEmail)
    // Generous: this catches an unknown email answered without hashing (a ratio of 20x or more), it is
    // not a benchmark.
    expect(ratio).toBeGreaterThan(1 / 3)
    expect(ratio).toBeLessThan(3)
    // And the hash is real work: argon2id at 19 MiB takes milliseconds, not microseconds.
    expect(median(unknownEmail)).toBeGreaterThan(3)
  })

  test('the email is matched case-insensitively at login too', async () => {
    expect((await main.login('KNOWN@example.com')).status).toBe(200)
  })

  test('the token response is not cacheable and says Bearer', async () => {
    const response = await main.login('known@example.com')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.json()).toMatchObject({ token_type: 'Bearer', expires_in: 900 })
  })
})

describe('login throttling (--login-max-failures 3)', () => {
  const expectThrottled = async (response: Response, windowSeconds: number) => {
    expect(response.status).toBe(429)
    const retryAfter = Number(response.headers.get('retry-after'))
    expect(Number.isInteger(retryAfter)).toBe(true)
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(windowSeconds)
    expect(await response.json()).toMatchObject({ type: '/problems/too-many-requests', status: 429 })
  }

  test('after 3 failures for an email from one address: 429 with Retry-After there, even for the right password', async () => {
    const ledgerd = await start(['--login-max-failures', '3'])
    await ledgerd.signUp('target@example.com')
    await ledgerd.signUp('bystander@example.com')
    for (let i = 0; i < 3; i++)
      expect((await ledgerd.login('target@example.com', 'guess number one')).status).toBe(401)
    await expectThrottled(await ledgerd.login('target@example.com'), 15 * 60)
    await expectThrottled(await ledgerd.login('TARGET@example.com'), 15 * 60)
    // Per email: another user on the same address is not locked out by it.
    expect((await ledgerd.login('bystander@example.com')).status).toBe(200)
  })

  test('concurrent guesses cannot outrun the limit: of 20 sent at once, at most 3 are checked', async () => {
    const ledgerd = await start(['--login-max-failures', '3'])
    await ledgerd.signUp('target@example.com')
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ledgerd.login('target@example.com', `parallel guess ${i}`)),
    )
    const statuses = answers.map((response) => response.status)
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(3)
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([])
    await expectThrottled(await ledgerd.login('target@example.com'), 15 * 60)
  })

  test('a client address gets four times the limit across all emails', async () => {
    const ledgerd = await start(['--login-max-failures', '3'])
    await ledgerd.signUp('fresh@example.com')
    for (let i = 0; i < 12; i++) {
      // Two failures per email: under the per-email limit, so only the per-client count can trip.
      expect((await ledgerd.login(`spray-${Math.floor(i / 2)}@example.com`, 'sprayed guess!')).status).toBe(
        401,
      )
    }
    await expectThrottled(await ledgerd.login('fresh@example.com'), 15 * 60)
  })

  test('a successful login clears the email count: occasional typos never lock a user out', async () => {
    const ledgerd = await start(['--login-max-failures', '3'])
    await ledgerd.signUp('typo@example.com')
    for (let round = 0; round < 3; round++) {
      expect((await ledgerd.login('typo@example.com', 'mistyped password')).status).toBe(401)
      expect((await ledgerd.login('typo@example.com', 'mistyped password')).status).toBe(401)
      expect((await ledgerd.login('typo@example.com')).status).toBe(200)
    }
  })

  test('once failures leave the window (--login-failure-window 1s), logging in works again', async () => {
    const ledgerd = await start(['--login-max-failures', '3', '--login-failure-window', '1s'])
    await ledgerd.signUp('patient@example.com')
    for (let i = 0; i < 3; i++)
      expect((await ledgerd.login('patient@example.com', 'wrong password!')).status).toBe(401)
    await expectThrottled(await ledgerd.login('patient@example.com'), 1)
    await Bun.sleep(1100)
    expect((await ledgerd.login('patient@example.com')).status).toBe(200)
  })
})

describe("other users' data", () => {
  let a: UserBody
  let b: UserBody
  let aToken: string
  let bToken: string
  beforeAll(async () => {
    a = await main.signUp('user-a@example.com')
    b = await main.signUp('user-b@example.com')
    aToken = await main.tokenFor('user-a@example.com')
    bToken = await main.tokenFor('user-b@example.com')
  })

  test('a user reads their own record by id', async () => {
    const response = await main.call('GET', `/v1/users/${a.id}`, { token: aToken })
    expect(response.status).toBe(200)
    expect(((await response.json()) as UserBody).id).toBe(a.id)
  })

  test('user A reading user B: 404 like a missing user, not 403, so ids cannot be probed', async () => {
    const other = await main.call('GET', `/v1/users/${b.id}`, { token: aToken })
    const missing = await main.call('GET', `/v1/users/${crypto.randomUUID()}`, { token: aToken })
    expect(other.status).toBe(404)
    expect(missing.status).toBe(404)
    type Problem = Record<string, unknown>
    const comparable = ({ instance, requestId, ...rest }: Problem) => rest
    expect(comparable((await other.json()) as Problem)).toEqual(comparable((await missing.json()) as Problem))
  })

  test('user A deleting user B: 404, and B is untouched', async () => {
    const response = await main.call('DELETE', `/v1/users/${b.id}`, { token: aToken })
    expect(response.status).toBe(404)
    expect((await main.call('GET', '/v1/users/me', { token: bToken })).status).toBe(200)
  })

  test('a user cannot list users: 403', async () => {
    expect((await main.call('GET', '/v1/users', { token: aToken })).status).toBe(403)
  })

  test('an admin reads and deletes user B; B is then gone and its token refused', async () => {
    const read = await main.call('GET', `/v1/users/${b.id}`, { token: adminToken })
    expect(read.status).toBe(200)
    expect(await read.json()).toEqual(b)
    const deleted = await main.call('DELETE', `/v1/users/${b.id}`, { token: adminToken })
    expect(deleted.status).toBe(204)
    expect((await main.call('GET', `/v1/users/${b.id}`, { token: adminToken })).status).toBe(404)
    expect((await main.call('GET', '/v1/users/me', { token: bToken })).status).toBe(401)
    expect((await main.login('user-b@example.com')).status).toBe(401)
  })

  test('a deleted email is free to sign up again, as a new user', async () => {
    const again = await main.signUp('user-b@example.com')
    expect(again.id).not.toBe(b.id)
  })

  test('DELETE /v1/users/{id} without a body (as curl -X DELETE sends it): 204', async () => {
    const doomed = await main.signUp('doomed@example.com')
    const token = await main.tokenFor('doomed@example.com')
    const response = await main.call('DELETE', `/v1/users/${doomed.id}`, { token })
    expect(response.status).toBe(204)
  })
})

describe('GET /v1/users pagination (admin)', () => {
  test('limit and cursor walk every live user once, in id (creation) order, then null', async () => {
    for (let i = 0; i < 8; i++) await main.signUp(`page-${i}@example.com`)
    const everyone = await main.call('GET', '/v1/users?limit=200', { token: adminToken })
    const all = (await everyone.json()) as { items: UserBody[]; nextCursor: string | null }
    expect(all.nextCursor).toBeNull()
    expect(all.items.length).toBeGreaterThan(10)
    const allIds = all.items.map((user) => user.id)
    expect(allIds).toEqual([...allIds].sort())

    const walked: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = cursor ? `limit=3&cursor=${encodeURIComponent(cursor)}` : 'limit=3'
      const response = await main.call('GET', `/v1/users?${query}`, { token: adminToken })
      expect(response.status).toBe(200)
      const page = (await response.json()) as { items: UserBody[]; nextCursor: string | null }
      expect(page.items.length).toBeLessThanOrEqual(3)
      walked.push(...page.items.map((user) => user.id))
      cursor = page.nextCursor
      pages++
      expect(pages).toBeLessThan(100)
    } while (cursor !== null)
    expect(walked).toEqual(allIds)
    expect(new Set(walked).size).toBe(walked.length)
    expect(pages).toBe(Math.ceil(allIds.length / 3))
  })

  test('a garbage cursor: 400 problem naming cursor', async () => {
    for (const cursor of ['garbage', 'bm90LWEtdXVpZA', '%00%ff', 'x'.repeat(201)]) {
      const response = await main.call('GET', `/v1/users?cursor=${cursor}`, { token: adminToken })
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      const problem = (await response.json()) as { errors: { field: string; in: string }[] }
      expect(problem.errors).toEqual([expect.objectContaining({ field: 'cursor', in: 'query' })])
    }
  })

  const expectLimitRefused = async (limit: string) => {
    const response = await main.call('GET', `/v1/users?limit=${limit}`, { token: adminToken })
    expect(response.status).toBe(400)
    const problem = (await response.json()) as { errors: { field: string; in: string }[] }
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'limit', in: 'query' })])
  }

  test('a limit that is not an integer: 400 naming limit', async () => {
    for (const limit of ['ten', '2.5']) await expectLimitRefused(limit)
  })

  test('a limit outside 1..200: 400 naming limit', async () => {
    for (const limit of ['0', '201']) await expectLimitRefused(limit)
  })
})

describe('secrets stay secret', () => {
  test('no password or password hash appears in any response, in the logs or on stderr', async () => {
    expect(bodies.length).toBeGreaterThan(50)
    const logs = started.map((server) => `${JSON.stringify(server.logs)}\n${server.stderr()}`).join('\n')
    for (const text of [...bodies, logs]) {
      expect(text).not.toContain('$argon2')
      expect(text).not.toMatch(/password_?hash/i)
      for (const sent of passwordsSent) expect(text).not.toContain(sent)
    }
  })
})
