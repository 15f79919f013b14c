import { describe, expect, test } from 'bun:test'
import { instrument } from '../../../src/http/handler'
import { HttpProblem } from '../../../src/http/problem'
import { createLogger } from '../../../src/observability/logger'
import { createMetrics } from '../../../src/observability/metrics'

describe('the access log', () => {
  test('escapes whatever a client put in the fields it logs', async () => {
    const lines: Record<string, unknown>[] = []
    const logger = createLogger('info', (line) => lines.push(JSON.parse(line)))
    const handle = instrument(() => new Response('ok'), {
      logger,
      metrics: createMetrics(),
      bodyLimitBytes: 1024,
      forwardedForHops: 1,
    })
    for (const forwarded of ['203.0.113.7', 'a"b', 'back\\slash', 'tab\there', 'caf\u00e9', '"}{"x":"']) {
      const request = new Request('http://localhost/a%22b/c', { headers: { 'x-forwarded-for': forwarded } })
      await handle(request)
      expect(lines.at(-1)).toMatchObject({ msg: 'request', path: '/a%22b/c', remoteAddr: forwarded })
    }
  })
})

describe('traces', () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c'
  const traceparent = `00-${traceId}-b7ad6b7169203331-01`

  const wrapped = () => {
    const lines: Record<string, unknown>[] = []
    const logger = createLogger('info', (line) => lines.push(JSON.parse(line)))
    const metrics = createMetrics()
    const handle = instrument(
      async () => {
        await Bun.sleep(1)
        // A service logging deep inside the request, never handed its trace.
        logger.warn('store slow', { operation: 'x' })
        return new Response('ok')
      },
      { logger, metrics, bodyLimitBytes: 1024 },
    )
    return { lines, metrics, handle }
  }

  test("the caller's trace id is in the access log, in every line logged during the request, and in traceparent", async () => {
    const { lines, handle } = wrapped()
    const response = await handle(new Request('http://localhost/x', { headers: { traceparent } }))
    expect(lines.map((line) => [line.msg, line.trace_id])).toEqual([
      ['store slow', traceId],
      ['request', traceId],
    ])
    expect(response.headers.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('without trace headers each request gets its own trace; lines outside a request carry none', async () => {
    const { lines, handle } = wrapped()
    await Promise.all([handle(new Request('http://localhost/a')), handle(new Request('http://localhost/b'))])
    const [a, b] = [lines.filter((l) => l.path === '/a')[0], lines.filter((l) => l.path === '/b')[0]]
    expect(a?.trace_id).toMatch(/^[0-9a-f]{32}$/)
    expect(b?.trace_id).not.toBe(a?.trace_id)
    const warnings = lines.filter((l) => l.msg === 'store slow').map((l) => l.trace_id)
    expect(warnings.sort()).toEqual([a?.trace_id, b?.trace_id].sort())
    const outside: Record<string, unknown>[] = []
    createLogger('info', (line) => outside.push(JSON.parse(line))).info('idle')
    expect(outside[0]).not.toHaveProperty('trace_id')
  })

  test('the trace id becomes the exemplar of the bucket the request landed in', async () => {
    const { metrics, handle } = wrapped()
    await handle(new Request('http://localhost/x', { headers: { traceparent } }))
    const { values } = await metrics.httpRequestDuration.get()
    const withExemplar = values.filter((value) => value.exemplar !== undefined)
    expect(withExemplar).toHaveLength(1)
    expect(withExemplar[0]?.exemplar?.labelSet).toEqual({ trace_id: traceId })
  })
})

describe('load shedding', () => {
  test('a shed request is answered before the app sees it or its body is read: 503 problem+json, counted under its route', async () => {
    const lines: Record<string, unknown>[] = []
    const logger = createLogger('info', (line) => lines.push(JSON.parse(line)))
    let reachedApp = 0
    const busy = new HttpProblem('service-unavailable', 'busy', {}, { 'retry-after': '1' })
    const handle = instrument(
      () => {
        reachedApp++
        return new Response('served')
      },
      {
        logger,
        metrics: createMetrics(),
        bodyLimitBytes: 1024,
        shed: (method, path) =>
          method === 'POST' && path === '/shed' ? { route: '/shed', problem: busy } : undefined,
      },
    )
    const body = new Request('http://localhost/shed', { method: 'POST', body: '{"never":"read"}' })
    const shed = await handle(body)
    expect(shed.status).toBe(503)
    expect(shed.headers.get('retry-after')).toBe('1')
    expect(shed.headers.get('content-type')).toStartWith('application/problem+json')
    expect(shed.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(await shed.json()).toMatchObject({
      type: '/problems/service-unavailable',
      status: 503,
      instance: '/shed',
    })
    expect(body.bodyUsed).toBe(false)
    expect(reachedApp).toBe(0)
    expect(lines.at(-1)).toMatchObject({ msg: 'request', path: '/shed', route: '/shed', status: 503 })
    // Anything else goes through.
    expect(await (await handle(new Request('http://localhost/shed'))).text()).toBe('served')
    expect(reachedApp).toBe(1)
  })
})
