import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot, runScript, standIns } from '../../support/stand-ins'

// scripts/push.sh in a scratch git repository holding just what it reads (itself, its library,
// package.json), so the tags come from a git state the test makes. No Docker engine or registry here:
// --dry-run is checked in full, and the push path against a stand-in `docker` that records the buildx
// call and writes the metadata file buildx would.

let repo: string
const git = (...args: string[]) => {
  const result = Bun.spawnSync(['git', ...args], { cwd: repo, stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`)
  return result.stdout.toString().trim()
}
const noDocker = standIns({ docker: 'exit 97' })
const digest = `sha256:${'ab'.repeat(32)}`
const docker = standIns({
  docker: `case "$1 $2" in
  "buildx version") echo "github.com/docker/buildx v0.19.0" ;;
  "buildx build")
    while [ $# -gt 0 ]; do [ "$1" = --metadata-file ] && printf '{"containerimage.digest": "${digest}"}' >"$2"; shift; done ;;
  *) exit 97 ;;
esac`,
})

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'ledgerd-push-'))
  mkdirSync(join(repo, 'scripts/lib'), { recursive: true })
  for (const file of ['scripts/push.sh', 'scripts/lib/image-context.sh', 'package.json'])
    copyFileSync(join(repoRoot, file), join(repo, file))
  git('init', '-q', '-b', 'main')
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'one')
  git('add', '.')
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'two')
})
afterAll(() => {
  rmSync(repo, { recursive: true, force: true })
  noDocker.remove()
  docker.remove()
})

function push(args: string[], env: Record<string, string> = {}) {
  noDocker.reset()
  const result = runScript('scripts/push.sh', ['--image', 'ghcr.io/owner/ledgerd', ...args], {
    cwd: repo,
    env: { PATH: noDocker.path, ...env },
  })
  const tags = [...result.stdout.matchAll(/^tag: ghcr\.io\/owner\/ledgerd:(\S+)$/gm)].map((m) => m[1])
  const command = /^command: (.*)$/m.exec(result.stdout)?.[1]
  return { ...result, tags, command }
}
const sha12 = () => git('rev-parse', 'HEAD').slice(0, 12)

describe('scripts/push.sh --dry-run', () => {
  test('on a plain commit: only sha-<12 hex>, and the docker command is printed, never run', () => {
    const { code, tags, command } = push(['--dry-run'])
    expect(code).toBe(0)
    expect(tags).toEqual([`sha-${sha12()}`])
    expect(command).toBe(
      'docker buildx build --platform linux/amd64,linux/arm64 ' +
        `--build-arg VERSION=0.1.0 --build-arg REVISION=${git('rev-parse', 'HEAD')} --build-arg SOURCE=unknown ` +
        `--build-arg CREATED=${git('log', '-1', '--format=%cd', '--date=format-local:%Y-%m-%dT%H:%M:%SZ')} ` +
        `--sbom=true --provenance=mode=max --push -t ghcr.io/owner/ledgerd:sha-${sha12()} ` +
        '--metadata-file dist/image-metadata.json .',
    )
    expect(noDocker.calls()).toEqual([])
  })

  test('on a git tag v1.2.3: sha, 1.2.3, 1.2 and 1, each a -t of the command, never latest', () => {
    git('tag', 'v1.2.3')
    try {
      const { code, tags, command } = push(['--dry-run', '--platforms', 'linux/amd64'])
      expect(code).toBe(0)
      expect(tags).toEqual([`sha-${sha12()}`, '1.2.3', '1.2', '1'])
      for (const tag of tags) expect(command).toContain(` -t ghcr.io/owner/ledgerd:${tag} `)
      expect(command).toContain('--platform linux/amd64 ')
      expect(command).not.toContain('latest')
    } finally {
      git('tag', '-d', 'v1.2.3')
    }
  })

  test("GitHub's ref: a tag push counts, a branch named like a version does not", () => {
    expect(push(['--dry-run'], { GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'v2.10.0' }).tags).toEqual([
      `sha-${sha12()}`,
      '2.10.0',
      '2.10',
      '2',
    ])
    expect(push(['--dry-run'], { GITHUB_REF_TYPE: 'branch', GITHUB_REF_NAME: 'v2.10.0' }).tags).toEqual([
      `sha-${sha12()}`,
    ])
  })

  test('a tag that is not vX.Y.Z gets only the sha (and says so); a prerelease only its own version', () => {
    for (const ref of ['release-7', 'v1.2', '1.2.3', 'v01.2.3', 'v1.2.3.4']) {
      const { code, tags, stderr } = push(['--dry-run'], { GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: ref })
      expect({ ref, code, tags }).toEqual({ ref, code: 0, tags: [`sha-${sha12()}`] })
      expect(stderr).toContain(`tag ${ref} is not vX.Y.Z`)
    }
    expect(push(['--dry-run'], { GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'v1.3.0-rc.1' }).tags).toEqual([
      `sha-${sha12()}`,
      '1.3.0-rc.1',
    ])
  })

  test('--image takes a bare name; a missing --image or an unknown option is a usage error', () => {
    expect(push(['--image', 'ghcr.io/owner/ledgerd:1.0', '--dry-run']).code).toBe(2)
    expect(runScript('scripts/push.sh', ['--dry-run'], { cwd: repo }).code).toBe(2)
    expect(push(['--latest']).code).toBe(2)
  })
})

describe('scripts/push.sh, pushing', () => {
  test('without docker: exit 1 before building anything', () => {
    const { code, stderr } = push([])
    expect(code).toBe(1)
    expect(stderr).toContain('docker with buildx is needed')
    expect(existsSync(join(repo, 'dist'))).toBe(false)
  })

  test('with (a stand-in) docker buildx: pushes the staged context, writes and prints the digest', () => {
    // Binaries as scripts/build.sh would leave them, so no build runs here.
    mkdirSync(join(repo, 'dist'), { recursive: true })
    for (const binary of ['ledgerd', 'ledgerd-linux-arm64'])
      writeFileSync(join(repo, 'dist', binary), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
    const digestFile = join(repo, 'digest.txt')
    docker.reset()
    const result = runScript(
      'scripts/push.sh',
      ['--image', 'ghcr.io/owner/ledgerd', '--digest-file', digestFile],
      { cwd: repo, env: { PATH: docker.path } },
    )
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`image: ghcr.io/owner/ledgerd@${digest}\n`)
    expect(readFileSync(digestFile, 'utf8')).toBe(`${digest}\n`)
    const build = docker.calls().find((call) => call.startsWith('docker buildx build'))
    expect(build).toContain('--sbom=true --provenance=mode=max --push')
    expect(build).toContain(`-t ghcr.io/owner/ledgerd:sha-${sha12()}`)
    expect(existsSync(join(repo, 'dist/image/amd64/ledgerd'))).toBe(true)
    expect(existsSync(join(repo, 'dist/image/arm64/ledgerd'))).toBe(true)
  })
})
