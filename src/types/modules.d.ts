// Text imports: Bun embeds these files' contents in the bundle (migrations, docs assets).
declare module '*.sql' {
  const text: string
  export default text
}

// better-sqlite3's per-platform entries export the same API as the package root.
declare module 'better-sqlite3/linux-x64' {
  import Database from 'better-sqlite3'
  export default Database
}
declare module 'better-sqlite3/linux-arm64' {
  import Database from 'better-sqlite3'
  export default Database
}
