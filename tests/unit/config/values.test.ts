import { describe, expect, test } from 'bun:test'
import {
  formatDuration,
  formatSize,
  parseDuration,
  parseInteger,
  parsePostgresUrl,
  parseSize,
  ValueError,
} from '../../../src/config/values'

describe('parseInteger', () => {
  test('accepts integers inside the range', () => {
    expect(parseInteger('8080', 0, 65535)).toBe(8080)
    expect(parseInteger(' 0 ', 0, 65535)).toBe(0)
  })
  test.each(['abc', '80.5', '1e3', '', '0x50', '65536', '-1'])('refuses %p', (raw) => {
    expect(() => parseInteger(raw, 0, 65535)).toThrow(ValueError)
  })
})

describe('parseDuration', () => {
  test('reads Go-style durations', () => {
    expect(parseDuration('500ms', 0, 1e9)).toBe(500)
    expect(parseDuration('10s', 0, 1e9)).toBe(10_000)
    expect(parseDuration('1m30s', 0, 1e9)).toBe(90_000)
    expect(parseDuration('1.5s', 0, 1e9)).toBe(1500)
  })
  test.each(['10', 's', '10 s', '10x', '-1s', ''])('refuses %p: a bare number has no unit', (raw) => {
    expect(() => parseDuration(raw, 0, 1e9)).toThrow(ValueError)
  })
  test('enforces the range', () => {
    expect(() => parseDuration('2m', 0, 60_000)).toThrow('from 0s to 1m')
  })
  test('formats back to the shortest exact unit', () => {
    expect([0, 500, 5000, 120_000, 7_200_000].map(formatDuration)).toEqual(['0s', '500ms', '5s', '2m', '2h'])
  })
})

describe('parseSize', () => {
  test('reads bytes and binary and decimal units', () => {
    expect(parseSize('1048576', 0, 1e9)).toBe(1048576)
    expect(parseSize('512KiB', 0, 1e9)).toBe(524288)
    expect(parseSize('1mib', 0, 1e9)).toBe(1048576)
    expect(parseSize('2MB', 0, 1e9)).toBe(2_000_000)
  })
  test.each(['1.5MiB', 'MiB', '1 TB', '-1'])('refuses %p', (raw) => {
    expect(() => parseSize(raw, 0, 1e12)).toThrow(ValueError)
  })
  test('formats back to binary units when exact', () => {
    expect([1024 * 1024, 1536, 100].map(formatSize)).toEqual(['1MiB', '1536', '100'])
  })
})

describe('parsePostgresUrl', () => {
  test('accepts postgres:// and postgresql:// URLs naming a host and a database', () => {
    expect(parsePostgresUrl(' postgres://u:p@db:5432/ledgerd ')).toBe('postgres://u:p@db:5432/ledgerd')
    expect(parsePostgresUrl('postgresql://db/ledgerd')).toBe('postgresql://db/ledgerd')
  })

  test('refuses other schemes, a missing database, and TLS set in the URL, without echoing it', () => {
    for (const raw of ['http://db/ledgerd', 'postgres://db', 'postgres://db/', 'not a url']) {
      expect(() => parsePostgresUrl(raw)).toThrow(ValueError)
    }
    expect(() => parsePostgresUrl('postgres://u:secret@db/ledgerd?sslmode=disable')).toThrow('--db-ssl-mode')
    try {
      parsePostgresUrl('postgres://u:secret@db/ledgerd?sslmode=disable')
    } catch (error) {
      expect((error as Error).message).not.toContain('secret')
    }
  })
})
