import { describe, expect, test } from 'bun:test'
import { run } from '../../../src/cli/main'
import { captureIO } from '../../support/cli'

describe('ledgerd command line', () => {
  test('no command prints help on stderr and exits 2', async () => {
    const c = captureIO()
    expect(await run([], c.io)).toBe(2)
    expect(c.stderr()).toContain('Usage: ledgerd <command>')
  })

  test('help lists every command and every setting with its variable', async () => {
    const c = captureIO()
    expect(await run(['help'], c.io)).toBe(0)
    for (const word of [
      'serve',
      'migrate',
      'healthcheck',
      'version',
      '--admin-port',
      'LEDGERD_SHUTDOWN_TIMEOUT',
    ]) {
      expect(c.stdout()).toContain(word)
    }
  })

  test('--help anywhere prints help', async () => {
    const c = captureIO()
    expect(await run(['serve', '--port', '1', '--help'], c.io)).toBe(0)
    expect(c.stdout()).toContain('Usage:')
  })

  test('an unknown command exits 2 and says so', async () => {
    const c = captureIO()
    expect(await run(['serv'], c.io)).toBe(2)
    expect(c.stderr()).toContain('unknown command "serv"')
  })

  test('a bad setting stops serve before it starts, naming the setting', async () => {
    const c = captureIO({ LEDGERD_PORT: 'abc' })
    expect(await run(['serve'], c.io)).toBe(2)
    expect(c.stderr()).toContain('LEDGERD_PORT')
  })

  test('serve --print-config prints every setting with its source', async () => {
    const c = captureIO({ LEDGERD_LOG_LEVEL: 'debug' })
    expect(await run(['serve', '--print-config', '--port', '9999'], c.io)).toBe(0)
    expect(c.stdout()).toContain('LEDGERD_PORT=9999  # flag')
    expect(c.stdout()).toContain('LEDGERD_LOG_LEVEL=debug  # env')
    expect(c.stdout()).toContain('LEDGERD_ADMIN_PORT=8081  # default')
  })

  test('version --json prints machine-readable build facts', async () => {
    const c = captureIO()
    expect(await run(['version', '--json'], c.io)).toBe(0)
    expect(Object.keys(JSON.parse(c.stdout())).sort()).toEqual(['bun', 'commit', 'platform', 'version'])
  })

  test('healthcheck fails with exit 1 when nothing listens', async () => {
    const c = captureIO({ LEDGERD_ADMIN_PORT: '1' })
    expect(await run(['healthcheck', '--timeout', '500ms'], c.io)).toBe(1)
    expect(c.stderr()).toContain('not ready')
  })
})
