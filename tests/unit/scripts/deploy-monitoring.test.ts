import { afterAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { kustomizeRoot, type Manifest, render } from '../../support/kustomize'
import { runScript, standIns } from '../../support/stand-ins'

// scripts/deploy-monitoring.sh with a stand-in kubectl: `kustomize` goes to the real kubectl, every other
// call is recorded; `apply -f FILE` keeps a copy of what would have been applied.

const realKubectl = Bun.which('kubectl') as string
const kubectl = standIns({
  kubectl: `if [ "$1" = kustomize ]; then exec ${realKubectl} "$@"; fi
case "$*" in
  config*) echo test-context ;;
  apply*) while [ $# -gt 0 ]; do [ "$1" = -f ] && cp "$2" "$STAND_INS/applied.yaml"; shift; done ;;
  *" get secret "*) [ "\${FAKE_SECRET:-present}" = present ] ;;
  *" rollout "*) [ "\${FAKE_ROLLOUT:-ok}" = ok ] ;;
esac`,
})
afterAll(() => kubectl.remove())

const run = (args: string[], env: Record<string, string> = {}) => {
  kubectl.reset()
  const result = runScript('scripts/deploy-monitoring.sh', args, { env: { PATH: kubectl.path, ...env } })
  // Calls to the cluster only: `kubectl kustomize` renders locally (the real kubectl).
  const calls = kubectl
    .calls()
    .map((call) => call.replace(/^kubectl /, ''))
    .filter((call) => !call.startsWith('kustomize '))
  return { ...result, calls }
}
const parse = (yaml: string) => (Bun.YAML.parse(yaml) as Manifest[]).filter(Boolean)
const names = (objects: Manifest[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`)
const isMonitoring = (o: Manifest) =>
  /^ledgerd-(prometheus|grafana|dashboard-)/.test(o.metadata.name) && o.kind !== 'Namespace'

describe('scripts/deploy-monitoring.sh', () => {
  test.each(['staging', 'prod'])(
    '%s --dry-run prints exactly the monitoring objects of the overlay, as rendered, and calls no cluster',
    (env) => {
      const { code, stdout, calls } = run([env, '--dry-run'])
      expect(code).toBe(0)
      const all = render(join(kustomizeRoot, 'overlays', env))
      expect(parse(stdout)).toEqual(all.filter(isMonitoring))
      expect(names(parse(stdout))).toEqual(
        expect.arrayContaining([
          'Deployment/ledgerd-prometheus',
          'Deployment/ledgerd-grafana',
          'Role/ledgerd-prometheus',
          'RoleBinding/ledgerd-prometheus',
          'NetworkPolicy/ledgerd-prometheus',
          'NetworkPolicy/ledgerd-grafana',
          'ConfigMap/ledgerd-dashboard-overview',
        ]),
      )
      expect(
        names(parse(stdout)).some((name) => name.startsWith('ConfigMap/ledgerd-prometheus-rules-')),
      ).toBe(true)
      expect(calls).toEqual([])
    },
  )

  test('staging: applies only monitoring objects server-side, never ledgerd, then waits for both rollouts', () => {
    const { code, calls } = run(['staging'])
    expect(code).toBe(0)
    const applied = parse(readFileSync(join(kubectl.dir, 'applied.yaml'), 'utf8'))
    expect(applied.every(isMonitoring)).toBe(true)
    expect(names(applied)).not.toContain('Deployment/ledgerd')
    expect(applied.some((o) => o.metadata.name === 'ledgerd')).toBe(false)
    expect(calls[0]).toBe('config current-context')
    expect(calls[1]).toMatch(
      /^apply --server-side --field-manager=ledgerd-deploy-monitoring --force-conflicts -f \//,
    )
    expect(calls.slice(2)).toEqual([
      '-n ledgerd-staging get secret ledgerd-grafana-admin',
      '-n ledgerd-staging rollout status deployment/ledgerd-prometheus --timeout=5m',
      '-n ledgerd-staging rollout status deployment/ledgerd-grafana --timeout=5m',
    ])
  })

  test("creates Grafana's admin Secret only when it is missing, never printing the password", () => {
    const first = run(['staging'], { FAKE_SECRET: 'absent' })
    expect(first.code).toBe(0)
    const creates = first.calls.filter((call) => call.includes('create secret'))
    expect(creates).toHaveLength(1)
    expect(creates[0]).toMatch(
      /^-n ledgerd-staging create secret generic ledgerd-grafana-admin --from-file=admin-password=\//,
    )
    expect(run(['staging']).calls.filter((call) => call.includes('create secret'))).toEqual([])
  })

  test('a failed rollout prints what the cluster says and exits 1', () => {
    const { code, calls } = run(['prod'], { FAKE_ROLLOUT: 'fail' })
    expect(code).toBe(1)
    expect(calls).toContain('-n ledgerd-prod describe deployment ledgerd-prometheus')
  })

  test('dev has no monitoring component: says so and exits 2, touching no cluster', () => {
    const { code, stderr, calls } = run(['dev'])
    expect(code).toBe(2)
    expect(stderr).toContain('no monitoring component')
    expect(calls).toEqual([])
  })

  test('an unknown environment or option, or none, is a usage error', () => {
    expect(run(['qa']).code).toBe(2)
    expect(run(['staging', '--force']).code).toBe(2)
    expect(run([]).code).toBe(2)
  })
})

describe('scripts/deploy.sh --dry-run', () => {
  test.each(['dev', 'staging', 'prod'])(
    'renders %s exactly as kubectl kustomize does, calling no cluster',
    (env) => {
      kubectl.reset()
      const { code, stdout } = runScript('scripts/deploy.sh', [env, '--dry-run'], {
        env: { PATH: kubectl.path },
      })
      expect(code).toBe(0)
      expect(parse(stdout)).toEqual(render(join(kustomizeRoot, 'overlays', env)))
      expect(kubectl.calls().filter((call) => !call.startsWith('kubectl kustomize'))).toEqual([])
    },
  )
})
