import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, rmSync } from 'node:fs'
import {
  effectOn,
  type LedgerAccount,
  type LedgerClient,
  type LedgerTransaction,
  type LedgerUser,
  ledgerClient,
  type Problem,
  type Reply,
} from '../support/ledger-client'
import {
  createAdmin,
  type RunningLedgerd,
  runLedgerd,
  startLedgerd,
  testStorage,
} from '../support/ledgerd-process'
import { metricsText as adminMetrics, samples } from '../support/metrics'
import { expectVerified } from '../support/verify'

// The ledger API against the compiled binary, written from the API contract: concurrency, idempotency,
// refused input, transfers, reversals, pagination, isolation between users, and metrics.

const started: RunningLedgerd[] = []
const keptDataDirs: string[] = []
let server: RunningLedgerd
let api: LedgerClient
let admin: LedgerUser
let userCount = 0

/** A new user with a token; emails are unique across the file. */
const newUser = (name: string) => api.signUp(`${name}-${++userCount}@example.com`)

async function openAccount(owner: LedgerUser, currency = 'USD', client = api): Promise<LedgerAccount> {
  const reply = await client.createAccount(owner.token, currency)
  expectStatus(reply, 201)
  return reply.body
}

async function deposit(owner: LedgerUser, account: LedgerAccount, amount: number, client = api) {
  const reply = await client.deposit(owner.token, account.id, amount)
  expectStatus(reply, 201)
  return reply.body
}

async function balanceOf(owner: LedgerUser, account: LedgerAccount, client = api): Promise<number> {
  const reply = await client.getAccount(owner.token, account.id)
  expectStatus(reply, 200)
  return reply.body.balance
}

/** Status and body together, so a failure shows what the server said. */
function expectStatus(reply: Reply<unknown>, status: number) {
  expect({ status: reply.status, body: reply.text }).toEqual({ status, body: expect.any(String) })
}

function expectProblem(reply: Reply<unknown>, status: number, slug?: string, field?: string) {
  expect({
    status: reply.status,
    contentType: reply.headers.get('content-type'),
    type: reply.problem?.type,
    body: reply.text,
  }).toMatchObject({
    status,
    contentType: 'application/problem+json',
    ...(slug ? { type: `/problems/${slug}` } : {}),
  })
  if (field) {
    const named = (reply.problem.errors ?? []).map((error) => error.field.toLowerCase())
    expect(named).toContain(field.toLowerCase())
  }
}

/** The first admin, made the way an operator does it: `ledgerd users create --admin` on the data dir. */
async function signUpAdmin(target: RunningLedgerd, client: LedgerClient): Promise<LedgerUser> {
  const email = `root-${++userCount}@example.com`
  const password = await createAdmin(target.dataDir, email)
  const token = await client.login(email, password)
  const me = (await client.send<{ id: string }>('GET', '/v1/users/me', { token })).body
  return { id: me.id, email, token }
}

async function metricsText(target: RunningLedgerd): Promise<string> {
  return adminMetrics(target.adminUrl)
}

beforeAll(async () => {
  server = await startLedgerd({ keepDataDir: true })
  started.push(server)
  keptDataDirs.push(server.dataDir)
  api = ledgerClient(server.apiUrl)
  admin = await signUpAdmin(server, api)
})

afterAll(async () => {
  for (const running of started) if (running.process.exitCode === null) await running.stop()
  for (const dir of keptDataDirs) rmSync(dir, { recursive: true, force: true })
})

describe('concurrency', () => {
  test('200 parallel withdrawals of 1 from 100: 100 succeed, 100 get insufficient-funds', async () => {
    // Its own server, so the transaction count and the commit-batch metric are this test's alone.
    const own = await startLedgerd({ keepDataDir: true })
    started.push(own)
    keptDataDirs.push(own.dataDir)
    const client = ledgerClient(own.apiUrl)
    const user = await client.signUp('racer@example.com')
    const account = await openAccount(user, 'USD', client)
    await deposit(user, account, 100, client)

    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.withdraw(user.token, account.id, 1, { idempotencyKey: `withdraw-${i}` }),
      ),
    )
    const statuses: Record<number, number> = {}
    for (const reply of replies) statuses[reply.status] = (statuses[reply.status] ?? 0) + 1
    expect(statuses).toEqual({ 201: 100, 409: 100 })
    for (const reply of replies.filter((r) => r.status === 409))
      expectProblem(reply, 409, 'insufficient-funds')
    const succeeded = replies.filter((r) => r.status === 201).map((r) => r.body)
    // Serialized withdrawals leave each balance from 99 down to 0 exactly once.
    expect(succeeded.map((t) => t.balanceAfter).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    )
    expect(await balanceOf(user, account, client)).toBe(0)
    const listed = await client.allTransactions(user.token, account.id)
    const withdrawals = listed.filter((t) => t.kind === 'withdrawal')
    expect(withdrawals).toHaveLength(100)
    expect(new Set(withdrawals.map((t) => t.id))).toEqual(new Set(succeeded.map((t) => t.id)))

    // On SQLite, requests arriving together share a commit: some batch held more than one write. On
    // PostgreSQL each write is its own transaction (the server groups their flushes).
    const metrics = await metricsText(own)
    const [batchCount] = samples(metrics, 'ledger_commit_batch_size_count')
    const [batchSum] = samples(metrics, 'ledger_commit_batch_size_sum')
    expect(batchCount?.value).toBeGreaterThan(0)
    if (testStorage === 'sqlite') expect(batchSum?.value).toBeGreaterThan(batchCount?.value ?? 0)

    const whileRunning = await expectVerified(own.dataDir)
    expect(whileRunning.transactions).toBe(101)
    expect(await own.stop()).toBe(0)
    expect(await expectVerified(own.dataDir)).toEqual(whileRunning)
  })

  test('verify run during a burst of concurrent transfers reads a consistent ledger', async () => {
    const [ann, bob] = await Promise.all([newUser('burst-ann'), newUser('burst-bob')])
    const [annUsd, bobUsd] = await Promise.all([openAccount(ann), openAccount(bob)])
    await Promise.all([deposit(ann, annUsd, 10_000), deposit(bob, bobUsd, 10_000)])
    let running = true
    const load = Array.from({ length: 16 }, async (_, i) => {
      const [from, to, owner] = i % 2 ? [annUsd, bobUsd, ann] : [bobUsd, annUsd, bob]
      while (running)
        await api.transfer(owner.token, { fromAccountId: from.id, toAccountId: to.id, amount: 3 })
    })
    try {
      for (let round = 0; round < 3; round++) await expectVerified(server.dataDir)
    } finally {
      running = false
      await Promise.all(load)
    }
    expect((await balanceOf(ann, annUsd)) + (await balanceOf(bob, bobUsd))).toBe(20_000)
  })
})

