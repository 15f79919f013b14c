import type { HealthRepository } from './repository'

export type Readiness = { ready: true } | { ready: false; reason: string }

/**
 * Ready means: not shutting down, the database answers, and its schema is exactly the one this binary
 * was built for (a replica of an older release must not serve a database a newer one migrated).
 */
export class ReadinessProbe {
  #draining = false

  constructor(
    private readonly repository: HealthRepository,
    private readonly expectedSchemaVersion: number,
  ) {}

  startDraining(): void {
    this.#draining = true
  }

  get draining(): boolean {
    return this.#draining
  }

  async check(): Promise<Readiness> {
    if (this.#draining) return { ready: false, reason: 'draining' }
    let version: number
    try {
      version = await this.repository.schemaVersion()
    } catch {
      return { ready: false, reason: 'database unavailable' }
    }
    if (version < this.expectedSchemaVersion) return { ready: false, reason: 'migrations pending' }
    if (version > this.expectedSchemaVersion)
      return { ready: false, reason: 'database schema is newer than binary' }
    return { ready: true }
  }
}
