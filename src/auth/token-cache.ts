import { BoundedMap } from '../lib/bounded-map'
import type { TokenVerifier, VerifiedToken } from './verifier'

/**
 * Remembers verified tokens until they expire, so a client sending the same token on every request pays
 * for signature verification once. Bounded: past maxEntries the least recently used is dropped. Only
 * successes are cached; a rejected token is verified again each time (and fails fast).
 */
export function cachedVerifier(verify: TokenVerifier, maxEntries: number, now = Date.now): TokenVerifier {
  if (maxEntries === 0) return verify
  const cache = new BoundedMap<string, VerifiedToken>(maxEntries, 'use')
  return async (token) => {
    const hit = cache.get(token)
    if (hit) {
      // Expiry is checked without the clock-skew allowance: a cached token never outlives its exp.
      if (hit.expiresAt > now()) return hit
      cache.delete(token)
    }
    const verified = await verify(token)
    if (verified.expiresAt > now()) cache.set(token, verified)
    return verified
  }
}
