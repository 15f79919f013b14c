import { Elysia } from 'elysia'
import { HttpProblem } from '../http/problem'
import { publicBaseUrl } from '../http/public-url'
import { requestContext } from '../http/request-context'
import type { SigningKeys } from './keys'
import { authModel } from './model'
import { type LoginDependencies, login } from './service'

export type TokenEndpoint =
  | ({ mode: 'builtin'; issuer: string; keys: SigningKeys } & LoginDependencies)
  | { mode: 'external'; issuer: string }

const tags = ['auth']

/** The built-in issuer: the token endpoint, and the discovery documents other services verify with. */
export function authRoutes(tokens: TokenEndpoint, publicUrl: string) {
  const builtinOnly = () => {
    if (tokens.mode !== 'builtin') {
      throw new HttpProblem('not-found', `Tokens are issued by the identity provider ${tokens.issuer}.`)
    }
    return tokens
  }
  return new Elysia({ name: 'auth-routes' })
    .model(authModel)
    .post(
      '/v1/auth/token',
      async ({ body, request, set }) => {
        const issued = await login(builtinOnly(), {
          ...body,
          clientAddress: requestContext(request)?.clientAddress,
        })
        // RFC 6749 §5.1: responses carrying tokens must not be cached.
        set.headers['cache-control'] = 'no-store'
        return {
          access_token: issued.accessToken,
          token_type: 'Bearer' as const,
          expires_in: issued.expiresIn,
        }
      },
      {
        body: 'TokenRequest',
        response: 'TokenResponse',
        detail: {
          tags,
          summary: 'Get an access token',
          description:
            'Exchanges email and password for a short-lived EdDSA-signed JWT. Wrong credentials answer 401 ' +
            'whether or not the email exists; repeated failures answer 429 with Retry-After.',
        },
      },
    )
    .get(
      '/.well-known/jwks.json',
      ({ set }) => {
        set.headers['cache-control'] = 'public, max-age=300'
        return { keys: builtinOnly().keys.publicJwks as Record<string, unknown>[] }
      },
      { response: 'Jwks', detail: { tags, summary: 'Public keys that verify ledgerd tokens' } },
    )
    .get(
      '/.well-known/openid-configuration',
      ({ request }) => {
        const { issuer } = builtinOnly()
        const base = publicBaseUrl(publicUrl, request)
        return {
          issuer,
          jwks_uri: `${base}/.well-known/jwks.json`,
          token_endpoint: `${base}/v1/auth/token`,
          id_token_signing_alg_values_supported: ['EdDSA'],
          token_endpoint_auth_methods_supported: ['none'],
          response_types_supported: ['token'],
          subject_types_supported: ['public'],
          claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'roles'],
        }
      },
      { response: 'OpenIdConfiguration', detail: { tags, summary: 'Issuer metadata (issuer, jwks_uri)' } },
    )
}
