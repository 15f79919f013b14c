import { afterAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LocalAvatarStore, loadUrlKey, urlKeyFileName } from '../../../src/avatars/local-store'
import type { AvatarUploadSpec } from '../../../src/avatars/store'
import { tempDir } from '../../support/ledgerd-process'
import { problemOf } from '../../support/problems'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const ttlMs = 60_000
const userId = '0190a5f4-0000-7000-8000-000000000001'
const base = 'http://avatars.test'
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])
const spec: AvatarUploadSpec = { contentType: 'image/png', contentLength: png.byteLength }

function setup() {
  const dataDir = tempDir('ledgerd-avatars-')
  dirs.push(dataDir)
  const clock = { now: 1_800_000_000_000 }
  const store = new LocalAvatarStore(dataDir, loadUrlKey(dataDir), ttlMs, () => clock.now)
  return { dataDir, clock, store }
}

const call = { baseUrl: base, signal: new AbortController().signal }

/** The store's half of a request to a signed URL: the user id from the path, the query. */
function target(url: string) {
  const parsed = new URL(url)
  return { name: decodeURIComponent(parsed.pathname.split('/').pop() ?? ''), query: parsed.searchParams }
}

function put(body: Uint8Array | string, headers: Record<string, string> = {}) {
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
  return new Request(`${base}/upload`, {
    method: 'PUT',
    headers: { 'content-type': 'image/png', 'content-length': String(length), ...headers },
    body,
  })
}

async function upload(store: LocalAvatarStore, body: Uint8Array = png, upload = spec) {
  const { url } = await store.presignUpload(userId, upload, call)
  const { name, query } = target(url)
  await store.acceptUpload(name, query, put(body, { 'content-type': upload.contentType }))
}

async function download(store: LocalAvatarStore) {
  const url = await store.presignDownload(userId, call)
  if (!url) throw new Error('no avatar')
  const { name, query } = target(url)
  return store.serve(name, query)
}

describe('the URL signing key', () => {
  test('is 32 random bytes, created once with mode 0600, and read back on the next start', () => {
    const dataDir = tempDir('ledgerd-avatars-')
    dirs.push(dataDir)
    const first = loadUrlKey(dataDir)
    expect(first).toHaveLength(32)
    expect(statSync(join(dataDir, urlKeyFileName)).mode & 0o777).toBe(0o600)
    expect(loadUrlKey(dataDir).equals(first)).toBe(true)
    const other = tempDir('ledgerd-avatars-')
    dirs.push(other)
    expect(loadUrlKey(other).equals(first)).toBe(false)
  })

  test('a key file of the wrong size stops the start instead of signing with a weak key', () => {
    const dataDir = tempDir('ledgerd-avatars-')
    dirs.push(dataDir)
    writeFileSync(join(dataDir, urlKeyFileName), 'short', { mode: 0o600 })
    expect(() => loadUrlKey(dataDir)).toThrow(/expected a 32-byte key, found 5/)
  })
})

