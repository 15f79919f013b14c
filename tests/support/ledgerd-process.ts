import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Subprocess } from 'bun'

// Starts the compiled binary the way a user would: its own temp data dir, ports picked by the kernel
// (--port 0), and the addresses read back from the "listening" log line.

export const binaryPath = resolve(process.env.LEDGERD_BIN ?? join(import.meta.dir, '../../dist/ledgerd'))

export interface LogLine {
  msg: string
  level: string
  [field: string]: unknown
}

export interface RunningLedgerd {
  /** performance.now() just before the process was spawned. */
  startedAt: number
  apiUrl: string
  adminUrl: string
  dataDir: string
  process: Subprocess<'ignore', 'pipe', 'pipe'>
  /** Every JSON log line printed so far. */
  logs: LogLine[]
  stderr(): string
  /** Resolves with the exit code. */
  exited: Promise<number>
  /** SIGTERM, wait for exit, remove the data dir (unless kept). */
  stop(): Promise<number>
}

export interface StartOptions {
  args?: string[]
  env?: Record<string, string>
  dataDir?: string
  keepDataDir?: boolean
  /**
   * The log line that means "started" (default: msg "listening"); it must carry apiPort and adminPort.
   * For a server that is up but still waiting for its database.
   */
  startedWhen?: (line: LogLine) => boolean
  /** Prepended to the command line, e.g. to run it in a sandbox (see imageSandbox). */
  wrapper?: string[]
  cwd?: string
}

export function tempDir(prefix = 'ledgerd-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Environment without the caller's LEDGERD_* variables, so a developer's shell cannot change a test. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('LEDGERD_') && value !== undefined) env[key] = value
  }
  return { ...env, ...extra }
}

/** `serve` on loopback, on ports the kernel picks, with this data dir. */
export function serveArgs(dataDir: string): string[] {
  return [
    'serve',
    '--port',
    '0',
    '--admin-port',
    '0',
    '--host',
    '127.0.0.1',
    '--admin-host',
    '127.0.0.1',
    '--data-dir',
    dataDir,
  ]
}

/**
 * Which storage the end-to-end suites run ledgerd on: the embedded SQLite (default), or with
 * LEDGERD_TEST_STORAGE=postgres a real PostgreSQL (tests/support/postgres.ts), one fresh database per
 * data dir, so the same suites prove both engines.
 */
export const testStorage = process.env.LEDGERD_TEST_STORAGE === 'postgres' ? 'postgres' : 'sqlite'
const databaseUrls = new Map<string, Promise<string>>()

/** The PostgreSQL database standing for this data dir when the suites run on PostgreSQL. */
export function databaseUrlFor(dataDir: string): Promise<string> {
  let url = databaseUrls.get(dataDir)
  if (!url) {
    url = import('./postgres').then(async ({ testPostgres }) => (await testPostgres()).createDatabase('e2e'))
    databaseUrls.set(dataDir, url)
  }
  return url
}

/** The environment for a ledgerd on this data dir: with LEDGERD_TEST_STORAGE=postgres, its database. */
async function storageEnv(dataDir: string | undefined, env: Record<string, string> = {}) {
  if (testStorage === 'sqlite' || dataDir === undefined || 'LEDGERD_DATABASE_URL' in env) return env
  return { LEDGERD_DATABASE_URL: await databaseUrlFor(dataDir), ...env }
}

function dataDirIn(args: readonly string[]): string | undefined {
  const at = args.indexOf('--data-dir')
  return at === -1 ? undefined : args[at + 1]
}

