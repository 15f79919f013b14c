import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CompactSign, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose'

// Helpers to mint JWTs the way an attacker or a foreign issuer would: with real keys, with no key at all,
// or with the wrong kind of key. Nothing here goes through ledgerd's own issuer.

export const base64url = (data: string | Uint8Array) => Buffer.from(data).toString('base64url')

const segment = (value: unknown) => base64url(JSON.stringify(value))

/** Seconds since the epoch, as JWT NumericDate claims are written. */
export const nowSeconds = () => Math.floor(Date.now() / 1000)

export interface SigningKey {
  alg: 'EdDSA' | 'RS256' | 'ES256'
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
  /** PKCS#8 PEM of the private key. */
  privatePem: string
  /** SPKI PEM of the public key. */
  publicPem: string
}

const keyOptions = {
  EdDSA: { crv: 'Ed25519', extractable: true },
  RS256: { modulusLength: 2048, extractable: true },
  ES256: { extractable: true },
} as const

export async function generateSigningKey(alg: SigningKey['alg'], kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, keyOptions[alg])
  return {
    alg,
    kid,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    privatePem: await exportPKCS8(privateKey),
    publicPem: await exportSPKI(publicKey),
  }
}

/** Writes the key's PKCS#8 PEM into dir, mode 0600, and returns the path. */
export function writePrivateKeyFile(dir: string, key: SigningKey): string {
  const path = join(dir, `${key.kid}.pem`)
  writeFileSync(path, key.privatePem, { mode: 0o600 })
  return path
}

export type Claims = Record<string, unknown>
export type Header = Record<string, unknown>

/** Signs the claims as given (no defaults added), with the key's alg and kid unless header overrides. */
export function signToken(key: SigningKey, claims: Claims, header: Header = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header } as { alg: string })
    .sign(key.privateKey)
}

/** Signs any payload bytes, even ones that are not a JSON object (SignJWT refuses those). */
export function signRawPayload(key: SigningKey, payload: string | Uint8Array, header: Header = {}) {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload
  return new CompactSign(bytes)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header } as { alg: string })
    .sign(key.privateKey)
}

/** alg "none": a header and payload with an empty signature part, or none at all. */
export function unsignedToken(claims: Claims, header: Header = { alg: 'none', typ: 'JWT' }, dot = true) {
  return `${segment(header)}.${segment(claims)}${dot ? '.' : ''}`
}

/** HS256 over the given secret: what an attacker does with a published public key. */
export async function hmacToken(secret: string | Uint8Array, claims: Claims, header: Header = {}) {
  const signingInput = `${segment({ alg: 'HS256', typ: 'JWT', ...header })}.${segment(claims)}`
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : new Uint8Array(secret)
  const key = await crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(signingInput))
  return `${signingInput}.${base64url(new Uint8Array(mac))}`
}

export function decodePayload(token: string): Claims {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Claims
}

/** Replaces the payload of a signed token and keeps its header and signature. */
export function withPayload(token: string, claims: Claims): string {
  const [header, , signature] = token.split('.')
  return `${header}.${segment(claims)}.${signature}`
}
