import { readdirSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { literalTypeErrors } from './typecheck'

// The Kustomize bundle as the tests see it: every overlay and scenario rendered by `kubectl kustomize`,
// parsed into plain objects, and a strict schema check (unknown fields refused) built on the types of
// kubernetes-models and @kubernetes-models/cloudnative-pg.

export const repoRoot = resolve(import.meta.dir, '../..')
export const kustomizeRoot = join(repoRoot, 'kustomize')
export const fixturesRoot = join(repoRoot, 'tests/fixtures/kustomize')

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped until validated
export type Manifest = Record<string, any>

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(dir, entry.name))
    .sort()
}

export const overlays = subdirs(join(kustomizeRoot, 'overlays'))
export const scenarios = subdirs(join(kustomizeRoot, 'tests'))
/** Every overlay and scenario: what must build and pass every policy. */
export const bundles = [...overlays, ...scenarios]
/** Deliberately broken bundles the policies must refuse. */
export const badFixtures = subdirs(fixturesRoot)

export const bundleName = (dir: string) => relative(repoRoot, dir)

const rendered = new Map<string, Manifest[]>()

/** `kubectl kustomize DIR`, parsed; throws with kubectl's message when it does not build. */
export function render(dir: string): Manifest[] {
  const cached = rendered.get(dir)
  if (cached) return cached
  const result = Bun.spawnSync(['kubectl', 'kustomize', dir], { stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0) {
    throw new Error(`kubectl kustomize ${bundleName(dir)} failed: ${result.stderr.toString()}`)
  }
  const parsed = Bun.YAML.parse(result.stdout.toString())
  const objects = (Array.isArray(parsed) ? parsed : [parsed]).filter(Boolean) as Manifest[]
  rendered.set(dir, objects)
  return objects
}

/** Renders these bundles in parallel into render()'s cache (each kubectl run takes about 0.6 s). */
export async function renderAll(dirs: string[]): Promise<void> {
  await Promise.all(
    dirs
      .filter((dir) => !rendered.has(dir))
      .map(async (dir) => {
        const child = Bun.spawn(['kubectl', 'kustomize', dir], { stdout: 'pipe', stderr: 'pipe' })
        const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited])
        if (code !== 0) return // render() reports the error in the test that needs it
        const parsed = Bun.YAML.parse(stdout)
        rendered.set(dir, (Array.isArray(parsed) ? parsed : [parsed]).filter(Boolean) as Manifest[])
      }),
  )
}

export const ofKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind)

export function only(objects: Manifest[], kind: string, name?: string): Manifest {
  const found = ofKind(objects, kind).filter((o) => name === undefined || o.metadata?.name === name)
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`)
  return found[0] as Manifest
}

/** The interface each kind is checked against, and the module that declares it. */
const schemaTypes: Record<string, { module: string; type: string }> = {
  'v1/Namespace': { module: 'kubernetes-models/v1/Namespace', type: 'INamespace' },
  'v1/ServiceAccount': { module: 'kubernetes-models/v1/ServiceAccount', type: 'IServiceAccount' },
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', type: 'IService' },
  'v1/PersistentVolumeClaim': {
    module: 'kubernetes-models/v1/PersistentVolumeClaim',
    type: 'IPersistentVolumeClaim',
  },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': {
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    type: 'IPodDisruptionBudget',
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    type: 'IHorizontalPodAutoscaler',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    type: 'INetworkPolicy',
  },
  'postgresql.cnpg.io/v1/Cluster': {
    module: '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster',
    type: 'ICluster',
  },
  'networking.k8s.io/v1/Ingress': {
    module: 'kubernetes-models/networking.k8s.io/v1/Ingress',
    type: 'IIngress',
  },
  'cert-manager.io/v1/Certificate': {
    module: '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate',
    type: 'ICertificate',
  },
  'gateway.networking.k8s.io/v1/Gateway': {
    module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway',
    type: 'IGateway',
  },
  'networking.istio.io/v1/DestinationRule': {
    module: '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule',
    type: 'IDestinationRule',
  },
  'networking.istio.io/v1/Gateway': {
    module: '@kubernetes-models/istio/networking.istio.io/v1/Gateway',
    type: 'IGateway',
  },
  'networking.istio.io/v1/VirtualService': {
    module: '@kubernetes-models/istio/networking.istio.io/v1/VirtualService',
    type: 'IVirtualService',
  },
  'security.istio.io/v1/AuthorizationPolicy': {
    module: '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy',
    type: 'IAuthorizationPolicy',
  },
  'security.istio.io/v1/PeerAuthentication': {
    module: '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication',
    type: 'IPeerAuthentication',
  },
  'security.istio.io/v1/RequestAuthentication': {
    module: '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication',
    type: 'IRequestAuthentication',
  },
  'rbac.authorization.k8s.io/v1/Role': {
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/Role',
    type: 'IRole',
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
    type: 'IRoleBinding',
  },
  'monitoring.coreos.com/v1/PodMonitor': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor',
    type: 'IPodMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    type: 'IPrometheusRule',
  },
  'postgresql.cnpg.io/v1/ScheduledBackup': {
    module: '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/ScheduledBackup',
    type: 'IScheduledBackup',
  },
}

const modelClasses = new Map<string, Promise<new (data: Manifest) => { validate(): void }>>()

/** kubernetes-models' validate(): types, formats, required fields and enums (unknown fields pass it). */
export async function validateModel(object: Manifest): Promise<void> {
  const key = `${object.apiVersion}/${object.kind}`
  const schema = schemaTypes[key]
  if (!schema) throw new Error(`no schema known for ${key}`)
  let model = modelClasses.get(key)
  if (!model) {
    model = import(schema.module).then((module) => module[schema.type.slice(1)])
    modelClasses.set(key, model)
  }
  const Model = await model
  new Model(object).validate()
}

/** A TypeScript identifier for an apiVersion/kind key, unique per key. */
const aliasOf = (key: string) => `Schema_${key.replace(/[^A-Za-z0-9]/g, '_')}`

/**
 * The check validate() lacks: each object written as a TypeScript literal that `satisfies` its
 * interface, so the compiler's excess-property check refuses any field the schema does not have
 * (anywhere in the object), as `kubectl apply --validate=strict` would. One compiler run for all the
 * groups (about 1.5 s); returns one message per problem, naming the group and object.
 */
export function strictFieldErrors(groups: Record<string, Manifest[]>): string[] {
  const lines: string[] = []
  const imports = new Set<string>()
  const unknownKinds: string[] = []
  let index = 0
  for (const [group, objects] of Object.entries(groups)) {
    for (const object of objects) {
      const key = `${object.apiVersion}/${object.kind}`
      const schema = schemaTypes[key]
      if (!schema) {
        unknownKinds.push(`${group}: ${key} ${object.metadata?.name}: no schema known`)
        continue
      }
      // Aliased by kind: two groups may name their interfaces alike (Istio's and Gateway API's IGateway).
      imports.add(`import type { ${schema.type} as ${aliasOf(key)} } from '${schema.module}'`)
      lines.push(`// ${group}: ${key} ${object.metadata?.name}`)
      lines.push(
        `export const object${index++} = ${JSON.stringify(object, null, 2)} satisfies ${aliasOf(key)}`,
      )
    }
  }
  return [...unknownKinds, ...literalTypeErrors('ledgerd-kustomize', [...imports, ...lines].join('\n'))]
}
