// What the API thread spends per request, and on what. Builds the API exactly as `ledgerd serve` does
// (composeApi, wrapped by instrument) over a fresh SQLite file in a temp dir, and calls the handler in
// process with `new Request(...)` (no sockets, no wrk), so only the API thread's work is counted: its CPU
// time (process.threadCpuUsage) divided by the requests completed. Variants take turns in short windows
// in one process; each figure is the median over the windows.
//
//   real path    GET /v1/accounts/:id and POST /v1/accounts/:id/deposits (with an Idempotency-Key;
//                64 in flight, as scripts/bench.sh keeps them, so the writer thread batches them) through
//                the real app.
//   wrapper      the same requests with one part of instrument() left out: all of it (app.handle
//                alone), the access-log line, the latency histogram, the generated request id (the
//                caller sends an X-Request-Id instead).
//   Elysia parts a probe route with the ledger's own schemas (idParams, Movement, Account, Transaction)
//                behind the real platform plugin and the real auth plugin (token cache, user look-up),
//                in an app with the API's root options (src/app.ts), whose handler returns a fixed
//                answer, and copies of it that each leave one part out:
//                the auth macro, params validation, body parsing and validation, the response schema;
//                one whose auth macro is a beforeHandle setting ctx.principal, not a resolve; and one
//                whose token cache also holds 5,000 other tokens, as on a server in use (its "part" is
//                negative: what the fuller cache adds).
//
// The difference between a variant and its baseline is that part's cost ("part" below). The time to
// build the Request is measured alone and subtracted from every figure. Log lines go to a sink that
// drops them (ledgerd batches the stdout write per event-loop turn; that write is not counted).
//
// Usage: bun scripts/bench/request-path.ts [--quick] [--rounds N] [--only TEXT] [--against CHECKOUT]
//   --only measures just the groups whose first line contains TEXT ("GET  /v1", "probe", ...).
//   --against runs the same variants on another checkout too (its own src/, e.g. a `git worktree` of
//   main with node_modules installed), interleaved in this process, for a before/after that one noisy
//   neighbour cannot skew. The other checkout must have the same composeApi/instrument/platform/auth
//   signatures as this one.
// Compare figures from one run only: this is a shared machine, and absolute numbers move between runs.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Elysia, type Static, t } from 'elysia'
import type { FetchHandler } from '../../src/http/handler'
import type { ledgerModel as LedgerModel } from '../../src/ledger/model'
import type { Logger } from '../../src/observability/logger'
import type { Metrics } from '../../src/observability/metrics'

const usage =
  'usage: bun scripts/bench/request-path.ts [--quick] [--rounds N] [--only TEXT] [--against CHECKOUT]'
let options: { quick?: boolean; rounds?: string; only?: string; against?: string }
try {
  options = parseArgs({
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      against: { type: 'string' },
    },
  }).values
} catch {
  console.error(usage)
  process.exit(2)
}
const { against, only } = options
// Short windows, many rounds: a neighbour's burst spoils few windows, and the median drops those.
const plan = {
  rounds: Number(options.rounds ?? (options.quick ? 9 : 41)),
  windowMs: options.quick ? 60 : 80,
}
if (!Number.isInteger(plan.rounds) || plan.rounds < 1) {
  console.error(usage)
  process.exit(2)
}
const inFlight = 64
const otherTokens = 5000

/** The modules the bench drives, loaded from one checkout's src/. */
async function load(root: string) {
  const src = (path: string) => import(join(root, 'src', path))
  return {
    app: (await src('app.ts')) as Partial<typeof import('../../src/app')>,
    authenticator: (await src('auth/authenticator.ts')) as typeof import('../../src/auth/authenticator'),
    keys: (await src('auth/keys.ts')) as typeof import('../../src/auth/keys'),
    issuer: (await src('auth/issuer.ts')) as typeof import('../../src/auth/issuer'),
    plugin: (await src('auth/plugin.ts')) as typeof import('../../src/auth/plugin'),
    tokenCache: (await src('auth/token-cache.ts')) as typeof import('../../src/auth/token-cache'),
    verifier: (await src('auth/verifier.ts')) as typeof import('../../src/auth/verifier'),
    load: (await src('config/load.ts')) as typeof import('../../src/config/load'),
    migrations: (await src(
      'db/migrations/sqlite/index.ts',
    )) as typeof import('../../src/db/migrations/sqlite'),
    migrator: (await src('db/migrator.ts')) as typeof import('../../src/db/migrator'),
    open: (await src('db/open.ts')) as typeof import('../../src/db/open'),
    handler: (await src('http/handler.ts')) as typeof import('../../src/http/handler'),
    platform: (await src('http/platform.ts')) as typeof import('../../src/http/platform'),
    model: (await src('ledger/model.ts')) as typeof import('../../src/ledger/model'),
    logger: (await src('observability/logger.ts')) as typeof import('../../src/observability/logger'),
    metrics: (await src('observability/metrics.ts')) as typeof import('../../src/observability/metrics'),
    compose: (await src('server/compose.ts')) as typeof import('../../src/server/compose'),
    users: (await src('users/repository.ts')) as typeof import('../../src/users/repository'),
    // Since the PostgreSQL storage: composeApi takes a Storage. Older checkouts have no such module.
    storage: (await src('storage/sqlite.ts').catch(() => undefined)) as
      | typeof import('../../src/storage/sqlite')
      | undefined,
  }
}

