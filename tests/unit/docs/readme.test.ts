import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { describeDefault, envName, type Setting, settings } from '../../../src/config/settings'

const readme = await Bun.file(join(import.meta.dir, '../../../README.md')).text()

/** The configuration table's rows as [flag, variable, default, meaning], whatever the column padding. */
const documentedRows = readme
  .split('\n')
  .filter((line) => /^\| `--[a-z0-9-]+`/.test(line))
  .map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  )

test('the README configuration table documents every setting exactly as the code defines it', () => {
  const expected = (settings as readonly Setting[]).map((s) => [
    `\`--${s.name}\``,
    `\`${envName(s)}\``,
    `\`${describeDefault(s)}\``,
    s.description,
  ])
  expect(documentedRows).toEqual(expected)
})
