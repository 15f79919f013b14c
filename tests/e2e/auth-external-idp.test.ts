import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Server } from 'bun'
import type { JWK } from 'jose'
import {
  type Claims,
  generateSigningKey,
  hmacToken,
  nowSeconds,
  type SigningKey,
  signToken,
  unsignedToken,
} from '../support/jwt'
import { type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'

// ledgerd in external identity provider mode, against a provider this test plays: it serves its own
// JWKS on 127.0.0.1 and signs tokens with its own keys (RS256 first, then ES256 after a rotation).

const issuer = 'https://idp.test/realms/ledgerd'
const audience = 'ledgerd-api'
const adminRole = 'ledger-admin'

type JwksBehaviour = 'serve' | 'error' | 'not-json' | 'not-a-key-set' | 'hang'

/** The identity provider's JWKS endpoint, whose keys and failures the tests control. */
class TestProvider {
  published: SigningKey[] = []
  behaviour: JwksBehaviour = 'serve'
  fetches = 0
  readonly #hanging = new Set<() => void>()
  readonly server: Server<unknown>

  constructor() {
    this.server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (request) => {
        if (new URL(request.url).pathname !== '/jwks') return new Response('not found', { status: 404 })
        this.fetches++
        switch (this.behaviour) {
          case 'serve':
            return Response.json({ keys: this.published.map((key) => key.publicJwk satisfies JWK) })
          case 'error':
            return new Response('upstream exploded', { status: 500 })
          case 'not-json':
            return new Response('<html>maintenance</html>', { headers: { 'content-type': 'text/html' } })
          case 'not-a-key-set':
            return Response.json({ keys: 'none today' })
          case 'hang':
            return new Promise<Response>((resolve) =>
              this.#hanging.add(() => resolve(new Response('late', { status: 500 }))),
            )
        }
      },
    })
  }

  get jwksUrl() {
    return `http://127.0.0.1:${this.server.port}/jwks`
  }

  releaseHanging() {
    for (const release of this.#hanging) release()
    this.#hanging.clear()
  }
}

let idp: TestProvider
let ledgerd: RunningLedgerd
let rsaKey: SigningKey
let ecKey: SigningKey
let strangerKey: SigningKey

const ledgerdArgs = (jwksUrl: string) => [
  '--oidc-issuer',
  issuer,
  '--oidc-jwks-url',
  jwksUrl,
  '--oidc-audience',
  audience,
  '--oidc-roles-claim',
  'realm_access.roles',
  '--oidc-admin-role',
  adminRole,
  '--oidc-jwks-cooldown',
  '0s',
]

/** Claims as Keycloak writes them: roles under realm_access, plus email and preferred_username. */
function claims(sub: string, overrides: Claims = {}): Claims {
  const now = nowSeconds()
  return {
    iss: issuer,
    aud: audience,
    sub,
    iat: now,
    exp: now + 300,
    email: `${sub}@idp.example`,
    preferred_username: sub,
    realm_access: { roles: ['offline_access'] },
    // Unique per token: RS256 signatures are deterministic, and an identical token would be answered from
    // ledgerd's cache of verified tokens.
    jti: crypto.randomUUID(),
    ...overrides,
  }
}

