import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { avatarFilesPath } from '../../../src/avatars/local-store'
import { docsPath, openApiPath } from '../../../src/docs/index'
import { type InProcessLedgerd, inProcessLedgerd } from '../../support/app'
import { render, repoRoot } from '../../support/kustomize'
import { allowed, type MeshRequest, openOperations } from './authorization'
import { configured } from './ledgerd-config'
import { build, find, type Manifest } from './manifests'

// The mesh's JWT and authorization rules must say what ledgerd itself does: the same issuer and keys,
// and the same set of operations served without a token, read from ledgerd's own OpenAPI document.

let ledgerd: InProcessLedgerd
let operations: { operation: string; public: boolean; example: string }[]
beforeAll(async () => {
  ledgerd = await inProcessLedgerd()
  // biome-ignore lint/suspicious/noExplicitAny: walking the document generically
  const document = (await (await ledgerd.request('GET', openApiPath)).json()) as any
  operations = []
  for (const [path, methods] of Object.entries<Record<string, { security?: unknown[] }>>(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const security = operation.security ?? document.security ?? []
      const isPublic =
        security.length === 0 || security.some((s: unknown) => Object.keys(s as object).length === 0)
      operations.push({
        operation: `${method.toUpperCase()} ${isPublic ? istioPath(path) : path}`,
        public: isPublic,
        example: `${method.toUpperCase()} ${path.replaceAll(/\{[^}]+\}/g, 'some-id')}`,
      })
    }
  }
})
afterAll(() => ledgerd.dispose())

/** Istio paths match exactly or by prefix ("/problems/*"), so a parameter may only be the last segment. */
function istioPath(template: string): string {
  const parameter = template.indexOf('{')
  if (parameter === -1) return template
  if (!/^\{[^}]+\}$/.test(template.slice(parameter)))
    throw new Error(`${template}: Istio cannot match a parameter before the last segment`)
  return `${template.slice(0, parameter)}*`
}

/** Public routes ledgerd serves that its OpenAPI document leaves out: the document itself, the API
 * reference and its assets, and signed avatar URLs (local avatar store), which carry their own signature. */
const publicOutsideOpenApi = [
  `GET ${openApiPath}`,
  `GET ${docsPath}`,
  `GET ${docsPath}/*`,
  `GET ${avatarFilesPath}/*`,
  `PUT ${avatarFilesPath}/*`,
]

const caller = (request: Partial<MeshRequest> & Pick<MeshRequest, 'port'>): MeshRequest => ({
  method: 'GET',
  path: '/metrics',
  namespace: 'shop',
  principal: 'cluster.local/ns/shop/sa/frontend',
  ...request,
})

const token = 'https://ledgerd.example.com/6f0c7f1e'
const waypoint = { namespace: 'ledgerd', principal: 'cluster.local/ns/ledgerd/sa/waypoint' }

interface Mode {
  component: string
  /** The rendered objects: the component on the fixture base, or a real overlay or scenario. */
  manifests?: () => Manifest[]
  /** Whether the API request is let through, by every proxy on its way. */
  api(manifests: Manifest[], request: MeshRequest): boolean
  /** Whether a connection straight to the pod (Prometheus scraping by pod IP) is let through. */
  pod(manifests: Manifest[], request: MeshRequest): boolean
  /** The policies that decide which operations are open. */
  l7(manifests: Manifest[]): Manifest[]
}

const policies = (manifests: Manifest[]) => manifests.filter((m) => m.kind === 'AuthorizationPolicy')
const byWaypoint = (manifests: Manifest[]) => policies(manifests).filter((p) => p.spec.targetRefs)
const byZtunnel = (manifests: Manifest[]) => policies(manifests).filter((p) => p.spec.selector)

const modes: Mode[] = [
  {
    component: 'istio/sidecar',
    api: (m, request) => allowed(policies(m), request),
    pod: (m, request) => allowed(policies(m), request),
    l7: policies,
  },
  {
    component: 'istio/ambient',
    // The waypoint sees the caller; ztunnel at the pod then sees the waypoint.
    api: (m, request) =>
      allowed(byWaypoint(m), request) && allowed(byZtunnel(m), { ...request, ...waypoint }),
    pod: (m, request) => allowed(byZtunnel(m), request),
    l7: byWaypoint,
  },
]

