import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { authRoutes } from '../../../src/auth'
import type { SigningKeys } from '../../../src/auth/keys'
import { authPlugin } from '../../../src/auth/plugin'
import { PostgresLoginThrottle } from '../../../src/auth/postgres-login-throttle'
import type { Sql } from '../../../src/db/postgres/connection'
import { nulMessage } from '../../../src/http/nul'
import { usersRoutes } from '../../../src/users'
import { postgresUsersRepository } from '../../../src/users/postgres-repository'
import { sqliteUsersRepository, type UsersRepository } from '../../../src/users/repository'
import { createUser } from '../../../src/users/service'
import { inProcessLedgerd } from '../../support/app'
import { inProcessApi } from '../../support/http'
import { migratedDatabase, openTestPool } from '../../support/postgres-pools'

// U+0000 in any text a client sends gets the same answer on SQLite and PostgreSQL: refused at the edge,
// naming the field (422 for a body field, 400 for a path or query parameter), before an engine sees it.
// PostgreSQL text cannot hold it at all (SQLSTATE 22021), so without the rule it would answer 500.

const password = 'correct horse battery staple'
const nul = '\u0000'

type Send = (
  method: string,
  path: string,
  options?: { body?: unknown; token?: string; headers?: Record<string, string> },
) => Promise<Response>

interface Target {
  send: Send
  users: UsersRepository
  userToken: string
  adminToken: string
  dispose(): Promise<void>
}

async function tokenOf(send: Send, email: string) {
  const response = await send('POST', '/v1/auth/token', { body: { email, password } })
  expect(response.status).toBe(200)
  return ((await response.json()) as { access_token: string }).access_token
}

/** The whole API as `serve` builds it today: SQLite. */
async function sqliteTarget(): Promise<Target & { accountId: string }> {
  const ledgerd = await inProcessLedgerd()
  const send: Send = (method, path, options) => ledgerd.request(method, path, options)
  const users = sqliteUsersRepository(ledgerd.db)
  await createUser(users, { email: 'user@example.com', name: 'User', password })
  await createUser(users, { email: 'admin@example.com', name: 'Admin', password }, 'admin')
  const userToken = await tokenOf(send, 'user@example.com')
  const opened = await send('POST', '/v1/accounts', { token: userToken, body: { currency: 'USD' } })
  expect(opened.status).toBe(201)
  return {
    send,
    users,
    userToken,
    adminToken: await tokenOf(send, 'admin@example.com'),
    accountId: ((await opened.json()) as { id: string }).id,
    dispose: async () => ledgerd.dispose(),
  }
}

/**
 * The users and token routes over PostgreSQL (compose wires PostgreSQL elsewhere): its repository, its
 * throttle, and a stand-in authenticator that trusts "Bearer <role>.<user id>", so no keys are needed.
 */
async function postgresTarget(): Promise<Target> {
  const sql: Sql = openTestPool(await migratedDatabase('nul'))
  const users = postgresUsersRepository(sql)
  const throttle = (scope: string) => new PostgresLoginThrottle(sql, { scope, limit: 100, windowMs: 60_000 })
  const auth = authPlugin(async (authorization) => {
    const [role, userId = ''] = (authorization ?? '').replace('Bearer ', '').split('.')
    return { userId, roles: [role ?? 'user'], isAdmin: role === 'admin' }
  })
  const tokens = {
    mode: 'builtin' as const,
    issuer: 'https://ledgerd.test',
    keys: {} as SigningKeys,
    users,
    issue: async (subject: string) => ({ accessToken: `user.${subject}`, expiresIn: 900 }),
    byPair: throttle('pair'),
    byClient: throttle('client'),
    byEmail: throttle('email'),
  }
  const api = inProcessApi(
    (app) =>
      app.use(authRoutes(tokens, 'http://localhost')).use(usersRoutes({ auth, users, signup: 'open' })),
    1 << 20,
  )
  const send: Send = (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const body = options.body === undefined ? undefined : JSON.stringify(options.body)
    return api.handle(new Request(`http://localhost${path}`, { method, headers, body }))
  }
  await createUser(users, { email: 'user@example.com', name: 'User', password })
  const admin = await createUser(users, { email: 'admin@example.com', name: 'Admin', password }, 'admin')
  return {
    send,
    users,
    userToken: await tokenOf(send, 'user@example.com'),
    adminToken: `admin.${admin.id}`,
    dispose: () => sql.end(),
  }
}

