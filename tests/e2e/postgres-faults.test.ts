import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import {
  type LedgerAccount,
  type LedgerClient,
  type LedgerTransaction,
  type LedgerUser,
  ledgerClient,
} from '../support/ledger-client'
import { type RunningLedgerd, runLedgerd, serveArgs, startLedgerd, tempDir } from '../support/ledgerd-process'
import { metricsText, samples } from '../support/metrics'
import { startPostgres, type TestPostgres } from '../support/postgres'

// PostgreSQL going away is an ordinary event: ledgerd on a private PostgreSQL that the tests stop and
// start. Pods start before their database, primaries restart, and replicas get killed: no 500s, no hang
// past a bound, readiness that tells the truth, no acknowledged write lost, and recovery without a human.

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(() => {
  try {
    pg.stop('immediate')
  } catch {
    // Already stopped by a failed test.
  }
})

const readyz = async (replica: RunningLedgerd) => (await fetch(`${replica.adminUrl}/readyz`)).status

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await Bun.sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function funded(
  client: LedgerClient,
  email: string,
): Promise<{ user: LedgerUser; account: LedgerAccount }> {
  const user = await client.signUp(email)
  const account = (await client.createAccount(user.token, 'USD')).body
  expect((await client.deposit(user.token, account.id, 1_000_000)).status).toBe(201)
  return { user, account }
}

interface LoadResult {
  statuses: Map<number, number>
  acknowledged: LedgerTransaction[]
}

/** Keyed deposits and withdrawals from `loops` loops until `stop` resolves; 2 s per request at most. */
async function load(
  clients: LedgerClient[],
  owned: { user: LedgerUser; account: LedgerAccount },
  loops: number,
  stop: Promise<void>,
): Promise<LoadResult> {
  let stopped = false
  void stop.then(() => {
    stopped = true
  })
  const result: LoadResult = { statuses: new Map(), acknowledged: [] }
  let n = 0
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      while (!stopped) {
        const i = n++
        const client = clients[i % clients.length] as LedgerClient
        const send = i % 3 === 0 ? client.withdraw : client.deposit
        const reply = await send(owned.user.token, owned.account.id, 1 + (i % 50), {
          idempotencyKey: `load-${loop}-${i}`,
        }).catch(() => ({ status: 0 }) as { status: number; body?: LedgerTransaction })
        result.statuses.set(reply.status, (result.statuses.get(reply.status) ?? 0) + 1)
        if (reply.status === 201 && reply.body) result.acknowledged.push(reply.body as LedgerTransaction)
        if (reply.status === 503) await Bun.sleep(50)
      }
    }),
  )
  return result
}

/** Every acknowledged transaction is there, read through the API. */
async function expectAllPresent(client: LedgerClient, token: string, acknowledged: LedgerTransaction[]) {
  for (const transaction of acknowledged) {
    const read = await client.getTransaction(token, transaction.id)
    expect(read.status).toBe(200)
  }
}

async function expectVerifiedOn(url: string) {
  const result = await runLedgerd(['verify', '--data-dir', tempDir()], { env: { LEDGERD_DATABASE_URL: url } })
  expect(result.stdout + result.stderr).toMatch(/^ok: \d+ accounts, \d+ transactions checked$/m)
  expect(result.exitCode).toBe(0)
}

