import {
  chmodSync,
  chownSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { type Manifest, ofKind } from './kustomize'
import { settingValue } from './kustomize-policies'
import { binaryPath } from './ledgerd-process'
import { freePort } from './ports'

// A rendered Deployment run the way a kubelet would run its pod, on this machine: the container's args,
// its environment (ConfigMaps and literals; Secret references filled from test values), its volumes as
// temp dirs, and its securityContext (uid, gid, fsGroup, no new privileges, no capabilities, read-only
// root with /tmp on its emptyDir) through unshare + setpriv. Two liberties, both stated: paths under a
// mount point are rewritten to the volume's temp dir, and the ports the manifest declares are moved to
// free ports on 127.0.0.1 so that parallel tests cannot collide.

export type SecretValues = Record<string, Record<string, string>>

export interface PodProcess {
  process: Subprocess<'ignore', 'pipe', 'pipe'>
  /** The declared container port (by name and number) → where it listens here. */
  portFor(port: string | number): number
  output(): string
  exited: Promise<number>
  cleanup(): void
}

function resolveRef(secrets: SecretValues, ref: Manifest, what: string): string | undefined {
  const value = secrets[ref.name]?.[ref.key]
  if (value === undefined && !ref.optional)
    throw new Error(`${what}: no test value for Secret ${ref.name} key ${ref.key}`)
  return value
}

export async function runPod(objects: Manifest[], secrets: SecretValues): Promise<PodProcess> {
  const deployment = ofKind(objects, 'Deployment')[0] as Manifest
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  const podContext = pod.securityContext ?? {}
  const context = container.securityContext ?? {}
  const uid: number = context.runAsUser ?? podContext.runAsUser
  const gid: number = context.runAsGroup ?? podContext.runAsGroup
  const fsGroup: number | undefined = podContext.fsGroup
  // Not under /tmp: the pod's own /tmp (its emptyDir) is mounted over it.
  const root = mkdtempSync(join('/var/tmp', 'ledgerd-pod-'))
  chmodSync(root, 0o755)

  // Volumes: emptyDir and PVC as writable dirs owned by the fsGroup; Secrets as files like the kubelet's.
  const volumeDirs = new Map<string, string>()
  for (const volume of pod.volumes ?? []) {
    const dir = join(root, volume.name)
    mkdirSync(dir)
    if (volume.secret) {
      const values = secrets[volume.secret.secretName]
      if (!values)
        throw new Error(`volume ${volume.name}: no test values for Secret ${volume.secret.secretName}`)
      const items: { key: string; path: string }[] =
        volume.secret.items ?? Object.keys(values).map((key) => ({ key, path: key }))
      for (const item of items) {
        const file = join(dir, item.path)
        writeFileSync(file, values[item.key] ?? '')
        chownSync(file, 0, fsGroup ?? 0)
        chmodSync(file, volume.secret.defaultMode ?? 0o644)
      }
      chmodSync(dir, 0o755)
    } else {
      chownSync(dir, uid, fsGroup ?? gid)
      chmodSync(dir, 0o2770)
    }
    volumeDirs.set(volume.name, dir)
  }
  const mounts: { path: string; dir: string; readOnly: boolean }[] = (container.volumeMounts ?? []).map(
    (mount: Manifest) => ({
      path: mount.mountPath,
      dir: volumeDirs.get(mount.name) as string,
      readOnly: !!mount.readOnly,
    }),
  )
  const rewrite = (value: string) => {
    const mount = mounts.find((m) => value === m.path || value.startsWith(`${m.path}/`))
    return mount && mount.path !== '/tmp' ? mount.dir + value.slice(mount.path.length) : value
  }

  // Environment, in the kubelet's order: envFrom, then env (later wins).
  const env: Record<string, string> = { PATH: '/usr/bin:/bin' }
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const configMap = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === source.configMapRef.name)
      if (!configMap && !source.configMapRef.optional)
        throw new Error(`no ConfigMap ${source.configMapRef.name}`)
      Object.assign(env, configMap?.data ?? {})
    }
    if (source.secretRef) {
      const values = secrets[source.secretRef.name]
      if (!values && !source.secretRef.optional)
        throw new Error(`no test values for Secret ${source.secretRef.name}`)
      Object.assign(env, values ?? {})
    }
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value
    else if (variable.valueFrom?.secretKeyRef) {
      const value = resolveRef(secrets, variable.valueFrom.secretKeyRef, variable.name)
      if (value !== undefined) env[variable.name] = value
    } else throw new Error(`env ${variable.name}: unsupported source ${JSON.stringify(variable.valueFrom)}`)
  }
  for (const [name, value] of Object.entries(env)) env[name] = rewrite(value)

  // Ports: ledgerd must listen where the manifest says it does, then both move to free loopback ports.
  const envMap = new Map(Object.entries(env))
  const declared = new Map<string | number, number>()
  for (const port of container.ports ?? []) {
    declared.set(port.name, port.containerPort)
    declared.set(port.containerPort, port.containerPort)
  }
  const listens = { http: settingValue(envMap, 'port'), admin: settingValue(envMap, 'adminPort') }
  for (const [name, port] of Object.entries(listens)) {
    if (declared.get(name) !== port)
      throw new Error(`ledgerd listens for ${name} on ${port}, the manifest declares ${declared.get(name)}`)
  }
  const moved = new Map<number, number>([
    [listens.http, freePort()],
    [listens.admin, freePort()],
  ])
  Object.assign(env, {
    LEDGERD_HOST: '127.0.0.1',
    LEDGERD_ADMIN_HOST: '127.0.0.1',
    LEDGERD_PORT: String(moved.get(listens.http)),
    LEDGERD_ADMIN_PORT: String(moved.get(listens.admin)),
  })

  // The securityContext, as setpriv flags, inside a private mount namespace.
  const writable = mounts.filter((m) => !m.readOnly && m.path !== '/tmp').map((m) => m.dir)
  const tmpMount = mounts.find((m) => m.path === '/tmp')
  const script = [
    'set -e',
    ...writable.map((dir) => `mount --bind "${dir}" "${dir}"`),
    ...(tmpMount ? [`mount --bind "${tmpMount.dir}" /tmp`] : []),
    ...(context.readOnlyRootFilesystem ? ['mount -o remount,bind,ro /'] : []),
    'exec setpriv "$@"',
  ].join('\n')
  const setprivFlags = [
    `--reuid=${uid}`,
    `--regid=${gid}`,
    fsGroup === undefined ? '--clear-groups' : `--groups=${fsGroup}`,
    ...(context.allowPrivilegeEscalation === false ? ['--no-new-privs'] : []),
    ...((context.capabilities?.drop ?? []).includes('ALL') ? ['--inh-caps=-all', '--bounding-set=-all'] : []),
    '--',
  ]
  // The binary beside the pod's volumes: where the checkout lives under /tmp (CI's clone may), the pod's
  // /tmp mount would hide it. A hard link where the filesystem allows, else a copy.
  const binary = join(root, 'ledgerd')
  try {
    linkSync(binaryPath, binary)
  } catch {
    copyFileSync(binaryPath, binary)
  }
  chmodSync(binary, 0o755)
  const argv = [binary, ...(container.command ?? []).slice(1), ...(container.args ?? [])]
  const child = Bun.spawn(
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      script,
      'sh',
      ...setprivFlags,
      ...argv,
    ],
    { env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' },
  )
  let output = ''
  const decoder = new TextDecoder()
  for (const stream of [child.stdout, child.stderr]) {
    void (async () => {
      for await (const chunk of stream) output += decoder.decode(chunk)
    })()
  }
  return {
    process: child,
    portFor(port) {
      const containerPort = declared.get(port)
      const local = containerPort === undefined ? undefined : moved.get(containerPort)
      if (local === undefined) throw new Error(`no container port ${port}`)
      return local
    },
    output: () => output,
    exited: child.exited,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  }
}