// The same checks on the real bundles that layer Istio in: the overlays (NGINX in front, sidecars inside)
// and the Istio-only scenarios, rendered with the real base and each one's own settings.
const bundle = (path: string) => () => render(join(repoRoot, path)) as Manifest[]
for (const [path, mode] of [
  ['kustomize/overlays/staging', 'istio/sidecar'],
  // (their ingress route is deleted: NGINX is the one edge, so no VirtualService to check there)
  ['kustomize/overlays/prod', 'istio/sidecar'],
  ['kustomize/tests/postgres-istio-sidecar', 'istio/sidecar'],
  ['kustomize/tests/postgres-istio-ambient', 'istio/ambient'],
] as const) {
  const like = modes.find((m) => m.component === mode) as Mode
  modes.push({ ...like, component: path, manifests: bundle(path) })
}

describe.each(modes)('$component', (mode) => {
  const manifests = mode.manifests ? mode.manifests() : build(mode.component)

  test('the operations open without a token are exactly those ledgerd serves without one', () => {
    const expected = [...operations.filter((o) => o.public).map((o) => o.operation), ...publicOutsideOpenApi]
    expect(openOperations(mode.l7(manifests), 8080)).toEqual([...new Set(expected)].sort())
  })

  test('every other operation needs a verified token; with one, every operation passes', () => {
    for (const { example, public: isPublic } of operations) {
      const [method = '', path = ''] = example.split(' ')
      const request = caller({ port: 8080, method, path })
      expect([example, mode.api(manifests, request)]).toEqual([example, isPublic])
      expect([example, mode.api(manifests, { ...request, requestPrincipal: token })]).toEqual([example, true])
    }
  })

  test('the admin port answers only the monitoring namespace, token or not', () => {
    const prometheus = { namespace: 'monitoring', principal: 'cluster.local/ns/monitoring/sa/prometheus' }
    expect(mode.pod(manifests, caller({ port: 8081, ...prometheus }))).toBe(true)
    for (const namespace of ['shop', 'ledgerd', 'istio-system', 'kube-system']) {
      const other = { namespace, principal: `cluster.local/ns/${namespace}/sa/default` }
      expect([namespace, mode.pod(manifests, caller({ port: 8081, ...other }))]).toEqual([namespace, false])
      const withToken = caller({ port: 8081, ...other, requestPrincipal: token })
      expect([namespace, mode.pod(manifests, withToken)]).toEqual([namespace, false])
      expect([namespace, mode.api(manifests, caller({ port: 8081, ...other }))]).toEqual([namespace, false])
    }
  })

  test("RequestAuthentication trusts ledgerd's issuer, audience and JWKS, and forwards the token", async () => {
    const [rule, ...others] = find(manifests, 'RequestAuthentication', 'ledgerd').spec.jwtRules
    expect(others).toEqual([])
    const publicUrl = configured(manifests, 'publicUrl')
    expect(rule.issuer).toBe(configured(manifests, 'tokenIssuer'))
    expect(rule.audiences).toEqual([configured(manifests, 'tokenAudience')])
    expect(rule.forwardOriginalToken).toBe(true)
    // What ledgerd itself advertises when configured from the same ConfigMap.
    const configuredLedgerd = await inProcessLedgerd({
      'public-url': publicUrl,
      'token-issuer': configured(manifests, 'tokenIssuer'),
      'token-audience': configured(manifests, 'tokenAudience'),
    })
    try {
      const discovery = await configuredLedgerd.request('GET', '/.well-known/openid-configuration')
      const { issuer, jwks_uri } = (await discovery.json()) as { issuer: string; jwks_uri: string }
      expect({ issuer: rule.issuer, jwksUri: rule.jwksUri }).toEqual({ issuer, jwksUri: jwks_uri })
      expect(new URL(jwks_uri).origin).toBe(new URL(publicUrl).origin)
    } finally {
      configuredLedgerd.dispose()
    }
  })

  test('mTLS is STRICT for ledgerd and clients use Istio certificates', () => {
    const podLabels = find(manifests, 'Deployment', 'ledgerd').spec.template.metadata.labels
    const peer = find(manifests, 'PeerAuthentication', 'ledgerd').spec
    expect(peer.mtls.mode).toBe('STRICT')
    expect(podLabels).toMatchObject(peer.selector.matchLabels)
    expect(find(manifests, 'DestinationRule', 'ledgerd').spec.trafficPolicy.tls.mode).toBe('ISTIO_MUTUAL')
    for (const policy of byZtunnel(manifests))
      expect(podLabels).toMatchObject(policy.spec.selector.matchLabels)
  })

  // The overlays keep one edge, NGINX, and delete Istio's ingress route: then no Istio gateway may be
  // left as a second way in. Where Istio's route is the edge, it retries only GET and HEAD.
  test('one edge; an Istio ingress route retries only GET and HEAD', () => {
    const istioEdge = manifests.filter(
      (m) =>
        m.kind === 'VirtualService' || (m.apiVersion === 'networking.istio.io/v1' && m.kind === 'Gateway'),
    )
    const nginxEdge = manifests.some((m) => m.kind === 'Ingress')
    expect({ istioEdge: istioEdge.length > 0, nginxEdge }).not.toEqual({ istioEdge: true, nginxEdge: true })
    if (istioEdge.length === 0) {
      expect(nginxEdge).toBe(true)
      return
    }
    const routes = find(manifests, 'VirtualService', 'ledgerd').spec.http as {
      match?: { method?: { exact?: string } }[]
      retries?: { attempts: number }
      timeout?: string
    }[]
    for (const route of routes) {
      const methods = route.match?.map((m) => m.method?.exact) ?? [undefined]
      const idempotent = methods.every((m) => m === 'GET' || m === 'HEAD')
      expect(route.timeout).toBeDefined()
      if (!idempotent) expect(route.retries?.attempts).toBe(0)
    }
    expect(routes.some((r) => (r.retries?.attempts ?? 0) > 0)).toBe(true)
  })

  test('ledgerd trusts exactly the one X-Forwarded-For hop the ingress gateway appends', () => {
    expect(configured(manifests, 'forwardedForHops')).toBe(1)
  })
})

