import { describe, expect, test } from 'bun:test'
import { instrument } from '../../../src/http/handler'
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
