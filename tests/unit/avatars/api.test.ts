import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TCPSocketListener } from 'bun'
import { sqliteUsersRepository } from '../../../src/users/repository'
import { createUser } from '../../../src/users/service'
import { type InProcessLedgerd, inProcessLedgerd } from '../../support/app'
import { s3rverCredentials, startS3, type TestS3 } from '../../support/s3'

const password = 'correct horse battery staple'
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7, 7])

interface Account {
  id: string
  token: string
}

async function token(ledgerd: InProcessLedgerd, email: string): Promise<string> {
  const response = await ledgerd.request('POST', '/v1/auth/token', { body: { email, password } })
  return ((await response.json()) as { access_token: string }).access_token
}

async function signUp(ledgerd: InProcessLedgerd, email: string): Promise<Account> {
  const response = await ledgerd.request('POST', '/v1/users', { body: { email, name: email, password } })
  expect(response.status).toBe(201)
  const { id } = (await response.json()) as { id: string }
  return { id, token: await token(ledgerd, email) }
}

async function createAdmin(ledgerd: InProcessLedgerd, email: string): Promise<Account> {
  const user = await createUser(
    sqliteUsersRepository(ledgerd.db),
    { email, name: 'Admin', password },
    'admin',
  )
  return { id: user.id, token: await token(ledgerd, email) }
}

interface Upload {
  url: string
  method: string
  headers: Record<string, string>
  expiresAt: string
}

const askUpload = (ledgerd: InProcessLedgerd, account: Account, body: unknown) =>
  ledgerd.request('POST', '/v1/users/me/avatar', { token: account.token, body })

async function uploadAvatar(ledgerd: InProcessLedgerd, account: Account, bytes = png, type = 'image/png') {
  const response = await askUpload(ledgerd, account, { contentType: type, contentLength: bytes.byteLength })
  expect(response.status).toBe(200)
  const upload = (await response.json()) as Upload
  const put = await ledgerd.fetch(
    new Request(upload.url, { method: upload.method, headers: upload.headers, body: bytes }),
  )
  expect(put.status).toBe(204)
}

const problemOf = async (response: Response) =>
  (await response.json()) as { type: string; errors?: unknown[] }

