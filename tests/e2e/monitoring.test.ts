import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { listPanelQueries, substituteVariables } from '../../grafana-dashboards/src/queries'
import { type Manifest, only, render, repoRoot } from '../support/kustomize'
import { type LedgerClient, ledgerClient } from '../support/ledger-client'
import { type RunningLedgerd, startLedgerd, tempDir } from '../support/ledgerd-process'
import { type TestPostgres, testPostgres } from '../support/postgres'
import { type RunningPrometheus, startPrometheus } from '../support/prometheus'
import { serveUpstreamMetrics, type UpstreamMetricsServer } from '../support/upstream-metrics'

// The on-call material proven against real data: Debian's Prometheus runs the monitoring component's
// own configuration and rules (rendered from kustomize/tests/sqlite-monitoring), scraping two compiled
// ledgerd, one on SQLite and one on a real PostgreSQL, while a short load runs that includes refusals,
// replays, failed logins and a database outage. Then every rule must be healthy, and every query of
// every dashboard panel (template variables substituted as Grafana would) must return data.
// Kubernetes discovery is the one part replaced: Debian's Prometheus is built without it, so each
// kubernetes_sd_configs becomes the static target, with the __meta_* labels, that discovery would give
// for the pod, and the manifest's relabelling turns them into job, namespace and pod.

const namespace = 'ledgerd-test'
const objects = render(join(repoRoot, 'kustomize/tests/sqlite-monitoring'))
const configMap = (prefix: string) =>
  objects.filter((o) => o.kind === 'ConfigMap' && String(o.metadata.name).startsWith(prefix))
const prometheusYml = Bun.YAML.parse(
  only(configMap('ledgerd-prometheus-config'), 'ConfigMap').data['prometheus.yml'],
) as Manifest
/** The rule files as deployed, except that every group is evaluated at the global 1 s (the 30-day group
 * runs every 5 minutes in a cluster, and would not have run once by the time the test looks). */
const ruleFiles = Object.fromEntries(
  Object.entries(only(configMap('ledgerd-prometheus-rules'), 'ConfigMap').data as Record<string, string>).map(
    ([name, text]) => {
      const rules = Bun.YAML.parse(text) as { groups: Manifest[] }
      for (const group of rules.groups) delete group.interval
      return [name, JSON.stringify(rules)]
    },
  ),
)
const dashboards = configMap('ledgerd-dashboard-').flatMap((c) =>
  Object.values(c.data as Record<string, string>).map((text) => JSON.parse(text) as Manifest),
)

interface Pod {
  name: string
  ledgerd: RunningLedgerd
}

let postgres: TestPostgres
let pods: Pod[] = []
let upstream: UpstreamMetricsServer
let prometheus: RunningPrometheus

/** What Kubernetes discovery (role: pod) would report for a pod serving metrics at this address. */
function discovered(pod: string, address: URL, extra: Record<string, string> = {}) {
  return {
    targets: [address.host],
    labels: {
      __meta_kubernetes_namespace: namespace,
      __meta_kubernetes_pod_name: pod,
      __meta_kubernetes_pod_ip: address.hostname,
      __meta_kubernetes_pod_phase: 'Running',
      ...extra,
    },
  }
}

function scrapeConfig(rulesDir: string, port: number): Manifest {
  const config = structuredClone(prometheusYml)
  // Seconds instead of the cluster's 15 s, so a 30-second load leaves several samples per series.
  config.global.scrape_interval = '1s'
  config.global.scrape_timeout = '1s'
  config.global.evaluation_interval = '1s'
  config.rule_files = [join(rulesDir, '*.yaml')]
  const annotated = (port: string, path: string) => ({
    __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
    __meta_kubernetes_pod_annotation_prometheus_io_port: port,
    __meta_kubernetes_pod_annotation_prometheus_io_path: path,
  })
  const targets: Record<string, unknown[]> = {
    ledgerd: [
      ...pods.map(({ name, ledgerd }) => {
        const admin = new URL(ledgerd.adminUrl)
        return discovered(name, admin, annotated(admin.port, '/metrics'))
      }),
      // The Istio agent's merged endpoint serves Envoy's istio_* beside ledgerd's own metrics.
      discovered('ledgerd-istio-0', new URL(upstream.url), annotated(String(upstream.port), '/istio')),
    ],
    cnpg: [
      {
        ...discovered('ledgerd-db-1', new URL(upstream.url), {
          __meta_kubernetes_pod_container_port_name: 'metrics',
          __meta_kubernetes_pod_label_cnpg_io_cluster: 'ledgerd-db',
        }),
        // CloudNativePG's exporter serves /metrics; the stand-in serves its series at /cnpg.
      },
    ],
  }
  for (const job of config.scrape_configs as Manifest[]) {
    if (job.job_name === 'prometheus') {
      job.static_configs = [{ targets: [`127.0.0.1:${port}`] }]
      continue
    }
    if (!job.kubernetes_sd_configs) throw new Error(`job ${job.job_name}: expected Kubernetes discovery`)
    const jobTargets = targets[job.job_name]
    if (!jobTargets) throw new Error(`job ${job.job_name}: no test targets for it`)
    delete job.kubernetes_sd_configs
    job.static_configs = jobTargets
    if (job.job_name === 'cnpg') job.metrics_path = '/cnpg'
  }
  return config
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(200)
  }
}

