import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { descriptionBounds, nameBounds, passwordBounds, type TextBounds } from '../../../src/http/text'
import {
  type LedgerAccount,
  type LedgerClient,
  type LedgerUser,
  ledgerClient,
  type Reply,
  testPassword,
} from '../../support/ledger-client'
import { type RunningLedgerd, startLedgerd } from '../../support/ledgerd-process'

// Every free-text field the API accepts, sent each kind of text no engine should keep, and every number
// field at and past its bounds, against the compiled binary (SQLite, or PostgreSQL with
// LEDGERD_TEST_STORAGE=postgres). Each refusal: no 5xx, a problem+json naming the field, nothing changed.

let server: RunningLedgerd
let api: LedgerClient
let owner: LedgerUser
let from: LedgerAccount
let to: LedgerAccount
let emails = 0
const nextEmail = () => `text-${++emails}@example.com`
const requestTimeoutMs = 10_000

/** What the server holds that a refused request could have changed: read back before and after. */
async function snapshot() {
  const me = await api.send<{ name: string }>('GET', '/v1/users/me', { token: owner.token })
  const accounts = await Promise.all(
    [from, to].map(async (account) => ({
      balance: (await api.getAccount(owner.token, account.id)).body.balance,
      transactions: (await api.allTransactions(owner.token, account.id)).length,
    })),
  )
  const page = await api.listAccounts(owner.token, { limit: 200 })
  return { name: me.body.name, accounts, accountCount: page.body.items.length }
}

/** A free-text field: where it is sent, and how to tell that a value sent there was not kept. */
interface TextField {
  label: string
  field: string
  bounds: TextBounds
  send(value: unknown): Promise<Reply<unknown>>
  /** Resolves true when the value was stored (for the sign-up, whose effect is a new user). */
  kept?(value: unknown): Promise<boolean>
}

const signUpEmails = new Map<unknown, string>()

const textFields: TextField[] = [
  {
    label: 'sign-up name',
    field: 'name',
    bounds: nameBounds,
    send(value) {
      const email = nextEmail()
      signUpEmails.set(value, email)
      return api.send('POST', '/v1/users', { body: { email, name: value, password: testPassword } })
    },
    // Logging in to find out would trip the login throttle; signing up again with the same email shows
    // whether the first sign-up left a user behind (409 email-taken if it did).
    async kept(value) {
      const email = signUpEmails.get(value) as string
      const again = await api.send('POST', '/v1/users', {
        body: { email, name: 'Again', password: testPassword },
      })
      return again.status !== 201
    },
  },
  {
    label: 'profile name',
    field: 'name',
    bounds: nameBounds,
    send: (value) => api.send('PATCH', '/v1/users/me', { token: owner.token, body: { name: value } }),
  },
  {
    label: 'deposit description',
    field: 'description',
    bounds: descriptionBounds,
    send: (value) =>
      api.send('POST', `/v1/accounts/${from.id}/deposits`, {
        token: owner.token,
        body: { amount: 1, description: value },
      }),
  },
  {
    label: 'withdrawal description',
    field: 'description',
    bounds: descriptionBounds,
    send: (value) =>
      api.send('POST', `/v1/accounts/${from.id}/withdrawals`, {
        token: owner.token,
        body: { amount: 1, description: value },
      }),
  },
  {
    label: 'transfer description',
    field: 'description',
    bounds: descriptionBounds,
    send: (value) =>
      api.send('POST', '/v1/transfers', {
        token: owner.token,
        body: { fromAccountId: from.id, toAccountId: to.id, amount: 1, description: value },
      }),
  },
]

/** Four UTF-8 bytes and one code point (two UTF-16 units): reaches the byte bound within the code points. */
const emoji = '\u{1F600}'

/** Each kind of bad text, built from the field's bounds. */
function badTexts(bounds: TextBounds): [string, string][] {
  const pastBytes = Math.floor(bounds.maxBytes / 4) + 1
  expect(pastBytes).toBeLessThanOrEqual(bounds.maxCodePoints)
  return [
    ['NUL', 'a\u0000b'],
    ['C0 SOH', 'a\u0001b'],
    ['C0 tab', 'a\tb'],
    ['C0 line feed', 'a\nb'],
    ['C0 carriage return', 'a\rb'],
    ['C0 unit separator', 'a\u001Fb'],
    ['DEL', 'a\u007Fb'],
    ['C1 U+0080', 'a\u0080b'],
    ['C1 NEL U+0085', 'a\u0085b'],
    ['C1 U+009F', 'a\u009Fb'],
    ['lone high surrogate', 'a\uD800b'],
    ['lone high surrogate at the end', 'ab\uDBFF'],
    ['lone low surrogate', 'a\uDC00b'],
    ['reversed surrogate pair', 'a\uDE00\uD83Db'],
    ['empty', ''],
    ['a space', ' '],
    ['Unicode whitespace only', '\u00A0\u2003\u3000\u2028'],
    [`${bounds.maxCodePoints + 1} code points`, 'x'.repeat(bounds.maxCodePoints + 1)],
    [`${pastBytes * 4} UTF-8 bytes in ${pastBytes} code points`, emoji.repeat(pastBytes)],
  ]
}

