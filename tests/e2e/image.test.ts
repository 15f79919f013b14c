import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { chownSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ledgerClient } from '../support/ledger-client'
import { imageUser, tempDir } from '../support/ledgerd-process'
import { SCHED_IDLE, SCHED_OTHER, threadsOf } from '../support/threads'

// The container image, built from the real Dockerfile by scripts/build-image.sh with buildah (no Docker
// engine and no registry here) on the local distroless stand-in (scripts/image-base-standin.sh), then
// run the way a container runtime would: the image's own entrypoint, command, environment, working dir
// and user, its root filesystem read-only and only /data writable. One build per run (vfs copies the
// ~130 MB layer on every build and every container).

const repo = resolve(import.meta.dir, '../..')
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version
const standinTag = 'localhost/ledgerd-distroless-standin:cc-debian12-nonroot'
const tag = `localhost/ledgerd:image-test-${process.pid}`
const canRun =
  process.platform === 'linux' &&
  process.arch === 'x64' &&
  process.getuid?.() === 0 &&
  Bun.which('unshare') !== null &&
  (Bun.which('buildah') !== null || Bun.which('apt-get') !== null)

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs a command to completion, killed (and failing) after timeoutMs. */
async function run(argv: string[], timeoutMs: number, env?: Record<string, string>): Promise<Result> {
  const proc = Bun.spawn(argv, { cwd: repo, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  let timedOut = false
  const killer = setTimeout(() => {
    timedOut = true
    proc.kill('SIGKILL')
  }, timeoutMs)
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]).finally(() => clearTimeout(killer))
  if (timedOut) throw new Error(`${argv.join(' ')} took over ${timeoutMs} ms\n${stdout}\n${stderr}`)
  return { code, stdout, stderr }
}

