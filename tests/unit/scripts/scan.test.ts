import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot, runScript, standIns } from '../../support/stand-ins'

// scripts/scan.sh. Trivy cannot be installed on the machine these tests were written on, and its
// vulnerability database cannot be fetched there: the gate is checked against a stand-in `trivy` that
// records its arguments (writes the SARIF file it is asked for) and exits as told; the real Trivy runs
// only where one is on PATH.

const image = `ghcr.io/owner/ledgerd@sha256:${'cd'.repeat(32)}`
const fake = standIns({
  trivy: `out=""; while [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done
[ -z "$out" ] || echo '{"version":"2.1.0","runs":[]}' >"$out"
exit "\${FAKE_TRIVY_EXIT:-0}"`,
})
// A PATH of only what scan.sh needs besides trivy (even where a real trivy is installed).
const noTrivy = standIns({}, '')
for (const tool of ['bash', 'dirname', 'sed']) symlinkSync(Bun.which(tool) as string, join(noTrivy.dir, tool))
const work = mkdtempSync(join(tmpdir(), 'ledgerd-scan-'))
afterAll(() => {
  fake.remove()
  noTrivy.remove()
  rmSync(work, { recursive: true, force: true })
})

function scan(args: string[], env: Record<string, string> = {}) {
  fake.reset()
  const result = runScript('scripts/scan.sh', args, { env: { PATH: fake.path, ...env } })
  return { ...result, calls: fake.calls() }
}

describe('scripts/scan.sh', () => {
  test('without trivy: says so on stderr and exits 3, never a silent pass', () => {
    for (const args of [['--image', image], ['--fs']]) {
      const { code, stderr, stdout } = runScript('scripts/scan.sh', args, { env: { PATH: noTrivy.path } })
      expect(code).toBe(3)
      expect(stderr).toStartWith('scan: trivy is not installed')
      expect(stdout).toBe('')
    }
  })

  test('an image with --sarif: one trivy run, gated on fixable HIGH/CRITICAL, SARIF to the path', () => {
    const sarif = join(work, 'image.sarif')
    const { code, calls } = scan(['--image', image, '--sarif', sarif])
    expect(code).toBe(0)
    expect(calls).toEqual([
      `trivy image --severity HIGH,CRITICAL --ignore-unfixed --exit-code 1 --format sarif --output ${sarif} ${image}`,
    ])
    expect(JSON.parse(readFileSync(sarif, 'utf8')).version).toBe('2.1.0')
  })

  test('the repository (--fs, default the repository root) and a directory, as a table without --sarif', () => {
    expect(scan(['--fs']).calls).toEqual([
      'trivy fs --severity HIGH,CRITICAL --ignore-unfixed --exit-code 1 --format table .',
    ])
    expect(scan(['--fs', 'kustomize', '--sarif', join(work, 'fs.sarif')]).calls).toEqual([
      `trivy fs --severity HIGH,CRITICAL --ignore-unfixed --exit-code 1 --format sarif --output ${join(work, 'fs.sarif')} kustomize`,
    ])
  })

  test("trivy's failure (findings, or no database) fails the scan with exit 1", () => {
    const { code, stderr } = scan(['--image', image], { FAKE_TRIVY_EXIT: '1' })
    expect(code).toBe(1)
    expect(stderr).toContain('scan: FAILED')
    expect(scan(['--fs'], { FAKE_TRIVY_EXIT: '2' }).code).toBe(1)
  })

  test('usage errors: no target, both targets, --image without a reference', () => {
    expect(scan([]).code).toBe(2)
    expect(scan(['--fs', '--image', image]).code).toBe(2)
    expect(scan(['--image']).code).toBe(2)
    expect(scan(['--fs']).calls.length).toBe(1)
  })

  test.skipIf(!Bun.which('trivy'))(
    'with the real trivy on PATH: the repository is scanned, SARIF written',
    () => {
      const sarif = join(work, 'real.sarif')
      const result = runScript('scripts/scan.sh', ['--fs', repoRoot, '--sarif', sarif])
      // 0 (clean) or 1 (fixable HIGH/CRITICAL found): either way Trivy ran, and its SARIF is there.
      expect([0, 1]).toContain(result.code)
      expect(existsSync(sarif)).toBe(true)
    },
  )
})
