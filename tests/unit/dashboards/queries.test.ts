import { describe, expect, test } from 'bun:test'
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { listPanelQueries, substituteVariables } from '../../../grafana-dashboards/src/queries'
import { committedDashboards, dataPanels } from './committed'

describe('listPanelQueries, what the end-to-end test runs against Prometheus', () => {
  const committed = committedDashboards()
  const queries = listPanelQueries()

  test('lists every query of every data panel of every dashboard, once', () => {
    const expected = committed.flatMap(({ json }) =>
      dataPanels(json).flatMap((panel) =>
        (panel.targets ?? []).map((t: { refId: string }) => `${json.uid} / ${panel.title} / ${t.refId}`),
      ),
    )
    expect(queries.map((q) => `${q.dashboard} / ${q.panel} / ${q.refId}`).sort()).toEqual(expected.sort())
    expect(new Set(expected).size).toBe(expected.length)
  })

  test('reads the committed JSON the same way as the built dashboards', () => {
    const fromJson = listPanelQueries(committed.map((c) => c.json as dashboard.Dashboard))
    expect(fromJson.map((q) => q.dashboard).sort()).toEqual(queries.map((q) => q.dashboard).sort())
    expect(new Set(fromJson.map((q) => JSON.stringify(q)))).toEqual(
      new Set(queries.map((q) => JSON.stringify(q))),
    )
  })

  test('every query has an expression and stat/table ones are instant', () => {
    for (const query of queries) expect(query.expr.trim()).not.toBe('')
    expect(queries.some((q) => q.instant)).toBe(true)
    expect(queries.some((q) => !q.instant)).toBe(true)
  })

  test('marks the queries only one storage answers', () => {
    const marked = (storage: string) =>
      new Set(queries.filter((q) => q.storage === storage).map((q) => q.panel))
    expect(marked('postgres')).toEqual(
      new Set([
        'Database pool in use (PostgreSQL)',
        'Pool connections (PostgreSQL)',
        'Waiting for a connection (PostgreSQL)',
      ]),
    )
    expect(marked('sqlite')).toEqual(new Set(['SQLite data volume free', 'SQLite data volume free share']))
  })

  test('substituteVariables leaves no template variable in any query', () => {
    const values = { namespace: 'ledgerd-test', pod: 'ledgerd-0|ledgerd-1', rateInterval: '1m' }
    // label_replace's "${1}" is a regex group, not a variable: Grafana leaves names it does not know alone.
    const variable = /\$(namespace|pod|__\w+)\b|\$\{(namespace|pod|datasource)/
    for (const query of queries) expect(substituteVariables(query.expr, values)).not.toMatch(variable)
    expect(
      substituteVariables('rate(x{namespace="$namespace", pod=~"$pod"}[$__rate_interval])', values),
    ).toBe('rate(x{namespace="ledgerd-test", pod=~"ledgerd-0|ledgerd-1"}[1m])')
  })
})
