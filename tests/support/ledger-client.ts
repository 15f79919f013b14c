import type { FieldError } from '../../src/http/problem'

// A typed client for the ledger API, written from the contract rather than from src/ledger, so the tests
// that use it check the API as a client sees it. The same client drives the compiled binary (a base URL)
// and the in-process API (its fetch handler).

export type Fetcher = (request: Request) => Promise<Response>

export const testPassword = 'correct horse battery staple'

export interface LedgerAccount {
  id: string
  ownerId: string
  currency: string
  exponent: number
  balance: number
  createdAt: string
}

export type TransactionKind = 'deposit' | 'withdrawal' | 'transfer' | 'reversal'

export interface Posting {
  accountId: string
  /** Signed minor units: negative is a debit. */
  amount: number
}

export interface LedgerTransaction {
  id: string
  kind: TransactionKind
  amount: number
  currency: string
  description: string | null
  reversesId: string | null
  postings: Posting[]
  balanceAfter: number
  createdAt: string
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  errors?: FieldError[]
}

export interface Reply<T> {
  status: number
  headers: Headers
  /** The body exactly as received: replays are compared byte for byte. */
  text: string
  /** The parsed body: T when the status is 2xx. Undefined when the body is not JSON. */
  body: T
  /** The same parsed body, typed as the problem that any 4xx or 5xx carries. */
  problem: Problem
  /** The Idempotent-Replayed header is "true". */
  replayed: boolean
}

export interface LedgerUser {
  id: string
  email: string
  token: string
}

export interface SendOptions {
  token?: string
  /** Serialized as JSON with content-type application/json, unless raw is given. */
  body?: unknown
  /** Sent as is, for bodies that are not JSON or not well-formed. */
  raw?: { text: string; contentType: string }
  idempotencyKey?: string
  headers?: Record<string, string>
}

export interface MutationOptions {
  idempotencyKey?: string
  description?: string
}

export interface TransferRequest {
  fromAccountId: string
  toAccountId: string
  amount: number
}

export interface PageQuery {
  limit?: number
  cursor?: string
}

const pageSuffix = ({ limit, cursor }: PageQuery = {}) => {
  const query = new URLSearchParams()
  if (limit !== undefined) query.set('limit', String(limit))
  if (cursor !== undefined) query.set('cursor', cursor)
  const text = query.toString()
  return text ? `?${text}` : ''
}

export interface LedgerClient {
  /** Any request; the typed methods below are built on it. */
  send<T = unknown>(method: string, path: string, options?: SendOptions): Promise<Reply<T>>
  /** Signs up with testPassword and logs in. Throws unless both succeed. */
  signUp(email: string): Promise<LedgerUser>
  /** Logs in and returns the access token. Throws unless it succeeds. */
  login(email: string, password?: string): Promise<string>
  createAccount(token: string, currency: unknown, options?: MutationOptions): Promise<Reply<LedgerAccount>>
  getAccount(token: string, id: string): Promise<Reply<LedgerAccount>>
  listAccounts(token: string, page?: PageQuery): Promise<Reply<Page<LedgerAccount>>>
  deposit(
    token: string,
    accountId: string,
    amount: number,
    options?: MutationOptions,
  ): Promise<Reply<LedgerTransaction>>
  withdraw(
    token: string,
    accountId: string,
    amount: number,
    options?: MutationOptions,
  ): Promise<Reply<LedgerTransaction>>
  transfer(
    token: string,
    transfer: TransferRequest,
    options?: MutationOptions,
  ): Promise<Reply<LedgerTransaction>>
  reverse(
    token: string,
    transactionId: string,
    options?: Pick<MutationOptions, 'idempotencyKey'>,
  ): Promise<Reply<LedgerTransaction>>
  getTransaction(token: string, id: string): Promise<Reply<LedgerTransaction>>
  listTransactions(
    token: string,
    accountId: string,
    page?: PageQuery,
  ): Promise<Reply<Page<LedgerTransaction>>>
  /** Every transaction of the account, newest first, following nextCursor. Throws on a non-200 page. */
  allTransactions(token: string, accountId: string, limit?: number): Promise<LedgerTransaction[]>
}

export class UnexpectedReply extends Error {
  constructor(what: string, reply: Reply<unknown>) {
    super(`${what}: ${reply.status} ${reply.text}`)
    this.name = 'UnexpectedReply'
  }
}

/**
 * target: the API's base URL (the binary), or a fetch handler (the in-process API, reached as
 * http://localhost). timeoutMs bounds each request, for tests that kill the server under load.
 */