const bodyField = (field: string) => ({
  status: 422,
  type: '/problems/validation-failed',
  errors: [{ field, in: 'body', message: nulMessage }],
})
const pathId = {
  status: 400,
  type: '/problems/invalid-parameter',
  errors: [{ field: 'id', in: 'params', message: nulMessage }],
}
const cursor = {
  status: 400,
  type: '/problems/invalid-parameter',
  errors: [{ field: 'cursor', in: 'query', message: 'not a cursor this API returned' }],
}

type Case = [string, (target: Target & { accountId?: string }) => Promise<Response>, object]

const userCases: Case[] = [
  [
    'sign-up email',
    ({ send }) => send('POST', '/v1/users', { body: { email: `a${nul}@example.com`, name: 'A', password } }),
    bodyField('email'),
  ],
  [
    'sign-up name',
    ({ send }) =>
      send('POST', '/v1/users', { body: { email: 'named@example.com', name: `A${nul}`, password } }),
    bodyField('name'),
  ],
  [
    'login email',
    ({ send }) => send('POST', '/v1/auth/token', { body: { email: `user@example.com${nul}`, password } }),
    bodyField('email'),
  ],
  [
    'profile name',
    ({ send, userToken }) => send('PATCH', '/v1/users/me', { token: userToken, body: { name: `B${nul}` } }),
    bodyField('name'),
  ],
  [
    'user id in the path (GET)',
    ({ send, adminToken }) => send('GET', '/v1/users/%00', { token: adminToken }),
    pathId,
  ],
  [
    'user id in the path (DELETE)',
    ({ send, adminToken }) => send('DELETE', '/v1/users/x%00y', { token: adminToken }),
    pathId,
  ],
  [
    'users list cursor',
    ({ send, adminToken }) => send('GET', '/v1/users?cursor=%00', { token: adminToken }),
    cursor,
  ],
]

const idempotent = { 'idempotency-key': 'nul-test' }
const ledgerCases: Case[] = [
  [
    'account currency',
    ({ send, userToken }) =>
      send('POST', '/v1/accounts', { token: userToken, body: { currency: `US${nul}D` } }),
    bodyField('currency'),
  ],
  [
    'deposit description',
    ({ send, userToken, accountId }) =>
      send('POST', `/v1/accounts/${accountId}/deposits`, {
        token: userToken,
        headers: idempotent,
        body: { amount: 1, description: `pay${nul}` },
      }),
    bodyField('description'),
  ],
  [
    'withdrawal description',
    ({ send, userToken, accountId }) =>
      send('POST', `/v1/accounts/${accountId}/withdrawals`, {
        token: userToken,
        headers: idempotent,
        body: { amount: 1, description: `pay${nul}` },
      }),
    bodyField('description'),
  ],
  ...(['fromAccountId', 'toAccountId', 'description'] as const).map(
    (field): Case => [
      `transfer ${field}`,
      ({ send, userToken, accountId }) =>
        send('POST', '/v1/transfers', {
          token: userToken,
          headers: idempotent,
          body: { fromAccountId: accountId, toAccountId: accountId, amount: 1, [field]: `x${nul}` },
        }),
      bodyField(field),
    ],
  ),
  [
    'account id in the path',
    ({ send, userToken }) => send('GET', '/v1/accounts/%00', { token: userToken }),
    pathId,
  ],
  [
    'account id in a deposit path',
    ({ send, userToken }) =>
      send('POST', '/v1/accounts/%00/deposits', {
        token: userToken,
        headers: idempotent,
        body: { amount: 1 },
      }),
    pathId,
  ],
  [
    'account id in the history path',
    ({ send, userToken }) => send('GET', '/v1/accounts/%00/transactions', { token: userToken }),
    pathId,
  ],
  [
    'transaction id in the path',
    ({ send, userToken }) => send('GET', '/v1/transactions/%00', { token: userToken }),
    pathId,
  ],
  [
    'transaction id in the reversal path',
    ({ send, userToken }) =>
      send('POST', '/v1/transactions/%00/reversal', { token: userToken, headers: idempotent }),
    pathId,
  ],
  [
    'accounts list cursor',
    ({ send, userToken }) => send('GET', '/v1/accounts?cursor=%00', { token: userToken }),
    cursor,
  ],
  [
    'history cursor',
    ({ send, userToken, accountId }) =>
      send('GET', `/v1/accounts/${accountId}/transactions?cursor=%00`, { token: userToken }),
    cursor,
  ],
]

