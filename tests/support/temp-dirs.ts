import { afterAll } from 'bun:test'
import { rmSync } from 'node:fs'
import { tempDir } from './ledgerd-process'

/**
 * A maker of temp dirs that are all removed after the test file (bun:test's afterAll: call it at the top
 * level of a test file). Kept out of ledgerd-process.ts, which Playwright and scripts import too.
 */
export function tempDirsRemovedAfterAll(): () => string {
  const dirs: string[] = []
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  return () => {
    const dir = tempDir()
    dirs.push(dir)
    return dir
  }
}
