import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type LedgerClient, type LedgerUser, ledgerClient } from '../../support/ledger-client'
import { type RunningLedgerd, runLedgerd, startLedgerd } from '../../support/ledgerd-process'

// The HTTP edge against hostile and careless clients, on the compiled binary: odd Hosts written byte for
// byte on a socket, methods and CORS, body charsets and duplicate JSON member names. Every answer is
// bounded in time and is never a 5xx; refusals are problem+json naming what was wrong.

let server: RunningLedgerd
let port: number
let api: LedgerClient
let owner: LedgerUser
let accountId: string
beforeAll(async () => {
  server = await startLedgerd()
  port = Number(new URL(server.apiUrl).port)
  api = ledgerClient(server.apiUrl, { timeoutMs: 5_000 })
  owner = await api.signUp('edge-owner@example.com')
  accountId = (await api.createAccount(owner.token, 'USD')).body.id
  expect((await api.deposit(owner.token, accountId, 1_000)).status).toBe(201)
})
afterAll(async () => {
  expect(await server.stop()).toBe(0)
})

interface RawResponse {
  status: number
  headers: Map<string, string>
  body: string
}

/** Writes `bytes` on a fresh connection and reads until the server closes it (at most 5 s). */
async function raw(bytes: string): Promise<RawResponse> {
  let text = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer within 5 s to ${JSON.stringify(bytes)}`)),
      5_000,
    )
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    void Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(socket) {
          socket.write(bytes)
        },
        data(_, chunk) {
          text += chunk.toString()
        },
        close: done,
        error: done,
      },
    })
  })
  const split = text.indexOf('\r\n\r\n')
  const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n')
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(':')
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const
    }),
  )
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) }
}

const accessLine = async (requestId: string) => {
  await Bun.sleep(50)
  return server.logs.find((line) => line.msg === 'request' && line.requestId === requestId)
}

describe('Host', () => {
  test('HTTP/1.0 without Host is served, logged, and prints no stack', async () => {
    const answer = await raw('GET /v1/meta HTTP/1.0\r\nX-Request-Id: h10-no-host\r\n\r\n')
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body).name).toBe('ledgerd')
    expect(await accessLine('h10-no-host')).toMatchObject({
      path: '/v1/meta',
      route: '/v1/meta',
      status: 200,
    })
    expect(server.stderr()).toBe('')
    expect(server.logs.filter((line) => line.level === 'error' || line.level === 'unparsed')).toEqual([])
  })

  test("HAProxy's default health check (OPTIONS / HTTP/1.0, no Host) gets no 5xx", async () => {
    const answer = await raw('OPTIONS / HTTP/1.0\r\nX-Request-Id: haproxy-check\r\n\r\n')
    expect(answer.status).toBeLessThan(500)
    expect(await accessLine('haproxy-check')).toMatchObject({ path: '/' })
  })

  test('HTTP/1.0 without Host to an unknown path is a problem+json 404 with an access-log line', async () => {
    const answer = await raw('GET /zz/v1/meta HTTP/1.0\r\nX-Request-Id: h10-unknown\r\n\r\n')
    expect(answer.status).toBe(404)
    expect(answer.headers.get('content-type')).toBe('application/problem+json')
    expect(JSON.parse(answer.body).instance).toBe('/zz/v1/meta')
    expect(await accessLine('h10-unknown')).toMatchObject({ path: '/zz/v1/meta', status: 404 })
  })

  test('an empty Host is served like no Host', async () => {
    const answer = await raw('GET /v1/meta HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n')
    expect(answer.status).toBe(200)
  })

  test('HTTP/1.1 without Host is refused with 400, as RFC 9112 requires', async () => {
    const answer = await raw('GET /v1/meta HTTP/1.1\r\nConnection: close\r\n\r\n')
    expect(answer.status).toBe(400)
  })

  test('an absolute-form target routes on its own path, whatever its host (RFC 9112 §3.2.2)', async () => {
    const prefixed = await raw('GET http://x/zz/v1/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(prefixed.status).toBe(404)
    expect(JSON.parse(prefixed.body).instance).toBe('/zz/v1/meta')
    const known = await raw('GET http://a/v1/meta HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n')
    expect(known.status).toBe(200)
  })

  test('a path in the query string is not the path', async () => {
    const answer = await raw('GET /zz/v1/meta?next=/v1/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(answer.status).toBe(404)
  })

  test('framing Bun cannot serve is refused by Bun itself, without reaching ledgerd', async () => {
    expect((await raw('GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(400)
    expect((await raw('GET /v1/meta HTTP/0.9\r\n\r\n')).status).toBe(505)
    expect(server.stderr()).toBe('')
  })

  for (const host of ['x', 'ab', 'api', 'api:80', 'x:1', '[::1]', 'ledger.example.com']) {
    test(`Host: ${host} routes on the path the client sent`, async () => {
      const known = await raw(`GET /v1/meta HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
      expect(known.status).toBe(200)
      const id = `short-host-${host.replace(/[^a-z0-9]/g, '')}`
      const prefixed = await raw(
        `GET /zz/v1/meta HTTP/1.1\r\nHost: ${host}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`,
      )
      expect(prefixed.status).toBe(404)
      expect(JSON.parse(prefixed.body).instance).toBe('/zz/v1/meta')
      expect(await accessLine(id)).toMatchObject({ path: '/zz/v1/meta', route: 'unmatched', status: 404 })
    })
  }
})

