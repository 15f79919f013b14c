import { afterEach, describe, expect, test } from 'bun:test'
import type { BackgroundHasher } from '../../../src/auth/background-hasher'
import {
  hashPassword,
  limitPasswordWork,
  passwordWorkBusy,
  reservePasswordHash,
  verifyPassword,
} from '../../../src/auth/passwords'
import { HttpProblem } from '../../../src/http/problem'
import { shedSignUps } from '../../../src/users'

/** A hasher starved of CPU until the test feeds it: then every hash, waiting or new, finishes. */
function starvedHasher() {
  let starved = true
  const waiting: (() => void)[] = []
  const hasher = {
    hash: () =>
      new Promise<string>((resolve) => {
        const finish = () => resolve('$argon2id$ (a stand-in)')
        if (starved) waiting.push(finish)
        else finish()
      }),
  } as unknown as BackgroundHasher
  const feed = () => {
    starved = false
    for (const finish of waiting.splice(0)) finish()
  }
  return { hasher, feed }
}

const realHash = await Bun.password.hash('correct horse battery staple')
afterEach(() => {
  limitPasswordWork(2, 32)
})

describe('password work', () => {
  test('a login is checked while every hashing thread is busy and sign-ups queue: the pools do not share permits', async () => {
    const { hasher, feed } = starvedHasher()
    limitPasswordWork(1, 4, hasher)
    const signUps = [hashPassword('first sign-up pw'), hashPassword('second sign-up pw')]
    expect(await verifyPassword('correct horse battery staple', realHash)).toBe(true)
    expect(await verifyPassword('a wrong password here', null)).toBe(false)
    feed()
    expect(await Promise.all(signUps)).toHaveLength(2)
  })

  test('a sign-up that waits past its limit for a hashing thread gets 503 with Retry-After, never an endless wait', async () => {
    const { hasher, feed } = starvedHasher()
    limitPasswordWork(1, 4, hasher, 30)
    const running = hashPassword('holds the one thread')
    const waited = await hashPassword('waits for it').catch((error: unknown) => error)
    expect(waited).toBeInstanceOf(HttpProblem)
    expect(waited).toMatchObject({ type: 'service-unavailable', headers: { 'retry-after': '1' } })
    feed()
    expect(await running).toStartWith('$argon2id$')
  })

  test('past the queue a sign-up is refused at once', async () => {
    const { hasher, feed } = starvedHasher()
    limitPasswordWork(1, 0, hasher)
    const running = hashPassword('holds the one thread')
    await expect(hashPassword('no room to wait')).rejects.toMatchObject({ type: 'service-unavailable' })
    feed()
    await running
  })
})

describe('shedding sign-ups', () => {
  test('POST /v1/users is shed exactly while every place in the hashing pool is held', async () => {
    const { hasher, feed } = starvedHasher()
    limitPasswordWork(1, 1, hasher)
    expect(shedSignUps('POST', '/v1/users')).toBeUndefined()
    const first = reservePasswordHash()
    const running = first.hash('takes the thread')
    expect(shedSignUps('POST', '/v1/users')).toBeUndefined()
    // A place taken by a sign-up still making its checks (no hash yet) counts as much as a hash.
    const second = reservePasswordHash()
    expect(shedSignUps('POST', '/v1/users')).toEqual({ route: '/v1/users', problem: passwordWorkBusy })
    expect(() => reservePasswordHash()).toThrow(passwordWorkBusy)
    expect(shedSignUps('GET', '/v1/users')).toBeUndefined()
    expect(shedSignUps('POST', '/v1/auth/token')).toBeUndefined()
    second.release()
    expect(shedSignUps('POST', '/v1/users')).toBeUndefined()
    feed()
    await running
  })
})
