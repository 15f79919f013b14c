import { expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../../support/kustomize'

// CI installs .ci/apt-packages before `npm test` (and caches their downloads, keyed on that file): every
// Debian package the suite would otherwise apt-get on demand must be in it, or CI would fetch it on
// every run, outside the cache.

const listed = new Set(
  readFileSync(join(repoRoot, '.ci/apt-packages'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean),
)

function sources(dir: string, pattern: RegExp): [string, string][] {
  return readdirSync(join(repoRoot, dir))
    .filter((name) => pattern.test(name))
    .map((name) => [`${dir}/${name}`, readFileSync(join(repoRoot, dir, name), 'utf8')])
}

/** The packages a file installs: `ensure_debian_package CMD PKG`, `apt-get install ... PKG`,
 * spawn(['apt-get', 'install', ..., 'PKG']) and ensureDebianPackage('PKG', ...) in TypeScript. */
function installedBy(text: string): string[] {
  const ensured = [
    ...text.matchAll(/^\s*(?:if )?(?:check \w+ )?ensure_debian_package \S+ ([a-z0-9.+-]+)/gm),
  ].map((m) => m[1] as string)
  const shell = [...text.matchAll(/apt-get install(?: -\S+)* ([a-z][a-z0-9.+-]*)/g)].map(
    (m) => m[1] as string,
  )
  const spawned = [...text.matchAll(/'apt-get',\s*\[([^\]]*'install'[^\]]*)\]/g)].flatMap((m) =>
    [...(m[1] as string).matchAll(/'([^']+)'/g)]
      .map((q) => q[1] as string)
      .filter((word) => word !== 'install' && !word.startsWith('-')),
  )
  const helper = [...text.matchAll(/ensureDebianPackage\(\s*'([a-z0-9.+-]+)'/g)].map((m) => m[1] as string)
  return [...ensured, ...shell, ...spawned, ...helper]
}

const installers = [
  ...sources('scripts', /\.sh$/),
  ...sources('tests/support', /\.ts$/),
  ...sources('tests/e2e', /\.ts$/),
].map(([path, text]) => [path, installedBy(text)] as const)

test('the suite installs packages on demand in these places (the scan finds them)', () => {
  const found = new Set(installers.flatMap(([, packages]) => packages))
  for (const expected of ['shellcheck', 'chromium', 'prometheus', 'buildah', 'postgresql', 'nginx', 'wrk']) {
    expect(found).toContain(expected)
  }
})

test.each(installers.filter(([, packages]) => packages.length > 0))(
  '.ci/apt-packages has every package %s installs',
  (_path, packages) => {
    expect(packages.filter((p) => !listed.has(p))).toEqual([])
  },
)