const call = (path: string, token?: string, init: RequestInit = {}) =>
  fetch(`${ledgerd.apiUrl}${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
  })

async function expectInvalidToken(response: Response) {
  expect({ status: response.status, body: await response.text() }).toMatchObject({ status: 401 })
  expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"')
  expect(response.headers.get('content-type')).toBe('application/problem+json')
}

async function expectProviderUnavailable(response: Response) {
  expect({ status: response.status, body: await response.text() }).toMatchObject({ status: 503 })
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
}

beforeAll(async () => {
  ;[rsaKey, ecKey, strangerKey] = await Promise.all([
    generateSigningKey('RS256', 'idp-rsa-1'),
    generateSigningKey('ES256', 'idp-ec-2'),
    generateSigningKey('RS256', 'stranger'),
  ])
  idp = new TestProvider()
  idp.published = [rsaKey]
  ledgerd = await startLedgerd({ args: ledgerdArgs(idp.jwksUrl) })
})

afterAll(async () => {
  expect(await ledgerd.stop()).toBe(0)
  idp.releaseHanging()
  idp.server.stop(true)
})

describe('tokens from the identity provider', () => {
  test('a valid token works, and its sub becomes one ledgerd user, created on first sight', async () => {
    const first = await call('/v1/users/me', await signToken(rsaKey, claims('kc-alice')))
    expect(first.status).toBe(200)
    const user = (await first.json()) as { id: string; email: string; name: string; roles: string[] }
    expect(user).toMatchObject({ email: 'kc-alice@idp.example', name: 'kc-alice', roles: ['user'] })
    // A second, different token for the same sub is the same user.
    const again = await call('/v1/users/me', await signToken(rsaKey, claims('kc-alice')))
    expect(((await again.json()) as { id: string }).id).toBe(user.id)
    const other = await call('/v1/users/me', await signToken(rsaKey, claims('kc-bob')))
    expect(((await other.json()) as { id: string }).id).not.toBe(user.id)
  })

  test('the nested realm_access.roles claim maps --oidc-admin-role to admin, nothing else does', async () => {
    const admin = await signToken(rsaKey, claims('kc-root', { realm_access: { roles: ['user', adminRole] } }))
    expect((await call('/v1/users', admin)).status).toBe(200)
    for (const notAdmin of [
      claims('kc-alice'),
      claims('kc-alice', { roles: [adminRole] }), // the right role in the wrong claim
      claims('kc-alice', { realm_access: { roles: ['admin'] } }), // ledgerd's name, not the provider's
      claims('kc-alice', { realm_access: { roles: adminRole } }), // a string, not a list
      claims('kc-alice', { realm_access: [adminRole] }),
    ]) {
      const response = await call('/v1/users', await signToken(rsaKey, notAdmin))
      expect(response.status).toBe(403)
    }
  })

  test('ledgerd issues nothing: the token endpoint and key documents answer 404 problems', async () => {
    const token = await call('/v1/auth/token', undefined, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@example.com', password: 'correct horse battery' }),
    })
    const jwks = await call('/.well-known/jwks.json')
    const discovery = await call('/.well-known/openid-configuration')
    for (const response of [token, jwks, discovery]) {
      expect(response.status).toBe(404)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(((await response.json()) as { detail: string }).detail).toContain(issuer)
    }
  })
})

describe('refused tokens: 401 invalid_token', () => {
  const forgeries: [string, () => Promise<string>][] = [
    ['signed by a key the provider does not publish', () => signToken(strangerKey, claims('kc-alice'))],
    [
      'signed by a stranger key under the real kid',
      () => signToken(strangerKey, claims('kc-alice'), { kid: rsaKey.kid }),
    ],
    [
      'HS256 keyed with the provider public key PEM',
      () => hmacToken(rsaKey.publicPem, claims('kc-alice'), { kid: rsaKey.kid }),
    ],
    [
      'HS256 keyed with the provider JWK modulus',
      () =>
        hmacToken(Buffer.from(rsaKey.publicJwk.n as string, 'base64url'), claims('kc-alice'), {
          kid: rsaKey.kid,
        }),
    ],
    ['alg none', async () => unsignedToken(claims('kc-alice'), { alg: 'none', kid: rsaKey.kid })],
    ['wrong audience', () => signToken(rsaKey, claims('kc-alice', { aud: 'account' }))],
    ['wrong issuer', () => signToken(rsaKey, claims('kc-alice', { iss: 'https://idp.test/realms/other' }))],
    ['expired', () => signToken(rsaKey, claims('kc-alice', { exp: nowSeconds() - 600 }))],
    ['no sub', () => signToken(rsaKey, claims('kc-alice', { sub: undefined }))],
    ['sub that is not a string', () => signToken(rsaKey, claims('kc-alice', { sub: { id: 'kc-alice' } }))],
    ['empty sub', () => signToken(rsaKey, claims(''))],
  ]
  for (const [name, forge] of forgeries) {
    test(name, async () => {
      await expectInvalidToken(await call('/v1/users/me', await forge()))
    })
  }

  test('none of them reached a 5xx or an unhandled error', () => {
    expect(ledgerd.logs.filter((line) => line.level === 'error')).toEqual([])
  })
})

describe("the provider's claims become stored text only if they keep the API's text rule", () => {
  type Me = { id: string; email: string; name: string }
  const me = async (token: string) => {
    const response = await call('/v1/users/me', token)
    const body = await response.text()
    expect({ status: response.status, body: body.slice(0, 300) }).toMatchObject({ status: 200 })
    return JSON.parse(body) as Me
  }
  const adminToken = () => signToken(rsaKey, claims('kc-root', { realm_access: { roles: [adminRole] } }))
  const allUsers = async () => {
    const response = await call('/v1/users?limit=100', await adminToken())
    return ((await response.json()) as { items: Me[] }).items
  }

  // [case, name claim, what is stored]: a bad name never fails the login; preferred_username stands in.
  const badNames: [string, string, string][] = [
    ['NUL', 'Ada\u0000Lovelace', 'kc-n-nul'],
    ['a line feed', 'Ada\nLovelace', 'kc-n-lf'],
    ['a carriage return', 'Ada\rLovelace', 'kc-n-cr'],
    ['DEL', 'Ada\u007F', 'kc-n-del'],
    ['C1 U+0085', 'Ada\u0085', 'kc-n-nel'],
    ['a lone high surrogate', 'Ada\uD800', 'kc-n-high'],
    ['a lone low surrogate', '\uDC00Ada', 'kc-n-low'],
    ['only whitespace', ' \u00A0\u3000 ', 'kc-n-blank'],
    ['empty', '', 'kc-n-empty'],
  ]
  for (const [kind, name, stored] of badNames) {
    test(`a name with ${kind}: the login works and preferred_username is stored`, async () => {
      const user = await me(await signToken(rsaKey, claims(stored, { name })))
      expect(user.name).toBe(stored)
    })
  }

  test('no usable name or preferred_username: the subject is stored', async () => {
    const user = await me(
      await signToken(rsaKey, claims('kc-n-none', { name: 'A\u0000', preferred_username: '\t' })),
    )
    expect(user.name).toBe('kc-n-none')
  })

  test('a 10 kB name is cut to 200 code points; 1,000 emoji to 150 (600 bytes), never inside one', async () => {
    const long = await me(await signToken(rsaKey, claims('kc-n-long', { name: 'L'.repeat(10_000) })))
    expect(long.name).toBe('L'.repeat(200))
    const emoji = await me(await signToken(rsaKey, claims('kc-n-emoji', { name: '😀'.repeat(1000) })))
    expect(emoji.name).toBe('😀'.repeat(150))
  })

  test('a name exactly at the bounds is stored unchanged', async () => {
    const name = `${'中'.repeat(197)}😀😀a` // 200 code points, 600 bytes
    expect((await me(await signToken(rsaKey, claims('kc-n-exact', { name })))).name).toBe(name)
  })

  // sub is the mapping's key and email the user's address: altered, they would name someone else.
  const badClaims: [string, string, Claims][] = [
    ['sub', 'NUL', { sub: 'kc-bad\u0000' }],
    ['sub', 'a line feed', { sub: 'kc-bad\n' }],
    ['sub', 'a lone surrogate', { sub: 'kc-bad\uD800' }],
    ['sub', 'only whitespace', { sub: '  ' }],
    ['sub', '256 characters', { sub: 's'.repeat(256) }],
    ['email', 'NUL', { email: 'kc-bad\u0000@idp.example' }],
    ['email', 'CR LF', { email: 'kc-bad@idp.example\r\nBcc: x@y.z' }],
    ['email', 'a lone surrogate', { email: 'kc-bad\uDFFF@idp.example' }],
    ['email', 'only whitespace', { email: ' ' }],
    ['email', '255 characters', { email: `${'e'.repeat(243)}@idp.example` }],
  ]
  for (const [claim, kind, overrides] of badClaims) {
    test(`the ${claim} claim with ${kind}: 401 invalid_token naming ${claim}, no user created`, async () => {
      const before = await allUsers()
      const response = await call('/v1/users/me', await signToken(rsaKey, claims('kc-bad', overrides)))
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"')
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      const problem = (await response.json()) as { detail: string; errors: { field: string; in: string }[] }
      expect(problem.errors).toEqual([expect.objectContaining({ field: claim, in: 'token' })])
      expect(problem.detail).toContain(`${claim} claim`)
      expect(await allUsers()).toEqual(before)
    })
  }

  test('no email at all is still fine: stored empty', async () => {
    expect((await me(await signToken(rsaKey, claims('kc-no-email', { email: undefined })))).email).toBe('')
  })

  test('none of them reached a 5xx or an unhandled error', () => {
    expect(ledgerd.logs.filter((line) => line.level === 'error')).toEqual([])
  })
})

describe('key rotation at the provider', () => {
  test('a token under a new kid makes ledgerd fetch the JWKS again and is accepted', async () => {
    idp.published = [ecKey]
    const fetchesBefore = idp.fetches
    const response = await call('/v1/users/me', await signToken(ecKey, claims('kc-alice')))
    expect(response.status).toBe(200)
    expect(idp.fetches).toBeGreaterThan(fetchesBefore)
  })

  test('a new token signed with the retired key is refused once the key left the JWKS', async () => {
    await expectInvalidToken(await call('/v1/users/me', await signToken(rsaKey, claims('kc-alice'))))
  })
})

describe('when the provider JWKS cannot be fetched: 503 with Retry-After, not 401, not 500', () => {
  // Each case uses a kid ledgerd has not seen, which forces a fetch; known keys stay cached.
  let unseen = 0
  const tokenUnderNewKid = async () => {
    const key = await generateSigningKey('ES256', `unseen-${++unseen}`)
    return signToken(key, claims('kc-alice'))
  }

  for (const behaviour of ['error', 'not-json', 'not-a-key-set'] as const) {
    test(`the JWKS endpoint answers ${behaviour}`, async () => {
      idp.behaviour = behaviour
      const started = performance.now()
      await expectProviderUnavailable(await call('/v1/users/me', await tokenUnderNewKid()))
      expect(performance.now() - started).toBeLessThan(2000)
    })
  }

  test('the JWKS endpoint hangs: 503 once the 5 s fetch timeout passes', async () => {
    idp.behaviour = 'hang'
    const started = performance.now()
    await expectProviderUnavailable(await call('/v1/users/me', await tokenUnderNewKid()))
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThan(4000)
    expect(elapsed).toBeLessThan(7000)
    idp.releaseHanging()
  }, 10_000)

  test('meanwhile a token under a key already fetched still works', async () => {
    idp.behaviour = 'error'
    const token = await signToken(ecKey, claims('kc-alice'))
    expect((await call('/v1/users/me', token)).status).toBe(200)
  })

  test('once the provider recovers, new keys are fetched and accepted again', async () => {
    idp.behaviour = 'serve'
    const next = await generateSigningKey('ES256', 'idp-ec-3')
    idp.published = [ecKey, next]
    expect((await call('/v1/users/me', await signToken(next, claims('kc-alice')))).status).toBe(200)
  })

  test('a ledgerd started while the provider is unreachable (connection refused): 503 at once', async () => {
    const closed = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
    const deadUrl = `http://127.0.0.1:${closed.port}/jwks`
    closed.stop(true)
    const orphan = await startLedgerd({ args: ledgerdArgs(deadUrl) })
    try {
      const started = performance.now()
      const response = await fetch(`${orphan.apiUrl}/v1/users/me`, {
        headers: { authorization: `Bearer ${await signToken(rsaKey, claims('kc-alice'))}` },
      })
      await expectProviderUnavailable(response)
      expect(performance.now() - started).toBeLessThan(2000)
      // A token refused on its own merits is still a 401: the algorithm is checked before any key fetch.
      const hmac = await hmacToken('secret', claims('kc-alice'))
      expect(
        (await fetch(`${orphan.apiUrl}/v1/users/me`, { headers: { authorization: `Bearer ${hmac}` } }))
          .status,
      ).toBe(401)
    } finally {
      expect(await orphan.stop()).toBe(0)
    }
  })
})

describe('a deleted external user', () => {
  test("the user's provider tokens stop working: 401", async () => {
    const token = await signToken(rsaKey, claims('kc-doomed'))
    idp.published = [ecKey, rsaKey]
    const me = await call('/v1/users/me', token)
    expect(me.status).toBe(200)
    const { id } = (await me.json()) as { id: string }
    const admin = await signToken(rsaKey, claims('kc-root', { realm_access: { roles: [adminRole] } }))
    const deleted = await call(`/v1/users/${id}`, admin, { method: 'DELETE' })
    expect(deleted.status).toBe(204)
    await expectInvalidToken(await call('/v1/users/me', token))
  })
})
