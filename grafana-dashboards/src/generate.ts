// Writes every dashboard to grafana-dashboards/<uid>.json: `bun run dashboards`.
import { buildDashboards } from './dashboards'
import { dashboardPath, renderDashboard } from './render'

for (const built of buildDashboards()) {
  if (!built.uid) throw new Error(`dashboard "${built.title}" has no uid`)
  const path = dashboardPath(built.uid)
  await Bun.write(path, renderDashboard(built))
  console.log(`wrote ${path}`)
}