describe('idempotency', () => {
  test('one key from 50 connections at once: one effect; each answer is the 201 or key-in-use', async () => {
    const user = await newUser('storm')
    const account = await openAccount(user)
    await deposit(user, account, 1_000)
    const send = () => api.withdraw(user.token, account.id, 10, { idempotencyKey: 'storm-key' })

    const parallel = await Promise.all(Array.from({ length: 50 }, send))
    for (const reply of parallel) {
      if (reply.status === 409) expectProblem(reply, 409, 'idempotency-key-in-use')
      else expectStatus(reply, 201)
    }
    const created = parallel.filter((r) => r.status === 201)
    // The request that ran is answered first-hand; every other 201 is a replay of what it stored.
    expect(created.filter((r) => !r.replayed)).toHaveLength(1)
    const original = created.find((r) => !r.replayed) as Reply<LedgerTransaction>
    for (const reply of created) expect(reply.body).toEqual(original.body)

    const sequential: Reply<LedgerTransaction>[] = []
    for (let i = 0; i < 5; i++) sequential.push(await send())
    for (const reply of sequential) {
      expectStatus(reply, 201)
      expect(reply.replayed).toBe(true)
      expect(reply.body).toEqual(original.body)
      expect(reply.text).toBe(sequential[0]?.text as string)
    }

    expect(await balanceOf(user, account)).toBe(990)
    const listed = await api.allTransactions(user.token, account.id)
    expect(listed.map((t) => t.kind)).toEqual(['withdrawal', 'deposit'])
    expect(listed[0]?.id).toBe(original.body.id)
  })

  test('the same key for another body, path or route: 422 idempotency-key-reused, no effect', async () => {
    const user = await newUser('reuse')
    const [first, second] = await Promise.all([openAccount(user), openAccount(user)])
    const key = 'reused-key'
    const original = await api.deposit(user.token, first.id, 5, { idempotencyKey: key })
    expectStatus(original, 201)

    const otherAmount = await api.deposit(user.token, first.id, 6, { idempotencyKey: key })
    const otherDescription = await api.deposit(user.token, first.id, 5, {
      idempotencyKey: key,
      description: 'x',
    })
    const otherAccount = await api.deposit(user.token, second.id, 5, { idempotencyKey: key })
    const otherKind = await api.withdraw(user.token, first.id, 5, { idempotencyKey: key })
    const otherRoute = await api.createAccount(user.token, 'USD', { idempotencyKey: key })
    for (const reply of [otherAmount, otherDescription, otherAccount, otherKind, otherRoute])
      expectProblem(reply, 422, 'idempotency-key-reused')

    expect(await balanceOf(user, first)).toBe(5)
    expect(await balanceOf(user, second)).toBe(0)
    expect((await api.listAccounts(user.token)).body.items).toHaveLength(2)
    const again = await api.deposit(user.token, first.id, 5, { idempotencyKey: key })
    expectStatus(again, 201)
    expect(again.replayed).toBe(true)
    expect(again.body).toEqual(original.body)
  })

  test('a stored 409 insufficient-funds is replayed even after the account is funded', async () => {
    const user = await newUser('poor')
    const account = await openAccount(user)
    const refused = await api.withdraw(user.token, account.id, 5, { idempotencyKey: 'too-early' })
    expectProblem(refused, 409, 'insufficient-funds')
    expect(refused.replayed).toBe(false)

    await deposit(user, account, 10)
    const replay = await api.withdraw(user.token, account.id, 5, { idempotencyKey: 'too-early' })
    expect(replay.status).toBe(409)
    expect(replay.replayed).toBe(true)
    expect(replay.body).toEqual(refused.body)
    expect(await balanceOf(user, account)).toBe(10)

    const fresh = await api.withdraw(user.token, account.id, 5, { idempotencyKey: 'funded-now' })
    expectStatus(fresh, 201)
    expect(fresh.body.balanceAfter).toBe(5)
  })

  test("keys belong to the caller: B using A's key gets its own, fresh effect", async () => {
    const [ann, bob] = await Promise.all([newUser('keys-ann'), newUser('keys-bob')])
    const [annUsd, bobUsd] = await Promise.all([openAccount(ann), openAccount(bob)])
    const annReply = await api.deposit(ann.token, annUsd.id, 7, { idempotencyKey: 'shared-key' })
    const bobReply = await api.deposit(bob.token, bobUsd.id, 7, { idempotencyKey: 'shared-key' })
    expectStatus(annReply, 201)
    expectStatus(bobReply, 201)
    expect(bobReply.replayed).toBe(false)
    expect(bobReply.body.id).not.toBe(annReply.body.id)
    expect(await balanceOf(ann, annUsd)).toBe(7)
    expect(await balanceOf(bob, bobUsd)).toBe(7)
  })

  test('requests refused before running (422, 404) are not stored: the key stays free', async () => {
    const [user, other] = await Promise.all([newUser('refused'), newUser('refused-other')])
    const [account, othersAccount] = await Promise.all([openAccount(user), openAccount(other)])
    const invalid = await api.deposit(user.token, account.id, 0, { idempotencyKey: 'after-422' })
    expectProblem(invalid, 422, 'validation-failed', 'amount')
    const valid = await api.deposit(user.token, account.id, 5, { idempotencyKey: 'after-422' })
    expectStatus(valid, 201)
    expect(valid.replayed).toBe(false)

    const notFound = await api.deposit(user.token, othersAccount.id, 5, { idempotencyKey: 'after-404' })
    expectProblem(notFound, 404, 'not-found')
    const own = await api.deposit(user.token, account.id, 5, { idempotencyKey: 'after-404' })
    expectStatus(own, 201)
    expect(own.replayed).toBe(false)
    expect(await balanceOf(user, account)).toBe(10)
    expect(await balanceOf(other, othersAccount)).toBe(0)
  })

  test('a key of 255 characters is accepted and replayed', async () => {
    const user = await newUser('long-key')
    const account = await openAccount(user)
    const key = 'k'.repeat(255)
    const first = await api.deposit(user.token, account.id, 3, { idempotencyKey: key })
    const second = await api.deposit(user.token, account.id, 3, { idempotencyKey: key })
    expectStatus(first, 201)
    expectStatus(second, 201)
    expect(second.replayed).toBe(true)
    expect(await balanceOf(user, account)).toBe(3)
  })

  test('account creation is idempotent too, Location included', async () => {
    const user = await newUser('create-once')
    const first = await api.createAccount(user.token, 'EUR', { idempotencyKey: 'open-eur' })
    const second = await api.createAccount(user.token, 'EUR', { idempotencyKey: 'open-eur' })
    expectStatus(first, 201)
    expectStatus(second, 201)
    expect(first.headers.get('location')).toBe(`/v1/accounts/${first.body.id}`)
    expect(second.replayed).toBe(true)
    expect(second.body).toEqual(first.body)
    // A client that follows Location after a retry must land on the same account.
    expect(second.headers.get('location')).toBe(first.headers.get('location'))
    expect((await api.listAccounts(user.token)).body.items.map((a) => a.id)).toEqual([first.body.id])
  })
})

