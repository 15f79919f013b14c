import type { Principal } from '../auth/principal'
import type { Account, Caller, Command, LedgerEngine, Result, Transaction } from './engine'
import { type LedgerMetrics, ledgerOutcomes, outcomeOf, transactionKinds } from './metrics'

export interface LedgerDependencies {
  engine: LedgerEngine
  metrics: LedgerMetrics
}

/** A transaction and the account whose balance it is shown with (`balanceAfter`). */
export interface Viewed {
  transaction: Transaction
  viewpoint: string
}

/** The first user account among the postings: never the external one, whose balance sums up everyone's. */
const firstUserAccount = (transaction: Transaction) =>
  transaction.postings.find((posting) => posting.ownerId !== null)?.accountId

/**
 * What a command's answer shows: the account the caller acted on (a deposit's destination, otherwise the
 * source); a reversal is seen from its first user account, as an admin reading the original sees it.
 */
function viewpointOf(transaction: Transaction): string {
  const [debit, credit] = transaction.postings
  if (transaction.kind === 'deposit') return credit.accountId
  if (transaction.kind === 'reversal') return firstUserAccount(transaction) ?? debit.accountId
  return debit.accountId
}

/**
 * The ledger's rules that hold whatever the engine: who may read what, which balance a transaction is
 * shown with, and what is counted. Owners move their own money (the engine checks ownership); admins read
 * everything and move nobody's money except by reversal. Anything a caller may not see is `undefined`,
 * exactly like something that does not exist.
 */
export function createLedger({ engine, metrics }: LedgerDependencies) {
  /** The currency a refused command was in: a look-up, paid only on refusals; `none` if nothing is found. */
  const currencyOf = async (command: Exclude<Command, { op: 'open-account' }>): Promise<string> => {
    try {
      const found =
        command.op === 'reversal'
          ? await engine.transaction(command.transactionId)
          : await engine.account(command.op === 'transfer' ? command.fromAccountId : command.accountId)
      return found?.currency ?? 'none'
    } catch {
      return 'none'
    }
  }

  // Currencies are a bounded set (ISO 4217), but 150 of them times every kind and outcome would be
  // thousands of idle series: each currency's are made, at 0, the first time this process sees it.
  const seenCurrencies = new Set<string>()
  const seen = (currency: string) => {
    if (seenCurrencies.has(currency)) return
    seenCurrencies.add(currency)
    for (const kind of transactionKinds) {
      metrics.amount.inc({ kind, currency }, 0)
      for (const outcome of ledgerOutcomes) metrics.transactions.inc({ kind, outcome, currency }, 0)
    }
  }

  const counted = async (
    command: Exclude<Command, { op: 'open-account' }>,
    pending: Promise<Result<Transaction>>,
  ) => {
    const result = await pending
    if (result.replayed) metrics.replays.inc()
    else if (result.ok) {
      const { kind, currency, amount } = result.value
      seen(currency)
      metrics.transactions.inc({ kind, outcome: 'committed', currency })
      metrics.amount.inc({ kind, currency }, amount)
    } else {
      const currency = await currencyOf(command)
      seen(currency)
      metrics.transactions.inc({ kind: command.op, outcome: outcomeOf(result.refusal.code), currency })
    }
    return result
  }

  const readable = (principal: Principal, account: Account | undefined) =>
    account && (account.ownerId === principal.userId || principal.isAdmin) ? account : undefined

  return {
    async openAccount(caller: Caller, currency: string): Promise<Result<Account>> {
      const result = await engine.openAccount(caller, { op: 'open-account', currency })
      if (result.replayed) metrics.replays.inc()
      if (result.ok) seen(result.value.currency)
      return result
    },

    async move(caller: Caller, command: Exclude<Command, { op: 'open-account' }>): Promise<Result<Viewed>> {
      const result = await counted(command, engine.move(caller, command))
      if (!result.ok) return result
      const transaction = result.value
      return {
        ok: true,
        replayed: result.replayed,
        value: { transaction, viewpoint: viewpointOf(transaction) },
      }
    },

    async readableAccount(principal: Principal, id: string): Promise<Account | undefined> {
      return readable(principal, await engine.account(id))
    },

    listAccounts: (ownerId: string, afterId: string | undefined, limit: number) =>
      engine.accountsOf(ownerId, afterId, limit),

    /** The account's transactions, newest first, if the caller may read the account. */
    async readableHistory(
      principal: Principal,
      accountId: string,
      cursor: string | undefined,
      limit: number,
    ) {
      const account = readable(principal, await engine.account(accountId))
      return account && { account, page: await engine.history(account.id, cursor, limit) }
    },

    /**
     * A transaction the caller is party to (or any, for an admin), seen from the caller's own account (a
     * transfer's recipient sees their balance, not the sender's), else from its first user account.
     */
    async readableTransaction(principal: Principal, id: string): Promise<Viewed | undefined> {
      const transaction = await engine.transaction(id)
      if (!transaction) return undefined
      const own = transaction.postings.find((posting) => posting.ownerId === principal.userId)
      if (own) return { transaction, viewpoint: own.accountId }
      const first = firstUserAccount(transaction)
      return principal.isAdmin && first ? { transaction, viewpoint: first } : undefined
    },
  }
}

export type Ledger = ReturnType<typeof createLedger>
