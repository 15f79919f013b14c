import { Elysia } from 'elysia'
import { type AuthPlugin, bearerSecurity } from '../auth/plugin'
import type { Principal } from '../auth/principal'
import { idParams, uuidPattern } from '../http/ids'
import { decodeCursor, encodeCursor, invalidCursor, page, pageLimit, pageQuery } from '../http/pagination'
import { HttpProblem, type ProblemType, problemResponse } from '../http/problem'
import { noteReplayOf, requestIdOf } from '../http/request-context'
import {
  type Caller,
  InvalidCursorError,
  LedgerInputError,
  LedgerUnavailableError,
  type RefusalCode,
  type Result,
} from './engine'
import { ledgerModel } from './model'
import type { Ledger, Viewed } from './service'
import { accountView, transactionView } from './views'

// The ledger's HTTP edge: the only place that knows statuses, problem types and headers. Everything
// below answers in domain terms (src/ledger/engine.ts).

const tags = ['ledger']
const historyCursorPattern = /^\d{1,16}$/

const idempotencyHeader = 'idempotency-key'
const maxKeyLength = 255

const idempotencyDoc = {
  description:
    'Send Idempotency-Key (up to 255 characters) to make retries safe: the same key and request get the ' +
    'stored answer again with Idempotent-Replayed: true; the same key with another request gets 422; ' +
    'while the first is running, 409.',
}

/** Each refusal's problem type; a destination that does not exist is "not found" like any other. */
const problemOf: Record<RefusalCode, ProblemType> = {
  'not-found': 'not-found',
  'destination-not-found': 'not-found',
  'same-account': 'same-account',
  'currency-mismatch': 'currency-mismatch',
  'insufficient-funds': 'insufficient-funds',
  'already-reversed': 'already-reversed',
  'balance-limit': 'balance-limit',
  'idempotency-key-reused': 'idempotency-key-reused',
  'idempotency-key-in-use': 'idempotency-key-in-use',
}

const refusalDetail: Partial<Record<RefusalCode, string>> = {
  'idempotency-key-reused': 'Use a new key for a different request.',
  'idempotency-key-in-use': 'Retry when it has finished.',
}

/** The caller and its Idempotency-Key; a key that is empty or too long is refused before anything runs. */
function callerOf(principal: Principal, request: Request): Caller {
  const key = request.headers.get(idempotencyHeader)
  if (key === null) return { userId: principal.userId }
  if (key.length === 0 || key.length > maxKeyLength) {
    const message = `must be 1 to ${maxKeyLength} characters`
    throw new HttpProblem('invalid-parameter', `Idempotency-Key: ${message}`, {
      errors: [{ field: 'Idempotency-Key', in: 'headers', message }],
    })
  }
  return { userId: principal.userId, idempotency: { key, requestId: requestIdOf(request) } }
}

const notFound = (what: string) => new HttpProblem('not-found', `No such ${what}.`)

/** Turns a command's result into its response: 201 with the rendered value, or the refusal's problem. */
async function answer<T>(
  pending: Promise<Result<T>>,
  render: (value: T) => { body: unknown; location?: string },
  request: Request,
  path: string,
): Promise<Response> {
  let result: Result<T>
  try {
    result = await pending
  } catch (error) {
    if (error instanceof LedgerInputError) throw new HttpProblem('invalid-parameter', error.message)
    if (!(error instanceof LedgerUnavailableError)) throw error
    const problem = new HttpProblem(
      'service-unavailable',
      'The ledger cannot commit writes right now; retry with the same Idempotency-Key.',
      {},
      { 'retry-after': String(error.retryAfterSeconds) },
    )
    // Kept for the error handler, which counts database faults (ledgerd_db_errors_total).
    problem.cause = error
    throw problem
  }
  const headers: Record<string, string> = {}
  if (result.replayed) headers['idempotent-replayed'] = 'true'
  if (!result.ok) {
    const { code, detail } = result.refusal
    const problem = new HttpProblem(problemOf[code], detail ?? refusalDetail[code], {}, headers)
    // A replayed refusal is the original answer, request id included, in the body and in X-Request-Id.
    if (result.replayed && result.requestId !== undefined) noteReplayOf(request, result.requestId)
    return problemResponse(problem, path, result.requestId ?? requestIdOf(request))
  }
  const { body, location } = render(result.value)
  headers['content-type'] = 'application/json'
  if (location) headers.location = location
  return new Response(JSON.stringify(body), { status: 201, headers })
}

