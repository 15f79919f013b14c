import type { Principal } from '../auth/principal'
import { HttpProblem } from '../http/problem'
import { InFlightKeys } from './idempotency'
import type { Outcome, WriteJob } from './jobs'
import type { LedgerMetrics } from './metrics'
import type { Account, AccountIdentity, LedgerRepository, Transaction } from './repository'
import type { LedgerWriter } from './writer'

export type { Outcome }

export interface RequestInfo {
  principal: Principal
  idempotencyKey: string | undefined
  fingerprint: string
  path: string
  requestId: string | undefined
}

export interface LedgerDependencies {
  repository: LedgerRepository
  writer: LedgerWriter
  metrics: LedgerMetrics
}

export function createLedger({ repository, writer, metrics }: LedgerDependencies) {
  const inFlight = new InFlightKeys()

  /** Runs a write in the writer thread's next batch, guarding against the same key running twice. */
  async function execute(request: RequestInfo, job: WriteJob): Promise<Outcome> {
    const ownerId = request.principal.userId
    const key = request.idempotencyKey
    // The key's stored answer is looked up by the job, inside the batch. The in-memory claim covers
    // concurrent requests with the same key in this process.
    if (key && !inFlight.claim(ownerId, key)) {
      throw new HttpProblem('idempotency-key-in-use', 'Retry when it has finished.')
    }
    try {
      const outcome = await writer.write({
        job,
        ownerId,
        idempotencyKey: key,
        fingerprint: request.fingerprint,
        path: request.path,
        requestId: request.requestId,
      })
      if (outcome.replayed) metrics.replays.inc()
      else if (job.op !== 'open-account') {
        metrics.transactions.inc({
          kind: job.op,
          outcome: outcome.problem ? problemSlug(outcome.body) : 'committed',
        })
      }
      return outcome
    } finally {
      if (key) inFlight.release(ownerId, key)
    }
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
      return execute(request, { op: 'open-account', currency })
    },

    deposit(request: RequestInfo, account: AccountIdentity, amount: number, description?: string) {
      return execute(request, { op: 'deposit', account, amount, description })
    },

    withdraw(request: RequestInfo, account: AccountIdentity, amount: number, description?: string) {
      return execute(request, { op: 'withdrawal', account, amount, description })
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
      return execute(request, { op: 'transfer', from, to, amount, description })
    },

    reverse(request: RequestInfo, original: Transaction) {
      return execute(request, { op: 'reversal', original })
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
        // Owner and kind never change: the cached identity serves, no row read per posting.
        const account = await repository.accountIdentity(posting.accountId)
        if (account?.kind !== 'user') continue
        if (account.ownerId === principal.userId) return { transaction, viewpoint: account.id }
        firstUserAccount ??= account.id
      }
      if (principal.isAdmin && firstUserAccount) return { transaction, viewpoint: firstUserAccount }
      throw new HttpProblem('not-found', 'No such transaction.')
    },
  }
}

function problemSlug(body: string): string {
  const type = (JSON.parse(body) as { type?: string }).type ?? ''
  return type.slice(type.lastIndexOf('/') + 1).replaceAll('-', '_')
}

export type Ledger = ReturnType<typeof createLedger>
