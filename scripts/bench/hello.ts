// The ceiling for scripts/bench.sh: the smallest Bun.serve, on the same pinned Bun as the binary.
// development: false as in the binary (NODE_ENV=production). Prints the chosen port as one line.
export {} // a module: top-level await, and names not shared with the other scripts

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  development: false,
  fetch() {
    return new Response('ok')
  },
})
console.log(server.port)
