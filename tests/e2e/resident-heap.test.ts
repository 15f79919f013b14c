import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'
import { minorFaultsOf } from '../support/threads'

// `serve` restarts itself in place with MIMALLOC_PURGE_DELAY=-1 (src/server/resident-heap.ts) so that a
// password hash finds its 19 MiB still mapped instead of faulting it back in page by page. Proven by
// what the kernel counts: the process's minor page faults across sign-ups a few hundred milliseconds
// apart, the way sign-ups and logins arrive on a server that is not flooded.

const password = 'correct horse battery staple'
// 19 MiB of argon2 memory is 4,864 pages; a hash that reuses mapped memory faults a few dozen at most.
const pagesOfOneHash = (19_456 * 1024) / 4096
const signUpsMeasured = 4

const environmentOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')

/** Page faults per sign-up, measured over sign-ups spaced out after a few that warm every thread up. */
async function faultsPerSpacedSignUp(server: RunningLedgerd, label: string): Promise<number> {
  const signUp = async (n: number) => {
    const response = await fetch(`${server.apiUrl}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `${label}-${n}@example.com`, name: 'Spaced', password }),
      signal: AbortSignal.timeout(20_000),
    })
    expect(response.status).toBe(201)
    // Longer than the allocator's default purge delay (10 ms) and the time a hash takes.
    await Bun.sleep(300)
  }
  for (let n = 0; n < 3; n++) await signUp(n)
  const before = minorFaultsOf(server.process.pid)
  for (let n = 3; n < 3 + signUpsMeasured; n++) await signUp(n)
  return (minorFaultsOf(server.process.pid) - before) / signUpsMeasured
}

describe('serve keeps freed memory mapped', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd()
  }, 60_000)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('the same process runs again with MIMALLOC_PURGE_DELAY=-1, and says nothing of it', () => {
    expect(environmentOf(server.process.pid)).toContain('MIMALLOC_PURGE_DELAY=-1')
    expect(server.logs.filter((line) => line.level === 'warn')).toEqual([])
  })

  test('a sign-up after a pause does not fault its argon2 memory back in', async () => {
    expect(await faultsPerSpacedSignUp(server, 'resident')).toBeLessThan(pagesOfOneHash / 4)
  }, 30_000)
})

describe("an operator's MIMALLOC_PURGE_DELAY is kept", () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    // mimalloc's own default: freed memory goes back to the kernel after 10 ms.
    server = await startLedgerd({ env: { MIMALLOC_PURGE_DELAY: '10' } })
  }, 60_000)
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('no restart, and every spaced sign-up faults its argon2 memory in again', async () => {
    expect(environmentOf(server.process.pid)).toContain('MIMALLOC_PURGE_DELAY=10')
    expect(await faultsPerSpacedSignUp(server, 'purged')).toBeGreaterThan(pagesOfOneHash / 2)
  }, 30_000)
})
