import { finish, ledgerdDashboard, siblingsLink, uids } from './frame'
import { statPanel, timeseriesPanel } from './panels'
import { eventLoopLagByPod, ledgerd, processCpuByPod } from './selectors'
import { unit } from './units'

export function runtime() {
  const builder = ledgerdDashboard(
    uids.runtime,
    'ledgerd / Runtime',
    'Each ledgerd process as Bun runs it: memory, CPU, event-loop lag, file descriptors, restarts.',
  )
    .link(siblingsLink())
    .withPanel(
      timeseriesPanel({
        title: 'Resident memory',
        description:
          'RSS per pod. A line that only ever climbs is a leak and ends in an OOM kill (see Restarts); ' +
          'compare with the container memory limit.',
        unit: unit.bytes,
        queries: [{ expr: `max by (pod) (process_resident_memory_bytes${ledgerd()})`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'JavaScript heap',
        description:
          'Heap used against heap reserved. Used close to total after every collection means the live ' +
          'set itself grows: a leak in JavaScript objects rather than in native memory.',
        unit: unit.bytes,
        queries: [
          { expr: `max by (pod) (nodejs_heap_size_used_bytes${ledgerd()})`, legend: '{{pod}} used' },
          { expr: `max by (pod) (nodejs_heap_size_total_bytes${ledgerd()})`, legend: '{{pod}} total' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'CPU',
        description:
          'CPU used per process (100 % is one core). Near the container limit the kernel throttles it ' +
          'and every request slows; sustained near one core means ledgerd is the bottleneck.',
        unit: unit.cpuCores,
        min: 0,
        queries: [{ expr: processCpuByPod, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Event-loop lag',
        description:
          'The largest event-loop delay in the last 10 to 20 s (a 50 ms timer firing late). Above the ' +
          'dashed line (50 ms) requests queue behind synchronous work: CPU saturation, a large JSON ' +
          'body, a blocking call.',
        unit: unit.seconds,
        threshold: 0.05,
        queries: [{ expr: eventLoopLagByPod, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Open file descriptors',
        description:
          'Sockets and files held open against the process limit. Approaching the limit, new connections ' +
          'and SQLite files fail to open (EMFILE); steady growth is a connection leak.',
        unit: unit.count,
        width: 8,
        queries: [
          { expr: `max by (pod) (process_open_fds${ledgerd()})`, legend: '{{pod}} open' },
          { expr: `max by (pod) (process_max_fds${ledgerd()})`, legend: '{{pod}} limit' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Restarts in the last hour',
        description:
          "How many times each pod's process started again within the hour (its start time changed). " +
          "Any restart outside a deploy is a crash or an OOM kill: read the previous container's logs.",
        unit: unit.count,
        width: 8,
        min: 0,
        queries: [
          { expr: `sum by (pod) (changes(process_start_time_seconds${ledgerd()}[1h]))`, legend: '{{pod}}' },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Uptime',
        description:
          'Time since each process started. Minutes for one pod while the others show days: that pod ' +
          'restarted (see Restarts) or was rescheduled.',
        unit: unit.seconds,
        width: 8,
        height: 8,
        queries: [
          {
            expr: `time() - max by (pod) (process_start_time_seconds${ledgerd()})`,
            legend: '{{pod}}',
            instant: true,
          },
        ],
      }),
    )
  return finish(builder)
}
