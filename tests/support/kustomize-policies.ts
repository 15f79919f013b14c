import { type Config, envName, envPrefix, type Setting, settings } from '../../src/config/settings'
import { type Manifest, ofKind } from './kustomize'

// The rules every rendered bundle must keep, as functions from manifests to a list of violations (empty:
// compliant), so a test can show both that the real bundles pass and that a broken one is caught.

const settingsByEnv = new Map<string, Setting>(settings.map((s) => [envName(s), s as Setting]))

const podTemplates = (objects: Manifest[]) =>
  ofKind(objects, 'Deployment').map((d) => ({ owner: `Deployment ${d.metadata.name}`, deployment: d }))

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> = {}) {
  return selector !== undefined && Object.entries(selector).every(([key, value]) => labels[key] === value)
}

/** Pod Security Standards "restricted" (v1.30), plus the bundle's own: fixed uid/gid, read-only root. */
export function podSecurity(objects: Manifest[]): string[] {
  const problems: string[] = []
  for (const { owner, deployment } of podTemplates(objects)) {
    const pod = deployment.spec.template.spec
    const podContext = pod.securityContext ?? {}
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
      if (pod[field]) problems.push(`${owner}: ${field}`)
    }
    for (const volume of pod.volumes ?? []) {
      if (volume.hostPath) problems.push(`${owner}: hostPath volume ${volume.name}`)
    }
    if (podContext.fsGroup !== 65532) problems.push(`${owner}: fsGroup is not 65532`)
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const where = `${owner} container ${container.name}`
      const context = container.securityContext ?? {}
      const effective = (field: string) => context[field] ?? podContext[field]
      if (effective('runAsNonRoot') !== true) problems.push(`${where}: runAsNonRoot is not true`)
      if (effective('runAsUser') !== 65532) problems.push(`${where}: runAsUser is not 65532`)
      if (effective('runAsGroup') !== 65532) problems.push(`${where}: runAsGroup is not 65532`)
      const seccomp = effective('seccompProfile')?.type
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
        problems.push(`${where}: seccompProfile is ${seccomp ?? 'unset'}`)
      }
      if (context.allowPrivilegeEscalation !== false) {
        problems.push(`${where}: allowPrivilegeEscalation is not false`)
      }
      if (context.privileged) problems.push(`${where}: privileged`)
      if (!(context.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: does not drop ALL`)
      const added = (context.capabilities?.add ?? []).filter((c: string) => c !== 'NET_BIND_SERVICE')
      if (added.length > 0) problems.push(`${where}: adds ${added.join(', ')}`)
      if (context.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`)
      for (const port of container.ports ?? []) {
        if (port.hostPort) problems.push(`${where}: hostPort ${port.hostPort}`)
      }
    }
    if (pod.enableServiceLinks !== false) problems.push(`${owner}: enableServiceLinks is not false`)
    if (pod.automountServiceAccountToken !== false && !readsOnly(objects, pod.serviceAccountName)) {
      problems.push(`${owner}: automountServiceAccountToken is not false`)
    }
  }
  return problems
}

const readVerbs = new Set(['get', 'list', 'watch'])

/**
 * A pod may mount its API token only if its ServiceAccount is bound to namespaced Roles that read
 * (Prometheus's discovery): no ClusterRoleBinding, no verb that writes, no Secrets.
 */
function readsOnly(objects: Manifest[], serviceAccount: string | undefined): boolean {
  if (!serviceAccount) return false
  const boundTo = (binding: Manifest) =>
    (binding.subjects ?? []).some((s: Manifest) => s.kind === 'ServiceAccount' && s.name === serviceAccount)
  if (ofKind(objects, 'ClusterRoleBinding').some(boundTo)) return false
  const bindings = ofKind(objects, 'RoleBinding').filter(boundTo)
  if (bindings.length === 0) return false
  return bindings.every((binding) => {
    const role = ofKind(objects, 'Role').find((r) => r.metadata.name === binding.roleRef?.name)
    if (binding.roleRef?.kind !== 'Role' || !role) return false
    return (role.rules ?? []).every(
      (rule: Manifest) =>
        (rule.verbs ?? []).every((verb: string) => readVerbs.has(verb)) &&
        !(rule.resources ?? []).some((r: string) => r === 'secrets' || r === '*'),
    )
  })
}

function portOf(container: Manifest, port: string | number): boolean {
  return (container.ports ?? []).some((p: Manifest) => p.name === port || p.containerPort === port)
}

