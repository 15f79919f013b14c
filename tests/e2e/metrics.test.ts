import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type LedgerClient, ledgerClient } from '../support/ledger-client'
import { type RunningLedgerd, startLedgerd, testStorage } from '../support/ledgerd-process'
import { metricsText, samples, sampleValue } from '../support/metrics'
import { startPrometheus } from '../support/prometheus'

// The metric catalog (NOTES.md) against the compiled binary: each metric moves when its event happens,
// labels stay bounded whatever clients send, and a real Prometheus scrapes the OpenMetrics exposition
// and stores the latency histogram's exemplars.

const openMetricsAccept =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
const traceparent = `00-${traceId}-00f067aa0ba902b7-01`

let server: RunningLedgerd
let api: LedgerClient

beforeAll(async () => {
  server = await startLedgerd({ args: ['--login-max-failures', '3'] })
  api = ledgerClient(server.apiUrl)
})
afterAll(async () => {
  expect(await server.stop()).toBe(0)
})

const scrape = () => metricsText(server.adminUrl)
const authFailures = async (reason: string) =>
  sampleValue(await scrape(), 'ledgerd_auth_failures_total', { reason }) as number

describe('the catalog on the compiled binary', () => {
  test('every bounded series exists at 0 before its first event; build info and readiness are set', async () => {
    const text = await scrape()
    expect(sampleValue(text, 'ledgerd_auth_failures_total', { reason: 'token_expired' })).toBe(0)
    expect(sampleValue(text, 'ledgerd_login_throttled_total')).toBe(0)
    expect(sampleValue(text, 'ledgerd_avatar_store_errors_total', { operation: 'presign_upload' })).toBe(0)
    expect(sampleValue(text, 'ledgerd_db_errors_total', { dialect: testStorage, kind: 'disk_full' })).toBe(0)
    const [build] = samples(text, 'ledgerd_build_info')
    expect(build?.labels).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      storage: testStorage,
    })
    expect(build?.labels.revision).toMatch(/^[0-9a-f]{12}(-dirty)?$|^unknown$/)
    expect(sampleValue(text, 'ledgerd_ready')).toBe(1)
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ])
      expect(sampleValue(text, name)).toBeGreaterThan(0)
    // Dropped as not real under Bun (NOTES.md, "Runtime metrics under Bun").
    for (const name of [
      'nodejs_gc_duration_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_active_handles_total',
    ])
      expect(text).not.toContain(name)
  })

  test('a currency’s ledger series exist at 0 from its first account; a committed deposit counts and moves its amount', async () => {
    const user = await api.signUp(`chf-${crypto.randomUUID()}@example.com`)
    const opened = await api.createAccount(user.token, 'CHF')
    expect(opened.status).toBe(201)
    let text = await scrape()
    const chf = (kind: string, outcome: string) =>
      sampleValue(text, 'ledger_transactions_total', { kind, outcome, currency: 'CHF' })
    expect(chf('withdrawal', 'insufficient_funds')).toBe(0)
    expect(chf('deposit', 'committed')).toBe(0)
    expect(sampleValue(text, 'ledger_amount_minor_units_total', { kind: 'deposit', currency: 'CHF' })).toBe(0)
    expect((await api.deposit(user.token, opened.body.id, 250)).status).toBe(201)
    expect((await api.withdraw(user.token, opened.body.id, 1000)).status).toBe(409)
    text = await scrape()
    expect(chf('deposit', 'committed')).toBe(1)
    expect(chf('withdrawal', 'insufficient_funds')).toBe(1)
    expect(sampleValue(text, 'ledger_amount_minor_units_total', { kind: 'deposit', currency: 'CHF' })).toBe(
      250,
    )
  })

  test('the data volume gauges read the data dir’s file system (SQLite only)', async () => {
    const text = await scrape()
    if (testStorage !== 'sqlite') {
      expect(text).not.toContain('ledgerd_data_volume_available_bytes')
      return
    }
    const available = sampleValue(text, 'ledgerd_data_volume_available_bytes') as number
    const capacity = sampleValue(text, 'ledgerd_data_volume_capacity_bytes') as number
    expect(available).toBeGreaterThan(0)
    expect(capacity).toBeGreaterThanOrEqual(available)
    const { bavail, bsize } = (await import('node:fs')).statfsSync(server.dataDir)
    // Within 64 MiB of what the test sees: other writers share the volume.
    expect(Math.abs(available - bavail * bsize)).toBeLessThan(64 * 2 ** 20)
  })

  test('PostgreSQL: the pool gauges show connections opened by a burst, then idle, never above the maximum', async () => {
    const text = await scrape()
    if (testStorage !== 'postgres') {
      expect(text).not.toContain('ledgerd_db_pool_connections')
      return
    }
    const max = sampleValue(text, 'ledgerd_db_pool_max_connections', { dialect: 'postgres' }) as number
    expect(max).toBeGreaterThan(1)
    const user = await api.signUp(`pool-${crypto.randomUUID()}@example.com`)
    await Promise.all(Array.from({ length: 40 }, () => api.listAccounts(user.token)))
    const after = await scrape()
    const inUse = sampleValue(after, 'ledgerd_db_pool_connections', {
      dialect: 'postgres',
      state: 'in_use',
    }) as number
    const idle = sampleValue(after, 'ledgerd_db_pool_connections', {
      dialect: 'postgres',
      state: 'idle',
    }) as number
    // The burst is over: its connections are open and idle (closed only after a minute unused).
    expect(inUse).toBe(0)
    expect(idle).toBeGreaterThan(1)
    expect(idle).toBeLessThanOrEqual(max)
    expect(sampleValue(after, 'ledgerd_db_pool_waiting', { dialect: 'postgres' })).toBe(0)
  })

  test('a failed login counts as unknown_user or wrong_password; a malformed or forged token by its reason', async () => {
    const user = await api.signUp(`metered-${crypto.randomUUID()}@example.com`)
    const before = {
      unknown: await authFailures('unknown_user'),
      wrong: await authFailures('wrong_password'),
      scheme: await authFailures('wrong_scheme'),
      malformed: await authFailures('token_malformed'),
      signature: await authFailures('token_bad_signature'),
      missing: await authFailures('missing_token'),
    }
    expect(
      (await api.send('POST', '/v1/auth/token', { body: { email: 'nobody@example.com', password: 'x' } }))
        .status,
    ).toBe(401)
    expect(
      (await api.send('POST', '/v1/auth/token', { body: { email: user.email, password: 'wrong' } })).status,
    ).toBe(401)
    const get = (authorization?: string) =>
      fetch(`${server.apiUrl}/v1/accounts`, authorization ? { headers: { authorization } } : {})
    expect((await get()).status).toBe(401)
    expect((await get('Basic dXNlcjpwYXNz')).status).toBe(401)
    expect((await get('Bearer not.a.jwt')).status).toBe(401)
    const [header, payload, signature] = user.token.split('.') as [string, string, string]
    const forged = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`
    expect((await get(`Bearer ${forged}`)).status).toBe(401)
    expect(await authFailures('unknown_user')).toBe(before.unknown + 1)
    expect(await authFailures('wrong_password')).toBe(before.wrong + 1)
    expect(await authFailures('missing_token')).toBe(before.missing + 1)
    expect(await authFailures('wrong_scheme')).toBe(before.scheme + 1)
    expect(await authFailures('token_malformed')).toBe(before.malformed + 1)
    expect(await authFailures('token_bad_signature')).toBe(before.signature + 1)
  })

  test('a login refused with 429 counts in ledgerd_login_throttled_total', async () => {
    const email = `throttled-${crypto.randomUUID()}@example.com`
    const before = sampleValue(await scrape(), 'ledgerd_login_throttled_total') as number
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      statuses.push((await api.send('POST', '/v1/auth/token', { body: { email, password: 'x' } })).status)
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429])
    expect(sampleValue(await scrape(), 'ledgerd_login_throttled_total')).toBe(before + 2)
  })

  test('200 distinct unknown paths and 200 distinct emails add no series', async () => {
    const seriesCount = (text: string) =>
      text.split('\n').filter((line) => line && !line.startsWith('#')).length
    // One of each first, so the unmatched route's series and every status it answers already exist.
    await fetch(`${server.apiUrl}/nope/first`)
    await api.send('POST', '/v1/auth/token', { body: { email: 'first@example.com', password: 'x' } })
    const before = seriesCount(await scrape())
    for (let i = 0; i < 200; i++) {
      await fetch(`${server.apiUrl}/nope/${crypto.randomUUID()}?user=${i}@example.com`)
      await api.send('POST', '/v1/auth/token', { body: { email: `guess-${i}@example.com`, password: 'x' } })
    }
    const text = await scrape()
    expect(seriesCount(text)).toBe(before)
    expect(text).not.toContain('guess-')
    expect(text).not.toContain('/nope/')
  })

  test('a request’s trace id is echoed in traceparent, logged, and served as an exemplar in OpenMetrics only', async () => {
    const response = await fetch(`${server.apiUrl}/v1/meta`, { headers: { traceparent } })
    expect(response.headers.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))
    const requestId = response.headers.get('x-request-id')
    await Bun.sleep(50)
    expect(server.logs.find((line) => line.msg === 'request' && line.requestId === requestId)?.trace_id).toBe(
      traceId,
    )

    const open = await fetch(`${server.adminUrl}/metrics`, { headers: { accept: openMetricsAccept } })
    expect(open.headers.get('content-type')).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    )
    const body = await open.text()
    expect(body).toMatch(
      new RegExp(
        `^http_request_duration_seconds_bucket\\{[^}]*route="/v1/meta"[^}]*\\} \\d+ # \\{trace_id="${traceId}"\\}`,
        'm',
      ),
    )
    expect(body.endsWith('# EOF\n')).toBe(true)
    const classic = await fetch(`${server.adminUrl}/metrics`)
    expect(classic.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await classic.text()
    expect(text).not.toContain(traceId)
    // The classic text is what promtool reads (Debian's Prometheus 2.42).
    const check = Bun.spawnSync(['promtool', 'check', 'metrics'], { stdin: new TextEncoder().encode(text) })
    expect(check.stderr.toString() + check.stdout.toString()).toBe('')
    expect(check.exitCode).toBe(0)
  })
})

