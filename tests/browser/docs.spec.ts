import { fileURLToPath } from 'node:url'
import { type BrowserContext, expect, type Page, test } from '@playwright/test'
import { type RunningLedgerd, startLedgerd } from '../support/ledgerd-process'

// The docs page is opened in clusters with no way out, and it can hold a bearer token: whatever it needs
// must come from ledgerd itself. Chromium is the real judge of that, since only it runs Scalar's script.

const screenshotPath = fileURLToPath(new URL('../../test-results/docs.png', import.meta.url))
const localHost = '127.0.0.1'
const isOutside = (url: URL) => url.hostname !== localHost

let ledgerd: RunningLedgerd

test.beforeAll(async () => {
  ledgerd = await startLedgerd()
})

test.afterAll(async () => {
  await ledgerd?.stop()
})

interface PageTraffic {
  requested: URL[]
  /** Requests for anything not on 127.0.0.1, aborted before they left the browser. */
  blocked: string[]
  failed: string[]
  httpErrors: string[]
  consoleErrors: string[]
  pageErrors: string[]
}

/** Records what the page does, and stops any request for another host so the test never depends on it. */
async function watchTraffic(context: BrowserContext, page: Page): Promise<PageTraffic> {
  const traffic: PageTraffic = {
    requested: [],
    blocked: [],
    failed: [],
    httpErrors: [],
    consoleErrors: [],
    pageErrors: [],
  }
  context.on('request', (request) => traffic.requested.push(new URL(request.url())))
  context.on('requestfailed', (request) => {
    traffic.failed.push(`${request.url()}: ${request.failure()?.errorText}`)
  })
  context.on('response', (response) => {
    if (response.status() >= 400) traffic.httpErrors.push(`${response.status()} ${response.url()}`)
  })
  page.on('console', (message) => {
    if (message.type() === 'error')
      traffic.consoleErrors.push(`${message.text()} (${message.location().url})`)
  })
  page.on('pageerror', (error) => traffic.pageErrors.push(error.message))
  await context.route(isOutside, (route) => {
    traffic.blocked.push(`${route.request().method()} ${route.request().url()}`)
    return route.abort('blockedbyclient')
  })
  await context.routeWebSocket(isOutside, (socket) => {
    traffic.blocked.push(`WebSocket ${socket.url()}`)
    return socket.close()
  })
  return traffic
}

/** Opens /docs and waits until Scalar has rendered the operations from /openapi.json. */
async function openDocs(page: Page): Promise<void> {
  const response = await page.goto(`${ledgerd.apiUrl}/docs`)
  expect(response?.status()).toBe(200)
  await expect(page.getByRole('heading', { name: 'Which ledgerd is answering' })).toBeVisible()
  await expect(page.getByRole('heading', { name: 'Describe an error type' })).toBeVisible()
}

test('/docs renders every operation in Chromium using nothing but requests to ledgerd itself', async ({
  context,
  page,
}) => {
  const traffic = await watchTraffic(context, page)

  await openDocs(page)
  // Scalar keeps loading after the first render (highlighters, fonts, icons); wait for all of it.
  await page.waitForLoadState('networkidle')
  await page.screenshot({ path: screenshotPath })

  expect(traffic.blocked).toEqual([])
  const paths = traffic.requested.map((url) => url.pathname)
  expect(paths).toContain('/docs/assets/scalar-api-reference.js')
  expect(paths).toContain('/openapi.json')
  expect(traffic.requested.filter(isOutside).map(String)).toEqual([])
  expect(traffic.failed).toEqual([])
  expect(traffic.httpErrors).toEqual([])
  expect(traffic.consoleErrors).toEqual([])
  expect(traffic.pageErrors).toEqual([])
})

test('/docs offers no control that sends the API description to Scalar', async ({ context, page }) => {
  const traffic = await watchTraffic(context, page)

  await openDocs(page)

  // The sidebar's search and the footer's "Powered by Scalar" render with those controls; once they are
  // there, a missing control is really missing, not yet to come.
  await expect(page.getByRole('button', { name: /Search/ })).toBeVisible()
  await expect(page.getByRole('link', { name: 'Powered by Scalar' })).toBeVisible()
  await page.waitForLoadState('networkidle')
  // Share, Generate MCP (VS Code, Cursor) and Developer Tools upload the document to api.scalar.com; the
  // Ask AI button and each operation's Ask AI Agent box send it with the question. Scalar shows them on
  // localhost, which is where a port-forwarded service is opened.
  const controls = ['Ask AI', 'Ask AI Agent', 'Generate MCP', 'VS Code', 'Cursor', 'Share', 'Developer Tools']
  const shown: string[] = []
  for (const name of controls) {
    // Generate MCP is a bare text label, the agent box a textbox; the rest are buttons.
    const control = page.getByText(name, { exact: true }).or(page.getByRole('textbox', { name, exact: true }))
    if ((await control.count()) > 0) shown.push(name)
  }
  expect(shown).toEqual([])
  expect(traffic.blocked).toEqual([])
})
