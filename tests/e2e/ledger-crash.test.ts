import { expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import {
  effectOn,
  type LedgerAccount,
  type LedgerClient,
  type LedgerTransaction,
  type LedgerUser,
  ledgerClient,
  type Reply,
} from '../support/ledger-client'
import { createAdmin, type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'
import { expectVerified } from '../support/verify'

// kill -9 in the middle of concurrent mixed writes, then a restart on the same data dir. A 2xx promises the
// write is committed, so every acknowledged transaction must be there after the restart. A write that
// committed but whose answer was lost may be there too; retrying it with its Idempotency-Key must then
// return it, since the stored answer commits with the transaction it names.

const loops = 32
const loadMs = 2_000

interface Sent {
  caller: LedgerUser
  method: 'POST'
  path: string
  body: Record<string, unknown> | undefined
  key: string
}

interface Owned {
  owner: LedgerUser
  account: LedgerAccount
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T
const upTo = (max: number) => 1 + Math.floor(Math.random() * max)

/** Runs fn over items with at most `width` calls at a time. */
async function pooled<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T)
    }),
  )
}

const send = (client: LedgerClient, request: Sent) =>
  client.send<LedgerTransaction>(request.method, request.path, {
    token: request.caller.token,
    body: request.body,
    idempotencyKey: request.key,
  })

/** Allowed answers under load: a 201, or a business refusal that leaves the ledger as it was. */
const expectedRefusals = new Set(['/problems/insufficient-funds', '/problems/already-reversed'])

