import { Database } from 'bun:sqlite'
import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, chownSync, cpSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ledgerClient } from '../support/ledger-client'
import {
  binaryPath,
  cleanEnv,
  imageUser,
  runLedgerd,
  startLedgerd,
  testStorage,
} from '../support/ledgerd-process'
import { tempDirsRemovedAfterAll } from '../support/temp-dirs'
import { disposeAllVolumes, tmpfsVolume } from '../support/volumes'

const freshDir = tempDirsRemovedAfterAll()

describe('ledgerd binary: commands', () => {
  test('version prints the release version and the git commit it was built from', async () => {
    const { exitCode, stdout } = await runLedgerd(['version'])
    expect(exitCode).toBe(0)
    const expectedCommit = Bun.spawnSync(['git', 'rev-parse', '--short=12', 'HEAD']).stdout.toString().trim()
    const pkg = await Bun.file(join(import.meta.dir, '../../package.json')).json()
    expect(stdout).toContain(`ledgerd ${pkg.version} (commit ${expectedCommit}`)
  })

  test('an unknown command exits 2 with a message', async () => {
    const { exitCode, stderr } = await runLedgerd(['frobnicate'])
    expect(exitCode).toBe(2)
    expect(stderr).toContain('unknown command "frobnicate"')
  })

  test('an unknown flag exits 2 naming it', async () => {
    const { exitCode, stderr } = await runLedgerd(['serve', '--prot', '1'])
    expect(exitCode).toBe(2)
    expect(stderr).toContain('--prot')
  })

  test('LEDGERD_PORT=abc stops serve with a message naming LEDGERD_PORT', async () => {
    const { exitCode, stderr } = await runLedgerd(['serve'], { env: { LEDGERD_PORT: 'abc' } })
    expect(exitCode).toBe(2)
    expect(stderr).toContain('LEDGERD_PORT')
  })

  test('migrate applies the embedded migrations once; --status lists them', async () => {
    const dataDir = freshDir()
    const before = await runLedgerd(['migrate', '--status', '--data-dir', dataDir])
    expect(before.stdout).toMatch(/0001\s+instance\s+pending/)
    const first = await runLedgerd(['migrate', '--data-dir', dataDir])
    expect(first.exitCode).toBe(0)
    expect(first.stdout).toMatch(/applied \d+ migration\(s\)/)
    const second = await runLedgerd(['migrate', '--data-dir', dataDir])
    expect(second.stdout).toContain('up to date')
    const after = await runLedgerd(['migrate', '--status', '--data-dir', dataDir])
    expect(after.stdout).toMatch(/0001\s+instance\s+applied\s+\d{4}-/)
  })

  test('the database file is private to the user running ledgerd', async () => {
    const dataDir = freshDir()
    await runLedgerd(['migrate', '--data-dir', dataDir])
    expect(statSync(join(dataDir, 'ledgerd.db')).mode & 0o777).toBe(0o600)
  })

  test('a database migrated by a newer release is refused, by migrate and by serve', async () => {
    const dataDir = freshDir()
    await runLedgerd(['migrate', '--data-dir', dataDir])
    const db = new Database(join(dataDir, 'ledgerd.db'))
    db.run("INSERT INTO ledgerd_migrations VALUES (999, 'from_the_future', 'x', '2030-01-01T00:00:00Z')")
    db.close()
    const migrate = await runLedgerd(['migrate', '--data-dir', dataDir])
    expect(migrate.exitCode).toBe(1)
    expect(migrate.stderr).toContain('newer than this binary')
    const serve = await runLedgerd(['serve', '--port', '0', '--admin-port', '0', '--data-dir', dataDir])
    expect(serve.exitCode).toBe(1)
    expect(serve.stdout).toContain('newer than this binary')
  })

  test('a port already in use stops serve with exit 1 naming the address, for either listener', async () => {
    const first = await startLedgerd()
    const apiPort = new URL(first.apiUrl).port
    const adminPort = new URL(first.adminUrl).port
    for (const [ports, listener] of [
      [['--port', apiPort, '--admin-port', '0'], 'API'],
      [['--port', '0', '--admin-port', adminPort], 'admin listener'],
    ] as const) {
      const second = await runLedgerd([
        'serve',
        '--host',
        '127.0.0.1',
        '--admin-host',
        '127.0.0.1',
        ...ports,
        '--data-dir',
        freshDir(),
      ])
      expect(second.exitCode).toBe(1)
      expect(second.stderr).toContain(`for the ${listener}`)
    }
    expect(await first.stop()).toBe(0)
  })

  test('healthcheck exits 0 against a ready server and 1 once it is gone', async () => {
    const server = await startLedgerd()
    const adminPort = new URL(server.adminUrl).port
    const ready = await runLedgerd(['healthcheck', '--admin-port', adminPort])
    expect(ready.exitCode).toBe(0)
    expect(await server.stop()).toBe(0)
    const gone = await runLedgerd(['healthcheck', '--admin-port', adminPort, '--timeout', '1s'])
    expect(gone.exitCode).toBe(1)
  })
})

