import * as common from '@grafana/grafana-foundation-sdk/common'
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap'
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus'
import * as stat from '@grafana/grafana-foundation-sdk/stat'
import * as table from '@grafana/grafana-foundation-sdk/table'
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries'
import { datasource } from './variables'

export interface Query {
  expr: string
  /** Legend template, `{{label}}` style. */
  legend?: string
  /** One value per series at the end of the range (stat and table panels), not a graph. */
  instant?: boolean
  format?: 'table' | 'heatmap'
  /** Also ask for exemplars: the trace ids ledgerd attaches to its latency buckets, drawn as dots. */
  exemplar?: boolean
}

export interface PanelSpec {
  title: string
  /** What the panel shows and what a bad value means, for whoever is on call. */
  description: string
  unit: string
  queries: Query[]
  /** Width in grid columns (24 is the full width). */
  width?: number
  height?: number
  /** What to show when the query returns nothing, where nothing has a meaning ("SQLite mode only"). */
  noValue?: string
}

function target(query: Query, index: number) {
  const builder = new prometheus.DataqueryBuilder()
    .refId(String.fromCharCode(65 + index))
    .datasource(datasource)
    .expr(query.expr)
    .legendFormat(query.legend ?? '__auto')
  if (query.instant) builder.instant()
  else builder.range()
  if (query.format === 'table') builder.format(prometheus.PromQueryFormat.Table)
  if (query.format === 'heatmap') builder.format(prometheus.PromQueryFormat.Heatmap)
  if (query.exemplar) builder.exemplar(true)
  return builder
}

function withSpec<
  T extends timeseries.PanelBuilder | stat.PanelBuilder | table.PanelBuilder | heatmap.PanelBuilder,
>(builder: T, spec: PanelSpec): T {
  builder
    .title(spec.title)
    .description(spec.description)
    .datasource(datasource)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .targets(spec.queries.map(target))
  if (spec.noValue !== undefined) builder.noValue(spec.noValue)
  return builder
}

/** Green below `value`, red from it: drawn as a dashed line on graphs. */
export function redFrom(value: number) {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: 'green' },
    { value, color: 'red' },
  ])
}

/** Red below `value`, green from it. */
export function greenFrom(value: number) {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value, color: 'green' },
  ])
}

export interface TimeseriesSpec extends PanelSpec {
  stacked?: boolean
  min?: number
  max?: number
  /** Draws the threshold as a dashed line: the value at which the graph means trouble. */
  threshold?: number
}

export function timeseriesPanel(spec: TimeseriesSpec) {
  const panel = withSpec(new timeseries.PanelBuilder(), spec)
    .lineWidth(1)
    .fillOpacity(spec.stacked ? 30 : 10)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
  if (spec.stacked) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
  if (spec.min !== undefined) panel.min(spec.min)
  if (spec.max !== undefined) panel.max(spec.max)
  if (spec.threshold !== undefined) {
    panel
      .thresholds(redFrom(spec.threshold))
      .thresholdsStyle(
        new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
      )
  }
  return panel
}

export interface StatSpec extends PanelSpec {
  thresholds?: dashboard.ThresholdsConfigBuilder
  /** Text for exact values: `{ 1: 'Ready', 0: 'Not ready' }`. */
  mappings?: Record<string, { text: string; color: string }>
  decimals?: number
}

export function statPanel(spec: StatSpec) {
  const panel = withSpec(new stat.PanelBuilder(), { width: 6, height: 5, ...spec })
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
  if (spec.thresholds) panel.thresholds(spec.thresholds)
  if (spec.decimals !== undefined) panel.decimals(spec.decimals)
  if (spec.mappings) {
    const options: Record<string, dashboard.ValueMappingResult> = {}
    for (const [value, result] of Object.entries(spec.mappings)) options[value] = result
    panel.mappings([{ type: dashboard.MappingType.ValueToText, options }])
  }
  return panel
}

export interface TableSpec extends PanelSpec {
  /** Columns to hide (Prometheus' `Time`, `Value`, `__name__`...). */
  hide: string[]
}

export function tablePanel(spec: TableSpec) {
  const excludeByName: Record<string, boolean> = {}
  for (const column of spec.hide) excludeByName[column] = true
  return withSpec(new table.PanelBuilder(), spec)
    .showHeader(true)
    .withTransformation({ id: 'organize', options: { excludeByName } })
}

/** A histogram's buckets over time: one row per `le`, the colour is how many observations fell in it. */
export function heatmapPanel(spec: PanelSpec) {
  return withSpec(new heatmap.PanelBuilder(), spec)
    .calculate(false)
    .yAxis(new common.AxisConfigBuilder().axisPlacement(common.AxisPlacement.Left))
    .cellValues(new heatmap.CellValuesBuilder().unit('short'))
    .color(
      new heatmap.HeatmapColorOptionsBuilder()
        .mode(heatmap.HeatmapColorMode.Scheme)
        .scheme('Oranges')
        .steps(64),
    )
}

export function row(title: string) {
  return new dashboard.RowBuilder(title)
}
