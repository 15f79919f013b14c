import { t } from 'elysia'
import { withoutNul } from './nul'

/** The ids ledgerd makes (UUIDv7: users, accounts, transactions), lower-case as it writes them. */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The `:id` path parameter of every route that names one resource. Any string up to 64 characters: an
 * id that is not one of ours names nothing, so it answers 404 like a missing one, never a 422. But not
 * one holding U+0000 (%00): PostgreSQL could not even look it up, so both engines answer 400.
 */
export const idParams = t.Object({ id: t.String({ maxLength: 64, pattern: withoutNul }) })
