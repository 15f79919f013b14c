import { readFileSync } from 'node:fs'
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  importSPKI,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose'
import { dataDirSecrets, type GeneratedSecrets } from '../files/generated-secrets'

export const signingAlgorithm = 'EdDSA'
export const generatedKeyFileName = 'jwt-signing-key.jwk'

export interface SigningKeys {
  privateKey: CryptoKey
  kid: string
  /** Published at /.well-known/jwks.json: the signing key's public half, then any extra keys. */
  publicJwks: JWK[]
  /** Resolves a token's kid to one of publicJwks. */
  keySet: JWTVerifyGetKey
}

export class KeyFileError extends Error {}

function isEd25519(jwk: JWK): boolean {
  return jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
}

async function publicJwk(jwk: JWK): Promise<JWK> {
  const { kty, crv, x } = jwk
  const base = { kty, crv, x } as JWK
  return { ...base, kid: jwk.kid ?? (await calculateJwkThumbprint(base)), alg: signingAlgorithm, use: 'sig' }
}

/** Reads an Ed25519 private key from a PEM (PKCS#8) or JWK file. */
async function readPrivateKey(path: string): Promise<JWK> {
  return parsePrivateKey(readFileSync(path, 'utf8'), path)
}

async function parsePrivateKey(contents: string, path: string): Promise<JWK> {
  const text = contents.trim()
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as JWK
      if (!isEd25519(jwk) || !jwk.d)
        throw new KeyFileError('expected an Ed25519 private JWK (kty OKP, crv Ed25519, d)')
      return jwk
    }
    return await exportJWK(await importPKCS8(text, signingAlgorithm, { extractable: true }))
  } catch (error) {
    if (error instanceof KeyFileError) throw new KeyFileError(`${path}: ${error.message}`)
    throw new KeyFileError(`${path}: not an Ed25519 private key in PEM (PKCS#8) or JWK form`)
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Reads extra public keys: a JWKS, one JWK, or PEM SPKI blocks. Private material is refused. */
async function readPublicKeys(path: string): Promise<JWK[]> {
  const text = readFileSync(path, 'utf8').trim()
  // Checked before parsing: the PEM branch below would otherwise skip a private block without a word.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new KeyFileError(`${path}: holds private key material; give public keys only`)
  }
  let keys: JWK[]
  try {
    if (text.startsWith('{')) {
      const parsed: unknown = JSON.parse(text)
      const list = isObject(parsed) && 'keys' in parsed ? parsed.keys : [parsed]
      if (!Array.isArray(list) || !list.every(isObject)) throw new KeyFileError('not a key set')
      keys = list as JWK[]
    } else {
      const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []
      keys = await Promise.all(
        blocks.map(async (pem) => exportJWK(await importSPKI(pem, signingAlgorithm, { extractable: true }))),
      )
    }
  } catch {
    throw new KeyFileError(`${path}: not a JWKS, a JWK, or PEM public keys`)
  }
  if (keys.length === 0) throw new KeyFileError(`${path}: holds no keys`)
  for (const key of keys) {
    // Publishing a private key at /.well-known/jwks.json would let anyone mint tokens.
    if (key.d) throw new KeyFileError(`${path}: holds private key material; give public keys only`)
    if (!isEd25519(key)) throw new KeyFileError(`${path}: only Ed25519 keys are accepted`)
  }
  return keys
}

/**
 * The key ledgerd made for itself, created on first use so a local user needs no setup: a 0600 file in the
 * data dir, or a row in PostgreSQL shared by every replica. Processes starting at once end up with one key.
 */
async function generatedKey(secrets: GeneratedSecrets): Promise<JWK> {
  const text = await secrets.once(generatedKeyFileName, async () => {
    const { privateKey } = await generateKeyPair(signingAlgorithm, { crv: 'Ed25519', extractable: true })
    const jwk = await exportJWK(privateKey)
    const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x } as JWK)
    return `${JSON.stringify({ ...jwk, kid })}\n`
  })
  return parsePrivateKey(text, `generated ${generatedKeyFileName}`)
}

export interface KeyConfig {
  dataDir: string
  jwtSigningKeyFile: string
  jwtPublicKeysFile: string
}

export async function loadSigningKeys(
  config: KeyConfig,
  generated: GeneratedSecrets = dataDirSecrets(config.dataDir),
): Promise<SigningKeys> {
  const privateJwk = config.jwtSigningKeyFile
    ? await readPrivateKey(config.jwtSigningKeyFile)
    : await generatedKey(generated)
  const signing = await publicJwk(privateJwk)
  const extras = config.jwtPublicKeysFile
    ? await Promise.all((await readPublicKeys(config.jwtPublicKeysFile)).map(publicJwk))
    : []
  const publicJwks = [signing, ...extras.filter((key) => key.kid !== signing.kid)]
  return {
    privateKey: (await importJWK({ ...privateJwk, alg: signingAlgorithm }, signingAlgorithm)) as CryptoKey,
    kid: signing.kid as string,
    publicJwks,
    keySet: createLocalJWKSet({ keys: publicJwks }),
  }
}