interface Variant {
  name: string
  /** One request, awaited. */
  run: () => Promise<unknown>
  /** Requests kept in flight at once (the writer batches concurrent writes). */
  concurrency?: number
  /** The variant this one is compared with; the difference is the named part's cost. */
  baseline?: string
}

const expectStatus = (status: number) => async (response: Response) => {
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}`)
  await response.arrayBuffer()
}
const ok = expectStatus(200)
const isCreated = expectStatus(201)

const getReal = 'GET  /v1/accounts/:id'
const postReal = 'POST /v1/accounts/:id/deposits'
const getProbe = 'GET  probe (fixed answer)'
const postProbe = 'POST probe (fixed answer)'
const buildGet = 'build the GET Request only'
const buildPost = 'build the POST Request only'

/** One checkout's API over its own temp data dir, and the variants to measure on it. */
async function prepare(root: string) {
  const m = await load(root)
  const dataDir = mkdtempSync(join(tmpdir(), 'ledgerd-request-path-'))
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }))
  const { config } = m.load.loadConfig(new Map([['data-dir', dataDir]]), {})
  const db = await m.open.openDatabase(config)
  m.migrator.migrate(db, m.migrations.sqliteMigrations)
  const metrics = m.metrics.createMetrics()
  const logger = m.logger.createLogger('info', () => {})
  const storage = m.storage ? m.storage.sqliteStorageOf(config, db) : (db as never)
  // A checkout from before the metric catalog passes its registry; since, composeApi takes the metrics.
  const composed = 'ledger' in metrics ? metrics : (metrics as { registry: never }).registry
  const { app, ownsBodyLimit, close } = await m.compose.composeApi(config, storage, logger, composed)

  /** The API handler as `ledgerd serve` wires it, with this logger and these metrics. */
  const wrap = (
    handle: (request: Request) => Response | Promise<Response>,
    options: { logger?: Logger; metrics?: Metrics } = {},
  ): FetchHandler =>
    m.handler.instrument(handle, {
      logger: options.logger ?? logger,
      metrics: options.metrics ?? metrics,
      bodyLimitBytes: config.bodyLimitBytes,
      forwardedForHops: config.forwardedForHops,
      ownsBodyLimit,
    })
  const api = wrap((request) => app.handle(request))
  const withoutLog = wrap((request) => app.handle(request), {
    logger: m.logger.createLogger('warn', () => {}),
  })
  // Whichever histogram API the checkout has: observe(labels, v), labels(...).observe(v), series(...).observe(v).
  const ignored = () => ({ observe: () => {} })
  const noHistogram = new Proxy(metrics.httpRequestDuration, {
    get: (target, property) =>
      property === 'observe'
        ? () => {}
        : property === 'labels' || property === 'series'
          ? ignored
          : Reflect.get(target, property),
  })
  const withoutHistogram = wrap((request) => app.handle(request), {
    metrics: { ...metrics, httpRequestDuration: noHistogram },
  })

  // A user with a token and a funded account, made through the API itself.
  const base = 'http://localhost'
  async function call(method: string, path: string, body?: unknown, token?: string) {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (token) headers.authorization = `Bearer ${token}`
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
    const response = await api(new Request(`${base}${path}`, init))
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status}`)
    return (await response.json()) as Record<string, unknown>
  }
  const credentials = { email: 'bench@example.com', password: 'correct horse battery staple' }
  await call('POST', '/v1/users', { ...credentials, name: 'Bench' })
  const token = (await call('POST', '/v1/auth/token', credentials)).access_token as string
  const accountId = (await call('POST', '/v1/accounts', { currency: 'USD' }, token)).id as string
  await call('POST', `/v1/accounts/${accountId}/deposits`, { amount: 1_000_000 }, token)
  const account = (await call('GET', `/v1/accounts/${accountId}`, undefined, token)) as Static<
    (typeof LedgerModel)['Account']
  >

  // Requests, built fresh for each call as Bun.serve does.
  const authorization = `Bearer ${token}`
  const get = (path = `/v1/accounts/${accountId}`, headers: Record<string, string> = {}) =>
    new Request(`${base}${path}`, { headers: { authorization, ...headers } })
  let keyCounter = 0
  const movement = JSON.stringify({ amount: 1, description: 'bench' })
  const post = (path = `/v1/accounts/${accountId}/deposits`) =>
    new Request(`${base}${path}`, {
      method: 'POST',
      headers: {
        authorization,
        'content-type': 'application/json',
        'idempotency-key': `bench-${keyCounter++}`,
      },
      body: movement,
    })

  // The probe: the ledger's schemas behind the real platform and auth plugins; a fixed answer.
  const keys = await m.keys.loadSigningKeys(config)
  const authenticator = () =>
    m.authenticator.createAuthenticator({
      verify: m.tokenCache.cachedVerifier(
        m.verifier.builtinVerifier({
          keys: keys.keySet,
          issuer: config.tokenIssuer,
          audience: config.tokenAudience,
          clockSkewMs: config.tokenClockSkewMs,
        }),
        config.tokenCacheSize,
      ),
      users: m.users.sqliteUsersRepository(db),
      mode: 'builtin',
      adminRole: 'admin',
      logger,
    })
  const authenticate = authenticator()
  // The same, with the cache holding other clients' tokens too, as it does on a server in use.
  const busyAuthenticate = authenticator()
  const issue = m.issuer.createTokenIssuer({
    keys,
    issuer: config.tokenIssuer,
    audience: config.tokenAudience,
    ttlMs: config.tokenTtlMs,
  })
  const userId = (await call('GET', '/v1/users/me', undefined, token)).id as string
  for (let i = 0; i < otherTokens; i++) {
    await busyAuthenticate(`Bearer ${(await issue(userId, ['user'])).accessToken}`)
  }
  await busyAuthenticate(authorization)
  const transaction = JSON.stringify({
    id: '01900000-0000-7000-8000-000000000001',
    kind: 'deposit',
    amount: 1,
    currency: 'USD',
    description: 'bench',
    reversesId: null,
    postings: [{ accountId, amount: 1 }],
    balanceAfter: 1,
    createdAt: new Date().toISOString(),
  })
  // As the ledger answers a write: a Response with the stored text.
  const created = () =>
    new Response(transaction, { status: 201, headers: { 'content-type': 'application/json' } })
  const idParams = t.Object({ id: t.String({ maxLength: 64 }) })
  // The same authentication as a macro whose hook is a beforeHandle that sets ctx.principal, rather
  // than a resolve whose result Elysia merges into the context.
  const authBeforeHandle = new Elysia({ name: 'auth-before-handle' }).macro({
    authBefore: (_: 'user') => ({
      async beforeHandle(ctx) {
        ;(ctx as unknown as { principal: unknown }).principal = await authenticate(
          ctx.request.headers.get('authorization'),
        )
      },
    }),
  })
  // With the options of the API's root instance, which decide how every route is compiled.
  const probe = new Elysia(m.app.apiOptions ?? {})
    .use(m.platform.platform({ logger, bodyLimitBytes: config.bodyLimitBytes }))
    .use(m.plugin.authPlugin(authenticate))
    .model(m.model.ledgerModel)
    .get('/probe/full/:id', () => ({ ...account }), { auth: 'user', params: idParams, response: 'Account' })
    .get('/probe/no-auth/:id', () => ({ ...account }), { params: idParams, response: 'Account' })
    .use(authBeforeHandle)
    .get('/probe/auth-before-handle/:id', () => ({ ...account }), {
      authBefore: 'user',
      params: idParams,
      response: 'Account',
    })
    .get('/probe/no-params/:id', () => ({ ...account }), { auth: 'user', response: 'Account' })
    .get('/probe/no-response-schema/:id', () => ({ ...account }), { auth: 'user', params: idParams })
    .post('/probe/full/:id', ({ body }) => (body.amount > 0 ? created() : created()), {
      auth: 'user',
      params: idParams,
      body: 'Movement',
      response: { 201: 'Transaction' },
    })
    .post('/probe/no-auth/:id', ({ body }) => (body.amount > 0 ? created() : created()), {
      params: idParams,
      body: 'Movement',
      response: { 201: 'Transaction' },
    })
    .post(
      '/probe/no-body-schema/:id',
      ({ body }) => ((body as { amount: number }).amount > 0 ? created() : created()),
      { auth: 'user', params: idParams, response: { 201: 'Transaction' } },
    )
    .post('/probe/no-body/:id', () => created(), {
      auth: 'user',
      params: idParams,
      response: { 201: 'Transaction' },
    })
  const viaProbe = wrap((request) => probe.handle(request))
  const busyProbe = new Elysia(m.app.apiOptions ?? {})
    .use(m.platform.platform({ logger, bodyLimitBytes: config.bodyLimitBytes }))
    .use(m.plugin.authPlugin(busyAuthenticate))
    .model(m.model.ledgerModel)
    .get('/probe/full/:id', () => ({ ...account }), { auth: 'user', params: idParams, response: 'Account' })
  const viaBusyProbe = wrap((request) => busyProbe.handle(request))
  const callerId = { 'x-request-id': 'bench-request-id' }

  const variants: Variant[] = [
    { name: buildGet, run: async () => get() },
    { name: buildPost, run: async () => post() },
    { name: getReal, run: () => api(get()).then(ok) },
    {
      name: 'GET    wrapper left out (app.handle alone)',
      run: () => app.handle(get()).then(ok),
      baseline: getReal,
    },
    { name: 'GET    access log left out', run: () => withoutLog(get()).then(ok), baseline: getReal },
    {
      name: 'GET    latency histogram left out',
      run: () => withoutHistogram(get()).then(ok),
      baseline: getReal,
    },
    {
      name: 'GET    request id echoed, not generated',
      run: () => api(get(undefined, callerId)).then(ok),
      baseline: getReal,
    },
    { name: postReal, run: () => api(post()).then(isCreated), concurrency: inFlight },
    {
      name: 'POST   wrapper left out (app.handle alone)',
      run: () => app.handle(post()).then(isCreated),
      concurrency: inFlight,
      baseline: postReal,
    },
    { name: getProbe, run: () => viaProbe(get(`/probe/full/${accountId}`)).then(ok) },
    {
      name: `GET    ${otherTokens.toLocaleString('en')} other tokens in the token cache`,
      run: () => viaBusyProbe(get(`/probe/full/${accountId}`)).then(ok),
      baseline: getProbe,
    },
    {
      name: 'GET    auth macro left out',
      run: () => viaProbe(get(`/probe/no-auth/${accountId}`)).then(ok),
      baseline: getProbe,
    },
    {
      name: 'GET    auth as a beforeHandle, not a resolve',
      run: () => viaProbe(get(`/probe/auth-before-handle/${accountId}`)).then(ok),
      baseline: getProbe,
    },
    {
      name: 'GET    params validation left out',
      run: () => viaProbe(get(`/probe/no-params/${accountId}`)).then(ok),
      baseline: getProbe,
    },
    {
      name: 'GET    response schema left out',
      run: () => viaProbe(get(`/probe/no-response-schema/${accountId}`)).then(ok),
      baseline: getProbe,
    },
    { name: postProbe, run: () => viaProbe(post(`/probe/full/${accountId}`)).then(isCreated) },
    {
      name: 'POST   auth macro left out',
      run: () => viaProbe(post(`/probe/no-auth/${accountId}`)).then(isCreated),
      baseline: postProbe,
    },
    {
      name: 'POST   body validation left out (still parsed)',
      run: () => viaProbe(post(`/probe/no-body-schema/${accountId}`)).then(isCreated),
      baseline: postProbe,
    },
    {
      name: 'POST   body parsing and validation left out',
      run: () => viaProbe(post(`/probe/no-body/${accountId}`)).then(isCreated),
      baseline: postProbe,
    },
  ]
  const dispose = async () => {
    await close()
    db.close()
  }
  return { variants, dispose }
}

