import { DatabaseUnavailableError } from '../unavailable'
import { isUnavailable } from './connection'

/**
 * Awaits a query, turning "PostgreSQL cannot be reached" into DatabaseUnavailableError (a 503 at the
 * edge). Any other error (a constraint, a bug) passes through unchanged and stays a 500.
 */
export async function orUnavailable<T>(query: PromiseLike<T>): Promise<T> {
  try {
    return await query
  } catch (error) {
    if (!isUnavailable(error)) throw error
    const code = (error as { code?: string }).code
    throw new DatabaseUnavailableError(`PostgreSQL: ${code} ${(error as Error).message}`, 1, { cause: error })
  }
}
