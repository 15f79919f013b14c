import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createFileOnce } from './create-once'

/**
 * Secrets ledgerd makes for itself on first start when none is configured (the token signing key):
 * created once however many processes start together, and the same for every process that shares the
 * storage. With SQLite they are files in the data dir; with PostgreSQL rows, so every replica signs alike.
 */
export interface GeneratedSecrets {
  /** The secret called `name`, made with `make` by whichever process gets there first. */
  once(name: string, make: () => Promise<string>): Promise<string>
}

/** Generated secrets as files in the data dir, mode 0600, created once (see createFileOnce). */
export function dataDirSecrets(dataDir: string): GeneratedSecrets {
  return {
    async once(name, make) {
      const path = join(dataDir, name)
      if (!existsSync(path)) createFileOnce(path, await make(), 0o600)
      return readFileSync(path, 'utf8')
    },
  }
}
