import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { verifyLedger } from '../../../src/ledger/sqlite/verify'
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

  test('a transaction that records the wrong balance after it is named', () => {
    // Written behind the writer's back: the balance after should be 307, the account's balance 307.
    ledgerd.db.exec(
      `INSERT INTO transactions (seq, id, kind, amount, currency, debit_account, credit_account, credit_balance,
         credit_prev, created_by, created_at)
       SELECT max(t.seq) + 1, 'forged', 'deposit', 7, 'USD', e.seq, a.seq, 999, a.head, 'someone', 0
       FROM transactions t, accounts a, accounts e
       WHERE a.id = '${accountId}' AND e.owner_id IS NULL AND e.currency = 'USD'`,
    )
    const { violations } = verifyLedger(ledgerd.db)
    expect(violations).toContain(
      `transaction forged records balance 999 for account ${accountId} but the running sum is 307`,
    )
    expect(violations.some((v) => v.includes(`account ${accountId} names`))).toBe(true)
    expect(violations.some((v) => v.includes('currency USD balances sum to'))).toBe(false)
  })

  test('a history link that skips a transaction is named, even with the append-only rule bypassed', () => {
    ledgerd.db.exec('DROP TRIGGER transactions_append_only_update')
    ledgerd.db.exec(
      `UPDATE transactions SET credit_prev = NULL WHERE id <> '${transactionId}' AND credit_prev IS NOT NULL`,
    )
    ledgerd.db.exec(`UPDATE transactions SET debit_prev = NULL WHERE id <> '${transactionId}'`)
    const { violations } = verifyLedger(ledgerd.db)
    expect(violations.some((v) => v.includes(`links account ${accountId} to nothing`))).toBe(true)
  })

  test('posted entries cannot be changed or deleted at all', () => {
    expect(() => ledgerd.db.exec('UPDATE transactions SET amount = amount * 2')).toThrow('append-only')
    expect(() => ledgerd.db.exec('DELETE FROM transactions')).toThrow('append-only')
    expect(() => ledgerd.db.exec("UPDATE transactions SET idem_key = 'other' WHERE idem_key = 'd1'")).toThrow(
      'append-only',
    )
    expect(() => ledgerd.db.exec("UPDATE accounts SET currency = 'EUR'")).toThrow('never changes')
    expect(() => ledgerd.db.exec('DELETE FROM accounts')).toThrow('never deleted')
    // Forgetting a key is the one change allowed: the purge does it.
    ledgerd.db.exec("UPDATE transactions SET idem_key = NULL WHERE idem_key = 'd1'")
  })

  test('the database itself refuses a user balance below zero', () => {
    expect(() => ledgerd.db.exec(`UPDATE accounts SET balance = -1 WHERE id = '${accountId}'`)).toThrow(
      'CHECK',
    )
  })
})
