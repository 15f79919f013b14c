import type { TokenVerifier, VerifiedToken } from './verifier'

/**
 * Remembers verified tokens until they expire, so a client sending the same token on every request pays
 * for signature verification once. Bounded: past maxEntries the least recently used is dropped. Only
 * successes are cached; a rejected token is verified again each time (and fails fast).
 */
export function cachedVerifier(verify: TokenVerifier, maxEntries: number, now = Date.now): TokenVerifier {
  if (maxEntries === 0) return verify
  const cache = new Map<string, VerifiedToken>()
  return async (token) => {
    const hit = cache.get(token)
    if (hit) {
      cache.delete(token)
      // Expiry is checked without the clock-skew allowance: a cached token never outlives its exp.
      if (hit.expiresAt > now()) {
        cache.set(token, hit)
        return hit
      }
    }
    const verified = await verify(token)
    if (verified.expiresAt > now()) {
      cache.set(token, verified)
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string)
    }
    return verified
  }
}
