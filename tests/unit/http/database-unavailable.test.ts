import { expect, test } from 'bun:test'
import { DatabaseUnavailableError } from '../../../src/db/unavailable'
import { inProcessApi } from '../../support/http'

// A database that cannot be reached is an outage, not a bug: 503 with Retry-After, which clients and load
// balancers retry, instead of the 500 any unknown error gets.
const api = inProcessApi((app) =>
  app
    .get('/v1/down', () => {
      throw new DatabaseUnavailableError('PostgreSQL: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:5432', 2)
    })
    .get('/v1/wrapped', () => {
      throw new Error('wrapped by a library', { cause: new DatabaseUnavailableError('ECONNRESET') })
    }),
)

test('DatabaseUnavailableError answers 503 service-unavailable with Retry-After, and is logged with its reason', async () => {
  const response = await api.handle(new Request('http://localhost/v1/down'))
  expect(response.status).toBe(503)
  expect(response.headers.get('retry-after')).toBe('2')
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const problem = (await response.json()) as Record<string, unknown>
  expect(problem).toMatchObject({ type: '/problems/service-unavailable', status: 503 })
  // The reason (hosts, ports) is for on-call, not for clients.
  expect(JSON.stringify(problem)).not.toContain('ECONNREFUSED')
  const warning = api.log.lines.find((line) => line.msg === 'database unavailable')
  expect(warning).toMatchObject({
    level: 'warn',
    path: '/v1/down',
    reason: expect.stringContaining('ECONNREFUSED'),
  })
})

test('also when another error carries it as its cause', async () => {
  const response = await api.handle(new Request('http://localhost/v1/wrapped'))
  expect(response.status).toBe(503)
  expect(response.headers.get('retry-after')).toBe('1')
})
