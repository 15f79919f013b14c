import { afterAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createFileOnce } from '../../../src/files/create-once'
import { tempDir } from '../../support/ledgerd-process'

const dir = tempDir()
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('the first writer wins, with the mode asked for, and no temporary file is left behind', () => {
  const path = join(dir, 'secret')
  createFileOnce(path, 'first', 0o600)
  createFileOnce(path, new TextEncoder().encode('second'), 0o600)
  expect(readFileSync(path, 'utf8')).toBe('first')
  expect(statSync(path).mode & 0o777).toBe(0o600)
  expect(readdirSync(dir)).toEqual(['secret'])
})
