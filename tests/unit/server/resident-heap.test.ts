import { describe, expect, test } from 'bun:test'
import { residentHeapFailure, restartWithResidentHeap, sameCommand } from '../../../src/server/resident-heap'

// The successful restart replaces the process, so it is proven on the compiled binary
// (tests/e2e/resident-heap.test.ts); here, the paths that must leave this process running.
describe('restartWithResidentHeap', () => {
  test("an operator's MIMALLOC_PURGE_DELAY is kept: no restart, and nothing to warn of", () => {
    expect(restartWithResidentHeap({ MIMALLOC_PURGE_DELAY: '10' })).toEqual({ chosen: '10' })
    expect(residentHeapFailure()).toBeUndefined()
  })

  test('an exec that fails leaves the process running and says why', () => {
    const stayed = restartWithResidentHeap({ PATH: '/usr/bin' }, '/nonexistent/ledgerd')
    expect(stayed).toEqual({ error: expect.stringContaining('execve of /nonexistent/ledgerd failed') })
    expect(residentHeapFailure()).toContain('/nonexistent/ledgerd')
  })
})

describe('sameCommand', () => {
  test('from source: bun, its own flags, the script, then the arguments', () => {
    const command = sameCommand()
    expect(command[0]).toBe(process.argv0)
    expect(command.slice(1)).toEqual([...process.execArgv, ...process.argv.slice(1)])
  })
})
