import { describe, expect, test } from 'bun:test'
import { t } from 'elysia'
import { HttpProblem } from '../../../src/http/problem'
import { clientAddressOf } from '../../../src/http/request-context'
import { inProcessApi, jsonPost } from '../../support/http'

const api = inProcessApi((app) =>
  app
    .post('/v1/things', ({ body }) => ({ received: body }), {
      body: t.Object({
        amount: t.Integer({ minimum: 1 }),
        owner: t.Object({ email: t.String({ format: 'email' }) }),
      }),
    })
    .get('/v1/things/:id', ({ params }) => {
      if (params.id === 'missing') throw new HttpProblem('not-found', 'No thing with that id.')
      return { id: params.id }
    })
    .get('/v1/explode', () => {
      throw new Error('SQLITE_ERROR: no such column: password_hash in SELECT * FROM users')
    }),
)

const problemOf = async (response: Response) => {
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  return (await response.json()) as Record<string, unknown>
}

describe('errors are RFC 9457 problem details', () => {
  test('validation errors answer 422 and name each invalid field once', async () => {
    const response = await api.handle(jsonPost('/v1/things', { amount: 1.5, owner: { email: 'nope' } }))
    expect(response.status).toBe(422)
    const problem = await problemOf(response)
    expect(problem.type).toBe('/problems/validation-failed')
    expect(problem.errors).toEqual([
      { field: 'amount', in: 'body', message: expect.any(String) },
      { field: 'owner.email', in: 'body', message: expect.any(String) },
    ])
    expect(problem.detail).toContain('amount')
  })

  test('a missing field is named', async () => {
    const problem = await problemOf(await api.handle(jsonPost('/v1/things', { owner: { email: 'a@b.co' } })))
    expect(problem.errors).toEqual([{ field: 'amount', in: 'body', message: expect.any(String) }])
  })

  test('malformed JSON answers 400', async () => {
    const response = await api.handle(jsonPost('/v1/things', '{"amount": 1,'))
    expect(response.status).toBe(400)
    expect((await problemOf(response)).type).toBe('/problems/malformed-body')
  })

  test('an empty body answers 400, not a validation error about every field', async () => {
    const response = await api.handle(jsonPost('/v1/things', ''))
    expect(response.status).toBe(400)
  })

  test('a body that is not JSON answers 415', async () => {
    const request = new Request('http://localhost/v1/things', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=1',
    })
    expect((await api.handle(request)).status).toBe(415)
  })

  test('+json media types are JSON', async () => {
    const request = jsonPost(
      '/v1/things',
      { amount: 2, owner: { email: 'a@b.co' } },
      { 'content-type': 'application/merge-patch+json' },
    )
    expect((await api.handle(request)).status).toBe(200)
  })

  test('a declared body over the limit answers 413 without reading the body', async () => {
    let pulled = false
    // highWaterMark 0: the stream is pulled only when someone reads it.
    const body = new ReadableStream(
      {
        pull() {
          pulled = true
          throw new Error('the body was read')
        },
      },
      { highWaterMark: 0 },
    )
    const request = new Request('http://localhost/v1/things', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '5000' },
      body,
    })
    const response = await api.handle(request)
    expect(response.status).toBe(413)
    expect((await problemOf(response)).limit).toBe(1024)
    expect(pulled).toBe(false)
  })

  test('a chunked body over the limit answers 413 too', async () => {
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(500)))
        controller.close()
      },
    })
    const request = new Request('http://localhost/v1/things', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunks,
    })
    expect(request.headers.get('content-length')).toBeNull()
    expect((await api.handle(request)).status).toBe(413)
  })

  test('unknown routes answer 404 problem', async () => {
    const response = await api.handle(new Request('http://localhost/v1/nothing-here'))
    expect(response.status).toBe(404)
    expect((await problemOf(response)).instance).toBe('/v1/nothing-here')
  })

  test('a thrown HttpProblem becomes its problem response', async () => {
    const response = await api.handle(new Request('http://localhost/v1/things/missing'))
    expect(response.status).toBe(404)
    expect((await problemOf(response)).detail).toBe('No thing with that id.')
  })

  test('an unexpected error answers a bare 500 that leaks nothing, and is logged with its stack', async () => {
    const response = await api.handle(new Request('http://localhost/v1/explode'))
    expect(response.status).toBe(500)
    const text = await response.clone().text()
    expect(text).not.toMatch(/SQLITE|password|SELECT|at \//)
    expect((await problemOf(response)).title).toBe('Internal server error')
    const logged = api.log.lines.find((l) => l.msg === 'unhandled error') as { error: { stack: string } }
    expect(logged.error.stack).toContain('no such column')
  })
})

