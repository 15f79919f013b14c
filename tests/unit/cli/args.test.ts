import { describe, expect, test } from 'bun:test'
import { parseArgs, UsageError } from '../../../src/cli/args'

const serveSpec = { settings: true, switches: ['print-config'], options: ['timeout'] }

describe('parseArgs', () => {
  test('reads --name value, --name=value and switches', () => {
    const parsed = parseArgs(
      ['--port', '1', '--data-dir=/tmp/x', '--print-config', '--timeout', '5s'],
      serveSpec,
    )
    expect(Object.fromEntries(parsed.settings)).toEqual({ port: '1', 'data-dir': '/tmp/x' })
    expect([...parsed.switches]).toEqual(['print-config'])
    expect(Object.fromEntries(parsed.options)).toEqual({ timeout: '5s' })
  })

  test.each([
    [['--prot', '1'], 'unknown flag --prot'],
    [['--port'], '--port needs a value'],
    [['--port', '--host', 'x'], '--port needs a value'],
    [['--port', '1', '--port', '2'], '--port given more than once'],
    [['serve'], 'unexpected argument "serve"'],
    [['--print-config=yes'], '--print-config takes no value'],
  ])('%p is refused: %s', (argv, message) => {
    expect(() => parseArgs(argv, serveSpec)).toThrow(new UsageError(message))
  })

  test('setting flags are refused by commands that read no configuration', () => {
    expect(() => parseArgs(['--port', '1'], { settings: false })).toThrow('unknown flag --port')
  })

  test('an explicitly empty value is passed on for the setting to judge', () => {
    expect(parseArgs(['--host='], serveSpec).settings.get('host')).toBe('')
  })
})
