import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { uids } from '../../../grafana-dashboards/src/frame'
import { dashboardsDir } from '../../../grafana-dashboards/src/render'
import { committedDashboards, type DashboardJson } from './committed'

// A Component cannot be built alone: a throwaway Kustomization pulls it in, as an overlay would.
const scratch = mkdtempSync(join(tmpdir(), 'ledgerd-dashboards-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function renderComponent(): DashboardJson[] {
  writeFileSync(
    join(scratch, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'namespace: ledgerd-test',
      'components:',
      // kustomize takes only relative paths to components.
      `  - ${relative(scratch, dashboardsDir)}`,
    ].join('\n'),
  )
  const result = Bun.spawnSync(['kubectl', 'kustomize', scratch], { stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0) throw new Error(`kubectl kustomize failed: ${result.stderr.toString()}`)
  return Bun.YAML.parse(result.stdout.toString()) as DashboardJson[]
}

describe('grafana-dashboards/kustomization.yaml, the dashboards as ConfigMaps', () => {
  const rendered = renderComponent()
  const committed = committedDashboards()

  test('renders one ConfigMap per dashboard, named ledgerd-dashboard-<name>', () => {
    expect(rendered.every((object) => object.kind === 'ConfigMap')).toBe(true)
    const expected = Object.values(uids).map((uid) => uid.replace(/^ledgerd-/, 'ledgerd-dashboard-'))
    expect(rendered.map((object) => object.metadata.name).sort()).toEqual(expected.sort())
  })

  test("labelled for kube-prometheus-stack's Grafana sidecar and as part of ledgerd", () => {
    for (const configMap of rendered) {
      expect(configMap.metadata.labels).toEqual({
        grafana_dashboard: '1',
        'app.kubernetes.io/part-of': 'ledgerd',
      })
    }
  })

  test('each holds its committed JSON unchanged, under one key named after the file', () => {
    for (const { file, text } of committed) {
      const configMap = rendered.find((object) => object.data?.[file] !== undefined)
      expect(Object.keys(configMap?.data ?? {})).toEqual([file])
      expect(configMap?.data[file] === text).toBe(true)
    }
  })
})
