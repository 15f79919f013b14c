import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { ensureDebianPackage } from './debian'
import { freePort } from './ports'

// A real PostgreSQL for the tests: Debian's server (installed with apt when missing), a cluster made with
// initdb in a temp dir as the `postgres` user, listening on 127.0.0.1 at a free port, fsync on, as a
// production server runs. One server per test process, started on first use and stopped when the process
// exits; each test gets databases of its own from it, so tests never see each other's rows.

const pgBinDir = process.env.LEDGERD_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin'
/** initdb, start and stop each take a few seconds here; anything past this is a broken server. */
const commandTimeoutMs = 60_000
/** The superuser password: the cluster is local, temporary and on loopback only. */
const superPassword = 'postgres-test'

export interface TestPostgres {
  /** host, port and superuser credentials; add a database name to connect. */
  readonly host: string
  readonly port: number
  readonly dataDir: string
  /** A new empty database owned by the superuser; returns its postgres:// URL. */
  createDatabase(prefix?: string): Promise<string>
  /** Stops the server (fast shutdown), as an outage would; start() brings the same cluster back. */
  stop(mode?: 'fast' | 'immediate'): void
  start(): void
  /** The superuser URL of a database (default: postgres). */
  url(database?: string): string
}

let shared: TestPostgres | undefined
let counter = 0

function run(command: string, args: string[], asPostgres = true) {
  const [cmd, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
  const result = spawnSync(cmd, argv, { encoding: 'utf8', timeout: commandTimeoutMs })
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`,
    )
  }
  return result.stdout
}

/** Installs Debian's postgresql when its binaries are missing (CI and fresh machines). */
function ensureInstalled(): void {
  ensureDebianPackage('postgresql', () => existsSync(join(pgBinDir, 'initdb')))
}

export interface TlsFiles {
  /** PEM certificate and key the server presents (copied into the cluster, owned by postgres). */
  cert: string
  key: string
}

/**
 * Starts a fresh cluster. Most tests want `testPostgres()`, the one shared by the test process. With
 * `tls`, the server has ssl on with that certificate and accepts TCP connections over TLS only.
 */
export async function startPostgres(options: { tls?: TlsFiles } = {}): Promise<TestPostgres> {
  ensureInstalled()
  const root = mkdtempSync(join(tmpdir(), 'ledgerd-pg-'))
  chmodSync(root, 0o755)
  const dataDir = join(root, 'data')
  const socketDir = join(root, 'socket')
  const logDir = join(root, 'log')
  const passwordFile = join(root, 'password')
  for (const dir of [dataDir, socketDir, logDir]) {
    run('mkdir', ['-p', dir], false)
    chownSync(dir, uid('postgres'), gid('postgres'))
  }
  writeFileSync(passwordFile, superPassword)
  chownSync(passwordFile, uid('postgres'), gid('postgres'))
  run(join(pgBinDir, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=scram-sha-256',
    `--pwfile=${passwordFile}`,
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
  ])
  const tlsOptions: string[] = []
  if (options.tls) {
    const postgresOwned = (from: string, name: string) => {
      const to = join(dataDir, name)
      writeFileSync(to, readFileSync(from), { mode: 0o600 })
      chownSync(to, uid('postgres'), gid('postgres'))
    }
    postgresOwned(options.tls.cert, 'server.crt')
    postgresOwned(options.tls.key, 'server.key')
    tlsOptions.push('-c ssl=on', '-c ssl_cert_file=server.crt', '-c ssl_key_file=server.key')
    writeFileSync(
      join(dataDir, 'pg_hba.conf'),
      'local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n',
    )
  }
  const port = freePort()
  const settings = [
    ...tlsOptions,
    `-c port=${port}`,
    `-c listen_addresses=127.0.0.1`,
    `-c unix_socket_directories=${socketDir}`,
    '-c fsync=on',
    '-c synchronous_commit=on',
    '-c max_connections=300',
    '-c shared_buffers=128MB',
  ].join(' ')
  const logFile = join(logDir, 'postgres.log')
  const server: TestPostgres = {
    host: '127.0.0.1',
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres:${superPassword}@127.0.0.1:${port}/${database}`,
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${process.pid}_${++counter}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase()
      const admin = postgres(server.url(), {
        max: 1,
        onnotice: () => {},
        ssl: options.tls ? 'require' : false,
      })
      try {
        await admin.unsafe(`CREATE DATABASE ${name}`)
      } finally {
        await admin.end()
      }
      return server.url(name)
    },
    start() {
      run(join(pgBinDir, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-o', settings, '-w', '-t', '60', 'start'])
    },
    stop(mode = 'fast') {
      run(join(pgBinDir, 'pg_ctl'), ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'])
    },
  }
  // Stopped however this process ends: a watchdog outside it polls for its pid, then stops the server
  // and removes its files. An 'exit' handler alone left servers running for good after test runs. It is
  // started through `setsid -f`, so it is nobody's child here: a runner that kills what a timed-out test
  // started (bun does) cannot take the watchdog down and leave the server running. Started before the
  // server, so no moment exists in which a server runs that nothing will stop.
  const stop = `runuser -u postgres -- ${join(pgBinDir, 'pg_ctl')} -D ${dataDir} -m immediate stop`
  Bun.spawn(
    [
      'setsid',
      '-f',
      'sh',
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stop} >/dev/null 2>&1; rm -rf ${root}`,
    ],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' },
  ).unref()
  process.once('exit', () => {
    spawnSync('sh', ['-c', `${stop} >/dev/null 2>&1`], { timeout: 20_000 })
    rmSync(root, { recursive: true, force: true })
  })
  server.start()
  return server
}

/** The PostgreSQL shared by this test process, started on first use. */
export async function testPostgres(): Promise<TestPostgres> {
  shared ??= await startPostgres()
  return shared
}

function uid(user: string): number {
  return Number(run('id', ['-u', user], false).trim())
}

function gid(user: string): number {
  return Number(run('id', ['-g', user], false).trim())
}
