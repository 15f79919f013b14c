import { describe, expect, test } from 'bun:test'
import { createExposition, wantsOpenMetrics } from '../../../src/observability/exposition'
import { createMetrics } from '../../../src/observability/metrics'

// What Prometheus 2.42 sends with --enable-feature=exemplar-storage (and by default since 2.5).
const prometheusAccept =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

describe('content negotiation on /metrics', () => {
  test.each([
    [prometheusAccept, true],
    ['application/openmetrics-text; version=1.0.0', true],
    ['text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5', false],
    ['text/plain', false],
    ['*/*', false],
    ['application/openmetrics-text;q=0', false],
  ])('Accept %p: OpenMetrics %p', (accept, openMetrics) => {
    expect(wantsOpenMetrics(accept)).toBe(openMetrics)
  })

  test('no Accept header: the classic format', () => {
    expect(wantsOpenMetrics(null)).toBe(false)
  })
})

describe('the exposition', () => {
  const observed = () => {
    const metrics = createMetrics()
    const trace = '0af7651916cd43dd8448eb211c80319c'
    metrics.httpRequestDuration.series('GET', '/v1/accounts/:id', 200).observe(0.003, trace)
    metrics.ledger.transactions.inc({ kind: 'deposit', outcome: 'committed', currency: 'EUR' })
    return { metrics, expose: createExposition(metrics.registry), trace }
  }

  test('OpenMetrics carries the exemplar and ends with # EOF; the classic text has no exemplar', async () => {
    const { expose, trace } = observed()
    const open = await expose(prometheusAccept)
    expect(open.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8')
    expect(open.body).toMatch(
      new RegExp(
        `^http_request_duration_seconds_bucket\\{le="0.005",method="GET",route="/v1/accounts/:id",status="200"\\} 1 # \\{trace_id="${trace}"\\} 0.003 \\d+(\\.\\d+)?$`,
        'm',
      ),
    )
    expect(open.body.endsWith('# EOF\n')).toBe(true)
    expect(open.body).toContain('# TYPE ledger_transactions counter')
    const classic = await expose(null)
    expect(classic.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(classic.body).not.toContain('trace_id')
    expect(classic.body).not.toContain('# EOF')
  })

  test('counters keep their _total name in the classic text after an OpenMetrics scrape, also concurrently', async () => {
    const { expose } = observed()
    const [, classic, , again] = await Promise.all([
      expose(prometheusAccept),
      expose(null),
      expose(prometheusAccept),
      expose('text/plain'),
    ])
    for (const text of [classic?.body, again?.body]) {
      expect(text).toContain('# TYPE ledger_transactions_total counter')
      expect(text).toContain('ledger_transactions_total{kind="deposit",outcome="committed",currency="EUR"} 1')
      expect(text).toContain('# TYPE ledgerd_auth_failures_total counter')
    }
  })
})
