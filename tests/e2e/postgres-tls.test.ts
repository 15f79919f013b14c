import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { ledgerClient } from '../support/ledger-client'
import { type RunningLedgerd, startLedgerd, tempDir } from '../support/ledgerd-process'
import { startPostgres, type TestPostgres } from '../support/postgres'

// TLS to PostgreSQL as CloudNativePG serves it: a server certificate from the cluster's own CA, and
// TCP connections over TLS only. --db-ssl-mode verify-full with that CA connects; with another CA, or
// without TLS, ledgerd never talks to the server: not ready, retrying, saying why.

let pg: TestPostgres
let pki: string

function openssl(...args: string[]) {
  const result = spawnSync('openssl', args, { cwd: pki, encoding: 'utf8', timeout: 30_000 })
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`)
}

/** A self-signed CA: <name>.crt and <name>.key in the temp PKI dir. */
function ca(name: string) {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
  )
}

beforeAll(async () => {
  pki = tempDir('ledgerd-pki-')
  ca('ca')
  ca('other-ca')
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  )
  Bun.write(join(pki, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  )
  pg = await startPostgres({ tls: { cert: join(pki, 'server.crt'), key: join(pki, 'server.key') } })
}, 60_000)
afterAll(() => {
  pg.stop('immediate')
  rmSync(pki, { recursive: true, force: true })
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
      env: env(url, { LEDGERD_DB_SSL_MODE: 'verify-full', LEDGERD_DB_SSL_ROOT_CERT: join(pki, 'ca.crt') }),
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
      { LEDGERD_DB_SSL_MODE: 'verify-full', LEDGERD_DB_SSL_ROOT_CERT: join('PKI', 'other-ca.crt') },
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
        Object.entries(settings).map(([key, value]) => [key, value.replace('PKI', pki)]),
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
