import { describe, expect, test } from 'bun:test'
import { bundleName, bundles, type Manifest, ofKind, only, render } from '../../support/kustomize'

// What the monitoring component must hold together in every bundle that uses it: Grafana mounts exactly
// the dashboards rendered, under the datasource uid they name; Prometheus loads the rule file from where
// its configuration looks and scrapes the port ledgerd's pods announce. tests/e2e/monitoring.test.ts runs
// the same configuration against real processes.

const withMonitoring = bundles.filter((dir) =>
  render(dir).some((o) => o.kind === 'Deployment' && o.metadata.name === 'ledgerd-prometheus'),
)
/** kubectl apply keeps the whole object in an annotation, which may not pass 256 KiB. */
const annotationLimit = 256 * 1024

const configMaps = (objects: Manifest[]) => ofKind(objects, 'ConfigMap')
const dashboardMaps = (objects: Manifest[]) =>
  configMaps(objects).filter((c) => c.metadata.labels?.grafana_dashboard === '1')
const podSpec = (objects: Manifest[], name: string) => only(objects, 'Deployment', name).spec.template.spec
const container = (objects: Manifest[], name: string) => podSpec(objects, name).containers[0]
const volume = (objects: Manifest[], deployment: string, name: string) =>
  podSpec(objects, deployment).volumes.find((v: Manifest) => v.name === name)
const dataOf = (objects: Manifest[], name: string) =>
  only(
    configMaps(objects).filter((c) => c.metadata.name === name || c.metadata.name.startsWith(`${name}-`)),
    'ConfigMap',
  ).data as Record<string, string>

test('the staging and prod overlays and at least two scenarios use the monitoring component', () => {
  const names = withMonitoring.map(bundleName)
  expect(names).toEqual(expect.arrayContaining(['kustomize/overlays/staging', 'kustomize/overlays/prod']))
  expect(names.length).toBeGreaterThanOrEqual(4)
})

describe.each(withMonitoring.map((dir) => [bundleName(dir), dir]))('%s', (_name, dir) => {
  const objects = render(dir)

  test('Grafana mounts every dashboard ConfigMap rendered, and nothing else', () => {
    const projected = volume(objects, 'ledgerd-grafana', 'dashboards').projected.sources.map(
      (source: Manifest) => source.configMap.name,
    )
    expect(projected.sort()).toEqual(
      dashboardMaps(objects)
        .map((c) => c.metadata.name)
        .sort(),
    )
    expect(projected).toHaveLength(6)
  })

  test('every dashboard names the provisioned datasource uid and fits in an apply annotation', () => {
    const provisioned = Bun.YAML.parse(
      dataOf(objects, 'ledgerd-grafana-provisioning')['datasources.yaml'] as string,
    ) as Manifest
    const uids = provisioned.datasources.map((d: Manifest) => d.uid)
    for (const map of dashboardMaps(objects)) {
      expect(JSON.stringify(map).length).toBeLessThan(annotationLimit)
      for (const text of Object.values(map.data as Record<string, string>)) {
        const dashboard = JSON.parse(text)
        const variable = dashboard.templating.list.find((v: Manifest) => v.type === 'datasource')
        expect({ dashboard: dashboard.uid, datasource: variable?.current?.value }).toEqual({
          dashboard: dashboard.uid,
          datasource: uids[0],
        })
      }
    }
  })

  test("Grafana's home dashboard and provider path are in the mounted directory", () => {
    const grafana = container(objects, 'ledgerd-grafana')
    const mountPath = grafana.volumeMounts.find((m: Manifest) => m.name === 'dashboards').mountPath
    const files = dashboardMaps(objects).flatMap((c) => Object.keys(c.data))
    const home = grafana.env.find(
      (e: Manifest) => e.name === 'GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH',
    ).value
    expect(home.startsWith(`${mountPath}/`)).toBe(true)
    expect(files).toContain(home.slice(mountPath.length + 1))
    const provider = Bun.YAML.parse(
      dataOf(objects, 'ledgerd-grafana-provisioning')['dashboards.yaml'] as string,
    ) as Manifest
    expect(provider.providers[0].options.path).toBe(mountPath)
  })

  test("Grafana's admin password comes from a Secret, never a literal", () => {
    const env = container(objects, 'ledgerd-grafana').env as Manifest[]
    const password = env.find((e) => e.name === 'GF_SECURITY_ADMIN_PASSWORD')
    expect(password?.value).toBeUndefined()
    expect(password?.valueFrom?.secretKeyRef).toEqual({
      name: 'ledgerd-grafana-admin',
      key: 'admin-password',
    })
    expect(env.find((e) => e.name === 'GF_AUTH_ANONYMOUS_ENABLED')?.value).toBe('false')
  })

  test('Prometheus loads the rule file from where its configuration looks', () => {
    const config = Bun.YAML.parse(
      dataOf(objects, 'ledgerd-prometheus-config')['prometheus.yml'] as string,
    ) as Manifest
    const mount = container(objects, 'ledgerd-prometheus').volumeMounts.find(
      (m: Manifest) => m.name === 'rules',
    )
    const rules = dataOf(objects, 'ledgerd-prometheus-rules')
    expect(config.rule_files).toEqual([`${mount.mountPath}/*.yaml`])
    expect(Object.keys(rules).every((file) => file.endsWith('.yaml'))).toBe(true)
    expect(Object.values(rules).join('\n')).toContain('alert: LedgerdAvailabilityBurnRateFast')
  })

  test("ledgerd's pods announce the admin port's /metrics to the annotation-driven job", () => {
    const template = only(objects, 'Deployment', 'ledgerd').spec.template
    const admin = template.spec.containers[0].ports.find((p: Manifest) => p.name === 'admin')
    expect(template.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(admin.containerPort),
      'prometheus.io/path': '/metrics',
    })
  })

  test('Prometheus may reach the admin port (and the sidecar agent) through every policy that guards it', () => {
    const fromPrometheus = (rule: Manifest) =>
      (rule.from ?? []).some(
        (peer: Manifest) =>
          peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'ledgerd-prometheus',
      )
    for (const policy of ofKind(objects, 'NetworkPolicy')) {
      const guarded = (policy.spec.ingress ?? []).flatMap((rule: Manifest) =>
        (rule.ports ?? []).map((p: Manifest) => p.port),
      )
      for (const port of [8081, 15020].filter((p) => guarded.includes(p))) {
        const admitted = policy.spec.ingress.some(
          (rule: Manifest) => fromPrometheus(rule) && rule.ports.some((p: Manifest) => p.port === port),
        )
        expect({ policy: policy.metadata.name, port, admitted }).toEqual({
          policy: policy.metadata.name,
          port,
          admitted: true,
        })
      }
    }
  })
})
