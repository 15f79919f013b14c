import { expect, test } from 'bun:test'
import { avatarFilesPath } from '../../../src/avatars/local-store'
import { settings } from '../../../src/config/settings'
import { configured, nginxSize } from './ledgerd-config'
import { build, find, type Manifest } from './manifests'
import { edgeLocations } from './nginx-conf'

// The edge must agree with ledgerd: the same body limits, one trusted X-Forwarded-For hop, the API port only.

const manifests = build('kustomize/components/nginx')
const ingresses = manifests.filter((m) => m.kind === 'Ingress')
const bodyLimit = (location: { annotations: Record<string, string> }) =>
  nginxSize(location.annotations['nginx.org/client-max-body-size'] ?? '')

test("the API's body limit at the edge equals ledgerd's --body-limit", () => {
  const api = edgeLocations(manifests).find((l) => l.path === '/')
  if (!api) throw new Error('no location for /')
  expect(bodyLimit(api)).toBe(configured(manifests, 'bodyLimitBytes'))
  const fixtureOverrides = find(manifests, 'ConfigMap', 'ledgerd').data?.LEDGERD_BODY_LIMIT
  if (fixtureOverrides === undefined)
    expect(bodyLimit(api)).toBe(settings.find((s) => s.key === 'bodyLimitBytes')?.default as number)
})

test('signed avatar uploads get --avatar-max-bytes at the edge, as ledgerd checks them', () => {
  const files = edgeLocations(manifests).find((l) => l.path === `${avatarFilesPath}/`)
  if (!files) throw new Error(`no location for ${avatarFilesPath}/`)
  expect(bodyLimit(files)).toBe(configured(manifests, 'avatarMaxBytes'))
})

test('every location has timeouts and a per-client rate limit answered with 429', () => {
  for (const { ingress, annotations } of edgeLocations(manifests)) {
    for (const name of ['proxy-connect-timeout', 'proxy-read-timeout', 'proxy-send-timeout'])
      expect([ingress, annotations[`nginx.org/${name}`]]).toEqual([ingress, expect.stringMatching(/^\d+s$/)])
    expect(annotations['nginx.org/limit-req-rate']).toMatch(/^\d+r\/[sm]$/)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the controller's ${variable} syntax
    expect(annotations['nginx.org/limit-req-key']).toBe('${binary_remote_addr}')
    expect(annotations['nginx.org/limit-req-reject-code']).toBe('429')
  }
})

test('ledgerd trusts exactly the one X-Forwarded-For hop NGINX appends', () => {
  expect(configured(manifests, 'forwardedForHops')).toBe(1)
})

test("TLS: cert-manager's certificate for the public host is the secret the Ingress serves", () => {
  const host = new URL(configured(manifests, 'publicUrl')).host
  const certificate = find(manifests, 'Certificate', 'ledgerd').spec
  expect(certificate.issuerRef).toMatchObject({ kind: 'ClusterIssuer', group: 'cert-manager.io' })
  expect(certificate.dnsNames).toEqual([host])
  const master = find(manifests, 'Ingress', 'ledgerd').spec
  expect(master.tls).toEqual([{ hosts: [host], secretName: certificate.secretName }])
  for (const ingress of ingresses) {
    expect(ingress.spec.ingressClassName).toBe('nginx')
    expect(ingress.spec.rules.map((r: { host: string }) => r.host)).toEqual([host])
  }
})

test("every path goes to the Service's API port, never the admin port", () => {
  const service = find(manifests, 'Service', 'ledgerd')
  const backends = ingresses.flatMap((i: Manifest) =>
    (i.spec.rules ?? []).flatMap(
      (r: { http?: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }) =>
        r.http?.paths ?? [],
    ),
  )
  expect(backends.length).toBeGreaterThan(0)
  for (const { backend } of backends) {
    expect(backend.service.name).toBe('ledgerd')
    const port = service.spec.ports.find((p: { name: string }) => p.name === backend.service.port.name)
    expect(port?.port).toBe(configured(manifests, 'port'))
  }
})
