import { describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import {
  actionFiles,
  deployJobsWithoutSerialisation,
  jobsWithoutTimeout,
  missingScripts,
  parseWorkflowFile,
  permissionProblems,
  policyViolations,
  pullRequestTargetHeadCheckouts,
  readWorkflowFile,
  secretsInRun,
  unpinnedActions,
  type WorkflowFile,
  workflowFiles,
  writeGrants,
} from '../../support/workflows'

// The delivery pipeline's hygiene, checked on the files themselves (GitHub cannot be reached from where
// the suite runs, so this, actionlint and shellcheck are what is proven here; the runs are not).

const workflows = workflowFiles()
const files = [...workflows, ...actionFiles()]

test('the three workflows and the Slack action are there', () => {
  expect(workflows.map((f) => f.path)).toEqual([
    '.github/workflows/ci.yml',
    '.github/workflows/deploy.yml',
    '.github/workflows/release.yml',
  ])
  expect(actionFiles().map((f) => f.path)).toEqual(['.github/actions/notify-slack/action.yml'])
})

describe.each(files.map((f) => [f.path, f] as const))('%s', (_path, file) => {
  test('meets the policy: pinned actions, permissions, no pull_request_target head checkout, no secret in run:, timeouts, serialised deploys', () => {
    expect(policyViolations(file)).toEqual([])
  })

  test('every script it runs exists in the repository', () => {
    expect(missingScripts(file)).toEqual([])
  })
})

test('write permissions are granted only to the jobs that need them, never at the top level', () => {
  expect(workflows.flatMap(writeGrants).sort()).toEqual(
    [
      // cosign's keyless signature: Fulcio certifies GitHub's OIDC token.
      '.github/workflows/release.yml sign id-token',
      // Pushing the image, and the signature next to it.
      '.github/workflows/release.yml image packages',
      '.github/workflows/release.yml sign packages',
      // Trivy's SARIF to code scanning.
      '.github/workflows/release.yml scan security-events',
      // gh release create, on tags.
      '.github/workflows/release.yml release contents',
      // AWS: sts:AssumeRoleWithWebIdentity with GitHub's OIDC token.
      '.github/workflows/deploy.yml deploy id-token',
    ].sort(),
  )
})

test('every workflow sends its outcome to Slack from a last job that needs all the others and always runs', () => {
  for (const file of workflows) {
    const jobs = Object.entries(file.doc.jobs as Record<string, Record<string, unknown>>)
    const notify = jobs.find(([, job]) =>
      ((job.steps ?? []) as { uses?: string }[]).some((s) => s.uses === './.github/actions/notify-slack'),
    )
    expect(notify, file.path).toBeDefined()
    const [id, job] = notify as [string, Record<string, unknown>]
    expect(String(job.if), file.path).toContain('always()')
    expect([...(job.needs as string[])].sort(), file.path).toEqual(
      jobs
        .map(([other]) => other)
        .filter((other) => other !== id)
        .sort(),
    )
    // Silent without the secret (forks): the secret reaches the job through env, the steps test env.
    expect((job.env as Record<string, string>).SLACK_WEBHOOK_URL).toBe(`\${{ secrets.SLACK_WEBHOOK_URL }}`)
    for (const step of job.steps as { if?: string }[]) expect(step.if).toBe("env.SLACK_WEBHOOK_URL != ''")
  }
})

// ---- Each rule catches a copy of a real workflow with one violation.

const release = readWorkflowFile('.github/workflows/release.yml')
const ci = readWorkflowFile('.github/workflows/ci.yml')

function edited(file: WorkflowFile, from: string | RegExp, to: string): WorkflowFile {
  const text = file.text.replace(from, to)
  if (text === file.text) throw new Error(`${file.path}: the edit found nothing to replace (${from})`)
  return parseWorkflowFile(file.path, text)
}

describe('a copy with one violation is caught', () => {
  test('an action pinned by tag', () => {
    const copy = edited(release, /actions\/checkout@[0-9a-f]{40} # v[\d.]+/, 'actions/checkout@v7')
    expect(unpinnedActions(copy)).toContain(
      `${release.path} job binaries step 1: actions/checkout@v7 is not pinned by a full commit SHA`,
    )
    expect(policyViolations(copy).length).toBeGreaterThan(0)
  })

  test('a SHA pin without its version comment', () => {
    const copy = edited(release, /(docker\/setup-buildx-action@[0-9a-f]{40}) # v[\d.]+/, '$1')
    expect(unpinnedActions(copy).join('\n')).toContain('has no "# vX..." comment')
  })

  test('permissions: write-all at the top', () => {
    const copy = edited(release, /^permissions:\n {2}contents: read$/m, 'permissions: write-all')
    expect(permissionProblems(copy)).toContain(`${release.path}: top-level permissions: write-all`)
  })

  test('permissions: write-all on a job', () => {
    const copy = edited(
      release,
      /( {2}binaries:\n(?: {4}.*\n)*? {4}timeout-minutes: 20\n)/,
      '$1    permissions: write-all\n',
    )
    expect(permissionProblems(copy)).toContain(`${release.path} job binaries: permissions: write-all`)
  })

  test('no top-level permissions', () => {
    const copy = edited(ci, /^permissions:\n {2}contents: read\n/m, '')
    expect(permissionProblems(copy)).toContain(`${ci.path}: no top-level permissions`)
  })

  test('a write permission on a job that does not need it', () => {
    const copy = edited(
      release,
      /( {2}binaries:\n(?: {4}.*\n)*? {4}timeout-minutes: 20\n)/,
      '$1    permissions:\n      id-token: write\n',
    )
    expect(writeGrants(copy)).toContain(`${release.path} binaries id-token`)
  })

  test('a job without timeout-minutes', () => {
    const copy = edited(release, /( {2}binaries:\n(?: {4}.*\n)*?) {4}timeout-minutes: 20\n/, '$1')
    expect(jobsWithoutTimeout(copy)).toEqual([`${release.path} job binaries: no timeout-minutes`])
  })

  test('a secret interpolated into a run: block', () => {
    const copy = edited(
      release,
      'run: bash scripts/checksums.sh dist/release\n',
      `run: bash scripts/checksums.sh dist/release\n      - run: curl -d ok "\${{ secrets.SLACK_WEBHOOK_URL }}"\n`,
    )
    expect(secretsInRun(copy)).toEqual([
      `${release.path} job binaries step 5: secrets.* in a run: block (pass it through env:)`,
    ])
  })

  test('pull_request_target with a checkout of the head', () => {
    const target = edited(ci, /^ {2}pull_request:$/m, '  pull_request_target:')
    const copy = edited(
      target,
      /( {6}- uses: actions\/checkout@[0-9a-f]{40} # v[\d.]+\n {8}with:\n)/,
      `$1          ref: \${{ github.event.pull_request.head.sha }}\n`,
    )
    expect(pullRequestTargetHeadCheckouts(copy)).toHaveLength(1)
    // The trigger alone, or the checkout alone, is not the dangerous pair.
    expect(pullRequestTargetHeadCheckouts(target)).toEqual([])
  })

  test('a deploy job that cancels a deploy in progress, or has no concurrency group', () => {
    const deploy = readWorkflowFile('.github/workflows/deploy.yml')
    const cancelling = edited(deploy, /(group: deploy-.*\n {6}cancel-in-progress:) false/, '$1 true')
    expect(deployJobsWithoutSerialisation(cancelling)).toHaveLength(1)
    const unserialised = edited(
      deploy,
      / {4}concurrency:\n {6}group: deploy-.*\n {6}cancel-in-progress: false\n/,
      '',
    )
    expect(deployJobsWithoutSerialisation(unserialised)).toHaveLength(1)
  })

  test('a script that is not in the repository, and the same one once it exists', () => {
    const copy = edited(release, 'scripts/checksums.sh', 'scripts/no-such-script.sh')
    expect(missingScripts(copy).join('\n')).toContain('scripts/no-such-script.sh does not exist')
    const root = mkdtempSync(join(tmpdir(), 'ledgerd-workflow-scripts-'))
    try {
      const named = [...copy.text.matchAll(/\bscripts\/[\w./-]+\.sh\b/g)].map((m) => m[0])
      for (const script of named) {
        mkdirSync(join(root, dirname(script)), { recursive: true })
        writeFileSync(join(root, script), '')
      }
      expect(missingScripts(copy, root)).toEqual([])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
