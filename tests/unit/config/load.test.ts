import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../../src/config/load'
import { envName, formatValue, type Setting, settings } from '../../../src/config/settings'

const noFlags = new Map<string, string>()

describe('loadConfig', () => {
  test('defaults serve a local user: API 8080, admin 8081, data in ./data', () => {
    const { config, sources } = loadConfig(noFlags, {})
    expect(config.port).toBe(8080)
    expect(config.adminPort).toBe(8081)
    expect(config.dataDir).toBe('./data')
    expect(config.dbDriver).toBe('bun-sqlite')
    expect(Object.values(sources).every((s) => s === 'default')).toBe(true)
  })

  test('a flag wins over its environment variable, which wins over the default', () => {
    const { config, sources } = loadConfig(new Map([['port', '9000']]), {
      LEDGERD_PORT: '9001',
      LEDGERD_ADMIN_PORT: '9002',
    })
    expect(config.port).toBe(9000)
    expect(sources.port).toBe('flag')
    expect(config.adminPort).toBe(9002)
    expect(sources.adminPort).toBe('env')
  })

  test('a bad environment value names the variable', () => {
    expect(() => loadConfig(noFlags, { LEDGERD_PORT: 'abc' })).toThrow(
      new ConfigError('invalid value "abc" for LEDGERD_PORT: expected an integer from 0 to 65535'),
    )
  })

  test('a bad flag value names the flag', () => {
    expect(() => loadConfig(new Map([['shutdown-timeout', '10']]), {})).toThrow('for --shutdown-timeout')
  })

  test('unknown LEDGERD_ variables are reported, other variables are not', () => {
    const { unknownEnv } = loadConfig(noFlags, { LEDGERD_PROT: '1', HOME: '/root', LEDGERD_PORT: '1' })
    expect(unknownEnv).toEqual(['LEDGERD_PROT'])
  })

  test('every setting has a flag-derived environment name and a default that its own parser accepts', () => {
    for (const setting of settings as readonly Setting[]) {
      expect(envName(setting)).toMatch(/^LEDGERD_[A-Z0-9_]+$/)
      expect(setting.parse(formatValue(setting, setting.default))).toEqual(setting.default)
    }
  })

  test('secret settings are printed as (redacted)', () => {
    const secret: Setting = { ...(settings[0] as Setting), secret: true }
    expect(formatValue(secret, 'hunter2')).toBe('(redacted)')
    expect(formatValue(settings[1] as Setting, 8080)).toBe('8080')
  })
})
