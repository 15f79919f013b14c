import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { ensureDebianPackage } from './debian'
import { freePort } from './ports'

// A real Prometheus for the tests: Debian's (installed with apt when missing), on loopback at a free
// port, with a temp TSDB, stopped and removed by stop(). Debian's build has no Kubernetes discovery, so
// callers hand it static targets (see staticTargetsFor in tests/e2e/monitoring.test.ts).

export const prometheusBinary = '/usr/bin/prometheus'
export const promtoolBinary = '/usr/bin/promtool'

/** Installs Debian's prometheus package (prometheus and promtool) when it is missing. */
export function ensurePrometheusInstalled(): void {
  ensureDebianPackage('prometheus', () => existsSync(prometheusBinary) && existsSync(promtoolBinary))
}

export interface QueryResult {
  status: string
  error?: string
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string] }[] }
}

export interface RunningPrometheus {
  url: string
  dir: string
  /** An instant query at the current time, through the HTTP API (POST, so long expressions fit). */
  query(expr: string): Promise<QueryResult>
  get<T>(path: string): Promise<T>
  stop(): Promise<void>
}

/**
 * Starts Prometheus with this configuration (an object, written as JSON: YAML's superset) and these
 * rule files (name → text, written into the directory `rule_files` should point at: `{rulesDir}`).
 */
export async function startPrometheus(
  config: (rulesDir: string, port: number) => unknown,
  rules: Record<string, string>,
  extraArgs: string[] = [],
): Promise<RunningPrometheus> {
  ensurePrometheusInstalled()
  const dir = mkdtempSync(join(tmpdir(), 'ledgerd-prometheus-'))
  const rulesDir = join(dir, 'rules')
  mkdirSync(rulesDir)
  for (const [name, text] of Object.entries(rules)) writeFileSync(join(rulesDir, name), text)
  const port = freePort()
  const configFile = join(dir, 'prometheus.yml')
  writeFileSync(configFile, JSON.stringify(config(rulesDir, port), null, 2))
  const check = spawnSync(promtoolBinary, ['check', 'config', configFile], { encoding: 'utf8' })
  if (check.status !== 0) throw new Error(`promtool check config: ${check.stdout}${check.stderr}`)
  const url = `http://127.0.0.1:${port}`
  const server: Subprocess = Bun.spawn(
    [
      prometheusBinary,
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...extraArgs,
    ],
    { stdout: 'ignore', stderr: Bun.file(join(dir, 'prometheus.log')) },
  )
  const deadline = Date.now() + 30_000
  for (;;) {
    if (server.exitCode !== null) throw new Error(`prometheus exited ${server.exitCode}; see ${dir}`)
    const ready = await fetch(`${url}/-/ready`).catch(() => undefined)
    if (ready?.ok) break
    if (Date.now() > deadline) throw new Error(`prometheus not ready within 30 s; see ${dir}`)
    await Bun.sleep(100)
  }
  return {
    url,
    dir,
    async query(expr) {
      const response = await fetch(`${url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: expr }),
      })
      return (await response.json()) as QueryResult
    },
    async get<T>(path: string) {
      return (await (await fetch(`${url}${path}`)).json()) as T
    },
    async stop() {
      server.kill('SIGTERM')
      await server.exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
