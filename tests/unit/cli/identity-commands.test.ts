import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { loadSigningKeys } from '../../../src/auth/keys'
import { run } from '../../../src/cli/main'
import { captureIO } from '../../support/cli'
import { tempDir } from '../../support/ledgerd-process'

const dataDir = tempDir()
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
// Only serve and migrate create a database; these commands refuse a data dir without one.
beforeAll(async () => expect(await run(['migrate', '--data-dir', dataDir], captureIO().io)).toBe(0))

async function ledgerd(args: string[], stdin?: string) {
  const io = captureIO({}, stdin)
  const code = await run([...args, '--data-dir', dataDir], io.io)
  return { code, stdout: io.stdout(), stderr: io.stderr() }
}

async function verify(token: string) {
  const keys = await loadSigningKeys({ dataDir, jwtSigningKeyFile: '', jwtPublicKeysFile: '' })
  return (
    await jwtVerify(token, createLocalJWKSet({ keys: keys.publicJwks }), {
      issuer: 'ledgerd',
      audience: 'ledgerd',
    })
  ).payload
}

describe('ledgerd users create', () => {
  test('takes the password from stdin and does not print it', async () => {
    const result = await ledgerd(
      ['users', 'create', '--email', 'ops@example.com', '--name', 'Ops'],
      'a long piped password\n',
    )
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^created user [0-9a-f-]{36} <ops@example.com>\n$/)
  })

  test('generates and prints a password when stdin has none', async () => {
    const result = await ledgerd([
      'users',
      'create',
      '--email',
      'root@example.com',
      '--name',
      'Root',
      '--admin',
    ])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^created admin .*\npassword: [A-Za-z0-9_-]{32}\n$/)
  })

  test('refuses a duplicate email, a short password and a bad email', async () => {
    expect(
      (await ledgerd(['users', 'create', '--email', 'OPS@example.com', '--name', 'x'], 'another password!'))
        .code,
    ).toBe(1)
    expect(
      (await ledgerd(['users', 'create', '--email', 'new@example.com', '--name', 'x'], 'short')).code,
    ).toBe(2)
    expect((await ledgerd(['users', 'create', '--email', 'not-an-email', '--name', 'x'])).code).toBe(2)
    expect((await ledgerd(['users', 'delete'])).code).toBe(2)
  })

  test('holds names and passwords to the API rules: a control character, 11 emoji, only spaces', async () => {
    const create = (name: string, password: string) =>
      ledgerd(['users', 'create', '--email', 'rules@example.com', '--name', name], password)
    const badName = await create('Ro\u0007ot', 'a long piped password')
    expect({ code: badName.code, stderr: badName.stderr }).toEqual({
      code: 2,
      stderr: 'ledgerd users: --name must not contain control characters (found U+0007)\n',
    })
    expect((await create('Root', '\u{1F600}'.repeat(11))).stderr).toContain(
      'at least 12 characters (code points)',
    )
    expect((await create('Root', ' '.repeat(16))).stderr).toContain('must not be only whitespace')
    expect((await create('Root', '\u{1F600}'.repeat(12))).code).toBe(0)
  })
})

describe('ledgerd token', () => {
  test('signs a token for a user found by email, with the user role and the default lifetime', async () => {
    const result = await ledgerd(['token', '--sub', 'ops@example.com'])
    expect(result.code).toBe(0)
    const claims = await verify(result.stdout.trim())
    expect(claims.roles).toEqual(['user'])
    expect((claims.exp as number) - (claims.iat as number)).toBe(15 * 60)
  })

  test('--role admin and --ttl shape the token', async () => {
    const result = await ledgerd(['token', '--sub', 'ops@example.com', '--role', 'admin', '--ttl', '1h'])
    const claims = await verify(result.stdout.trim())
    expect(claims.roles).toEqual(['user', 'admin'])
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600)
  })

  test('an admin user gets the admin role without asking', async () => {
    const claims = await verify((await ledgerd(['token', '--sub', 'root@example.com'])).stdout.trim())
    expect(claims.roles).toEqual(['user', 'admin'])
  })

  test('an unknown user is an error, not a token', async () => {
    const result = await ledgerd(['token', '--sub', 'nobody@example.com'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
  })

  test('the signing key was generated once, in the data dir, readable by its owner only', () => {
    expect(statSync(join(dataDir, 'jwt-signing-key.jwk')).mode & 0o777).toBe(0o600)
  })
})
