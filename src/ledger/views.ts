import { currencyExponent } from './currencies'
import type { Account, Transaction } from './engine'

export function accountView(account: Account) {
  return {
    id: account.id,
    ownerId: account.ownerId,
    currency: account.currency,
    exponent: currencyExponent(account.currency) ?? 0,
    balance: account.balance,
    createdAt: new Date(account.createdAt).toISOString(),
  }
}

/** `balanceAfter` is the balance, after this transaction, of the account the caller is looking at. */
export function transactionView(transaction: Transaction, viewpointAccountId: string) {
  const viewpoint = transaction.postings.find((p) => p.accountId === viewpointAccountId)
  return {
    id: transaction.id,
    kind: transaction.kind,
    amount: transaction.amount,
    currency: transaction.currency,
    description: transaction.description,
    reversesId: transaction.reversesId,
    postings: transaction.postings.map(({ accountId, amount }) => ({ accountId, amount })),
    balanceAfter: viewpoint?.balanceAfter ?? 0,
    createdAt: new Date(transaction.createdAt).toISOString(),
  }
}
