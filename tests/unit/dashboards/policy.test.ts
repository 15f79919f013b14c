import { describe, expect, test } from 'bun:test'
import { runbooksUrl, uids } from '../../../grafana-dashboards/src/frame'
import { committedDashboards, type DashboardJson, dataPanels } from './committed'
import { callArguments, selectors } from './promql'

// What every ledgerd dashboard must be, checked on the committed JSON (what Grafana loads).

const committed = committedDashboards()
// Grafana's reference to the datasource variable (spelled out of pieces: it is not a template placeholder).
const onDatasourceVariable = ['$', '{datasource}'].join('')
const ids = (board: DashboardJson) => `${board.uid}`
const targets = (panel: DashboardJson): DashboardJson[] => panel.targets ?? []
const variable = (board: DashboardJson, name: string) =>
  (board.templating?.list ?? []).find((v: DashboardJson) => v.name === name)

/** Series without ledgerd's pods: recording rules (by namespace), CloudNativePG's instances and its plugin. */
const withoutLedgerdPods = (metric: string) => /^(namespace:|cnpg_|barman_cloud_)/.test(metric)

describe('the dashboards policy', () => {
  for (const { file, json: board } of committed) {
    describe(file, () => {
      test('is under 200 KiB (kubectl apply keeps a 256 KiB copy in an annotation)', () => {
        const text = committed.find((c) => c.json === board)?.text ?? ''
        expect(Buffer.byteLength(text)).toBeLessThan(200 * 1024)
      })

      test('has the datasource variable, defaulting to the provisioned Prometheus', () => {
        const datasource = variable(board, 'datasource')
        expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus' })
        expect(datasource.current.value).toBe('prometheus')
      })

      test("has the namespace and pod variables, listing ledgerd's own", () => {
        expect(variable(board, 'namespace')).toMatchObject({
          type: 'query',
          query: 'label_values(ledgerd_build_info, namespace)',
          datasource: { type: 'prometheus', uid: onDatasourceVariable },
        })
        expect(variable(board, 'pod')).toMatchObject({
          type: 'query',
          query: 'label_values(ledgerd_build_info{namespace="$namespace"}, pod)',
          multi: true,
          includeAll: true,
          datasource: { type: 'prometheus', uid: onDatasourceVariable },
        })
      })

      test('every panel has a title, a description, a unit and queries on the datasource variable', () => {
        const problems: string[] = []
        for (const panel of dataPanels(board)) {
          const name = `${panel.title ?? `panel ${panel.id}`}`
          if (!panel.title) problems.push(`${name}: no title`)
          if (!panel.description) problems.push(`${name}: no description`)
          if (!panel.fieldConfig?.defaults?.unit) problems.push(`${name}: no unit`)
          if (panel.datasource?.uid !== onDatasourceVariable)
            problems.push(`${name}: datasource is not the variable`)
          if (!targets(panel).some((t) => typeof t.expr === 'string' && t.expr.trim() !== ''))
            problems.push(`${name}: no query`)
          for (const target of targets(panel)) {
            if (!target.expr?.trim()) problems.push(`${name} ${target.refId}: empty query`)
            if (target.datasource?.uid !== onDatasourceVariable)
              problems.push(`${name} ${target.refId}: other datasource`)
          }
        }
        expect(problems).toEqual([])
      })

      test('every rate, irate and increase runs over $__rate_interval', () => {
        const problems: string[] = []
        for (const panel of dataPanels(board))
          for (const target of targets(panel))
            for (const call of callArguments(target.expr, ['rate', 'irate', 'increase']))
              if (!/\[\$__rate_interval\]\s*$/.test(call.args))
                problems.push(`${panel.title} ${target.refId}: ${call.fn}(${call.args})`)
        expect(problems).toEqual([])
      })

      test("every selector names the dashboard's namespace, and ledgerd's pods where the series has them", () => {
        const problems: string[] = []
        for (const panel of dataPanels(board))
          for (const target of targets(panel))
            for (const selector of selectors(target.expr)) {
              const where = `${panel.title} ${target.refId}: ${selector.metric}{${selector.matchers.join(', ')}}`
              const namespace = selector.matchers.filter((m) =>
                /^namespace\s*=~?\s*"\$namespace"$/.test(m.replaceAll(' ', '')),
              )
              if (namespace.length !== 1) problems.push(`${where}: no namespace="$namespace"`)
              if (!withoutLedgerdPods(selector.metric) && !selector.matchers.includes('pod=~"$pod"'))
                problems.push(`${where}: no pod=~"$pod"`)
            }
        expect(problems).toEqual([])
      })

      test('panel ids are unique and no two panels overlap on the grid', () => {
        const panels: DashboardJson[] = board.panels ?? []
        expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length)
        const overlaps: string[] = []
        panels.forEach((a, i) => {
          const g = a.gridPos
          if (g.x < 0 || g.x + g.w > 24) overlaps.push(`${a.title}: outside the 24 columns`)
          for (const b of panels.slice(i + 1)) {
            const h = b.gridPos
            const apart = g.x + g.w <= h.x || h.x + h.w <= g.x || g.y + g.h <= h.y || h.y + h.h <= g.y
            if (!apart) overlaps.push(`${a.title} and ${b.title}`)
          }
        })
        expect(overlaps).toEqual([])
      })
    })
  }

  test('the mesh panels read what ledgerd received, as its own sidecar reports it', () => {
    const mesh = committed.find((c) => c.json.uid === uids.mesh)?.json ?? {}
    const istio = dataPanels(mesh)
      .flatMap((panel) => targets(panel).flatMap((t) => selectors(t.expr)))
      .filter((s) => s.metric.startsWith('istio_'))
    expect(istio.length).toBeGreaterThan(0)
    for (const selector of istio) {
      expect(selector.matchers).toContain('reporter="destination"')
      expect(selector.matchers).toContain('destination_workload="ledgerd"')
    }
  })

  test('the overview links to the five other dashboards and to the runbooks', () => {
    const overview = committed.find((c) => c.json.uid === uids.overview)?.json
    const urls = (overview?.links ?? []).map((link: DashboardJson) => link.url)
    const others = Object.values(uids).filter((uid) => uid !== uids.overview)
    expect(others).toHaveLength(5)
    for (const uid of others) expect(urls).toContain(`/d/${uid}`)
    expect(urls).toContain(runbooksUrl)
    expect(runbooksUrl).toBe('https://github.com/ledgerd/ledgerd/blob/main/NOTES.md#runbooks')
  })

  test('there is one dashboard per uid of the contract', () => {
    expect(committed.map((c) => ids(c.json)).sort()).toEqual(Object.values(uids).sort())
  })
})

describe('the PromQL reading the policies rely on', () => {
  test('finds selectors, bare metrics and the range of each rate', () => {
    const expr =
      'sum by (le) (rate(a_bucket{namespace="$namespace", pod=~"$pod"}[$__rate_interval])) / on (x) b_total ' +
      'or label_replace(c, "class", "$1", "status", "(.)..")'
    expect(selectors(expr)).toEqual([
      { metric: 'a_bucket', matchers: ['namespace="$namespace"', 'pod=~"$pod"'] },
      { metric: 'b_total', matchers: [] },
      { metric: 'c', matchers: [] },
    ])
    expect(
      callArguments('sum(rate(x{a="(b)"}[5m])) + increase(y[$__rate_interval])', ['rate', 'increase']),
    ).toEqual([
      { fn: 'rate', args: 'x{a="(b)"}[5m]' },
      { fn: 'increase', args: 'y[$__rate_interval]' },
    ])
  })
})
