import { Gauge, Registry } from 'prom-client'
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed'
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap'
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal'
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors'
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors'
import processStartTime from 'prom-client/lib/metrics/processStartTime'

/**
 * prom-client's default metrics that measure something under Bun (checked on the compiled binary; the
 * evidence is in NOTES.md, "Metric catalog"). Left out: the event-loop delay percentiles (Bun's
 * monitorEventLoopDelay did not see a 300 ms block), GC durations (Bun reports no gc entries), the
 * V8 heap spaces (JavaScriptCore has none: all zero but "old"), active handles and requests (always 0),
 * the Node.js version (Bun's claimed one), and virtual memory and VmData (JavaScriptCore reserves
 * gigabytes of address space up front: 6.7 GB beside 70 MB resident).
 */
export const runtimeMetricNames = [
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_open_fds',
  'process_max_fds',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
] as const

/** How often the event-loop sampler's timer asks to run, and how long one window of its maxima lasts. */
const sampleEveryMs = 50
const windowMs = 10_000

export function registerRuntimeMetrics(registry: Registry): void {
  // The collectors register more than is kept (the memory one also registers virtual memory and VmData,
  // and sets them all from one collect); only the kept metrics move over to the served registry.
  const scratch = new Registry()
  for (const collector of [
    processCpuTotal,
    processStartTime,
    osMemoryHeap,
    processOpenFileDescriptors,
    processMaxFileDescriptors,
    heapSizeAndUsed,
  ]) {
    collector(scratch)
  }
  for (const name of runtimeMetricNames) {
    const metric = scratch.getSingleMetric(name)
    if (metric !== undefined) registry.registerMetric(metric)
  }
  registerEventLoopLag(registry)
}

/**
 * Event-loop delay measured by a timer's lateness: a timer due every 50 ms that fires late by d was
 * held up by d (a long synchronous task, GC, a blocked syscall). The gauge is the largest delay seen in
 * the current and the previous 10 s window, so a stall between two scrapes 15 s apart is still seen.
 */
function registerEventLoopLag(registry: Registry): void {
  let current = 0
  let previous = 0
  let windowStartedAt = performance.now()
  let expectedAt = windowStartedAt + sampleEveryMs
  const timer = setInterval(() => {
    const now = performance.now()
    const lateMs = Math.max(0, now - expectedAt)
    expectedAt = now + sampleEveryMs
    if (now - windowStartedAt >= windowMs) {
      previous = current
      current = 0
      windowStartedAt = now
    }
    current = Math.max(current, lateMs)
  }, sampleEveryMs)
  timer.unref()
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Largest event-loop delay over the last 10 to 20 seconds, from a 50 ms timer firing late.',
    registers: [registry],
    collect() {
      this.set(Math.max(current, previous) / 1000)
    },
  })
}
