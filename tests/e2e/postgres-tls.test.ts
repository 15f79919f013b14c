import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { ledgerClient } from '../support/ledger-client'
import { type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'
import { createTestPki, type TestPki } from '../support/pki'
import { startPostgres, type TestPostgres } from '../support/postgres'

// TLS to PostgreSQL as CloudNativePG serves it: a server certificate from the cluster's own CA, and
// TCP connections over TLS only. --db-ssl-mode verify-full with that CA connects; with another CA, or
// without TLS, ledgerd never talks to the server: not ready, retrying, saying why.

let pg: TestPostgres
let pki: TestPki

beforeAll(async () => {
  pki = createTestPki()
  pg = await startPostgres({ tls: { cert: pki.serverCert, key: pki.serverKey } })
}, 60_000)
afterAll(() => {
  pg.stop('immediate')
  pki.dispose()
})

const env = (url: string, extra: Record<string, string>) => ({
  LEDGERD_DATABASE_URL: url,
  LEDGERD_DB_CONNECT_TIMEOUT: '1s',
  ...extra,
})

describe('TLS to PostgreSQL', () => {
  test('verify-full against the CA that signed the server certificate: connects and serves', async () => {
    const url = await pg.createDatabase('tls')
    const replica = await startLedgerd({
      env: env(url, { LEDGERD_DB_SSL_MODE: 'verify-full', LEDGERD_DB_SSL_ROOT_CERT: pki.caCert }),
    })
    try {
      expect((await fetch(`${replica.adminUrl}/readyz`)).status).toBe(200)
      const user = await ledgerClient(replica.apiUrl).signUp('tls@example.com')
      expect(user.id).toBeString()
    } finally {
      await replica.stop()
    }
  })

  const refused: [string, Record<string, string>, RegExp][] = [
    [
      'verify-full against another CA',
      { LEDGERD_DB_SSL_MODE: 'verify-full', LEDGERD_DB_SSL_ROOT_CERT: 'OTHER_CA' },
      /certificate/i,
    ],
    [
      'no TLS, to a server that takes TLS only',
      { LEDGERD_DB_SSL_MODE: 'disable' },
      /no pg_hba.conf entry|SSL off/,
    ],
  ]
  for (const [name, settings, reason] of refused) {
    test(`${name}: never serves, not ready, retrying and saying why`, async () => {
      const url = await pg.createDatabase('tls_refused')
      const resolved = Object.fromEntries(
        Object.entries(settings).map(([key, value]) => [key, value.replace('OTHER_CA', pki.otherCaCert)]),
      )
      let replica: RunningLedgerd | undefined
      try {
        replica = await startLedgerd({
          env: env(url, resolved),
          startedWhen: (line) => line.msg === 'database unavailable; retrying',
        })
        expect((await fetch(`${replica.adminUrl}/readyz`)).status).toBe(503)
        expect((await fetch(`${replica.apiUrl}/v1/meta`)).status).toBe(503)
        const warning = replica.logs.find((line) => line.msg === 'database unavailable; retrying')
        expect(String(warning?.reason)).toMatch(reason)
        expect(JSON.stringify(replica.logs)).not.toContain(new URL(url).password)
      } finally {
        await replica?.stop()
      }
    })
  }
})
