import { Elysia, t } from 'elysia'
import { HttpProblem, type ProblemType, problemTypes } from '../http/problem'

// Problem `type` URIs are relative ("/problems/not-found"), so they resolve against the API itself;
// this route makes them dereferenceable, as RFC 9457 recommends.
export const problems = new Elysia({ name: 'problems' }).get(
  '/problems/:type',
  ({ params }) => {
    const entry = problemTypes[params.type as ProblemType]
    if (!entry) throw new HttpProblem('not-found', `There is no problem type "${params.type}".`)
    return { type: `/problems/${params.type}`, ...entry }
  },
  {
    params: t.Object({ type: t.String({ maxLength: 64 }) }),
    response: t.Object({ type: t.String(), title: t.String(), status: t.Integer() }),
    detail: {
      tags: ['meta'],
      summary: 'Describe an error type',
      description: 'What a problem `type` means.',
    },
  },
)
