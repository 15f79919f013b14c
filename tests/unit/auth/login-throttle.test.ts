import { describe, expect, test } from 'bun:test'
import { MemoryLoginThrottle } from '../../../src/auth/login-throttle'
import { describeLoginThrottle, fakeClock } from './login-throttle-contract'

// Each throttle is its own store in memory, as each ledgerd process on SQLite has its own.
describeLoginThrottle('in memory', async () => ({
  throttle: ({ limit, windowMs, now }) => new MemoryLoginThrottle(limit, windowMs, 100, now),
  dispose: async () => {},
}))

describe('MemoryLoginThrottle: bounded memory', () => {
  test('past maxKeys the oldest key is forgotten, which can only unblock, never block', async () => {
    const clock = fakeClock()
    const throttle = new MemoryLoginThrottle(1, 1000, 2, clock.now)
    await throttle.attempt('a')
    await throttle.attempt('b')
    await throttle.attempt('c')
    expect(await throttle.retryAfterMs('a')).toBe(0)
    expect(await throttle.retryAfterMs('b')).toBe(1000)
    expect(await throttle.retryAfterMs('c')).toBe(1000)
  })

  test('a key that fails again moves to the back of the eviction order', async () => {
    const clock = fakeClock()
    const throttle = new MemoryLoginThrottle(2, 1000, 2, clock.now)
    await throttle.attempt('a')
    await throttle.attempt('b')
    await throttle.attempt('a') // a is now the most recent
    await throttle.attempt('c') // evicts b, not a
    expect(await throttle.retryAfterMs('a')).toBe(1000)
    expect(await throttle.retryAfterMs('b')).toBe(0)
  })
})
