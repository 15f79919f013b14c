import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Server } from 'bun'
import { binaryPath, createAdmin, type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'
import { repoRoot, runScriptAsync, standIns } from '../support/stand-ins'

// scripts/smoke-test.sh against the compiled binary. Between the script and ledgerd sits a recording
// proxy, so the test sees every request and answer the script made, and learns the throwaway password
// and token the script never shows, to prove they are not in its output. --namespace mode runs with a
// stand-in kubectl whose "port-forward" starts nothing but announces the local ports of this ledgerd,
// as the real one announces its own: the script then talks to the real server.

interface Exchange {
  method: string
  path: string
  status: number
  requestBody: string
  responseBody: string
}

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

let server: RunningLedgerd
let closed: RunningLedgerd
let proxy: Server<undefined>
let exchanges: Exchange[] = []
let adminToken: string
const scratch = mkdtempSync(join(tmpdir(), 'ledgerd-smoke-tmp-'))

beforeAll(async () => {
  if (!existsSync(binaryPath) || statSync(binaryPath).mtimeMs < newestSource(join(repoRoot, 'src'))) {
    const build = Bun.spawnSync(['bash', 'scripts/build.sh'], {
      cwd: repoRoot,
      stdout: 'inherit',
      stderr: 'inherit',
    })
    if (build.exitCode !== 0) throw new Error('scripts/build.sh failed')
  }
  server = await startLedgerd()
  closed = await startLedgerd({ args: ['--signup', 'closed'] })
  const password = await createAdmin(server.dataDir, 'root@example.com')
  const login = await fetch(`${server.apiUrl}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'root@example.com', password }),
  })
  adminToken = ((await login.json()) as { access_token: string }).access_token
  proxy = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const requestBody = await request.text()
      const upstream = await fetch(`${server.apiUrl}${url.pathname}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body: requestBody || undefined,
      })
      const responseBody = await upstream.text()
      exchanges.push({
        method: request.method,
        path: url.pathname,
        status: upstream.status,
        requestBody,
        responseBody,
      })
      return new Response(responseBody || null, { status: upstream.status, headers: upstream.headers })
    },
  })
}, 120_000)

afterAll(async () => {
  proxy?.stop(true)
  expect(await server?.stop()).toBe(0)
  expect(await closed?.stop()).toBe(0)
  rmSync(scratch, { recursive: true, force: true })
})

function smoke(args: string[], env: Record<string, string> = {}) {
  exchanges = []
  return runScriptAsync('scripts/smoke-test.sh', args, { env: { TMPDIR: scratch, ...env } })
}

async function userEmails(): Promise<string[]> {
  const response = await fetch(`${server.apiUrl}/v1/users?limit=100`, {
    headers: { authorization: `Bearer ${adminToken}` },
  })
  return ((await response.json()) as { items: { email: string }[] }).items.map((user) => user.email)
}

/** The secrets of the run, from the proxy: the throwaway password and the access token. */
function secretsOf(run: Exchange[]): string[] {
  const signup = run.find((e) => e.method === 'POST' && e.path === '/v1/users')
  const login = run.find((e) => e.path === '/v1/auth/token')
  return [
    (JSON.parse(signup?.requestBody ?? '{}') as { password?: string }).password ?? '',
    (JSON.parse(login?.responseBody || '{}') as { access_token?: string }).access_token ?? '',
  ].filter(Boolean)
}

