import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { buildDashboards } from './dashboards'

/** One PromQL query of one panel, with Grafana's variables still in it. */
export interface PanelQuery {
  /** The dashboard's uid (`ledgerd-overview`...). */
  dashboard: string
  /** The panel's title. */
  panel: string
  refId: string
  expr: string
  /** Stat and table panels ask for one value at the end of the range, not a range. */
  instant: boolean
  /** Set when only ledgerd on that storage exports the series (the pool: PostgreSQL, the volume: SQLite). */
  storage?: 'postgres' | 'sqlite'
}

function storageOf(expr: string): PanelQuery['storage'] {
  if (expr.includes('ledgerd_db_pool_')) return 'postgres'
  if (expr.includes('ledgerd_data_volume_')) return 'sqlite'
  return undefined
}

interface Target {
  refId?: string
  expr?: string
  instant?: boolean
}

/**
 * Every panel query of every dashboard, in layout order. Takes the built dashboards by default; pass the
 * parsed committed JSON files to check exactly what Grafana is given.
 */
export function listPanelQueries(
  dashboards: readonly dashboard.Dashboard[] = buildDashboards(),
): PanelQuery[] {
  const queries: PanelQuery[] = []
  for (const board of dashboards) {
    for (const panel of board.panels ?? []) {
      if (panel.type === 'row') continue
      for (const target of ('targets' in panel ? (panel.targets ?? []) : []) as Target[]) {
        const expr = target.expr ?? ''
        const storage = storageOf(expr)
        queries.push({
          dashboard: board.uid ?? '',
          panel: panel.title ?? '',
          refId: target.refId ?? '',
          expr,
          instant: target.instant === true,
          ...(storage ? { storage } : {}),
        })
      }
    }
  }
  return queries
}

export interface VariableValues {
  namespace: string
  /** A regular expression (what Grafana puts for a multi-value variable): `ledgerd-0|ledgerd-1`, `.*`. */
  pod: string
  /** What `$__rate_interval` becomes: at least four scrape intervals, `1m` for a 15 s scrape. */
  rateInterval: string
}

/** Replaces the dashboards' template variables the way Grafana would, for running a query elsewhere. */
export function substituteVariables(expr: string, values: VariableValues): string {
  return expr
    .replaceAll('$__rate_interval', values.rateInterval)
    .replaceAll('$namespace', values.namespace)
    .replaceAll('$pod', values.pod)
}