/** A request with a bounded wait; the body is sent exactly as given. */
const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(5_000),
  })

async function expectRefused(response: Response, status: number, field: string) {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const problem = (await response.json()) as { errors?: { field: string }[] }
  expect(problem.errors?.map((error) => error.field)).toEqual([field])
}

const balance = async () => (await api.getAccount(owner.token, accountId)).body.balance

describe('duplicate member names', () => {
  const withdrawals = () => `/v1/accounts/${accountId}/withdrawals`
  const cases: [string, string, string][] = [
    ['{"amount":1,"amount":2}', 'amount', 'a repeated member'],
    ['{"amount":1,"am\u006funt":2}', 'amount', 'the repeat spelled with an escape'],
    ['{"amount":1, "description":"x","description":"y"}', 'description', 'a repeated string member'],
  ]
  for (const [body, field, what] of cases) {
    test(`a withdrawal with ${what} is refused (400) and moves no money`, async () => {
      const before = await balance()
      await expectRefused(await post(withdrawals(), body), 400, field)
      expect(await balance()).toBe(before)
    })
  }

  test('a nested repeat is named by its path, on any route with a JSON body', async () => {
    await expectRefused(
      await post(
        '/v1/users',
        '{"email":"dup@example.com","name":"d","password":"long enough pass","x":{"a":1,"a":2}}',
      ),
      400,
      'x.a',
    )
    await expectRefused(await post('/v1/accounts', '{"currency":"USD","currency":"EUR"}'), 400, 'currency')
    await expectRefused(
      await post('/v1/auth/token', '{"email":"a@b.c","email":"d@e.f","password":"p"}'),
      400,
      'email',
    )
    expect((await api.listAccounts(owner.token)).body.items).toHaveLength(1)
  })

  test('the same name in different objects is fine', async () => {
    const response = await post(
      '/v1/transfers',
      '{"from":"x","to":"y","amount":1,"description":"a","x":{"amount":1}}',
    )
    expect(response.status).toBeLessThan(500)
    expect(response.status).not.toBe(400)
  })
})

