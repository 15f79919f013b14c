import { Database } from 'bun:sqlite'
import { describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { run } from '../../../src/cli/main'
import { acquireDataDirLock } from '../../../src/db/data-dir-lock'
import { databaseFileName } from '../../../src/db/open'
import { captureIO } from '../../support/cli'
import { tempDirsRemovedAfterAll } from '../../support/temp-dirs'

const freshDir = tempDirsRemovedAfterAll()

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
    // A server that has created its database file and not yet migrated it.
    new Database(join(dataDir, databaseFileName)).close()
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

describe('commands other than serve and migrate on a data dir without a database', () => {
  for (const argv of [
    ['users', 'create', '--email', 'ops@example.com', '--name', 'Ops'],
    ['token', '--sub', 'ops@example.com'],
    ['verify'],
    ['copy', '--to', 'postgres://ledgerd@127.0.0.1:1/none'],
  ]) {
    test(`${argv.join(' ')} refuses, exit 1 naming the missing database, and creates nothing`, async () => {
      const dataDir = freshDir()
      const io = captureIO({}, 'a long piped password\n')
      expect(await run([...argv, '--data-dir', dataDir], io.io)).toBe(1)
      expect(io.stderr()).toContain(`no database at ${join(dataDir, databaseFileName)}`)
      expect(readdirSync(dataDir)).toEqual([])
    })
  }
})
