import { describe, expect, test } from 'bun:test'
import { build, components, fixtureBase, type Manifest, schemaProblems } from './manifests'

describe.each(components)('%s', (component) => {
  const manifests = build(component)

  test('builds on the base and adds objects to it', () => {
    expect(manifests.length).toBeGreaterThan(build().length)
  })

  test('every object validates against its schema, with no unknown fields', () => {
    const problems = manifests.flatMap((m: Manifest) =>
      schemaProblems(m).map((p) => `${m.kind} ${m.metadata.name}: ${p}`),
    )
    expect(problems).toEqual([])
  })

  test('leaves no placeholder unreplaced and names no namespace', () => {
    const text = JSON.stringify(manifests)
    expect(text.match(/(?<![A-Z_])(PUBLIC_HOST|PUBLIC_URL|TOKEN_ISSUER|TOKEN_AUDIENCE)/g)).toBeNull()
    expect(text.match(/\.svc\.cluster\.local|"namespace":/g)).toBeNull()
  })
})

test('the schema check refuses an unknown field and a wrong type', () => {
  const [configMap] = build().filter((m) => m.kind === 'ConfigMap')
  if (!configMap) throw new Error('fixture base has no ConfigMap')
  expect(schemaProblems({ ...configMap, spec: { replicas: 1 } })).toEqual(['unknown field spec'])
  expect(schemaProblems({ ...configMap, data: { A: 1 as unknown as string } })).not.toEqual([])
  expect(fixtureBase).toEndWith('kustomize-base')
})
