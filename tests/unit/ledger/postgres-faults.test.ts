import { afterAll, describe, expect, test } from 'bun:test'
import { type LedgerEngine, LedgerUnavailableError, type Result } from '../../../src/ledger/engine'
import { openPostgresLedgerEngine } from '../../../src/ledger/postgres/engine'
import { startPostgres, type TestPostgres } from '../../support/postgres'
import { ledgerDatabase, poolFor } from '../../support/postgres-ledger'

// The PostgreSQL ledger when its database fails: a private server stopped under load and started again,
// and a server that accepts connections but never answers. Every call settles (the engine bounds each
// one), as LedgerUnavailableError while the database is gone; readiness says so and recovers by itself.
// No assertion here is on a duration: a call that hung would fail the test by its timeout.

let server: TestPostgres | undefined
afterAll(() => {
  try {
    server?.stop('immediate')
  } catch {
    // Already stopped.
  }
})

type Outcome = { key: string; result?: Result<unknown>; error?: unknown }

describe('PostgreSQL ledger faults', () => {
  test(
    'PostgreSQL stopped under load: 503s, readiness says why, and writes (and keys) work again after',
    async () => {
      server = await startPostgres()
      const database = await ledgerDatabase(server)
      const { engine } = database.replica({ statementTimeoutMs: 2000 })
      const userId = await database.createUser()
      const opened = await engine.openAccount({ userId }, { op: 'open-account', currency: 'USD' })
      if (!opened.ok) throw new Error('could not open the account')
      const accountId = opened.value.id
      const deposit = (key: string) =>
        engine.move({ userId, idempotency: { key } }, { op: 'deposit', accountId, amount: 1 })

      // Load: 8 callers depositing with fresh keys until told to stop.
      const outcomes: Outcome[] = []
      let load = true
      let sent = 0
      const caller = async () => {
        while (load) {
          const key = `k-${sent++}`
          try {
            outcomes.push({ key, result: await deposit(key) })
          } catch (error) {
            outcomes.push({ key, error })
            await Bun.sleep(20)
          }
        }
      }
      const callers = Array.from({ length: 8 }, caller)
      while (outcomes.filter((o) => o.result?.ok).length < 50) await Bun.sleep(10)
      // Immediate: the server dies as in a crash, mid-commit for some of the load.
      server.stop('immediate')
      const failedBefore = outcomes.filter((o) => o.error).length
      while (outcomes.filter((o) => o.error).length < failedBefore + 20) await Bun.sleep(10)
      expect(await engine.writeProblem()).toBeString()
      await expect(engine.account(accountId)).rejects.toBeInstanceOf(LedgerUnavailableError)

      server.start()
      const failedAfterStart = outcomes.filter((o) => o.error).length
      const answeredAfterStart = outcomes.length
      while (outcomes.slice(answeredAfterStart).filter((o) => o.result?.ok).length < 20) await Bun.sleep(10)
      load = false
      await Promise.all(callers)
      // Failures stop once the server is back (a few in flight at the restart may still fail).
      expect(outcomes.filter((o) => o.error).length - failedAfterStart).toBeLessThan(20)
      expect(await engine.writeProblem()).toBeUndefined()

      // Nothing failed but with LedgerUnavailableError, and nothing was refused.
      const errors = outcomes.filter((o) => o.error)
      expect(errors.length).toBeGreaterThan(0)
      for (const { error } of errors) expect(error).toBeInstanceOf(LedgerUnavailableError)
      expect(outcomes.filter((o) => o.result && !o.result.ok)).toEqual([])

      // Each failed key, retried: the commits that did happen are replayed, the rest run now. Either way
      // every key ends with exactly one deposit.
      for (const { key } of errors) {
        const retried = await deposit(key)
        expect(retried.ok).toBe(true)
      }
      const keys = new Set(outcomes.map((o) => o.key))
      const [count] = await database.admin<{ n: string; distinct: string }[]>`
        SELECT count(*) AS n, count(DISTINCT idem_key) AS distinct FROM transactions WHERE idem_key IS NOT NULL`
      expect(Number(count?.n)).toBe(keys.size)
      expect(Number(count?.distinct)).toBe(keys.size)
      expect((await engine.account(accountId))?.balance).toBe(keys.size)
      expect((await engine.verify()).violations).toEqual([])
      await database.dispose()
    },
    { timeout: 120_000 },
  )

  test('a server that accepts connections and never answers: every call rejects with 503, none hangs', async () => {
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const sql = poolFor(`postgres://nobody:nothing@127.0.0.1:${silent.port}/none`, {
      statementTimeoutMs: 300,
    })
    const engine: LedgerEngine = openPostgresLedgerEngine(sql, { statementTimeoutMs: 300, ownsPool: true })
    const userId = 'someone'
    const calls = [
      engine.openAccount({ userId }, { op: 'open-account', currency: 'USD' }),
      engine.move({ userId }, { op: 'deposit', accountId: crypto.randomUUID(), amount: 1 }),
      engine.account(crypto.randomUUID()),
      engine.history(crypto.randomUUID(), undefined, 10),
      engine.purgeIdempotencyKeys(Date.now()),
    ]
    for (const settled of await Promise.allSettled(calls)) {
      expect(settled.status).toBe('rejected')
      expect((settled as PromiseRejectedResult).reason).toBeInstanceOf(LedgerUnavailableError)
    }
    expect(await engine.writeProblem()).toContain('did not answer')
    silent.stop(true)
    sql.end({ timeout: 0 })
  })
})