describe('charset', () => {
  for (const contentType of [
    'application/json; charset=iso-8859-1',
    'application/json;charset=UTF-16',
    'application/json; charset="windows-1252"',
    'application/problem+json; charset=latin1',
  ]) {
    test(`${contentType} is refused (415) and moves no money`, async () => {
      const before = await balance()
      const body = '{"amount":1,"description":"caf\u00e9"}'
      const response = await post(`/v1/accounts/${accountId}/withdrawals`, body, {
        'content-type': contentType,
      })
      await expectRefused(response, 415, 'Content-Type')
      expect(await balance()).toBe(before)
    })
  }

  for (const contentType of [
    'application/json; charset=utf-8',
    'application/json;charset="UTF-8"',
    'application/json',
  ]) {
    test(`${contentType} is read`, async () => {
      const response = await post(
        `/v1/accounts/${accountId}/withdrawals`,
        '{"amount":1,"description":"café"}',
        {
          'content-type': contentType,
        },
      )
      expect(response.status).toBe(201)
      expect(((await response.json()) as { description: string }).description).toBe('café')
    })
  }
})

describe('methods', () => {
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']

  test('every path of the OpenAPI document: OPTIONS is 204 with Allow, every other method 405 with Allow or answered', async () => {
    const document = (await (await fetch(`${server.apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>
    }
    const paths = Object.entries(document.paths)
    expect(paths.length).toBeGreaterThan(10)
    for (const [template, operations] of paths) {
      const path = template.replace(/\{[^}]+\}/g, '0193a4b2-7c1d-7e2f-8a3b-4c5d6e7f8091')
      const options = await fetch(`${server.apiUrl}${path}`, {
        method: 'OPTIONS',
        signal: AbortSignal.timeout(5_000),
      })
      expect({ template, status: options.status }).toEqual({ template, status: 204 })
      const allow = (options.headers.get('allow') ?? '').split(', ')
      for (const documented of Object.keys(operations)) expect(allow).toContain(documented.toUpperCase())
      for (const method of methods) {
        const response = await fetch(`${server.apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${owner.token}` },
          signal: AbortSignal.timeout(5_000),
        })
        expect({ template, method, serverError: response.status >= 500 }).toEqual({
          template,
          method,
          serverError: false,
        })
        if (allow.includes(method)) {
          expect({ template, method, status: response.status }).not.toEqual({ template, method, status: 405 })
        } else {
          expect({ template, method, status: response.status }).toEqual({ template, method, status: 405 })
          expect(response.headers.get('allow')).toBe(allow.join(', '))
          expect(response.headers.get('content-type')).toBe('application/problem+json')
        }
      }
    }
    expect(await balance()).toBeGreaterThan(0)
  })

  test('a wrong method is logged under its route, not as unmatched', async () => {
    const response = await fetch(`${server.apiUrl}/v1/meta`, {
      method: 'DELETE',
      headers: { 'x-request-id': 'wrong-method' },
    })
    expect(response.status).toBe(405)
    expect(await accessLine('wrong-method')).toMatchObject({ route: '/v1/meta', status: 405 })
  })
})

describe('CORS', () => {
  const app = 'https://app.example.com'
  let cors: RunningLedgerd
  beforeAll(async () => {
    cors = await startLedgerd({ args: ['--cors-origins', `${app},http://localhost:5173`] })
  })
  afterAll(async () => {
    expect(await cors.stop()).toBe(0)
  })
  const preflight = (base: string, origin: string, method: string, headers = 'authorization, content-type') =>
    fetch(`${base}/v1/accounts`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
      signal: AbortSignal.timeout(5_000),
    })

  test('is off by default: no Access-Control header on a preflight or an answer', async () => {
    const answers = [
      await preflight(server.apiUrl, app, 'POST'),
      await fetch(`${server.apiUrl}/v1/meta`, { headers: { origin: app } }),
    ]
    for (const answer of answers) {
      expect([...answer.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([])
    }
  })

  test('a preflight from a listed origin is answered with methods, headers and max-age', async () => {
    const answer = await preflight(cors.apiUrl, app, 'POST')
    expect(answer.status).toBe(204)
    expect(answer.headers.get('access-control-allow-origin')).toBe(app)
    expect(answer.headers.get('access-control-allow-methods')).toContain('POST')
    expect(answer.headers.get('access-control-allow-headers')).toContain('authorization')
    expect(Number(answer.headers.get('access-control-max-age'))).toBeGreaterThan(0)
    expect(answer.headers.get('vary')).toContain('Origin')
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull()
  })

  test('an unlisted origin, a method the path lacks or an unknown header gets no permission', async () => {
    const other = await preflight(cors.apiUrl, 'https://evil.example.com', 'POST')
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    expect(other.headers.get('access-control-allow-methods')).toBeNull()
    expect((await preflight(cors.apiUrl, app, 'PUT')).headers.get('access-control-allow-methods')).toBeNull()
    expect(
      (await preflight(cors.apiUrl, app, 'POST', 'x-evil')).headers.get('access-control-allow-methods'),
    ).toBeNull()
  })

  test('answers to a listed origin, errors included, carry Allow-Origin and expose X-Request-Id', async () => {
    for (const path of ['/v1/meta', '/v1/accounts', '/nowhere']) {
      const answer = await fetch(`${cors.apiUrl}${path}`, { headers: { origin: 'http://localhost:5173' } })
      expect(answer.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
      expect(answer.headers.get('access-control-expose-headers')).toContain('X-Request-Id')
      expect(answer.headers.get('vary')).toContain('Origin')
    }
  })
})

describe('operations', () => {
  test('a replayed refusal shows the original request id in its body and X-Request-Id alike', async () => {
    const withdraw = (requestId: string) =>
      post(`/v1/accounts/${accountId}/withdrawals`, '{"amount":999999999}', {
        'idempotency-key': 'edge-replay',
        'x-request-id': requestId,
      })
    const first = await withdraw('edge-first-try')
    expect(first.status).toBe(409)
    const replay = await withdraw('edge-second-try')
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(((await replay.json()) as { requestId: string }).requestId).toBe('edge-first-try')
    expect(replay.headers.get('x-request-id')).toBe('edge-first-try')
    expect(await accessLine('edge-second-try')).toMatchObject({ status: 409, replayOf: 'edge-first-try' })
  })

  test('the OpenID configuration built from Host says Vary: Host', async () => {
    const answer = await raw(
      'GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    )
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body).jwks_uri).toBe('http://x/.well-known/jwks.json')
    expect(answer.headers.get('vary')).toContain('Host')
  })

  test('with --public-url, jwks_uri comes from it, not from Host, and nothing varies by Host', async () => {
    const fixed = await startLedgerd({ args: ['--public-url', 'https://ledger.example.com'] })
    try {
      const answer = await fetch(`${fixed.apiUrl}/.well-known/openid-configuration`, {
        headers: { host: 'evil.example' },
      })
      expect(((await answer.json()) as { jwks_uri: string }).jwks_uri).toBe(
        'https://ledger.example.com/.well-known/jwks.json',
      )
      expect(answer.headers.get('vary')).toBeNull()
    } finally {
      expect(await fixed.stop()).toBe(0)
    }
  })
})

describe('GET /v1/meta', () => {
  test('shows major.minor and no commit by default, the exact version and commit with --meta-exact-version', async () => {
    const exact = (await runLedgerd(['version'])).stdout.match(/^ledgerd (\S+) \(commit (\S+),/)
    expect(exact).not.toBeNull()
    const [, version = '', commit = ''] = exact ?? []
    const plain = (await (await fetch(`${server.apiUrl}/v1/meta`)).json()) as Record<string, unknown>
    expect(plain.version).toBe(version.split('.').slice(0, 2).join('.'))
    expect(plain).not.toHaveProperty('commit')
    const exposed = await startLedgerd({ args: ['--meta-exact-version', 'true'] })
    try {
      expect(await (await fetch(`${exposed.apiUrl}/v1/meta`)).json()).toMatchObject({ version, commit })
    } finally {
      expect(await exposed.stop()).toBe(0)
    }
  })
})