/** Startup, readiness and liveness probes on a declared port; CPU and memory requests and limits. */
export function containerHygiene(objects: Manifest[]): string[] {
  const problems: string[] = []
  for (const { owner, deployment } of podTemplates(objects)) {
    for (const container of deployment.spec.template.spec.containers) {
      const where = `${owner} container ${container.name}`
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const declared = container[probe]
        if (!declared) problems.push(`${where}: no ${probe}`)
        else if (declared.httpGet && !portOf(container, declared.httpGet.port)) {
          problems.push(`${where}: ${probe} on undeclared port ${declared.httpGet.port}`)
        }
      }
      // ledgerd's: liveness on /healthz (200 while draining or while the database is away: no restart
      // loop); readiness on /readyz (503 from SIGTERM on, so endpoints stop routing here).
      if (
        container.name === 'ledgerd' &&
        container.livenessProbe &&
        container.livenessProbe.httpGet?.path !== '/healthz'
      )
        problems.push(`${where}: liveness is not /healthz`)
      if (
        container.name === 'ledgerd' &&
        container.readinessProbe &&
        container.readinessProbe.httpGet?.path !== '/readyz'
      )
        problems.push(`${where}: readiness is not /readyz`)
      for (const kind of ['requests', 'limits']) {
        for (const resource of ['cpu', 'memory']) {
          if (!container.resources?.[kind]?.[resource]) problems.push(`${where}: no ${resource} ${kind}`)
        }
      }
    }
  }
  return problems
}

/** Every image tagged, never :latest; with requireDigest (prod), pinned by digest. */
export function imagePinning(objects: Manifest[], requireDigest: boolean): string[] {
  const problems: string[] = []
  for (const { owner, deployment } of podTemplates(objects)) {
    for (const container of deployment.spec.template.spec.containers) {
      const image: string = container.image
      const [name, digest] = image.split('@')
      const tag = name?.includes(':', name.lastIndexOf('/')) ? name.slice(name.lastIndexOf(':') + 1) : ''
      if (tag === 'latest') problems.push(`${owner}: ${image} uses :latest`)
      if (!tag && !digest) problems.push(`${owner}: ${image} has neither tag nor digest`)
      if (requireDigest && !/^sha256:[0-9a-f]{64}$/.test(digest ?? '')) {
        problems.push(`${owner}: ${image} is not pinned by digest`)
      }
    }
  }
  return problems
}

/**
 * The Istio sidecar's agent serves merged metrics on 15020; it is injected at admission, so it is not
 * among the manifest's containers. Only for pods that ask for injection.
 */
const istioAgentPorts = new Set([15020])
const servedBySidecar = (deployment: Manifest, port: unknown) =>
  deployment.spec.template.metadata?.labels?.['sidecar.istio.io/inject'] === 'true' &&
  istioAgentPorts.has(Number(port))

/** Selectors that select: Deployment, Service, PDB and NetworkPolicies all reach ledgerd's pod labels. */
export function selectorsAndPorts(objects: Manifest[]): string[] {
  const problems: string[] = []
  const deployments = ofKind(objects, 'Deployment')
  const podsOf = (selector: Record<string, string> | undefined) =>
    deployments.filter((d) => matches(selector, d.spec.template.metadata?.labels))
  for (const d of deployments) {
    if (!matches(d.spec.selector.matchLabels, d.spec.template.metadata?.labels)) {
      problems.push(`Deployment ${d.metadata.name}: selector does not match its pod labels`)
    }
  }
  for (const service of ofKind(objects, 'Service')) {
    const targets = podsOf(service.spec.selector)
    if (targets.length === 0) problems.push(`Service ${service.metadata.name}: selects no pods`)
    for (const port of service.spec.ports) {
      const target = port.targetPort ?? port.port
      for (const d of targets) {
        if (!d.spec.template.spec.containers.some((c: Manifest) => portOf(c, target))) {
          problems.push(`Service ${service.metadata.name}: targetPort ${target} is on no container`)
        }
      }
      if (port.port === 8081 || target === 'admin') {
        problems.push(`Service ${service.metadata.name}: exposes the admin port`)
      }
    }
  }
  for (const pdb of ofKind(objects, 'PodDisruptionBudget')) {
    if (podsOf(pdb.spec.selector?.matchLabels).length === 0) {
      problems.push(`PodDisruptionBudget ${pdb.metadata.name}: selects no pods`)
    }
  }
  for (const policy of ofKind(objects, 'NetworkPolicy')) {
    const targets = podsOf(policy.spec.podSelector?.matchLabels)
    if (targets.length === 0)
      problems.push(`NetworkPolicy ${policy.metadata.name}: selects none of ledgerd's pods`)
    for (const rule of policy.spec.ingress ?? []) {
      for (const port of rule.ports ?? []) {
        for (const d of targets) {
          if (
            !d.spec.template.spec.containers.some((c: Manifest) => portOf(c, port.port)) &&
            !servedBySidecar(d, port.port)
          ) {
            problems.push(
              `NetworkPolicy ${policy.metadata.name}: ingress port ${port.port} is on no container`,
            )
          }
        }
      }
    }
    for (const rule of policy.spec.egress ?? []) {
      if (!rule.to?.length || !rule.ports?.length) {
        problems.push(`NetworkPolicy ${policy.metadata.name}: an egress rule open to any peer or port`)
      }
    }
  }
  return problems
}

