import { finish, ledgerdDashboard, siblingsLink, uids } from './frame'
import { greenFrom, statPanel, timeseriesPanel } from './panels'
import { ledgerd, quantile, rate, share } from './selectors'
import { unit } from './units'

// What ledgerd's own sidecar reports about the requests it received: one side of each call only, so
// nothing is counted twice.
const inbound = (...matchers: string[]) =>
  ledgerd('reporter="destination"', 'destination_workload="ledgerd"', ...matchers)
const requests = 'istio_requests_total'
const durations = 'istio_request_duration_milliseconds_bucket'

export function mesh() {
  const builder = ledgerdDashboard(
    uids.mesh,
    'ledgerd / Mesh',
    "Istio's standard metrics for the calls reaching ledgerd, as its sidecar sees them: from the NGINX edge " +
      'and any other workload, with the mTLS they used.',
  )
    .link(siblingsLink())
    .withPanel(
      timeseriesPanel({
        title: 'Requests by source workload',
        description:
          'Requests per second reaching ledgerd, per calling workload. The NGINX controller should carry ' +
          'nearly all of it; traffic from "unknown" came from outside the mesh (plain text, no identity).',
        unit: unit.requestsPerSecond,
        stacked: true,
        queries: [
          {
            expr: `sum by (source_workload, source_workload_namespace) (${rate(requests, inbound())})`,
            legend: '{{source_workload}} ({{source_workload_namespace}})',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Success rate by source workload',
        description:
          'Share of requests not answered with a 5xx, per caller, as the sidecar saw them (503 with a ' +
          'response flag is the mesh refusing or failing, not ledgerd). Below the line (99.9 %) burns the ' +
          'availability budget.',
        unit: unit.ratio,
        max: 1,
        queries: [
          {
            expr: share(
              ['source_workload'],
              rate(requests, inbound('response_code!~"5.."')),
              rate(requests, inbound()),
            ),
            legend: '{{source_workload}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Requests by response code',
        description:
          "Responses per second by HTTP code. 503 and 504 here that ledgerd's own 5xx panel does not " +
          'show were produced by Envoy: see the response flags.',
        unit: unit.requestsPerSecond,
        stacked: true,
        queries: [
          { expr: `sum by (response_code) (${rate(requests, inbound())})`, legend: '{{response_code}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Envoy response flags',
        description:
          'Requests Envoy itself marked (UH no healthy upstream, UF connection failure, URX retries ' +
          'exhausted, UT timeout, DC downstream closed...). Non-zero means failures the application ' +
          'never saw.',
        noValue: 'None',
        unit: unit.requestsPerSecond,
        queries: [
          {
            expr: `sum by (response_flags, source_workload) (${rate(requests, inbound('response_flags!="-"'))})`,
            legend: '{{response_flags}} from {{source_workload}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Latency p99 by source workload',
        description:
          "p99 of the request duration measured by the sidecar, per caller: ledgerd's time plus the " +
          "proxy's. Much higher than ledgerd's own p99 (Overview) points at the proxy or the network.",
        unit: unit.milliseconds,
        queries: [
          { expr: quantile(0.99, durations, inbound(), ['source_workload']), legend: '{{source_workload}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Latency p50 / p95 / p99',
        description:
          'Quantiles of the sidecar-measured duration over all callers. A p99 far above p95 is a tail ' +
          'worth chasing (retries, connection setup, a slow pod).',
        unit: unit.milliseconds,
        queries: [0.5, 0.95, 0.99].map((q) => ({
          expr: quantile(q, durations, inbound()),
          legend: `p${Math.round(q * 100)}`,
        })),
      }),
    )
    .withPanel(
      statPanel({
        title: 'mTLS share',
        description:
          'Share of requests that arrived over mutual TLS. With STRICT PeerAuthentication it is 100 %; ' +
          'anything less means plain-text traffic was accepted (a PERMISSIVE policy crept in).',
        unit: unit.ratio,
        decimals: 2,
        width: 6,
        height: 8,
        thresholds: greenFrom(1),
        queries: [
          {
            expr: share(
              [],
              rate(requests, inbound('connection_security_policy="mutual_tls"')),
              rate(requests, inbound()),
            ),
            legend: 'mTLS',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Requests by security policy',
        description:
          'Requests per second by connection security policy and caller. Any "none" series names the ' +
          'workload that reached ledgerd without mTLS.',
        unit: unit.requestsPerSecond,
        width: 18,
        queries: [
          {
            expr: `sum by (connection_security_policy, source_workload) (${rate(requests, inbound())})`,
            legend: '{{connection_security_policy}} {{source_workload}}',
          },
        ],
      }),
    )
  return finish(builder)
}
