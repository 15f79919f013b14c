import { describe, expect, test } from 'bun:test'
import { createLogger } from '../../../src/observability/logger'

describe('logger', () => {
  test('writes one JSON object per line with time, level and message', () => {
    const lines: string[] = []
    createLogger('info', (l) => lines.push(l)).info('hello', { port: 1 })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toEndWith('\n')
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'info', msg: 'hello', port: 1 })
  })

  test('drops lines below the configured level', () => {
    const lines: string[] = []
    const logger = createLogger('warn', (l) => lines.push(l))
    logger.debug('a')
    logger.info('b')
    logger.warn('c')
    logger.error('d')
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['c', 'd'])
  })

  test('errors keep their message and stack', () => {
    const lines: string[] = []
    createLogger('info', (l) => lines.push(l)).error('failed', { error: new TypeError('boom') })
    const { error } = JSON.parse(lines[0] as string)
    expect(error).toMatchObject({ name: 'TypeError', message: 'boom' })
    expect(error.stack).toContain('logger.test.ts')
  })

  test('child loggers carry their fields', () => {
    const lines: string[] = []
    createLogger('info', (l) => lines.push(l))
      .child({ component: 'db' })
      .info('x')
    expect(JSON.parse(lines[0] as string).component).toBe('db')
  })
})

describe('lines built as one string (the access log)', () => {
  test('json() writes the line info() would, bound fields included', () => {
    const lines: string[] = []
    const logger = createLogger('info', (l) => lines.push(l)).child({ component: 'api' })
    logger.info('request', { status: 200, path: '/x' })
    logger.json('info', 'request', '"status":200,"path":"/x"')
    const [fromFields, fromJson] = lines.map((line) => line.replace(/"time":"[^"]+"/, '"time":"T"'))
    expect(fromJson).toBe(fromFields as string)
  })

  test('json() and enabled() follow the level', () => {
    const lines: string[] = []
    const logger = createLogger('warn', (l) => lines.push(l))
    expect(logger.enabled('info')).toBe(false)
    expect(logger.enabled('error')).toBe(true)
    logger.json('info', 'request', '"status":200')
    expect(lines).toHaveLength(0)
  })
})
