import { afterAll, describe, expect, test } from 'bun:test'
import { createLocalJWKSet } from 'jose'
import { builtinVerifier, externalVerifier, KeysUnavailable, TokenRejected } from '../../../src/auth/verifier'
import { generateSigningKey, hmacToken, nowSeconds, signToken } from '../../support/jwt'

const issuer = 'https://idp.test'
const audience = 'ledgerd'
const [edKey, rsaKey] = await Promise.all([
  generateSigningKey('EdDSA', 'ed-1'),
  generateSigningKey('RS256', 'rsa-1'),
])
const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: issuer,
  aud: audience,
  sub: 'subject-1',
  exp: nowSeconds() + 60,
  ...overrides,
})

describe('builtinVerifier', () => {
  const verify = builtinVerifier({
    keys: createLocalJWKSet({ keys: [edKey.publicJwk] }),
    issuer,
    audience,
    clockSkewMs: 30_000,
  })

  test('returns what ledgerd uses of a valid token, exp in milliseconds', async () => {
    const exp = nowSeconds() + 60
    const verified = await verify(await signToken(edKey, claims({ exp, roles: ['user', 7, 'admin'] })))
    expect(verified).toEqual({
      issuer,
      subject: 'subject-1',
      roles: ['user', 'admin'],
      email: '',
      name: 'subject-1',
      expiresAt: exp * 1000,
    })
  })

  test.each([
    ['expired', claims({ exp: nowSeconds() - 120 }), 'the token has expired'],
    ['not yet valid', claims({ nbf: nowSeconds() + 120 }), 'the token is not valid yet'],
    ['wrong audience', claims({ aud: 'other' }), "the token's aud claim is not acceptable"],
    ['no exp', claims({ exp: undefined }), "the token's exp claim is not acceptable"],
    ['sub not a string', claims({ sub: 12 }), "the token's sub claim must be a string"],
    ['empty sub', claims({ sub: '' }), "the token's sub claim must not be empty"],
    // Claims that become a user's stored text keep the API's text rule (src/auth/claims.ts).
    [
      'U+0000 in sub',
      claims({ sub: 'a\u0000b' }),
      "the token's sub claim must not contain control characters (found U+0000)",
    ],
    [
      'U+0000 in email',
      claims({ email: 'a\u0000@b.co' }),
      "the token's email claim must not contain control characters (found U+0000)",
    ],
  ])('%s: TokenRejected saying which check failed', async (_, tokenClaims, reason) => {
    const token = await signToken(edKey, tokenClaims)
    const rejected = await verify(token).catch((error: unknown) => error)
    expect(rejected).toBeInstanceOf(TokenRejected)
    expect((rejected as TokenRejected).message).toBe(reason)
  })

  test.each([
    ['U+0000 in name', claims({ name: 'A\u0000', preferred_username: 'alice' }), 'alice'],
    ['U+0000 in preferred_username', claims({ preferred_username: 'a\u0000' }), 'subject-1'],
  ])('%s: the token is accepted and the name falls back', async (_, tokenClaims, name) => {
    expect(await verify(await signToken(edKey, tokenClaims))).toMatchObject({ name })
  })

  test('an RS256 or HS256 token is refused for its algorithm before any key is looked up', async () => {
    for (const token of [
      await signToken(rsaKey, claims()),
      await hmacToken(edKey.publicPem, claims(), { kid: edKey.kid }),
    ]) {
      await expect(verify(token)).rejects.toMatchObject({
        message: 'the token is signed with an algorithm that is not accepted',
        kind: 'token_bad_algorithm',
      })
    }
  })
})

describe('externalVerifier: a JWKS that cannot be fetched is KeysUnavailable, never TokenRejected', () => {
  let answer: () => Response = () => Response.json({ keys: [rsaKey.publicJwk] })
  const provider = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => answer() })
  afterAll(() => provider.stop(true))
  const verifierFor = (jwksUrl: string) =>
    externalVerifier({
      jwksUrl,
      issuer,
      audience,
      algorithms: ['RS256', 'ES256'],
      clockSkewMs: 0,
      rolesClaim: 'realm_access.roles',
      jwksCooldownMs: 0,
    })

  test('a served key verifies, with roles read from the nested claim', async () => {
    answer = () => Response.json({ keys: [rsaKey.publicJwk] })
    const verify = verifierFor(`http://127.0.0.1:${provider.port}/jwks`)
    const token = await signToken(rsaKey, claims({ realm_access: { roles: ['admin'] } }))
    expect((await verify(token)).roles).toEqual(['admin'])
  })

  test.each([
    ['HTTP 500', () => new Response('boom', { status: 500 })],
    ['HTTP 404', () => new Response('gone', { status: 404 })],
    ['a redirect', () => new Response(null, { status: 302, headers: { location: 'http://example.com/' } })],
    ['HTML', () => new Response('<html></html>')],
    ['JSON that is not a key set', () => Response.json({ keys: 'x' })],
  ])('the provider answers %s', async (_, respond) => {
    answer = respond
    const verify = verifierFor(`http://127.0.0.1:${provider.port}/jwks`)
    await expect(verify(await signToken(rsaKey, claims()))).rejects.toBeInstanceOf(KeysUnavailable)
  })

  test('the provider refuses connections', async () => {
    const closed = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
    const url = `http://127.0.0.1:${closed.port}/jwks`
    closed.stop(true)
    await expect(verifierFor(url)(await signToken(rsaKey, claims()))).rejects.toBeInstanceOf(KeysUnavailable)
  })

  test('an unknown kid in a set that was fetched is the token’s fault: TokenRejected', async () => {
    answer = () => Response.json({ keys: [rsaKey.publicJwk] })
    const verify = verifierFor(`http://127.0.0.1:${provider.port}/jwks`)
    const stranger = await generateSigningKey('RS256', 'stranger')
    await expect(verify(await signToken(stranger, claims()))).rejects.toEqual(
      new TokenRejected('the token is signed with an unknown key', 'token_unknown_key'),
    )
  })
})
