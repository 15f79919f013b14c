import { spawnSync } from 'node:child_process'
import { ensureDebianPackage } from '../../support/debian'

// Debian's promtool (package `prometheus`). Missing, it is installed with apt-get as scripts/test.sh
// installs shellcheck; if that fails the tests fail, never skip.
export const promtoolPath = '/usr/bin/promtool'

export function ensurePromtool(): string {
  ensureDebianPackage('prometheus', () => Bun.which('promtool') !== null)
  return Bun.which('promtool') ?? promtoolPath
}

export interface PromtoolResult {
  exitCode: number
  output: string
}

export function promtool(...args: string[]): PromtoolResult {
  const result = spawnSync(ensurePromtool(), args, { encoding: 'utf8', timeout: 120_000 })
  return { exitCode: result.status ?? 1, output: `${result.stdout}${result.stderr}` }
}
