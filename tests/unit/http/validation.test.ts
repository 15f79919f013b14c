import { expect, test } from 'bun:test'
import { fieldName } from '../../../src/http/validation'

test.each([
  ['/amount', 'amount'],
  ['/owner/email', 'owner.email'],
  ['/items/2/price', 'items[2].price'],
  ['/a~1b', 'a/b'],
  ['', '(body)'],
])('JSON pointer %p names field %p', (pointer, name) => {
  expect(fieldName(pointer, 'body')).toBe(name)
})
