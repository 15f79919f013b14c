import { finish, ledgerdDashboard, siblingsLink, uids } from './frame'
import { greenFrom, redFrom, row, statPanel, timeseriesPanel } from './panels'
import { inNamespace, ledgerd, rate } from './selectors'
import { unit } from './units'

// CloudNativePG's instances are pods of their own: their series are filtered by namespace only.
const cnpg = inNamespace

/**
 * A backup timestamp from whichever backup method the Cluster uses. The bundle backs up through the
 * Barman Cloud Plugin, whose metrics the instance relays as barman_cloud_cloudnative_pg_io_*; CloudNativePG's
 * own cnpg_collector_* ones stay 0 then (deprecated since 1.26, filled only by in-tree backups). 0 is
 * "none recorded" in both, hence `> 0`.
 */
function backupTimestamp(name: string): string {
  return `(barman_cloud_cloudnative_pg_io_${name}${cnpg()} > 0) or (cnpg_collector_${name}${cnpg()} > 0)`
}
/** PostgreSQL's default WAL segment size, which CloudNativePG keeps. */
const walSegmentBytes = 16 * 1024 * 1024

export function database() {
  const builder = ledgerdDashboard(
    uids.database,
    'ledgerd / Database',
    "ledgerd's side of the database (pool, errors, SQLite volume) and CloudNativePG's own metrics.",
  )
    .link(siblingsLink())
    .withRow(row("ledgerd's connections and errors"))
    .withPanel(
      timeseriesPanel({
        title: 'Pool connections (PostgreSQL)',
        description:
          'Connections in use and idle per pod, against the pool size. In use at the size means every ' +
          'query waits for a connection first: slow queries, or a pool too small for the load.',
        noValue: 'PostgreSQL mode only',
        unit: unit.count,
        width: 8,
        min: 0,
        queries: [
          {
            expr: `sum by (pod, state) (ledgerd_db_pool_connections${ledgerd()})`,
            legend: '{{pod}} {{state}}',
          },
          { expr: `max by (pod) (ledgerd_db_pool_max_connections${ledgerd()})`, legend: '{{pod}} max' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Waiting for a connection (PostgreSQL)',
        description:
          'Queries queued for a pool connection, per pod. Anything but a brief blip adds directly to ' +
          'request latency; sustained, check the database side below for slow or blocked backends.',
        noValue: 'PostgreSQL mode only',
        unit: unit.count,
        width: 8,
        min: 0,
        threshold: 1,
        queries: [{ expr: `sum by (pod) (ledgerd_db_pool_waiting${ledgerd()})`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Database errors by dialect and kind',
        description:
          'Requests answered 503 because the database failed them, per second, by fault. unavailable and ' +
          'timeout: down or unreachable; disk_full, io and read_only: its storage; busy: lock contention ' +
          '(SQLite) or serialization conflicts (PostgreSQL). Any sustained rate is a page.',
        unit: unit.operationsPerSecond,
        width: 8,
        queries: [
          {
            expr: `sum by (dialect, kind) (${rate('ledgerd_db_errors_total', ledgerd())})`,
            legend: '{{dialect}} {{kind}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'SQLite data volume free',
        description:
          'Bytes left on the volume holding the SQLite database (SQLite mode only). At zero every write ' +
          'fails with disk_full: grow the volume before it gets there.',
        noValue: 'SQLite mode only',
        unit: unit.bytes,
        queries: [
          { expr: `min by (pod) (ledgerd_data_volume_available_bytes${ledgerd()})`, legend: '{{pod}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'SQLite data volume free share',
        description:
          'The free share of the data volume. Below the dashed line (10 %) plan the resize now; the ' +
          'WAL and checkpoints need headroom on top of the database itself.',
        noValue: 'SQLite mode only',
        unit: unit.ratio,
        min: 0,
        max: 1,
        threshold: 0.1,
        queries: [
          {
            expr:
              `min by (pod) (ledgerd_data_volume_available_bytes${ledgerd()} ` +
              `/ ledgerd_data_volume_capacity_bytes${ledgerd()})`,
            legend: '{{pod}}',
          },
        ],
      }),
    )
    .withRow(row('CloudNativePG'))
    .withPanel(
      statPanel({
        title: 'PostgreSQL instances up',
        description:
          "CloudNativePG's exporter on each instance: can it reach its PostgreSQL? Down on the primary is " +
          'an outage until failover; down on a replica removes the synchronous standby writes wait for.',
        unit: unit.state,
        width: 6,
        mappings: { 1: { text: 'Up', color: 'green' }, 0: { text: 'Down', color: 'red' } },
        queries: [{ expr: `max by (pod) (cnpg_collector_up${cnpg()})`, legend: '{{pod}}', instant: true }],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Role',
        description:
          'Primary or replica, per instance. Exactly one primary is healthy; none means a failover is in ' +
          'progress (writes fail meanwhile), and a change of primary is worth a note in the incident log.',
        unit: unit.state,
        width: 6,
        mappings: { 0: { text: 'Primary', color: 'blue' }, 1: { text: 'Replica', color: 'green' } },
        queries: [
          {
            expr: `max by (pod) (cnpg_pg_replication_in_recovery${cnpg()})`,
            legend: '{{pod}}',
            instant: true,
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Synchronous replicas',
        description:
          'Synchronous standbys expected against observed. The cluster asks for one: observed below ' +
          'expected means acknowledged writes are no longer on two instances, or commits block.',
        unit: unit.count,
        width: 4,
        thresholds: greenFrom(1),
        queries: [
          {
            expr: `max by (value) (cnpg_collector_sync_replicas${cnpg('value=~"expected|observed"')})`,
            legend: '{{value}}',
            instant: true,
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Age of the last backup',
        description:
          'Time since the last completed base backup. Older than the nightly schedule plus a margin (the ' +
          'threshold: 26 h) means scheduled backups are failing: check the Backup objects and the ' +
          'ObjectStore. No value: no backup was ever recorded.',
        unit: unit.seconds,
        width: 4,
        thresholds: redFrom(26 * 3600),
        noValue: 'No backup',
        queries: [
          {
            expr: `time() - max(${backupTimestamp('last_available_backup_timestamp')})`,
            legend: 'last backup',
            instant: true,
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Recovery window',
        description:
          'How far back point-in-time recovery can go: from the oldest backup kept to now. Shorter than ' +
          'the retention policy means old backups are missing; no value means nothing can be restored.',
        unit: unit.seconds,
        width: 4,
        noValue: 'None',
        queries: [
          {
            expr: `time() - min(${backupTimestamp('first_recoverability_point')})`,
            legend: 'recoverable since',
            instant: true,
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Replication lag',
        description:
          'How far each replica replays behind the primary, in seconds. Growing lag means a failover ' +
          'would lose time to catch up; lag on the synchronous standby also slows every commit.',
        unit: unit.seconds,
        width: 8,
        queries: [{ expr: `max by (pod) (cnpg_pg_replication_lag${cnpg()})`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Backends by state',
        description:
          'PostgreSQL connections per state. Many "idle in transaction" hold locks and block vacuum: a ' +
          'client that forgets to commit. The total near max_connections refuses new ones.',
        unit: unit.count,
        width: 8,
        stacked: true,
        queries: [{ expr: `sum by (state) (cnpg_backends_total${cnpg()})`, legend: '{{state}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Backends waiting on locks',
        description:
          "Connections blocked by another transaction's lock. A steady non-zero count means contention " +
          '(two writers on the same account rows) or a stuck transaction holding locks.',
        unit: unit.count,
        width: 8,
        min: 0,
        queries: [{ expr: `max by (pod) (cnpg_backends_waiting_total${cnpg()})`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Transactions',
        description:
          "Commits and rollbacks per second per database. Rollbacks are ledgerd's refusals and retries: " +
          'a rollback rate close to the commit rate means most work is being thrown away.',
        unit: unit.operationsPerSecond,
        width: 8,
        queries: [
          {
            expr: `sum by (datname) (${rate('cnpg_pg_stat_database_xact_commit', cnpg())})`,
            legend: '{{datname}} commit',
          },
          {
            expr: `sum by (datname) (${rate('cnpg_pg_stat_database_xact_rollback', cnpg())})`,
            legend: '{{datname}} rollback',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Deadlocks',
        description:
          'Deadlocks PostgreSQL detected and broke, per second. ledgerd locks accounts in a fixed order, ' +
          'so any deadlock here is a bug worth a ticket.',
        unit: unit.operationsPerSecond,
        width: 8,
        min: 0,
        queries: [
          {
            expr: `sum by (datname) (${rate('cnpg_pg_stat_database_deadlocks', cnpg())})`,
            legend: '{{datname}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Database size',
        description:
          "Disk used by each database. Compare with the 10 GiB volume: growth faster than the ledger's " +
          'volume suggests bloat (vacuum falling behind).',
        unit: unit.bytes,
        width: 8,
        queries: [{ expr: `max by (datname) (cnpg_pg_database_size_bytes${cnpg()})`, legend: '{{datname}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'WAL generated',
        description:
          'WAL bytes written per second on each instance, the write load as PostgreSQL sees it. It feeds ' +
          'replication and archiving: a surge makes both fall behind.',
        unit: unit.bytesPerSecond,
        width: 8,
        queries: [{ expr: `sum by (pod) (${rate('cnpg_collector_wal_bytes', cnpg())})`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'WAL on disk and waiting to be archived',
        description:
          'Size of pg_wal and segments not yet archived. Segments piling up in "ready" mean archiving ' +
          'fails (point-in-time recovery is at risk) and pg_wal will fill the volume.',
        unit: unit.bytes,
        width: 8,
        queries: [
          { expr: `max by (pod) (cnpg_collector_pg_wal${cnpg('value="size"')})`, legend: '{{pod}} pg_wal' },
          {
            expr: `max by (pod) (cnpg_collector_pg_wal_archive_status${cnpg('value="ready"')}) * ${walSegmentBytes}`,
            legend: '{{pod}} not archived',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'WAL archiving failures',
        description:
          'Failed attempts to archive a WAL segment, per second. Any sustained rate means the object store ' +
          'is unreachable or refuses writes: backups and recovery depend on it.',
        unit: unit.operationsPerSecond,
        width: 8,
        min: 0,
        queries: [
          { expr: `sum by (pod) (${rate('cnpg_pg_stat_archiver_failed_count', cnpg())})`, legend: '{{pod}}' },
        ],
      }),
    )
  return finish(builder)
}