describe('request ids', () => {
  test('a safe caller-supplied X-Request-Id is echoed and put in the problem body', async () => {
    const response = await api.handle(
      new Request('http://localhost/nope', { headers: { 'x-request-id': 'abc-123' } }),
    )
    expect(response.headers.get('x-request-id')).toBe('abc-123')
    expect(((await response.json()) as { requestId: string }).requestId).toBe('abc-123')
  })

  test('an unsafe one is replaced by a generated id', async () => {
    const response = await api.handle(
      new Request('http://localhost/v1/things/1', { headers: { 'x-request-id': 'evil\tvalue{}' } }),
    )
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('successful responses carry one too', async () => {
    const response = await api.handle(new Request('http://localhost/v1/things/7'))
    expect(response.status).toBe(200)
    expect(response.headers.get('x-request-id')).toBeTruthy()
  })
})

describe('access log and metrics', () => {
  test('one access-log line per request, with the route template, never the query string', async () => {
    const before = api.log.lines.length
    await api.handle(
      new Request('http://localhost/v1/things/42?token=secret', { headers: { 'x-request-id': 'log-1' } }),
    )
    const lines = api.log.lines.slice(before).filter((l) => l.msg === 'request')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      requestId: 'log-1',
      method: 'GET',
      path: '/v1/things/42',
      route: '/v1/things/:id',
      status: 200,
    })
    expect(JSON.stringify(lines[0])).not.toContain('secret')
  })

  test('latency is labelled by route template and final status; unmatched paths share one label', async () => {
    await api.handle(new Request('http://localhost/v1/things/1'))
    await api.handle(new Request('http://localhost/v1/things/2'))
    await api.handle(new Request('http://localhost/random/probe/1'))
    await api.handle(jsonPost('/v1/things', { amount: 0 }))
    const text = await api.metrics.registry.metrics()
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/v1\/things\/:id",status="200"\} [2-9]/,
    )
    expect(text).toContain('route="unmatched",status="404"')
    expect(text).toContain('route="/v1/things",status="422"')
    expect(text).not.toContain('/v1/things/1"')
    expect(text).not.toContain('random/probe')
  })
})

describe('client address', () => {
  const withForwardedFor = (value: string) =>
    new Request('http://localhost/', { headers: { 'x-forwarded-for': value } })

  test('with no trusted proxies, X-Forwarded-For is ignored: anyone can send it', () => {
    expect(clientAddressOf(withForwardedFor('6.6.6.6'), '10.0.0.9', 0)).toBe('10.0.0.9')
  })

  test('with one trusted proxy, the entry it appended (the last) is the client', () => {
    expect(clientAddressOf(withForwardedFor('6.6.6.6, 203.0.113.7'), '10.0.0.9', 1)).toBe('203.0.113.7')
  })

  test('with two, the second from the end; a spoofed prefix is never chosen', () => {
    expect(clientAddressOf(withForwardedFor('6.6.6.6, 203.0.113.7, 10.0.0.3'), '10.0.0.9', 2)).toBe(
      '203.0.113.7',
    )
  })

  test('a missing or short header falls back to the peer', () => {
    expect(clientAddressOf(new Request('http://localhost/'), '10.0.0.9', 1)).toBe('10.0.0.9')
    expect(clientAddressOf(withForwardedFor('203.0.113.7'), '10.0.0.9', 2)).toBe('10.0.0.9')
  })
})
