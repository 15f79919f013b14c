import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { dashboardsDir } from '../../../grafana-dashboards/src/render'

// biome-ignore lint/suspicious/noExplicitAny: the committed JSON is untyped until the schema test checks it
export type DashboardJson = Record<string, any>

export interface CommittedDashboard {
  file: string
  text: string
  json: DashboardJson
}

/** Every `grafana-dashboards/*.json` as committed: what Grafana is given. */
export function committedDashboards(): CommittedDashboard[] {
  return readdirSync(dashboardsDir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const text = readFileSync(join(dashboardsDir, name), 'utf8')
      return { file: name, text, json: JSON.parse(text) as DashboardJson }
    })
}

/** The panels that show data: every panel but the rows that only group them. */
export function dataPanels(board: DashboardJson): DashboardJson[] {
  return (board.panels ?? []).filter((panel: DashboardJson) => panel.type !== 'row')
}
