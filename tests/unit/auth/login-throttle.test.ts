import { describe, expect, test } from 'bun:test'
import { FailureThrottle } from '../../../src/auth/login-throttle'

function fakeClock(start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

describe('FailureThrottle: failures per key in a sliding window', () => {
  test('below the limit a key may try now; at it, it waits for the oldest failure to age out', () => {
    const clock = fakeClock()
    const throttle = new FailureThrottle(3, 1000, 100, clock.now)
    throttle.recordFailure('k') // t=0
    clock.advance(400)
    throttle.recordFailure('k') // t=400
    expect(throttle.retryAfterMs('k')).toBe(0)
    clock.advance(400)
    throttle.recordFailure('k') // t=800: the third failure
    expect(throttle.retryAfterMs('k')).toBe(200)
    clock.advance(199)
    expect(throttle.retryAfterMs('k')).toBe(1)
    clock.advance(1)
    expect(throttle.retryAfterMs('k')).toBe(0)
  })

  test('the window slides: a new failure after one ages out blocks until the next oldest ages out', () => {
    const clock = fakeClock()
    const throttle = new FailureThrottle(3, 1000, 100, clock.now)
    for (const step of [0, 400, 400]) {
      clock.advance(step)
      throttle.recordFailure('k') // t=0, 400, 800
    }
    clock.advance(200) // t=1000: the failure at t=0 has aged out
    expect(throttle.retryAfterMs('k')).toBe(0)
    throttle.recordFailure('k') // window now holds 400, 800, 1000
    expect(throttle.retryAfterMs('k')).toBe(400)
  })

  test('failures spread wider than the window never block', () => {
    const clock = fakeClock()
    const throttle = new FailureThrottle(2, 1000, 100, clock.now)
    for (let i = 0; i < 10; i++) {
      throttle.recordFailure('k')
      expect(throttle.retryAfterMs('k')).toBe(0)
      clock.advance(1001)
    }
  })

  test('keys are independent', () => {
    const clock = fakeClock()
    const throttle = new FailureThrottle(1, 1000, 100, clock.now)
    throttle.recordFailure('a')
    expect(throttle.retryAfterMs('a')).toBe(1000)
    expect(throttle.retryAfterMs('b')).toBe(0)
  })

  test('reset forgets every failure of a key', () => {
    const clock = fakeClock()
    const throttle = new FailureThrottle(2, 1000, 100, clock.now)
    throttle.recordFailure('k')
    throttle.recordFailure('k')
    throttle.reset('k')
    expect(throttle.retryAfterMs('k')).toBe(0)
  })

  test('forgive takes back only the latest failure', () => {
    const clock = fakeClock()
    const throttle = new FailureThrottle(2, 1000, 100, clock.now)
    throttle.recordFailure('k')
    clock.advance(100)
    throttle.recordFailure('k')
    throttle.forgive('k')
    expect(throttle.retryAfterMs('k')).toBe(0)
    throttle.recordFailure('k')
    // The remaining failures are the first (t=0) and the new one: blocked until the first ages out.
    expect(throttle.retryAfterMs('k')).toBe(900)
    throttle.forgive('nobody') // no failures: nothing to take back, no error
  })

  test('past maxKeys the oldest key is forgotten, which can only unblock, never block', () => {
    const clock = fakeClock()
    const throttle = new FailureThrottle(1, 1000, 2, clock.now)
    throttle.recordFailure('a')
    throttle.recordFailure('b')
    throttle.recordFailure('c')
    expect(throttle.retryAfterMs('a')).toBe(0)
    expect(throttle.retryAfterMs('b')).toBe(1000)
    expect(throttle.retryAfterMs('c')).toBe(1000)
  })

  test('a key that fails again moves to the back of the eviction order', () => {
    const clock = fakeClock()
    const throttle = new FailureThrottle(2, 1000, 2, clock.now)
    throttle.recordFailure('a')
    throttle.recordFailure('b')
    throttle.recordFailure('a') // a is now the most recent
    throttle.recordFailure('c') // evicts b, not a
    expect(throttle.retryAfterMs('a')).toBe(1000)
    expect(throttle.retryAfterMs('b')).toBe(0)
  })
})