describe('refused input changes nothing', () => {
  interface Fixture {
    ann: LedgerUser
    bob: LedgerUser
    annUsd: LedgerAccount
    annJpy: LedgerAccount
    bobUsd: LedgerAccount
  }
  let f: Fixture

  beforeAll(async () => {
    const [ann, bob] = await Promise.all([newUser('input-ann'), newUser('input-bob')])
    const [annUsd, annJpy, bobUsd] = await Promise.all([
      openAccount(ann, 'USD'),
      openAccount(ann, 'JPY'),
      openAccount(bob, 'USD'),
    ])
    await Promise.all([deposit(ann, annUsd, 1_000), deposit(ann, annJpy, 1_000), deposit(bob, bobUsd, 1_000)])
    f = { ann, bob, annUsd, annJpy, bobUsd }
  })

  /** Every balance, transaction and account the two users can see. */
  async function snapshot() {
    const owned: [LedgerUser, LedgerAccount][] = [
      [f.ann, f.annUsd],
      [f.ann, f.annJpy],
      [f.bob, f.bobUsd],
    ]
    return {
      accounts: await Promise.all(
        owned.map(async ([owner, account]) => ({
          balance: await balanceOf(owner, account),
          transactions: (await api.allTransactions(owner.token, account.id)).map((t) => t.id),
        })),
      ),
      annAccounts: (await api.listAccounts(f.ann.token)).body.items.map((a) => a.id),
      bobAccounts: (await api.listAccounts(f.bob.token)).body.items.map((a) => a.id),
    }
  }

  const unknownId = Bun.randomUUIDv7()
  const missing = Symbol('missing')
  const badAmounts: [string, unknown][] = [
    ['1.5', 1.5],
    ['"10"', '10'],
    ['0', 0],
    ['-5', -5],
    ['true', true],
    ['null', null],
    ['missing', missing],
    ['2^53', 2 ** 53],
    ['1e21', 1e21],
  ]
  const withAmount = (body: Record<string, unknown>, amount: unknown) =>
    amount === missing ? body : { ...body, amount }

  type Case = [
    name: string,
    send: () => Promise<Reply<unknown>>,
    status: number,
    slug?: string,
    field?: string,
  ]
  const cases: Case[] = [
    ...badAmounts.flatMap(([name, amount]): Case[] => [
      [
        `deposit amount ${name}`,
        () =>
          api.send('POST', `/v1/accounts/${f.annUsd.id}/deposits`, {
            token: f.ann.token,
            body: withAmount({}, amount),
          }),
        422,
        'validation-failed',
        'amount',
      ],
      [
        `withdrawal amount ${name}`,
        () =>
          api.send('POST', `/v1/accounts/${f.annUsd.id}/withdrawals`, {
            token: f.ann.token,
            body: withAmount({}, amount),
          }),
        422,
        'validation-failed',
        'amount',
      ],
      [
        `transfer amount ${name}`,
        () =>
          api.send('POST', '/v1/transfers', {
            token: f.ann.token,
            body: withAmount({ fromAccountId: f.annUsd.id, toAccountId: f.bobUsd.id }, amount),
          }),
        422,
        'validation-failed',
        'amount',
      ],
    ]),
    ...(['usd', 'XXX', 'US', 'USDX', 840, null] as unknown[]).map(
      (currency): Case => [
        `account currency ${JSON.stringify(currency)}`,
        () => api.createAccount(f.ann.token, currency),
        422,
        'validation-failed',
        'currency',
      ],
    ),
    [
      'account currency missing',
      () => api.send('POST', '/v1/accounts', { token: f.ann.token, body: {} }),
      422,
      'validation-failed',
      'currency',
    ],
    [
      'description of the wrong type',
      () =>
        api.send('POST', `/v1/accounts/${f.annUsd.id}/deposits`, {
          token: f.ann.token,
          body: { amount: 5, description: 5 },
        }),
      422,
      'validation-failed',
      'description',
    ],
    [
      'transfer without fromAccountId',
      () =>
        api.send('POST', '/v1/transfers', {
          token: f.ann.token,
          body: { toAccountId: f.bobUsd.id, amount: 5 },
        }),
      422,
      'validation-failed',
      'fromAccountId',
    ],
    [
      'transfer without toAccountId',
      () =>
        api.send('POST', '/v1/transfers', {
          token: f.ann.token,
          body: { fromAccountId: f.annUsd.id, amount: 5 },
        }),
      422,
      'validation-failed',
      'toAccountId',
    ],
    [
      'transfer to the same account',
      () => api.transfer(f.ann.token, { fromAccountId: f.annUsd.id, toAccountId: f.annUsd.id, amount: 5 }),
      422,
    ],
    [
      'transfer between currencies',
      () => api.transfer(f.ann.token, { fromAccountId: f.annUsd.id, toAccountId: f.annJpy.id, amount: 5 }),
      422,
      'currency-mismatch',
    ],
    [
      'transfer to an unknown account',
      () => api.transfer(f.ann.token, { fromAccountId: f.annUsd.id, toAccountId: unknownId, amount: 5 }),
      404,
      'not-found',
    ],
    [
      'transfer from an unknown account',
      () => api.transfer(f.ann.token, { fromAccountId: unknownId, toAccountId: f.annUsd.id, amount: 5 }),
      404,
      'not-found',
    ],
    [
      "transfer from someone else's account",
      () => api.transfer(f.ann.token, { fromAccountId: f.bobUsd.id, toAccountId: f.annUsd.id, amount: 5 }),
      404,
      'not-found',
    ],
    ['deposit to an unknown account', () => api.deposit(f.ann.token, unknownId, 5), 404, 'not-found'],
    ["deposit to someone else's account", () => api.deposit(f.ann.token, f.bobUsd.id, 5), 404, 'not-found'],
    [
      "withdrawal from someone else's account",
      () => api.withdraw(f.ann.token, f.bobUsd.id, 5),
      404,
      'not-found',
    ],
    ['withdrawal from an unknown account', () => api.withdraw(f.ann.token, unknownId, 5), 404, 'not-found'],
    [
      'a body that is not JSON',
      () =>
        api.send('POST', `/v1/accounts/${f.annUsd.id}/deposits`, {
          token: f.ann.token,
          raw: { text: 'amount=5', contentType: 'text/plain' },
        }),
      415,
      'unsupported-media-type',
    ],
    [
      'a form-encoded body',
      () =>
        api.send('POST', '/v1/transfers', {
          token: f.ann.token,
          raw: {
            text: `fromAccountId=${f.annUsd.id}&toAccountId=${f.bobUsd.id}&amount=5`,
            contentType: 'application/x-www-form-urlencoded',
          },
        }),
      415,
      'unsupported-media-type',
    ],
    [
      'malformed JSON',
      () =>
        api.send('POST', `/v1/accounts/${f.annUsd.id}/withdrawals`, {
          token: f.ann.token,
          raw: { text: '{"amount": 5', contentType: 'application/json' },
        }),
      400,
      'malformed-body',
    ],
    [
      'an empty Idempotency-Key',
      () => api.deposit(f.ann.token, f.annUsd.id, 5, { idempotencyKey: '' }),
      400,
      undefined,
      'Idempotency-Key',
    ],
    [
      'an Idempotency-Key of 256 characters',
      () => api.deposit(f.ann.token, f.annUsd.id, 5, { idempotencyKey: 'k'.repeat(256) }),
      400,
      undefined,
      'Idempotency-Key',
    ],
    [
      'no bearer token',
      () => api.send('POST', `/v1/accounts/${f.annUsd.id}/deposits`, { body: { amount: 5 } }),
      401,
    ],
  ]

  // A loop rather than test.each: Bun passes a done callback in place of missing trailing elements.
  for (const [name, send, status, slug, field] of cases) {
    test(name, async () => {
      const before = await snapshot()
      expectProblem(await send(), status, slug, field)
      expect(await snapshot()).toEqual(before)
    })
  }

  test('an unknown account answers exactly like an account of someone else', async () => {
    const foreign = await api.getAccount(f.ann.token, f.bobUsd.id)
    const unknown = await api.getAccount(f.ann.token, unknownId)
    expectProblem(foreign, 404, 'not-found')
    expectProblem(unknown, 404, 'not-found')
    // Nothing but the path tells them apart: same type, title and status.
    const comparable = ({ type, title, status }: Problem) => ({ type, title, status })
    expect(comparable(foreign.problem)).toEqual(comparable(unknown.problem))
  })

  test('the ledger still verifies after all of it', async () => {
    await expectVerified(server.dataDir)
  })
})

