import { describe, expect, test } from 'bun:test'
import { committedDashboards, type DashboardJson, dataPanels } from './committed'
import { panelSchemas, schemaErrors } from './schema'

// Grafana 11 writes schemaVersion 39 to 40 and Grafana 12 writes 41 to 42 (42 is what the SDK sets).
// Grafana migrates an older dashboard up on load and loads a newer one without migrating it.
const grafana11And12 = { min: 39, max: 42 }

describe("the committed dashboards against Grafana's dashboard schema", () => {
  const committed = committedDashboards()

  test("every dashboard, panel and query satisfies the SDK types generated from Grafana's schema", () => {
    const boards = Object.fromEntries(committed.map((c) => [c.file, c.json]))
    expect(schemaErrors(boards)).toEqual([])
  }, 60_000)

  test('the schema check refuses a field Grafana does not know and a wrong enum value', () => {
    const board = structuredClone(committed[0]?.json ?? {})
    const panel = dataPanels(board)[0] as DashboardJson
    panel.fieldConfig.defaults.unitt = 's'
    board.links = [{ ...board.links?.[0], type: 'url' }]
    const errors = schemaErrors({ broken: board })
    expect(errors.filter((e) => e.includes(panel.title) && e.includes('unitt'))).toHaveLength(1)
    expect(errors.filter((e) => e.includes('"url"') && e.includes('"link" | "dashboards"'))).toHaveLength(1)
  }, 60_000)

  for (const { file, json } of committed) {
    test(`${file}: schemaVersion is one Grafana 11 and 12 expect`, () => {
      expect(json.schemaVersion).toBeGreaterThanOrEqual(grafana11And12.min)
      expect(json.schemaVersion).toBeLessThanOrEqual(grafana11And12.max)
    })

    test(`${file}: every panel is a type the schema check knows`, () => {
      const unknown = dataPanels(json).filter((panel) => !(panel.type in panelSchemas))
      expect(unknown.map((panel) => `${panel.title}: ${panel.type}`)).toEqual([])
    })
  }
})
