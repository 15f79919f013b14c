import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { binaryPath, type RunningLedgerd, startLedgerd } from '../../support/ledgerd-process'
import { cpusAllowed, niceOf, SCHED_IDLE, SCHED_OTHER, threadsOf } from '../../support/threads'

const bounded = () => ({ signal: AbortSignal.timeout(20_000) })
const password = 'correct horse battery staple'

const post = (server: RunningLedgerd, path: string, body: unknown) =>
  fetch(`${server.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...bounded(),
  })

// Sign-up hashing takes only the CPU that requests leave idle: the compiled binary embeds the hashing
// threads and lowers them to nice 19 and SCHED_IDLE (src/auth/hasher-worker.ts), the API thread stays
// where it was.
describe('sign-up hashing runs at the lowest CPU priority', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd({ args: ['--argon2-concurrency', '3'] })
  }, 60_000)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('three hashing threads at nice 19 and SCHED_IDLE, every other thread untouched; sign-up and login work', async () => {
    const signedUp = await post(server, '/v1/users', { email: 'nice@example.com', name: 'Nice', password })
    expect(signedUp.status).toBe(201)
    const login = await post(server, '/v1/auth/token', { email: 'nice@example.com', password })
    expect(login.status).toBe(200)
    const threads = threadsOf(server.process.pid)
    const niceness = threads.map((thread) => thread.nice)
    const processNice = niceOf(server.process.pid)
    expect(niceness.filter((nice) => nice === 19)).toHaveLength(3)
    expect(niceness.filter((nice) => nice !== 19 && nice !== processNice)).toEqual([])
    // SCHED_IDLE exactly the hashing threads, SCHED_OTHER every other.
    expect(
      threads.filter((thread) => thread.policy !== (thread.nice === 19 ? SCHED_IDLE : SCHED_OTHER)),
    ).toEqual([])
    const warnings = [
      'sign-up hashing runs at normal CPU priority',
      'sign-up hashing runs at nice 19 without SCHED_IDLE',
    ]
    expect(server.logs.filter((line) => warnings.includes(line.msg as string))).toEqual([])
  })
})

const allowedHere = cpusAllowed('self')
const cpuCount = navigator.hardwareConcurrency

// With --hashing-cpus the hashing threads run only on the CPUs set aside, and the API and writer threads
// never do: the one thing that kept a sign-up flood off the ledger on this machine (NOTES.md).
describe.if(allowedHere === `0-${cpuCount - 1}` && cpuCount >= 2)('--hashing-cpus', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd({ args: ['--hashing-cpus', '1'] })
  }, 60_000)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('1: the hashing threads on the last CPU only; the API thread and the threads it started after, never there', async () => {
    const signedUp = await post(server, '/v1/users', { email: 'pinned@example.com', name: 'Pin', password })
    expect(signedUp.status).toBe(201)
    const pid = server.process.pid
    const last = String(cpuCount - 1)
    const api = cpuCount === 2 ? '0' : `0-${cpuCount - 2}`
    const threads = threadsOf(pid)
    expect(threads.filter((thread) => thread.nice === 19).map((thread) => thread.cpus)).toEqual([last, last])
    expect(cpusAllowed(pid)).toBe(api)
    // Threads the API thread started after it left the last CPU (on SQLite the writers) stay off it too.
    expect(threads.filter((thread) => thread.cpus === api).length).toBeGreaterThanOrEqual(3)
    expect(server.logs.find((line) => line.msg === 'CPUs set aside for sign-up hashing')).toMatchObject({
      api: api === '0' ? [0] : expect.any(Array),
      hashing: [cpuCount - 1],
    })
  })

  test('as many as ledgerd may run on: it refuses to start, saying why (exit 2)', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ledgerd-hashing-cpus-'))
    try {
      const result = Bun.spawnSync(
        [
          binaryPath,
          'serve',
          '--data-dir',
          dataDir,
          '--port',
          '0',
          '--admin-port',
          '0',
          '--hashing-cpus',
          String(cpuCount),
        ],
        { timeout: 20_000 },
      )
      expect(result.exitCode).toBe(2)
      expect(result.stderr.toString()).toContain(`--hashing-cpus ${cpuCount} leaves no CPU for the API`)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
