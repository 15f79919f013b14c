import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import type { TCPSocketListener } from 'bun'
import { type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'
import { s3rverCredentials, startS3, type TestS3 } from '../support/s3'

// The avatar flow against the compiled binary, as a client sees it, once per store: sign up, get a token,
// ask for an upload URL, PUT the bytes there with the headers given, GET the avatar through its redirect.

const password = 'correct horse battery staple'
const image = new Uint8Array(randomBytes(48 * 1024))

interface Upload {
  url: string
  method: string
  headers: Record<string, string>
  expiresAt: string
}

class Client {
  constructor(
    readonly apiUrl: string,
    readonly token: string,
  ) {}

  static async signUp(apiUrl: string, email: string): Promise<Client> {
    const json = { 'content-type': 'application/json' }
    const created = await fetch(`${apiUrl}/v1/users`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, name: email, password }),
    })
    expect(created.status).toBe(201)
    const issued = await fetch(`${apiUrl}/v1/auth/token`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password }),
    })
    return new Client(apiUrl, ((await issued.json()) as { access_token: string }).access_token)
  }

  askUpload(contentType: string, contentLength: number) {
    return fetch(`${this.apiUrl}/v1/users/me/avatar`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ contentType, contentLength }),
    })
  }

  async upload(bytes: Uint8Array, contentType = 'image/png'): Promise<Upload> {
    const response = await this.askUpload(contentType, bytes.byteLength)
    expect(response.status).toBe(200)
    return (await response.json()) as Upload
  }

  avatar(path = '/v1/users/me/avatar') {
    return fetch(`${this.apiUrl}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
      redirect: 'manual',
    })
  }

  async me(): Promise<string> {
    const response = await fetch(`${this.apiUrl}/v1/users/me`, {
      headers: { authorization: `Bearer ${this.token}` },
    })
    return ((await response.json()) as { id: string }).id
  }
}

/** The whole flow and its refusals, the same for both stores. */
function avatarFlow(start: () => Promise<RunningLedgerd>) {
  let server: RunningLedgerd
  let ann: Client
  let bob: Client
  beforeAll(async () => {
    server = await start()
    ann = await Client.signUp(server.apiUrl, 'ann@example.com')
    bob = await Client.signUp(server.apiUrl, 'bob@example.com')
  })
  afterAll(async () => {
    await server.stop()
  })

  test('upload through the returned URL and headers, then GET: the same bytes and type', async () => {
    const upload = await ann.upload(image)
    expect(upload.method).toBe('PUT')
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: image })
    expect(put.ok).toBe(true)

    const redirect = await ann.avatar()
    expect(redirect.status).toBe(307)
    const fetched = await fetch(redirect.headers.get('location') as string)
    expect(fetched.status).toBe(200)
    expect(fetched.headers.get('content-type')).toBe('image/png')
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(image)
  })

  test('a wrong content type and a too-large size are refused before any URL is given (422)', async () => {
    const gif = await ann.askUpload('image/gif', 100)
    expect(gif.status).toBe(422)
    expect(await gif.json()).toMatchObject({ errors: [{ field: 'contentType' }] })
    const huge = await ann.askUpload('image/png', 64 * 1024 + 1)
    expect(huge.status).toBe(422)
    expect(await huge.json()).toMatchObject({ errors: [{ field: 'contentLength' }] })
  })

  test('the store refuses a PUT of more bytes, or another type, than was signed', async () => {
    const upload = await ann.upload(image.subarray(0, 1000))
    const more = await fetch(upload.url, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: image.subarray(0, 1001),
    })
    expect(more.status).toBeGreaterThanOrEqual(400)
    expect(more.status).toBeLessThan(500)
    const jpeg = await fetch(upload.url, {
      method: 'PUT',
      headers: { 'content-type': 'image/jpeg' },
      body: image.subarray(0, 1000),
    })
    expect(jpeg.status).toBeGreaterThanOrEqual(400)
    expect(jpeg.status).toBeLessThan(500)
    // Neither replaced the avatar.
    const fetched = await fetch((await ann.avatar()).headers.get('location') as string)
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(image)
  })

  test("user B cannot read A's avatar (404), and has none of their own (404)", async () => {
    const annId = await ann.me()
    expect((await bob.avatar(`/v1/users/${annId}/avatar`)).status).toBe(404)
    expect((await bob.avatar()).status).toBe(404)
    expect((await ann.avatar(`/v1/users/${annId}/avatar`)).status).toBe(307)
  })
}

describe('avatars end to end, local store (the default)', () => {
  avatarFlow(() => startLedgerd({ args: ['--avatar-max-bytes', '64KiB'] }))
})

describe('avatars end to end, local store at the default limits', () => {
  let server: RunningLedgerd
  beforeAll(async () => {
    server = await startLedgerd()
  })
  afterAll(async () => {
    await server.stop()
  })

  // The signed upload route checks the length it signed, not --body-limit (1 MiB < 2 MiB avatars).
  test('an avatar larger than --body-limit and within --avatar-max-bytes uploads', async () => {
    const client = await Client.signUp(server.apiUrl, 'big@example.com')
    const big = new Uint8Array(randomBytes(1536 * 1024))
    const upload = await client.upload(big)
    expect((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: big })).status).toBe(204)
    const fetched = await fetch((await client.avatar()).headers.get('location') as string)
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(big)
  })
})

describe('avatars end to end, S3 (s3rver)', () => {
  let s3: TestS3
  avatarFlow(async () => {
    s3 = await startS3()
    return startLedgerd({
      args: [
        '--avatar-max-bytes',
        '64KiB',
        '--avatar-bucket',
        s3.bucket,
        '--s3-endpoint',
        s3.endpoint,
        '--s3-force-path-style',
        'true',
      ],
      env: s3rverCredentials,
    })
  })
  afterAll(async () => {
    // The refusals above came from the signature check, as they would from S3.
    expect(s3.refused.length).toBeGreaterThanOrEqual(2)
    await s3.close()
  })
})

describe('avatars end to end, store unavailable', () => {
  const timeoutMs = 500
  const slackMs = 1000
  let blackHole: TCPSocketListener
  let closedPort: number
  beforeAll(() => {
    // Accepts connections and never answers: a store (or metadata service) that hangs.
    blackHole = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    closedPort = probe.port
    probe.stop(true)
  })
  afterAll(() => blackHole.stop(true))

  async function expectUnavailable(
    endpoint: string,
    env: Record<string, string>,
    ask: (c: Client) => Promise<Response>,
    withinMs = timeoutMs + slackMs,
  ) {
    const server = await startLedgerd({
      args: [
        '--avatar-bucket',
        'avatars',
        '--s3-endpoint',
        endpoint,
        '--s3-force-path-style',
        'true',
        '--avatar-store-timeout',
        `${timeoutMs}ms`,
      ],
      env,
    })
    try {
      const client = await Client.signUp(server.apiUrl, 'ann@example.com')
      const started = performance.now()
      const response = await ask(client)
      expect(performance.now() - started).toBeLessThan(withinMs)
      expect(response.status).toBe(503)
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
    } finally {
      await server.stop()
    }
  }

  test('an endpoint that refuses connections: 503 with Retry-After, before the timeout', async () => {
    const refused = `http://127.0.0.1:${closedPort}`
    await expectUnavailable(refused, s3rverCredentials, (c) => c.avatar(), timeoutMs)
  })

  test('an endpoint that never answers: 503 with Retry-After within the store timeout', async () => {
    await expectUnavailable(`http://127.0.0.1:${blackHole.port}`, s3rverCredentials, (c) => c.avatar())
  })

  test('credentials that cannot be resolved (metadata service hangs): 503 within the timeout', async () => {
    const noCredentials = {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_EC2_METADATA_DISABLED: 'false',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${blackHole.port}`,
    }
    await expectUnavailable(`http://127.0.0.1:${closedPort}`, noCredentials, (c) =>
      c.askUpload('image/png', 10),
    )
  })
})
