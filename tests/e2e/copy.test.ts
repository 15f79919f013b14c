import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  expectAccountsAndHistoriesOf0003,
  ledger0003 as expected,
  expectKeyedAnswersOf0003,
  expectNewWriteAfter0003,
} from '../support/ledger-0003'
import { ledgerClient } from '../support/ledger-client'
import { type RunningLedgerd, runLedgerd, startLedgerd, tempDir } from '../support/ledgerd-process'
import { testPostgres } from '../support/postgres'

// Growing up: a user who started with the binary moves to PostgreSQL with `ledgerd copy`. The ledger made
// by the release before v2 (tests/fixtures/ledger-0003, upgraded in place first) must read back on
// PostgreSQL exactly as it did on SQLite: balances, histories page by page, and every answer stored with
// an Idempotency-Key, refusals included. Tokens issued before the move keep working after it.

const fixture = join(import.meta.dir, '../fixtures/ledger-0003/ledgerd.db')
let sqliteDir: string
let postgresDir: string
let databaseUrl: string
let server: RunningLedgerd
let copied: Awaited<ReturnType<typeof runLedgerd>>
const tokens = new Map<string, string>()

/** A token minted from the SQLite data dir before the move: it must still be accepted on PostgreSQL. */
async function tokenOf(email: string): Promise<string> {
  const cached = tokens.get(email)
  if (cached) return cached
  const minted = await runLedgerd(['token', '--sub', email, '--data-dir', sqliteDir])
  expect(minted.exitCode).toBe(0)
  tokens.set(email, minted.stdout.trim())
  return minted.stdout.trim()
}

beforeAll(async () => {
  sqliteDir = tempDir('ledgerd-copy-sqlite-')
  postgresDir = tempDir('ledgerd-copy-pg-')
  copyFileSync(fixture, join(sqliteDir, 'ledgerd.db'))
  expect((await runLedgerd(['migrate', '--data-dir', sqliteDir])).exitCode).toBe(0)
  for (const email of Object.keys(expected.accounts)) await tokenOf(email)
  databaseUrl = await (await testPostgres()).createDatabase('copy')
  copied = await runLedgerd(['copy', '--to', databaseUrl, '--data-dir', sqliteDir])
  server = await startLedgerd({ dataDir: postgresDir, env: { LEDGERD_DATABASE_URL: databaseUrl } })
}, 60_000)
afterAll(async () => {
  await server?.stop()
  rmSync(sqliteDir, { recursive: true, force: true })
})

describe('ledgerd copy --to postgres://', () => {
  test('copies everything and both verify runs agree', () => {
    expect(copied.stderr).toBe('')
    expect(copied.exitCode).toBe(0)
    const [, accounts, transactions] = /(\d+) accounts, (\d+) transactions/.exec(expected.verify) ?? []
    expect(copied.stdout).toContain(`verify sqlite:   ok, ${accounts} accounts, ${transactions} transactions`)
    expect(copied.stdout).toContain(`verify postgres: ok, ${accounts} accounts, ${transactions} transactions`)
    expect(copied.stdout).toMatch(/^ok: both sides verified/m)
    expect(copied.stdout + copied.stderr).not.toContain(new URL(databaseUrl).password)
  })

  test('every account and every history reads back the same on PostgreSQL, with tokens from before', async () => {
    await expectAccountsAndHistoriesOf0003(ledgerClient(server.apiUrl), tokenOf)
  })

  test('a retry of a request made on SQLite gets its original answer from PostgreSQL, replayed', async () => {
    await expectKeyedAnswersOf0003(ledgerClient(server.apiUrl), tokenOf)
  })

  test('new writes continue the copied ledger, and it still verifies', async () => {
    await expectNewWriteAfter0003(ledgerClient(server.apiUrl), tokenOf, 'after-copy')
    const verified = await runLedgerd(['verify', '--data-dir', postgresDir], {
      env: { LEDGERD_DATABASE_URL: databaseUrl },
    })
    expect(verified.exitCode).toBe(0)
  })

  test('refuses a target that is not empty, and leaves it as it was', async () => {
    const again = await runLedgerd(['copy', '--to', databaseUrl, '--data-dir', sqliteDir])
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toContain('empty database')
  })

  test('refuses while a server runs on the data dir', async () => {
    const running = await startLedgerd({ dataDir: sqliteDir, keepDataDir: true })
    try {
      const target = await (await testPostgres()).createDatabase('copy_busy')
      const refused = await runLedgerd(['copy', '--to', target, '--data-dir', sqliteDir])
      expect(refused.exitCode).toBe(1)
      expect(refused.stderr).toContain('stop it first')
    } finally {
      await running.stop()
    }
  })
})
