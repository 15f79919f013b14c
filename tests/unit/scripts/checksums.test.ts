import { afterAll, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runScript } from '../../support/stand-ins'

const dir = mkdtempSync(join(tmpdir(), 'ledgerd-checksums-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const verify = () =>
  Bun.spawnSync(['sha256sum', '-c', '--strict', 'SHA256SUMS'], { cwd: dir, stdout: 'pipe' })

test('scripts/checksums.sh DIR: SHA256SUMS that sha256sum -c verifies, and that catches a changed file', () => {
  writeFileSync(join(dir, 'ledgerd-linux-x64'), 'x64 binary')
  writeFileSync(join(dir, 'ledgerd-linux-arm64'), 'arm64 binary')
  writeFileSync(join(dir, 'sbom name.spdx.json'), '{}')
  mkdirSync(join(dir, 'subdir'))
  expect(runScript('scripts/checksums.sh', [dir]).code).toBe(0)
  const lines = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n')
  expect(lines.map((line) => line.slice(66))).toEqual([
    'ledgerd-linux-arm64',
    'ledgerd-linux-x64',
    'sbom name.spdx.json',
  ])
  expect(verify().exitCode).toBe(0)
  // Run again: SHA256SUMS does not list itself.
  expect(runScript('scripts/checksums.sh', [dir]).code).toBe(0)
  expect(readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n')).toEqual(lines)
  writeFileSync(join(dir, 'ledgerd-linux-arm64'), 'tampered')
  expect(verify().exitCode).not.toBe(0)
})

test('scripts/checksums.sh: no directory, or an empty one, is an error', () => {
  expect(runScript('scripts/checksums.sh', []).code).toBe(2)
  expect(runScript('scripts/checksums.sh', [join(dir, 'missing')]).code).toBe(2)
  const empty = mkdtempSync(join(tmpdir(), 'ledgerd-checksums-empty-'))
  expect(runScript('scripts/checksums.sh', [empty]).code).toBe(1)
  rmSync(empty, { recursive: true })
})
