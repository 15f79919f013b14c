import { t } from 'elysia'
import { freeText, nameBounds, newPassword } from '../http/text'

const email = t.String({
  format: 'email',
  maxLength: 254,
  description: 'Unique, compared case-insensitively.',
})
const name = freeText(nameBounds)

// A function, not a constant: .model() stamps the schema object with its $id, so a second use of the same
// object inside UserPage would define that $id twice.
const user = () =>
  t.Object({
    id: t.String({ description: 'UUIDv7.' }),
    email: t.String({ description: 'Empty for a user from an identity provider that shares no email.' }),
    // Not the input rule: names written before it, or taken from an identity provider, are shown as stored.
    name: t.String(),
    roles: t.Array(t.Union([t.Literal('user'), t.Literal('admin')])),
    createdAt: t.String({ format: 'date-time' }),
    updatedAt: t.String({ format: 'date-time' }),
  })

export const usersModel = {
  User: user(),
  SignUp: t.Object(
    {
      email,
      name,
      password: newPassword(),
    },
    { additionalProperties: false },
  ),
  ProfileUpdate: t.Object({ name }, { additionalProperties: false }),
  UserPage: t.Object({
    items: t.Array(user()),
    nextCursor: t.Union([t.String(), t.Null()], {
      description: 'Pass as ?cursor= for the next page; null at the end.',
    }),
  }),
}
