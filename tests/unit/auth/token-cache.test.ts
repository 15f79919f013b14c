import { describe, expect, test } from 'bun:test'
import { cachedVerifier } from '../../../src/auth/token-cache'
import { TokenRejected, type VerifiedToken } from '../../../src/auth/verifier'

/** A verifier that counts its calls; tokens named in `rejected` fail, the rest expire at `expiresAt`. */
function countingVerifier(expiresAt: (token: string) => number, rejected = new Set<string>()) {
  const calls: string[] = []
  const verify = async (token: string): Promise<VerifiedToken> => {
    calls.push(token)
    if (rejected.has(token)) throw new TokenRejected('the token signature is invalid')
    return { issuer: 'i', subject: token, roles: [], email: '', name: '', expiresAt: expiresAt(token) }
  }
  return { verify, calls }
}

function fakeClock(start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

describe('cachedVerifier', () => {
  test('a token verified once is answered from the cache until it expires', async () => {
    const clock = fakeClock()
    const inner = countingVerifier(() => clock.now() + 60_000)
    const verify = cachedVerifier(inner.verify, 10, clock.now)
    const first = await verify('t')
    expect(await verify('t')).toEqual(first)
    clock.advance(59_999)
    expect(await verify('t')).toEqual(first)
    expect(inner.calls).toEqual(['t'])
  })

  test('at its exp the cached entry is dropped and the token is verified again', async () => {
    const clock = fakeClock()
    const exp = clock.now() + 60_000
    const inner = countingVerifier(() => exp)
    const verify = cachedVerifier(inner.verify, 10, clock.now)
    await verify('t')
    clock.advance(60_000)
    await verify('t')
    expect(inner.calls).toEqual(['t', 't'])
  })

  test('past its exp the answer is whatever the verifier says now: a rejection propagates', async () => {
    const clock = fakeClock()
    const rejected = new Set<string>()
    const inner = countingVerifier(() => clock.now() + 1000, rejected)
    const verify = cachedVerifier(inner.verify, 10, clock.now)
    await verify('t')
    clock.advance(1000)
    rejected.add('t')
    await expect(verify('t')).rejects.toBeInstanceOf(TokenRejected)
  })

  test('a token accepted inside the clock skew but already past exp is not cached', async () => {
    const clock = fakeClock()
    const inner = countingVerifier(() => clock.now() - 5000)
    const verify = cachedVerifier(inner.verify, 10, clock.now)
    await verify('t')
    await verify('t')
    expect(inner.calls).toEqual(['t', 't'])
  })

  test('rejected tokens are never cached: each attempt is verified again', async () => {
    const clock = fakeClock()
    const inner = countingVerifier(() => clock.now() + 60_000, new Set(['forged']))
    const verify = cachedVerifier(inner.verify, 10, clock.now)
    for (let i = 0; i < 3; i++) await expect(verify('forged')).rejects.toBeInstanceOf(TokenRejected)
    expect(inner.calls).toEqual(['forged', 'forged', 'forged'])
  })

  test('a rejection does not evict or poison the entry of another token', async () => {
    const clock = fakeClock()
    const inner = countingVerifier(() => clock.now() + 60_000, new Set(['forged']))
    const verify = cachedVerifier(inner.verify, 1, clock.now)
    await verify('good')
    await expect(verify('forged')).rejects.toBeInstanceOf(TokenRejected)
    await verify('good')
    expect(inner.calls).toEqual(['good', 'forged'])
  })

  test('the cache holds at most maxEntries tokens and drops the least recently used', async () => {
    const clock = fakeClock()
    const inner = countingVerifier(() => clock.now() + 60_000)
    const verify = cachedVerifier(inner.verify, 2, clock.now)
    await verify('a')
    await verify('b')
    await verify('a') // a is now the most recently used
    await verify('c') // evicts b
    inner.calls.length = 0
    await verify('a')
    await verify('c')
    expect(inner.calls).toEqual([])
    await verify('b')
    expect(inner.calls).toEqual(['b'])
  })

  test('memory stays bounded under many distinct tokens', async () => {
    const clock = fakeClock()
    const inner = countingVerifier(() => clock.now() + 60_000)
    const verify = cachedVerifier(inner.verify, 100, clock.now)
    for (let i = 0; i < 1000; i++) await verify(`t${i}`)
    inner.calls.length = 0
    // The last 100 are cached, the 900 before them are not.
    for (let i = 900; i < 1000; i++) await verify(`t${i}`)
    expect(inner.calls).toEqual([])
    await verify('t899')
    expect(inner.calls).toEqual(['t899'])
  })

  test('size 0 turns the cache off: the verifier itself is returned', async () => {
    const inner = countingVerifier(() => Date.now() + 60_000)
    expect(cachedVerifier(inner.verify, 0)).toBe(inner.verify)
  })
})
