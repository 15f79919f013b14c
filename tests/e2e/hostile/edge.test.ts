import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type RunningLedgerd, startLedgerd } from '../../support/ledgerd-process'

// The HTTP edge against hostile and careless clients, on the compiled binary: odd Hosts written byte for
// byte on a socket, methods and CORS, body charsets and duplicate JSON member names. Every answer is
// bounded in time and is never a 5xx; refusals are problem+json naming what was wrong.

let server: RunningLedgerd
let port: number
beforeAll(async () => {
  server = await startLedgerd()
  port = Number(new URL(server.apiUrl).port)
})
afterAll(async () => {
  expect(await server.stop()).toBe(0)
})

interface RawResponse {
  status: number
  headers: Map<string, string>
  body: string
}

/** Writes `bytes` on a fresh connection and reads until the server closes it (at most 5 s). */
async function raw(bytes: string): Promise<RawResponse> {
  let text = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer within 5 s to ${JSON.stringify(bytes)}`)),
      5_000,
    )
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    void Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(socket) {
          socket.write(bytes)
        },
        data(_, chunk) {
          text += chunk.toString()
        },
        close: done,
        error: done,
      },
    })
  })
  const split = text.indexOf('\r\n\r\n')
  const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n')
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(':')
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const
    }),
  )
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) }
}

const accessLine = async (requestId: string) => {
  await Bun.sleep(50)
  return server.logs.find((line) => line.msg === 'request' && line.requestId === requestId)
}

describe('Host', () => {
  test('HTTP/1.0 without Host is served, logged, and prints no stack', async () => {
    const answer = await raw('GET /v1/meta HTTP/1.0\r\nX-Request-Id: h10-no-host\r\n\r\n')
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body).name).toBe('ledgerd')
    expect(await accessLine('h10-no-host')).toMatchObject({
      path: '/v1/meta',
      route: '/v1/meta',
      status: 200,
    })
    expect(server.stderr()).toBe('')
    expect(server.logs.filter((line) => line.level === 'error' || line.level === 'unparsed')).toEqual([])
  })

  test("HAProxy's default health check (OPTIONS / HTTP/1.0, no Host) gets no 5xx", async () => {
    const answer = await raw('OPTIONS / HTTP/1.0\r\nX-Request-Id: haproxy-check\r\n\r\n')
    expect(answer.status).toBeLessThan(500)
    expect(await accessLine('haproxy-check')).toMatchObject({ path: '/' })
  })

  test('HTTP/1.0 without Host to an unknown path is a problem+json 404 with an access-log line', async () => {
    const answer = await raw('GET /zz/v1/meta HTTP/1.0\r\nX-Request-Id: h10-unknown\r\n\r\n')
    expect(answer.status).toBe(404)
    expect(answer.headers.get('content-type')).toBe('application/problem+json')
    expect(JSON.parse(answer.body).instance).toBe('/zz/v1/meta')
    expect(await accessLine('h10-unknown')).toMatchObject({ path: '/zz/v1/meta', status: 404 })
  })

  test('an empty Host is served like no Host', async () => {
    const answer = await raw('GET /v1/meta HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n')
    expect(answer.status).toBe(200)
  })

  test('HTTP/1.1 without Host is refused with 400, as RFC 9112 requires', async () => {
    const answer = await raw('GET /v1/meta HTTP/1.1\r\nConnection: close\r\n\r\n')
    expect(answer.status).toBe(400)
  })

  for (const host of ['x', 'ab', 'api', 'api:80', 'x:1', '[::1]', 'ledger.example.com']) {
    test(`Host: ${host} routes on the path the client sent`, async () => {
      const known = await raw(`GET /v1/meta HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
      expect(known.status).toBe(200)
      const id = `short-host-${host.replace(/[^a-z0-9]/g, '')}`
      const prefixed = await raw(
        `GET /zz/v1/meta HTTP/1.1\r\nHost: ${host}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`,
      )
      expect(prefixed.status).toBe(404)
      expect(JSON.parse(prefixed.body).instance).toBe('/zz/v1/meta')
      expect(await accessLine(id)).toMatchObject({ path: '/zz/v1/meta', route: 'unmatched', status: 404 })
    })
  }
})
