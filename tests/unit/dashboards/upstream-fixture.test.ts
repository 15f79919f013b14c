import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { listPanelQueries } from '../../../grafana-dashboards/src/queries'
import { callArguments, selectors } from './promql'

// tests/support/fixtures/upstream-metrics.prom stands in for a CloudNativePG instance and ledgerd's Envoy
// sidecar in the end-to-end test. Here, statically: it has a series for every selector the CNPG and mesh
// panels use, and every series those panels take a rate of is on the counters line the server reads.

const fixture = readFileSync(join(import.meta.dir, '../../support/fixtures/upstream-metrics.prom'), 'utf8')
const counters = new Set((fixture.match(/^# counters: (.*)$/m)?.[1] ?? '').split(' ').filter(Boolean))

interface Series {
  name: string
  labels: Record<string, string>
}

const series: Series[] = fixture
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => {
    const match = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/)
    if (!match) throw new Error(`not a sample: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1] ?? ''] = pair[2] ?? ''
    return { name: match[1] ?? '', labels }
  })

/** Does one series satisfy a matcher like `value="size"` or `response_code!~"5.."`? Variables match anything. */
function satisfies(labels: Record<string, string>, matcher: string): boolean {
  const parsed = matcher.match(/^(\w+)\s*(=~|!~|!=|=)\s*"(.*)"$/)
  if (!parsed) throw new Error(`cannot read matcher ${matcher}`)
  const [, label = '', op, value = ''] = parsed
  if (value.includes('$')) return true
  const actual = labels[label] ?? ''
  const regex = new RegExp(`^(?:${value})$`)
  if (op === '=') return actual === value
  if (op === '!=') return actual !== value
  if (op === '=~') return regex.test(actual)
  return !regex.test(actual)
}

const upstream = listPanelQueries().filter((query) => /\b(cnpg|barman_cloud|istio)_/.test(query.expr))

describe('the upstream metrics fixture', () => {
  test('carries no job, namespace or pod label: the scrape adds them', () => {
    const labelled = series.filter((s) => ['job', 'namespace', 'pod'].some((label) => label in s.labels))
    expect(labelled.map((s) => s.name)).toEqual([])
  })

  test('has CloudNativePG and Istio panels to serve', () => {
    expect(upstream.some((q) => q.expr.includes('cnpg_'))).toBe(true)
    expect(upstream.some((q) => q.expr.includes('istio_'))).toBe(true)
  })

  for (const query of upstream) {
    test(`${query.dashboard} / ${query.panel} / ${query.refId}: every selector matches a series`, () => {
      for (const selector of selectors(query.expr)) {
        const matching = series.filter(
          (s) => s.name === selector.metric && selector.matchers.every((m) => satisfies(s.labels, m)),
        )
        expect(matching.length, `${selector.metric}{${selector.matchers.join(', ')}}`).toBeGreaterThan(0)
      }
    })

    test(`${query.dashboard} / ${query.panel} / ${query.refId}: what it takes a rate of is a counter`, () => {
      for (const call of callArguments(query.expr, ['rate', 'irate', 'increase']))
        for (const selector of selectors(call.args)) expect(counters).toContain(selector.metric)
    })
  }
})
