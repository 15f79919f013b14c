import { beforeAll, describe, expect, test } from 'bun:test'
import { basename } from 'node:path'
import {
  badFixtures,
  bundleName,
  bundles,
  type Manifest,
  only,
  overlays,
  render,
  renderAll,
  strictFieldErrors,
  validateModel,
} from '../../support/kustomize'
import { policies } from '../../support/kustomize-policies'

// Every overlay and scenario under kustomize/ is rendered with `kubectl kustomize`, checked against the
// schemas (unknown fields refused) and against the bundle's policies. The last block breaks a rendered
// bundle on purpose, one rule at a time, to show each policy can fail.

beforeAll(() => renderAll([...bundles, ...badFixtures]))

const isProduction = (dir: string) => bundleName(dir) === 'kustomize/overlays/prod'
const options = (dir: string) => ({ production: isProduction(dir) })

test('there are overlays dev, staging and prod and at least three scenarios', () => {
  expect(overlays.map((dir) => basename(dir))).toEqual(['dev', 'prod', 'staging'])
  expect(bundles.length).toBeGreaterThanOrEqual(6)
})

describe.each(bundles.map((dir) => [bundleName(dir), dir]))('%s', (_name, dir) => {
  test('builds with kubectl kustomize', () => {
    expect(render(dir).length).toBeGreaterThan(0)
  })

  test("every object passes its schema's validate()", async () => {
    for (const object of render(dir)) await validateModel(object)
  })

  for (const [policy, check] of Object.entries(policies)) {
    test(`policy: ${policy}`, () => {
      expect(check(render(dir), options(dir))).toEqual([])
    })
  }
})

// One compiler run (a few seconds) checks every bundle and, to show the check can fail, a copy of dev with
// a misspelt field.
let strictErrors: string[] | undefined
function strictCheck(): string[] {
  if (!strictErrors) {
    const misspelt = structuredClone(render(overlays.find((d) => d.endsWith('/dev')) as string))
    only(misspelt, 'Deployment', 'ledgerd').spec.template.spec.containers[0].securityContext.runAsNonRooot =
      true
    const groups = Object.fromEntries(bundles.map((dir) => [bundleName(dir), render(dir)]))
    strictErrors = strictFieldErrors({ ...groups, misspelt })
  }
  return strictErrors
}

test('no field of any object in any bundle is unknown to its schema', () => {
  expect(strictCheck().filter((error) => !error.startsWith('misspelt:'))).toEqual([])
}, 30_000)

describe('the rule: more than one replica needs PostgreSQL', () => {
  test.each(badFixtures.map((dir) => [bundleName(dir), dir]))('%s is refused', (_name, dir) => {
    const problems = policies.storageRule(render(dir))
    expect(problems.join('\n')).toContain('add the postgres component')
  })
})

