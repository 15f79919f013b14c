import { afterAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot, runScript, standIns } from '../../support/stand-ins'

// What every script under scripts/ (and the sourced helpers in scripts/lib/) promises, whoever calls it:
// executable in git, clean under shellcheck, strict mode, a --help that does nothing else, and no secret
// on a command line or on the terminal.

const shellFiles = (dir: string) =>
  readdirSync(join(repoRoot, dir))
    .filter((name) => name.endsWith('.sh'))
    .map((name) => `${dir}/${name}`)
    .sort()
const scripts = [...shellFiles('scripts'), ...shellFiles('scripts/lib')]
const text = (script: string) => readFileSync(join(repoRoot, script), 'utf8')
/** Sourced, not run: no shebang. They must not change the caller's shell options. */
const sourced = (script: string) => !text(script).startsWith('#!')
/** The one run script without -e: it counts failing stages and carries on (it says so in a comment). */
const notErrexit = new Set(['scripts/test.sh'])

// Every command a script could start work with records its call here and fails.
const trap = standIns(
  Object.fromEntries(
    ['kubectl', 'docker', 'trivy', 'buildah', 'bun', 'bunx', 'npm', 'curl', 'apt-get', 'git'].map((name) => [
      name,
      'exit 97',
    ]),
  ),
)
afterAll(() => trap.remove())

test('the scripts are found', () => {
  for (const expected of ['push.sh', 'scan.sh', 'checksums.sh', 'deploy-monitoring.sh', 'smoke-test.sh'])
    expect(scripts).toContain(`scripts/${expected}`)
  expect(scripts.filter((s) => s.startsWith('scripts/lib/')).length).toBeGreaterThan(0)
})

test('every script is executable in git (mode 100755)', () => {
  const listed = Bun.spawnSync(['git', 'ls-files', '-s', 'scripts/*.sh', 'scripts/lib/*.sh'], {
    cwd: repoRoot,
  })
  const modes = new Map(
    listed.stdout
      .toString()
      .trim()
      .split('\n')
      .map((line) => {
        const [mode, , , path] = line.split(/\s+/)
        return [path as string, mode as string]
      }),
  )
  for (const script of scripts)
    expect({ script, mode: modes.get(script) }).toEqual({ script, mode: '100755' })
})

test('shellcheck -x passes on every script', () => {
  const result = Bun.spawnSync(['shellcheck', '-x', ...scripts], { cwd: repoRoot, stdout: 'pipe' })
  expect(result.stdout.toString()).toBe('')
  expect(result.exitCode).toBe(0)
})

describe.each(scripts)('%s', (script) => {
  test('is strict: set -euo pipefail before anything runs, or, when sourced, no set and no exit', () => {
    const lines = text(script).split('\n')
    const firstCode = lines.find((line) => line.trim() !== '' && !line.startsWith('#'))
    if (sourced(script)) {
      expect(text(script)).not.toMatch(/^\s*set -/m)
      if (script.startsWith('scripts/lib/')) {
        // The only exit is in the guard that runs when the file is executed instead of sourced.
        const withoutGuard = text(script).replace(
          /\nif \[ "\$\{BASH_SOURCE\[0\]\}" = "\$0" \]; then\n[\s\S]*?\nfi\n/,
          '\n',
        )
        expect(withoutGuard).not.toMatch(/\bexit\b/)
      }
    } else if (notErrexit.has(script)) {
      expect(firstCode).toBe('set -uo pipefail')
    } else {
      expect(firstCode).toBe('set -euo pipefail')
    }
  })

  test('--help prints a usage line on stdout, exits 0 and starts nothing', () => {
    trap.reset()
    const before = Bun.spawnSync(['git', 'status', '--porcelain', '--ignored', '--untracked-files=all'], {
      cwd: repoRoot,
    }).stdout.toString()
    const { code, stdout } = runScript(script, ['--help'], { env: { PATH: trap.path } })
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Usage: (source )?scripts\//m)
    expect(trap.calls()).toEqual([])
    const after = Bun.spawnSync(['git', 'status', '--porcelain', '--ignored', '--untracked-files=all'], {
      cwd: repoRoot,
    }).stdout.toString()
    expect(after).toBe(before)
  })

  test('an unknown option is a usage error (exit 2), with nothing started', () => {
    if (script === 'scripts/start.sh') return // its options are `serve`'s, checked by `serve`
    trap.reset()
    const { code, stderr } = runScript(script, ['--no-such-option'], { env: { PATH: trap.path } })
    expect({ code, usage: /usage/i.test(stderr) }).toEqual({ code: 2, usage: true })
    expect(trap.calls()).toEqual([])
  })

  test('takes no secret as an option and echoes no secret variable', () => {
    expect(text(script)).not.toMatch(/^\s*-?-[a-z-]*(password|token|secret|webhook)[a-z-]*[)|]/im)
    const secretName = /\$\{?[A-Za-z_]*(password|token|secret|webhook)[A-Za-z_]*/i
    const printing = text(script)
      .split('\n')
      .filter((line) => /\b(echo|printf|say|cat)\b/.test(line) && secretName.test(line))
      // Written to a file in the script's private work dir, never to the terminal.
      .filter((line) => !/>\s*"\$work\/[a-z-]+(\.json)?"\s*$/.test(line))
    expect(printing).toEqual([])
  })
})

test("a sourced library with --help among its caller's arguments does not exit the caller", () => {
  for (const lib of scripts.filter(sourced)) {
    if (lib === 'scripts/ensure-bun.sh' || lib === 'scripts/buildah-env.sh') continue // they install things
    const result = Bun.spawnSync(['bash', '-c', `set -- --help; source ${lib}; echo still here`], {
      cwd: repoRoot,
      stdout: 'pipe',
    })
    expect({ lib, out: result.stdout.toString() }).toEqual({ lib, out: 'still here\n' })
  }
})