describe('transfers', () => {
  test("to another user's account: balanced postings, both see it, a third user gets 404", async () => {
    const [ann, bob, eve] = await Promise.all([newUser('pay-ann'), newUser('pay-bob'), newUser('pay-eve')])
    const [annUsd, bobUsd] = await Promise.all([openAccount(ann), openAccount(bob)])
    await deposit(ann, annUsd, 1_000)
    const reply = await api.transfer(
      ann.token,
      { fromAccountId: annUsd.id, toAccountId: bobUsd.id, amount: 300 },
      { description: 'rent' },
    )
    expectStatus(reply, 201)
    const transfer = reply.body
    expect(transfer).toMatchObject({
      kind: 'transfer',
      amount: 300,
      currency: 'USD',
      description: 'rent',
      reversesId: null,
      balanceAfter: 700,
    })
    expect(transfer.postings.reduce((sum, p) => sum + p.amount, 0)).toBe(0)
    expect(effectOn(transfer, annUsd.id)).toBe(-300)
    expect(effectOn(transfer, bobUsd.id)).toBe(300)
    expect(await balanceOf(ann, annUsd)).toBe(700)
    expect(await balanceOf(bob, bobUsd)).toBe(300)

    for (const party of [ann, bob]) {
      const seen = await api.getTransaction(party.token, transfer.id)
      expectStatus(seen, 200)
      expect({ ...seen.body, balanceAfter: 0 }).toEqual({ ...transfer, balanceAfter: 0 })
    }
    // Each party sees its own balance: the recipient never learns the sender's.
    expect((await api.getTransaction(ann.token, transfer.id)).body.balanceAfter).toBe(700)
    expect((await api.getTransaction(bob.token, transfer.id)).body.balanceAfter).toBe(300)
    expect((await api.allTransactions(bob.token, bobUsd.id)).map((t) => t.id)).toEqual([transfer.id])
    // balanceAfter is the balance of the account in the URL, here the receiving one.
    expect((await api.allTransactions(bob.token, bobUsd.id))[0]?.balanceAfter).toBe(300)
    expectProblem(await api.getTransaction(eve.token, transfer.id), 404, 'not-found')
  })

  test("to a deleted user's account: 404, and the money stays with the sender", async () => {
    const [ann, gone] = await Promise.all([newUser('pay-ann2'), newUser('pay-gone')])
    const [annUsd, goneUsd] = await Promise.all([openAccount(ann), openAccount(gone)])
    await deposit(ann, annUsd, 500)
    const deleted = await fetch(`${server.apiUrl}/v1/users/${goneUsd.ownerId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${gone.token}` },
    })
    expect(deleted.status).toBe(204)
    const reply = await api.transfer(ann.token, {
      fromAccountId: annUsd.id,
      toAccountId: goneUsd.id,
      amount: 100,
    })
    expectProblem(reply, 404, 'not-found')
    expect(await balanceOf(ann, annUsd)).toBe(500)
  })

  test('more than the balance: 409 insufficient-funds, both balances unchanged', async () => {
    const [ann, bob] = await Promise.all([newUser('short-ann'), newUser('short-bob')])
    const [annUsd, bobUsd] = await Promise.all([openAccount(ann), openAccount(bob)])
    await deposit(ann, annUsd, 100)
    const reply = await api.transfer(ann.token, {
      fromAccountId: annUsd.id,
      toAccountId: bobUsd.id,
      amount: 101,
    })
    expectProblem(reply, 409, 'insufficient-funds')
    expect(await balanceOf(ann, annUsd)).toBe(100)
    expect(await balanceOf(bob, bobUsd)).toBe(0)
    const exact = await api.transfer(ann.token, {
      fromAccountId: annUsd.id,
      toAccountId: bobUsd.id,
      amount: 100,
    })
    expectStatus(exact, 201)
    expect(exact.body.balanceAfter).toBe(0)
  })

  test('accounts carry their currency exponent: USD 2, JPY 0, KWD 3', async () => {
    const user = await newUser('exponents')
    const opened = await Promise.all(['USD', 'JPY', 'KWD'].map((currency) => openAccount(user, currency)))
    expect(opened.map((a) => [a.currency, a.exponent, a.balance, a.ownerId])).toEqual([
      ['USD', 2, 0, user.id],
      ['JPY', 0, 0, user.id],
      ['KWD', 3, 0, user.id],
    ])
  })
})

