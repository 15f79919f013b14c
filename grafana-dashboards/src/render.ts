import { join } from 'node:path'
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'

export const dashboardsDir = join(import.meta.dir, '..')

/** Objects' keys sorted, so the JSON does not change with the order the SDK happens to set them in. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort())
      sorted[key] = sortKeys((value as Record<string, unknown>)[key])
    return sorted
  }
  return value
}

/** The committed form of a dashboard: two-space indents, sorted keys, a trailing newline. */
export function renderDashboard(built: dashboard.Dashboard): string {
  return `${JSON.stringify(sortKeys(built), null, 2)}\n`
}

export function dashboardPath(uid: string): string {
  return join(dashboardsDir, `${uid}.json`)
}
