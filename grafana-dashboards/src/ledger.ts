import { finish, ledgerdDashboard, siblingsLink, uids } from './frame'
import { heatmapPanel, row, timeseriesPanel } from './panels'
import { ledgerd, quantile, rate, share } from './selectors'
import { unit } from './units'

const transactions = 'ledger_transactions_total'
const otherRefusals = 'outcome!~"committed|insufficient_funds"'

export function ledger() {
  const builder = ledgerdDashboard(
    uids.ledger,
    'ledgerd / Ledger',
    'What the ledger does: committed mutations by kind and currency, the refusals, replays and group commit.',
  )
    .link(siblingsLink())
    .withRow(row('Volume'))
    .withPanel(
      timeseriesPanel({
        title: 'Committed mutations by kind',
        description:
          'Deposits, withdrawals, transfers and reversals committed per second. A kind dropping to zero ' +
          'while its requests keep coming means they are all refused or failing: see the refusals below.',
        unit: unit.operationsPerSecond,
        stacked: true,
        queries: [
          {
            expr: `sum by (kind) (${rate(transactions, ledgerd('outcome="committed"'))})`,
            legend: '{{kind}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Committed mutations by currency',
        description:
          'The same commits split by the account currency. A currency vanishing usually means one client ' +
          'stopped sending, not a ledgerd fault: check before escalating.',
        unit: unit.operationsPerSecond,
        stacked: true,
        queries: [
          {
            expr: `sum by (currency) (${rate(transactions, ledgerd('outcome="committed"'))})`,
            legend: '{{currency}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Amount moved by kind and currency',
        description:
          'Minor units (cents) moved per second by committed mutations. Amounts out of proportion to the ' +
          'transaction count (a few huge withdrawals) deserve a look by the business, not by ops.',
        unit: unit.count,
        width: 24,
        queries: [
          {
            expr: `sum by (kind, currency) (${rate('ledger_amount_minor_units_total', ledgerd())})`,
            legend: '{{kind}} {{currency}}',
          },
        ],
      }),
    )
    .withRow(row('Refusals and replays'))
    .withPanel(
      timeseriesPanel({
        title: 'Insufficient funds',
        description:
          'Withdrawals and transfers refused for lack of funds, per second. A normal business outcome; a ' +
          'sudden surge from one kind points at a client retrying a refused request in a loop.',
        unit: unit.operationsPerSecond,
        width: 8,
        queries: [
          {
            expr: `sum by (kind) (${rate(transactions, ledgerd('outcome="insufficient_funds"'))})`,
            legend: '{{kind}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Insufficient-funds share',
        description:
          'Refused for insufficient funds as a share of all attempts of that kind. Stable for a given ' +
          'client mix; a jump means balances are not what clients expect (a missed deposit upstream?).',
        unit: unit.ratio,
        width: 8,
        min: 0,
        queries: [
          {
            expr: share(
              ['kind'],
              rate(transactions, ledgerd('outcome="insufficient_funds"')),
              rate(transactions, ledgerd()),
            ),
            legend: '{{kind}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Other refusals',
        description:
          'Every other recorded refusal (already reversed, balance limit, currency mismatch...) by kind ' +
          'and code. Any steady stream is a client bug worth telling its owners about.',
        unit: unit.operationsPerSecond,
        width: 8,
        queries: [
          {
            expr: `sum by (kind, outcome) (${rate(transactions, ledgerd(otherRefusals))})`,
            legend: '{{kind}} {{outcome}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Idempotent replays',
        description:
          'Requests answered from a stored response because their Idempotency-Key was seen before. ' +
          'Retries after timeouts are expected; a replay rate close to the request rate means a client ' +
          'resends everything (or the edge retries writes).',
        unit: unit.operationsPerSecond,
        width: 24,
        queries: [
          { expr: `sum by (pod) (${rate('ledger_idempotent_replays_total', ledgerd())})`, legend: '{{pod}}' },
        ],
      }),
    )
    .withRow(row('Group commit'))
    .withPanel(
      timeseriesPanel({
        title: 'Batch size p50 / p99',
        description:
          'Writes committed together by one group commit (one fsync). Batches grow with load, which is ' +
          'how throughput keeps up; p99 pinned at the largest bucket means the writer cannot keep up.',
        unit: unit.count,
        width: 8,
        queries: [
          { expr: quantile(0.5, 'ledger_commit_batch_size_bucket', ledgerd()), legend: 'p50' },
          { expr: quantile(0.99, 'ledger_commit_batch_size_bucket', ledgerd()), legend: 'p99' },
        ],
      }),
    )
    .withPanel(
      heatmapPanel({
        title: 'Batch size distribution',
        description:
          'How many batches of each size (bucket upper bound) were committed per interval. Mass moving to ' +
          'the top rows means the commit queue is backing up.',
        unit: unit.count,
        width: 8,
        queries: [
          {
            expr: `sum by (le) (increase(ledger_commit_batch_size_bucket${ledgerd()}[$__rate_interval]))`,
            legend: '{{le}}',
            format: 'heatmap',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Commit latency p50 / p99',
        description:
          'Time to run and commit one batch, fsync included. Every write waits at least this long: a rise ' +
          'without more load points at the disk (SQLite) or the database (PostgreSQL).',
        unit: unit.seconds,
        width: 8,
        queries: [
          { expr: quantile(0.5, 'ledger_commit_duration_seconds_bucket', ledgerd()), legend: 'p50' },
          { expr: quantile(0.99, 'ledger_commit_duration_seconds_bucket', ledgerd()), legend: 'p99' },
        ],
      }),
    )
  return finish(builder)
}