describe('avatars, local store (in-process)', () => {
  let ledgerd: InProcessLedgerd
  let ann: Account
  let bob: Account
  let admin: Account
  beforeAll(async () => {
    ledgerd = await inProcessLedgerd({ 'avatar-max-bytes': '4KiB' })
    ann = await signUp(ledgerd, 'ann@example.com')
    bob = await signUp(ledgerd, 'bob@example.com')
    admin = await createAdmin(ledgerd, 'root@example.com')
  })
  afterAll(() => ledgerd.dispose())

  test('POST answers 200: an absolute, uncacheable PUT signed for that type and size', async () => {
    const before = Date.now()
    const response = await askUpload(ledgerd, ann, { contentType: 'image/webp', contentLength: 1234 })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const upload = (await response.json()) as Upload
    expect(upload.method).toBe('PUT')
    expect(upload.url).toStartWith(`http://localhost/v1/avatar-files/${ann.id}?`)
    expect(upload.headers).toEqual({ 'Content-Type': 'image/webp', 'Content-Length': '1234' })
    const expiresAt = Date.parse(upload.expiresAt)
    expect(expiresAt).toBeGreaterThan(before + 5 * 60_000 - 2000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 5 * 60_000)
  })

  test('upload, then GET redirects (307) to a URL that serves the same bytes and type', async () => {
    await uploadAvatar(ledgerd, ann)
    const response = await ledgerd.request('GET', '/v1/users/me/avatar', { token: ann.token })
    expect(response.status).toBe(307)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const location = response.headers.get('location') as string
    expect(location).toStartWith(`http://localhost/v1/avatar-files/${ann.id}?`)
    const image = await ledgerd.fetch(new Request(location))
    expect(image.status).toBe(200)
    expect(image.headers.get('content-type')).toBe('image/png')
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(png)
    // The same avatar at /v1/users/{id}/avatar, for its owner.
    expect((await ledgerd.request('GET', `/v1/users/${ann.id}/avatar`, { token: ann.token })).status).toBe(
      307,
    )
  })

  test('a wrong content type is a 422 naming contentType; so is SVG, which can carry script', async () => {
    for (const contentType of ['image/gif', 'image/svg+xml', 'text/html', 'IMAGE/PNG', 42]) {
      const response = await askUpload(ledgerd, ann, { contentType, contentLength: 10 })
      expect(response.status).toBe(422)
      const problem = await problemOf(response)
      expect(problem.type).toBe('/problems/validation-failed')
      expect(problem.errors).toEqual([expect.objectContaining({ field: 'contentType', in: 'body' })])
    }
  })

  test('contentLength must be an integer from 1 to --avatar-max-bytes (422 naming it)', async () => {
    for (const contentLength of [0, -1, 1.5, 4097, null, 'ten']) {
      const response = await askUpload(ledgerd, ann, { contentType: 'image/png', contentLength })
      expect(response.status).toBe(422)
      expect((await problemOf(response)).errors).toEqual([
        expect.objectContaining({ field: 'contentLength' }),
      ])
    }
    for (const contentLength of [1, 4096]) {
      expect((await askUpload(ledgerd, ann, { contentType: 'image/png', contentLength })).status).toBe(200)
    }
  })

  test('a missing field is refused; an unknown one is dropped, as everywhere in the API', async () => {
    const missing = await askUpload(ledgerd, ann, { contentType: 'image/png' })
    expect(missing.status).toBe(422)
    expect((await problemOf(missing)).errors).toEqual([expect.objectContaining({ field: 'contentLength' })])
    const extra = await askUpload(ledgerd, ann, {
      contentType: 'image/png',
      contentLength: 5,
      userId: bob.id,
    })
    expect(((await extra.json()) as Upload).url).toContain(`/v1/avatar-files/${ann.id}?`)
  })

  test('no avatar uploaded: 404 problem', async () => {
    const response = await ledgerd.request('GET', '/v1/users/me/avatar', { token: bob.token })
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect((await problemOf(response)).type).toBe('/problems/not-found')
  })

  test("someone else's avatar answers 404 like a missing one", async () => {
    await uploadAvatar(ledgerd, ann)
    const theirs = await ledgerd.request('GET', `/v1/users/${ann.id}/avatar`, { token: bob.token })
    const nobody = await ledgerd.request('GET', `/v1/users/${crypto.randomUUID()}/avatar`, {
      token: bob.token,
    })
    expect(theirs.status).toBe(404)
    expect(nobody.status).toBe(404)
    expect(await problemOf(theirs)).toMatchObject({ type: (await problemOf(nobody)).type })
  })

  test("an admin reads another user's avatar", async () => {
    await uploadAvatar(ledgerd, ann)
    const response = await ledgerd.request('GET', `/v1/users/${ann.id}/avatar`, { token: admin.token })
    expect(response.status).toBe(307)
    const image = await ledgerd.fetch(new Request(response.headers.get('location') as string))
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(png)
    const missing = await ledgerd.request('GET', `/v1/users/${bob.id}/avatar`, { token: admin.token })
    expect(missing.status).toBe(404)
  })

  test('the avatar routes need a token; the file URLs need a signature instead', async () => {
    expect((await ledgerd.request('GET', '/v1/users/me/avatar')).status).toBe(401)
    const body = { contentType: 'image/png', contentLength: 5 }
    expect((await ledgerd.request('POST', '/v1/users/me/avatar', { body })).status).toBe(401)
    // A bearer token is no substitute for the signature.
    const unsigned = await ledgerd.request('GET', `/v1/avatar-files/${ann.id}`, { token: admin.token })
    expect(unsigned.status).toBe(403)
    expect(unsigned.headers.get('content-type')).toBe('application/problem+json')
    expect(unsigned.headers.get('x-request-id')).toBeTruthy()
    expect((await problemOf(unsigned)).type).toBe('/problems/invalid-signature')
  })

  test('file URLs reveal nothing: no listing; a bad signature looks the same for any user', async () => {
    expect((await ledgerd.request('GET', '/v1/avatar-files')).status).toBe(404)
    expect((await ledgerd.request('GET', '/v1/avatar-files/')).status).toBe(404)
    const existing = await ledgerd.request('GET', `/v1/avatar-files/${ann.id}?expires=9999999999&signature=x`)
    const missing = await ledgerd.request('GET', `/v1/avatar-files/${bob.id}?expires=9999999999&signature=x`)
    expect(existing.status).toBe(403)
    expect(missing.status).toBe(403)
    const { instance: _a, requestId: _b, ...sameA } = (await existing.json()) as Record<string, unknown>
    const { instance: _c, requestId: _d, ...sameB } = (await missing.json()) as Record<string, unknown>
    expect(sameA).toEqual(sameB)
    const document = (await (await ledgerd.request('GET', '/openapi.json')).json()) as { paths: object }
    expect(Object.keys(document.paths).filter((path) => path.includes('avatar'))).toEqual([
      '/v1/users/me/avatar',
      '/v1/users/{id}/avatar',
    ])
  })

  test('a PUT of another type, or more bytes, than signed is a 400; nothing is replaced', async () => {
    await uploadAvatar(ledgerd, ann)
    const response = await askUpload(ledgerd, ann, { contentType: 'image/png', contentLength: 4 })
    const upload = (await response.json()) as Upload
    const jpeg = await ledgerd.fetch(
      new Request(upload.url, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: 'abcd' }),
    )
    expect(jpeg.status).toBe(400)
    expect((await problemOf(jpeg)).type).toBe('/problems/upload-mismatch')
    const longer = await ledgerd.fetch(
      new Request(upload.url, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: 'abcde' }),
    )
    expect(longer.status).toBe(400)
    const location = (await ledgerd.request('GET', '/v1/users/me/avatar', { token: ann.token })).headers.get(
      'location',
    ) as string
    expect(new Uint8Array(await (await ledgerd.fetch(new Request(location))).arrayBuffer())).toEqual(png)
  })

  test('an upload is logged once with its route template, not its signed query', async () => {
    await uploadAvatar(ledgerd, bob)
    const lines = ledgerd.log.lines.filter((line) => line.msg === 'request' && line.method === 'PUT')
    expect(lines.at(-1)).toMatchObject({ route: '/v1/avatar-files/:userId', status: 204 })
    expect(JSON.stringify(ledgerd.log.lines)).not.toContain('signature=')
  })
})