describe('a real Prometheus scraping ledgerd', () => {
  test('stores the exemplar of a request: its trace id comes back from /api/v1/query_exemplars', async () => {
    const admin = new URL(server.adminUrl)
    const prometheus = await startPrometheus(
      () => ({
        global: { scrape_interval: '1s', scrape_timeout: '900ms' },
        scrape_configs: [
          {
            job_name: 'ledgerd',
            static_configs: [{ targets: [admin.host], labels: { namespace: 'test', pod: 'ledgerd-0' } }],
          },
        ],
      }),
      {},
      ['--enable-feature=exemplar-storage'],
    )
    try {
      const slowTrace = crypto.randomUUID().replaceAll('-', '')
      const deadline = performance.now() + 40_000
      let found: unknown[] = []
      while (performance.now() < deadline && found.length === 0) {
        // A request in a fresh trace every round: the exemplar is whichever request a scrape saw last.
        await fetch(`${server.apiUrl}/v1/meta`, {
          headers: { traceparent: `00-${slowTrace}-00f067aa0ba902b7-01` },
        })
        await Bun.sleep(500)
        const now = Date.now() / 1000
        const query = new URLSearchParams({
          query: 'http_request_duration_seconds_bucket{job="ledgerd",route="/v1/meta"}',
          start: String(now - 300),
          end: String(now + 10),
        })
        const answer = await fetch(`${prometheus.url}/api/v1/query_exemplars?${query}`).catch(() => undefined)
        if (answer?.status !== 200) continue
        const { data } = (await answer.json()) as {
          data: { exemplars: { labels: { trace_id: string } }[] }[]
        }
        found = data.flatMap((series) => series.exemplars).filter((e) => e.labels.trace_id === slowTrace)
      }
      expect(found.length).toBeGreaterThan(0)
      // The scrape itself went well, so every catalog series is in Prometheus too.
      const up = await prometheus.query('up{job="ledgerd"}')
      expect(up.data?.result[0]?.value?.[1]).toBe('1')
      const stored = await prometheus.query(
        `ledgerd_auth_failures_total{job="ledgerd",reason="unknown_user"}`,
      )
      expect(stored.data?.result).toHaveLength(1)
    } finally {
      await prometheus.stop()
    }
  }, 60_000)
})