describe('reversals', () => {
  test('only an admin may reverse: a user gets 403 and nothing changes', async () => {
    const user = await newUser('no-reverse')
    const account = await openAccount(user)
    const made = await deposit(user, account, 50)
    expectProblem(await api.reverse(user.token, made.id), 403, 'forbidden')
    expect(await balanceOf(user, account)).toBe(50)
  })

  test('an admin reverses a deposit; again, or reversing the reversal: 409 already-reversed', async () => {
    const user = await newUser('reversed')
    const account = await openAccount(user)
    await deposit(user, account, 30)
    const made = await deposit(user, account, 50)
    const reply = await api.reverse(admin.token, made.id)
    expectStatus(reply, 201)
    const reversal = reply.body
    expect(reversal).toMatchObject({
      kind: 'reversal',
      reversesId: made.id,
      amount: 50,
      currency: 'USD',
      balanceAfter: 30,
    })
    const negated = (t: LedgerTransaction) =>
      t.postings.map((p) => ({ accountId: p.accountId, amount: -p.amount })).sort(byAccountAndAmount)
    expect([...reversal.postings].sort(byAccountAndAmount)).toEqual(negated(made))
    expect(await balanceOf(user, account)).toBe(30)

    expectProblem(await api.reverse(admin.token, made.id), 409, 'already-reversed')
    expectProblem(await api.reverse(admin.token, reversal.id), 409, 'already-reversed')
    expect(await balanceOf(user, account)).toBe(30)
    // The owner sees the reversal in the account's history.
    const listed = await api.allTransactions(user.token, account.id)
    expect(listed.map((t) => t.kind)).toEqual(['reversal', 'deposit', 'deposit'])
  })

  test('reversing a deposit whose money was spent: 409 insufficient-funds, nothing changes', async () => {
    const user = await newUser('spent')
    const account = await openAccount(user)
    const made = await deposit(user, account, 80)
    expectStatus(await api.withdraw(user.token, account.id, 50), 201)
    expectProblem(await api.reverse(admin.token, made.id), 409, 'insufficient-funds')
    expect(await balanceOf(user, account)).toBe(30)
    // Not reversed, so it can be once the money is back.
    await deposit(user, account, 50)
    expectStatus(await api.reverse(admin.token, made.id), 201)
    expect(await balanceOf(user, account)).toBe(0)
  })

  test('reversing a transfer moves the money back; reversing a withdrawal refunds it', async () => {
    const [ann, bob] = await Promise.all([newUser('undo-ann'), newUser('undo-bob')])
    const [annUsd, bobUsd] = await Promise.all([openAccount(ann), openAccount(bob)])
    await deposit(ann, annUsd, 100)
    const sent = await api.transfer(ann.token, {
      fromAccountId: annUsd.id,
      toAccountId: bobUsd.id,
      amount: 40,
    })
    expectStatus(sent, 201)
    const undone = await api.reverse(admin.token, sent.body.id)
    expectStatus(undone, 201)
    expect(effectOn(undone.body, annUsd.id)).toBe(40)
    expect(effectOn(undone.body, bobUsd.id)).toBe(-40)
    expect([await balanceOf(ann, annUsd), await balanceOf(bob, bobUsd)]).toEqual([100, 0])

    const taken = await api.withdraw(ann.token, annUsd.id, 25)
    expectStatus(taken, 201)
    const refunded = await api.reverse(admin.token, taken.body.id)
    expectStatus(refunded, 201)
    expect(refunded.body.balanceAfter).toBe(100)
    expect(await balanceOf(ann, annUsd)).toBe(100)
  })

  test('a reversal retried with its key gets the stored 201, not already-reversed', async () => {
    const user = await newUser('reverse-retry')
    const account = await openAccount(user)
    const made = await deposit(user, account, 20)
    const first = await api.reverse(admin.token, made.id, { idempotencyKey: 'undo-once' })
    const retry = await api.reverse(admin.token, made.id, { idempotencyKey: 'undo-once' })
    expectStatus(first, 201)
    expectStatus(retry, 201)
    expect(retry.replayed).toBe(true)
    expect(retry.body).toEqual(first.body)
    expect(await balanceOf(user, account)).toBe(0)
  })

  test('a stored already-reversed 409 is replayed with its key', async () => {
    const user = await newUser('reverse-twice')
    const account = await openAccount(user)
    const made = await deposit(user, account, 20)
    expectStatus(await api.reverse(admin.token, made.id), 201)
    const refused = await api.reverse(admin.token, made.id, { idempotencyKey: 'late-undo' })
    expectProblem(refused, 409, 'already-reversed')
    const again = await api.reverse(admin.token, made.id, { idempotencyKey: 'late-undo' })
    expect(again.status).toBe(409)
    expect(again.replayed).toBe(true)
    expect(again.body).toEqual(refused.body)
  })

  test('20 parallel reversals of one transaction: one succeeds, the rest get already-reversed', async () => {
    const user = await newUser('reverse-race')
    const account = await openAccount(user)
    await deposit(user, account, 5)
    const made = await deposit(user, account, 40)
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.reverse(admin.token, made.id, { idempotencyKey: `race-${i}` }),
      ),
    )
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1)
    for (const reply of replies.filter((r) => r.status !== 201)) expectProblem(reply, 409, 'already-reversed')
    expect(await balanceOf(user, account)).toBe(5)
    const kinds = (await api.allTransactions(user.token, account.id)).map((t) => t.kind)
    expect(kinds).toEqual(['reversal', 'deposit', 'deposit'])
  })

  test('reversing an unknown transaction: 404', async () => {
    expectProblem(await api.reverse(admin.token, Bun.randomUUIDv7()), 404, 'not-found')
  })

  test('GET /v1/transactions/{id} reports a user account balance, never the external account', async () => {
    // The external account's balance is minus everyone's deposits in the currency: not a user's business.
    const [ann, bob] = await Promise.all([newUser('view-ann'), newUser('view-bob')])
    const [annUsd, bobUsd] = await Promise.all([openAccount(ann), openAccount(bob)])
    await deposit(bob, bobUsd, 1_000_000)
    const made = await deposit(ann, annUsd, 100)
    const read = await api.getTransaction(ann.token, made.id)
    expectStatus(read, 200)
    expect(read.body.balanceAfter).toBe(100)

    const reversal = await api.reverse(admin.token, made.id)
    expectStatus(reversal, 201)
    expect(reversal.body.balanceAfter).toBe(0)
    // For reversals the contract names it: the first user account in the postings.
    const readReversal = await api.getTransaction(ann.token, reversal.body.id)
    expectStatus(readReversal, 200)
    expect(readReversal.body.balanceAfter).toBe(0)
  })
})