const viewed = ({ transaction, viewpoint }: Viewed) => ({ body: transactionView(transaction, viewpoint) })

export function ledgerRoutes({ auth, ledger }: { auth: AuthPlugin; ledger: Ledger }) {
  /**
   * A deposit into or a withdrawal from the caller's own account (anyone else's answers 404). The routes
   * pass the fields they read, never Elysia's whole context: Elysia compiles a handler that takes the
   * context to copy every header and parse cookies (tests/unit/http/compiled-routes.test.ts).
   */
  const move = (
    op: 'deposit' | 'withdrawal',
    { principal, params, body, request, path }: MoveContext,
  ): Promise<Response> =>
    answer(
      ledger.move(callerOf(principal, request), { op, accountId: params.id, ...body }),
      viewed,
      request,
      path,
    )

  return new Elysia({ name: 'ledger' })
    .use(auth)
    .model(ledgerModel)
    .post(
      '/v1/accounts',
      ({ principal, body, request, path }) =>
        answer(
          ledger.openAccount(callerOf(principal, request), body.currency),
          (account) => ({ body: accountView(account), location: `/v1/accounts/${account.id}` }),
          request,
          path,
        ),
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
          decodeCursor(query.cursor, uuidPattern),
          limit + 1,
        )
        const { items, nextCursor } = page(rows, limit, (account) => account.id)
        return { items: items.map(accountView), nextCursor }
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
      async ({ principal, params }) => {
        const account = await ledger.readableAccount(principal, params.id)
        if (!account) throw notFound('account')
        return accountView(account)
      },
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
        move('deposit', { principal, params, body, request, path }),
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
        move('withdrawal', { principal, params, body, request, path }),
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
      ({ principal, body, request, path }) =>
        answer(ledger.move(callerOf(principal, request), { op: 'transfer', ...body }), viewed, request, path),
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
        const limit = pageLimit(query.limit)
        const cursor = decodeCursor(query.cursor, historyCursorPattern)
        let found: Awaited<ReturnType<Ledger['readableHistory']>>
        try {
          found = await ledger.readableHistory(principal, params.id, cursor, limit)
        } catch (error) {
          throw error instanceof InvalidCursorError ? invalidCursor() : error
        }
        if (!found) throw notFound('account')
        const { account, page } = found
        return {
          items: page.items.map((transaction) => transactionView(transaction, account.id)),
          nextCursor: page.next === undefined ? null : encodeCursor(page.next),
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
        const found = await ledger.readableTransaction(principal, params.id)
        if (!found) throw notFound('transaction')
        return transactionView(found.transaction, found.viewpoint)
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
      ({ principal, params, request, path }) =>
        answer(
          ledger.move(callerOf(principal, request), { op: 'reversal', transactionId: params.id }),
          viewed,
          request,
          path,
        ),
      {
        auth: 'admin',
        params: idParams,
        response: { 201: 'Transaction' },
        detail: {
          tags,
          summary: 'Reverse a transaction (admin)',
          description:
            'Posts the opposite postings as a new transaction. Once only: 409 already-reversed after. 409 ' +
            'insufficient-funds if the money has moved on; 404 not-found if it would pay a user deleted ' +
            `since. ${idempotencyDoc.description}`,
          security: bearerSecurity,
        },
      },
    )
}

interface MoveContext {
  principal: Principal
  params: { id: string }
  body: { amount: number; description?: string }
  request: Request
  path: string
}