async function expectProblem(response: Response, expected: object) {
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const { status, type, errors } = (await response.json()) as Record<string, unknown>
  expect({ status, type, errors } as object).toEqual(expected)
  expect(response.status).toBe((expected as { status: number }).status)
}

const targets: [string, () => Promise<Target & { accountId?: string }>, Case[]][] = [
  ['SQLite', sqliteTarget, [...userCases, ...ledgerCases]],
  ['PostgreSQL', postgresTarget, userCases],
]

describe.each(targets)('U+0000 in client text on %s', (_, open, cases) => {
  let target: Target & { accountId?: string }
  // A database, two users and a login (each hashes a password): seconds on a busy machine.
  beforeAll(async () => {
    target = await open()
  }, 60_000)
  afterAll(() => target.dispose())

  test.each(cases)('%s: refused, naming the field', async (_, send, expected) => {
    await expectProblem(await send(target), expected)
  })

  test('a nested field is named by its path', async () => {
    const response = await target.send('POST', '/v1/users', {
      body: { email: 'x@example.com', name: 'X', password, extra: { list: ['ok', `no${nul}`] } },
    })
    await expectProblem(response, bodyField('extra.list[1]'))
  })

  test('a password may hold U+0000: it is only hashed, never stored as text', async () => {
    const secret = `pass${nul}word-long-enough`
    const created = await target.send('POST', '/v1/users', {
      body: { email: 'nul-password@example.com', name: 'N', password: secret },
    })
    expect(created.status).toBe(201)
    const login = await target.send('POST', '/v1/auth/token', {
      body: { email: 'nul-password@example.com', password: secret },
    })
    expect(login.status).toBe(200)
  })

  test('a backslash-u-0000 that is text, not an escape, is no NUL and is accepted', async () => {
    const response = await target.send('PATCH', '/v1/users/me', {
      token: target.userToken,
      body: { name: 'C:\\u0000 is not a NUL' },
    })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { name: string }).name).toBe('C:\\u0000 is not a NUL')
  })
})

test('why the rule exists: PostgreSQL text cannot hold U+0000 (22021), SQLite can', async () => {
  const sql = openTestPool(await migratedDatabase('nul_raw'), 1)
  try {
    const users = postgresUsersRepository(sql)
    const user = { email: 'z@example.com', emailKey: 'z@example.com', name: `Z${nul}`, passwordHash: null }
    await expect(users.create({ ...user, role: 'user' })).rejects.toMatchObject({ code: '22021' })
  } finally {
    await sql.end()
  }
})

test('a header holding U+0000 never reaches ledgerd: the HTTP server refuses the request with 400', async () => {
  // So Idempotency-Key, X-Request-Id and X-Forwarded-For (the client throttle's key) need no rule of ours.
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('reached ledgerd') })
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      let received = ''
      Bun.connect({
        hostname: '127.0.0.1',
        port: server.port as number,
        socket: {
          open: (socket) => {
            socket.write(
              `POST /v1/transfers HTTP/1.1\r\nHost: a\r\nIdempotency-Key: a${nul}b\r\nConnection: close\r\n\r\n`,
            )
          },
          data: (_, chunk) => {
            received += chunk.toString()
          },
          close: () => resolve(received),
          error: (_, error) => reject(error),
        },
      }).catch(reject)
    })
    expect(answer).toStartWith('HTTP/1.1 400')
    expect(answer).not.toContain('reached ledgerd')
  } finally {
    server.stop(true)
  }
})
