import { t } from 'elysia'

export const authModel = {
  TokenRequest: t.Object(
    { email: t.String({ maxLength: 254 }), password: t.String({ maxLength: 1024 }) },
    { additionalProperties: false },
  ),
  TokenResponse: t.Object({
    access_token: t.String(),
    token_type: t.Literal('Bearer'),
    expires_in: t.Integer({ description: 'Seconds until the token expires.' }),
  }),
  Jwks: t.Object({ keys: t.Array(t.Record(t.String(), t.Unknown())) }),
  OpenIdConfiguration: t.Object({
    issuer: t.String(),
    jwks_uri: t.String(),
    token_endpoint: t.String(),
    id_token_signing_alg_values_supported: t.Array(t.String()),
    token_endpoint_auth_methods_supported: t.Array(t.String()),
    response_types_supported: t.Array(t.String()),
    subject_types_supported: t.Array(t.String()),
    claims_supported: t.Array(t.String()),
  }),
}
