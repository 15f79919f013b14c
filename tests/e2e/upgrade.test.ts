import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import expected from '../fixtures/ledger-0003/expected.json'
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

  test('every account reads back with the same balance', async () => {
    const api = ledgerClient(server.apiUrl)
    for (const [email, accounts] of Object.entries(expected.accounts)) {
      expect((await api.listAccounts(await tokenOf(email))).body.items).toEqual(accounts as never)
    }
  })

  test('every history reads back the same, page by page, newest first', async () => {
    const api = ledgerClient(server.apiUrl)
    for (const [email, accounts] of Object.entries(expected.accounts)) {
      for (const account of accounts) {
        const history = await api.allTransactions(await tokenOf(email), account.id, 3)
        expect(history).toEqual(
          (expected.histories as unknown as Record<string, typeof history>)[account.id] ?? [],
        )
      }
    }
  })

  test('a retry of a request made before the upgrade gets its original answer, replayed', async () => {
    const api = ledgerClient(server.apiUrl)
    expect(expected.keyed.length).toBeGreaterThan(5)
    for (const request of expected.keyed) {
      const reply = await api.send(request.method, request.path, {
        token: await tokenOf(request.email),
        body: request.body,
        idempotencyKey: request.key,
      })
      expect({ key: request.key, status: reply.status, body: reply.body }).toEqual({
        key: request.key,
        status: request.status,
        body: JSON.parse(request.text),
      })
      expect(reply.replayed).toBe(true)
    }
  })

  test('after the upgrade the ledger takes new writes and still verifies', async () => {
    const api = ledgerClient(server.apiUrl)
    const [account] =
      (expected.accounts as Record<string, { id: string; balance: number }[]>)['ann@example.com'] ?? []
    const token = await tokenOf('ann@example.com')
    const reply = await api.deposit(token, account?.id as string, 22, { idempotencyKey: 'after-upgrade' })
    expect(reply.status).toBe(201)
    expect(reply.body.balanceAfter).toBe((account?.balance ?? 0) + 22)
    const history = await api.allTransactions(token, account?.id as string)
    expect(history[0]?.id).toBe(reply.body.id)
    expect((await runLedgerd(['verify', '--data-dir', dataDir])).exitCode).toBe(0)
  })
})
