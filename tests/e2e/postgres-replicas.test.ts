import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  type LedgerAccount,
  type LedgerClient,
  type LedgerTransaction,
  type LedgerUser,
  ledgerClient,
} from '../support/ledger-client'
import { type RunningLedgerd, runLedgerd, startLedgerd, tempDir } from '../support/ledgerd-process'
import { testPostgres } from '../support/postgres'

// Three `ledgerd serve` processes on one PostgreSQL, as the Kubernetes bundle runs them: the guarantees
// must hold across replicas, not just across the requests of one process.

const replicaCount = 3
let databaseUrl: string
const replicas: RunningLedgerd[] = []
const clients: LedgerClient[] = []

beforeAll(async () => {
  databaseUrl = await (await testPostgres()).createDatabase('replicas')
  // Started together: they must migrate once between them (the advisory lock) and agree on one key.
  const started = await Promise.all(
    Array.from({ length: replicaCount }, () => startLedgerd({ env: { LEDGERD_DATABASE_URL: databaseUrl } })),
  )
  replicas.push(...started)
  clients.push(...started.map((replica) => ledgerClient(replica.apiUrl, { timeoutMs: 20_000 })))
}, 60_000)

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()))
})

const client = (i: number) => clients[i % replicaCount] as LedgerClient

async function fundedAccount(
  email: string,
  amount: number,
): Promise<{ user: LedgerUser; account: LedgerAccount }> {
  const user = await client(0).signUp(email)
  const created = await client(1).createAccount(user.token, 'USD')
  expect(created.status).toBe(201)
  if (amount > 0) {
    const deposit = await client(2).deposit(user.token, created.body.id, amount)
    expect(deposit.status).toBe(201)
  }
  return { user, account: created.body }
}

describe('replicas on one PostgreSQL', () => {
  test('started together, they migrated once and sign tokens every replica accepts', async () => {
    const user = await client(0).signUp('tokens@example.com')
    for (const c of clients) {
      const me = await c.send<{ id: string }>('GET', '/v1/users/me', { token: user.token })
      expect(me.status).toBe(200)
      expect(me.body.id).toBe(user.id)
    }
    const status = await runLedgerd(['migrate', '--status'], { env: { LEDGERD_DATABASE_URL: databaseUrl } })
    expect(status.exitCode).toBe(0)
    expect(status.stdout).not.toContain('pending')
    expect(status.stdout).not.toContain(new URL(databaseUrl).password)
  })

  test('a deposit through one replica is visible through the others at once', async () => {
    const { user, account } = await fundedAccount('visible@example.com', 0)
    const deposit = await client(0).deposit(user.token, account.id, 4321)
    expect(deposit.status).toBe(201)
    for (const c of clients) {
      const read = await c.getAccount(user.token, account.id)
      expect(read.body.balance).toBe(4321)
    }
  })

  test('200 concurrent withdrawals of 1 from a balance of 100, spread over the replicas: exactly 100 succeed', async () => {
    const { user, account } = await fundedAccount('overdraft@example.com', 100)
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client(i).withdraw(user.token, account.id, 1, { idempotencyKey: `w-${i}` }),
      ),
    )
    const statuses = replies.map((reply) => reply.status)
    expect(statuses.filter((s) => s === 201)).toHaveLength(100)
    expect(statuses.filter((s) => s === 409)).toHaveLength(100)
    for (const reply of replies.filter((r) => r.status === 409)) {
      expect(reply.problem.type).toBe('/problems/insufficient-funds')
    }
    const read = await client(2).getAccount(user.token, account.id)
    expect(read.body.balance).toBe(0)
  })

  test('one Idempotency-Key sent 30 times at once across the replicas has one effect and one answer', async () => {
    const { user, account } = await fundedAccount('storm@example.com', 0)
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        client(i).deposit(user.token, account.id, 777, { idempotencyKey: 'storm-key' }),
      ),
    )
    const created = replies.filter((reply) => reply.status === 201)
    const inUse = replies.filter((reply) => reply.status === 409)
    expect(created.length + inUse.length).toBe(30)
    expect(created.length).toBeGreaterThanOrEqual(1)
    for (const reply of inUse) expect(reply.problem.type).toBe('/problems/idempotency-key-in-use')
    const ids = new Set(created.map((reply) => (reply.body as unknown as LedgerTransaction).id))
    expect(ids.size).toBe(1)
    expect(new Set(created.map((reply) => reply.text)).size).toBe(1)
    // Once the first has finished, every retry anywhere replays it.
    const retry = await client(1).deposit(user.token, account.id, 777, { idempotencyKey: 'storm-key' })
    expect(retry.status).toBe(201)
    expect(retry.replayed).toBe(true)
    expect(retry.text).toBe(created[0]?.text as string)
    const read = await client(2).getAccount(user.token, account.id)
    expect(read.body.balance).toBe(777)
  })

  test('transfers both ways between two accounts at once, over the replicas: no errors, money conserved', async () => {
    const a = await fundedAccount('ping@example.com', 10_000)
    const b = await fundedAccount('pong@example.com', 10_000)
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const [from, to] = i % 2 === 0 ? [a, b] : [b, a]
        return client(i).transfer(
          from.user.token,
          { fromAccountId: from.account.id, toAccountId: to.account.id, amount: 1 + (i % 7) },
          { idempotencyKey: `t-${i}` },
        )
      }),
    )
    expect(replies.map((reply) => reply.status).filter((s) => s !== 201)).toEqual([])
    const balanceA = (await client(0).getAccount(a.user.token, a.account.id)).body.balance
    const balanceB = (await client(1).getAccount(b.user.token, b.account.id)).body.balance
    expect(balanceA + balanceB).toBe(20_000)
  })

  test('a deleted user is refused on every replica', async () => {
    const user = await client(0).signUp('leaving@example.com')
    const removed = await client(1).send('DELETE', `/v1/users/${user.id}`, { token: user.token })
    expect(removed.status).toBe(204)
    // Each replica caches "this user exists" for at most two seconds.
    await Bun.sleep(2_100)
    for (const c of clients) {
      const me = await c.send('GET', '/v1/users/me', { token: user.token })
      expect(me.status).toBe(401)
    }
  })

  test('failed logins are counted across replicas', async () => {
    await client(0).signUp('guessed@example.com')
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      const reply = await client(i).send('POST', '/v1/auth/token', {
        body: { email: 'guessed@example.com', password: `wrong password ${i}` },
      })
      statuses.push(reply.status)
    }
    expect(statuses).toContain(429)
    expect(statuses.indexOf(429)).toBeLessThan(12)
  })

  test('ledgerd verify checks the PostgreSQL ledger the replicas wrote', async () => {
    const result = await runLedgerd(['verify', '--data-dir', tempDir()], {
      env: { LEDGERD_DATABASE_URL: databaseUrl },
    })
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/^ok: \d+ accounts, \d+ transactions checked$/m)
  })
})
