import { createApp } from '../app'
import type { TokenEndpoint } from '../auth'
import { createAuthenticator } from '../auth/authenticator'
import { BackgroundHasher } from '../auth/background-hasher'
import { createTokenIssuer } from '../auth/issuer'
import { loadSigningKeys } from '../auth/keys'
import { limitPasswordWork } from '../auth/passwords'
import { authPlugin } from '../auth/plugin'
import { cachedVerifier } from '../auth/token-cache'
import { builtinVerifier, externalVerifier, type TokenVerifier } from '../auth/verifier'
import { avatarFilesPath, LocalAvatarStore, loadUrlKey } from '../avatars/local-store'
import type { Config } from '../config/settings'
import { CorsPolicy } from '../http/cors'
import type { LedgerEngine } from '../ledger/engine'
import { startIdempotencyPurge } from '../ledger/purge'
import { createLedger } from '../ledger/service'
import type { Logger } from '../observability/logger'
import type { Metrics } from '../observability/metrics'
import type { Storage } from '../storage/storage'
import { shedSignUps } from '../users'
import type { UsersRepository } from '../users/repository'
import { hashingOnEveryCpu } from './hashing-cpus'

/** Time for the 503s of a batch whose commit outcome is unknown to reach their clients before exiting. */
const exitDelayMs = 200

/** The window of --signup-max-per-client. */
const signupWindowMs = 3_600_000

/** Per-client failures allowed, as a multiple of the per-email limit: one office shares an address. */
const clientFailureMultiple = 4
/** Failures per email from all clients before clients that have failed on it are refused. */
const emailFailureMultiple = 4

async function tokenSetup(config: Config, storage: Storage, users: UsersRepository, metrics: Metrics) {
  if (config.oidcIssuer) {
    const verify = externalVerifier({
      jwksUrl: config.oidcJwksUrl,
      issuer: config.oidcIssuer,
      audience: config.oidcAudience || config.tokenAudience,
      algorithms: config.oidcAlgorithms,
      clockSkewMs: config.tokenClockSkewMs,
      rolesClaim: config.oidcRolesClaim,
      jwksCooldownMs: config.oidcJwksCooldownMs,
    })
    const tokens: TokenEndpoint = { mode: 'external', issuer: config.oidcIssuer }
    return { verify, tokens, adminRole: config.oidcAdminRole }
  }
  const keys = await loadSigningKeys(config, storage.secrets)
  const verify: TokenVerifier = builtinVerifier({
    keys: keys.keySet,
    issuer: config.tokenIssuer,
    audience: config.tokenAudience,
    clockSkewMs: config.tokenClockSkewMs,
  })
  const tokens: TokenEndpoint = {
    mode: 'builtin',
    issuer: config.tokenIssuer,
    keys,
    users,
    issue: createTokenIssuer({
      keys,
      issuer: config.tokenIssuer,
      audience: config.tokenAudience,
      ttlMs: config.tokenTtlMs,
    }),
    byPair: storage.loginThrottle('pair', config.loginMaxFailures, config.loginFailureWindowMs),
    byClient: storage.loginThrottle(
      'client',
      config.loginMaxFailures * clientFailureMultiple,
      config.loginFailureWindowMs,
    ),
    byEmail: storage.loginThrottle(
      'email',
      config.loginMaxFailures * emailFailureMultiple,
      config.loginFailureWindowMs,
    ),
    events: metrics.auth,
  }
  return { verify, tokens, adminRole: 'admin' }
}

/** S3 when a bucket is set; otherwise the data dir, behind URLs ledgerd signs and answers itself. */
async function avatarStore(config: Config) {
  if (!config.avatarBucket) {
    const local = new LocalAvatarStore(config.dataDir, loadUrlKey(config.dataDir), config.avatarUrlTtlMs)
    return { store: local, files: local }
  }
  // Loaded only when used: the SDK is most of the code and would slow every start of the zero-config binary.
  const { s3AvatarStore } = await import('../avatars/s3-store')
  const store = s3AvatarStore({
    bucket: config.avatarBucket,
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    forcePathStyle: config.s3ForcePathStyle,
    urlTtlMs: config.avatarUrlTtlMs,
    timeoutMs: config.avatarStoreTimeoutMs,
  })
  return { store, files: undefined }
}