/** Runs the variant for about windowMs; returns the API thread's CPU µs per request. */
async function window(variant: Variant): Promise<number> {
  let done = 0
  const started = performance.now()
  const cpu = process.threadCpuUsage()
  // Writes complete in batches a few ms apart: their windows are longer, so each holds many batches.
  const length = variant.concurrency ? plan.windowMs * 4 : plan.windowMs
  const loop = async () => {
    while (performance.now() - started < length) {
      for (let i = 0; i < 8; i++) await variant.run()
      done += 8
    }
  }
  await Promise.all(Array.from({ length: variant.concurrency ?? 1 }, loop))
  const used = process.threadCpuUsage(cpu)
  return (used.user + used.system) / done
}

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)] ?? 0
const median = (values: number[]) => quantile(values, 0.5)
/**
 * A difference between two series measured side by side in each round: the median of the per-round
 * differences, which a neighbour's burst (seconds long, so it hits both windows of a round) cancels out
 * of, and half their interquartile range as its noise.
 */
function paired(a: number[], b: number[]): string {
  const differences = a.map((value, round) => value - (b[round] ?? 0))
  const noise = (quantile(differences, 0.75) - quantile(differences, 0.25)) / 2
  return `${median(differences).toFixed(2)} ±${noise.toFixed(2)}`
}

