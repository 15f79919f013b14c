import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { type RunningLedgerd, startLedgerd } from '../../support/ledgerd-process'

const bounded = () => ({ signal: AbortSignal.timeout(20_000) })
const password = 'correct horse battery staple'

/** The nice value in a /proc stat file: field 19, counted from after the parenthesised name. */
function niceIn(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
}

const threadNiceness = (pid: number) =>
  readdirSync(`/proc/${pid}/task`).map((tid) => niceIn(`/proc/${pid}/task/${tid}/stat`))

const post = (server: RunningLedgerd, path: string, body: unknown) =>
  fetch(`${server.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...bounded(),
  })

// Sign-up hashing takes only the CPU that requests leave idle: the compiled binary embeds the hashing
// threads and lowers them to nice 19 (src/auth/hasher-worker.ts), the API thread stays where it was.
describe('sign-up hashing runs at the lowest CPU priority', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd({ args: ['--argon2-concurrency', '3'] })
  }, 60_000)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('three hashing threads at nice 19, every other thread untouched; sign-up and login work', async () => {
    const signedUp = await post(server, '/v1/users', { email: 'nice@example.com', name: 'Nice', password })
    expect(signedUp.status).toBe(201)
    const login = await post(server, '/v1/auth/token', { email: 'nice@example.com', password })
    expect(login.status).toBe(200)
    const niceness = threadNiceness(server.process.pid)
    const processNice = niceIn(`/proc/${server.process.pid}/stat`)
    expect(niceness.filter((nice) => nice === 19)).toHaveLength(3)
    expect(niceness.filter((nice) => nice !== 19 && nice !== processNice)).toEqual([])
    expect(server.logs.filter((line) => line.msg === 'sign-up hashing runs at normal CPU priority')).toEqual(
      [],
    )
  })
})
