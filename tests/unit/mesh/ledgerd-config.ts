import { type Config, envName, type Setting, settings } from '../../../src/config/settings'
import { find, type Manifest } from './manifests'

/** A setting as ledgerd would resolve it from the built ConfigMap: its LEDGERD_* value, else the default. */
export function configured<K extends keyof Config>(manifests: Manifest[], key: K): Config[K] {
  const setting = (settings as readonly Setting[]).find((s) => s.key === key) as Setting<K> | undefined
  if (!setting) throw new Error(`no setting ${key}`)
  const raw = find(manifests, 'ConfigMap', 'ledgerd').data?.[envName(setting)]
  return raw === undefined ? setting.default : setting.parse(raw)
}

/** NGINX's size syntax (client_max_body_size): bytes, or a k/m/g suffix in powers of 1024. */
export function nginxSize(value: string): number {
  const match = /^(\d+)([kmg]?)$/i.exec(value.trim())
  if (!match) throw new Error(`not an NGINX size: ${value}`)
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase() as 'k']
  return Number(match[1]) * unit
}
