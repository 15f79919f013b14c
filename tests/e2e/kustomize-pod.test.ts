import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { probeOnce, probeSucceeded, probeUntil, runPod, type SecretValues } from '../support/kubelet'
import { kustomizeRoot, type Manifest, only, render } from '../support/kustomize'
import { ledgerClient } from '../support/ledger-client'
import { createTestPki, type TestPki } from '../support/pki'
import { startPostgres, type TestPostgres } from '../support/postgres'

// The rendered pod of dev (SQLite) and of prod (PostgreSQL over verify-full TLS, as CloudNativePG
// serves it) run as the kubelet would (tests/support/kubelet.ts): the startup, readiness and liveness
// probes as declared must pass; on SIGTERM readiness must fail at once while liveness stays up for the
// drain, and the process must exit 0 within terminationGracePeriodSeconds.

const signingKey = generateKeyPairSync('ed25519').privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string

async function lifecycle(
  objects: Manifest[],
  secrets: SecretValues,
  whileReady?: (apiUrl: string) => Promise<void>,
) {
  const deployment = only(objects, 'Deployment', 'ledgerd')
  const container = deployment.spec.template.spec.containers[0]
  const grace: number = deployment.spec.template.spec.terminationGracePeriodSeconds
  const pod = await runPod(objects, secrets)
  try {
    // Startup at the declared pace; readiness and liveness once startup has passed.
    const startup = await probeUntil(pod, container.startupProbe)
    expect(startup, pod.output()).toMatchObject({ ok: true })
    expect((await probeUntil(pod, container.readinessProbe)).ok, pod.output()).toBe(true)
    expect((await probeUntil(pod, container.livenessProbe)).ok, pod.output()).toBe(true)
    await whileReady?.(`http://127.0.0.1:${pod.portFor('http')}`)

    const signalledAt = performance.now()
    pod.process.kill('SIGTERM')
    await Bun.sleep(200)
    expect(probeSucceeded(await probeOnce(pod, container.readinessProbe))).toBe(false)
    expect(probeSucceeded(await probeOnce(pod, container.livenessProbe))).toBe(true)
    const code = await Promise.race([pod.exited, Bun.sleep(grace * 1000).then(() => 'killed' as const)])
    if (code === 'killed') pod.process.kill('SIGKILL')
    expect(code, pod.output()).toBe(0)
    expect(performance.now() - signalledAt).toBeLessThan(grace * 1000)
  } finally {
    pod.process.kill('SIGKILL')
    await pod.exited
    pod.cleanup()
  }
}

test('dev: the SQLite pod starts, passes its probes, drains on SIGTERM and exits 0 in its grace period', async () => {
  const objects = render(join(kustomizeRoot, 'overlays/dev'))
  await lifecycle(objects, { 'ledgerd-signing-key': { 'signing-key.pem': signingKey } }, async (apiUrl) => {
    expect((await ledgerClient(apiUrl).signUp('dev-pod@example.com')).id).toBeString()
  })
}, 60_000)

describe('prod on PostgreSQL with verify-full TLS', () => {
  let pg: TestPostgres
  let pki: TestPki

  beforeAll(async () => {
    // A CA and a server certificate from it, as CloudNativePG's ledgerd-db-ca signs the instances'.
    pki = createTestPki()
    pg = await startPostgres({ tls: { cert: pki.serverCert, key: pki.serverKey } })
  }, 120_000)
  afterAll(() => {
    pg?.stop('immediate')
    pki.dispose()
  })

  test('the pod reaches CloudNativePG-style PostgreSQL, passes its probes and drains on SIGTERM', async () => {
    const objects = render(join(kustomizeRoot, 'overlays/prod'))
    const uri = await pg.createDatabase('kustomize')
    await lifecycle(
      objects,
      {
        'ledgerd-signing-key': { 'signing-key.pem': signingKey },
        // What CloudNativePG puts in ledgerd-db-app and ledgerd-db-ca, pointing at the test server.
        'ledgerd-db-app': { uri },
        'ledgerd-db-ca': { 'ca.crt': readFileSync(pki.caCert, 'utf8'), 'ca.key': 'not mounted' },
      },
      async (apiUrl) => {
        expect((await ledgerClient(apiUrl).signUp('prod-pod@example.com')).id).toBeString()
      },
    )
  }, 90_000)
})
