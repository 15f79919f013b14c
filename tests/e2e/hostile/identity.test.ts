import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type RunningLedgerd, startLedgerd } from '../../support/ledgerd-process'

// Identity abuse (issue 13): what a hostile client can do to other people's accounts through the login,
// sign-up and delete paths. Every request has a bounded timeout: a hang fails the test, never stalls it.
const timeout = { signal: undefined as AbortSignal | undefined }
const bounded = () => ({ ...timeout, signal: AbortSignal.timeout(10_000) })
const password = 'correct horse battery staple'

function client(server: RunningLedgerd) {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.apiUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      ...bounded(),
    })
  return {
    signUp: (email: string, from = '198.51.100.1') =>
      post('/v1/users', { email, name: 'Someone', password }, { 'x-forwarded-for': from }),
    login: (email: string, secret: string, from: string) =>
      post('/v1/auth/token', { email, password: secret }, { 'x-forwarded-for': from }),
  }
}

describe('lockout as a weapon', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd({ args: ['--forwarded-for-hops', '1', '--login-max-failures', '5'] })
  })
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  test('100 failures from one address: the owner, from another, still logs in', async () => {
    const api = client(server)
    expect((await api.signUp('owner@example.com')).status).toBe(201)
    const statuses: number[] = []
    for (let i = 0; i < 100; i++)
      statuses.push((await api.login('owner@example.com', `guess ${i}`, '6.6.6.6')).status)
    expect(statuses.filter((status) => status === 401)).toHaveLength(5)
    expect(statuses.filter((status) => status === 429)).toHaveLength(95)
    const owner = await api.login('owner@example.com', password, '192.0.2.10')
    expect(owner.status).toBe(200)
    // The attacker's address stays refused, even with the right password.
    const attacker = await api.login('owner@example.com', password, '6.6.6.6')
    expect(attacker.status).toBe(429)
    expect(attacker.headers.get('content-type')).toStartWith('application/problem+json')
    expect(Number(attacker.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  test('guesses spread over many addresses: the email is capped for addresses that failed, never for a fresh one', async () => {
    const api = client(server)
    expect((await api.signUp('spread@example.com')).status).toBe(201)
    // Email cap: 4 × 5 = 20 failures from all addresses, one each.
    for (let i = 0; i < 20; i++)
      expect((await api.login('spread@example.com', 'wrong guess', `6.6.8.${i}`)).status).toBe(401)
    expect((await api.login('spread@example.com', password, '6.6.8.0')).status).toBe(429)
    expect((await api.login('spread@example.com', password, '192.0.2.11')).status).toBe(200)
  })
})
