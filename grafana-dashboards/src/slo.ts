import { finish, ledgerdDashboard, siblingsLink, uids } from './frame'
import { greenFrom, row, statPanel, timeseriesPanel } from './panels'
import { inNamespace } from './selectors'
import { unit } from './units'

interface Slo {
  name: string
  /** Recording rule prefix; `<prefix><window>` is the bad-event ratio over that window. */
  badRatio: string
  objective: number
  good: string
}

const availability: Slo = {
  name: 'Availability',
  badRatio: 'namespace:ledgerd_api_errors:ratio_rate',
  objective: 0.999,
  good: 'API requests not answered with a 5xx',
}

const latency: Slo = {
  name: 'Write latency',
  badRatio: 'namespace:ledgerd_ledger_writes_slow:ratio_rate',
  objective: 0.99,
  good: 'ledger writes answered within 250 ms',
}

// The multi-window pairs of the Google SRE Workbook: the long window proves the burn is sustained, the
// short one that it is still going on. The first two page, the last two open a ticket.
const burnPairs = [
  { long: '1h', short: '5m', factor: 14.4, action: 'pages' },
  { long: '6h', short: '30m', factor: 6, action: 'pages' },
  { long: '1d', short: '2h', factor: 3, action: 'opens a ticket' },
  { long: '3d', short: '6h', factor: 1, action: 'opens a ticket' },
]

const ratio = (slo: Slo, window: string) => `${slo.badRatio}${window}${inNamespace()}`
const budget = (slo: Slo) => (1 - slo.objective).toFixed(3)

function sliPanel(slo: Slo) {
  return statPanel({
    title: `${slo.name} SLI`,
    description:
      `Share of ${slo.good} over the last 5 minutes, hour and day; the objective is ` +
      `${slo.objective * 100} % over 30 days. Red means that window is below the objective: the longer ` +
      'the window that is red, the more budget has gone.',
    unit: unit.ratio,
    decimals: 3,
    width: 8,
    height: 8,
    thresholds: greenFrom(slo.objective),
    queries: ['5m', '1h', '1d'].map((window) => ({
      expr: `1 - ${ratio(slo, window)}`,
      legend: window,
      instant: true,
    })),
  })
}

function budgetStat(slo: Slo) {
  return statPanel({
    title: `${slo.name}: error budget left (30d)`,
    description:
      `The share of the 30-day error budget (${budget(slo)} of bad events) not yet spent. Below zero the ` +
      'SLO is broken for the month: feature work yields to reliability work.',
    unit: unit.ratio,
    decimals: 1,
    width: 4,
    height: 8,
    thresholds: greenFrom(0.25),
    queries: [{ expr: `1 - ${ratio(slo, '30d')} / ${budget(slo)}`, legend: '30d', instant: true }],
  })
}

function budgetOverTime(slo: Slo) {
  return timeseriesPanel({
    title: `${slo.name}: error budget left over time`,
    description:
      'The 30-day budget left, as it evolves. A steep downward slope is an incident; a slow steady ' +
      'decline that reaches zero before the month ends calls for a ticket, not a page.',
    unit: unit.ratio,
    width: 12,
    queries: [{ expr: `1 - ${ratio(slo, '30d')} / ${budget(slo)}`, legend: 'budget left' }],
  })
}

function burnRatePanel(slo: Slo, pair: (typeof burnPairs)[number]) {
  return timeseriesPanel({
    title: `${slo.name} burn rate ${pair.long} / ${pair.short}`,
    description:
      `How fast the error budget burns (1 = exactly the budget over 30 days), over ${pair.long} and ` +
      `${pair.short}. Both above the dashed line (${pair.factor}) at once ${pair.action}: the burn is ` +
      'sustained and still happening.',
    unit: unit.burnRate,
    width: 6,
    min: 0,
    threshold: pair.factor,
    queries: [pair.long, pair.short].map((window) => ({
      expr: `${ratio(slo, window)} / ${budget(slo)}`,
      legend: window,
    })),
  })
}

export function slo() {
  const builder = ledgerdDashboard(
    uids.slo,
    'ledgerd / SLOs',
    'Availability (99.9 % of API requests not 5xx) and write latency (99 % of ledger writes within 250 ms) ' +
      'over 30 days: the SLIs, the burn rates the alerts use, and the error budget left.',
  )
    .link(siblingsLink())
    .withRow(row('Availability: 99.9 % of API requests not 5xx'))
    .withPanel(sliPanel(availability))
    .withPanel(budgetStat(availability))
    .withPanel(budgetOverTime(availability))
  for (const pair of burnPairs) builder.withPanel(burnRatePanel(availability, pair))
  builder
    .withRow(row('Latency: 99 % of ledger writes within 250 ms'))
    .withPanel(sliPanel(latency))
    .withPanel(budgetStat(latency))
    .withPanel(budgetOverTime(latency))
  for (const pair of burnPairs) builder.withPanel(burnRatePanel(latency, pair))
  builder.withRow(row('Traffic behind the ratios')).withPanel(
    timeseriesPanel({
      title: 'API requests and ledger writes',
      description:
        'The denominators of both SLIs. At a few requests per minute one error is a large share: read ' +
        'burn rates against this before acting on them.',
      unit: unit.requestsPerSecond,
      width: 24,
      queries: [
        { expr: `namespace:ledgerd_api_requests:rate5m${inNamespace()}`, legend: 'API requests' },
        { expr: `namespace:ledgerd_ledger_writes:rate5m${inNamespace()}`, legend: 'ledger writes' },
      ],
    }),
  )
  return finish(builder)
}
