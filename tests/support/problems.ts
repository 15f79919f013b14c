import { HttpProblem } from '../../src/http/problem'

/** The HttpProblem a promise rejects with; anything else, or no rejection at all, fails the test. */
export async function problemOf(promise: Promise<unknown>): Promise<HttpProblem> {
  try {
    await promise
  } catch (error) {
    if (error instanceof HttpProblem) return error
    throw error
  }
  throw new Error('expected an HttpProblem')
}
