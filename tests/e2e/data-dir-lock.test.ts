import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import {
  type LogLine,
  type RunningLedgerd,
  runLedgerd,
  serveArgs,
  startLedgerd,
} from '../support/ledgerd-process'
import { tempDirsRemovedAfterAll } from '../support/temp-dirs'

const freshDir = tempDirsRemovedAfterAll()
const servers: RunningLedgerd[] = []
/** Starts the binary on the data dir; one a failed test leaves running is killed after the file. */
const serve = async (dataDir: string) => {
  const server = await startLedgerd({ dataDir })
  servers.push(server)
  return server
}
afterAll(() => {
  for (const server of servers) if (server.process.exitCode === null) server.process.kill('SIGKILL')
})

const logLines = (stdout: string): LogLine[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine)

/** The start of the message a refused process prints about a ledgerd binary holding the data dir. */
const inUseBy = (dataDir: string, pid: number) =>
  new RegExp(
    `data dir ${dataDir} is in use by ledgerd \\d+\\.\\d+\\.\\d+ pid ${pid} on host ${hostname()} ` +
      'since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; stop it first',
  )

describe('one ledgerd serve per data dir', () => {
  test('a second serve on the same data dir exits 1 naming the holder, and the first keeps serving', async () => {
    const dataDir = freshDir()
    const first = await serve(dataDir)
    const second = await runLedgerd(serveArgs(dataDir), { killAfterMs: 3_000 })
    expect(second.exitCode).toBe(1)
    const lines = logLines(second.stdout)
    expect(lines.map((l) => l.msg)).toEqual(['data dir is in use'])
    expect(lines[0]).toMatchObject({ level: 'error', dataDir, holder: { pid: first.process.pid } })
    expect(String(lines[0]?.reason)).toMatch(inUseBy(dataDir, first.process.pid))

    expect((await fetch(`${first.adminUrl}/readyz`)).status).toBe(200)
    const signup = await fetch(`${first.apiUrl}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'after@example.com', name: 'After', password: 'a long enough password' }),
    })
    expect(signup.status).toBe(201)
    expect(await first.stop()).toBe(0)
  })

  test('a refused serve creates no database', async () => {
    // A process holds the lock of a data dir that has no database yet: the refused serve must not make one.
    const dataDir = freshDir()
    const locker = Bun.spawn(
      [process.execPath, join(import.meta.dir, '../support/hold-data-dir-lock.ts'), dataDir],
      { stdout: 'pipe' },
    )
    try {
      await locker.stdout.getReader().read()
      const refused = await runLedgerd(serveArgs(dataDir), { killAfterMs: 3_000 })
      expect(refused.exitCode).toBe(1)
      expect(logLines(refused.stdout).map((l) => l.msg)).toEqual(['data dir is in use'])
      expect(refused.stdout).toContain(`data dir ${dataDir} is in use by ledgerd dev pid ${locker.pid}`)
      expect(existsSync(join(dataDir, 'ledgerd.db'))).toBe(false)
    } finally {
      locker.kill('SIGKILL')
    }
  })

  test('after kill -9 of the holder, a new serve starts on the same data dir', async () => {
    const dataDir = freshDir()
    const first = await serve(dataDir)
    first.process.kill('SIGKILL')
    await first.exited
    const second = await serve(dataDir)
    expect((await fetch(`${second.adminUrl}/readyz`)).status).toBe(200)
    expect(await second.stop()).toBe(0)
  })

  test('a graceful stop frees the data dir for the next serve at once', async () => {
    const dataDir = freshDir()
    const first = await serve(dataDir)
    expect(await first.stop()).toBe(0)
    expect(existsSync(join(dataDir, 'ledgerd.lock.json'))).toBe(false)
    const second = await serve(dataDir)
    expect(await second.stop()).toBe(0)
  })
})

describe('other commands while a server holds the data dir', () => {
  test('migrate refuses while it serves, naming the holder, and works once it has stopped', async () => {
    const dataDir = freshDir()
    const server = await serve(dataDir)
    const refused = await runLedgerd(['migrate', '--data-dir', dataDir])
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toMatch(inUseBy(dataDir, server.process.pid))
    expect(await server.stop()).toBe(0)
    const after = await runLedgerd(['migrate', '--data-dir', dataDir])
    expect(after.exitCode).toBe(0)
    expect(after.stdout).toContain('up to date')
  })

  test('verify, migrate --status, users create and token work while it serves', async () => {
    const dataDir = freshDir()
    const server = await serve(dataDir)
    const verify = await runLedgerd(['verify', '--data-dir', dataDir])
    expect(verify).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^ok: /) })
    const status = await runLedgerd(['migrate', '--status', '--data-dir', dataDir])
    expect(status.exitCode).toBe(0)
    expect(status.stdout).toMatch(/0001\s+instance\s+applied/)
    const created = await runLedgerd([
      'users',
      'create',
      '--email',
      'ops@example.com',
      '--name',
      'Ops',
      '--admin',
      '--data-dir',
      dataDir,
    ])
    expect(created.exitCode).toBe(0)
    const token = await runLedgerd(['token', '--sub', 'ops@example.com', '--data-dir', dataDir])
    expect(token.exitCode).toBe(0)
    const me = await fetch(`${server.apiUrl}/v1/users/me`, {
      headers: { authorization: `Bearer ${token.stdout.trim()}` },
    })
    expect(me.status).toBe(200)
    expect((await fetch(`${server.adminUrl}/readyz`)).status).toBe(200)
    expect(await server.stop()).toBe(0)
  })
})
