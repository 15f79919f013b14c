import type { HealthRepository } from './repository'

export type Readiness = { ready: true } | { ready: false; reason: string }

/** Why writes cannot commit now (disk full, read-only volume...), or undefined when they can. */
export type WriteProblem = () => Promise<string | undefined>

/**
 * Ready means: not shutting down, the database answers, its schema is exactly the one this binary was
 * built for (a replica of an older release must not serve a database a newer one migrated), and writes
 * can commit (after a failed commit, the check itself tries one, so readiness recovers with the disk).
 */
export class ReadinessProbe {
  #draining = false

  constructor(
    private readonly repository: HealthRepository,
    private readonly expectedSchemaVersion: number,
    private readonly writeProblem: WriteProblem = async () => undefined,
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
    const writes = await this.writeProblem()
    if (writes !== undefined) return { ready: false, reason: `writes cannot commit: ${writes}` }
    return { ready: true }
  }
}
