import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { verifyLedger } from '../../../src/ledger/verify'
import { type InProcessLedgerd, inProcessLedgerd } from '../../support/app'

// A real ledger built through the API, then broken behind its back, one invariant at a time.
let ledgerd: InProcessLedgerd
let accountId: string
let transactionId: string

beforeEach(async () => {
  ledgerd = await inProcessLedgerd()
  await ledgerd.request('POST', '/v1/users', {
    body: { email: 'v@example.com', name: 'V', password: 'a long password' },
  })
  const { access_token: token } = (await (
    await ledgerd.request('POST', '/v1/auth/token', {
      body: { email: 'v@example.com', password: 'a long password' },
    })
  ).json()) as { access_token: string }
  accountId = (
    (await (await ledgerd.request('POST', '/v1/accounts', { token, body: { currency: 'USD' } })).json()) as {
      id: string
    }
  ).id
  const deposit = await ledgerd.request('POST', `/v1/accounts/${accountId}/deposits`, {
    token,
    body: { amount: 500 },
    headers: { 'idempotency-key': 'd1' },
  })
  transactionId = ((await deposit.json()) as { id: string }).id
  await ledgerd.request('POST', `/v1/accounts/${accountId}/withdrawals`, { token, body: { amount: 200 } })
})
afterEach(() => ledgerd.dispose())

describe('ledgerd verify', () => {
  test('a ledger built through the API passes every check', () => {
    expect(verifyLedger(ledgerd.db)).toEqual({ accounts: 2, transactions: 2, violations: [] })
  })

  test('a balance that differs from its postings is named', () => {
    ledgerd.db.exec(`UPDATE accounts SET balance = balance + 1 WHERE id = '${accountId}'`)
    const { violations } = verifyLedger(ledgerd.db)
    expect(violations.some((v) => v.includes(`account ${accountId} balance 301`))).toBe(true)
  })

  test('an unbalanced transaction is named', () => {
    ledgerd.db.exec(
      `INSERT INTO postings (transaction_id, account_id, amount, balance_after) VALUES ('${transactionId}', '${accountId}', 7, 307)`,
    )
    const { violations } = verifyLedger(ledgerd.db)
    expect(violations).toContain(`transaction ${transactionId} does not balance: its postings sum to 7`)
  })

  test('an idempotency record that names a missing transaction is named', () => {
    ledgerd.db.exec(`UPDATE idempotency_keys SET transaction_id = 'nope' WHERE key = 'd1'`)
    expect(verifyLedger(ledgerd.db).violations.some((v) => v.includes('names transaction nope'))).toBe(true)
  })

  test('posted entries cannot be changed or deleted at all', () => {
    expect(() => ledgerd.db.exec('UPDATE postings SET amount = amount * 2')).toThrow('append-only')
    expect(() => ledgerd.db.exec('DELETE FROM transactions')).toThrow('append-only')
  })

  test('the database itself refuses a user balance below zero', () => {
    expect(() => ledgerd.db.exec(`UPDATE accounts SET balance = -1 WHERE id = '${accountId}'`)).toThrow()
  })
})
