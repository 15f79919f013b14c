import { Elysia, t } from 'elysia'
import { type AuthPlugin, bearerSecurity } from '../auth/plugin'
import type { Principal } from '../auth/principal'
import { decodeCursor, encodeCursor, pageLimit, pageQuery } from '../http/pagination'
import { requestContext } from '../http/request-context'
import { idempotencyKeyOf, requestFingerprint } from './idempotency'
import { ledgerModel } from './model'
import type { Ledger, Outcome, RequestInfo } from './service'
import { accountView, transactionView } from './views'

const tags = ['ledger']
const idParams = t.Object({ id: t.String({ maxLength: 64 }) })
const accountIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const postingIdPattern = /^\d{1,16}$/

const idempotencyDoc = {
  description:
    'Send Idempotency-Key (up to 255 characters) to make retries safe: the same key and request get the ' +
    'stored answer again with Idempotent-Replayed: true; the same key with another request gets 422; ' +
    'while the first is running, 409.',
}

function requestInfo(principal: Principal, request: Request, path: string, body: unknown): RequestInfo {
  return {
    principal,
    idempotencyKey: idempotencyKeyOf(request),
    fingerprint: requestFingerprint(request.method, path, body),
    path,
    requestId: requestContext(request)?.id,
  }
}

function respond(outcome: Outcome): Response {
  const headers: Record<string, string> = {
    'content-type': outcome.problem ? 'application/problem+json' : 'application/json',
  }
  if (outcome.replayed) headers['idempotent-replayed'] = 'true'
  if (outcome.location) headers.location = outcome.location
  return new Response(outcome.body, { status: outcome.status, headers })
}

export function ledgerRoutes({ auth, ledger }: { auth: AuthPlugin; ledger: Ledger }) {
  /** A deposit into or a withdrawal from the caller's own account (anyone else's answers 404). */
  async function move(
    op: 'deposit' | 'withdrawal',
    principal: Principal,
    accountId: string,
    body: { amount: number; description?: string },
    request: Request,
    path: string,
  ) {
    const account = await ledger.ownedAccount(principal, accountId)
    const info = requestInfo(principal, request, path, body)
    const outcome =
      op === 'deposit'
        ? await ledger.deposit(info, account, body.amount, body.description)
        : await ledger.withdraw(info, account, body.amount, body.description)
    return respond(outcome)
  }

  return new Elysia({ name: 'ledger' })
    .use(auth)
    .model(ledgerModel)
    .post(
      '/v1/accounts',
      async ({ principal, body, request, path }) =>
        respond(await ledger.openAccount(requestInfo(principal, request, path, body), body.currency)),
      {
        auth: 'user',
        body: 'NewAccount',
        response: { 201: 'Account' },
        detail: {
          tags,
          summary: 'Open an account in one currency',
          security: bearerSecurity,
          ...idempotencyDoc,
        },
      },
    )
    .get(
      '/v1/accounts',
      async ({ principal, query }) => {
        const limit = pageLimit(query.limit)
        const rows = await ledger.listAccounts(
          principal.userId,
          decodeCursor(query.cursor, accountIdPattern),
          limit + 1,
        )
        const items = rows.slice(0, limit)
        const last = items.at(-1)
        return {
          items: items.map(accountView),
          nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
        }
      },
      {
        auth: 'user',
        query: pageQuery,
        response: 'AccountPage',
        detail: { tags, summary: 'Your accounts', security: bearerSecurity },
      },
    )
    .get(
      '/v1/accounts/:id',
      async ({ principal, params }) => accountView(await ledger.readableAccount(principal, params.id)),
      {
        auth: 'user',
        params: idParams,
        response: 'Account',
        detail: { tags, summary: 'An account and its balance (owner or admin)', security: bearerSecurity },
      },
    )
    .post(
      '/v1/accounts/:id/deposits',
      ({ principal, params, body, request, path }) =>
        move('deposit', principal, params.id, body, request, path),
      {
        auth: 'user',
        params: idParams,
        body: 'Movement',
        response: { 201: 'Transaction' },
        detail: { tags, summary: 'Deposit into your account', security: bearerSecurity, ...idempotencyDoc },
      },
    )
    .post(
      '/v1/accounts/:id/withdrawals',
      ({ principal, params, body, request, path }) =>
        move('withdrawal', principal, params.id, body, request, path),
      {
        auth: 'user',
        params: idParams,
        body: 'Movement',
        response: { 201: 'Transaction' },
        detail: {
          tags,
          summary: 'Withdraw from your account',
          description: `409 insufficient-funds leaves the balance unchanged. ${idempotencyDoc.description}`,
          security: bearerSecurity,
        },
      },
    )
    .post(
      '/v1/transfers',
      async ({ principal, body, request, path }) => {
        const from = await ledger.ownedAccount(principal, body.fromAccountId)
        const to = await ledger.destinationAccount(body.toAccountId)
        return respond(
          await ledger.transfer(
            requestInfo(principal, request, path, body),
            from,
            to,
            body.amount,
            body.description,
          ),
        )
      },
      {
        auth: 'user',
        body: 'NewTransfer',
        response: { 201: 'Transaction' },
        detail: {
          tags,
          summary: 'Move money from your account to another of the same currency',
          security: bearerSecurity,
          ...idempotencyDoc,
        },
      },
    )
    .get(
      '/v1/accounts/:id/transactions',
      async ({ principal, params, query }) => {
        const account = await ledger.readableAccount(principal, params.id)
        const limit = pageLimit(query.limit)
        const before = decodeCursor(query.cursor, postingIdPattern)
        const rows = await ledger.history(
          account.id,
          before === undefined ? undefined : Number(before),
          limit + 1,
        )
        const items = rows.slice(0, limit)
        const last = items.at(-1)
        return {
          items: items.map((row) => transactionView(row.transaction, account.id)),
          nextCursor: rows.length > limit && last ? encodeCursor(String(last.postingId)) : null,
        }
      },
      {
        auth: 'user',
        params: idParams,
        query: pageQuery,
        response: 'TransactionPage',
        detail: {
          tags,
          summary: "An account's transactions, newest first",
          description: 'Keyset pages: a walk is never disturbed by transactions that arrive meanwhile.',
          security: bearerSecurity,
        },
      },
    )
    .get(
      '/v1/transactions/:id',
      async ({ principal, params }) => {
        const { transaction, viewpoint } = await ledger.readableTransaction(principal, params.id)
        return transactionView(transaction, viewpoint)
      },
      {
        auth: 'user',
        params: idParams,
        response: 'Transaction',
        detail: { tags, summary: 'A transaction (party to it, or admin)', security: bearerSecurity },
      },
    )
    .post(
      '/v1/transactions/:id/reversal',
      async ({ principal, params, request, path }) => {
        const { transaction: original } = await ledger.readableTransaction(principal, params.id)
        return respond(await ledger.reverse(requestInfo(principal, request, path, undefined), original))
      },
      {
        auth: 'admin',
        params: idParams,
        response: { 201: 'Transaction' },
        detail: {
          tags,
          summary: 'Reverse a transaction (admin)',
          description:
            'Posts the opposite postings as a new transaction. Once only: 409 already-reversed after. 409 ' +
            `insufficient-funds if the money has moved on. ${idempotencyDoc.description}`,
          security: bearerSecurity,
        },
      },
    )
}
