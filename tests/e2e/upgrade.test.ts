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

// A database written by the release before the v2 ledger (tests/fixtures/ledger-0003: made by that
// release's binary through its API) upgrades in place when this binary starts, and reads back exactly as
// that release read it: balances, histories, and the answers stored with Idempotency-Keys.

const fixture = join(import.meta.dir, '../fixtures/ledger-0003/ledgerd.db')
let dataDir: string
let server: RunningLedgerd
const tokens = new Map<string, string>()

async function tokenOf(email: string): Promise<string> {
  const cached = tokens.get(email)
  if (cached) return cached
  const minted = await runLedgerd(['token', '--sub', email, '--data-dir', dataDir])
  expect(minted.exitCode).toBe(0)
  tokens.set(email, minted.stdout.trim())
  return minted.stdout.trim()
}

beforeAll(async () => {
  dataDir = tempDir('ledgerd-upgrade-')
  copyFileSync(fixture, join(dataDir, 'ledgerd.db'))
  server = await startLedgerd({ dataDir, keepDataDir: true })
})
afterAll(async () => {
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('upgrading a 0003 ledger in place', () => {
  test('the upgrade is logged as migration 4 and the ledger verifies with the same counts', async () => {
    const migrated = server.logs.find((line) => line.msg === 'migrations applied')
    expect(migrated?.versions).toEqual([4])
    const verified = await runLedgerd(['verify', '--data-dir', dataDir])
    expect({ exitCode: verified.exitCode, stdout: verified.stdout.trim() }).toEqual({
      exitCode: 0,
      stdout: expected.verify,
    })
  })

  test('every account and every history (page by page, newest first) reads back the same', async () => {
    await expectAccountsAndHistoriesOf0003(ledgerClient(server.apiUrl), tokenOf)
  })

  test('a retry of a request made before the upgrade gets its original answer, replayed', async () => {
    await expectKeyedAnswersOf0003(ledgerClient(server.apiUrl), tokenOf)
  })

  test('after the upgrade the ledger takes new writes and still verifies', async () => {
    await expectNewWriteAfter0003(ledgerClient(server.apiUrl), tokenOf, 'after-upgrade')
    expect((await runLedgerd(['verify', '--data-dir', dataDir])).exitCode).toBe(0)
  })
})
