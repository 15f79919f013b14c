import type { Principal } from '../auth/principal'
import { HttpProblem, type ProblemType, problemBody } from '../http/problem'
import { currencyExponent } from './currencies'
import type { GroupCommit } from './group-commit'
import { InFlightKeys } from './idempotency'
import type { LedgerMetrics } from './metrics'
import type {
  Account,
  AccountIdentity,
  LedgerRepository,
  Posting,
  Transaction,
  TransactionKind,
} from './repository'
import { accountView, transactionView } from './views'

/** What a mutation answers: stored with its Idempotency-Key and replayed byte for byte. */
export interface Outcome {
  status: number
  /** JSON text, so a replay is the identical body. */
  body: string
  problem: boolean
  replayed: boolean
  location?: string
}

/** A business refusal inside a write (insufficient funds...): its writes are undone, the answer is kept. */
class Refusal extends Error {
  constructor(readonly problem: HttpProblem) {
    super(problem.message)
  }
}

const refuse = (type: ProblemType, detail?: string): never => {
  throw new Refusal(new HttpProblem(type, detail))
}

export interface RequestInfo {
  principal: Principal
  idempotencyKey: string | undefined
  fingerprint: string
  path: string
  requestId: string | undefined
}

export interface LedgerDependencies {
  repository: LedgerRepository
  commit: GroupCommit
  metrics: LedgerMetrics
}

