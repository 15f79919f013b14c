import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { databaseFileName } from '../../../src/db/open'
import { createAdmin, type RunningLedgerd, startLedgerd, testStorage } from '../../support/ledgerd-process'

// Identity abuse (issue 13): what a hostile client can do to other people's accounts through the login,
// sign-up and delete paths. Every request has a bounded timeout: a hang fails the test, never stalls it.
const bounded = () => ({ signal: AbortSignal.timeout(20_000) })
const password = 'correct horse battery staple'
/** The first PostgreSQL of a run starts here (initdb): seconds on a busy machine. */
const startTimeoutMs = 60_000

function client(server: RunningLedgerd) {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.apiUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      ...bounded(),
    })
  return {
    signUp: (email: string, from = '198.51.100.1') =>
      post('/v1/users', { email, name: 'Someone', password }, { 'x-forwarded-for': from }),
    login: (email: string, secret: string, from: string) =>
      post('/v1/auth/token', { email, password: secret }, { 'x-forwarded-for': from }),
    token: async (email: string, from = '192.0.2.200') => {
      const response = await post('/v1/auth/token', { email, password }, { 'x-forwarded-for': from })
      expect(response.status).toBe(200)
      return ((await response.json()) as { access_token: string }).access_token
    },
    call: (method: string, path: string, token: string, body?: unknown) =>
      fetch(`${server.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          'idempotency-key': crypto.randomUUID(),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        ...bounded(),
      }),
  }
}

async function expectProblem(response: Response, status: number, type: string) {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toStartWith('application/problem+json')
  expect(await response.json()).toMatchObject({ type: `/problems/${type}`, status })
}

const timed = async <T>(work: () => Promise<T>) => {
  const started = performance.now()
  const value = await work()
  return { value, ms: performance.now() - started }
}

describe('lockout as a weapon', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd({ args: ['--forwarded-for-hops', '1', '--login-max-failures', '5'] })
  }, startTimeoutMs)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('100 failures from one address: the owner, from another, still logs in', async () => {
    const api = client(server)
    expect((await api.signUp('owner@example.com')).status).toBe(201)
    const statuses: number[] = []
    for (let i = 0; i < 100; i++)
      statuses.push((await api.login('owner@example.com', `guess ${i}`, '6.6.6.6')).status)
    expect(statuses.filter((status) => status === 401)).toHaveLength(5)
    expect(statuses.filter((status) => status === 429)).toHaveLength(95)
    const owner = await api.login('owner@example.com', password, '192.0.2.10')
    expect(owner.status).toBe(200)
    // The attacker's address stays refused, even with the right password.
    const attacker = await api.login('owner@example.com', password, '6.6.6.6')
    expect(attacker.status).toBe(429)
    expect(attacker.headers.get('content-type')).toStartWith('application/problem+json')
    expect(Number(attacker.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  test('guesses spread over many addresses: the email is capped for addresses that failed, never for a fresh one', async () => {
    const api = client(server)
    expect((await api.signUp('spread@example.com')).status).toBe(201)
    // Email cap: 4 × 5 = 20 failures from all addresses, one each.
    for (let i = 0; i < 20; i++)
      expect((await api.login('spread@example.com', 'wrong guess', `6.6.8.${i}`)).status).toBe(401)
    expect((await api.login('spread@example.com', password, '6.6.8.0')).status).toBe(429)
    expect((await api.login('spread@example.com', password, '192.0.2.11')).status).toBe(200)
  })
})

describe('password hashing as a denial of service', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd({
      args: [
        '--forwarded-for-hops',
        '1',
        '--argon2-concurrency',
        '1',
        '--argon2-queue',
        '8',
        '--signup-max-per-client',
        '3',
      ],
    })
  }, startTimeoutMs)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('sign-ups past the limit per client address: 429 with Retry-After, and the user is not created', async () => {
    const api = client(server)
    for (let i = 0; i < 3; i++)
      expect((await api.signUp(`batch${i}@example.com`, '6.6.9.1')).status).toBe(201)
    const refused = await api.signUp('fourth@example.com', '6.6.9.1')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    await expectProblem(refused, 429, 'too-many-signups')
    // Not created: the email is still free for a sign-up from another address.
    expect((await api.signUp('fourth@example.com', '6.6.9.2')).status).toBe(201)
  })

  test('250 concurrent sign-ups: each 201 or 503 with Retry-After, the queue bounded; a login and ledger requests still answer', async () => {
    const api = client(server)
    expect((await api.signUp('regular@example.com', '192.0.2.50')).status).toBe(201)
    const token = await api.token('regular@example.com')
    const opened = await api.call('POST', '/v1/accounts', token, { currency: 'EUR' })
    expect(opened.status).toBe(201)
    const account = ((await opened.json()) as { id: string }).id

    const flood = Array.from({ length: 250 }, (_, i) =>
      api.signUp(`flood${i}@example.com`, `10.9.${Math.floor(i / 200)}.${i % 200}`),
    )
    await Bun.sleep(20)
    const login = await timed(() => api.login('regular@example.com', password, '192.0.2.51'))
    const ledger = await timed(() => api.call('GET', `/v1/accounts/${account}`, token))
    const deposit = await timed(() =>
      api.call('POST', `/v1/accounts/${account}/deposits`, token, { amount: 100 }),
    )
    const answers = await Promise.all(flood)

    const statuses = answers.map((response) => response.status)
    const created = statuses.filter((status) => status === 201).length
    const busy = answers.filter((response) => response.status === 503)
    console.log(
      `250 sign-ups: ${created} created, ${busy.length} answered 503; during the flood a login took ` +
        `${login.ms.toFixed(0)} ms, GET account ${ledger.ms.toFixed(0)} ms, a deposit ${deposit.ms.toFixed(0)} ms`,
    )
    expect(statuses.filter((status) => status !== 201 && status !== 503)).toEqual([])
    // One hashing, eight waiting: most of a burst of 250 must be turned away, not queued.
    expect(busy.length).toBeGreaterThan(200)
    for (const response of busy) {
      expect(response.headers.get('retry-after')).toBe('1')
      await expectProblem(response, 503, 'service-unavailable')
    }
    expect(login.value.status).toBe(200)
    expect(ledger.value.status).toBe(200)
    expect(deposit.value.status).toBe(201)

    // A refused sign-up changed nothing: its email is free.
    const refusedIndex = statuses.indexOf(503)
    expect((await api.signUp(`flood${refusedIndex}@example.com`, '192.0.2.60')).status).toBe(201)
    // And it was turned away before its client address was counted (before any database work, which
    // on PostgreSQL held the pool's connections ahead of the login): that address keeps all 3 sign-ups.
    const refusedFrom = `10.9.${Math.floor(refusedIndex / 200)}.${refusedIndex % 200}`
    for (let i = 0; i < 3; i++)
      expect((await api.signUp(`retry${i}@example.com`, refusedFrom)).status).toBe(201)
  })
})

describe("a deleted user's money", () => {
  let server: RunningLedgerd
  let adminToken: string
  beforeAll(async () => {
    server = await startLedgerd({ args: ['--forwarded-for-hops', '1'] })
    const generated = await createAdmin(server.dataDir, 'root@example.com')
    const response = await client(server).login('root@example.com', generated, '192.0.2.90')
    adminToken = ((await response.json()) as { access_token: string }).access_token
  }, startTimeoutMs)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  async function userWithMoney(email: string) {
    const api = client(server)
    const signed = await api.signUp(email, '192.0.2.91')
    expect(signed.status).toBe(201)
    const { id } = (await signed.json()) as { id: string }
    const token = await api.token(email, '192.0.2.91')
    const open = async () => {
      const opened = await api.call('POST', '/v1/accounts', token, { currency: 'EUR' })
      expect(opened.status).toBe(201)
      return ((await opened.json()) as { id: string }).id
    }
    const funded = await open()
    const empty = await open()
    expect((await api.call('POST', `/v1/accounts/${funded}/deposits`, token, { amount: 2500 })).status).toBe(
      201,
    )
    return { api, id, token, funded, empty }
  }

  for (const who of ['the user itself', 'an admin'] as const) {
    test(`${who}: deleting a user with money answers 409 naming the funded accounts; the user stays; at zero it goes`, async () => {
      const { api, id, token, funded, empty } = await userWithMoney(`rich-${who.length}@example.com`)
      const deleter = who === 'an admin' ? adminToken : token
      const refused = await api.call('DELETE', `/v1/users/${id}`, deleter)
      expect(refused.status).toBe(409)
      expect(refused.headers.get('content-type')).toStartWith('application/problem+json')
      const body = (await refused.json()) as {
        type: string
        detail: string
        accounts: { id: string; currency: string; balance: number }[]
        errors: { field: string }[]
      }
      expect(body.type).toBe('/problems/balance-not-zero')
      expect(body.accounts).toEqual([{ id: funded, currency: 'EUR', balance: 2500 }])
      expect(body.detail).toContain(funded)
      expect(body.detail).not.toContain(empty)
      expect(body.errors[0]?.field).toBe('id')
      // Nothing changed: the user and its money are still there.
      expect((await api.call('GET', '/v1/users/me', token)).status).toBe(200)
      const account = await api.call('GET', `/v1/accounts/${funded}`, token)
      expect(((await account.json()) as { balance: number }).balance).toBe(2500)

      expect(
        (await api.call('POST', `/v1/accounts/${funded}/withdrawals`, token, { amount: 2500 })).status,
      ).toBe(201)
      expect((await api.call('DELETE', `/v1/users/${id}`, deleter)).status).toBe(204)
    })
  }

  test("an admin's reversal that would pay a user deleted since answers 404 naming the account; nothing moves", async () => {
    const ann = await userWithMoney('paid-out@example.com')
    const bob = await userWithMoney('paid-to@example.com')
    const posted = async (response: Promise<Response>) => {
      const answered = await response
      expect(answered.status).toBe(201)
      return ((await answered.json()) as { id: string }).id
    }
    const withdrawal = await posted(
      ann.api.call('POST', `/v1/accounts/${ann.funded}/withdrawals`, ann.token, { amount: 500 }),
    )
    const transfer = await posted(
      ann.api.call('POST', '/v1/transfers', ann.token, {
        fromAccountId: ann.funded,
        toAccountId: bob.empty,
        amount: 2000,
      }),
    )
    expect((await ann.api.call('DELETE', `/v1/users/${ann.id}`, ann.token)).status).toBe(204)

    for (const original of [withdrawal, transfer]) {
      const refused = await ann.api.call('POST', `/v1/transactions/${original}/reversal`, adminToken)
      expect(refused.status).toBe(404)
      expect(refused.headers.get('content-type')).toStartWith('application/problem+json')
      expect(await refused.json()).toMatchObject({
        type: '/problems/not-found',
        detail: `Account ${ann.funded}, which the reversal would credit, belongs to a deleted user.`,
      })
    }
    const balance = async (account: string) => {
      const read = await ann.api.call('GET', `/v1/accounts/${account}`, adminToken)
      return ((await read.json()) as { balance: number }).balance
    }
    expect([await balance(ann.funded), await balance(bob.empty)]).toEqual([0, 2000])
  })
})

// SQLite only: PostgreSQL's writes are network round trips, never a wait on the event loop.
describe.skipIf(testStorage !== 'sqlite')('the event loop never waits on the disk for user writes', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd({ args: ['--forwarded-for-hops', '1'] })
  }, startTimeoutMs)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('with the database write-locked by another connection, /healthz answers at once while a sign-up, a rename and a delete wait', async () => {
    const api = client(server)
    expect((await api.signUp('renamer@example.com', '192.0.2.70')).status).toBe(201)
    expect((await api.signUp('leaver@example.com', '192.0.2.70')).status).toBe(201)
    const renamer = await api.token('renamer@example.com')
    const leaver = await api.token('leaver@example.com')
    const leaverId = ((await (await api.call('GET', '/v1/users/me', leaver)).json()) as { id: string }).id

    // Another connection takes SQLite's write lock and keeps it for 1.2 s: to ledgerd, a frozen disk.
    const locker = new Database(join(server.dataDir, databaseFileName))
    locker.exec('BEGIN IMMEDIATE')
    const waiting = [
      api.signUp('patient@example.com', '192.0.2.71'),
      api.call('PATCH', '/v1/users/me', renamer, { name: 'Renamed' }),
      api.call('DELETE', `/v1/users/${leaverId}`, leaver),
    ]
    await Bun.sleep(200) // past the sign-up's argon2: all three are now waiting for the lock
    const healthz: number[] = []
    const until = performance.now() + 1000
    while (performance.now() < until) {
      const { value, ms } = await timed(() => fetch(`${server.adminUrl}/healthz`, bounded()))
      expect(value.status).toBe(200)
      healthz.push(ms)
    }
    locker.exec('COMMIT')
    locker.close()
    const [signUp, rename, remove] = await Promise.all(waiting)
    console.log(
      `write lock held 1.2 s: ${healthz.length} /healthz answers, slowest ${Math.max(...healthz).toFixed(1)} ms`,
    )
    expect(Math.max(...healthz)).toBeLessThan(250)
    expect(healthz.length).toBeGreaterThan(10)
    expect(signUp?.status).toBe(201)
    expect(rename?.status).toBe(200)
    expect(remove?.status).toBe(204)
    expect((await api.call('GET', '/v1/users/me', leaver)).status).toBe(401)
  })
})