describe('PostgreSQL faults', () => {
  test('unreachable at start: ledgerd waits, not ready, answers 503, then serves once it is back', async () => {
    const url = await pg.createDatabase('late')
    pg.stop()
    let replica: RunningLedgerd | undefined
    try {
      replica = await startLedgerd({
        env: { LEDGERD_DATABASE_URL: url, LEDGERD_DB_CONNECT_TIMEOUT: '1s' },
        startedWhen: (line) => line.msg === 'database unavailable; retrying',
      })
      expect((await fetch(`${replica.adminUrl}/healthz`)).status).toBe(200)
      const ready = await fetch(`${replica.adminUrl}/readyz`)
      expect(ready.status).toBe(503)
      const api = await fetch(`${replica.apiUrl}/v1/users/me`)
      expect(api.status).toBe(503)
      expect(api.headers.get('retry-after')).toBe('1')
      expect(api.headers.get('content-type')).toBe('application/problem+json')
      // Still waiting a few retries later, not exited.
      await Bun.sleep(1_500)
      expect(replica.process.exitCode).toBeNull()
      pg.start()
      await waitFor('readiness', async () => (await readyz(replica as RunningLedgerd)) === 200)
      const client = ledgerClient(replica.apiUrl)
      await funded(client, 'late@example.com')
      expect(replica.logs.some((line) => line.msg === 'listening')).toBe(true)
    } finally {
      await replica?.stop()
      try {
        pg.start()
      } catch {
        // Running already.
      }
    }
  }, 90_000)

  test('a database migrated by a newer ledgerd is refused: exit 1 naming it, not a retry loop', async () => {
    const url = await pg.createDatabase('newer')
    const migrated = await runLedgerd(['migrate', '--data-dir', tempDir()], {
      env: { LEDGERD_DATABASE_URL: url },
    })
    expect(migrated.exitCode).toBe(0)
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      await sql`INSERT INTO ledgerd_migrations (version, name, checksum, applied_at)
                VALUES (999, 'from_the_future', 'x', '2030-01-01T00:00:00Z')`
    } finally {
      await sql.end()
    }
    const served = await runLedgerd(serveArgs(tempDir()), {
      env: { LEDGERD_DATABASE_URL: url },
      killAfterMs: 20_000,
    })
    expect(served.exitCode).toBe(1)
    expect(served.stdout).toContain('newer than this binary')
    const status = await runLedgerd(['migrate', '--status', '--data-dir', tempDir()], {
      env: { LEDGERD_DATABASE_URL: url },
    })
    expect(status.exitCode).toBe(1)
    expect(status.stderr).toContain('newer than this binary')
  }, 60_000)

  for (const mode of ['fast', 'immediate'] as const) {
    test(`stopped (${mode}) and started under load: only 2xx, 409 and 503; readiness follows; nothing acknowledged is lost`, async () => {
      const url = await pg.createDatabase(`outage_${mode}`)
      const replica = await startLedgerd({
        env: {
          LEDGERD_DATABASE_URL: url,
          LEDGERD_DB_STATEMENT_TIMEOUT: '2s',
          LEDGERD_DB_CONNECT_TIMEOUT: '1s',
        },
      })
      try {
        const client = ledgerClient(replica.apiUrl, { timeoutMs: 10_000 })
        const owned = await funded(client, `outage-${mode}@example.com`)
        let endLoad: () => void = () => {}
        const loading = load([client], owned, 16, new Promise<void>((resolve) => (endLoad = resolve)))
        await Bun.sleep(1_000)
        pg.stop(mode)
        await waitFor('readiness to turn false', async () => (await readyz(replica)) === 503, 15_000)
        await Bun.sleep(1_500)
        pg.start()
        await waitFor('readiness to come back', async () => (await readyz(replica)) === 200)
        await Bun.sleep(1_000)
        endLoad()
        const result = await loading
        const statuses = [...result.statuses.keys()].sort()
        expect(statuses.every((s) => s === 201 || s === 409 || s === 503)).toBe(true)
        expect(result.statuses.get(503) ?? 0).toBeGreaterThan(0)
        expect(result.statuses.get(201) ?? 0).toBeGreaterThan(0)
        expect(replica.process.exitCode).toBeNull()
        // Every 503 the load saw was counted by the kind of fault, and each kind was one the code knows.
        const faults = samples(await metricsText(replica.adminUrl), 'ledgerd_db_errors_total')
        const counted = Object.fromEntries(faults.map((f) => [f.labels.kind, f.value]))
        const total = faults.reduce((sum, fault) => sum + fault.value, 0)
        expect(total).toBeGreaterThanOrEqual(result.statuses.get(503) ?? 0)
        expect(counted.other).toBe(0)
        expect(faults.every((fault) => fault.labels.dialect === 'postgres')).toBe(true)
        await expectAllPresent(client, owned.user.token, result.acknowledged)
        const after = await client.deposit(owned.user.token, owned.account.id, 1)
        expect(after.status).toBe(201)
      } finally {
        await replica.stop()
      }
      await expectVerifiedOn(url)
    }, 120_000)
  }

  test('kill -9 of one of two replicas under load: every acknowledged write is there, verify passes', async () => {
    const url = await pg.createDatabase('killed')
    const [a, b] = await Promise.all([
      startLedgerd({ env: { LEDGERD_DATABASE_URL: url } }),
      startLedgerd({ env: { LEDGERD_DATABASE_URL: url } }),
    ])
    try {
      const clients = [
        ledgerClient(a.apiUrl, { timeoutMs: 10_000 }),
        ledgerClient(b.apiUrl, { timeoutMs: 10_000 }),
      ]
      const owned = await funded(clients[1] as LedgerClient, 'killed@example.com')
      let endLoad: () => void = () => {}
      const loading = load(clients, owned, 16, new Promise<void>((resolve) => (endLoad = resolve)))
      await Bun.sleep(1_500)
      a.process.kill('SIGKILL')
      await Bun.sleep(1_000)
      endLoad()
      const result = await loading
      // The killed replica's in-flight requests fail at the socket (0); nothing else may.
      const statuses = [...result.statuses.keys()]
      expect(statuses.every((s) => s === 0 || s === 201 || s === 409)).toBe(true)
      await expectAllPresent(clients[1] as LedgerClient, owned.user.token, result.acknowledged)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
    await expectVerifiedOn(url)
  }, 120_000)
})