/** A bounded mixed load: commits, refusals, replays, bad input, failed logins, unknown ids. */
async function load(client: LedgerClient, tag: string, rounds: number) {
  const user = await client.signUp(`${tag}-${crypto.randomUUID()}@example.com`)
  const eur = (await client.createAccount(user.token, 'EUR')).body.id
  const usd = (await client.createAccount(user.token, 'USD')).body.id
  const other = (await client.createAccount(user.token, 'EUR')).body.id
  for (let round = 0; round < rounds; round++) {
    const key = `${tag}-${round}`
    await client.deposit(user.token, eur, 1_000, { idempotencyKey: key })
    await client.deposit(user.token, eur, 1_000, { idempotencyKey: key }) // replayed
    await client.deposit(user.token, usd, 250)
    await client.transfer(user.token, { fromAccountId: eur, toAccountId: other, amount: 300 })
    const withdrawal = await client.withdraw(user.token, other, 100)
    if (withdrawal.status === 201) await client.reverse(user.token, withdrawal.body.id)
    await client.withdraw(user.token, usd, 1_000_000) // insufficient funds
    await client.deposit(user.token, eur, -5) // 4xx: bad amount
    await client.getAccount(user.token, crypto.randomUUID()) // 404
    await client.send('POST', '/v1/auth/token', { body: { email: user.email, password: 'wrong password' } })
    await client.send('GET', '/v1/accounts', { headers: { authorization: 'Bearer not-a-token' } })
    await client.listTransactions(user.token, eur, { limit: 5 })
  }
  return { token: user.token, account: eur }
}

beforeAll(async () => {
  postgres = await testPostgres()
  const databaseUrl = await postgres.createDatabase('monitoring')
  const [onSqlite, onPostgres] = await Promise.all([
    startLedgerd({ dataDir: tempDir() }),
    startLedgerd({ dataDir: tempDir(), env: { LEDGERD_DATABASE_URL: databaseUrl } }),
  ])
  pods = [
    { name: 'ledgerd-sqlite-0', ledgerd: onSqlite },
    { name: 'ledgerd-postgres-0', ledgerd: onPostgres },
  ]
  upstream = serveUpstreamMetrics()
  prometheus = await startPrometheus(scrapeConfig, ruleFiles, ['--enable-feature=exemplar-storage'])
  await until('every ledgerd target up', async () => {
    const up = await prometheus.query(`up{job="ledgerd", namespace="${namespace}"} == 1`)
    return (up.data?.result.length ?? 0) === pods.length + 1
  })

  const sqliteClient = ledgerClient(onSqlite.apiUrl)
  const postgresClient = ledgerClient(onPostgres.apiUrl)
  const [, customer] = await Promise.all([
    load(sqliteClient, 'sqlite', 20),
    load(postgresClient, 'postgres', 20),
  ])
  // A database outage under the PostgreSQL pod: 503s with Retry-After and readiness false while it
  // lasts (scraped as such), then recovery without a restart.
  postgres.stop('fast')
  try {
    await until('503s and readiness false on the pod whose database is down', async () => {
      const reply = await postgresClient.deposit(customer.token, customer.account, 1)
      const ready = await fetch(`${onPostgres.adminUrl}/readyz`)
      return reply.status === 503 && ready.status === 503
    })
    for (let i = 0; i < 10; i++) {
      await postgresClient.deposit(customer.token, customer.account, 1)
      await Bun.sleep(250)
    }
  } finally {
    postgres.start()
  }
  await until('the PostgreSQL pod ready again', async () => {
    const ready = await fetch(`${onPostgres.adminUrl}/readyz`).catch(() => undefined)
    return ready?.status === 200
  })
  await load(postgresClient, 'after', 3)
  // Two scrapes and a rule evaluation after the last request.
  await Bun.sleep(3_000)
}, 240_000)

