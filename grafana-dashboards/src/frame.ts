import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { datasourceVariable, namespaceVariable, podVariable } from './variables'

export const uids = {
  overview: 'ledgerd-overview',
  ledger: 'ledgerd-ledger',
  slo: 'ledgerd-slo',
  runtime: 'ledgerd-runtime',
  database: 'ledgerd-database',
  mesh: 'ledgerd-mesh',
} as const

export const runbooksUrl = 'https://github.com/ledgerd/ledgerd/blob/main/NOTES.md#runbooks'

/** Every ledgerd dashboard: the same tag, variables, time range and refresh. */
export function ledgerdDashboard(uid: string, title: string, description: string) {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['ledgerd'])
    .timezone('browser')
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .annotations([])
    .variables([datasourceVariable(), namespaceVariable(), podVariable()])
}

/** A link to another ledgerd dashboard, keeping the time range and the variables. */
export function dashboardLink(title: string, uid: string) {
  return new dashboard.DashboardLinkBuilder(title)
    .type(dashboard.DashboardLinkType.Link)
    .url(`/d/${uid}`)
    .icon('dashboard')
    .keepTime(true)
    .includeVars(true)
    .targetBlank(false)
}

/** On every dashboard but the overview: a drop-down of the others (they share the tag). */
export function siblingsLink() {
  return new dashboard.DashboardLinkBuilder('ledgerd')
    .type(dashboard.DashboardLinkType.Dashboards)
    .tags(['ledgerd'])
    .asDropdown(true)
    .keepTime(true)
    .includeVars(true)
}

export function runbooksLink() {
  return new dashboard.DashboardLinkBuilder('Runbooks')
    .type(dashboard.DashboardLinkType.Link)
    .url(runbooksUrl)
    .icon('doc')
    .targetBlank(true)
}

/** Builds the dashboard and numbers its panels in layout order (Grafana needs unique ids). */
export function finish(builder: dashboard.DashboardBuilder): dashboard.Dashboard {
  const built = builder.build()
  // The SDK files links under Grafana 12's controls menu; they belong in plain sight, next to the variables.
  for (const link of built.links ?? []) delete link.placement
  let id = 1
  for (const panel of built.panels ?? []) panel.id = id++
  return built
}