/** The fewest replicas the Deployment runs: the autoscaler's minimum, else its fixed count. */
export function minReplicas(objects: Manifest[], deployment: Manifest): number {
  const hpa = ofKind(objects, 'HorizontalPodAutoscaler').find(
    (h) =>
      h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment.metadata.name,
  )
  return hpa ? (hpa.spec.minReplicas ?? 1) : (deployment.spec.replicas ?? 1)
}

/** A budget a node drain can satisfy, and an autoscaler aimed at something that exists. */
export function budgetsAndScaling(objects: Manifest[]): string[] {
  const problems: string[] = []
  const deployments = ofKind(objects, 'Deployment')
  for (const pdb of ofKind(objects, 'PodDisruptionBudget')) {
    for (const d of deployments.filter((d) =>
      matches(pdb.spec.selector?.matchLabels, d.spec.template.metadata?.labels),
    )) {
      const min = minReplicas(objects, d)
      const allowed =
        pdb.spec.minAvailable !== undefined
          ? min - resolveCount(pdb.spec.minAvailable, min, 'up')
          : resolveCount(pdb.spec.maxUnavailable, min, 'down')
      if (allowed < 1) {
        problems.push(`PodDisruptionBudget ${pdb.metadata.name}: allows no eviction at ${min} replica(s)`)
      }
    }
  }
  for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler')) {
    const ref = hpa.spec.scaleTargetRef
    const target = deployments.find((d) => ref.kind === 'Deployment' && d.metadata.name === ref.name)
    if (!target || ref.apiVersion !== 'apps/v1') {
      problems.push(`HorizontalPodAutoscaler ${hpa.metadata.name}: targets missing ${ref.kind} ${ref.name}`)
      continue
    }
    if (target.spec.replicas !== undefined) {
      problems.push(`HorizontalPodAutoscaler ${hpa.metadata.name}: Deployment also fixes replicas`)
    }
    for (const metric of hpa.spec.metrics ?? []) {
      const container = metric.containerResource?.container
      if (container && !target.spec.template.spec.containers.some((c: Manifest) => c.name === container)) {
        problems.push(`HorizontalPodAutoscaler ${hpa.metadata.name}: no container ${container}`)
      }
    }
    if ((hpa.spec.minReplicas ?? 1) > hpa.spec.maxReplicas) {
      problems.push(`HorizontalPodAutoscaler ${hpa.metadata.name}: minReplicas above maxReplicas`)
    }
  }
  return problems
}

function resolveCount(value: number | string, of: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value
  const share = (Number.parseFloat(value) / 100) * of
  return round === 'up' ? Math.ceil(share) : Math.floor(share)
}

/** The container's LEDGERD_* environment as the pod would get it: ConfigMap envFrom, then literal env. */
export function ledgerdEnv(objects: Manifest[], container: Manifest): Map<string, string | Manifest> {
  const env = new Map<string, string | Manifest>()
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue
    const configMap = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === source.configMapRef.name)
    for (const [key, value] of Object.entries(configMap?.data ?? {})) env.set(key, value as string)
  }
  for (const variable of container.env ?? []) env.set(variable.name, variable.value ?? variable.valueFrom)
  return env
}

/** The effective value of a setting: from the env when set and literal, else ledgerd's default. */
export function settingValue<K extends keyof Config>(env: Map<string, string | Manifest>, key: K): Config[K] {
  const setting = settings.find((s) => s.key === key) as unknown as Setting<K>
  const raw = env.get(envName(setting))
  return typeof raw === 'string' ? setting.parse(raw) : setting.default
}

