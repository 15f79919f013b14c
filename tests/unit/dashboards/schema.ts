import { literalTypeErrors } from '../../support/typecheck'
import type { DashboardJson } from './committed'

// No JSON Schema of Grafana's dashboard ships offline; the Grafana Foundation SDK's TypeScript types are
// generated from Grafana's own CUE schemas (the kinds Grafana validates against). So each dashboard is
// written out as TypeScript literals that `satisfies` those types: the compiler refuses unknown fields
// (excess-property check), wrong types and enum values outside the schema's, anywhere in the object.

/** The panel plugins the dashboards use, with the SDK module that types their options and custom fields. */
export const panelSchemas: Record<string, { options: string; custom: string }> = {
  timeseries: { options: 'timeseries.Options', custom: 'timeseries.FieldConfig' },
  stat: { options: 'stat.Options', custom: 'Record<string, never>' },
  table: { options: 'table.Options', custom: 'table.FieldConfig' },
  heatmap: { options: 'heatmap.Options', custom: 'heatmap.FieldConfig' },
}

const prelude = `
import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import type * as heatmap from '@grafana/grafana-foundation-sdk/heatmap'
import type * as prometheus from '@grafana/grafana-foundation-sdk/prometheus'
import type * as stat from '@grafana/grafana-foundation-sdk/stat'
import type * as table from '@grafana/grafana-foundation-sdk/table'
import type * as timeseries from '@grafana/grafana-foundation-sdk/timeseries'

// A type as JSON holds it: string enums as their values, the SDK's marker methods dropped, and a query
// typed as the Prometheus query it is. \`any\` (free-form in the schema) stays any.
type Json<T> = 0 extends 1 & T
  ? T
  : T extends cog.Dataquery
    ? JsonObject<prometheus.Dataquery>
    : T extends string
      ? \`\${T}\`
      : T extends number | boolean | null | undefined
        ? T
        : T extends readonly (infer U)[]
          ? Json<U>[]
          : T extends object
            ? JsonObject<T>
            : T
type JsonObject<T> = { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: Json<T[K]> }

type Board = Omit<Json<dashboard.Dashboard>, 'panels'> & { panels: unknown[] }
type PanelOf<Options, Custom> = Omit<Json<dashboard.Panel>, 'options' | 'fieldConfig'> & {
  options: Json<Options>
  fieldConfig: {
    defaults: Omit<Json<dashboard.FieldConfig>, 'custom'> & { custom?: Json<Custom> }
    overrides: Json<dashboard.FieldConfigSource['overrides']>
  }
}
type Row = Json<dashboard.RowPanel>
`

/** Every problem the compiler finds, one message per problem naming the dashboard and the panel. */
export function schemaErrors(boards: Record<string, DashboardJson>): string[] {
  const lines: string[] = [prelude]
  const problems: string[] = []
  let index = 0
  for (const [name, board] of Object.entries(boards)) {
    lines.push(`// ${name}`)
    lines.push(
      `export const board${index++} = ${JSON.stringify({ ...board, panels: [] }, null, 2)} satisfies Board`,
    )
    for (const panel of board.panels ?? []) {
      const title = `${name}: panel ${panel.id} "${panel.title}"`
      const schema = panelSchemas[panel.type]
      const type = panel.type === 'row' ? 'Row' : schema && `PanelOf<${schema.options}, ${schema.custom}>`
      if (!type) {
        problems.push(`${title}: no schema known for panel type ${panel.type}`)
        continue
      }
      lines.push(`// ${title}`)
      lines.push(`export const panel${index++} = ${JSON.stringify(panel, null, 2)} satisfies ${type}`)
    }
  }
  problems.push(...literalTypeErrors('ledgerd-dashboards', lines.join('\n')))
  return problems
}
