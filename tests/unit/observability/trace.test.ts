import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { parseB3, parseTraceparent, traceOf, traceparentOf } from '../../../src/observability/trace'

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length })
const traceId = hex(32).filter((id) => !/^0+$/.test(id))
const spanId = hex(16).filter((id) => !/^0+$/.test(id))
const flags = hex(2)

describe('W3C traceparent', () => {
  test('every well-formed version-00 header is accepted with its trace id and sampled flag', () => {
    fc.assert(
      fc.property(traceId, spanId, flags, (trace, parent, flag) => {
        const parsed = parseTraceparent(`00-${trace}-${parent}-${flag}`)
        expect(parsed).toEqual({ traceId: trace, sampled: (Number.parseInt(flag, 16) & 1) === 1 })
      }),
    )
  })

  test.each([
    ['all-zero trace id', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`],
    ['all-zero parent id', `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`],
    ['another version', '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
    ['version ff', 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
    ['uppercase hex', '00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01'],
    ['short trace id', '00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01'],
    ['short parent id', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01'],
    ['flags not hex', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g'],
    ['a trailing field', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-xx'],
    ['spaces', ' 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
    ['empty', ''],
  ])('refused: %s', (_, header) => {
    expect(parseTraceparent(header)).toBeUndefined()
  })

  test('any string that is not exactly the version-00 form is refused', () => {
    const form = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (header) => {
        if (!form.test(header)) expect(parseTraceparent(header)).toBeUndefined()
      }),
    )
  })
})

describe('B3', () => {
  test('x-b3-traceid of 16 hex digits is padded to 128 bits; 32 are kept; sampled read from x-b3-sampled', () => {
    expect(parseB3(new Headers({ 'x-b3-traceid': '463ac35c9f6413ad' }))).toEqual({
      traceId: '0000000000000000463ac35c9f6413ad',
      sampled: true,
    })
    expect(
      parseB3(new Headers({ 'x-b3-traceid': '463AC35C9F6413AD48485A3953BB6124', 'x-b3-sampled': '0' })),
    ).toEqual({ traceId: '463ac35c9f6413ad48485a3953bb6124', sampled: false })
  })

  test('the single b3 header: trace-span[-sampled[-parent]]', () => {
    const trace = '80f198ee56343ba864fe8b2a57d3eff7'
    expect(parseB3(new Headers({ b3: `${trace}-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90` }))).toEqual({
      traceId: trace,
      sampled: true,
    })
    expect(parseB3(new Headers({ b3: `${trace}-e457b5a2e4d86bd1-0` }))?.sampled).toBe(false)
    expect(parseB3(new Headers({ b3: `${trace}-e457b5a2e4d86bd1` }))?.traceId).toBe(trace)
  })

  test.each([
    ['a bare sampling decision', { b3: '1' }],
    ['a b3 without span id', { b3: '80f198ee56343ba864fe8b2a57d3eff7' }],
    ['a trace id of 20 digits', { 'x-b3-traceid': '463ac35c9f6413ad4848' }],
    ['an all-zero trace id', { 'x-b3-traceid': '0000000000000000' }],
    ['not hex', { 'x-b3-traceid': 'zz3ac35c9f6413ad' }],
  ])('refused: %s', (_, headers) => {
    expect(parseB3(new Headers(headers))).toBeUndefined()
  })
})

describe('the trace of a request', () => {
  const w3c = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

  test('traceparent wins over B3; B3 is used when traceparent is invalid; else a new trace', () => {
    const b3 = { 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124' }
    expect(traceOf(new Headers({ traceparent: w3c, ...b3 })).traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(traceOf(new Headers({ traceparent: 'garbage', ...b3 })).traceId).toBe(
      '463ac35c9f6413ad48485a3953bb6124',
    )
    const fresh = traceOf(new Headers())
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(traceOf(new Headers()).traceId).not.toBe(fresh.traceId)
  })

  test("the response's traceparent keeps the trace and the flags, with this server's own span id", () => {
    const trace = traceOf(new Headers({ traceparent: w3c }))
    const answered = traceparentOf(trace)
    expect(parseTraceparent(answered)).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', sampled: true })
    expect(answered.split('-')[2]).not.toBe('b7ad6b7169203331')
    expect(answered.split('-')[2]).toMatch(/^[0-9a-f]{16}$/)
  })
})
