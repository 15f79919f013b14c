import { dashboardLink, finish, ledgerdDashboard, runbooksLink, uids } from './frame'
import { row, statPanel, tablePanel, timeseriesPanel } from './panels'
import { eventLoopLagByPod, ledgerd, processCpuByPod, quantile, rate, share } from './selectors'
import { unit } from './units'

const requests = 'http_request_duration_seconds_count'
const buckets = 'http_request_duration_seconds_bucket'

function latencyByRoute(q: number) {
  const percentile = `p${Math.round(q * 100)}`
  return timeseriesPanel({
    title: `Latency ${percentile} by route`,
    description:
      `${percentile} of the time to answer, per route template, from the request histogram. The dots are ` +
      "exemplars: one request's trace id each, to open in the tracing UI. The ledger's writes aim at p99 " +
      'under 250 ms (the latency SLO); a route climbing towards it, or a step up after a deploy, means the ' +
      'database or the event loop is slow: see Saturation below.',
    unit: unit.seconds,
    width: 8,
    queries: [{ expr: quantile(q, buckets, ledgerd(), ['route']), legend: '{{route}}', exemplar: true }],
  })
}

export function overview() {
  const builder = ledgerdDashboard(
    uids.overview,
    'ledgerd / Overview',
    "ledgerd's requests, errors and latency per route, saturation and the pods; the starting point when paged.",
  )
    .link(dashboardLink('Ledger', uids.ledger))
    .link(dashboardLink('SLOs', uids.slo))
    .link(dashboardLink('Runtime', uids.runtime))
    .link(dashboardLink('Database', uids.database))
    .link(dashboardLink('Mesh', uids.mesh))
    .link(runbooksLink())
    .withRow(row('Requests, errors, duration'))
    .withPanel(
      timeseriesPanel({
        title: 'Requests by route',
        description:
          'Requests per second per route template (API listener). A sudden drop to zero while clients are ' +
          'active means requests no longer reach ledgerd: check the edge (Mesh dashboard) and readiness.',
        unit: unit.requestsPerSecond,
        stacked: true,
        queries: [{ expr: `sum by (route) (${rate(requests, ledgerd())})`, legend: '{{route}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: '5xx share by route',
        description:
          'Share of requests answered with a 5xx, per route. The availability SLO allows 0.1 % over 30 days: ' +
          'anything above the dashed line, sustained, burns error budget fast (SLOs dashboard).',
        unit: unit.ratio,
        min: 0,
        threshold: 0.001,
        queries: [
          {
            expr: share(['route'], rate(requests, ledgerd('status=~"5.."')), rate(requests, ledgerd())),
            legend: '{{route}}',
          },
        ],
      }),
    )
    .withPanel(latencyByRoute(0.5))
    .withPanel(latencyByRoute(0.95))
    .withPanel(latencyByRoute(0.99))
    .withPanel(
      timeseriesPanel({
        title: 'Responses by status class',
        description:
          "2xx/3xx/4xx/5xx per second. 4xx are the clients' (validation, refusals, auth): a jump in 4xx " +
          'after a client release is theirs; any 5xx is ours.',
        unit: unit.requestsPerSecond,
        stacked: true,
        width: 24,
        queries: [
          {
            // "${1}xx": Go's regexp would read "$1xx" as a group named 1xx.
            expr: `sum by (class) (label_replace(${rate(requests, ledgerd())}, "class", "\${1}xx", "status", "(.).."))`,
            legend: '{{class}}',
          },
        ],
      }),
    )
    .withRow(row('Saturation'))
    .withPanel(
      timeseriesPanel({
        title: 'Process CPU',
        description:
          'CPU used by each ledgerd process (100 % is one core). The SQLite writer is one thread: a pod ' +
          'pinned near 100 % is at its ceiling and latency will follow.',
        unit: unit.cpuCores,
        width: 6,
        min: 0,
        queries: [{ expr: processCpuByPod, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Event-loop lag',
        description:
          'The largest event-loop delay in the last 10 to 20 s. Every request waiting then waited this ' +
          'long on top of its own work: tens of milliseconds mean CPU saturation or a synchronous hot ' +
          'spot.',
        unit: unit.seconds,
        width: 6,
        threshold: 0.05,
        queries: [{ expr: eventLoopLagByPod, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Database pool in use (PostgreSQL)',
        description:
          'Connections checked out of the pool against its size, per pod. In use at the maximum means ' +
          'requests queue for a connection (Database dashboard: waiting); PostgreSQL mode only.',
        noValue: 'PostgreSQL mode only',
        unit: unit.count,
        width: 6,
        min: 0,
        queries: [
          {
            expr: `sum by (pod) (ledgerd_db_pool_connections${ledgerd('state="in_use"')})`,
            legend: '{{pod}} in use',
          },
          { expr: `max by (pod) (ledgerd_db_pool_max_connections${ledgerd()})`, legend: '{{pod}} max' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Ledger commit duration p99',
        description:
          "Time to commit one group-commit batch, fsync included. It is the floor under every write's " +
          'latency: a rise here with flat CPU points at the disk or the database.',
        unit: unit.seconds,
        width: 6,
        queries: [
          {
            expr: quantile(0.99, 'ledger_commit_duration_seconds_bucket', ledgerd(), ['pod']),
            legend: '{{pod}}',
          },
        ],
      }),
    )
    .withRow(row('Authentication and dependencies'))
    .withPanel(
      timeseriesPanel({
        title: 'Authentication failures by reason',
        description:
          'Requests and logins refused with 401, per reason. missing_token after a client release is ' +
          'theirs; a burst of token_bad_signature or token_unknown_key means a signing key changed that ' +
          'the clients or the replicas do not share yet; wrong_password and unknown_user at a high rate ' +
          'are someone guessing.',
        unit: unit.operationsPerSecond,
        width: 8,
        queries: [
          {
            expr: `sum by (reason) (${rate('ledgerd_auth_failures_total', ledgerd())})`,
            legend: '{{reason}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Logins throttled',
        description:
          'Logins refused with 429 because an email or a client address reached the failure limit. ' +
          'A sustained rate is credential stuffing or a client looping on a wrong password.',
        unit: unit.operationsPerSecond,
        width: 8,
        min: 0,
        queries: [
          { expr: `sum by (pod) (${rate('ledgerd_login_throttled_total', ledgerd())})`, legend: '{{pod}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Avatar store errors',
        description:
          'Calls to the avatar object store that failed or timed out (answered 503), by operation. Any ' +
          'steady rate means the store is unreachable or refuses our credentials; the ledger is unaffected.',
        unit: unit.operationsPerSecond,
        width: 8,
        min: 0,
        queries: [
          {
            expr: `sum by (operation) (${rate('ledgerd_avatar_store_errors_total', ledgerd())})`,
            legend: '{{operation}}',
          },
        ],
      }),
    )
    .withRow(row('Pods'))
    .withPanel(
      statPanel({
        title: 'Readiness',
        description:
          "What each pod's /readyz answers now. Not ready means the pod is out of the Service: it cannot " +
          'reach its database, is draining, or is starting. All pods not ready is an outage.',
        unit: unit.state,
        width: 8,
        height: 6,
        mappings: { 1: { text: 'Ready', color: 'green' }, 0: { text: 'Not ready', color: 'red' } },
        queries: [{ expr: `max by (pod) (ledgerd_ready${ledgerd()})`, legend: '{{pod}}', instant: true }],
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Build',
        description:
          'Version, revision and storage of each pod. Two versions side by side outside a rollout mean a ' +
          'stuck deploy; a pod on the wrong storage means a misconfigured overlay.',
        unit: unit.state,
        width: 16,
        height: 6,
        hide: ['Time', 'Value', '__name__', 'job', 'instance', 'namespace'],
        queries: [
          {
            expr: `max by (pod, version, revision, storage) (ledgerd_build_info${ledgerd()})`,
            instant: true,
            format: 'table',
          },
        ],
      }),
    )
  return finish(builder)
}