export interface ProbeResult {
  ok: boolean
  attempts: number
  status?: number
}

/** One httpGet probe as declared: status 200–399 within timeoutSeconds counts as success. */
export async function probeOnce(pod: PodProcess, probe: Manifest): Promise<number | undefined> {
  const { path, port } = probe.httpGet
  try {
    const response = await fetch(`http://127.0.0.1:${pod.portFor(port)}${path}`, {
      signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000),
    })
    await response.arrayBuffer()
    return response.status
  } catch {
    return undefined
  }
}

const succeeded = (status: number | undefined) => status !== undefined && status >= 200 && status < 400

/**
 * A probe run until it succeeds or reaches failureThreshold, waiting initialDelaySeconds first and
 * periodSeconds between attempts (scaled by `timeScale` to keep tests short).
 */
export async function probeUntil(pod: PodProcess, probe: Manifest, timeScale = 1): Promise<ProbeResult> {
  await Bun.sleep((probe.initialDelaySeconds ?? 0) * 1000 * timeScale)
  const threshold = probe.failureThreshold ?? 3
  let status: number | undefined
  for (let attempt = 1; attempt <= threshold; attempt++) {
    status = await probeOnce(pod, probe)
    if (succeeded(status)) return { ok: true, attempts: attempt, status }
    // A container that exited fails its probes for good (the kubelet would restart it).
    if (pod.process.exitCode !== null) return { ok: false, attempts: attempt, status }
    if (attempt < threshold) await Bun.sleep((probe.periodSeconds ?? 10) * 1000 * timeScale)
  }
  return { ok: false, attempts: threshold, status }
}

export { succeeded as probeSucceeded }
