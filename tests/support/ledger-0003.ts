import { expect } from 'bun:test'
import expected from '../fixtures/ledger-0003/expected.json'
import type { LedgerClient } from './ledger-client'

// What a ledger written by the 0003 release (tests/fixtures/ledger-0003) must read back as, wherever it
// was taken since: upgraded in place (upgrade.test.ts) or moved to PostgreSQL (copy.test.ts).

export { expected as ledger0003 }

type TokenOf = (email: string) => Promise<string>

/** Every account list, and every history paged by 3, reads as the 0003 release read it. */
export async function expectAccountsAndHistoriesOf0003(api: LedgerClient, tokenOf: TokenOf) {
  for (const [email, accounts] of Object.entries(expected.accounts)) {
    const token = await tokenOf(email)
    expect((await api.listAccounts(token)).body.items).toEqual(accounts as never)
    for (const account of accounts) {
      const history = await api.allTransactions(token, account.id, 3)
      expect(history).toEqual(
        (expected.histories as unknown as Record<string, typeof history>)[account.id] ?? [],
      )
    }
  }
}

/** Every request the 0003 release answered with a key gets that answer again, replayed. */
export async function expectKeyedAnswersOf0003(api: LedgerClient, tokenOf: TokenOf) {
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
}

/** A new keyed deposit on ann's first account lands on top of its 0003 balance and history. */
export async function expectNewWriteAfter0003(api: LedgerClient, tokenOf: TokenOf, key: string) {
  const [account] =
    (expected.accounts as Record<string, { id: string; balance: number }[]>)['ann@example.com'] ?? []
  const token = await tokenOf('ann@example.com')
  const reply = await api.deposit(token, account?.id as string, 22, { idempotencyKey: key })
  expect(reply.status).toBe(201)
  expect(reply.body.balanceAfter).toBe((account?.balance ?? 0) + 22)
  const history = await api.allTransactions(token, account?.id as string)
  expect(history[0]?.id).toBe(reply.body.id)
}
