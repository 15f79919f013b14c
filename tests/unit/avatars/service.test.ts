import { describe, expect, test } from 'bun:test'
import type { Principal } from '../../../src/auth/principal'
import { type AvatarStoreAccess, downloadUrl, requestUpload } from '../../../src/avatars/service'
import type { AvatarStore, StoreCall } from '../../../src/avatars/store'
import { HttpProblem } from '../../../src/http/problem'
import { captureLogger } from '../../support/http'
import { problemOf } from '../../support/problems'

const ann: Principal = { userId: '0190a5f4-0000-7000-8000-00000000000a', roles: ['user'], isAdmin: false }
const admin: Principal = { userId: '0190a5f4-0000-7000-8000-0000000000ad', roles: ['admin'], isAdmin: true }
const bob = '0190a5f4-0000-7000-8000-00000000000b'
const base = 'http://api.test'
const spec = { contentType: 'image/png', contentLength: 10 } as const

/** A store whose download answer is given per test, and which records what it was asked. */
function fakeStore(answer: (call: StoreCall) => Promise<string | undefined>) {
  const asked: string[] = []
  const store: AvatarStore = {
    async presignUpload(userId, upload, call) {
      asked.push(`upload ${userId} ${upload.contentType} ${upload.contentLength}`)
      await answer(call)
      return { url: `${call.baseUrl}/u`, method: 'PUT', headers: {}, expiresAt: new Date(0) }
    },
    presignDownload(userId, call) {
      asked.push(`download ${userId}`)
      return answer(call)
    },
  }
  return { store, asked }
}

function access(
  store: AvatarStore,
  timeoutMs = 100,
): AvatarStoreAccess & { log: ReturnType<typeof captureLogger> } {
  const log = captureLogger()
  return { store, timeoutMs, logger: log.logger, log }
}

const never = () => new Promise<undefined>(() => undefined)

describe('avatar service', () => {
  test('a store that never answers: 503 with Retry-After at the timeout; the call is aborted', async () => {
    let signal: AbortSignal | undefined
    const { store } = fakeStore((call) => {
      signal = call.signal
      return never()
    })
    const deps = access(store, 150)
    const started = performance.now()
    const problem = await problemOf(downloadUrl(deps, ann, ann.userId, base))
    const elapsed = performance.now() - started
    expect(problem.status).toBe(503)
    expect(problem.type).toBe('service-unavailable')
    expect(Number(problem.headers['retry-after'])).toBeGreaterThan(0)
    expect(elapsed).toBeGreaterThanOrEqual(140)
    expect(elapsed).toBeLessThan(400)
    expect(signal?.aborted).toBe(true)
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'avatar store unavailable',
        operation: 'presign_download',
      }),
    )
  })

  test('each failed or timed-out store call is reported with its operation; a store problem is not', async () => {
    const failed: string[] = []
    const refusing = fakeStore(() => Promise.reject(new Error('ECONNREFUSED')))
    const deps = { ...access(refusing.store), failed: (operation: string) => failed.push(operation) }
    await problemOf(requestUpload(deps, ann, spec, base))
    await problemOf(downloadUrl(deps, ann, ann.userId, base))
    await problemOf(
      downloadUrl({ ...deps, store: fakeStore(never).store, timeoutMs: 20 }, ann, ann.userId, base),
    )
    const deciding = fakeStore(() => Promise.reject(new HttpProblem('not-found')))
    await problemOf(downloadUrl({ ...deps, store: deciding.store }, ann, ann.userId, base))
    expect(failed).toEqual(['presign_upload', 'presign_download', 'presign_download'])
  })

  test('uploads are bounded the same way (presigning can wait on credentials)', async () => {
    const { store } = fakeStore(never)
    expect((await problemOf(requestUpload(access(store), ann, spec, base))).status).toBe(503)
  })

  test('a store that fails (refused, denied, unreachable) gets 503, never a 500', async () => {
    const { store } = fakeStore(() =>
      Promise.reject(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' })),
    )
    const deps = access(store)
    const problem = await problemOf(downloadUrl(deps, ann, ann.userId, base))
    expect(problem.status).toBe(503)
    expect(JSON.stringify(deps.log.lines)).toContain('Access Denied')
  })

  test("the store's own problems pass through unchanged", async () => {
    const { store } = fakeStore(() => Promise.reject(new HttpProblem('invalid-signature')))
    expect((await problemOf(downloadUrl(access(store), ann, ann.userId, base))).type).toBe(
      'invalid-signature',
    )
  })

  test('no avatar is 404', async () => {
    const { store } = fakeStore(async () => undefined)
    const problem = await problemOf(downloadUrl(access(store), ann, ann.userId, base))
    expect(problem.status).toBe(404)
  })

  test("someone else's avatar is 404 without asking the store; an admin's request reaches it", async () => {
    const { store, asked } = fakeStore(async (call) => `${call.baseUrl}/bob`)
    expect((await problemOf(downloadUrl(access(store), ann, bob, base))).status).toBe(404)
    expect(asked).toEqual([])
    expect(await downloadUrl(access(store), admin, bob, base)).toBe(`${base}/bob`)
    expect(asked).toEqual([`download ${bob}`])
  })

  test('an id that is not a user id never reaches the store', async () => {
    const { store, asked } = fakeStore(async () => 'http://x')
    for (const id of ['../etc/passwd', 'avatars/x', bob.toUpperCase(), `${bob}/x`]) {
      expect((await problemOf(downloadUrl(access(store), admin, id, base))).status).toBe(404)
    }
    expect(asked).toEqual([])
  })

  test('an upload is always for the caller', async () => {
    const { store, asked } = fakeStore(async () => undefined)
    await requestUpload(access(store), ann, spec, base)
    expect(asked).toEqual([`upload ${ann.userId} image/png 10`])
  })
})
