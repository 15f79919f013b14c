/**
 * The database cannot answer right now: PostgreSQL is down, failing over or refusing connections, or a
 * statement ran past --db-statement-timeout. Nothing is wrong with the request or with the data, so the
 * HTTP edge answers 503 with Retry-After rather than 500: clients and load balancers retry a 503.
 */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly reason: string,
    readonly retryAfterSeconds = 1,
    options?: ErrorOptions,
  ) {
    super(`the database is unavailable: ${reason}`, options)
    this.name = 'DatabaseUnavailableError'
  }
}
