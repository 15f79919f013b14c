/**
 * Where the ledger's writer thread is. This file sits at the root of src/ on purpose: in a compiled binary
 * `import.meta.url` is the bundle root (the entrypoints' common folder, src/), while from source it is
 * this file; only at the root do the two agree. scripts/build.sh passes the worker as an entrypoint.
 */
export const writerThreadUrl = new URL('./ledger/sqlite/writer-worker.ts', import.meta.url).href

/** The users writer thread (src/users/sqlite-writer-worker.ts), found the same way. */
export const usersWriterThreadUrl = new URL('./users/sqlite-writer-worker.ts', import.meta.url).href

/** The background hashing threads (src/auth/hasher-worker.ts), found the same way. */
export const hasherThreadUrl = new URL('./auth/hasher-worker.ts', import.meta.url).href
