import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { database } from './database'
import { ledger } from './ledger'
import { mesh } from './mesh'
import { overview } from './overview'
import { runtime } from './runtime'
import { slo } from './slo'

/** Every ledgerd dashboard, built; each is written to `grafana-dashboards/<uid>.json`. */
export function buildDashboards(): dashboard.Dashboard[] {
  return [overview(), ledger(), slo(), runtime(), database(), mesh()]
}
