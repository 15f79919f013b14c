// Set by scripts/build.sh with --define; running from source reports "dev".
declare const LEDGERD_VERSION: string | undefined
declare const LEDGERD_COMMIT: string | undefined

export const version = typeof LEDGERD_VERSION === 'string' ? LEDGERD_VERSION : 'dev'
export const commit = typeof LEDGERD_COMMIT === 'string' ? LEDGERD_COMMIT : 'unknown'
