import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate'
import { Gateway as GatewayApiGateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway'
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule'
import { Gateway as IstioGateway } from '@kubernetes-models/istio/networking.istio.io/v1/Gateway'
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService'
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy'
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication'
import { RequestAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Service } from 'kubernetes-models/v1/Service'

// Builds the mesh and edge components with `kubectl kustomize` on top of the fixture base, and checks every
// object against its schema. The schemas of kubernetes-models accept unknown fields, so unknownFields()
// refuses them separately.

export const repoRoot = resolve(import.meta.dir, '../../..')
export const fixtureBase = join(repoRoot, 'tests/fixtures/kustomize-base')

/** Every component this branch ships, by its folder under the repository root. */
export const components = ['istio/sidecar', 'istio/ambient', 'kustomize/components/nginx'] as const
export type ComponentPath = (typeof components)[number]

export interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  // biome-ignore lint/suspicious/noExplicitAny: manifests are read as plain YAML
  spec?: any
  data?: Record<string, string>
}

/** `kubectl kustomize` of the fixture base with these components, parsed. */
export function build(...componentPaths: string[]): Manifest[] {
  const dir = mkdtempSync(join(tmpdir(), 'ledgerd-kustomize-'))
  try {
    const kustomization = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      // kustomize refuses absolute paths
      resources: [relative(dir, fixtureBase)],
      components: componentPaths.map((path) => relative(dir, join(repoRoot, path))),
    }
    writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(kustomization))
    const run = Bun.spawnSync(['kubectl', 'kustomize', dir], { stdout: 'pipe', stderr: 'pipe' })
    if (run.exitCode !== 0) throw new Error(`kubectl kustomize failed: ${run.stderr.toString()}`)
    return Bun.YAML.parse(`${run.stdout.toString()}`.replace(/^/, '---\n')) as Manifest[]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function find(manifests: Manifest[], kind: string, name: string, apiVersion?: string): Manifest {
  // A ConfigMap from a configMapGenerator (the real base's) carries a hash suffix: ledgerd-<hash>.
  const named = (m: Manifest) =>
    m.metadata.name === name ||
    (kind === 'ConfigMap' && new RegExp(`^${name}-[a-z0-9]{10}$`).test(m.metadata.name))
  const found = manifests.find(
    (m) => m.kind === kind && named(m) && (!apiVersion || m.apiVersion === apiVersion),
  )
  if (!found) throw new Error(`no ${kind} ${name} in the build`)
  return found
}

// biome-ignore lint/suspicious/noExplicitAny: each model class takes its own shape
type ModelClass = new (data: any) => { validate(): void }

const models: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/Ingress': Ingress,
  'cert-manager.io/v1/Certificate': Certificate,
  'security.istio.io/v1/PeerAuthentication': PeerAuthentication,
  'security.istio.io/v1/RequestAuthentication': RequestAuthentication,
  'security.istio.io/v1/AuthorizationPolicy': AuthorizationPolicy,
  'networking.istio.io/v1/DestinationRule': DestinationRule,
  'networking.istio.io/v1/Gateway': IstioGateway,
  'networking.istio.io/v1/VirtualService': VirtualService,
  'gateway.networking.k8s.io/v1/Gateway': GatewayApiGateway,
}

function validates(model: ModelClass, data: unknown): string | undefined {
  try {
    new model(data).validate()
    return undefined
  } catch (error) {
    return String(error)
  }
}

/**
 * Paths of fields the schema does not constrain at all. A known field refuses a value of no JSON type (a
 * function); a field the schema does not know takes anything. Maps whose values are typed (labels) count
 * as known.
 */
function unknownFields(model: ModelClass, root: Record<string, unknown>): string[] {
  const found: string[] = []
  const visit = (node: unknown, path: (string | number)[]) => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        visit(item, [...path, index])
      })
      return
    }
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node)) {
      const probe = structuredClone(root)
      let parent: Record<string | number, unknown> = probe
      for (const step of path) parent = parent[step] as Record<string | number, unknown>
      parent[key] = () => undefined
      if (validates(model, probe) === undefined) found.push([...path, key].join('.'))
      else visit(value, [...path, key])
    }
  }
  visit(root, [])
  return found
}

/** Schema errors and unknown fields of one object; [] when it is valid. */
export function schemaProblems(manifest: Manifest): string[] {
  const model = models[`${manifest.apiVersion}/${manifest.kind}`]
  if (!model) return [`no schema for ${manifest.apiVersion} ${manifest.kind}`]
  const error = validates(model, manifest)
  if (error) return [error]
  return unknownFields(model, manifest as unknown as Record<string, unknown>).map(
    (path) => `unknown field ${path}`,
  )
}
