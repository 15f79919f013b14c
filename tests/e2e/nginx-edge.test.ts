import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { avatarFilesPath } from '../../src/avatars/local-store'
import { ensureDebianPackage } from '../support/debian'
import { binaryPath, type RunningLedgerd, startLedgerd, tempDir } from '../support/ledgerd-process'
import { freePort } from '../support/ports'
import { configured } from '../unit/mesh/ledgerd-config'
import { build, repoRoot } from '../unit/mesh/manifests'
import { edgeNginxConf } from '../unit/mesh/nginx-conf'

// ledgerd behind a real NGINX configured from kustomize/components/nginx the way F5 NGINX Ingress
// Controller would (tests/unit/mesh/nginx-conf.ts). NGINX connects to ledgerd from 127.0.0.2, the client
// from 127.0.0.1, so the address ledgerd logs tells the client from the proxy.

const manifests = build('kustomize/components/nginx')
const proxyAddress = '127.0.0.2'
let ledgerd: RunningLedgerd
let nginx: Subprocess
let prefix: string
let edgeUrl: string

function ensureNginx(): void {
  ensureDebianPackage('nginx', () => Bun.which('nginx') !== null || existsSync('/usr/sbin/nginx'))
}

function ensureBinary(): void {
  if (existsSync(binaryPath)) return
  const run = Bun.spawnSync(['bash', 'scripts/build.sh'], { cwd: repoRoot, stdout: 'ignore', stderr: 'pipe' })
  if (run.exitCode !== 0) throw new Error(`build failed: ${run.stderr.toString()}`)
}

async function waitForPort(port: number, process: Subprocess): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`nginx exited ${process.exitCode}`)
    try {
      const socket = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } })
      socket.end()
      return
    } catch {
      await Bun.sleep(50)
    }
  }
  throw new Error(`nginx did not listen on ${port}`)
}

beforeAll(async () => {
  ensureNginx()
  ensureBinary()
  ledgerd = await startLedgerd({
    args: [
      '--forwarded-for-hops',
      String(configured(manifests, 'forwardedForHops')),
      '--body-limit',
      String(configured(manifests, 'bodyLimitBytes')),
      '--login-max-failures',
      '1',
    ],
  })
  prefix = tempDir('ledgerd-nginx-')
  for (const dir of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, dir))
  const port = freePort()
  const conf = edgeNginxConf({
    manifests,
    listen: `127.0.0.1:${port}`,
    upstream: new URL(ledgerd.apiUrl).host,
    prefix,
    proxyBind: proxyAddress,
  })
  writeFileSync(join(prefix, 'nginx.conf'), conf)
  const nginxBinary = Bun.which('nginx') ?? '/usr/sbin/nginx'
  nginx = Bun.spawn(
    [nginxBinary, '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')],
    {
      stdout: 'inherit',
      stderr: 'inherit',
    },
  )
  await waitForPort(port, nginx)
  edgeUrl = `http://127.0.0.1:${port}`
}, 180_000)

afterAll(async () => {
  nginx?.kill('SIGQUIT')
  await nginx?.exited
  if (prefix) rmSync(prefix, { recursive: true, force: true })
  if (ledgerd) expect(await ledgerd.stop()).toBe(0)
})

const requestLines = () => ledgerd.logs.filter((l) => l.msg === 'request')
async function loggedLine(requestId: string) {
  for (let i = 0; i < 40 && !requestLines().some((l) => l.requestId === requestId); i++) await Bun.sleep(25)
  return requestLines().find((l) => l.requestId === requestId)
}

test('X-Request-Id survives the hop both ways, and one is generated when the client sends none', async () => {
  const sent = await fetch(`${edgeUrl}/v1/meta`, { headers: { 'x-request-id': 'edge-test.42' } })
  expect(sent.status).toBe(200)
  expect(sent.headers.get('x-request-id')).toBe('edge-test.42')
  expect((await loggedLine('edge-test.42'))?.path).toBe('/v1/meta')

  const generated = await fetch(`${edgeUrl}/v1/meta`)
  const id = generated.headers.get('x-request-id')
  expect(id).toBeTruthy()
  expect((await loggedLine(id ?? ''))?.path).toBe('/v1/meta')
})

test("ledgerd logs the client's address, not the proxy's nor a forged X-Forwarded-For", async () => {
  const response = await fetch(`${edgeUrl}/v1/meta`, {
    headers: { 'x-request-id': 'edge-test.spoof', 'x-forwarded-for': '6.6.6.6, 10.0.0.1' },
  })
  expect(response.status).toBe(200)
  expect((await loggedLine('edge-test.spoof'))?.remoteAddr).toBe('127.0.0.1')
})

test('failed logins are throttled on the client address whatever X-Forwarded-For the client forges', async () => {
  const attempt = (i: number) =>
    fetch(`${edgeUrl}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `6.6.6.${i}` },
      body: JSON.stringify({ email: `guess${i}@example.com`, password: 'not the password' }),
    })
  // --login-max-failures 1 allows four failures per client address, each for a fresh email.
  for (let i = 0; i < 4; i++) expect((await attempt(i)).status).toBe(401)
  expect((await attempt(9)).status).toBe(429)
  const logins = requestLines().filter((l) => l.route === '/v1/auth/token')
  expect(new Set(logins.map((l) => l.remoteAddr))).toEqual(new Set(['127.0.0.1']))
})

test('a body over the limit is refused by NGINX with 413 before ledgerd; one at the limit gets through', async () => {
  const limit = configured(manifests, 'bodyLimitBytes')
  const post = (bytes: number, id: string) =>
    fetch(`${edgeUrl}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: `"${'x'.repeat(bytes - 2)}"`,
    })
  const over = await post(limit + 1, 'edge-test.over')
  expect(over.status).toBe(413)
  expect(over.headers.get('server')).toMatch(/^nginx/)
  const atLimit = await post(limit, 'edge-test.at-limit')
  expect(atLimit.status).not.toBe(413)
  expect((await loggedLine('edge-test.at-limit'))?.path).toBe('/v1/users')
  expect(requestLines().some((l) => l.requestId === 'edge-test.over')).toBe(false)
})

test('signed avatar uploads have their own, larger limit at the edge', async () => {
  const size = configured(manifests, 'bodyLimitBytes') + 1
  const upload = await fetch(`${edgeUrl}${avatarFilesPath}/someone?expires=0&signature=x`, {
    method: 'PUT',
    headers: { 'content-type': 'image/png', 'x-request-id': 'edge-test.avatar' },
    body: new Uint8Array(size),
  })
  expect(upload.status).not.toBe(413)
  expect((await loggedLine('edge-test.avatar'))?.path).toStartWith(avatarFilesPath)
})

test('NGINX rate-limits one client with 429 once its burst is spent', async () => {
  const statuses = await Promise.all(
    Array.from({ length: 120 }, () => fetch(`${edgeUrl}/v1/meta`).then((r) => r.status)),
  )
  expect(statuses).toContain(429)
  expect(statuses).toContain(200)
})
