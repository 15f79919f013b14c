import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { beginRequest, noteRoute, pathOf, requestIdOf } from '../../../src/http/request-context'

describe('pathOf', () => {
  const host = fc.oneof(
    fc.constantFrom('a', 'ab', 'abc', 'localhost', '127.0.0.1', '[::1]', 'ledger.example.com'),
    fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/),
  )
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })
  // Any characters, including ones the URL parser percent-encodes, drops (dot segments) or rewrites.
  const rest = fc.string({ unit: fc.constantFrom(...'/aZ09.-_~%?#&=:;@!$\'()*+,"<>\\ é'.split('')) })

  test('is what new URL(url).pathname gives for any URL a Request carries, whatever the host length', () => {
    fc.assert(
      fc.property(fc.constantFrom('http', 'https'), host, port, rest, (scheme, name, number, tail) => {
        const url = new Request(`${scheme}://${name}${number ? `:${number}` : ''}/${tail}`).url
        expect(pathOf(url)).toBe(new URL(url).pathname)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('request context', () => {
  test('the id and route travel with the Request; a request from outside the wrapper has none', () => {
    const request = new Request('http://localhost/v1/meta', { headers: { 'x-request-id': 'abc-1' } })
    expect(requestIdOf(request)).toBeUndefined()
    const context = beginRequest(request, '203.0.113.9')
    noteRoute(request, '/v1/meta')
    expect(requestIdOf(request)).toBe('abc-1')
    expect(context).toMatchObject({ id: 'abc-1', route: '/v1/meta', clientAddress: '203.0.113.9' })
    expect(context.trace.traceId).toMatch(/^[0-9a-f]{32}$/)
  })
})
