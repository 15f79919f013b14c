import { expect, test } from 'bun:test'
import { pointerToNul } from '../../../src/http/nul'

test.each([
  [{ name: 'ok', email: 'ok' }, undefined],
  ['a\u0000', ''],
  [{ owner: { email: 'x\u0000' } }, '/owner/email'],
  [{ items: ['ok', 'n\u0000'] }, '/items/1'],
  [{ 'a/b': { 'c~d': '\u0000' } }, '/a~1b/c~0d'],
  [{ password: 'p\u0000ss' }, undefined],
  [{ nested: { password: 'p\u0000ss' } }, '/nested/password'],
  [{ n: 1, b: true, z: null }, undefined],
])('%p: U+0000 found at %p', (body, pointer) => {
  expect(pointerToNul(body)).toBe(pointer)
})
