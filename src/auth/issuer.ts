import { SignJWT } from 'jose'
import type { Role } from '../users/user'
import { type SigningKeys, signingAlgorithm } from './keys'

export interface IssuedToken {
  accessToken: string
  expiresIn: number
}

export interface TokenIssuerOptions {
  keys: SigningKeys
  issuer: string
  audience: string
  ttlMs: number
}

/** Signs access tokens: EdDSA over Ed25519, with kid, iss, aud, sub, roles, iat, exp and jti. */
export function createTokenIssuer({ keys, issuer, audience, ttlMs }: TokenIssuerOptions) {
  return async (subject: string, roles: readonly Role[], lifetimeMs = ttlMs): Promise<IssuedToken> => {
    const issuedAt = Math.floor(Date.now() / 1000)
    const expiresIn = Math.floor(lifetimeMs / 1000)
    const accessToken = await new SignJWT({ roles })
      .setProtectedHeader({ alg: signingAlgorithm, kid: keys.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + expiresIn)
      .setJti(crypto.randomUUID())
      .sign(keys.privateKey)
    return { accessToken, expiresIn }
  }
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>
