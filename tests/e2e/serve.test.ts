import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, chownSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { acquireDataDirLock } from '../../src/db/data-dir-lock'
import {
  binaryPath,
  cleanEnv,
  imageSandbox,
  imageUser,
  type RunningLedgerd,
  startLedgerd,
  tempDir,
} from '../support/ledgerd-process'
import { openApiErrors } from '../support/openapi'

async function waitForReady(adminUrl: string, withinMs: number): Promise<number> {
  const deadline = performance.now() + withinMs
  while (performance.now() < deadline) {
    const response = await fetch(`${adminUrl}/readyz`).catch(() => undefined)
    if (response?.status === 200) return performance.now()
    await Bun.sleep(5)
  }
  throw new Error(`not ready within ${withinMs} ms`)
}

describe('ledgerd serve', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd()
  })
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('answers /readyz 200 on the admin port within one second of starting', async () => {
    const readyAt = await waitForReady(server.adminUrl, 1000)
    expect(readyAt - server.startedAt).toBeLessThan(1000)
    expect((await fetch(`${server.adminUrl}/healthz`)).status).toBe(200)
  })

  test('after an API request, /metrics shows its latency under the route template', async () => {
    const response = await fetch(`${server.apiUrl}/problems/not-found`)
    expect(response.status).toBe(200)
    const metrics = await (await fetch(`${server.adminUrl}/metrics`)).text()
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/problems\/:type",status="200"\} [1-9]/,
    )
    expect(metrics).toContain('process_resident_memory_bytes')
  })

  test('the admin endpoints are not on the API port', async () => {
    for (const path of ['/metrics', '/readyz', '/healthz']) {
      expect((await fetch(`${server.apiUrl}${path}`)).status).toBe(404)
    }
  })

  test('/openapi.json is valid OpenAPI 3.1', async () => {
    const document = await (await fetch(`${server.apiUrl}/openapi.json`)).json()
    expect(await openApiErrors(document)).toEqual([])
  })

  test('an oversized body gets 413 problem details over a real socket', async () => {
    const response = await fetch(`${server.apiUrl}/v1/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
    })
    expect(response.status).toBe(413)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
  })

  test('each request gets one JSON access-log line with its request id', async () => {
    await fetch(`${server.apiUrl}/v1/meta`, { headers: { 'x-request-id': 'e2e-access-log' } })
    await Bun.sleep(50)
    const lines = server.logs.filter((l) => l.msg === 'request' && l.requestId === 'e2e-access-log')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ route: '/v1/meta', status: 200, method: 'GET' })
  })
})

describe('graceful shutdown of the binary', () => {
  test('SIGTERM: readiness turns 503 at once, requests in flight finish in full, then exit 0', async () => {
    const server = await startLedgerd({ args: ['--shutdown-delay', '1s'] })
    // A large response read slowly stays in flight across the signal.
    const download = await fetch(`${server.apiUrl}/docs/assets/scalar-api-reference.js`, {
      headers: { 'accept-encoding': 'identity' },
    })
    const expectedBytes = Number(download.headers.get('content-length'))
    expect(expectedBytes).toBeGreaterThan(1_000_000)
    const reader = (download.body as ReadableStream<Uint8Array>).getReader()
    let received = (await reader.read()).value?.byteLength ?? 0

    server.process.kill('SIGTERM')
    await Bun.sleep(100)
    const readiness = await fetch(`${server.adminUrl}/readyz`)
    expect(readiness.status).toBe(503)
    expect(await readiness.json()).toEqual({ status: 'not ready', reason: 'draining' })
    // Still serving during the delay, so traffic routed before the load balancer noticed is not lost.
    expect((await fetch(`${server.apiUrl}/v1/meta`)).status).toBe(200)

    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      received += value.byteLength
      await Bun.sleep(1)
    }
    expect(received).toBe(expectedBytes)
    expect(await server.exited).toBe(0)
    expect(server.logs.find((l) => l.msg === 'shutdown complete')).toMatchObject({ drained: true })
    await server.stop()
  })

  test('SIGINT (Ctrl-C) shuts down the same way and promptly', async () => {
    const server = await startLedgerd()
    const started = performance.now()
    server.process.kill('SIGINT')
    expect(await server.exited).toBe(0)
    expect(performance.now() - started).toBeLessThan(2000)
    await server.stop()
  })
})

describe.each(['bun-sqlite', 'better-sqlite3'])('the binary with --db-driver %s', (driver) => {
  test('starts, migrates, answers ready, and commits ledger writes from its writer thread', async () => {
    const server = await startLedgerd({ args: ['--db-driver', driver] })
    expect((await fetch(`${server.adminUrl}/readyz`)).status).toBe(200)
    expect(server.logs.find((l) => l.msg === 'listening')?.dbDriver).toBe(driver)
    const post = async (path: string, body: unknown, token?: string) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (token) headers.authorization = `Bearer ${token}`
      const response = await fetch(`${server.apiUrl}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      })
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    }
    const credentials = { email: `${driver}@example.com`, password: 'a long enough password' }
    await post('/v1/users', { ...credentials, name: driver })
    const token = (await post('/v1/auth/token', credentials)).body.access_token as string
    const account = (await post('/v1/accounts', { currency: 'EUR' }, token)).body.id as string
    const deposit = await post(`/v1/accounts/${account}/deposits`, { amount: 250 }, token)
    expect(deposit).toMatchObject({ status: 201, body: { balanceAfter: 250 } })
    expect(await server.stop()).toBe(0)
  })
})