describe('scripts/smoke-test.sh --url', () => {
  test('readiness and the round trip pass: exit 0, the user is gone, no secret printed', async () => {
    const { code, stdout, stderr } = await smoke([
      '--url',
      `http://127.0.0.1:${proxy.port}`,
      '--admin-url',
      server.adminUrl,
    ])
    expect(stderr).toContain(`smoke: GET ${server.adminUrl}/readyz -> 200`)
    expect(code).toBe(0)
    const userId = JSON.parse(exchanges[0]?.responseBody ?? '{}').id as string
    expect(exchanges.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
      'POST /v1/users 201',
      'POST /v1/auth/token 200',
      'GET /v1/users/me 200',
      `DELETE /v1/users/${userId} 204`,
      'GET /v1/users/me 401',
    ])
    expect(stderr).toContain(`smoke: DELETE /v1/users/${userId} -> 204`)
    const email = JSON.parse(exchanges[0]?.requestBody ?? '{}').email as string
    expect(email).toMatch(/^smoke-[0-9a-f]{16}@smoke\.invalid$/)
    expect(await userEmails()).not.toContain(email)
    expect((await userEmails()).filter((e) => e.startsWith('smoke-'))).toEqual([])
    const secrets = secretsOf(exchanges)
    expect(secrets).toHaveLength(2)
    expect(secrets[0]?.length).toBeGreaterThanOrEqual(24)
    for (const secret of secrets) expect(stdout + stderr).not.toContain(secret)
    // Its work dir (password, token) is gone.
    expect(readdirSync(scratch)).toEqual([])
  })

  test('sign-up closed: exit 1 naming the step, and no user made', async () => {
    const { code, stderr } = await smoke(['--url', closed.apiUrl, '--admin-url', closed.adminUrl])
    expect(code).toBe(1)
    expect(stderr).toMatch(/smoke: FAILED at signup: expected 201, got 403/)
    expect(readdirSync(scratch)).toEqual([])
  })

  test('nothing listening: exit 1 at the first step (readyz, or signup without an admin URL)', async () => {
    const nowhere = 'http://127.0.0.1:1'
    expect((await smoke(['--url', server.apiUrl, '--admin-url', nowhere])).stderr).toContain(
      'smoke: FAILED at readyz',
    )
    const { code, stderr } = await smoke(['--url', nowhere])
    expect(code).toBe(1)
    expect(stderr).toContain('smoke: FAILED at signup')
  })
})

describe('scripts/smoke-test.sh --namespace (stand-in kubectl)', () => {
  const kubectl = standIns({
    kubectl: `case "$*" in
  *" get pods "*) echo ledgerd-7d9f-abcde ;;
  *" port-forward "*" svc/ledgerd :8080") echo "Forwarding from 127.0.0.1:$FAKE_API_PORT -> 8080"; echo $$ >>"$STAND_INS/pids"; exec sleep 120 ;;
  *" port-forward "*" pod/ledgerd-7d9f-abcde :8081") echo "Forwarding from 127.0.0.1:$FAKE_ADMIN_PORT -> 8081"; echo $$ >>"$STAND_INS/pids"; exec sleep 120 ;;
  *) exit 97 ;;
esac`,
  })
  afterAll(() => kubectl.remove())

  test('port-forwards the Service and one pod, checks through them, and stops the forwards', async () => {
    const { code, stderr } = await smoke(['--namespace', 'ledgerd-staging'], {
      PATH: kubectl.path,
      FAKE_API_PORT: String(proxy.port),
      FAKE_ADMIN_PORT: new URL(server.adminUrl).port,
    })
    expect(stderr).toContain('smoke: ok')
    expect(code).toBe(0)
    expect(kubectl.calls()).toEqual([
      'kubectl -n ledgerd-staging port-forward --address 127.0.0.1 svc/ledgerd :8080',
      'kubectl -n ledgerd-staging get pods -l app.kubernetes.io/name=ledgerd --field-selector=status.phase=Running -o jsonpath={.items[0].metadata.name}',
      'kubectl -n ledgerd-staging port-forward --address 127.0.0.1 pod/ledgerd-7d9f-abcde :8081',
    ])
    expect(exchanges.at(-2)?.status).toBe(204)
    // Both forwards were stopped on exit.
    const pids = (await Bun.file(join(kubectl.dir, 'pids')).text()).trim().split('\n').map(Number)
    expect(pids).toHaveLength(2)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
  })

  test('a port-forward that fails: exit 1 at port-forward', async () => {
    const failing = standIns({ kubectl: 'echo "error: services \\"ledgerd\\" not found" >&2; exit 1' })
    const { code, stderr } = await smoke(['--namespace', 'ledgerd-staging'], { PATH: failing.path })
    failing.remove()
    expect(code).toBe(1)
    expect(stderr).toContain('error: services "ledgerd" not found')
    expect(stderr).toContain('smoke: FAILED at port-forward')
  })
})