const here = resolve(import.meta.dir, '../..')
const checkouts = [{ label: 'this checkout', root: here }]
if (against) checkouts.push({ label: `--against ${against}`, root: resolve(against) })
const prepared = []
for (const checkout of checkouts) prepared.push({ ...checkout, ...(await prepare(checkout.root)) })
const names = prepared[0]?.variants.map((variant) => variant.name) ?? []

console.log(
  `request-path: ${plan.rounds} rounds of ~${plan.windowMs} ms per variant (writes ${plan.windowMs * 4}) and checkout, Bun ${Bun.version}`,
)
// This machine's noise comes in phases seconds long (other work starting and stopping), so what is
// compared is measured close together: a baseline and its variants in one group of windows, and each
// variant on both checkouts back to back. No Bun.gc() between windows: a forced full collection throws
// away compiled code, and the window after it ran ~25 % slower.
const groups: string[][] = []
for (const variant of prepared[0]?.variants ?? []) {
  if (variant.baseline) groups.at(-1)?.push(variant.name)
  else groups.push([variant.name])
}
// --only keeps the groups whose baseline matches, and the Request-building ones that are subtracted.
const chosen = groups.filter(
  ([name = '']) => !only || name.includes(only) || name === buildGet || name === buildPost,
)
const measured = new Set(chosen.flat())
for (const { variants } of prepared) {
  for (const variant of variants) if (measured.has(variant.name)) await window(variant) // warm-up
}
const samples = prepared.map(() => new Map<string, number[]>(names.map((name) => [name, []])))
for (let round = 0; round < plan.rounds; round++) {
  const flip = <T>(items: T[]) => (round % 2 === 0 ? items : [...items].reverse())
  for (const group of flip(chosen)) {
    for (const name of flip(group)) {
      for (const side of flip(prepared)) {
        const variant = side.variants.find((candidate) => candidate.name === name) as Variant
        samples[prepared.indexOf(side)]?.get(name)?.push(await window(variant))
      }
    }
  }
}

