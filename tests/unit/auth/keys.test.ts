import { afterAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, jwtVerify } from 'jose'
import { generatedKeyFileName, KeyFileError, loadSigningKeys } from '../../../src/auth/keys'
import { generateSigningKey, signToken } from '../../support/jwt'
import { tempDir } from '../../support/ledgerd-process'

const dirs: string[] = []
function freshDir(): string {
  const dir = tempDir('ledgerd-keys-')
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function writeIn(dir: string, name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text, { mode: 0o600 })
  return path
}

const thumbprintOf = (jwk: JWK) => calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x } as JWK)

/** What loadSigningKeys signs must verify against what it publishes, under the kid it publishes. */
async function expectSignsAndVerifies(keys: Awaited<ReturnType<typeof loadSigningKeys>>) {
  const { SignJWT } = await import('jose')
  const token = await new SignJWT({ sub: 'u' })
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.kid })
    .sign(keys.privateKey)
  const { protectedHeader } = await jwtVerify(token, keys.keySet, { algorithms: ['EdDSA'] })
  expect(protectedHeader.kid).toBe(keys.kid)
}

const noExtras = { jwtPublicKeysFile: '' }

describe('the signing key file', () => {
  test('a PKCS#8 PEM Ed25519 key is accepted; its kid is the RFC 7638 thumbprint', async () => {
    const dir = freshDir()
    const key = await generateSigningKey('EdDSA', 'ignored')
    const keys = await loadSigningKeys({
      dataDir: dir,
      jwtSigningKeyFile: writeIn(dir, 'key.pem', key.privatePem),
      ...noExtras,
    })
    expect(keys.kid).toBe(await thumbprintOf(key.publicJwk))
    expect(keys.publicJwks).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x, kid: keys.kid, alg: 'EdDSA', use: 'sig' },
    ])
    await expectSignsAndVerifies(keys)
  })

  test('a private JWK is accepted and keeps its own kid', async () => {
    const dir = freshDir()
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwk = { ...(await exportJWK(privateKey)), kid: 'k-2026-01' }
    const keys = await loadSigningKeys({
      dataDir: dir,
      jwtSigningKeyFile: writeIn(dir, 'key.jwk', JSON.stringify(jwk)),
      ...noExtras,
    })
    expect(keys.kid).toBe('k-2026-01')
    await expectSignsAndVerifies(keys)
  })

  test('the published JWKS never carries private material', async () => {
    const dir = freshDir()
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const keys = await loadSigningKeys({
      dataDir: dir,
      jwtSigningKeyFile: writeIn(dir, 'key.jwk', JSON.stringify(await exportJWK(privateKey))),
      ...noExtras,
    })
    expect(JSON.stringify(keys.publicJwks)).not.toContain('"d"')
  })

  test.each([
    ['an RSA PEM key', async () => (await generateSigningKey('RS256', 'r')).privatePem],
    ['a P-256 PEM key', async () => (await generateSigningKey('ES256', 'e')).privatePem],
    ['a public JWK (no d)', async () => JSON.stringify((await generateSigningKey('EdDSA', 'p')).publicJwk)],
    ['a public PEM', async () => (await generateSigningKey('EdDSA', 'p')).publicPem],
    ['garbage', async () => 'not a key'],
    ['an empty file', async () => ''],
  ])('%s is refused with a KeyFileError naming the file', async (_, content) => {
    const dir = freshDir()
    const path = writeIn(dir, 'key', await content())
    const loading = loadSigningKeys({ dataDir: dir, jwtSigningKeyFile: path, ...noExtras })
    await expect(loading).rejects.toBeInstanceOf(KeyFileError)
    await expect(loading).rejects.toThrow(path)
  })
})

