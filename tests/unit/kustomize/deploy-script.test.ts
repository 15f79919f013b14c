import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kustomizeRoot, only, overlays, render, repoRoot } from '../../support/kustomize'

// scripts/deploy.sh with a stand-in kubectl on PATH: `kustomize` goes to the real kubectl, every other
// call is recorded and answered by the stand-in, so the tests see exactly what the script would do to a
// cluster without one.

const realKubectl = Bun.which('kubectl') as string
const fakeBin = mkdtempSync(join(tmpdir(), 'ledgerd-fake-kubectl-'))
const callLog = join(fakeBin, 'calls.log')
writeFileSync(
  join(fakeBin, 'kubectl'),
  `#!/usr/bin/env bash
if [ "$1" = kustomize ]; then exec ${realKubectl} "$@"; fi
echo "$*" >>"${callLog}"
case "$*" in
  config*) echo test-context ;;
  *" rollout "*) [ "\${FAKE_ROLLOUT:-ok}" = ok ] ;;
  *" get secret "*) [ "\${FAKE_SECRET:-present}" = present ] ;;
  *" create secret "*)
    for arg; do
      case $arg in --from-file=admin-password=*) cp "\${arg#*admin-password=}" "${fakeBin}/created-password" ;; esac
    done ;;
esac
`,
)
chmodSync(join(fakeBin, 'kubectl'), 0o755)
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }))

const digest = `sha256:${'1'.repeat(64)}`

function deploy(args: string[], env: Record<string, string> = {}) {
  rmSync(callLog, { force: true })
  const result = Bun.spawnSync(['bash', 'scripts/deploy.sh', ...args], {
    cwd: repoRoot,
    env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let calls: string[] = []
  try {
    calls = readFileSync(callLog, 'utf8').trim().split('\n').filter(Boolean)
  } catch {}
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString(), calls }
}

const imageIn = (yaml: string) => {
  const objects = Bun.YAML.parse(yaml) as Record<string, never>[]
  return (
    only(objects, 'Deployment', 'ledgerd') as {
      spec: { template: { spec: { containers: { image: string }[] } } }
    }
  ).spec.template.spec.containers[0]?.image
}

describe('scripts/deploy.sh', () => {
  test('--dry-run prints the overlay as kubectl kustomize renders it and calls the cluster never', () => {
    const { code, stdout, calls } = deploy(['dev', '--dry-run'])
    expect(code).toBe(0)
    expect(Bun.YAML.parse(stdout)).toEqual(render(join(kustomizeRoot, 'overlays/dev')))
    expect(calls).toEqual([])
  })

  test('--image with a digest sets the image of prod through a temporary overlay, then removes it', () => {
    const before = readFileSync(join(kustomizeRoot, 'overlays/prod/kustomization.yaml'), 'utf8')
    const { code, stdout } = deploy(['prod', '--image', `registry.example/ledgerd@${digest}`, '--dry-run'])
    expect(code).toBe(0)
    expect(imageIn(stdout)).toBe(`registry.example/ledgerd@${digest}`)
    expect(readFileSync(join(kustomizeRoot, 'overlays/prod/kustomization.yaml'), 'utf8')).toBe(before)
    expect(readdirSync(kustomizeRoot).filter((name) => name.startsWith('.deploy'))).toEqual([])
  })

  test('--image with a tag sets staging; prod refuses a tag and everyone refuses :latest', () => {
    expect(
      imageIn(deploy(['staging', '--image', 'registry.example/ledgerd:1.2.3', '--dry-run']).stdout),
    ).toBe('registry.example/ledgerd:1.2.3')
    expect(deploy(['prod', '--image', 'registry.example/ledgerd:1.2.3', '--dry-run']).code).toBe(2)
    expect(deploy(['dev', '--image', 'registry.example/ledgerd:latest', '--dry-run']).code).toBe(2)
    expect(deploy(['dev', '--image', 'registry.example/ledgerd', '--dry-run']).code).toBe(2)
  })

  test('an unknown environment or option is a usage error', () => {
    expect(deploy(['qa', '--dry-run']).code).toBe(2)
    expect(deploy(['dev', '--force']).code).toBe(2)
    expect(deploy([]).code).toBe(2)
  })

  test('every overlay deploys into the namespace ledgerd-<env> the script waits in', () => {
    for (const dir of overlays) {
      const env = dir.split('/').pop()
      for (const object of render(dir)) {
        if (object.kind !== 'Namespace') expect(object.metadata.namespace).toBe(`ledgerd-${env}`)
      }
    }
  })

  test('applies server-side, waits for the database and the rollout', () => {
    const { code, calls } = deploy(['staging', '--image', 'registry.example/ledgerd:1.2.3'])
    expect(code).toBe(0)
    expect(calls[1]).toMatch(/^apply --server-side --field-manager=ledgerd-deploy -f /)
    expect(calls.slice(2)).toEqual([
      '-n ledgerd-staging get secret ledgerd-grafana-admin',
      '-n ledgerd-staging wait --for=condition=Ready cluster/ledgerd-db --timeout=15m',
      '-n ledgerd-staging rollout status deployment/ledgerd --timeout=10m',
    ])
  })

  test("creates Grafana's admin Secret once, from random bytes through a file, never printing it", () => {
    const first = deploy(['staging', '--image', 'registry.example/ledgerd:1.2.3'], { FAKE_SECRET: 'absent' })
    expect(first.code).toBe(0)
    const create = first.calls.find((call) => call.includes('create secret'))
    expect(create).toMatch(
      /^-n ledgerd-staging create secret generic ledgerd-grafana-admin --from-file=admin-password=\//,
    )
    const password = readFileSync(join(fakeBin, 'created-password'), 'utf8')
    expect(password).toMatch(/^[A-Za-z0-9+/]{32}$/)
    expect(first.stdout + first.stderr).not.toContain(password)
    const again = deploy(['staging', '--image', 'registry.example/ledgerd:1.2.3'])
    expect(again.calls.filter((call) => call.includes('create secret'))).toEqual([])
    // dev has no monitoring component: no Secret is looked for.
    expect(deploy(['dev']).calls.filter((call) => call.includes('secret'))).toEqual([])
  })

  test('a failed rollout prints the deployment, pods, events and logs, and exits 1', () => {
    const { code, calls } = deploy(['dev'], { FAKE_ROLLOUT: 'fail' })
    expect(code).toBe(1)
    const verbs = calls.map((call) => call.split(' ').slice(2, 4).join(' '))
    expect(verbs).toEqual(
      expect.arrayContaining(['describe deployment', 'describe pods', 'get events', 'logs -l']),
    )
  })

  test('refuses to apply the placeholder digest of prod', () => {
    const { code, stderr, calls } = deploy(['prod'])
    expect(code).toBe(1)
    expect(stderr).toContain('placeholder')
    expect(calls).toEqual([])
  })
})