console.log(
  'API-thread CPU µs per request: the median window, less the median time to build the Request.\n' +
    'part: the baseline (the unindented line above) minus the variant; change: this checkout minus the\n' +
    'other. Both are medians of per-round differences, ± half their interquartile range.',
)
const of = (side: number, name: string) => samples[side]?.get(name) ?? []
const build = (side: number, name: string) => median(of(side, name.startsWith('POST') ? buildPost : buildGet))
const cell = (side: number, variant: Variant) => {
  const value = (median(of(side, variant.name)) - build(side, variant.name)).toFixed(2).padStart(7)
  const part = variant.baseline ? `part ${paired(of(side, variant.baseline), of(side, variant.name))}` : ''
  return `${value} ${part.padEnd(19)}`
}
prepared.forEach((side, i) => {
  console.log(
    `${side.label}: a GET Request takes ${build(i, 'GET').toFixed(2)} µs to build, a POST one ${build(i, 'POST').toFixed(2)}`,
  )
})
console.log(
  `${prepared.map((side) => side.label.slice(0, 26).padEnd(28)).join('')}${against ? 'change'.padEnd(15) : ''}`,
)
for (const variant of prepared[0]?.variants.slice(2) ?? []) {
  if (!measured.has(variant.name)) continue
  const cells = prepared.map((_, i) => cell(i, variant)).join('')
  const change = against ? paired(of(0, variant.name), of(1, variant.name)).padEnd(15) : ''
  console.log(`${cells}${change}${variant.name}`)
}
for (const side of prepared) await side.dispose()