describe('limits', () => {
  test('a balance never passes 2^53-1: the deposit that would is refused and changes nothing', async () => {
    // NOK is used by no other test: the external NOK account goes to -(2^53-1) and back to 0 here.
    const user = await newUser('limit')
    const account = await openAccount(user, 'NOK')
    const max = Number.MAX_SAFE_INTEGER
    const full = await api.deposit(user.token, account.id, max)
    expectStatus(full, 201)
    expect(full.body.balanceAfter).toBe(max)
    expectProblem(await api.deposit(user.token, account.id, 1), 409)
    expect(await balanceOf(user, account)).toBe(max)
    const emptied = await api.withdraw(user.token, account.id, max)
    expectStatus(emptied, 201)
    expect(emptied.body.balanceAfter).toBe(0)
  })
})

const byAccountAndAmount = (
  a: { accountId: string; amount: number },
  b: { accountId: string; amount: number },
) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : a.amount - b.amount)

describe('pagination', () => {
  test('newest first; a walk started before new writes neither repeats nor skips', async () => {
    const user = await newUser('pages')
    const account = await openAccount(user)
    const made: string[] = []
    for (let amount = 1; amount <= 7; amount++) made.push((await deposit(user, account, amount)).id)

    const walked: LedgerTransaction[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await api.listTransactions(user.token, account.id, { limit: 3, cursor })
      expectStatus(page, 200)
      expect(page.body.items.length).toBeLessThanOrEqual(3)
      walked.push(...page.body.items)
      cursor = page.body.nextCursor ?? undefined
      pages++
      // New transactions land between the page fetches.
      for (let i = 0; i < 2; i++) made.push((await deposit(user, account, 100 + pages * 10 + i)).id)
    } while (cursor !== undefined && pages < 10)

    expect(walked.map((t) => t.id)).toEqual(made.slice(0, 7).reverse())
    expect(pages).toBe(3)
    const everything = await api.allTransactions(user.token, account.id, 4)
    expect(everything.map((t) => t.id)).toEqual([...made].reverse())
    const times = everything.map((t) => Date.parse(t.createdAt))
    expect(times).toEqual([...times].sort((a, b) => b - a))
    // Each transaction reports the balance right after it, newest first.
    expect(everything[0]?.balanceAfter).toBe(await balanceOf(user, account))
    for (let i = 0; i + 1 < everything.length; i++) {
      const newer = everything[i] as LedgerTransaction
      expect(newer.balanceAfter - newer.amount).toBe((everything[i + 1] as LedgerTransaction).balanceAfter)
    }
  })

  test('the account list pages through the caller’s own accounts', async () => {
    const user = await newUser('many-accounts')
    const opened: string[] = []
    for (const currency of ['USD', 'EUR', 'JPY', 'GBP', 'CHF'])
      opened.push((await openAccount(user, currency)).id)
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await api.listAccounts(user.token, { limit: 2, cursor })
      expectStatus(page, 200)
      seen.push(...page.body.items.map((a) => a.id))
      cursor = page.body.nextCursor ?? undefined
    } while (cursor !== undefined && seen.length < 20)
    expect([...seen].sort()).toEqual([...opened].sort())
  })
})