test('sidecar mode: the app waits for its proxy, and Prometheus scrapes merged metrics from the agent', () => {
  const pod = find(build('istio/sidecar'), 'Deployment', 'ledgerd').spec.template
  expect(pod.metadata.labels['sidecar.istio.io/inject']).toBe('true')
  const annotations = pod.metadata.annotations
  expect(JSON.parse(annotations['proxy.istio.io/config']).holdApplicationUntilProxyStarts).toBe(true)
  expect(annotations['prometheus.istio.io/merge-metrics']).toBe('true')
  const container = pod.spec.containers.find((c: { name: string }) => c.name === 'ledgerd')
  const admin = container.ports.find((p: { name: string }) => p.name === 'admin')
  expect(annotations['prometheus.io/port']).toBe(String(admin.containerPort))
  expect(annotations['prometheus.io/path']).toBe('/metrics')
})

test('ambient mode: pods enrolled, the Service routed through a waypoint, ingress traffic included', () => {
  const manifests = build('istio/ambient')
  const pod = find(manifests, 'Deployment', 'ledgerd').spec.template
  expect(pod.metadata.labels['istio.io/dataplane-mode']).toBe('ambient')
  expect(pod.spec.containers.map((c: { name: string }) => c.name)).toEqual(['ledgerd'])
  const waypoint = find(manifests, 'Gateway', 'waypoint', 'gateway.networking.k8s.io/v1')
  expect(waypoint.spec.gatewayClassName).toBe('istio-waypoint')
  const service = find(manifests, 'Service', 'ledgerd').metadata.labels ?? {}
  expect(service['istio.io/use-waypoint']).toBe(waypoint.metadata.name)
  expect(service['istio.io/ingress-use-waypoint']).toBe('true')
  for (const kind of ['RequestAuthentication', 'AuthorizationPolicy']) {
    for (const m of manifests.filter((x) => x.kind === kind && x.spec.targetRefs))
      expect(m.spec.targetRefs).toEqual([{ group: '', kind: 'Service', name: 'ledgerd' }])
  }
  // A client dialling a pod IP would skip the waypoint's JWT rules: ztunnel refuses it.
  const direct = caller({ port: 8080, method: 'GET', path: '/v1/accounts', requestPrincipal: token })
  expect(byZtunnel(manifests).length).toBeGreaterThan(0)
  expect(allowed(byZtunnel(manifests), direct)).toBe(false)
})
