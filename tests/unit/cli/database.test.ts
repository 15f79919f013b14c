import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { run } from '../../../src/cli/main'
import { acquireDataDirLock } from '../../../src/db/data-dir-lock'
import { captureIO } from '../../support/cli'
import { tempDir } from '../../support/ledgerd-process'

const dirs: string[] = []
const freshDir = () => {
  const dir = tempDir()
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

async function createUser(dataDir: string, email: string) {
  const io = captureIO({}, 'a long piped password\n')
  const code = await run(['users', 'create', '--email', email, '--name', 'Ops', '--data-dir', dataDir], io.io)
  return { code, stderr: io.stderr() }
}

describe('users create while a server holds the data dir', () => {
  test('creates the user in a database the server has migrated', async () => {
    const dataDir = freshDir()
    expect(await run(['migrate', '--data-dir', dataDir], captureIO().io)).toBe(0)
    const server = acquireDataDirLock(dataDir)
    try {
      expect(await createUser(dataDir, 'ops@example.com')).toEqual({ code: 0, stderr: '' })
    } finally {
      server.release()
    }
  })

  test('does not migrate the database under it: it says which migrations are missing and who holds it', async () => {
    const dataDir = freshDir()
    const server = acquireDataDirLock(dataDir)
    try {
      await expect(createUser(dataDir, 'ops@example.com')).rejects.toThrow(
        /^the database lacks migration\(s\) 1(, \d+)* of this binary, and data dir .* is in use by ledgerd dev pid \d+/,
      )
    } finally {
      server.release()
    }
    expect((await createUser(dataDir, 'ops@example.com')).code).toBe(0)
  })
})
