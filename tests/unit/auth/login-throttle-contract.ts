import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { LoginThrottle } from '../../../src/auth/login-throttle'

// What every login throttle must do: in memory (one process, SQLite) and on PostgreSQL (shared by the
// replicas). Times come from a fake clock, so the exact waits are checked without waiting.

export interface ThrottleOptions {
  limit: number
  windowMs: number
  now: () => number
  /** What the keys are: "email" or "client". Throttles of different scopes never share counts. */
  scope?: string
}

export interface ThrottleFixture {
  throttle(options: ThrottleOptions): LoginThrottle
  dispose(): Promise<void>
}

export function fakeClock(start = 1_700_000_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

let keys = 0
/** A key no other test uses: a PostgreSQL fixture's table is shared by the whole suite. */
export const freshKey = () => `key-${++keys}-${crypto.randomUUID()}`

export function describeLoginThrottle(name: string, open: () => Promise<ThrottleFixture>) {
  describe(`login throttle contract: ${name}`, () => {
    let fixture: ThrottleFixture
    // The first PostgreSQL fixture of a test process starts the server (initdb): seconds on a busy machine.
    beforeAll(async () => {
      fixture = await open()
    }, 60_000)
    afterAll(() => fixture.dispose())

    const setup = (limit: number, windowMs = 1000) => {
      const clock = fakeClock()
      return { clock, throttle: fixture.throttle({ limit, windowMs, now: clock.now }), key: freshKey() }
    }

    test('below the limit a key may try now; at it, it waits for the oldest failure to age out', async () => {
      const { clock, throttle, key } = setup(3)
      expect(await throttle.attempt(key)).toBe(0) // t=0
      clock.advance(400)
      expect(await throttle.attempt(key)).toBe(0) // t=400
      expect(await throttle.retryAfterMs(key)).toBe(0)
      clock.advance(400)
      expect(await throttle.attempt(key)).toBe(0) // t=800: the third failure
      expect(await throttle.retryAfterMs(key)).toBe(200)
      expect(await throttle.attempt(key)).toBe(200)
      clock.advance(199)
      expect(await throttle.retryAfterMs(key)).toBe(1)
      clock.advance(1)
      expect(await throttle.retryAfterMs(key)).toBe(0)
    })

    test('the window slides: a new failure after one ages out blocks until the next oldest ages out', async () => {
      const { clock, throttle, key } = setup(3)
      for (const step of [0, 400, 400]) {
        clock.advance(step)
        await throttle.attempt(key) // t=0, 400, 800
      }
      clock.advance(200) // t=1000: the failure at t=0 has aged out
      expect(await throttle.attempt(key)).toBe(0) // window now holds 400, 800, 1000
      expect(await throttle.retryAfterMs(key)).toBe(400)
    })

    test('an attempt refused at the limit is not counted: it does not push the wait further out', async () => {
      const { clock, throttle, key } = setup(2)
      await throttle.attempt(key) // t=0
      await throttle.attempt(key) // t=0
      clock.advance(500)
      expect(await throttle.attempt(key)).toBe(500)
      clock.advance(500) // t=1000: both failures aged out; the refused one at t=500 never counted
      expect(await throttle.attempt(key)).toBe(0)
      expect(await throttle.retryAfterMs(key)).toBe(0)
    })

    test('failures spread wider than the window never block', async () => {
      const { clock, throttle, key } = setup(2)
      for (let i = 0; i < 6; i++) {
        expect(await throttle.attempt(key)).toBe(0)
        expect(await throttle.retryAfterMs(key)).toBe(0)
        clock.advance(1001)
      }
    })

    test('keys are independent', async () => {
      const { throttle, key } = setup(1)
      await throttle.attempt(key)
      expect(await throttle.retryAfterMs(key)).toBe(1000)
      expect(await throttle.retryAfterMs(freshKey())).toBe(0)
    })

    test('throttles of different scopes never count each other’s failures, even for the same key', async () => {
      const clock = fakeClock()
      const byEmail = fixture.throttle({ limit: 1, windowMs: 1000, now: clock.now, scope: 'email' })
      const byClient = fixture.throttle({ limit: 1, windowMs: 1000, now: clock.now, scope: 'client' })
      const key = freshKey()
      await byEmail.attempt(key)
      expect(await byEmail.retryAfterMs(key)).toBe(1000)
      expect(await byClient.retryAfterMs(key)).toBe(0)
    })

    test('failures counts the key’s failures in the window, at most the limit', async () => {
      const { clock, throttle, key } = setup(2, 1000)
      expect(await throttle.failures(key)).toBe(0)
      for (let i = 0; i < 3; i++) await throttle.attempt(key)
      expect(await throttle.failures(key)).toBe(2)
      clock.advance(1001)
      expect(await throttle.failures(key)).toBe(0)
    })

    test('reset forgets every failure of a key', async () => {
      const { throttle, key } = setup(2)
      await throttle.attempt(key)
      await throttle.attempt(key)
      await throttle.reset(key)
      expect(await throttle.retryAfterMs(key)).toBe(0)
      await throttle.reset(freshKey()) // nothing to forget: no error
    })

    test('forgive takes back only the latest failure', async () => {
      const { clock, throttle, key } = setup(2)
      await throttle.attempt(key)
      clock.advance(100)
      await throttle.attempt(key)
      await throttle.forgive(key)
      expect(await throttle.retryAfterMs(key)).toBe(0)
      await throttle.attempt(key)
      // The remaining failures are the first (t=0) and the new one: blocked until the first ages out.
      expect(await throttle.retryAfterMs(key)).toBe(900)
      await throttle.forgive(freshKey()) // no failures: nothing to take back, no error
    })

    test('of 20 attempts on one key at once, exactly the limit are counted; the rest must wait', async () => {
      const { throttle, key } = setup(3, 60_000)
      const waits = await Promise.all(Array.from({ length: 20 }, () => throttle.attempt(key)))
      expect(waits.filter((wait) => wait === 0)).toHaveLength(3)
      expect(waits.filter((wait) => wait > 0)).toHaveLength(17)
    })
  })
}
