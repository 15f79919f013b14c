import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { repoRoot } from './kustomize'

// The GitHub Actions files as the tests see them (.github/workflows/*.yml and the composite actions),
// and the policy every one of them must meet. Each rule returns what breaks it, so a test can show both
// that the real files pass and that a copy with one violation is caught.

type Mapping = Record<string, unknown>

export interface WorkflowFile {
  /** Relative to the repository root, e.g. .github/workflows/ci.yml. */
  path: string
  text: string
  doc: Mapping
  kind: 'workflow' | 'action'
}

export interface Step extends Mapping {
  uses?: string
  run?: string
  with?: Mapping
}

export interface Job extends Mapping {
  uses?: string
  steps?: Step[]
  permissions?: unknown
  environment?: unknown
  concurrency?: unknown
  'timeout-minutes'?: unknown
}

export function parseWorkflowFile(path: string, text: string): WorkflowFile {
  const doc = Bun.YAML.parse(text)
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${path}: not a YAML mapping`)
  return { path, text, doc: doc as Mapping, kind: path.includes('/workflows/') ? 'workflow' : 'action' }
}

export function workflowFiles(): WorkflowFile[] {
  const dir = join(repoRoot, '.github/workflows')
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => readWorkflowFile(join('.github/workflows', name)))
}

export function actionFiles(): WorkflowFile[] {
  const dir = join(repoRoot, '.github/actions')
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .sort()
    .flatMap((name) => ['action.yml', 'action.yaml'].map((file) => join('.github/actions', name, file)))
    .filter((path) => existsSync(join(repoRoot, path)))
    .map(readWorkflowFile)
}

export function readWorkflowFile(path: string): WorkflowFile {
  return parseWorkflowFile(
    relative(repoRoot, join(repoRoot, path)),
    readFileSync(join(repoRoot, path), 'utf8'),
  )
}

export function jobsOf(file: WorkflowFile): [string, Job][] {
  return Object.entries((file.doc.jobs ?? {}) as Record<string, Job>)
}

export function stepsOf(file: WorkflowFile): { where: string; step: Step }[] {
  if (file.kind === 'action') {
    const steps = ((file.doc.runs as Mapping | undefined)?.steps ?? []) as Step[]
    return steps.map((step, i) => ({ where: `${file.path} step ${i + 1}`, step }))
  }
  return jobsOf(file).flatMap(([id, job]) =>
    (job.steps ?? []).map((step, i) => ({
      where: `${file.path} job ${id} step ${step.name ?? i + 1}`,
      step,
    })),
  )
}

/** Every `uses:` value: a job's reusable workflow or a step's action. */
export function usesOf(file: WorkflowFile): { where: string; uses: string }[] {
  const jobs = jobsOf(file)
    .filter(([, job]) => typeof job.uses === 'string')
    .map(([id, job]) => ({ where: `${file.path} job ${id}`, uses: job.uses as string }))
  const steps = stepsOf(file)
    .filter(({ step }) => typeof step.uses === 'string')
    .map(({ where, step }) => ({ where, uses: step.uses as string }))
  return [...jobs, ...steps]
}

/** A `run:` block as shellcheck should see it: each `${{ ... }}` becomes underscores, as actionlint does. */
export function shellOf(run: string): string {
  return run.replace(/\$\{\{[\s\S]*?\}\}/g, (expression) => '_'.repeat(expression.length))
}

// ---- The policy. Each rule: the file -> what violates it (empty when the file complies).

const local = (uses: string) => uses.startsWith('./')
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Every non-local `uses:` is owner/repo[/path]@<40 hex>, with `# vX...` on the same line. */
export function unpinnedActions(file: WorkflowFile): string[] {
  return usesOf(file)
    .filter(({ uses }) => !local(uses))
    .flatMap(({ where, uses }) => {
      if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(uses))
        return [`${where}: ${uses} is not pinned by a full commit SHA`]
      const line = new RegExp(`uses:\\s*['"]?${escapeRegExp(uses)}['"]?\\s+#\\s*v\\d`)
      if (!file.text.split('\n').some((l) => line.test(l)))
        return [`${where}: ${uses} has no "# vX..." comment`]
      return []
    })
}

