import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * The trace of the request being handled, for every line logged while it is: a service that logs a
 * warning deep inside a request does not have to be handed the trace id. Set by the request handler
 * (src/http/handler.ts) around the app; about 50 ns a request under Bun.
 */
export const requestLogContext = new AsyncLocalStorage<{ traceId: string }>()