test('kill -9 under mixed load: acknowledged writes survive, balances equal their postings', async () => {
  const running: RunningLedgerd[] = []
  const first = await startLedgerd({ keepDataDir: true })
  running.push(first)
  const dataDir = first.dataDir
  try {
    const api = ledgerClient(first.apiUrl, { timeoutMs: 5_000 })
    const users = await Promise.all(
      ['ann', 'bob', 'cat', 'dan'].map((name) => api.signUp(`${name}@example.com`)),
    )
    const generated = await createAdmin(dataDir, 'root@example.com')
    const adminToken = await api.login('root@example.com', generated)
    const admin: LedgerUser = { id: '', email: 'root@example.com', token: adminToken }

    const accounts: Owned[] = []
    for (const owner of users) {
      for (const currency of ['USD', 'USD', 'JPY']) {
        const reply = await api.createAccount(owner.token, currency)
        expect(reply.status).toBe(201)
        accounts.push({ owner, account: reply.body })
      }
    }

    const acknowledged = new Map<string, LedgerTransaction>()
    const unanswered: Sent[] = []
    const unexpected: string[] = []
    let sequence = 0
    let killed = false
    /** Set once the kill is seen: loops keep sending until then, so some requests meet a dead server. */
    let stopped = false

    const nextRequest = (): Sent => {
      const key = `load-${++sequence}`
      const roll = Math.random()
      const { owner, account } = pick(accounts)
      if (roll < 0.3 || acknowledged.size === 0)
        return {
          caller: owner,
          method: 'POST',
          path: `/v1/accounts/${account.id}/deposits`,
          body: { amount: upTo(100) },
          key,
        }
      if (roll < 0.6)
        return {
          caller: owner,
          method: 'POST',
          path: `/v1/accounts/${account.id}/withdrawals`,
          body: { amount: upTo(200) },
          key,
        }
      if (roll < 0.95) {
        const to = pick(
          accounts.filter((o) => o.account.currency === account.currency && o.account.id !== account.id),
        )
        return {
          caller: owner,
          method: 'POST',
          path: '/v1/transfers',
          body: { fromAccountId: account.id, toAccountId: to.account.id, amount: upTo(200) },
          key,
        }
      }
      const target = pick([...acknowledged.keys()])
      return {
        caller: admin,
        method: 'POST',
        path: `/v1/transactions/${target}/reversal`,
        body: undefined,
        key,
      }
    }

    const record = (request: Sent, reply: Reply<LedgerTransaction>) => {
      if (reply.status === 201) acknowledged.set(reply.body.id, reply.body)
      else if (!(reply.status === 409 && expectedRefusals.has(reply.problem.type)))
        unexpected.push(`${request.path} ${JSON.stringify(request.body)}: ${reply.status} ${reply.text}`)
    }

    // Money first, acknowledged like everything else.
    for (const { owner, account } of accounts) {
      const request: Sent = {
        caller: owner,
        method: 'POST',
        path: `/v1/accounts/${account.id}/deposits`,
        body: { amount: 5_000 },
        key: `seed-${account.id}`,
      }
      record(request, await send(api, request))
    }

    const load = Array.from({ length: loops }, async () => {
      while (!stopped) {
        const request = nextRequest()
        try {
          record(request, await send(api, request))
        } catch (error) {
          if (killed) unanswered.push(request)
          else unexpected.push(`${request.path}: ${String(error)}`)
        }
      }
    })
    await Bun.sleep(loadMs)
    killed = true
    first.process.kill('SIGKILL')
    await first.exited
    // Answers already in the client's buffers at the kill still count as answered; the loops send on
    // until here, so requests sent after the kill (refused) are among the unanswered.
    stopped = true
    await Promise.all(load)

    expect(unexpected).toEqual([])
    expect(acknowledged.size).toBeGreaterThan(200)
    // Killed mid-load: some requests never got an answer.
    expect(unanswered.length).toBeGreaterThan(0)

    const second = await startLedgerd({ dataDir })
    running.push(second)
    const after = ledgerClient(second.apiUrl, { timeoutMs: 5_000 })
    const ownerOf = new Map(accounts.map((o) => [o.account.id, o.owner]))

    // Every acknowledged transaction is there, as it was acknowledged (balanceAfter depends on the
    // account the transaction is read through, so it is left out).
    const missing: string[] = []
    await pooled([...acknowledged.values()], 16, async (transaction) => {
      const reader = ownerOf.get(transaction.postings.find((p) => ownerOf.has(p.accountId))?.accountId ?? '')
      const reply = await after.getTransaction(reader?.token ?? '', transaction.id)
      if (reply.status !== 200) missing.push(`${transaction.id}: ${reply.status}`)
      else expect({ ...reply.body, balanceAfter: 0 }).toEqual({ ...transaction, balanceAfter: 0 })
    })
    expect(missing).toEqual([])

    /** Each account's listed transactions, checked against its balance; returns the ids listed. */
    const audit = async () => {
      const listed = new Set<string>()
      for (const { owner, account } of accounts) {
        const transactions = await after.allTransactions(owner.token, account.id)
        const balance = (await after.getAccount(owner.token, account.id)).body.balance
        expect({ account: account.id, balance }).toEqual({
          account: account.id,
          balance: transactions.reduce((sum, t) => sum + effectOn(t, account.id), 0),
        })
        expect(balance).toBeGreaterThanOrEqual(0)
        for (const t of transactions) listed.add(t.id)
        const ids = new Set(transactions.map((t) => t.id))
        const touching = [...acknowledged.values()].filter((t) =>
          t.postings.some((p) => p.accountId === account.id),
        )
        expect(touching.filter((t) => !ids.has(t.id)).map((t) => t.id)).toEqual([])
      }
      return listed
    }

    const listedBefore = await audit()
    const committedUnanswered = [...listedBefore].filter((id) => !acknowledged.has(id))
    expect(committedUnanswered.length).toBeLessThanOrEqual(unanswered.length)

    // Retrying the unanswered requests with their keys: a committed one is replayed, never run twice.
    const replayedIds = new Set<string>()
    for (const request of unanswered) {
      const reply = await send(after, request)
      if (reply.status === 201) {
        if (reply.replayed) replayedIds.add(reply.body.id)
        else expect(listedBefore.has(reply.body.id)).toBe(false)
        acknowledged.set(reply.body.id, reply.body)
      } else {
        expect({ status: reply.status, type: reply.problem.type }).toEqual({
          status: 409,
          type: expect.stringMatching(/^\/problems\/(insufficient-funds|already-reversed)$/),
        })
      }
    }
    expect(committedUnanswered.filter((id) => !replayedIds.has(id))).toEqual([])

    const listedAfter = await audit()
    expect([...listedAfter].filter((id) => !acknowledged.has(id))).toEqual([])

    await expectVerified(dataDir)
    expect(await second.stop()).toBe(0)
    await expectVerified(dataDir)
  } finally {
    for (const server of running)
      if (server.process.exitCode === null && !server.process.killed) server.process.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  }
}, 60_000)