/** Every LEDGERD_* name a real setting with a value it parses; the grace period covers the drain. */
export function settingsAndShutdown(objects: Manifest[]): string[] {
  const problems: string[] = []
  for (const configMap of ofKind(objects, 'ConfigMap')) {
    for (const key of Object.keys(configMap.data ?? {})) {
      if (key.startsWith(envPrefix) && !settingsByEnv.has(key)) {
        problems.push(`ConfigMap ${configMap.metadata.name}: ${key} is no ledgerd setting`)
      }
    }
  }
  for (const { owner, deployment } of podTemplates(objects)) {
    for (const container of deployment.spec.template.spec.containers) {
      const env = ledgerdEnv(objects, container)
      for (const [name, value] of env) {
        const setting = settingsByEnv.get(name)
        if (!setting) {
          if (name.startsWith(envPrefix)) problems.push(`${owner}: ${name} is no ledgerd setting`)
          continue
        }
        if (typeof value !== 'string') continue
        try {
          setting.parse(value)
        } catch (error) {
          problems.push(`${owner}: ${name}=${value} is refused: ${(error as Error).message}`)
        }
      }
      const drainMs = settingValue(env, 'shutdownDelayMs') + settingValue(env, 'shutdownTimeoutMs')
      const graceMs = (deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000
      if (graceMs <= drainMs) {
        problems.push(
          `${owner}: terminationGracePeriodSeconds ${graceMs / 1000}s does not cover ${drainMs / 1000}s of drain`,
        )
      }
    }
  }
  return problems
}

/**
 * Several replicas need PostgreSQL: an autoscaler or more than one replica requires the postgres
 * component (a CloudNativePG Cluster and LEDGERD_DATABASE_URL); SQLite runs one pod, replaced with
 * Recreate, on its volume.
 */
export function storageRule(objects: Manifest[]): string[] {
  const problems: string[] = []
  const hasCluster = ofKind(objects, 'Cluster').length > 0
  for (const { owner, deployment } of podTemplates(objects)) {
    const container = deployment.spec.template.spec.containers.find((c: Manifest) => c.name === 'ledgerd')
    if (container === undefined) continue
    const onPostgres = hasCluster && ledgerdEnv(objects, container).has('LEDGERD_DATABASE_URL')
    const scaled = ofKind(objects, 'HorizontalPodAutoscaler').some(
      (h) => h.spec.scaleTargetRef.name === deployment.metadata.name,
    )
    const replicas = deployment.spec.replicas ?? 1
    if (!onPostgres && scaled) problems.push(`${owner}: autoscaled on SQLite; add the postgres component`)
    if (!onPostgres && replicas > 1)
      problems.push(`${owner}: ${replicas} replicas on SQLite; add the postgres component`)
    if (!onPostgres && deployment.spec.strategy?.type !== 'Recreate') {
      problems.push(`${owner}: SQLite needs strategy Recreate (one writer per data dir)`)
    }
    if (onPostgres && deployment.spec.strategy?.rollingUpdate?.maxUnavailable !== 0) {
      problems.push(`${owner}: rolling updates should keep maxUnavailable 0`)
    }
  }
  return problems
}

/** The bundle never carries a secret value: no Secret objects, no secret setting as a literal. */
export function noSecretValues(objects: Manifest[]): string[] {
  const problems: string[] = ofKind(objects, 'Secret').map((s) => `Secret ${s.metadata.name} in the bundle`)
  for (const { owner, deployment } of podTemplates(objects)) {
    for (const container of deployment.spec.template.spec.containers) {
      for (const [name, value] of ledgerdEnv(objects, container)) {
        if (settingsByEnv.get(name)?.secret && typeof value === 'string') {
          problems.push(`${owner}: ${name} is a literal; reference a Secret`)
        }
      }
    }
  }
  return problems
}

export interface PolicyOptions {
  /** Production: images pinned by digest, no placeholders left. */
  production: boolean
}

export const policies = {
  podSecurity,
  containerHygiene,
  imagePinning: (objects: Manifest[], options: PolicyOptions) => imagePinning(objects, options.production),
  selectorsAndPorts,
  budgetsAndScaling,
  settingsAndShutdown,
  storageRule,
  noSecretValues,
} satisfies Record<string, (objects: Manifest[], options: PolicyOptions) => string[]>
