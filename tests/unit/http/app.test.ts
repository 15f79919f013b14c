import { afterAll, describe, expect, test } from 'bun:test'
import { problemTypes } from '../../../src/http/problem'
import { inProcessLedgerd } from '../../support/app'
import { openApiErrors } from '../../support/openapi'

const ledgerd = await inProcessLedgerd()
afterAll(() => ledgerd.dispose())
const get = (path: string, headers: Record<string, string> = {}) => ledgerd.request('GET', path, { headers })

describe('the public API', () => {
  test('GET /v1/meta says which ledgerd answers', async () => {
    const response = await get('/v1/meta')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      name: 'ledgerd',
      version: 'dev',
      docs: '/docs',
      openapi: '/openapi.json',
    })
  })

  test('GET /v1/meta shows the exact version and commit only with --meta-exact-version', async () => {
    const exact = await inProcessLedgerd({ 'meta-exact-version': 'true' })
    try {
      expect(await (await exact.request('GET', '/v1/meta')).json()).toMatchObject({
        version: 'dev',
        commit: 'unknown',
      })
    } finally {
      exact.dispose()
    }
  })

  test('every problem type is dereferenceable at /problems/{type}', async () => {
    for (const [type, entry] of Object.entries(problemTypes)) {
      const response = await get(`/problems/${type}`)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ type: `/problems/${type}`, ...entry })
    }
    expect((await get('/problems/no-such-type')).status).toBe(404)
  })

  test('/openapi.json is a valid OpenAPI 3.1 document listing the API and not the docs plumbing', async () => {
    const document = (await (await get('/openapi.json')).json()) as { openapi: string; paths: object }
    expect(document.openapi).toStartWith('3.1')
    expect(await openApiErrors(document)).toEqual([])
    expect(Object.keys(document.paths).sort()).toEqual([
      '/.well-known/jwks.json',
      '/.well-known/openid-configuration',
      '/problems/{type}',
      '/v1/accounts',
      '/v1/accounts/{id}',
      '/v1/accounts/{id}/deposits',
      '/v1/accounts/{id}/transactions',
      '/v1/accounts/{id}/withdrawals',
      '/v1/auth/token',
      '/v1/meta',
      '/v1/transactions/{id}',
      '/v1/transactions/{id}/reversal',
      '/v1/transfers',
      '/v1/users',
      '/v1/users/me',
      '/v1/users/me/avatar',
      '/v1/users/{id}',
      '/v1/users/{id}/avatar',
    ])
  })

  test('the OpenAPI validator used above does reject a broken document', async () => {
    expect(
      await openApiErrors({ openapi: '3.1.0', info: { title: 'x' }, paths: { '/a': { get: 5 } } }),
    ).not.toEqual([])
  })

  test('/docs loads its UI script from this server, not a CDN, and without web fonts from elsewhere', async () => {
    const html = await (await get('/docs')).text()
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1])
    expect(scripts).toEqual(['/docs/assets/scalar-api-reference.js'])
    expect(html).not.toMatch(/https?:\/\//)
  })

  test('the UI script is served gzipped to clients that accept it, and cacheable', async () => {
    const plain = await get('/docs/assets/scalar-api-reference.js')
    const gzipped = await get('/docs/assets/scalar-api-reference.js', { 'accept-encoding': 'gzip, br' })
    expect(plain.status).toBe(200)
    expect(gzipped.headers.get('content-encoding')).toBe('gzip')
    expect(gzipped.headers.get('cache-control')).toContain('max-age')
    const plainBytes = new Uint8Array(await plain.arrayBuffer())
    const gzippedBytes = new Uint8Array(await gzipped.arrayBuffer())
    expect(gzippedBytes.length).toBeLessThan(plainBytes.length / 2)
    expect(Bun.gunzipSync(gzippedBytes)).toEqual(plainBytes)
  })
})