describe('isolation between users', () => {
  let ann: LedgerUser
  let bob: LedgerUser
  let bobUsd: LedgerAccount
  let bobsDeposit: LedgerTransaction
  beforeAll(async () => {
    ;[ann, bob] = await Promise.all([newUser('iso-ann'), newUser('iso-bob')])
    await openAccount(ann)
    bobUsd = await openAccount(bob)
    bobsDeposit = await deposit(bob, bobUsd, 500)
  })

  test("a user cannot read, list or move another user's money: 404 as for an unknown id", async () => {
    expectProblem(await api.getAccount(ann.token, bobUsd.id), 404, 'not-found')
    expectProblem(await api.listTransactions(ann.token, bobUsd.id), 404, 'not-found')
    expectProblem(await api.getTransaction(ann.token, bobsDeposit.id), 404, 'not-found')
    expectProblem(await api.deposit(ann.token, bobUsd.id, 1), 404, 'not-found')
    expectProblem(await api.withdraw(ann.token, bobUsd.id, 1), 404, 'not-found')
    const annsAccounts = (await api.listAccounts(ann.token)).body.items
    expect(annsAccounts.map((a) => a.ownerId)).toEqual([ann.id])
    expect(await balanceOf(bob, bobUsd)).toBe(500)
  })

  test('an admin reads any account, its transactions, and any transaction', async () => {
    const account = await api.getAccount(admin.token, bobUsd.id)
    expectStatus(account, 200)
    expect(account.body).toMatchObject({ id: bobUsd.id, ownerId: bob.id, balance: 500 })
    const transaction = await api.getTransaction(admin.token, bobsDeposit.id)
    expectStatus(transaction, 200)
    expect(transaction.body.id).toBe(bobsDeposit.id)
    const listed = await api.listTransactions(admin.token, bobUsd.id)
    expectStatus(listed, 200)
    expect(listed.body.items.map((t) => t.id)).toEqual([bobsDeposit.id])
  })
})

