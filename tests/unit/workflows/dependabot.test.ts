import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../../support/kustomize'

// Dependabot's configuration as GitHub reads it: YAML, version 2, weekly grouped updates for Bun's
// lockfile, the actions' SHA pins and the base image's digest. GitHub validates it only on push, so the
// shape is checked here.

interface Update {
  'package-ecosystem': string
  directory?: string
  directories?: string[]
  schedule: { interval: string }
  groups?: Record<string, { patterns: string[] }>
}

const config = Bun.YAML.parse(readFileSync(join(repoRoot, '.github/dependabot.yml'), 'utf8')) as {
  version: number
  updates: Update[]
}

test('dependabot.yml is version 2 with bun, github-actions and docker, each weekly and grouped', () => {
  expect(config.version).toBe(2)
  expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual([
    'bun',
    'docker',
    'github-actions',
  ])
  for (const update of config.updates) {
    expect(update.schedule.interval).toBe('weekly')
    expect(Object.values(update.groups ?? {}).map((g) => g.patterns)).toEqual([['*']])
    expect(update.directory ?? update.directories).toBeDefined()
  }
})

test('github-actions covers the workflows and the composite actions', () => {
  const actions = config.updates.find((u) => u['package-ecosystem'] === 'github-actions')
  expect(actions?.directories).toEqual(['/', '/.github/actions/*'])
})

test("the base image Dependabot watches is the Dockerfile's pinned base (copy a bumped digest into ARG BASE)", () => {
  const docker = config.updates.find((u) => u['package-ecosystem'] === 'docker')
  const tracker = readFileSync(join(repoRoot, docker?.directory ?? '', 'Dockerfile'), 'utf8')
  const watched = tracker.match(/^FROM (\S+)$/m)?.[1]
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')
  const base = dockerfile.match(/^ARG BASE=(\S+)$/m)?.[1]
  expect(watched).toMatch(/@sha256:[0-9a-f]{64}$/)
  expect(base).toBe(watched)
})
