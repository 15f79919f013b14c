import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { envName, formatValue, type Setting, settings } from '../../../src/config/settings'

const readme = await Bun.file(join(import.meta.dir, '../../../README.md')).text()

test.each((settings as readonly Setting[]).map((s) => [s.name, s]))(
  'README configuration table documents --%s as it is in the code',
  (_, setting) => {
    const row = `| \`--${setting.name}\` | \`${envName(setting)}\` | \`${formatValue(setting, setting.default)}\` | ${setting.description} |`
    expect(readme).toContain(row)
  },
)

test('the README configuration table has no row for a setting that does not exist', () => {
  const documented = [...readme.matchAll(/^\| `--([a-z-]+)` \|/gm)].map((m) => m[1])
  expect(documented.sort()).toEqual(settings.map((s) => s.name).sort())
})