describe('local avatar store', () => {
  test('an upload through its signed URL is served back with the signed type', async () => {
    const { store, dataDir } = setup()
    const signed = await store.presignUpload(userId, spec, call)
    expect(signed.method).toBe('PUT')
    expect(signed.url).toStartWith(`${base}/v1/avatar-files/${userId}?`)
    expect(signed.headers).toEqual({ 'Content-Type': 'image/png', 'Content-Length': String(png.byteLength) })
    expect(signed.expiresAt.getTime()).toBe(1_800_000_000_000 + ttlMs)
    const { name, query } = target(signed.url)
    await store.acceptUpload(name, query, put(png))
    expect(statSync(join(dataDir, 'avatars', userId)).mode & 0o777).toBe(0o600)

    const response = await download(store)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('image/png')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(png)
  })

  test('a new upload replaces the avatar, type included', async () => {
    const { store } = setup()
    await upload(store)
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 9, 9])
    await upload(store, jpeg, { contentType: 'image/jpeg', contentLength: jpeg.byteLength })
    const response = await download(store)
    expect(response.headers.get('content-type')).toBe('image/jpeg')
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(jpeg)
  })

  test('no download URL before an upload; a signed URL of a missing file answers 404', async () => {
    const { store, clock, dataDir } = setup()
    expect(await store.presignDownload(userId, call)).toBeUndefined()
    await upload(store)
    const url = (await store.presignDownload(userId, call)) as string
    // Same key, another data dir: the signature is valid there, and the file missing.
    const sameKey = new LocalAvatarStore(setup().dataDir, loadUrlKey(dataDir), ttlMs, () => clock.now)
    const { name, query } = target(url)
    expect((await problemOf(sameKey.serve(name, query))).status).toBe(404)
  })

  test('upload URLs stop working after the TTL; until then they work', async () => {
    const { store, clock } = setup()
    const { url } = await store.presignUpload(userId, spec, call)
    const { name, query } = target(url)
    clock.now += ttlMs + 1000
    expect((await problemOf(store.acceptUpload(name, query, put(png)))).type).toBe('invalid-signature')
    clock.now -= 2000
    await store.acceptUpload(name, query, put(png))
  })

  test('download URLs stop working after the TTL', async () => {
    const { store, clock } = setup()
    await upload(store)
    const { name, query } = target((await store.presignDownload(userId, call)) as string)
    expect((await store.serve(name, query)).status).toBe(200)
    clock.now += ttlMs + 1000
    const problem = await problemOf(store.serve(name, query))
    expect(problem.status).toBe(403)
    expect(problem.type).toBe('invalid-signature')
  })

  test('changing any signed part of an upload URL voids it', async () => {
    const { store } = setup()
    const { url } = await store.presignUpload(userId, spec, call)
    const { name, query } = target(url)
    const tampered = (key: string, value: string) => {
      const copy = new URLSearchParams(query)
      copy.set(key, value)
      return copy
    }
    const signature = query.get('signature') as string
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`
    const attempts: [string, URLSearchParams][] = [
      [name, tampered('length', String(png.byteLength + 1))],
      [name, tampered('type', 'image/webp')],
      [name, tampered('expires', String(Number(query.get('expires')) + 3600))],
      [name, tampered('signature', flipped)],
      [name, tampered('signature', '')],
      [name, tampered('signature', `${signature}A`)],
      ['0190a5f4-0000-7000-8000-000000000002', query],
      ['../../etc/passwd', query],
    ]
    for (const [user, params] of attempts) {
      const problem = await problemOf(
        store.acceptUpload(user, params, put(png, { 'content-type': params.get('type') ?? '' })),
      )
      expect(problem.type).toBe('invalid-signature')
    }
    const withoutSignature = new URLSearchParams(query)
    withoutSignature.delete('signature')
    expect((await problemOf(store.acceptUpload(name, withoutSignature, put(png)))).status).toBe(403)
  })

  test('a URL signed with another key, or signed for GET, does not upload', async () => {
    const { store } = setup()
    const { store: stranger } = setup()
    const foreign = target((await stranger.presignUpload(userId, spec, call)).url)
    expect((await problemOf(store.acceptUpload(foreign.name, foreign.query, put(png)))).status).toBe(403)

    await upload(store)
    const download = target((await store.presignDownload(userId, call)) as string)
    expect((await problemOf(store.acceptUpload(download.name, download.query, put(png)))).status).toBe(403)
    const uploadUrl = target((await store.presignUpload(userId, spec, call)).url)
    expect((await problemOf(store.serve(uploadUrl.name, uploadUrl.query))).status).toBe(403)
  })

  test('a PUT with another type or size than signed is refused and leaves the old avatar whole', async () => {
    const { store, dataDir } = setup()
    await upload(store)
    const { url } = await store.presignUpload(userId, spec, call)
    const { name, query } = target(url)
    const longer = new Uint8Array([...png, 0])
    const refusals = [
      put(png, { 'content-type': 'image/jpeg' }),
      put(png, { 'content-type': 'image/png; charset=binary' }),
      put(longer),
      put(png.subarray(1)),
      // Declares the signed length but sends fewer bytes, or more.
      put(png.subarray(1), { 'content-length': String(png.byteLength) }),
      put(longer, { 'content-length': String(png.byteLength) }),
    ]
    for (const request of refusals) {
      const problem = await problemOf(store.acceptUpload(name, query, request))
      expect(problem.status).toBe(400)
      expect(problem.type).toBe('upload-mismatch')
    }
    expect(new Uint8Array(await (await download(store)).arrayBuffer())).toEqual(png)
    expect(readdirSync(join(dataDir, 'avatars'))).toEqual([userId])
  })

  test('an upload without Content-Length is refused, as S3 refuses one', async () => {
    const { store } = setup()
    const { name, query } = target((await store.presignUpload(userId, spec, call)).url)
    const chunked = new Request(`${base}/upload`, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: new Blob([png]).stream(),
    })
    expect(chunked.headers.get('content-length')).toBeNull()
    expect((await problemOf(store.acceptUpload(name, query, chunked))).type).toBe('upload-mismatch')
  })

  test('reading stops soon after the signed length: an endless body cannot fill the disk', async () => {
    const { store } = setup()
    const { name, query } = target((await store.presignUpload(userId, spec, call)).url)
    let pulled = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 4
        controller.enqueue(new Uint8Array(4))
      },
    })
    const request = new Request(`${base}/upload`, {
      method: 'PUT',
      headers: { 'content-type': 'image/png', 'content-length': String(png.byteLength) },
      body: endless,
    })
    expect((await problemOf(store.acceptUpload(name, query, request))).type).toBe('upload-mismatch')
    expect(pulled).toBeLessThan(png.byteLength + 64)
  })

  test('the file holds the type, then the bytes; a corrupt one is an error, not a wrong type', async () => {
    const { store, dataDir } = setup()
    await upload(store)
    const path = join(dataDir, 'avatars', userId)
    expect(readFileSync(path)).toEqual(Buffer.concat([Buffer.from('image/png\n'), png]))
    writeFileSync(path, 'text/html\n<script>alert(1)</script>')
    expect(download(store)).rejects.toThrow(/corrupt/)
  })
})