describe('as the container image runs it: non-root, read-only root filesystem', () => {
  const canSandbox =
    process.getuid?.() === 0 && Bun.which('unshare') !== null && Bun.which('setpriv') !== null
  let dataDir: string
  beforeAll(() => {
    dataDir = tempDir()
    if (canSandbox) chownSync(dataDir, imageUser, imageUser)
  })
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  test.if(canSandbox)('the default driver serves with only the data dir writable', async () => {
    const server = await startLedgerd({ dataDir, wrapper: imageSandbox(dataDir) })
    expect((await fetch(`${server.adminUrl}/readyz`)).status).toBe(200)
    expect((await fetch(`${server.apiUrl}/v1/meta`)).status).toBe(200)
    expect(await server.stop()).toBe(0)
  })
  test.if(canSandbox)(
    'the better-sqlite3 driver says why it cannot start when /tmp is read-only',
    async () => {
      const proc = Bun.spawn(
        [
          ...imageSandbox(dataDir),
          binaryPath,
          'migrate',
          '--data-dir',
          dataDir,
          '--db-driver',
          'better-sqlite3',
        ],
        { env: cleanEnv(), stdout: 'pipe', stderr: 'pipe' },
      )
      expect(await proc.exited).toBe(1)
      expect(await new Response(proc.stderr).text()).toContain('$TMPDIR, which must be writable')
    },
  )

  /** serve in the sandbox on a data dir of its own, prepared as root; resolves with the exit code and stderr. */
  async function serveIn(prepare: (dir: string) => void) {
    const dir = tempDir()
    try {
      chownSync(dir, imageUser, imageUser)
      prepare(dir)
      const command = [binaryPath, 'serve', '--port', '0', '--admin-port', '0', '--data-dir', dir]
      const proc = Bun.spawn([...imageSandbox(dir), ...command], {
        env: cleanEnv(),
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const killer = setTimeout(() => proc.kill('SIGKILL'), 3_000)
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
      clearTimeout(killer)
      return { dir, code, stderr }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  test.if(canSandbox)(
    'a read-only data dir stops serve with exit 1 naming the file it could not create',
    async () => {
      const { dir, code, stderr } = await serveIn((d) => chmodSync(d, 0o500))
      expect(code).toBe(1)
      expect(stderr).toContain(`EACCES: permission denied, open '${dir}/ledgerd.lock'`)
    },
  )
  test.if(canSandbox)(
    'a lock file it can only read stops serve with exit 1: it is never shared',
    async () => {
      const { dir, code, stderr } = await serveIn((d) => {
        const lockFile = join(d, 'ledgerd.lock')
        acquireDataDirLock(d).release()
        chownSync(lockFile, imageUser, imageUser)
        chmodSync(lockFile, 0o400)
      })
      expect(code).toBe(1)
      expect(stderr).toContain(
        `cannot lock the data dir: ${dir}/ledgerd.lock: attempt to write a readonly database`,
      )
    },
  )
})
