import { describe, expect, test } from 'bun:test'
import {
  alertProblems,
  alertsOf,
  coverageProblems,
  githubSlugs,
  notesFile,
  type PromtoolTestFile,
  type RuleFile,
  readPromtoolTests,
  readRuleFile,
  recordingProblems,
  runbookHeadings,
  selectorProblems,
} from './policy'

const rules = await readRuleFile()
const notes = await Bun.file(notesFile).text()
const promtoolTests = await readPromtoolTests()

describe('the rule file', () => {
  test('every alert has a severity (page or ticket), a summary, a description and its runbook in NOTES.md', () => {
    expect(alertProblems(rules, notes)).toEqual([])
  })

  test('every alert fires in a promtool test case and stays silent in another', () => {
    expect(coverageProblems(rules, promtoolTests)).toEqual([])
  })

  test('every recorded series an alert or rule reads is recorded', () => {
    expect(recordingProblems(rules)).toEqual([])
  })

  test('every raw series is selected with job="ledgerd"', () => {
    expect(selectorProblems(rules)).toEqual([])
  })

  test('records every SLI of the contract over every window', () => {
    const recorded = rules.groups.flatMap((group) => group.rules.map((rule) => rule.record))
    for (const window of ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']) {
      for (const sli of [
        'namespace:ledgerd_api_requests:rate',
        'namespace:ledgerd_api_errors:ratio_rate',
        'namespace:ledgerd_ledger_writes:rate',
        'namespace:ledgerd_ledger_writes_slow:ratio_rate',
      ]) {
        expect(recorded).toContain(`${sli}${window}`)
      }
    }
  })

  test('has a runbook heading for nothing that is not an alert', () => {
    const alertNames = new Set(alertsOf(rules).map((rule) => rule.alert))
    const extra = [...runbookHeadings(notes).keys()].filter(
      (heading) => heading !== 'SLOs' && !alertNames.has(heading),
    )
    expect(extra).toEqual([])
  })
})

describe('the policies refuse broken copies', () => {
  const broken = (edit: (copy: RuleFile) => void) => {
    const copy = structuredClone(rules)
    edit(copy)
    return copy
  }
  const firstAlert = (file: RuleFile) => {
    const alert = alertsOf(file)[0]
    if (!alert) throw new Error('no alert in the rule file')
    return alert
  }

  test('an alert without runbook_url, with a severity of its own, or pointing at a missing heading', () => {
    const name = firstAlert(rules).alert
    expect(
      alertProblems(
        broken((copy) => {
          delete firstAlert(copy).annotations?.runbook_url
        }),
        notes,
      ),
    ).toContain(`${name}: no runbook_url annotation`)
    expect(
      alertProblems(
        broken((copy) => {
          firstAlert(copy).labels = { severity: 'critical' }
        }),
        notes,
      ),
    ).toContain(`${name}: severity is critical`)
    const renamed = alertProblems(
      broken((copy) => {
        firstAlert(copy).alert = 'LedgerdSomethingNew'
      }),
      notes,
    )
    expect(renamed).toContain(
      'LedgerdSomethingNew: no "### LedgerdSomethingNew" heading under "## Runbooks" in NOTES.md',
    )
  })

  test('an alert no test case fires, or none checks silent', () => {
    const name = firstAlert(rules).alert
    const withoutFiring = new Map<string, PromtoolTestFile>()
    const withoutSilent = new Map<string, PromtoolTestFile>()
    for (const [file, parsed] of promtoolTests) {
      const keep = (fires: boolean) => ({
        tests: parsed.tests.map((testCase) => ({
          ...testCase,
          alert_rule_test: (testCase.alert_rule_test ?? []).filter(
            (check) => check.alertname !== name || Boolean(check.exp_alerts?.length) !== fires,
          ),
        })),
      })
      withoutFiring.set(file, keep(true))
      withoutSilent.set(file, keep(false))
    }
    expect(coverageProblems(rules, withoutFiring)).toEqual([`${name}: no promtool test case where it fires`])
    expect(coverageProblems(rules, withoutSilent)).toEqual([
      `${name}: no promtool test case where it stays silent`,
    ])
  })

  test('a recorded series nobody records, and a selector without job="ledgerd"', () => {
    const typo = broken((copy) => {
      firstAlert(copy).expr = 'namespace:ledgerd_api_errors:ratio_rate7h > 0.01'
    })
    expect(recordingProblems(typo)).toEqual([
      `${firstAlert(rules).alert}: uses namespace:ledgerd_api_errors:ratio_rate7h, which no rule records`,
    ])
    const noJob = broken((copy) => {
      firstAlert(copy).expr = 'ledgerd_ready{namespace="prod"} == 0 or up == 0'
    })
    expect(selectorProblems(noJob)).toEqual([
      `${firstAlert(rules).alert}: ledgerd_ready{namespace="prod"}`,
      `${firstAlert(rules).alert}: up without a selector`,
    ])
  })
})

describe("GitHub's heading anchors", () => {
  test('lower case, punctuation dropped except - and _, spaces to -, repeats numbered', () => {
    expect(
      githubSlugs(['LedgerdTargetDown', 'SLOs', 'One server per data dir: `ledgerd.lock`', 'SLOs', 'a_b -c']),
    ).toEqual(['ledgerdtargetdown', 'slos', 'one-server-per-data-dir-ledgerdlock', 'slos-1', 'a_b--c'])
  })

  test('runbook headings are only the ### under ## Runbooks', () => {
    const doc = '## Runbooks\n\n### A\n\n```\n### not a heading\n```\n\n## Other\n\n### B\n'
    expect([...runbookHeadings(doc).entries()]).toEqual([['A', 'a']])
  })
})
