import { afterAll, describe, expect, test } from 'bun:test'
import { FormatRegistry } from '@sinclair/typebox'
import fc from 'fast-check'
import { isEmail } from '../../../src/http/formats'
import { inProcessLedgerd } from '../../support/app'

// Loaded for its side effect, as the app loads it: it is what overwrites the registry's `email`.
await import('@elysiajs/openapi')
const ledgerd = await inProcessLedgerd()
afterAll(() => ledgerd.dispose())

describe('string formats', () => {
  test('once the app is composed, format "email" is checked by our compiled pattern, not a zod schema per call', () => {
    expect(FormatRegistry.Get('email')).toBe(isEmail)
  })

  test('the email check accepts and refuses what zod 4 did', async () => {
    const { z } = await import('zod')
    const zodEmail = z.string().email()
    const samples = [
      'a@b.co',
      'first.last+tag@sub.example.com',
      "o'brien@example.org",
      '.lead@example.com',
      'two..dots@example.com',
      'trail.@example.com',
      'no-at.example.com',
      'a@b.c',
      'a@-b.com',
      'a@b..com',
      'ü@example.com',
      'a b@example.com',
      '',
    ]
    for (const sample of samples)
      expect([sample, isEmail(sample)]).toEqual([sample, zodEmail.safeParse(sample).success])
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), fc.string()), (sample) => {
        expect(isEmail(sample)).toBe(zodEmail.safeParse(sample).success)
      }),
      { numRuns: 2_000 },
    )
  })

  test('a sign-up body with a bad email is refused naming the field', async () => {
    const response = await ledgerd.request('POST', '/v1/users', {
      body: { email: 'two..dots@example.com', name: 'Ada', password: 'correct horse battery' },
    })
    expect(response.status).toBe(422)
    expect(JSON.stringify(await response.json())).toContain('email')
  })
})
