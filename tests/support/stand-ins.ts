import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

// Stand-in commands for the scripts' tests: a temp bin directory put first on PATH, whose executables
// (bash scripts) record how they were called in calls.log and answer as the test says. The approach of
// tests/unit/kustomize/deploy-script.test.ts, for more than kubectl.

export const repoRoot = resolve(import.meta.dir, '../..')

export interface StandIns {
  dir: string
  /** PATH with the stand-ins first. */
  path: string
  /** The recorded calls, one line each ("<command> <args>"), since the last reset(). */
  calls(): string[]
  reset(): void
  remove(): void
}

/** bodies: command name → bash body; "$@" are its arguments, $CALLS the log, $STAND_INS the directory. */
export function standIns(bodies: Record<string, string>, basePath = process.env.PATH ?? ''): StandIns {
  const dir = mkdtempSync(join(tmpdir(), 'ledgerd-stand-ins-'))
  const log = join(dir, 'calls.log')
  for (const [name, body] of Object.entries(bodies)) {
    const file = join(dir, name)
    writeFileSync(
      file,
      `#!/usr/bin/env bash\nCALLS='${log}' STAND_INS='${dir}'\necho "${name} $*" >>"$CALLS"\n${body}\n`,
    )
    chmodSync(file, 0o755)
  }
  return {
    dir,
    path: basePath ? `${dir}:${basePath}` : dir,
    calls() {
      try {
        return readFileSync(log, 'utf8').split('\n').filter(Boolean)
      } catch {
        return []
      }
    },
    reset: () => rmSync(log, { force: true }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export interface ScriptResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs a script with bash, the given environment on top of this process's (minus GitHub's ref vars). */
export function runScript(
  script: string,
  args: string[],
  { env = {}, cwd = repoRoot }: { env?: Record<string, string>; cwd?: string } = {},
): ScriptResult {
  const base = { ...process.env }
  // CI sets these; a test that wants them says so.
  delete base.GITHUB_REF_NAME
  delete base.GITHUB_REF_TYPE
  const result = Bun.spawnSync(['bash', script, ...args], {
    cwd,
    env: { ...base, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() }
}

/** runScript without blocking the event loop: for scripts that talk to a server in this process. */
export async function runScriptAsync(
  script: string,
  args: string[],
  { env = {}, cwd = repoRoot }: { env?: Record<string, string>; cwd?: string } = {},
): Promise<ScriptResult> {
  const base = { ...process.env }
  delete base.GITHUB_REF_NAME
  delete base.GITHUB_REF_TYPE
  const child = Bun.spawn(['bash', script, ...args], {
    cwd,
    env: { ...base, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  return { code, stdout, stderr }
}