describe('the key generated in the data dir', () => {
  test('is created on first load with mode 0600 and reused, same kid, on the next load', async () => {
    const dir = freshDir()
    const first = await loadSigningKeys({ dataDir: dir, jwtSigningKeyFile: '', ...noExtras })
    const path = join(dir, generatedKeyFileName)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const written = readFileSync(path, 'utf8')
    const second = await loadSigningKeys({ dataDir: dir, jwtSigningKeyFile: '', ...noExtras })
    expect(second.kid).toBe(first.kid)
    expect(second.publicJwks).toEqual(first.publicJwks)
    expect(readFileSync(path, 'utf8')).toBe(written)
    // Tokens signed before a restart still verify after it.
    const { SignJWT } = await import('jose')
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: first.kid })
      .sign(first.privateKey)
    await jwtVerify(token, second.keySet)
  })

  test('two processes starting at once end up with one key', async () => {
    const dir = freshDir()
    const loads = await Promise.all(
      Array.from({ length: 8 }, () => loadSigningKeys({ dataDir: dir, jwtSigningKeyFile: '', ...noExtras })),
    )
    expect(new Set(loads.map((keys) => keys.kid)).size).toBe(1)
  })

  test('processes starting at once all load one key; none reads a half-written file', async () => {
    const dir = freshDir()
    const keysModule = join(import.meta.dir, '../../../src/auth/keys.ts')
    const script = `const { loadSigningKeys } = await import(${JSON.stringify(keysModule)})
      const dataDir = process.argv[1]
      const keys = await loadSigningKeys({ dataDir, jwtSigningKeyFile: '', jwtPublicKeysFile: '' })
      console.log(keys.kid)`
    const runs = Array.from({ length: 6 }, () =>
      Bun.spawn([process.execPath, '-e', script, dir], { stdout: 'pipe', stderr: 'pipe' }),
    )
    const results = await Promise.all(
      runs.map(async (run) => ({
        code: await run.exited,
        kid: (await new Response(run.stdout).text()).trim(),
        stderr: await new Response(run.stderr).text(),
      })),
    )
    expect(results.filter((result) => result.code !== 0)).toEqual([])
    expect(new Set(results.map((result) => result.kid)).size).toBe(1)
    // No temporary files are left behind.
    expect(readdirSync(dir)).toEqual([generatedKeyFileName])
  })

  test('is not created when a signing key file is given', async () => {
    const dir = freshDir()
    const key = await generateSigningKey('EdDSA', 'k')
    await loadSigningKeys({
      dataDir: dir,
      jwtSigningKeyFile: writeIn(dir, 'k.pem', key.privatePem),
      ...noExtras,
    })
    expect(() => statSync(join(dir, generatedKeyFileName))).toThrow()
  })
})

describe('the extra public keys file', () => {
  async function loadWithExtras(text: string) {
    const dir = freshDir()
    return loadSigningKeys({
      dataDir: dir,
      jwtSigningKeyFile: '',
      jwtPublicKeysFile: writeIn(dir, 'extra', text),
    })
  }

  test('a JWKS, one JWK or PEM blocks are published after the signing key and verify', async () => {
    const previous = await generateSigningKey('EdDSA', 'previous')
    const older = await generateSigningKey('EdDSA', 'older')
    for (const text of [
      JSON.stringify({ keys: [previous.publicJwk, older.publicJwk] }),
      `${previous.publicPem}\n${older.publicPem}`,
    ]) {
      const keys = await loadWithExtras(text)
      expect(keys.publicJwks).toHaveLength(3)
      expect(keys.publicJwks.slice(1).map((jwk) => jwk.x)).toEqual([previous.publicJwk.x, older.publicJwk.x])
      for (const jwk of keys.publicJwks) expect(jwk.d).toBeUndefined()
      const published = keys.publicJwks[1] as JWK
      const token = await signToken(previous, { sub: 'u' }, { kid: published.kid })
      await jwtVerify(token, keys.keySet, { algorithms: ['EdDSA'] })
    }
    const single = await loadWithExtras(JSON.stringify(previous.publicJwk))
    expect(single.publicJwks.map((jwk) => jwk.kid)).toEqual([single.kid, 'previous'])
  })

  test('the signing key listed again among the extras is published once', async () => {
    const dir = freshDir()
    const key = await generateSigningKey('EdDSA', 'x')
    const keys = await loadSigningKeys({
      dataDir: dir,
      jwtSigningKeyFile: writeIn(dir, 'k.pem', key.privatePem),
      jwtPublicKeysFile: writeIn(dir, 'extra.pem', key.publicPem),
    })
    expect(keys.publicJwks).toHaveLength(1)
  })

  test.each([
    [
      'a private JWK',
      async () => JSON.stringify(await exportJWK((await generateSigningKey('EdDSA', 'p')).privateKey)),
    ],
    [
      'a JWKS with one private key among public ones',
      async () => {
        const pub = (await generateSigningKey('EdDSA', 'a')).publicJwk
        const priv = await exportJWK((await generateSigningKey('EdDSA', 'b')).privateKey)
        return JSON.stringify({ keys: [pub, priv] })
      },
    ],
    ['a PKCS#8 private PEM', async () => (await generateSigningKey('EdDSA', 'p')).privatePem],
    [
      'a public PEM followed by a private PEM',
      async () => {
        const key = await generateSigningKey('EdDSA', 'p')
        return `${key.publicPem}\n${key.privatePem}`
      },
    ],
  ])('private material (%s) is refused', async (_, content) => {
    await expect(loadWithExtras(await content())).rejects.toThrow(/private key material/)
  })

  test.each([
    ['an RSA public key', async () => JSON.stringify((await generateSigningKey('RS256', 'r')).publicJwk)],
    ['an empty JWKS', async () => '{"keys":[]}'],
    ['a JWKS whose keys is not a list', async () => '{"keys":{}}'],
    ['a JWKS with a null key', async () => '{"keys":[null]}'],
    ['garbage', async () => 'not keys'],
    ['an HMAC secret', async () => '{"kty":"oct","k":"c2VjcmV0"}'],
  ])('%s is refused with a KeyFileError', async (_, content) => {
    await expect(loadWithExtras(await content())).rejects.toBeInstanceOf(KeyFileError)
  })
})