// A typo in --data-dir (or a database URL naming an empty database) must not mint a token or create a
// user against a new, empty database: only serve and migrate create one.
describe('ledgerd binary: commands on a data dir without a database', () => {
  const commands = [
    ['token', '--sub', 'root@example.com'],
    ['users', 'create', '--email', 'root@example.com', '--name', 'Root'],
    ['verify'],
  ]
  for (const argv of commands) {
    test(`${argv[0]} refuses with exit 1, says how to create one, and creates nothing`, async () => {
      const dataDir = freshDir()
      for (let attempt = 0; attempt < 2; attempt++) {
        const result = await runLedgerd([...argv, '--data-dir', dataDir])
        expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({ exitCode: 1, stdout: '' })
        if (argv[0] !== 'verify') expect(result.stderr).toContain('run `ledgerd migrate`')
        if (testStorage === 'sqlite') expect(readdirSync(dataDir)).toEqual([])
      }
      // And the same command works once migrate has created it.
      expect((await runLedgerd(['migrate', '--data-dir', dataDir])).exitCode).toBe(0)
      if (argv[0] === 'verify') expect((await runLedgerd([...argv, '--data-dir', dataDir])).exitCode).toBe(0)
    }, 30_000)
  }
})

// verify reads SQLite files: these run on SQLite whatever LEDGERD_TEST_STORAGE says.
describe('ledgerd binary: verify where it cannot write', () => {
  const onSqlite = { LEDGERD_DATABASE_URL: '' }
  afterAll(disposeAllVolumes)

  /** A data dir with a user, two accounts and a few transactions, its server stopped cleanly. */
  async function ledgerWithMoney(): Promise<string> {
    const dataDir = freshDir()
    const server = await startLedgerd({ dataDir, keepDataDir: true, env: onSqlite })
    try {
      const api = ledgerClient(server.apiUrl)
      const owner = await api.signUp('verify@example.com')
      const [a, b] = [
        (await api.createAccount(owner.token, 'EUR')).body,
        (await api.createAccount(owner.token, 'EUR')).body,
      ]
      expect((await api.deposit(owner.token, a.id, 500)).status).toBe(201)
      expect(
        (await api.transfer(owner.token, { fromAccountId: a.id, toAccountId: b.id, amount: 200 })).status,
      ).toBe(201)
    } finally {
      await server.stop()
    }
    return dataDir
  }

  /** `ledgerd verify` as an unprivileged user (root writes through any file mode). */
  async function verifyAsUser(dataDir: string) {
    const proc = Bun.spawn(
      [
        'setpriv',
        `--reuid=${imageUser}`,
        `--regid=${imageUser}`,
        '--clear-groups',
        '--',
        binaryPath,
        'verify',
        '--data-dir',
        dataDir,
      ],
      { env: cleanEnv(onSqlite), stdout: 'pipe', stderr: 'pipe' },
    )
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    return { exitCode, stdout, stderr }
  }

  test('a read-only copy (files and directory without write permission) verifies, and nothing is created in it', async () => {
    const copy = `${freshDir()}/copy`
    cpSync(await ledgerWithMoney(), copy, { recursive: true })
    chownSync(`${copy}/..`, imageUser, imageUser)
    for (const name of ['', ...readdirSync(copy)]) {
      chownSync(`${copy}/${name}`, imageUser, imageUser)
      chmodSync(`${copy}/${name}`, name === '' ? 0o500 : 0o400)
    }
    const before = readdirSync(copy)
    expect(await verifyAsUser(copy)).toEqual({
      exitCode: 0,
      stdout: 'ok: 3 accounts, 2 transactions checked\n',
      stderr: '',
    })
    expect(readdirSync(copy)).toEqual(before)
  }, 30_000)

  test('a full disk is named as such, and verify passes once there is room', async () => {
    const volume = await tmpfsVolume({ sizeMiB: 4 })
    cpSync(await ledgerWithMoney(), volume.dataDir, { recursive: true })
    await volume.fill()
    const full = await runLedgerd(['verify', '--data-dir', volume.dataDir], { env: onSqlite })
    expect(full.exitCode).toBe(1)
    expect(full.stderr).toContain(`the disk holding ${volume.dataDir} is full`)
    await volume.free()
    const roomy = await runLedgerd(['verify', '--data-dir', volume.dataDir], { env: onSqlite })
    expect({ exitCode: roomy.exitCode, stdout: roomy.stdout }).toEqual({
      exitCode: 0,
      stdout: 'ok: 3 accounts, 2 transactions checked\n',
    })
    await volume.dispose()
  }, 30_000)
})
