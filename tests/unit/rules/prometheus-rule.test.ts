import { describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'
import { generatedPrometheusRule, prometheusRuleFile } from '../../../scripts/generate-prometheus-rule'
import { tempDirsRemovedAfterAll } from '../../support/temp-dirs'
import { parseYaml, type RuleFile, readRuleFile } from './policy'
import { promtool } from './promtool'

// The prometheus-operator component's PrometheusRule, generated from the rule file by `bun run rules`.
const tempDir = tempDirsRemovedAfterAll()
const committed = await Bun.file(prometheusRuleFile).text()
const manifest = parseYaml<{ apiVersion: string; kind: string; metadata: { name: string }; spec: RuleFile }>(
  committed,
)

describe('the PrometheusRule', () => {
  test('is what the generator writes from the rule file now', async () => {
    const generated = await generatedPrometheusRule()
    if (generated !== committed) {
      throw new Error(`${prometheusRuleFile} is stale: run \`bun run rules\` and commit the result`)
    }
  })

  test("holds the rule file's groups, as monitoring.coreos.com/v1 PrometheusRule ledgerd", async () => {
    expect(manifest.apiVersion).toBe('monitoring.coreos.com/v1')
    expect(manifest.kind).toBe('PrometheusRule')
    expect(manifest.metadata.name).toBe('ledgerd')
    expect(manifest.spec.groups).toEqual((await readRuleFile()).groups)
  })

  test("validates against @kubernetes-models/prometheus-operator's schema", () => {
    expect(() => new PrometheusRule(manifest as never).validate()).not.toThrow()
    const broken = structuredClone(manifest) as unknown as {
      spec: { groups: { rules: { for?: unknown }[] }[] }
    }
    const firstRule = broken.spec.groups[0]?.rules[0]
    if (firstRule) firstRule.for = 5
    expect(() => new PrometheusRule(broken as never).validate()).toThrow()
  })

  // The model's validate() lets unknown fields through; promtool's parser does not, so the groups go
  // through `promtool check rules` too.
  test('its groups pass promtool check rules', () => {
    const file = join(tempDir(), 'prometheus-rule-groups.yaml')
    writeFileSync(file, JSON.stringify({ groups: manifest.spec.groups }))
    const result = promtool('check', 'rules', file)
    expect(result.output).toContain('SUCCESS: 46 rules found')
    expect(result.exitCode).toBe(0)
  })
})