describe('metrics', () => {
  test('transactions by kind and outcome, replays, commit batch size and duration', async () => {
    const [user, payee] = await Promise.all([newUser('metered'), newUser('metered-payee')])
    const [account, payeeAccount] = await Promise.all([openAccount(user), openAccount(payee)])
    const made = await deposit(user, account, 10)
    expectStatus(await api.reverse(admin.token, made.id), 201)
    await deposit(user, account, 10)
    const sent = await api.transfer(user.token, {
      fromAccountId: account.id,
      toAccountId: payeeAccount.id,
      amount: 1,
    })
    expectStatus(sent, 201)
    expectProblem(await api.withdraw(user.token, account.id, 10), 409, 'insufficient-funds')
    expectStatus(await api.withdraw(user.token, account.id, 1, { idempotencyKey: 'metered' }), 201)
    expectStatus(await api.withdraw(user.token, account.id, 1, { idempotencyKey: 'metered' }), 201)

    const text = await metricsText(server)
    const transactions = samples(text, 'ledger_transactions_total')
    for (const sample of transactions) {
      expect(Object.keys(sample.labels).sort()).toEqual(['currency', 'kind', 'outcome'])
    }
    // Committed and refused alike are counted in the account's currency.
    const usd = transactions.filter((s) => s.labels.currency === 'USD' && s.value > 0)
    expect(usd.map((s) => s.labels.outcome)).toEqual(
      expect.arrayContaining(['committed', 'insufficient_funds']),
    )
    const moved = samples(text, 'ledger_amount_minor_units_total')
    const movedBy = (kind: string) =>
      moved.find((s) => s.labels.kind === kind && s.labels.currency === 'USD')?.value
    // Deposits of 10 by this test (and others'); its transfer of 1; two withdrawals of 1, one replayed.
    expect(movedBy('deposit')).toBeGreaterThanOrEqual(20)
    expect(movedBy('transfer')).toBeGreaterThanOrEqual(1)
    expect(movedBy('reversal')).toBeGreaterThanOrEqual(10)
    const kinds = new Set(transactions.filter((s) => s.value > 0).map((s) => s.labels.kind))
    expect([...kinds].sort()).toEqual(['deposit', 'reversal', 'transfer', 'withdrawal'])
    const withdrawalOutcomes = transactions.filter((s) => s.labels.kind === 'withdrawal' && s.value > 0)
    // At least a success and an insufficient-funds refusal, counted apart.
    expect(new Set(withdrawalOutcomes.map((s) => s.labels.outcome)).size).toBeGreaterThanOrEqual(2)
    expect(samples(text, 'ledger_idempotent_replays_total')[0]?.value).toBeGreaterThan(0)
    expect(samples(text, 'ledger_commit_batch_size_count')[0]?.value).toBeGreaterThan(0)
    expect(samples(text, 'ledger_commit_duration_seconds_count')[0]?.value).toBeGreaterThan(0)
  })
})

describe('ledgerd verify', () => {
  test('on a directory with no database: fails, and creates nothing', async () => {
    // A mistyped --data-dir must not be reported as a consistent ledger.
    const dir = `${server.dataDir}-missing`
    const result = await runLedgerd(['verify', '--data-dir', dir])
    const created = existsSync(dir)
    rmSync(dir, { recursive: true, force: true })
    expect({ exitCode: result.exitCode, stdout: result.stdout, created }).toEqual({
      exitCode: 1,
      stdout: expect.not.stringContaining('ok:'),
      created: false,
    })
  })
})

describe('after the server stops', () => {
  test('the data dir passes ledgerd verify', async () => {
    const whileRunning = await expectVerified(server.dataDir)
    expect(await server.stop()).toBe(0)
    expect(await expectVerified(server.dataDir)).toEqual(whileRunning)
  })
})
