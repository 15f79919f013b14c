import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'

/** The datasource every panel and variable queries: whatever the `datasource` variable points at. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template
export const datasource = { type: 'prometheus', uid: '${datasource}' }

/** The uid the monitoring component provisions its Prometheus datasource with. */
export const provisionedDatasourceUid = 'prometheus'

export function datasourceVariable() {
  return new dashboard.DatasourceVariableBuilder('datasource')
    .label('Data source')
    .type('prometheus')
    .current({ selected: true, text: 'Prometheus', value: provisionedDatasourceUid })
}

// Both lists come from ledgerd_build_info so that they only ever offer ledgerd's own namespaces and pods.
export function namespaceVariable() {
  const query = 'label_values(ledgerd_build_info, namespace)'
  return new dashboard.QueryVariableBuilder('namespace')
    .label('Namespace')
    .datasource(datasource)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
}

export function podVariable() {
  const query = 'label_values(ledgerd_build_info{namespace="$namespace"}, pod)'
  return new dashboard.QueryVariableBuilder('pod')
    .label('Pod')
    .datasource(datasource)
    .query(query)
    .definition(query)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: ['All'], value: ['$__all'] })
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
}
