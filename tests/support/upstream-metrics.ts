import { readFileSync } from 'node:fs'
import { join } from 'node:path'

// What CloudNativePG's exporter and an Istio sidecar would serve, for the dashboards' database and mesh
// panels: neither runs on this machine. The series (names and labels as those projects document them)
// are in tests/support/fixtures/upstream-metrics.prom; the counters its `# counters:` line names grow
// with the seconds since start at the rate the file gives, so rate() over them is what the file says.

export interface UpstreamMetricsServer {
  /** Base URL; /istio serves the istio_* series, /cnpg the rest (cnpg_*, barman_cloud_*). */
  url: string
  port: number
  stop(): void
}

const fixture = join(import.meta.dir, 'fixtures/upstream-metrics.prom')

/** The families the fixture's `# counters:` line names: each value given is a rate per second. */
function parseFixture(text: string) {
  const counters = new Set((/^# counters: (.*)$/m.exec(text)?.[1] ?? '').split(/\s+/).filter(Boolean))
  if (counters.size === 0) throw new Error(`${fixture}: no "# counters:" line`)
  return { counters, lines: text.split('\n') }
}

function exposition(wanted: (name: string) => boolean, elapsedSeconds: number): string {
  const { counters, lines } = parseFixture(readFileSync(fixture, 'utf8'))
  const served: string[] = []
  for (const line of lines) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      if (wanted(line.split(' ')[2] as string)) served.push(line)
      continue
    }
    if (line.startsWith('#') || line.trim() === '') continue
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$/.exec(line)
    if (!sample) throw new Error(`${fixture}: not a sample line: ${line}`)
    const [, name, labels = '', value] = sample as unknown as [string, string, string | undefined, string]
    if (!wanted(name)) continue
    const rate = Number(value)
    served.push(`${name}${labels} ${counters.has(name) ? rate + rate * elapsedSeconds : rate}`)
  }
  return `${served.join('\n')}\n`
}

export function serveUpstreamMetrics(): UpstreamMetricsServer {
  const started = performance.now()
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      const { pathname } = new URL(request.url)
      // The sidecar's merged endpoint serves Envoy's istio_*; the database's exporter everything else
      // (cnpg_*, and the Barman Cloud Plugin's backup series the instance relays).
      const isIstio = (name: string) => name.startsWith('istio_')
      const wanted =
        pathname === '/istio' ? isIstio : pathname === '/cnpg' ? (n: string) => !isIstio(n) : undefined
      if (!wanted) return new Response('not found', { status: 404 })
      const elapsed = (performance.now() - started) / 1000
      return new Response(exposition(wanted, elapsed), {
        headers: { 'content-type': 'text/plain; version=0.0.4' },
      })
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    stop: () => server.stop(true),
  }
}