describe('avatars: URLs from --public-url', () => {
  test('upload and download URLs use the configured base, not the Host header', async () => {
    const ledgerd = await inProcessLedgerd({ 'public-url': 'https://ledger.example.com' })
    try {
      const ann = await signUp(ledgerd, 'ann@example.com')
      const response = await askUpload(ledgerd, ann, {
        contentType: 'image/png',
        contentLength: png.byteLength,
      })
      const upload = (await response.json()) as Upload
      expect(upload.url).toStartWith(`https://ledger.example.com/v1/avatar-files/${ann.id}?`)
      const local = upload.url.replace('https://ledger.example.com', 'http://localhost')
      const put = await ledgerd.fetch(
        new Request(local, { method: 'PUT', headers: upload.headers, body: png }),
      )
      expect(put.status).toBe(204)
      const redirect = await ledgerd.request('GET', '/v1/users/me/avatar', { token: ann.token })
      expect(redirect.headers.get('location')).toStartWith('https://ledger.example.com/v1/avatar-files/')
    } finally {
      ledgerd.dispose()
    }
  })
})

describe('avatars, S3 store (in-process)', () => {
  const saved = { ...process.env }
  let s3: TestS3
  let blackHole: TCPSocketListener
  beforeAll(async () => {
    Object.assign(process.env, s3rverCredentials)
    s3 = await startS3()
    // Accepts connections and never answers: a store that hangs.
    blackHole = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  })
  afterAll(async () => {
    blackHole.stop(true)
    await s3.close()
    for (const key of Object.keys(s3rverCredentials)) {
      if (saved[key] === undefined) delete process.env[key]
      else process.env[key] = saved[key]
    }
  })

  const s3Settings = (endpoint: string) => ({
    'avatar-bucket': 'avatars',
    's3-endpoint': endpoint,
    's3-force-path-style': 'true',
    'avatar-store-timeout': '300ms',
  })

  test('the upload URL signs type and length, and has no checksum of an empty body', async () => {
    const ledgerd = await inProcessLedgerd(s3Settings(s3.endpoint))
    try {
      const ann = await signUp(ledgerd, 'ann@example.com')
      const response = await askUpload(ledgerd, ann, {
        contentType: 'image/png',
        contentLength: png.byteLength,
      })
      expect(response.status).toBe(200)
      const upload = (await response.json()) as Upload
      const url = new URL(upload.url)
      expect(url.origin).toBe(s3.endpoint)
      expect(url.pathname).toBe(`/avatars/avatars/${ann.id}`)
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host')
      expect(url.searchParams.get('X-Amz-Expires')).toBe('300')
      expect([...url.searchParams.keys()].filter((key) => key.includes('checksum'))).toEqual([])
      expect(upload.headers).toEqual({
        'Content-Type': 'image/png',
        'Content-Length': String(png.byteLength),
      })

      const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: png })
      expect(put.status).toBe(200)
      const redirect = await ledgerd.request('GET', '/v1/users/me/avatar', { token: ann.token })
      expect(redirect.status).toBe(307)
      const image = await fetch(redirect.headers.get('location') as string)
      expect(image.headers.get('content-type')).toBe('image/png')
      expect(new Uint8Array(await image.arrayBuffer())).toEqual(png)
    } finally {
      ledgerd.dispose()
    }
  })

  for (const [name, endpoint] of [
    ['hangs', () => `http://127.0.0.1:${blackHole.port}`],
    ['refuses connections', () => 'http://127.0.0.1:9'],
  ] as const) {
    test(`a store that ${name} answers 503 with Retry-After within the timeout`, async () => {
      const ledgerd = await inProcessLedgerd(s3Settings(endpoint()))
      try {
        const ann = await signUp(ledgerd, 'ann@example.com')
        const started = performance.now()
        const response = await ledgerd.request('GET', '/v1/users/me/avatar', { token: ann.token })
        expect(performance.now() - started).toBeLessThan(300 + 250)
        expect(response.status).toBe(503)
        expect(response.headers.get('retry-after')).toBe('5')
        expect(response.headers.get('content-type')).toBe('application/problem+json')
        expect(ledgerd.log.lines).toContainEqual(expect.objectContaining({ msg: 'avatar store unavailable' }))
      } finally {
        ledgerd.dispose()
      }
    })
  }
})