afterAll(async () => {
  await prometheus?.stop()
  upstream?.stop()
  await Promise.all(pods.map((p) => p.ledgerd.stop()))
})

interface RuleState {
  name: string
  query: string
  health: string
  lastError?: string
  type: string
}

describe('the rules, loaded by a real Prometheus from the monitoring component', () => {
  test('every recording and alerting rule evaluates without error', async () => {
    const rules = await prometheus.get<{ data: { groups: { name: string; rules: RuleState[] }[] } }>(
      '/api/v1/rules',
    )
    const all = rules.data.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })))
    expect(all.length).toBeGreaterThan(10)
    const broken = all.filter((r) => r.health !== 'ok').map((r) => `${r.group}/${r.name}: ${r.lastError}`)
    expect(broken).toEqual([])
    // Each expression on its own through the query API too: it parses and runs on this data.
    for (const rule of all) {
      const result = await prometheus.query(rule.query)
      expect({ rule: rule.name, status: result.status, error: result.error }).toEqual({
        rule: rule.name,
        status: 'success',
        error: undefined,
      })
    }
  })

  test('the SLI recording rules have data for the namespace', async () => {
    for (const rule of [
      'namespace:ledgerd_api_requests:rate5m',
      'namespace:ledgerd_api_errors:ratio_rate5m',
      'namespace:ledgerd_ledger_writes:rate5m',
      'namespace:ledgerd_ledger_writes_slow:ratio_rate5m',
    ]) {
      const result = await prometheus.query(`${rule}{namespace="${namespace}"}`)
      expect({ rule, series: result.data?.result.length }).toEqual({ rule, series: 1 })
    }
    // The outage's 503s are in the error ratio.
    const errors = await prometheus.query(
      `namespace:ledgerd_api_errors:ratio_rate5m{namespace="${namespace}"}`,
    )
    expect(Number(errors.data?.result[0]?.value?.[1])).toBeGreaterThan(0)
  })
})

/** Grafana's variables as a user would set them: the test namespace, every pod. */
const chosen = (expr: string) => substituteVariables(expr, { namespace, pod: '.*', rateInterval: '1m' })

const panelQueries = () => listPanelQueries(dashboards as unknown as Dashboard[])

describe('the dashboards, provisioned from the monitoring component', () => {
  test('there are six dashboards with panels', () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual([
      'ledgerd-database',
      'ledgerd-ledger',
      'ledgerd-mesh',
      'ledgerd-overview',
      'ledgerd-runtime',
      'ledgerd-slo',
    ])
    expect(panelQueries().length).toBeGreaterThan(30)
  })

  test('every panel query runs and returns data', async () => {
    const failures: string[] = []
    for (const { dashboard, panel, expr } of panelQueries()) {
      const result = await prometheus.query(chosen(expr))
      if (result.status !== 'success') failures.push(`${dashboard} / ${panel}: ${result.error} in ${expr}`)
      else if ((result.data?.result.length ?? 0) === 0)
        failures.push(`${dashboard} / ${panel}: no data: ${expr}`)
    }
    expect(failures).toEqual([])
  })

  test('every template variable query finds the test namespace and pods', async () => {
    for (const dashboard of dashboards) {
      for (const variable of dashboard.templating?.list ?? []) {
        if (variable.type !== 'query') continue
        const query = typeof variable.query === 'string' ? variable.query : variable.query?.query
        const match = /^label_values\((.*),\s*(\w+)\)$/.exec(query ?? '')
        if (!match)
          throw new Error(`${dashboard.title}: variable ${variable.name}: unexpected query ${query}`)
        const [, selector, label] = match as unknown as [string, string, string]
        const result = await prometheus.query(`group by (${label}) (${chosen(selector)})`)
        const values = (result.data?.result ?? []).map((r) => r.metric[label])
        expect({ dashboard: dashboard.title, variable: variable.name, found: values.length > 0 }).toEqual({
          dashboard: dashboard.title,
          variable: variable.name,
          found: true,
        })
      }
    }
  })
})