export function createLedger({ repository, commit, metrics }: LedgerDependencies) {
  const { write } = repository
  const inFlight = new InFlightKeys()

  /** Runs a mutation as one group-commit job, with Stripe's idempotency semantics around it. */
  async function execute(
    request: RequestInfo,
    kind: TransactionKind | 'account',
    mutation: (now: string) => {
      status: number
      body: unknown
      transactionId: string | null
      location?: string
    },
  ): Promise<Outcome> {
    const ownerId = request.principal.userId
    const key = request.idempotencyKey
    const replay = (stored: { fingerprint: string; status: number; response: string }): Outcome => {
      if (stored.fingerprint !== request.fingerprint) {
        throw new HttpProblem('idempotency-key-reused', 'Use a new key for a different request.')
      }
      metrics.replays.inc()
      // The answer's headers are derived, not stored: an opened account's Location comes from its id.
      const location =
        kind === 'account' && stored.status === 201
          ? `/v1/accounts/${(JSON.parse(stored.response) as { id: string }).id}`
          : undefined
      return {
        status: stored.status,
        body: stored.response,
        problem: stored.status >= 400,
        replayed: true,
        location,
      }
    }
    // A key's stored answer is looked up inside the batch only: a read outside a transaction costs several
    // times more than the same read inside the one the batch holds open. The in-memory claim covers
    // concurrent requests with the same key in this process.
    if (key && !inFlight.claim(ownerId, key)) {
      throw new HttpProblem('idempotency-key-in-use', 'Retry when it has finished.')
    }
    try {
      const outcome = await commit.submit((undo): Outcome => {
        const stored = key ? write.storedResponse(ownerId, key) : undefined
        if (stored) return replay(stored)
        const now = new Date().toISOString()
        let result: {
          status: number
          body: string
          problem: boolean
          transactionId: string | null
          location?: string
        }
        try {
          const done = mutation(now)
          result = { ...done, body: JSON.stringify(done.body), problem: false }
        } catch (error) {
          if (!(error instanceof Refusal)) throw error
          // Undo whatever the refused mutation wrote; its answer is still recorded below.
          undo()
          const body = problemBody(error.problem, request.path, request.requestId)
          result = {
            status: error.problem.status,
            body: JSON.stringify(body),
            problem: true,
            transactionId: null,
          }
        }
        if (key) {
          write.storeResponse({
            ownerId,
            key,
            fingerprint: request.fingerprint,
            status: result.status,
            response: result.body,
            transactionId: result.transactionId,
            now,
          })
        }
        return {
          status: result.status,
          body: result.body,
          problem: result.problem,
          replayed: false,
          location: result.location,
        }
      })
      if (!outcome.replayed && kind !== 'account') {
        metrics.transactions.inc({ kind, outcome: outcome.problem ? problemSlug(outcome.body) : 'committed' })
      }
      return outcome
    } finally {
      if (key) inFlight.release(ownerId, key)
    }
  }

  function post(
    kind: TransactionKind,
    amount: number,
    currency: string,
    description: string | undefined,
    createdBy: string,
    now: string,
    legs: Posting[],
  ) {
    const transaction: Transaction = {
      id: Bun.randomUUIDv7(),
      kind,
      amount,
      currency,
      description: description ?? null,
      reversesId: null,
      createdBy,
      createdAt: now,
      postings: legs,
    }
    return transaction
  }

  function record(transaction: Transaction) {
    write.insertTransaction(transaction)
    for (const posting of transaction.postings) write.insertPosting(transaction.id, posting)
  }

  const created = (transaction: Transaction, viewpoint: string) => ({
    status: 201,
    body: transactionView(transaction, viewpoint),
    transactionId: transaction.id,
  })

  /**
   * Deposits, withdrawals and transfers are one shape: debit `from` (guarded: a user account cannot go
   * below zero), credit `to`, two postings. The user account the caller acted on is the viewpoint:
   * the destination of a deposit, the source otherwise.
   */
  function move(
    kind: 'deposit' | 'withdrawal' | 'transfer',
    request: RequestInfo,
    from: AccountIdentity,
    to: AccountIdentity,
    amount: number,
    description: string | undefined,
    now: string,
  ) {
    const fromAfter =
      write.debit(from, amount) ??
      (from.kind === 'user'
        ? refuse('insufficient-funds', `The balance is below ${amount}.`)
        : refuse('balance-limit'))
    const toAfter = write.credit(to.id, amount) ?? refuse('balance-limit')
    const transaction = post(kind, amount, from.currency, description, request.principal.userId, now, [
      { accountId: from.id, amount: -amount, balanceAfter: fromAfter },
      { accountId: to.id, amount, balanceAfter: toAfter },
    ])
    record(transaction)
    return created(transaction, kind === 'deposit' ? to.id : from.id)
  }

  return {
    execute,

    /** Someone else's account, or an external one, answers 404 like a missing one. */
    async readableAccount(principal: Principal, id: string): Promise<Account> {
      const account = await repository.findAccount(id)
      if (account?.kind !== 'user' || (account.ownerId !== principal.userId && !principal.isAdmin)) {
        throw new HttpProblem('not-found', 'No such account.')
      }
      return account
    },

    /** Moving money out of or into an account needs its owner; admins read all but move nobody's money. */
    async ownedAccount(principal: Principal, id: string): Promise<AccountIdentity> {
      const account = await repository.accountIdentity(id)
      if (account?.kind !== 'user' || account.ownerId !== principal.userId) {
        throw new HttpProblem('not-found', 'No such account.')
      }
      return account
    },

    openAccount(request: RequestInfo, currency: string) {
      return execute(request, 'account', (now) => {
        // Created with the currency's first account, so by the time money moves it is committed.
        write.externalAccount(currency, now)
        const account = write.insertAccount(
          { id: Bun.randomUUIDv7(), ownerId: request.principal.userId, kind: 'user', currency },
          now,
        ) as Account
        return {
          status: 201,
          body: accountView(account),
          transactionId: null,
          location: `/v1/accounts/${account.id}`,
        }
      })
    },

    deposit(request: RequestInfo, account: AccountIdentity, amount: number, description?: string) {
      return execute(request, 'deposit', (now) =>
        move(
          'deposit',
          request,
          write.externalAccount(account.currency, now),
          account,
          amount,
          description,
          now,
        ),
      )
    },

    withdraw(request: RequestInfo, account: AccountIdentity, amount: number, description?: string) {
      return execute(request, 'withdrawal', (now) =>
        move(
          'withdrawal',
          request,
          account,
          write.externalAccount(account.currency, now),
          amount,
          description,
          now,
        ),
      )
    },

    transfer(
      request: RequestInfo,
      from: AccountIdentity,
      to: AccountIdentity,
      amount: number,
      description?: string,
    ) {
      if (from.id === to.id) throw new HttpProblem('same-account')
      if (from.currency !== to.currency) {
        throw new HttpProblem(
          'currency-mismatch',
          `${from.currency} cannot move into a ${to.currency} account.`,
        )
      }
      return execute(request, 'transfer', (now) =>
        move('transfer', request, from, to, amount, description, now),
      )
    },

    reverse(request: RequestInfo, original: Transaction) {
      // The reversing transaction is seen from the same account a reader of the original sees it from.
      return execute(request, 'reversal', (now) => {
        if (original.kind === 'reversal' || write.isReversed(original.id)) refuse('already-reversed')
        const legs: Posting[] = original.postings.map((posting) => {
          const account = write.account(posting.accountId) as Account
          // Undo each leg: what was credited is debited back (guarded for user accounts) and vice versa.
          const balanceAfter =
            posting.amount > 0
              ? (write.debit(account, posting.amount) ??
                refuse('insufficient-funds', `Reversing would take account ${account.id} below zero.`))
              : (write.credit(account.id, -posting.amount) ?? refuse('balance-limit'))
          return { accountId: account.id, amount: -posting.amount, balanceAfter }
        })
        const transaction = {
          ...post(
            'reversal',
            original.amount,
            original.currency,
            `Reversal of ${original.id}`,
            request.principal.userId,
            now,
            legs,
          ),
          reversesId: original.id,
        }
        record(transaction)
        const viewpoint =
          legs.find((leg) => write.account(leg.accountId)?.kind === 'user')?.accountId ?? legs[0]?.accountId
        return created(transaction, viewpoint as string)
      })
    },

    /** A transfer may go to anyone's account, but not to a deleted user's, where the money would be stuck. */
    async destinationAccount(id: string): Promise<AccountIdentity> {
      const account = await repository.findLiveUserAccount(id)
      if (!account) throw new HttpProblem('not-found', 'No such destination account.')
      return account
    },

    listAccounts: (ownerId: string, after: string | undefined, limit: number) =>
      repository.listAccounts(ownerId, after, limit),

    history: (accountId: string, beforePostingId: number | undefined, limit: number) =>
      repository.history(accountId, beforePostingId, limit),

    /**
     * A transaction the caller is party to (or any, for an admin), with the account it is seen from: the
     * caller's own (a transfer's recipient sees their balance, not the sender's), else the first user
     * account. Never the external account, whose balance sums up every user's deposits.
     */
    async readableTransaction(
      principal: Principal,
      id: string,
    ): Promise<{ transaction: Transaction; viewpoint: string }> {
      const transaction = await repository.findTransaction(id)
      if (!transaction) throw new HttpProblem('not-found', 'No such transaction.')
      let firstUserAccount: string | undefined
      for (const posting of transaction.postings) {
        const account = await repository.findAccount(posting.accountId)
        if (account?.kind !== 'user') continue
        if (account.ownerId === principal.userId) return { transaction, viewpoint: account.id }
        firstUserAccount ??= account.id
      }
      if (principal.isAdmin && firstUserAccount) return { transaction, viewpoint: firstUserAccount }
      throw new HttpProblem('not-found', 'No such transaction.')
    },

    exponentOf: currencyExponent,
  }
}

function problemSlug(body: string): string {
  const type = (JSON.parse(body) as { type?: string }).type ?? ''
  return type.slice(type.lastIndexOf('/') + 1).replaceAll('-', '_')
}

export type Ledger = ReturnType<typeof createLedger>
