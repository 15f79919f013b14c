import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import { descriptionBounds, freeText, stringRule } from '../http/text'
import { currencyCodes, currencyExponent } from './currencies'
import { maxAmount } from './engine'

// Type.Integer from TypeBox itself, not Elysia's t.Integer: Elysia's converts "10" to 10, and a string
// amount must be refused, not guessed at.
const amount = Type.Integer({
  minimum: 1,
  maximum: maxAmount,
  description: 'Integer in minor units of the currency (cents for USD), 1 to 2^53-1.',
})
const description = t.Optional(freeText(descriptionBounds))

/** Where a client finds the codes this server knows: the refusal says so, the OpenAPI document lists them. */
export const unknownCurrencyMessage = (value: string) =>
  `${JSON.stringify(value.slice(0, 16))} is not a currency this server knows: use an upper-case ISO 4217 code from the enum of NewAccount.currency in the OpenAPI document (GET /openapi.json), e.g. "USD"`

// A format rather than a union of literals: TypeBox would say "Expected union value", naming nothing.
const currency = t.String({
  format: stringRule('ledgerd-currency', (value) =>
    currencyExponent(value) === undefined ? unknownCurrencyMessage(value) : undefined,
  ),
  enum: currencyCodes,
  description: 'ISO 4217 code, upper case; the supported ones are listed here.',
})

const account = () =>
  t.Object({
    id: t.String(),
    ownerId: t.Union([t.String(), t.Null()]),
    currency: t.String({ description: 'ISO 4217 code.' }),
    exponent: t.Integer({ description: 'Decimal places of the minor unit: USD 2, JPY 0, KWD 3.' }),
    balance: t.Integer({ description: 'In minor units.' }),
    createdAt: t.String({ format: 'date-time' }),
  })

const transaction = () =>
  t.Object({
    id: t.String(),
    kind: t.Union([
      t.Literal('deposit'),
      t.Literal('withdrawal'),
      t.Literal('transfer'),
      t.Literal('reversal'),
    ]),
    amount: t.Integer(),
    currency: t.String(),
    description: t.Union([t.String(), t.Null()]),
    reversesId: t.Union([t.String(), t.Null()]),
    postings: t.Array(
      t.Object({
        accountId: t.String(),
        amount: t.Integer({ description: 'Negative debits, positive credits.' }),
      }),
    ),
    balanceAfter: t.Integer({ description: "The account's balance after this transaction." }),
    createdAt: t.String({ format: 'date-time' }),
  })

export const ledgerModel = {
  Account: account(),
  AccountPage: t.Object({ items: t.Array(account()), nextCursor: t.Union([t.String(), t.Null()]) }),
  NewAccount: t.Object(
    {
      currency,
    },
    { additionalProperties: false },
  ),
  Movement: t.Object({ amount, description }, { additionalProperties: false }),
  NewTransfer: t.Object(
    {
      fromAccountId: t.String({ maxLength: 64 }),
      toAccountId: t.String({ maxLength: 64 }),
      amount,
      description,
    },
    { additionalProperties: false },
  ),
  Transaction: transaction(),
  TransactionPage: t.Object({ items: t.Array(transaction()), nextCursor: t.Union([t.String(), t.Null()]) }),
}