export function ledgerClient(target: string | Fetcher, options: { timeoutMs?: number } = {}): LedgerClient {
  const baseUrl = typeof target === 'string' ? target.replace(/\/$/, '') : 'http://localhost'
  const fetcher: Fetcher =
    typeof target === 'string'
      ? (request) =>
          fetch(
            request,
            options.timeoutMs === undefined ? undefined : { signal: AbortSignal.timeout(options.timeoutMs) },
          )
      : target

  async function send<T>(method: string, path: string, sendOptions: SendOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...sendOptions.headers }
    if (sendOptions.token) headers.authorization = `Bearer ${sendOptions.token}`
    if (sendOptions.idempotencyKey !== undefined) headers['idempotency-key'] = sendOptions.idempotencyKey
    let body: string | undefined
    if (sendOptions.raw) {
      body = sendOptions.raw.text
      headers['content-type'] = sendOptions.raw.contentType
    } else if (sendOptions.body !== undefined) {
      body = JSON.stringify(sendOptions.body)
      headers['content-type'] ??= 'application/json'
    }
    const response = await fetcher(new Request(`${baseUrl}${path}`, { method, headers, body }))
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: parsed as T,
      problem: parsed as Problem,
      replayed: response.headers.get('idempotent-replayed') === 'true',
    }
  }

  const mutation = (amount: number, options: MutationOptions) => ({
    amount,
    ...(options.description === undefined ? {} : { description: options.description }),
  })

  const client: LedgerClient = {
    send,
    async signUp(email) {
      const reply = await send<{ id: string }>('POST', '/v1/users', {
        body: { email, name: email.split('@')[0], password: testPassword },
      })
      if (reply.status !== 201) throw new UnexpectedReply(`sign-up of ${email}`, reply)
      return { id: reply.body.id, email, token: await client.login(email) }
    },
    async login(email, password = testPassword) {
      const reply = await send<{ access_token: string }>('POST', '/v1/auth/token', {
        body: { email, password },
      })
      if (reply.status !== 200) throw new UnexpectedReply(`login of ${email}`, reply)
      return reply.body.access_token
    },
    createAccount: (token, currency, options = {}) =>
      send('POST', '/v1/accounts', { token, body: { currency }, idempotencyKey: options.idempotencyKey }),
    getAccount: (token, id) => send('GET', `/v1/accounts/${id}`, { token }),
    listAccounts: (token, page) => send('GET', `/v1/accounts${pageSuffix(page)}`, { token }),
    deposit: (token, accountId, amount, options = {}) =>
      send('POST', `/v1/accounts/${accountId}/deposits`, {
        token,
        body: mutation(amount, options),
        idempotencyKey: options.idempotencyKey,
      }),
    withdraw: (token, accountId, amount, options = {}) =>
      send('POST', `/v1/accounts/${accountId}/withdrawals`, {
        token,
        body: mutation(amount, options),
        idempotencyKey: options.idempotencyKey,
      }),
    transfer: (token, transfer, options = {}) =>
      send('POST', '/v1/transfers', {
        token,
        body: {
          fromAccountId: transfer.fromAccountId,
          toAccountId: transfer.toAccountId,
          ...mutation(transfer.amount, options),
        },
        idempotencyKey: options.idempotencyKey,
      }),
    reverse: (token, transactionId, options = {}) =>
      send('POST', `/v1/transactions/${transactionId}/reversal`, {
        token,
        idempotencyKey: options.idempotencyKey,
      }),
    getTransaction: (token, id) => send('GET', `/v1/transactions/${id}`, { token }),
    listTransactions: (token, accountId, page) =>
      send('GET', `/v1/accounts/${accountId}/transactions${pageSuffix(page)}`, { token }),
    async allTransactions(token, accountId, limit = 200) {
      const all: LedgerTransaction[] = []
      let cursor: string | undefined
      do {
        const reply = await client.listTransactions(token, accountId, { limit, cursor })
        if (reply.status !== 200) throw new UnexpectedReply(`transactions of ${accountId}`, reply)
        all.push(...reply.body.items)
        cursor = reply.body.nextCursor ?? undefined
      } while (cursor !== undefined)
      return all
    },
  }
  return client
}

/** The amount the transaction moved in or out of the account: the sum of its postings to it. */
export const effectOn = (transaction: LedgerTransaction, accountId: string) =>
  transaction.postings.filter((p) => p.accountId === accountId).reduce((sum, p) => sum + p.amount, 0)