describe('each policy can fail', () => {
  const dev = () => structuredClone(render(bundles.find((d) => d.endsWith('overlays/dev')) as string))
  const prod = () => structuredClone(render(bundles.find((d) => d.endsWith('overlays/prod')) as string))
  const container = (objects: Manifest[]) =>
    only(objects, 'Deployment', 'ledgerd').spec.template.spec.containers[0]
  const pod = (objects: Manifest[]) => only(objects, 'Deployment', 'ledgerd').spec.template.spec

  test('with an API token mounted for a ServiceAccount that may do more than read pods', () => {
    const refused = ['Deployment ledgerd-prometheus: automountServiceAccountToken is not false']
    expect(policies.podSecurity(prod())).toEqual([])
    const writes = prod()
    only(writes, 'Role', 'ledgerd-prometheus').rules[0].verbs.push('create')
    expect(policies.podSecurity(writes)).toEqual(refused)
    const readsSecrets = prod()
    only(readsSecrets, 'Role', 'ledgerd-prometheus').rules[0].resources.push('secrets')
    expect(policies.podSecurity(readsSecrets)).toEqual(refused)
    const clusterWide = prod()
    clusterWide.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'too-much' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'ledgerd-prometheus', namespace: 'ledgerd-prod' }],
    })
    expect(policies.podSecurity(clusterWide)).toEqual(refused)
    const ledgerdToo = prod()
    pod(ledgerdToo).automountServiceAccountToken = true
    expect(policies.podSecurity(ledgerdToo)).toEqual([
      'Deployment ledgerd: automountServiceAccountToken is not false',
    ])
  })

  test('without runAsNonRoot', () => {
    const objects = dev()
    delete pod(objects).securityContext.runAsNonRoot
    delete container(objects).securityContext.runAsNonRoot
    expect(policies.podSecurity(objects)).toEqual([
      'Deployment ledgerd container ledgerd: runAsNonRoot is not true',
    ])
  })

  test('with an image on :latest, or prod on a tag', () => {
    const objects = dev()
    container(objects).image = 'ghcr.io/OWNER/ledgerd:latest'
    expect(policies.imagePinning(objects, { production: false })).toEqual([
      'Deployment ledgerd: ghcr.io/OWNER/ledgerd:latest uses :latest',
    ])
    const production = prod()
    container(production).image = 'ghcr.io/OWNER/ledgerd:0.1.0'
    expect(policies.imagePinning(production, { production: true })).toHaveLength(1)
  })

  test('without a readiness probe or a memory limit', () => {
    const objects = dev()
    delete container(objects).readinessProbe
    delete container(objects).resources.limits.memory
    expect(policies.containerHygiene(objects)).toHaveLength(2)
  })

  test('with readiness on /healthz and liveness on /readyz', () => {
    const objects = dev()
    container(objects).readinessProbe.httpGet.path = '/healthz'
    container(objects).livenessProbe.httpGet.path = '/readyz'
    expect(policies.containerHygiene(objects)).toEqual([
      'Deployment ledgerd container ledgerd: liveness is not /healthz',
      'Deployment ledgerd container ledgerd: readiness is not /readyz',
    ])
  })

  test('with a Service aimed at a port no container declares', () => {
    const objects = dev()
    only(objects, 'Service').spec.ports[0].targetPort = 'api'
    expect(policies.selectorsAndPorts(objects)).toEqual([
      'Service ledgerd: targetPort api is on no container',
    ])
  })

  test('with a NetworkPolicy that selects other pods', () => {
    const objects = prod()
    const policy = objects.find((o) => o.kind === 'NetworkPolicy') as Manifest
    policy.spec.podSelector.matchLabels['app.kubernetes.io/name'] = 'other'
    expect(policies.selectorsAndPorts(objects).join()).toContain("selects none of ledgerd's pods")
  })

  test('with a budget that blocks every drain, or an autoscaler aimed at nothing', () => {
    const objects = prod()
    only(objects, 'PodDisruptionBudget').spec = {
      ...only(objects, 'PodDisruptionBudget').spec,
      maxUnavailable: undefined,
      minAvailable: 3,
    }
    only(objects, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name = 'ledger'
    expect(policies.budgetsAndScaling(objects)).toHaveLength(2)
  })

  test('with a grace period shorter than the drain, or a setting ledgerd does not have', () => {
    const objects = dev()
    pod(objects).terminationGracePeriodSeconds = 25
    only(objects, 'ConfigMap').data.LEDGERD_LISTEN_PORT = '8080'
    const problems = policies.settingsAndShutdown(objects)
    expect(problems).toHaveLength(3)
    expect(problems[0]).toMatch(/^ConfigMap ledgerd-\w+: LEDGERD_LISTEN_PORT is no ledgerd setting$/)
    expect(problems.slice(1)).toEqual([
      'Deployment ledgerd: LEDGERD_LISTEN_PORT is no ledgerd setting',
      'Deployment ledgerd: terminationGracePeriodSeconds 25s does not cover 25s of drain',
    ])
  })

  test('with the drain lengthened by the ConfigMap alone', () => {
    const objects = dev()
    only(objects, 'ConfigMap').data.LEDGERD_SHUTDOWN_TIMEOUT = '60s'
    expect(policies.settingsAndShutdown(objects)).toHaveLength(1)
  })

  test('with a database URL written into the ConfigMap', () => {
    const objects = dev()
    only(objects, 'ConfigMap').data.LEDGERD_DATABASE_URL = 'postgres://u:p@db:5432/ledgerd'
    expect(policies.noSecretValues(objects)).toHaveLength(1)
  })

  test('with an unknown field', () => {
    const errors = strictCheck().filter((error) => error.startsWith('misspelt:'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('runAsNonRooot')
  }, 30_000)
})