async function buildah(args: string[], timeoutMs = 60_000): Promise<string> {
  const result = await run(['buildah', '--storage-driver', 'vfs', ...args], timeoutMs)
  if (result.code !== 0) throw new Error(`buildah ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  return result.stdout.trim()
}

interface ImageConfig {
  User: string
  Entrypoint: string[]
  Cmd: string[]
  Env: string[]
  WorkingDir: string
  ExposedPorts: Record<string, object>
  Volumes: Record<string, object>
  Labels: Record<string, string>
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number }
}

async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = listener
  listener.stop(true)
  return port
}

describe.if(canRun)('the container image', () => {
  let config: ImageConfig
  let container: string | undefined
  let rootfs: string
  let dataDir: string
  let server: ReturnType<typeof Bun.spawn> | undefined

  /** Images and containers an earlier run left behind when it was killed (vfs: ~150 MB each). */
  async function sweepStale(): Promise<void> {
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    const stale = (image: string) => {
      const pid = /:image-test-(\d+)$/.exec(image)?.[1]
      return pid !== undefined && !alive(Number(pid))
    }
    const containers = await buildah(['containers', '--format', '{{.ContainerID}} {{.ImageName}}'])
    for (const [id, image] of containers.split('\n').map((line) => line.split(' ')))
      if (id && image && stale(image)) await buildah(['rm', id]).catch(() => {})
    const images = await buildah(['images', '--format', '{{.Name}}:{{.Tag}}'])
    for (const image of images.split('\n')) if (stale(image)) await buildah(['rmi', image]).catch(() => {})
  }

  beforeAll(async () => {
    dataDir = tempDir('ledgerd-image-data-')
    chownSync(dataDir, imageUser, imageUser)
    const built = await run(['bash', 'scripts/build-image.sh', '--standin', '--tag', tag], 280_000)
    if (built.code !== 0) throw new Error(`build-image.sh exited ${built.code}:\n${built.stderr}`)
    await sweepStale()
    const inspected = JSON.parse(await buildah(['inspect', '--type', 'image', tag])) as {
      Docker: { config: ImageConfig }
    }
    config = inspected.Docker.config
    container = await buildah(['from', '--pull=never', '--quiet', tag], 120_000)
    rootfs = await buildah(['mount', container])
  }, 300_000)

  afterAll(async () => {
    server?.kill('SIGKILL')
    await server?.exited
    if (container) {
      await buildah(['umount', container]).catch(() => {})
      await buildah(['rm', container]).catch(() => {})
    }
    await buildah(['rmi', tag]).catch(() => {})
    rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  /**
   * The argv that runs `command` inside the image as a runtime would: a private mount namespace where the
   * image's root is bind-mounted read-only, the host data dir is /data (the volume), /proc and /dev come
   * from the host; then chroot into it, cd to the image's WorkingDir, become the image's User (no
   * supplementary groups) with only the image's Env plus `env`.
   */
  function inImage(command: string[], env: Record<string, string>): string[] {
    const [uid, gid = uid] = config.User.split(':') as [string, string?]
    const script = [
      'set -e',
      'root=$1 data=$2',
      'shift 2',
      'mount --bind "$root" "$root"',
      'mount --bind "$data" "$root/data"',
      'mount --rbind /proc "$root/proc"',
      'mount --rbind /dev "$root/dev"',
      'mount -o remount,bind,ro "$root"',
      'exec env -i "$@"',
    ].join('\n')
    const environment = [...config.Env, ...Object.entries(env).map(([key, value]) => `${key}=${value}`)]
    return [
      ...['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', rootfs, dataDir],
      ...environment,
      ...['unshare', `--root=${rootfs}`, `--wd=${config.WorkingDir || '/'}`, '--setgid', `${gid}`],
      ...['--setuid', `${uid}`, '--', ...command],
    ]
  }

  test('its config: user 65532, entrypoint and command, ports, the data volume, labels, healthcheck', () => {
    expect(config.User).toBe('65532:65532')
    expect(config.Entrypoint).toEqual(['/ledgerd'])
    expect(config.Cmd).toEqual(['serve'])
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(['8080/tcp', '8081/tcp'])
    expect(config.Env).toContain('LEDGERD_DATA_DIR=/data')
    expect(Object.keys(config.Volumes)).toEqual(['/data'])
    const revision = Bun.spawnSync(['git', 'rev-parse', 'HEAD'], { cwd: repo }).stdout.toString().trim()
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'ledgerd',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.revision': revision,
      'org.opencontainers.image.base.name': standinTag,
    })
    expect(config.Labels['org.opencontainers.image.source']).toBeString()
    expect(config.Healthcheck?.Test).toEqual(['CMD', '/ledgerd', 'healthcheck', '--timeout', '3s'])
    expect(config.Healthcheck?.Retries).toBeGreaterThan(0)
  })

  test('its filesystem: the base, a read-only binary owned by root, /data owned by 65532, no sources', () => {
    const binary = statSync(join(rootfs, 'ledgerd'))
    expect([binary.uid, binary.gid, binary.mode & 0o7777]).toEqual([0, 0, 0o555])
    expect(binary.size).toBe(statSync(join(repo, 'dist/ledgerd')).size)
    const data = statSync(join(rootfs, 'data'))
    expect([data.isDirectory(), data.uid, data.gid]).toEqual([true, imageUser, imageUser])
    expect(readdirSync(join(rootfs, 'data'))).toEqual([])
    const top = readdirSync(rootfs)
    for (const name of ['src', 'tests', 'node_modules', 'package.json', 'dist', '.git', 'Dockerfile'])
      expect(top).not.toContain(name)
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toContain(
      'nonroot:x:65532:65532:nonroot:/home/nonroot:',
    )
  })

  test('runs as 65532 on a read-only root: ready by its own healthcheck, serves the API, exits 0 on SIGTERM', async () => {
    const [apiPort, adminPort] = [await freePort(), await freePort()]
    // As `docker run -e …`: the healthcheck runs with the container's environment, so it finds the port.
    const env = {
      LEDGERD_HOST: '127.0.0.1',
      LEDGERD_PORT: String(apiPort),
      LEDGERD_ADMIN_HOST: '127.0.0.1',
      LEDGERD_ADMIN_PORT: String(adminPort),
    }
    const healthcheck = inImage((config.Healthcheck?.Test ?? ['CMD']).slice(1), env)

    const before = await run(healthcheck, 10_000)
    expect(before.code).toBe(1)
    expect(before.stderr).toContain(`not ready: http://127.0.0.1:${adminPort}/readyz`)

    const proc = Bun.spawn(inImage([...config.Entrypoint, ...config.Cmd], env), {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    })
    server = proc
    const stdout = new Response(proc.stdout).text()
    const stderr = new Response(proc.stderr).text()

    let ready: Result | undefined
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      ready = await run(healthcheck, 10_000)
      if (ready.code === 0) break
      await Bun.sleep(100)
    }
    if (ready?.code !== 0) {
      proc.kill('SIGKILL')
      throw new Error(`never ready: ${ready?.stderr}\n${await stdout}\n${await stderr}`)
    }
    expect(ready.stdout).toContain('ready:')

    // The process, after unshare and env exec'd into it: the image's user, no groups, root read-only.
    const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8')
    expect(readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0')[0]).toBe('/ledgerd')
    expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m)
    expect(status).toMatch(/^Gid:\s+65532\s+65532\s+65532\s+65532$/m)
    expect(status).toMatch(/^Groups:\s*$/m)
    const mounts = readFileSync(`/proc/${proc.pid}/mountinfo`, 'utf8').split('\n')
    const mountOptions = (at: string) => mounts.find((line) => line.split(' ')[4] === at)?.split(' ')[5]
    expect(mountOptions('/')).toStartWith('ro')
    expect(mountOptions('/data')).toStartWith('rw')
    // serve restarted itself in place (execve of /proc/self/exe, through libc) with freed memory kept
    // mapped: it works on a read-only root, and the image sets no variable for it.
    expect(readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0')).toContain('MIMALLOC_PURGE_DELAY=-1')

    const client = ledgerClient(`http://127.0.0.1:${apiPort}`, { timeoutMs: 5_000 })
    const user = await client.signUp('image@example.com')
    expect((await client.send('GET', '/v1/users/me', { token: user.token })).status).toBe(200)
    // Sign-up hashing lowered its threads through libc (bun:ffi) in distroless too: nice 19 and
    // SCHED_IDLE, two of them; every other thread SCHED_OTHER.
    const threads = threadsOf(proc.pid)
    expect(threads.filter((thread) => thread.nice === 19)).toHaveLength(2)
    expect(
      threads.filter((thread) => thread.policy !== (thread.nice === 19 ? SCHED_IDLE : SCHED_OTHER)),
    ).toEqual([])
    const database = statSync(join(dataDir, 'ledgerd.db'))
    expect([database.uid, database.gid]).toEqual([imageUser, imageUser])

    proc.kill('SIGTERM')
    const code = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => 'timeout' as const)])
    if (code === 'timeout') proc.kill('SIGKILL')
    expect(code).toBe(0)
    expect(await stdout).toContain('"msg":"shutdown complete"')
    expect(await stdout).not.toContain('sign-up hashing runs at normal CPU priority')
    expect(await stdout).not.toContain('sign-up hashing runs at nice 19 without SCHED_IDLE')
    expect(await stdout).not.toContain('freed memory goes back to the kernel')
  }, 60_000)
})
