import { join } from 'node:path'
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'

export const dashboardsDir = join(import.meta.dir, '..')
const repoRoot = join(dashboardsDir, '..')

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

/**
 * The committed form of a dashboard: sorted keys, laid out by the repository's own formatter (Biome, with
 * biome.json's settings), so that the JSON reads like every other file and `biome check` agrees with it.
 */
export function renderDashboard(built: dashboard.Dashboard): string {
  const json = `${JSON.stringify(sortKeys(built), null, 2)}\n`
  // A path Biome formats (grafana-dashboards/ itself may be excluded from checks); only its extension matters.
  const result = Bun.spawnSync(
    [join(repoRoot, 'node_modules/.bin/biome'), 'format', '--stdin-file-path=dashboard.json'],
    {
      cwd: repoRoot,
      stdin: new TextEncoder().encode(json),
      stdout: 'pipe',
      stderr: 'pipe',
    },
  )
  if (result.exitCode !== 0) throw new Error(`biome format failed: ${result.stderr.toString()}`)
  return result.stdout.toString()
}

export function dashboardPath(uid: string): string {
  return join(dashboardsDir, `${uid}.json`)
}
