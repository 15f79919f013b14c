import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

// What every ledgerd alert must carry, as functions from the parsed files to a list of problems, so that
// the tests can show each one failing on a broken copy.

export const repoRoot = resolve(import.meta.dir, '../../..')
export const rulesDir = join(repoRoot, 'kustomize/components/monitoring/rules')
export const ruleFile = join(rulesDir, 'ledgerd.rules.yaml')
export const promtoolTestsDir = join(rulesDir, 'tests')
export const notesFile = join(repoRoot, 'NOTES.md')
export const runbookBase = 'https://github.com/ledgerd/ledgerd/blob/main/NOTES.md#'

export interface Rule {
  alert?: string
  record?: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}
export interface RuleFile {
  groups: { name: string; interval?: string; rules: Rule[] }[]
}
export interface PromtoolTestFile {
  tests: {
    name?: string
    alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] | null }[]
  }[]
}

export const parseYaml = <T>(text: string) => Bun.YAML.parse(text) as T
export const rulesOf = (file: RuleFile) => file.groups.flatMap((group) => group.rules)
export const alertsOf = (file: RuleFile) => rulesOf(file).filter((rule) => rule.alert !== undefined)

export async function readRuleFile(): Promise<RuleFile> {
  return parseYaml<RuleFile>(await Bun.file(ruleFile).text())
}

export async function readPromtoolTests(): Promise<Map<string, PromtoolTestFile>> {
  const files = readdirSync(promtoolTestsDir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
  const parsed = new Map<string, PromtoolTestFile>()
  for (const name of files) {
    parsed.set(name, parseYaml<PromtoolTestFile>(await Bun.file(join(promtoolTestsDir, name)).text()))
  }
  return parsed
}

/**
 * GitHub's heading anchor: lower case; every character that is not a letter, digit, space, `-` or `_`
 * dropped; spaces to `-`; a repeated slug gets `-1`, `-2`… in document order.
 */
export function githubSlugs(headings: string[]): string[] {
  const seen = new Map<string, number>()
  return headings.map((heading) => {
    const slug = heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    return count === 0 ? slug : `${slug}-${count}`
  })
}

/** The `###` headings under `## Runbooks` and their anchors (slugged in the context of the whole file). */
export function runbookHeadings(notes: string): Map<string, string> {
  const headings: { level: number; text: string }[] = []
  let inFence = false
  for (const line of notes.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence
    const match = inFence ? null : /^(#{1,6}) (.+)$/.exec(line)
    if (match?.[1] && match[2]) headings.push({ level: match[1].length, text: match[2] })
  }
  const slugs = githubSlugs(headings.map((heading) => heading.text))
  const runbooks = new Map<string, string>()
  let inRunbooks = false
  headings.forEach((heading, index) => {
    if (heading.level <= 2) inRunbooks = heading.level === 2 && heading.text === 'Runbooks'
    else if (inRunbooks && heading.level === 3) runbooks.set(heading.text, slugs[index] ?? '')
  })
  return runbooks
}

/** Every alert: severity page or ticket, a summary, a description, and a runbook_url to its own heading. */
export function alertProblems(file: RuleFile, notes: string): string[] {
  const runbooks = runbookHeadings(notes)
  const problems: string[] = []
  for (const rule of alertsOf(file)) {
    const name = rule.alert ?? ''
    const severity = rule.labels?.severity
    if (severity !== 'page' && severity !== 'ticket') problems.push(`${name}: severity is ${severity}`)
    for (const key of ['summary', 'description', 'runbook_url']) {
      if (!rule.annotations?.[key]?.trim()) problems.push(`${name}: no ${key} annotation`)
    }
    const url = rule.annotations?.runbook_url ?? ''
    const anchor = runbooks.get(name)
    if (anchor === undefined)
      problems.push(`${name}: no "### ${name}" heading under "## Runbooks" in NOTES.md`)
    else if (url !== `${runbookBase}${anchor}`)
      problems.push(`${name}: runbook_url ${url} is not ${runbookBase}${anchor}`)
  }
  return problems
}

/** Every alert fires in at least one promtool test case and is checked silent in at least one. */
export function coverageProblems(file: RuleFile, tests: Map<string, PromtoolTestFile>): string[] {
  const firing = new Set<string>()
  const silent = new Set<string>()
  for (const testFile of tests.values()) {
    for (const testCase of testFile.tests ?? []) {
      for (const check of testCase.alert_rule_test ?? []) {
        ;(check.exp_alerts?.length ? firing : silent).add(check.alertname)
      }
    }
  }
  const problems: string[] = []
  for (const name of new Set(alertsOf(file).map((rule) => rule.alert ?? ''))) {
    if (!firing.has(name)) problems.push(`${name}: no promtool test case where it fires`)
    if (!silent.has(name)) problems.push(`${name}: no promtool test case where it stays silent`)
  }
  return problems
}

const recordedName = /\b[a-z_]+(?::[a-z0-9_]+)+\b/g

/** Every recording-rule name (level:metric:operations) an expression uses is recorded in the file. */
export function recordingProblems(file: RuleFile): string[] {
  const recorded = new Set(rulesOf(file).flatMap((rule) => (rule.record ? [rule.record] : [])))
  const problems: string[] = []
  for (const rule of rulesOf(file)) {
    for (const used of rule.expr.match(recordedName) ?? []) {
      if (!recorded.has(used))
        problems.push(`${rule.alert ?? rule.record}: uses ${used}, which no rule records`)
    }
  }
  return problems
}

/** Every selector of a raw series names job="ledgerd" (recorded series are already ledgerd's). */
export function selectorProblems(file: RuleFile): string[] {
  const problems: string[] = []
  for (const rule of rulesOf(file)) {
    for (const [selector, metric, matchers] of rule.expr.matchAll(/([a-z_][a-z0-9_:]*)\s*\{([^}]*)\}/g)) {
      if (metric?.includes(':')) continue
      if (!/\bjob="ledgerd"/.test(matchers ?? '')) problems.push(`${rule.alert ?? rule.record}: ${selector}`)
    }
    for (const bare of rule.expr.matchAll(
      /\b(ledger_|ledgerd_|http_request_|process_|up\b)[a-z0-9_]*(?![\s]*[{(:a-z0-9_])/g,
    )) {
      problems.push(`${rule.alert ?? rule.record}: ${bare[0]} without a selector`)
    }
  }
  return problems
}
