import { HttpProblem } from '../http/problem'

/** Who is calling, as established from a verified token. */
export interface Principal {
  userId: string
  roles: readonly string[]
  isAdmin: boolean
}

/** Someone else's resource answers 404 like a missing one, so ids cannot be probed for existence. */
export function requireSelfOrAdmin(principal: Principal, userId: string): void {
  if (principal.userId !== userId && !principal.isAdmin) throw new HttpProblem('not-found')
}
