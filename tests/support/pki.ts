import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './ledgerd-process'

// Certificates for TLS tests, made with openssl in a temp dir: a CA, a server certificate it signed for
// 127.0.0.1 and localhost (as CloudNativePG's CA signs its instances'), and a second CA that signed
// nothing here, for "the wrong CA" cases. P-256 keys, valid for a day.

export interface TestPki {
  dir: string
  caCert: string
  otherCaCert: string
  serverCert: string
  serverKey: string
  dispose(): void
}

export function createTestPki(): TestPki {
  const dir = tempDir('ledgerd-pki-')
  const openssl = (...args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 30_000 })
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`)
  }
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  for (const ca of ['ca', 'other-ca']) {
    openssl(
      'req',
      '-x509',
      ...key,
      '-days',
      '1',
      '-subj',
      `/CN=${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
    )
  }
  openssl('req', ...key, '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr')
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
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
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    otherCaCert: join(dir, 'other-ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  }
}