/**
 * Builds the API from configuration and an open database: the one place the parts are wired together.
 * Also says which paths enforce their own body limit, for the request handler in front of the app.
 */
export async function composeApi(
  config: Config,
  storage: Storage,
  logger: Logger,
  metrics: Metrics,
  /** The CPUs set aside for sign-up hashing (setAsideHashingCpus); none: it runs anywhere. */
  hashingCpus: readonly number[] = [],
) {
  const users: UsersRepository = await storage.serveUsers()
  const ledgerMetrics = metrics.ledger
  const engine: LedgerEngine = await storage.openLedger(config, {
    committed(batchSize, seconds) {
      ledgerMetrics.batchSize.observe(batchSize)
      ledgerMetrics.commitDuration.observe(seconds)
    },
    failed(reason) {
      logger.error('ledger commit failed; nothing of the batch was written; answering 503', { reason })
    },
    stopped(reason) {
      // Crash-only: a ledgerd whose writes may or may not have committed must not go on guessing, nor
      // answer reads as if healthy. Exit, once the requests of the failed batch have had their 503, and
      // let the supervisor (Kubernetes, systemd) start a fresh process from what is on disk.
      logger.error('ledger writer stopped; exiting for a restart', { reason })
      setTimeout(() => process.exit(1), exitDelayMs)
    },
  })
  const ledger = createLedger({ engine, metrics: ledgerMetrics })
  const purge = startIdempotencyPurge({ engine, retentionMs: config.idempotencyRetentionMs, logger })
  const { verify, tokens, adminRole } = await tokenSetup(config, storage, users, metrics)
  const avatars = await avatarStore(config)
  // After the last step that can fail: a start retried while the database is away must not leave
  // hashing threads behind at each attempt.
  let priorityWarned = false
  let idleWarned = false
  let pinWarned = false
  const hasher = new BackgroundHasher(
    config.argon2Concurrency,
    ({ lowered, pinned }) => {
      if ('error' in lowered && !priorityWarned) {
        priorityWarned = true
        logger.warn('sign-up hashing runs at normal CPU priority', { reason: lowered.error })
      }
      if ('idleError' in lowered && !idleWarned) {
        idleWarned = true
        logger.warn('sign-up hashing runs at nice 19 without SCHED_IDLE', { reason: lowered.idleError })
      }
      if (pinned && 'error' in pinned && !pinWarned) {
        pinWarned = true
        logger.warn(hashingOnEveryCpu, { reason: pinned.error })
      }
    },
    hashingCpus,
  )
  limitPasswordWork(config.argon2Concurrency, config.argon2Queue, hasher)
  const authenticate = createAuthenticator({
    verify: cachedVerifier(verify, config.tokenCacheSize),
    users,
    mode: tokens.mode,
    adminRole,
    logger,
    events: metrics.auth,
  })
  const app = createApp({
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    publicUrl: config.publicUrl,
    cors: new CorsPolicy(config.corsOrigins),
    metaExactVersion: config.metaExactVersion,
    auth: authPlugin(authenticate),
    tokens,
    users,
    // With an identity provider, users come from it: a local sign-up could never log in.
    signup: tokens.mode === 'external' ? 'closed' : config.signup,
    signupsByClient: storage.loginThrottle('signup', config.signupMaxPerClient, signupWindowMs),
    avatars: {
      store: avatars.store,
      timeoutMs: config.avatarStoreTimeoutMs,
      logger,
      failed: metrics.avatarStoreFailed,
    },
    avatarMaxBytes: config.avatarMaxBytes,
    avatarFiles: avatars.files,
    ledger,
    databaseFault: metrics.databaseFault,
  })
  // Signed avatar uploads are checked against the exact length that was signed, which may pass --body-limit.
  const ownsBodyLimit = (pathname: string) =>
    avatars.files !== undefined && pathname.startsWith(`${avatarFilesPath}/`)
  const close = async () => {
    clearInterval(purge)
    hasher.close()
    await engine.close()
  }
  return { app, ownsBodyLimit, shed: shedSignUps, close, engine }
}
