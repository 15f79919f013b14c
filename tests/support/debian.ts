import { spawnSync } from 'node:child_process'

/**
 * Installs Debian's package `pkg` with apt-get unless `present()` says it is there already, as
 * scripts/test.sh's ensure_debian_package does for the shell: CI and fresh machines start without it.
 * Throws if the install fails or leaves it absent, so a test that needs it fails rather than skips.
 * .ci/apt-packages must list it (tests/unit/workflows/ci-packages.test.ts finds the calls).
 */
export function ensureDebianPackage(pkg: string, present: () => boolean): void {
  if (present()) return
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const update = spawnSync('apt-get', ['update', '-qq'], { encoding: 'utf8', timeout: 300_000, env })
  const install = spawnSync('apt-get', ['install', '-y', '-qq', pkg], {
    encoding: 'utf8',
    timeout: 600_000,
    env,
  })
  if (update.status !== 0 || install.status !== 0 || !present()) {
    throw new Error(`could not install Debian's ${pkg}: ${install.stderr || update.stderr}`)
  }
}
