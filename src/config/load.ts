import { type Config, envName, envPrefix, type Setting, settings } from './settings'
import { ValueError } from './values'

export type Source = 'default' | 'env' | 'flag'

export interface LoadedConfig {
  config: Config
  sources: Record<keyof Config, Source>
  /** LEDGERD_* variables that match no setting: most likely typos, so they are logged at start. */
  unknownEnv: string[]
}

/** A setting had a bad value, or the command line was malformed. The message is for the user as is. */
export class ConfigError extends Error {}

/** Resolves every setting from its flag, else its environment variable, else its default. */
export function loadConfig(
  flags: Map<string, string>,
  env: Record<string, string | undefined>,
): LoadedConfig {
  const config = {} as Record<keyof Config, unknown>
  const sources = {} as Record<keyof Config, Source>
  for (const setting of settings as readonly Setting[]) {
    const fromFlag = flags.get(setting.name)
    const fromEnv = env[envName(setting)]
    const [raw, source, origin]: [string | undefined, Source, string] =
      fromFlag !== undefined
        ? [fromFlag, 'flag', `--${setting.name}`]
        : fromEnv !== undefined
          ? [fromEnv, 'env', envName(setting)]
          : [undefined, 'default', '']
    sources[setting.key] = source
    if (raw === undefined) {
      config[setting.key] = setting.default
      continue
    }
    try {
      config[setting.key] = setting.parse(raw)
    } catch (error) {
      if (!(error instanceof ValueError)) throw error
      const shown = setting.secret ? '(redacted)' : JSON.stringify(raw)
      throw new ConfigError(`invalid value ${shown} for ${origin}: ${error.message}`)
    }
  }
  checkCombinations(config as unknown as Config)
  const known = new Set(settings.map((s) => envName(s)))
  const unknownEnv = Object.keys(env).filter((name) => name.startsWith(envPrefix) && !known.has(name))
  return { config: config as unknown as Config, sources, unknownEnv }
}

/** Settings that are each valid but make no sense together. */
function checkCombinations(config: Config): void {
  if (config.dbSslMode === 'verify-full' && !config.dbSslRootCert) {
    throw new ConfigError(
      '--db-ssl-mode verify-full needs --db-ssl-root-cert (LEDGERD_DB_SSL_ROOT_CERT): the CA to verify PostgreSQL against',
    )
  }
  if (Boolean(config.oidcIssuer) !== Boolean(config.oidcJwksUrl)) {
    throw new ConfigError(
      '--oidc-issuer and --oidc-jwks-url (LEDGERD_OIDC_ISSUER, LEDGERD_OIDC_JWKS_URL) go together',
    )
  }
  if (config.oidcIssuer && (config.jwtSigningKeyFile || config.jwtPublicKeysFile)) {
    throw new ConfigError(
      'with --oidc-issuer set, tokens come from the identity provider: --jwt-signing-key-file and ' +
        '--jwt-public-keys-file would be unused, so they are refused',
    )
  }
  if (!config.avatarBucket && (config.s3Endpoint || config.s3ForcePathStyle)) {
    throw new ConfigError(
      '--s3-endpoint and --s3-force-path-style need --avatar-bucket (LEDGERD_AVATAR_BUCKET)',
    )
  }
}
