import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { connect } from 'node:net'
import { calculateJwkThumbprint, type JWK } from 'jose'
import {
  type Claims,
  decodePayload,
  generateSigningKey,
  hmacToken,
  nowSeconds,
  type SigningKey,
  signRawPayload,
  signToken,
  unsignedToken,
  withPayload,
  writePrivateKeyFile,
} from '../support/jwt'
import { type RunningLedgerd, startLedgerd, tempDir } from '../support/ledgerd-process'

// The compiled binary, signing with a key this test generated, so the test can mint tokens ledgerd must
// accept (the positive controls) next to the forgeries it must refuse.

const issuer = 'https://ledgerd.test'
const audience = 'ledgerd-api'
const clockSkewSeconds = 30
const password = 'correct horse battery staple'

let server: RunningLedgerd
let keyDir: string
let realKey: SigningKey
let otherKey: SigningKey
/** The kid ledgerd gives the key: its RFC 7638 thumbprint, read from the published JWKS. */
let kid: string
let publishedJwk: JWK
let userId: string
let otherUserId: string
/** Issued by ledgerd through POST /v1/auth/token. */
let realToken: string

const api = (path: string) => `${server.apiUrl}${path}`

async function postJson(path: string, body: unknown) {
  return fetch(api(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

async function signUpAndLogin(email: string): Promise<{ id: string; token: string }> {
  const created = await postJson('/v1/users', { email, name: email.split('@')[0], password })
  expect(created.status).toBe(201)
  const { id } = (await created.json()) as { id: string }
  const issued = await postJson('/v1/auth/token', { email, password })
  expect(issued.status).toBe(200)
  const { access_token: token } = (await issued.json()) as { access_token: string }
  return { id, token }
}

const me = (authorization?: string) =>
  fetch(api('/v1/users/me'), { headers: authorization === undefined ? {} : { authorization } })

/** Claims ledgerd would put in a token for userId, valid for five minutes. */
function claimsFor(sub: string, overrides: Claims = {}): Claims {
  const now = nowSeconds()
  return { iss: issuer, aud: audience, sub, roles: ['user'], iat: now, exp: now + 300, ...overrides }
}

type Challenge = 'invalid_token' | 'invalid_request' | 'none'

/**
 * The one acceptable answer to a bad credential: 401, an RFC 6750 challenge, and a problem body. The
 * challenge's error is invalid_token for a token that was presented and refused, invalid_request for a
 * malformed Bearer header, and absent for no credentials or another scheme (RFC 6750 §3.1).
 */
async function expectUnauthorized(response: Response, error: Challenge) {
  const body = await response.text()
  expect({ status: response.status, body }).toMatchObject({ status: 401 })
  const challenge = response.headers.get('www-authenticate') ?? ''
  expect(challenge).toStartWith('Bearer realm="ledgerd"')
  if (error === 'none') expect(challenge).not.toContain('error=')
  else expect(challenge).toContain(`error="${error}"`)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  expect(JSON.parse(body)).toMatchObject({ type: '/problems/unauthorized', status: 401 })
}

interface RawResponse {
  status: number
  headers: Map<string, string>
  body: string
}

/**
 * One HTTP/1.1 request written byte for byte, for header values fetch() refuses to send (non-ASCII,
 * duplicates). The server closes the connection after answering.
 */
function rawGet(path: string, headerLines: Uint8Array[]): Promise<RawResponse> {
  const { hostname, port } = new URL(server.apiUrl)
  const head = new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n`)
  const crlf = new TextEncoder().encode('\r\n')
  const request = Buffer.concat([head, ...headerLines.flatMap((line) => [line, crlf]), crlf])
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect(Number(port), hostname, () => socket.end(request))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const [head = '', body = ''] = text.split('\r\n\r\n', 2)
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers = new Map(
        lines.map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      )
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body })
    })
  })
}

const headerLine = (...parts: (string | Uint8Array)[]) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part)))

beforeAll(async () => {
  keyDir = tempDir('ledgerd-keys-')
  realKey = await generateSigningKey('EdDSA', 'test-key')
  otherKey = await generateSigningKey('EdDSA', 'attacker-key')
  server = await startLedgerd({
    args: [
      '--jwt-signing-key-file',
      writePrivateKeyFile(keyDir, realKey),
      '--token-issuer',
      issuer,
      '--token-audience',
      audience,
      '--token-clock-skew',
      `${clockSkewSeconds}s`,
    ],
  })
  const jwks = (await (await fetch(api('/.well-known/jwks.json'))).json()) as { keys: JWK[] }
  publishedJwk = jwks.keys[0] as JWK
  kid = publishedJwk.kid as string
  ;({ id: userId, token: realToken } = await signUpAndLogin('alice@example.com'))
  ;({ id: otherUserId } = await signUpAndLogin('bob@example.com'))
})

afterAll(async () => {
  expect(await server.stop()).toBe(0)
  rmSync(keyDir, { recursive: true, force: true })
})

describe('the keys ledgerd signs with and publishes', () => {
  test('the JWKS publishes the configured key, public half only, its thumbprint as kid', async () => {
    expect(publishedJwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: realKey.publicJwk.x,
      kid: await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: realKey.publicJwk.x } as JWK),
      alg: 'EdDSA',
      use: 'sig',
    })
  })

  test('issued tokens carry the configured iss and aud, the user id as sub, and a kid', () => {
    const header = JSON.parse(Buffer.from(realToken.split('.')[0] as string, 'base64url').toString())
    expect(header).toEqual({ alg: 'EdDSA', kid, typ: 'JWT' })
    expect(decodePayload(realToken)).toMatchObject({ iss: issuer, aud: audience, sub: userId })
  })

  test('positive control: the issued token and a token minted with the real key both work', async () => {
    expect((await me(`Bearer ${realToken}`)).status).toBe(200)
    const minted = await signToken(realKey, claimsFor(userId), { kid })
    const response = await me(`Bearer ${minted}`)
    expect(response.status).toBe(200)
    expect(((await response.json()) as { id: string }).id).toBe(userId)
  })
})

describe('forged and unacceptable tokens are refused with 401 invalid_token', () => {
  const forgeries: [string, () => Promise<string>][] = [
    ['alg none, empty signature part', async () => unsignedToken(claimsFor(userId))],
    ['alg none, no signature part', async () => unsignedToken(claimsFor(userId), undefined, false)],
    ['alg none with the real kid', async () => unsignedToken(claimsFor(userId), { alg: 'none', kid })],
    ['alg "None" (case games)', async () => unsignedToken(claimsFor(userId), { alg: 'None', kid })],
    [
      'alg none header spliced onto a real token, real signature kept',
      async () => {
        const [, payload, signature] = realToken.split('.')
        const header = Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')
        return `${header}.${payload}.${signature}`
      },
    ],
    [
      'HS256 keyed with the public key PEM, real kid',
      () => hmacToken(realKey.publicPem, claimsFor(userId), { kid }),
    ],
    [
      'HS256 keyed with the public key PEM without its trailing newline',
      () => hmacToken(realKey.publicPem.trim(), claimsFor(userId), { kid }),
    ],
    [
      'HS256 keyed with the raw Ed25519 public key bytes (JWK x), real kid',
      () => hmacToken(Buffer.from(publishedJwk.x as string, 'base64url'), claimsFor(userId), { kid }),
    ],
    [
      'HS256 keyed with the published JWK as JSON text',
      () => hmacToken(JSON.stringify(publishedJwk), claimsFor(userId), { kid }),
    ],
    [
      `expired ${clockSkewSeconds + 60} s ago (beyond the clock skew)`,
      () =>
        signToken(
          realKey,
          claimsFor(userId, { iat: nowSeconds() - 900, exp: nowSeconds() - clockSkewSeconds - 60 }),
          { kid },
        ),
    ],
    [
      `not valid for another ${clockSkewSeconds + 60} s (nbf beyond the clock skew)`,
      () => signToken(realKey, claimsFor(userId, { nbf: nowSeconds() + clockSkewSeconds + 60 }), { kid }),
    ],
    ['wrong iss', () => signToken(realKey, claimsFor(userId, { iss: 'https://evil.example' }), { kid })],
    [
      'the default iss, which this server is not configured for',
      () => signToken(realKey, claimsFor(userId, { iss: 'ledgerd' }), { kid }),
    ],
    ['no iss', () => signToken(realKey, claimsFor(userId, { iss: undefined }), { kid })],
    ['wrong aud', () => signToken(realKey, claimsFor(userId, { aud: 'some-other-api' }), { kid })],
    ['aud list without ours', () => signToken(realKey, claimsFor(userId, { aud: ['a', 'b'] }), { kid })],
    ['no aud', () => signToken(realKey, claimsFor(userId, { aud: undefined }), { kid })],
    ['no exp', () => signToken(realKey, claimsFor(userId, { exp: undefined }), { kid })],
    [
      'exp as a string',
      () => signToken(realKey, claimsFor(userId, { exp: String(nowSeconds() + 300) }), { kid }),
    ],
    ['no sub', () => signToken(realKey, claimsFor(userId, { sub: undefined }), { kid })],
    ['sub of no user', () => signToken(realKey, claimsFor(crypto.randomUUID()), { kid })],
    [
      'real token with sub changed to another user, signature kept',
      async () => withPayload(realToken, { ...decodePayload(realToken), sub: otherUserId }),
    ],
    [
      'real token with roles raised to admin, signature kept',
      async () => withPayload(realToken, { ...decodePayload(realToken), roles: ['user', 'admin'] }),
    ],
    ['real token with one signature byte flipped', async () => flipLastSignatureByte(realToken)],
    [
      'signed with another Ed25519 key under an unknown kid',
      () => signToken(otherKey, claimsFor(userId), { kid: 'unknown-kid' }),
    ],
    [
      'signed with another Ed25519 key under the real kid',
      () => signToken(otherKey, claimsFor(userId), { kid }),
    ],
    [
      'signed with another key that is embedded in the header (jwk header injection)',
      () => signToken(otherKey, claimsFor(userId), { kid: 'attacker-key', jwk: otherKey.publicJwk }),
    ],
    [
      'signed with another key named by a jku URL',
      () => signToken(otherKey, claimsFor(userId), { kid: 'attacker-key', jku: 'http://127.0.0.1:1/jwks' }),
    ],
    [
      'ES256 from a foreign key',
      async () => signToken(await generateSigningKey('ES256', kid), claimsFor(userId)),
    ],
    ['signed payload that is a JSON array', () => signRawPayload(realKey, '[]', { kid })],
    ['signed payload that is JSON null', () => signRawPayload(realKey, 'null', { kid })],
    ['signed payload that is not JSON', () => signRawPayload(realKey, 'not json', { kid })],
    [
      'signed payload that is not UTF-8',
      () => signRawPayload(realKey, new Uint8Array([0xff, 0xfe]), { kid }),
    ],
    ['sub that is a number', () => signToken(realKey, claimsFor(userId, { sub: 42 }), { kid })],
    ['sub that is an object', () => signToken(realKey, claimsFor(userId, { sub: { id: userId } }), { kid })],
    ['sub that is a list', () => signToken(realKey, claimsFor(userId, { sub: [userId] }), { kid })],
    ['sub that is empty', () => signToken(realKey, claimsFor(''), { kid })],
  ]

  for (const [name, forge] of forgeries) {
    test(name, async () => {
      await expectUnauthorized(await me(`Bearer ${await forge()}`), 'invalid_token')
    })
  }

  test('none of the refusals above reached a 5xx or left an unhandled error in the log', () => {
    const errors = server.logs.filter((line) => line.level === 'error' || line.level === 'unparsed')
    expect(errors).toEqual([])
    const statuses = server.logs.filter((line) => line.msg === 'request').map((line) => Number(line.status))
    expect(statuses.filter((status) => status >= 500)).toEqual([])
  })
})

function flipLastSignatureByte(token: string): string {
  const [header, payload, signature = ''] = token.split('.')
  const bytes = Buffer.from(signature, 'base64url')
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1
  return `${header}.${payload}.${bytes.toString('base64url')}`
}

describe('the clock skew allowance', () => {
  test(`a token that expired ${clockSkewSeconds / 3} s ago is still accepted (within the skew)`, async () => {
    const token = await signToken(realKey, claimsFor(userId, { exp: nowSeconds() - clockSkewSeconds / 3 }), {
      kid,
    })
    expect((await me(`Bearer ${token}`)).status).toBe(200)
  })

  test(`a token valid from ${clockSkewSeconds / 3} s from now is accepted (within the skew)`, async () => {
    const token = await signToken(realKey, claimsFor(userId, { nbf: nowSeconds() + clockSkewSeconds / 3 }), {
      kid,
    })
    expect((await me(`Bearer ${token}`)).status).toBe(200)
  })
})

describe('a deleted user', () => {
  test("the user's token stops working at once, even though it was verified and cached", async () => {
    const { id, token } = await signUpAndLogin('carol@example.com')
    for (let i = 0; i < 3; i++) expect((await me(`Bearer ${token}`)).status).toBe(200)
    const deleted = await fetch(api(`/v1/users/${id}`), {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(deleted.status).toBe(204)
    await expectUnauthorized(await me(`Bearer ${token}`), 'invalid_token')
    // A fresh token for the deleted id, minted with the real key, is refused too: it is the user, not
    // the token, that is gone.
    const minted = await signToken(realKey, claimsFor(id), { kid })
    await expectUnauthorized(await me(`Bearer ${minted}`), 'invalid_token')
  })
})

describe('malformed Authorization headers', () => {
  test('no Authorization header: 401 with a bare challenge', async () => {
    await expectUnauthorized(await me(), 'none')
  })

  test('another scheme (Basic): 401 with a bare Bearer challenge, no error code', async () => {
    await expectUnauthorized(await me('Basic eHl6OnBhc3N3b3Jk'), 'none')
    await expectUnauthorized(await me('Basic xyz'), 'none')
  })

  test('"Bearer" with no token: invalid_request', async () => {
    await expectUnauthorized(await me('Bearer'), 'invalid_request')
    await expectUnauthorized(await me('Bearer    '), 'invalid_request')
  })

  test('"Bearer a.b" (not three parts): invalid_token', async () => {
    await expectUnauthorized(await me('Bearer a.b'), 'invalid_token')
    await expectUnauthorized(await me('Bearer a.b.c'), 'invalid_token')
  })

  test('a valid token followed by extra words is refused, not truncated to the token', async () => {
    await expectUnauthorized(await me(`Bearer ${realToken} extra`), 'invalid_request')
    await expectUnauthorized(await me(`Bearer ${realToken},Bearer ${realToken}`), 'invalid_request')
  })

  test('two Authorization headers carrying a valid token are refused', async () => {
    const line = headerLine(`Authorization: Bearer ${realToken}`)
    const response = await rawGet('/v1/users/me', [line, line])
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_request"')
    expect(response.headers.get('content-type')).toBe('application/problem+json')
  })

  test('a 12 KiB token: 401 invalid_token, answered quickly', async () => {
    const started = performance.now()
    await expectUnauthorized(await me(`Bearer ${'A'.repeat(12 * 1024)}`), 'invalid_token')
    await expectUnauthorized(await me(`Bearer ${'A'.repeat(6000)}.${'A'.repeat(6000)}.AA`), 'invalid_token')
    expect(performance.now() - started).toBeLessThan(1000)
  })

  test('a header past the HTTP server limit is refused by Bun with 431 before ledgerd sees it', async () => {
    const response = await me(`Bearer ${'A'.repeat(64 * 1024)}`)
    expect(response.status).toBe(431)
  })

  test('non-ASCII bytes in the header (UTF-8 and raw high bytes): 401, never 200 or 5xx', async () => {
    const variants = [
      headerLine('Authorization: Bearer ', Buffer.from('ü.ü.ü', 'utf8')),
      headerLine('Authorization: Bearer ', Buffer.from(realToken), Buffer.from('é', 'utf8')),
      headerLine('Authorization: Bearer ', Buffer.from([0xff, 0xfe, 0x2e, 0x80, 0x2e, 0xc3])),
      headerLine('Authorization: ', Buffer.from('Bеarer', 'utf8'), ` ${realToken}`), // Cyrillic "е"
    ]
    for (const line of variants) {
      const response = await rawGet('/v1/users/me', [line])
      expect({ status: response.status, body: response.body }).toMatchObject({ status: 401 })
      expect(response.headers.get('www-authenticate')).toStartWith('Bearer realm="ledgerd"')
      expect(response.headers.get('content-type')).toBe('application/problem+json')
    }
  })

  test('the scheme is case-insensitive (RFC 9110): "bearer" works', async () => {
    expect((await me(`bearer ${realToken}`)).status).toBe(200)
  })
})

describe('roles', () => {
  test('a user token on an admin route: 403 problem with an insufficient_scope challenge', async () => {
    const response = await fetch(api('/v1/users'), { headers: { authorization: `Bearer ${realToken}` } })
    expect(response.status).toBe(403)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"')
    expect(await response.json()).toMatchObject({ type: '/problems/forbidden', status: 403 })
  })

  test("an admin token minted with the real key and roles ['user','admin'] lists users: 200", async () => {
    const admin = await signToken(realKey, claimsFor(userId, { roles: ['user', 'admin'] }), { kid })
    const response = await fetch(api('/v1/users'), { headers: { authorization: `Bearer ${admin}` } })
    expect(response.status).toBe(200)
    const { items } = (await response.json()) as { items: { id: string }[] }
    expect(items.map((user) => user.id)).toContain(otherUserId)
  })

  test('a roles claim that is not a list of strings grants nothing', async () => {
    for (const roles of ['admin', { admin: true }, [['admin']], null]) {
      const token = await signToken(realKey, claimsFor(userId, { roles }), { kid })
      expect((await me(`Bearer ${token}`)).status).toBe(200)
      const listing = await fetch(api('/v1/users'), { headers: { authorization: `Bearer ${token}` } })
      expect(listing.status).toBe(403)
    }
  })
})

describe('after all of the above', () => {
  test('positive control: the real token still works, and no token was written to the log', async () => {
    const response = await me(`Bearer ${realToken}`)
    expect(response.status).toBe(200)
    expect(((await response.json()) as { id: string }).id).toBe(userId)
    const signature = realToken.split('.')[2] as string
    expect(JSON.stringify(server.logs)).not.toContain(signature)
    expect(server.stderr()).not.toContain(signature)
  })
})
