import { describe, expect, test } from 'bun:test'
import { buildDashboards } from '../../../grafana-dashboards/src/dashboards'
import { renderDashboard } from '../../../grafana-dashboards/src/render'
import { committedDashboards } from './committed'

const stale =
  'grafana-dashboards/*.json and the code in grafana-dashboards/src disagree: run `bun run dashboards`'

describe('the committed dashboards are what the code generates', () => {
  const built = buildDashboards()
  const committed = committedDashboards()

  test('one JSON file per dashboard, named by its uid, and no other', () => {
    expect(
      committed.map((c) => c.file),
      stale,
    ).toEqual(built.map((b) => `${b.uid}.json`).sort())
  })

  for (const board of built) {
    test(`${board.uid}.json is byte for byte the generated text`, () => {
      const file = committed.find((c) => c.file === `${board.uid}.json`)
      expect(file?.text === renderDashboard(board), stale).toBe(true)
    })
  }

  // Every dashboard built and rendered twice: ~3 s of CPU on a busy machine here, past bun's 5 s default
  // when other suites share the two cores. A bound against hanging, not a performance claim.
  test('generating twice gives the same text (no order or time dependence)', () => {
    expect(buildDashboards().map(renderDashboard)).toEqual(built.map(renderDashboard))
  }, 30_000)
})
