/** A label matcher list for ledgerd's own series: the namespace and the pods chosen in the variables. */
export function ledgerd(...matchers: string[]): string {
  return `{${['namespace="$namespace"', 'pod=~"$pod"', ...matchers].join(', ')}}`
}

/** Series that carry the namespace but not ledgerd's pods: recording rules, CloudNativePG's instances. */
export function inNamespace(...matchers: string[]): string {
  return `{${['namespace="$namespace"', ...matchers].join(', ')}}`
}

/** Per-second rate over Grafana's rate interval (at least four scrapes, whatever the zoom). */
export function rate(metric: string, selector: string): string {
  return `rate(${metric}${selector}[$__rate_interval])`
}

/** The `q` quantile of a histogram, keeping the `by` labels. */
export function quantile(q: number, bucket: string, selector: string, by: string[] = []): string {
  return `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (${rate(bucket, selector)}))`
}

/**
 * `part / whole`, both `sum by (by)`. Groups with no `part` series yet (no 5xx so far, say) show 0 instead
 * of disappearing: `whole * 0` stands in for them. A typo in the metric name still empties the panel.
 */
export function share(by: string[], part: string, whole: string): string {
  const sum = (expr: string) => (by.length === 0 ? `sum(${expr})` : `sum by (${by.join(', ')}) (${expr})`)
  return `(${sum(part)} or ${sum(whole)} * 0) / ${sum(whole)}`
}

/** CPU cores each ledgerd process uses (the overview and the runtime dashboard show it). */
export const processCpuByPod = `sum by (pod) (${rate('process_cpu_seconds_total', ledgerd())})`

/** The worst event-loop delay per pod, from ledgerd's own sampler. */
export const eventLoopLagByPod = `max by (pod) (nodejs_eventloop_lag_seconds${ledgerd()})`
