import { describe, expect, test } from 'bun:test'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDirsRemovedAfterAll } from '../../support/temp-dirs'
import { promtoolTestsDir, ruleFile } from './policy'
import { promtool } from './promtool'

// The rule file through Debian's promtool: `check rules` (syntax, PromQL, templates) and `test rules` (the
// unit tests in kustomize/components/monitoring/rules/tests/, one file per test here so a failure names it).
// Each file takes 3–10 s on two cores (more when other tests share them); the limit is a hang guard.
const promtoolTimeoutMs = 120_000
const tempDir = tempDirsRemovedAfterAll()
const testFiles = readdirSync(promtoolTestsDir)
  .filter((name) => name.endsWith('.yaml'))
  .sort()

describe('promtool', () => {
  test('check rules passes on the rule file', () => {
    const result = promtool('check', 'rules', ruleFile)
    expect(result.output).toContain('SUCCESS')
    expect(result.exitCode).toBe(0)
  })

  test('finds the unit tests', () => {
    expect(testFiles).toEqual(['recording.yaml', 'slo-alerts.yaml', 'symptom-alerts.yaml'])
  })

  for (const file of testFiles) {
    test(
      `test rules passes: ${file}`,
      () => {
        const result = promtool('test', 'rules', join(promtoolTestsDir, file))
        if (result.exitCode !== 0) throw new Error(`promtool test rules ${file} failed:\n${result.output}`)
        expect(result.output).toContain('SUCCESS')
      },
      promtoolTimeoutMs,
    )
  }

  // A copy of the rules and their tests with one metric name misspelt in one alert: the unit tests must
  // catch it, naming that alert.
  test(
    'test rules fails when an alert reads a misspelt metric',
    () => {
      const dir = tempDir()
      mkdirSync(join(dir, 'tests'))
      const rules = Bun.YAML.parse(readFileSync(ruleFile, 'utf8')) as {
        groups: { rules: { alert?: string; expr: string }[] }[]
      }
      const notReady = rules.groups
        .flatMap((group) => group.rules)
        .find((rule) => rule.alert === 'LedgerdPodNotReady')
      if (!notReady) throw new Error('LedgerdPodNotReady is not in the rule file')
      notReady.expr = notReady.expr.replace('ledgerd_ready{', 'ledgerd_readyy{')
      writeFileSync(join(dir, 'ledgerd.rules.yaml'), JSON.stringify(rules))
      copyFileSync(join(promtoolTestsDir, 'symptom-alerts.yaml'), join(dir, 'tests/symptom-alerts.yaml'))

      expect(promtool('check', 'rules', join(dir, 'ledgerd.rules.yaml')).exitCode).toBe(0)
      const result = promtool('test', 'rules', join(dir, 'tests/symptom-alerts.yaml'))
      expect(result.exitCode).not.toBe(0)
      expect(result.output).toContain('alertname: LedgerdPodNotReady')
    },
    promtoolTimeoutMs,
  )

  test('check rules refuses a field rule files do not have', () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'bogus.yaml'),
      JSON.stringify({ groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up == 0', bogus: 1 }] }] }),
    )
    const result = promtool('check', 'rules', join(dir, 'bogus.yaml'))
    expect(result.exitCode).not.toBe(0)
    expect(result.output).toContain('bogus')
  })
})