/** A top-level `permissions:` on every workflow, and `write-all` nowhere. */
export function permissionProblems(file: WorkflowFile): string[] {
  if (file.kind !== 'workflow') return []
  const problems: string[] = []
  if (file.doc.permissions === undefined) problems.push(`${file.path}: no top-level permissions`)
  if (file.doc.permissions === 'write-all') problems.push(`${file.path}: top-level permissions: write-all`)
  for (const [id, job] of jobsOf(file)) {
    if (job.permissions === 'write-all') problems.push(`${file.path} job ${id}: permissions: write-all`)
  }
  if (problems.length === 0 && /write-all/.test(file.text.replace(/#.*$/gm, ''))) {
    problems.push(`${file.path}: write-all`)
  }
  return problems
}

/** Every (job, scope) granted write: the top level (as "*") and each job. */
export function writeGrants(file: WorkflowFile): string[] {
  const grants = (where: string, permissions: unknown) =>
    permissions && typeof permissions === 'object'
      ? Object.entries(permissions as Record<string, string>)
          .filter(([, level]) => level === 'write')
          .map(([scope]) => `${file.path} ${where} ${scope}`)
      : []
  return [
    ...grants('*', file.doc.permissions),
    ...jobsOf(file).flatMap(([id, job]) => grants(id, job.permissions)),
  ]
}

function triggers(file: WorkflowFile): string[] {
  const on = file.doc.on ?? file.doc.true // YAML 1.1 readers turn a bare `on` into true
  if (typeof on === 'string') return [on]
  if (Array.isArray(on)) return on as string[]
  return Object.keys((on ?? {}) as Mapping)
}

/** pull_request_target runs with the base's secrets: checking out the head there runs a fork's code. */
export function pullRequestTargetHeadCheckouts(file: WorkflowFile): string[] {
  if (!triggers(file).includes('pull_request_target')) return []
  return stepsOf(file)
    .filter(({ step }) => typeof step.uses === 'string' && step.uses.startsWith('actions/checkout@'))
    .filter(({ step }) =>
      /github\.event\.pull_request\.head|github\.head_ref/.test(String(step.with?.ref ?? '')),
    )
    .map(({ where }) => `${where}: pull_request_target with a checkout of the pull request's head`)
}

/** A secret interpolated into a `run:` lands in a script file and in any command line it is used on. */
export function secretsInRun(file: WorkflowFile): string[] {
  return stepsOf(file)
    .filter(({ step }) => typeof step.run === 'string' && /\bsecrets\s*[.[]/.test(step.run))
    .map(({ where }) => `${where}: secrets.* in a run: block (pass it through env:)`)
}

/** Every job that runs steps has timeout-minutes (a job calling a reusable workflow cannot have one). */
export function jobsWithoutTimeout(file: WorkflowFile): string[] {
  return jobsOf(file)
    .filter(([, job]) => job.uses === undefined && job['timeout-minutes'] === undefined)
    .map(([id]) => `${file.path} job ${id}: no timeout-minutes`)
}

/** A job deploying to an environment is in a deploy-* concurrency group that never cancels a deploy. */
export function deployJobsWithoutSerialisation(file: WorkflowFile): string[] {
  return jobsOf(file)
    .filter(([, job]) => job.environment !== undefined)
    .flatMap(([id, job]) => {
      const concurrency = job.concurrency as Mapping | string | undefined
      if (
        concurrency &&
        typeof concurrency === 'object' &&
        String(concurrency.group ?? '').startsWith('deploy-') &&
        concurrency['cancel-in-progress'] === false
      ) {
        return []
      }
      return [`${file.path} job ${id}: deploys without concurrency deploy-<env>, cancel-in-progress: false`]
    })
}

/** Every scripts/*.sh a `run:` names, that is not in the repository (at `root`). */
export function missingScripts(file: WorkflowFile, root = repoRoot): string[] {
  const named = stepsOf(file).flatMap(({ where, step }) =>
    [...String(step.run ?? '').matchAll(/\bscripts\/[\w./-]+\.sh\b/g)].map((match) => ({
      where,
      script: match[0],
    })),
  )
  return named
    .filter(({ script }) => !existsSync(join(root, script)))
    .map(({ where, script }) => `${where}: ${script} does not exist`)
}

export const policy = {
  unpinnedActions,
  permissionProblems,
  pullRequestTargetHeadCheckouts,
  secretsInRun,
  jobsWithoutTimeout,
  deployJobsWithoutSerialisation,
}

/** Every rule above (except the scripts' existence, which depends on the checkout) over one file. */
export function policyViolations(file: WorkflowFile): string[] {
  return Object.values(policy).flatMap((rule) => rule(file))
}
