/** Grafana's unit ids, named for what the panels measure. */
export const unit = {
  requestsPerSecond: 'reqps',
  operationsPerSecond: 'ops',
  connectionsPerSecond: 'cps',
  /** 0..1, shown as a percentage. */
  ratio: 'percentunit',
  /** CPU seconds per second: 1.0 (100 %) is one core busy. */
  cpuCores: 'percentunit',
  seconds: 's',
  milliseconds: 'ms',
  bytes: 'bytes',
  bytesPerSecond: 'Bps',
  count: 'short',
  /** Error-budget burn: 1 spends the budget exactly over the SLO window. */
  burnRate: 'suffix:×',
  /** A state (up/down, ready/not ready, an info metric): the text comes from value mappings or labels. */
  state: 'none',
} as const