const notStrings: [string, unknown][] = [
  ['a number', 42],
  ['an array', ['a']],
  ['an object', { a: 1 }],
  ['true', true],
]

function expectRefusal(reply: Reply<unknown>, field: string, status = 422) {
  expect({
    status: reply.status,
    contentType: reply.headers.get('content-type'),
    fields: (reply.problem?.errors ?? []).map((error) => error.field),
  }).toEqual({ status, contentType: 'application/problem+json', fields: expect.arrayContaining([field]) })
}

beforeAll(async () => {
  server = await startLedgerd()
  api = ledgerClient(server.apiUrl, { timeoutMs: requestTimeoutMs })
  owner = await api.signUp(nextEmail())
  from = (await api.createAccount(owner.token, 'EUR')).body
  to = (await api.createAccount(owner.token, 'EUR')).body
  expect((await api.deposit(owner.token, from.id, 10_000)).status).toBe(201)
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

describe('free text the server refuses, on every text field', () => {
  for (const target of textFields) {
    for (const [kind, value] of [...badTexts(target.bounds), ...notStrings]) {
      test(`${target.label}: ${kind} is a 422 naming ${target.field}, and nothing changes`, async () => {
        const before = await snapshot()
        const reply = await target.send(value)
        expectRefusal(reply, target.field)
        expect(await snapshot()).toEqual(before)
        if (target.kept) expect(await target.kept(value)).toBe(false)
      })
    }
  }
})

describe('free text at its bounds is kept exactly, on either engine', () => {
  const goodTexts = (bounds: TextBounds): [string, string][] => [
    [`${bounds.maxCodePoints} code points`, 'x'.repeat(bounds.maxCodePoints)],
    [`${bounds.maxBytes} UTF-8 bytes`, emoji.repeat(bounds.maxBytes / 4)],
    ['inner and outer spaces, accents, CJK and a ZWJ emoji', ' Zoë 山田 👩‍💻 '],
  ]
  for (const target of textFields) {
    for (const [kind, value] of goodTexts(target.bounds)) {
      test(`${target.label}: ${kind}`, async () => {
        const reply = await target.send(value)
        expect(reply.status < 300 ? 'stored' : `${reply.status} ${reply.text}`).toBe('stored')
        const body = reply.body as { name?: string; description?: string }
        expect(body[target.field as 'name' | 'description']).toBe(value)
      })
    }
  }
})

describe('passwords', () => {
  const cases: [string, string][] = [
    ['11 code points that are 22 UTF-16 units', emoji.repeat(passwordBounds.minCodePoints - 1)],
    ['12 spaces', ' '.repeat(12)],
    ['Unicode whitespace only', '\u3000'.repeat(12)],
    [`${passwordBounds.maxBytes + 3} UTF-8 bytes`, '€'.repeat(passwordBounds.maxBytes / 3 + 1)],
    ['a lone surrogate', `${'a'.repeat(12)}\uD800`],
  ]
  for (const [kind, password] of cases) {
    test(`sign-up with ${kind} is a 422 naming password, and no user is made`, async () => {
      const email = nextEmail()
      const reply = await api.send('POST', '/v1/users', { body: { email, name: 'P', password } })
      expectRefusal(reply, 'password')
      const again = await api.send('POST', '/v1/users', {
        body: { email, name: 'P', password: testPassword },
      })
      expect(again.status).toBe(201)
    })
  }

  test('12 code points that are 24 UTF-16 units are enough, and log in', async () => {
    const email = nextEmail()
    const password = emoji.repeat(passwordBounds.minCodePoints)
    const reply = await api.send('POST', '/v1/users', { body: { email, name: 'P', password } })
    expect({ status: reply.status, body: reply.text }).toMatchObject({ status: 201 })
    expect((await api.send('POST', '/v1/auth/token', { body: { email, password } })).status).toBe(200)
  })
})

describe('currencies', () => {
  for (const currency of [
    'usd',
    'Usd',
    'XXX',
    'ZZZ',
    'constructor',
    'toString',
    '__proto__',
    'EURO',
    '',
    'US\u0000',
  ]) {
    test(`${JSON.stringify(currency)} is a 422 saying the currency is not known and where the list is`, async () => {
      const before = await snapshot()
      const reply = await api.createAccount(owner.token, currency)
      expectRefusal(reply, 'currency')
      if (!currency.includes('\u0000')) {
        const message = reply.problem.errors?.find((error) => error.field === 'currency')?.message ?? ''
        expect(message).toContain('is not a currency this server knows')
        expect(message).toContain('/openapi.json')
      }
      expect(await snapshot()).toEqual(before)
    })
  }

  test('the OpenAPI document lists the supported currencies where the refusal says', async () => {
    const document = (await (await fetch(`${server.apiUrl}/openapi.json`)).json()) as {
      components: { schemas: { NewAccount: { properties: { currency: { enum: string[] } } } } }
    }
    const listed = document.components.schemas.NewAccount.properties.currency.enum
    expect(listed).toContain('USD')
    expect(listed).toContain('JPY')
    expect(listed).not.toContain('usd')
  })
})

describe('numbers at and past their bounds', () => {
  const amounts: [string, unknown][] = [
    ['0', 0],
    ['-1', -1],
    ['2^53', 2 ** 53],
    ['1e300', 1e300],
    ['1.5', 1.5],
    ['the string "10"', '10'],
    ['null', null],
    ['an array', [1]],
  ]
  const movements: [string, (amount: unknown) => Promise<Reply<unknown>>][] = [
    [
      'deposit',
      (amount) =>
        api.send('POST', `/v1/accounts/${from.id}/deposits`, { token: owner.token, body: { amount } }),
    ],
    [
      'withdrawal',
      (amount) =>
        api.send('POST', `/v1/accounts/${from.id}/withdrawals`, { token: owner.token, body: { amount } }),
    ],
    [
      'transfer',
      (amount) =>
        api.send('POST', '/v1/transfers', {
          token: owner.token,
          body: { fromAccountId: from.id, toAccountId: to.id, amount },
        }),
    ],
  ]
  for (const [route, send] of movements) {
    for (const [kind, amount] of amounts) {
      test(`${route} amount ${kind} is a 422 naming amount, and nothing changes`, async () => {
        const before = await snapshot()
        expectRefusal(await send(amount), 'amount')
        expect(await snapshot()).toEqual(before)
      })
    }
  }

  test('an amount written as 1e400 (Infinity to a JSON parser) is refused without a 5xx', async () => {
    const before = await snapshot()
    const reply = await api.send('POST', `/v1/accounts/${from.id}/deposits`, {
      token: owner.token,
      raw: { text: '{"amount":1e400}', contentType: 'application/json' },
    })
    expectRefusal(reply, 'amount')
    expect(await snapshot()).toEqual(before)
  })

  const pages = () => [`/v1/accounts`, `/v1/accounts/${from.id}/transactions`]
  const limits = ['0', '-1', '201', '1.5', 'abc', String(2 ** 53), '1e3', '', '%00']
  const cursors = [
    'not-a-cursor',
    '%00',
    'x'.repeat(201),
    Buffer.from('../../etc').toString('base64url'),
    '%F0%9F',
  ]
  test('limit and cursor past their bounds are a 400 naming the parameter, on every paginated route', async () => {
    for (const path of pages()) {
      for (const limit of limits) {
        const reply = await api.send('GET', `${path}?limit=${limit}`, { token: owner.token })
        expect({ path, limit, ...statusOf(reply) }).toEqual({ path, limit, ...refused('limit') })
      }
      for (const cursor of cursors) {
        const reply = await api.send('GET', `${path}?cursor=${cursor}`, { token: owner.token })
        expect({ path, cursor, ...statusOf(reply) }).toEqual({ path, cursor, ...refused('cursor') })
      }
      for (const limit of ['1', '200']) {
        expect((await api.send('GET', `${path}?limit=${limit}`, { token: owner.token })).status).toBe(200)
      }
    }
  })
})

function statusOf(reply: Reply<unknown>) {
  return {
    status: reply.status,
    contentType: reply.headers.get('content-type'),
    fields: (reply.problem?.errors ?? []).map((error) => error.field),
  }
}

const refused = (field: string) => ({
  status: 400,
  contentType: 'application/problem+json',
  fields: expect.arrayContaining([field]),
})
