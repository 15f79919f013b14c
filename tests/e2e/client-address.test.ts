import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'

// Behind an ingress every client shares the proxy's address, so the per-client login throttle must key
// on the address the trusted proxy appended to X-Forwarded-For.
let server: RunningLedgerd
beforeAll(async () => {
  server = await startLedgerd({ args: ['--forwarded-for-hops', '1', '--login-max-failures', '1'] })
})
afterAll(async () => {
  expect(await server.stop()).toBe(0)
})

const attempt = (email: string, forwardedFor: string) =>
  fetch(`${server.apiUrl}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ email, password: 'not the password' }),
  })

test('with one trusted hop, failed logins are throttled per forwarded client, not per proxy', async () => {
  // The per-client limit is four times the per-email one: 4 failures, each for a fresh email.
  for (let i = 0; i < 4; i++)
    expect((await attempt(`guess${i}@example.com`, '6.6.6.6, 203.0.113.1')).status).toBe(401)
  expect((await attempt('guess9@example.com', '7.7.7.7, 203.0.113.1')).status).toBe(429)
  expect((await attempt('guess9@example.com', '6.6.6.6, 203.0.113.2')).status).toBe(401)
  await Bun.sleep(50)
  const lines = server.logs.filter((l) => l.msg === 'request' && l.route === '/v1/auth/token')
  expect(lines.at(-1)?.remoteAddr).toBe('203.0.113.2')
})
