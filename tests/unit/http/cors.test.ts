import { expect, test } from 'bun:test'
import { CorsPolicy, parseOrigins } from '../../../src/http/cors'

const invalid = (message: string) => new Error(message)
const preflight = (origin: string) =>
  new Request('http://localhost/v1/accounts', {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST' },
  })

test('--cors-origins takes origins or *, nothing else', () => {
  expect(parseOrigins('https://a.example.com, http://localhost:5173', invalid)).toEqual([
    'https://a.example.com',
    'http://localhost:5173',
  ])
  expect(parseOrigins('', invalid)).toEqual([])
  expect(parseOrigins('*', invalid)).toEqual(['*'])
  for (const bad of [
    'https://a.example.com/',
    'https://a.example.com/app',
    'a.example.com',
    'ftp://a.b',
    '*,https://a.b',
  ])
    expect(() => parseOrigins(bad, invalid)).toThrow()
})

test('with *, any origin gets *, never credentials, and no Vary', () => {
  const headers = new Headers()
  new CorsPolicy(['*']).decorate(preflight('https://x.example'), headers)
  expect(headers.get('access-control-allow-origin')).toBe('*')
  expect(headers.get('access-control-allow-credentials')).toBeNull()
  expect(headers.get('vary')).toBeNull()
})

test('off: nothing is added', () => {
  const headers = new Headers()
  const off = new CorsPolicy([])
  off.decorate(preflight('https://x.example'), headers)
  expect([...headers.keys()]).toEqual([])
  expect(off.enabled).toBe(false)
})

test('a listed origin is echoed, with Vary: Origin also for others', () => {
  const policy = new CorsPolicy(['https://a.example'])
  const listed = new Headers()
  policy.decorate(preflight('https://a.example'), listed)
  expect(listed.get('access-control-allow-origin')).toBe('https://a.example')
  const other = new Headers()
  policy.decorate(preflight('https://b.example'), other)
  expect(other.get('access-control-allow-origin')).toBeNull()
  expect(other.get('vary')).toBe('Origin')
  expect(policy.preflightHeaders(preflight('https://a.example'), 'OPTIONS, POST')).toMatchObject({
    'access-control-allow-methods': 'OPTIONS, POST',
  })
})
