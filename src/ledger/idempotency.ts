import { HttpProblem } from '../http/problem'

export const idempotencyHeader = 'idempotency-key'
const maxKeyLength = 255

/** The caller's Idempotency-Key, if any; refused (400, before anything runs) when it is empty or too long. */
export function idempotencyKeyOf(request: Request): string | undefined {
  const key = request.headers.get(idempotencyHeader)
  if (key === null) return undefined
  if (key.length === 0 || key.length > maxKeyLength) {
    const message = `must be 1 to ${maxKeyLength} characters`
    throw new HttpProblem('invalid-parameter', `Idempotency-Key: ${message}`, {
      errors: [{ field: 'Idempotency-Key', in: 'headers', message }],
    })
  }
  return key
}

/** Same key, same request means: same method, same path, same JSON body (key order does not matter). */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  const canonical = JSON.stringify(body ?? null, (_, value) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  )
  return new Bun.CryptoHasher('sha256').update(`${method} ${path}\n${canonical}`).digest('hex')
}

/** Keys whose first request is still running, per caller; a second request with one gets 409. */
export class InFlightKeys {
  readonly #keys = new Set<string>()

  claim(ownerId: string, key: string): boolean {
    const id = `${ownerId}\n${key}`
    if (this.#keys.has(id)) return false
    this.#keys.add(id)
    return true
  }

  release(ownerId: string, key: string): void {
    this.#keys.delete(`${ownerId}\n${key}`)
  }
}
