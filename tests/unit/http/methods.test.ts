import { afterAll, expect, test } from 'bun:test'
import { AllowedMethods } from '../../../src/http/methods'
import { inProcessLedgerd } from '../../support/app'

const ledgerd = await inProcessLedgerd()
const { app } = ledgerd
afterAll(() => ledgerd.dispose())

const routes = app.routes as unknown as { method: string; path: string }[]
const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
/** A concrete path for a route template: each parameter a plausible value. */
const concrete = (template: string) => template.replace(/:[^/]+/g, 'x1').replace(/\*$/, 'x1')

test('AllowedMethods matches templates segment by segment', () => {
  const index = new AllowedMethods()
  index.load([
    { method: 'GET', path: '/v1/accounts/:id' },
    { method: 'POST', path: '/v1/accounts/:id/deposits' },
    { method: 'DELETE', path: '/v1/accounts/:id' },
  ])
  expect(index.allowFor('/v1/accounts/abc')).toEqual({
    allow: 'DELETE, GET, HEAD, OPTIONS',
    route: '/v1/accounts/:id',
  })
  expect(index.allowFor('/v1/accounts/abc/deposits')?.allow).toBe('OPTIONS, POST')
  expect(index.allowFor('/v1/accounts/a/b')).toBeUndefined()
  expect(index.allowFor('/v1/accounts/')).toBeUndefined()
})

test('every route: OPTIONS answers 204 with Allow, every method it lacks 405 with the same Allow', async () => {
  const paths = [...new Set(routes.map((route) => route.path))]
  expect(paths.length).toBeGreaterThan(15)
  for (const template of paths) {
    const path = concrete(template)
    const options = await ledgerd.fetch(new Request(`http://localhost${path}`, { method: 'OPTIONS' }))
    expect({ template, status: options.status }).toEqual({ template, status: 204 })
    const allow = (options.headers.get('allow') ?? '').split(', ')
    for (const route of routes.filter((r) => r.path === template)) expect(allow).toContain(route.method)
    for (const method of methods.filter((m) => !allow.includes(m))) {
      const response = await ledgerd.fetch(new Request(`http://localhost${path}`, { method }))
      expect({ template, method, status: response.status }).toEqual({ template, method, status: 405 })
      expect(response.headers.get('allow')).toBe(allow.join(', '))
    }
  }
})
