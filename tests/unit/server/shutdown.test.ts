import { describe, expect, test } from 'bun:test'
import { listen } from '../../../src/server/listen'
import { shutdownGracefully } from '../../../src/server/shutdown'
import { captureLogger } from '../../support/http'

// Real sockets, a deliberately slow route, and the shutdown sequence ledgerd runs on SIGTERM.
function slowServer(handlerDelayMs: number) {
  let draining = false
  const listeners = listen(
    { host: '127.0.0.1', port: 0, adminHost: '127.0.0.1', adminPort: 0 },
    {
      api: async (request) => {
        if (new URL(request.url).pathname === '/slow') await Bun.sleep(handlerDelayMs)
        return new Response('done')
      },
      admin: () => new Response(null, { status: draining ? 503 : 200 }),
    },
  )
  let closed = false
  const plan = (delayMs: number, timeoutMs: number) =>
    shutdownGracefully({
      listeners,
      startDraining: () => {
        draining = true
      },
      close: () => {
        closed = true
      },
      delayMs,
      timeoutMs,
      logger: captureLogger().logger,
    })
  return {
    api: `http://127.0.0.1:${listeners.api.port}`,
    admin: `http://127.0.0.1:${listeners.admin.port}`,
    plan,
    closed: () => closed,
  }
}

describe('graceful shutdown', () => {
  test('requests already in flight get their full response; then the database closes', async () => {
    const server = slowServer(300)
    const inFlight = Promise.all([1, 2, 3].map(() => fetch(`${server.api}/slow`).then((r) => r.text())))
    await Bun.sleep(50)
    const drained = await server.plan(0, 5000)
    expect(await inFlight).toEqual(['done', 'done', 'done'])
    expect(drained).toBe(true)
    expect(server.closed()).toBe(true)
  })

  test('during the shutdown delay readiness is 503 while the API still serves', async () => {
    const server = slowServer(0)
    const shutdown = server.plan(400, 5000)
    await Bun.sleep(100)
    expect((await fetch(server.admin)).status).toBe(503)
    expect(await (await fetch(`${server.api}/fast`)).text()).toBe('done')
    expect(await shutdown).toBe(true)
  })

  test('after the delay, new connections are refused', async () => {
    const server = slowServer(0)
    await server.plan(0, 5000)
    expect(fetch(`${server.api}/fast`)).rejects.toThrow()
  })

  test('requests still running at the timeout are cut, and shutdown still completes', async () => {
    const server = slowServer(5000)
    const stuck = fetch(`${server.api}/slow`).then(
      () => 'answered',
      () => 'cut',
    )
    await Bun.sleep(50)
    const started = performance.now()
    expect(await server.plan(0, 200)).toBe(false)
    expect(performance.now() - started).toBeLessThan(2000)
    expect(await stuck).toBe('cut')
    expect(server.closed()).toBe(true)
  })
})
