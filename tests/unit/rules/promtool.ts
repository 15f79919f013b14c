import { spawnSync } from 'node:child_process'

// Debian's promtool (package `prometheus`). Missing, it is installed with apt-get as scripts/test.sh
// installs shellcheck; if that fails the tests fail, never skip.
export const promtoolPath = '/usr/bin/promtool'

let ensured = false

export function ensurePromtool(): string {
  if (ensured || Bun.which('promtool')) {
    ensured = true
    return Bun.which('promtool') ?? promtoolPath
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const update = spawnSync('apt-get', ['update', '-qq'], { encoding: 'utf8', timeout: 300_000, env })
  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'prometheus'], {
    encoding: 'utf8',
    timeout: 600_000,
    env,
  })
  const found = Bun.which('promtool')
  if (update.status !== 0 || install.status !== 0 || !found) {
    throw new Error(
      `promtool is missing and apt-get could not install prometheus: ${install.stderr || update.stderr}`,
    )
  }
  ensured = true
  return found
}

export interface PromtoolResult {
  exitCode: number
  output: string
}

export function promtool(...args: string[]): PromtoolResult {
  const result = spawnSync(ensurePromtool(), args, { encoding: 'utf8', timeout: 120_000 })
  return { exitCode: result.status ?? 1, output: `${result.stdout}${result.stderr}` }
}
