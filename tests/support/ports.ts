/**
 * A port the kernel had free a moment ago, for servers that cannot be told to pick one and report it
 * (NGINX, PostgreSQL, Prometheus). Another process could take it in between; on loopback in a test run
 * that has not happened.
 */
export function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = server
  server.stop(true)
  return port
}
