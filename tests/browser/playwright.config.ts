import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'

// `bunx playwright` runs Playwright's CLI with Node when Node is installed (its shebang says node), and
// the test helpers start ledgerd with Bun.spawn. Fail with the fix rather than with a missing `Bun`.
if (typeof Bun === 'undefined') {
  throw new Error(
    'Run the browser tests under Bun: bunx --bun playwright test -c tests/browser/playwright.config.ts',
  )
}

// Absolute, so the report lands in the same place whatever directory the runner is started from.
const resultsDir = fileURLToPath(new URL('../../test-results/', import.meta.url))

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // Playwright empties its output directory on every run; a subdirectory keeps other suites' results.
  outputDir: `${resultsDir}browser-artifacts`,
  timeout: 60_000,
  expect: { timeout: 30_000 },
  retries: 0,
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  reporter: [['list'], ['json', { outputFile: `${resultsDir}browser.json` }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      // Playwright's browser download cannot reach its CDN here; Debian's package is the browser under test.
      executablePath: '/usr/bin/chromium',
      chromiumSandbox: false,
      args: [
        // Root cannot use Chromium's sandbox.
        '--no-sandbox',
        '--disable-gpu',
        // The flags below stop Chromium's own traffic (updates, sync, field trials), which the closed
        // network refuses and which would otherwise be noise next to the page's requests.
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'off',
    screenshot: 'off',
  },
})