export async function startLedgerd(options: StartOptions = {}): Promise<RunningLedgerd> {
  const dataDir = options.dataDir ?? tempDir()
  const command = [binaryPath, ...serveArgs(dataDir), ...(options.args ?? [])]
  // Every test client is 127.0.0.1, and suites sign up more users than the production default allows one
  // address an hour; tests of that limit pass --signup-max-per-client, which wins over the environment.
  const env = await storageEnv(dataDir, { LEDGERD_SIGNUP_MAX_PER_CLIENT: '1000000', ...options.env })
  const startedWhen = options.startedWhen ?? ((line: LogLine) => line.msg === 'listening')
  const startedAt = performance.now()
  const proc = Bun.spawn([...(options.wrapper ?? []), ...command], {
    cwd: options.cwd,
    env: cleanEnv(env),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const logs: LogLine[] = []
  let stderrText = ''
  void (async () => {
    for await (const chunk of proc.stderr) stderrText += new TextDecoder().decode(chunk)
  })()
  const listening = new Promise<LogLine>((resolveListening, reject) => {
    void (async () => {
      let buffered = ''
      for await (const chunk of proc.stdout) {
        buffered += new TextDecoder().decode(chunk)
        let newline = buffered.indexOf('\n')
        while (newline !== -1) {
          const line = buffered.slice(0, newline)
          buffered = buffered.slice(newline + 1)
          newline = buffered.indexOf('\n')
          try {
            const entry = JSON.parse(line) as LogLine
            logs.push(entry)
            if (startedWhen(entry)) resolveListening(entry)
          } catch {
            logs.push({ msg: line, level: 'unparsed' })
          }
        }
      }
      reject(new Error(`ledgerd exited before listening: ${stderrText}\n${JSON.stringify(logs)}`))
    })()
  })
  const exited = proc.exited
  let startTimer: Timer | undefined
  const entry = await Promise.race([
    listening,
    new Promise<never>((_, reject) => {
      startTimer = setTimeout(() => {
        proc.kill('SIGKILL')
        reject(new Error(`ledgerd did not start within 10s: ${stderrText}`))
      }, 10_000)
    }),
    // Left pending, the timer would SIGKILL a healthy server 10 s after it started, mid-test.
  ]).finally(() => clearTimeout(startTimer))
  const running: RunningLedgerd = {
    startedAt,
    apiUrl: `http://127.0.0.1:${entry.apiPort}`,
    adminUrl: `http://127.0.0.1:${entry.adminPort}`,
    dataDir,
    process: proc,
    logs,
    stderr: () => stderrText,
    exited,
    async stop() {
      proc.kill('SIGTERM')
      const code = await Promise.race([exited, Bun.sleep(15_000).then(() => -1)])
      if (code === -1) proc.kill('SIGKILL')
      if (!options.keepDataDir && options.dataDir === undefined)
        rmSync(dataDir, { recursive: true, force: true })
      return code
    },
  }
  return running
}

export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

/**
 * Runs a one-shot ledgerd command (version, migrate, healthcheck...) to completion. With killAfterMs, a
 * command still running then is killed (SIGKILL): for a `serve` expected to refuse, which must not be left
 * serving if it does not.
 */
export async function runLedgerd(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; killAfterMs?: number } = {},
): Promise<CommandResult> {
  const proc = Bun.spawn([binaryPath, ...args], {
    cwd: options.cwd,
    env: cleanEnv(await storageEnv(dataDirIn(args), options.env)),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const killer =
    options.killAfterMs === undefined
      ? undefined
      : setTimeout(() => proc.kill('SIGKILL'), options.killAfterMs)
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]).finally(() => clearTimeout(killer))
  return { exitCode, stdout, stderr }
}

/** The uid and gid the container image runs as (distroless "nonroot"). */
export const imageUser = 65532

/**
 * A wrapper that runs ledgerd the way its container image does: as an unprivileged user, with the root
 * filesystem (and so /tmp) read-only and only the data dir writable. Needs root and mount namespaces;
 * the data dir must already belong to imageUser.
 */
export function imageSandbox(dataDir: string): string[] {
  const script = [
    'set -e',
    // Bind the data dir onto itself first so it stays writable after / is remounted read-only.
    `mount --bind "${dataDir}" "${dataDir}"`,
    'mount -o remount,bind,ro /',
    `exec setpriv --reuid=${imageUser} --regid=${imageUser} --clear-groups -- "$@"`,
  ].join('\n')
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh']
}

/** `ledgerd users create --admin` on the data dir, as an operator bootstraps; returns the printed password. */
export async function createAdmin(dataDir: string, email: string): Promise<string> {
  const created = await runLedgerd([
    'users',
    'create',
    '--email',
    email,
    '--name',
    'Root',
    '--admin',
    '--data-dir',
    dataDir,
  ])
  if (created.exitCode !== 0) throw new Error(`users create failed: ${created.stderr}`)
  const password = /^password: (\S+)$/m.exec(created.stdout)?.[1]
  if (!password) throw new Error(`users create printed no password: ${created.stdout}`)
  return password
}
