import { expect } from 'bun:test'

/** The admin listener's /metrics, in the classic text format unless `accept` asks otherwise. */
export async function metricsText(adminUrl: string, accept?: string): Promise<string> {
  const response = await fetch(`${adminUrl}/metrics`, accept ? { headers: { accept } } : {})
  expect(response.status).toBe(200)
  return response.text()
}

export interface Sample {
  labels: Record<string, string>
  value: number
}

/** Samples of one metric: the labels and value of each line named exactly `name` (exemplars ignored). */
export function samples(text: string, name: string): Sample[] {
  const found: Sample[] = []
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*?)\})? (\S+)(?: # .*)?$/.exec(line)
    if (!match || match[1] !== name) continue
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1] as string] = pair[2] as string
    found.push({ labels, value: Number(match[3]) })
  }
  return found
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if there is none. */
export function sampleValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples(text, name).find((sample) =>
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )?.value
}
