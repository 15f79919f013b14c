import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { QueueFullError, Semaphore } from '../../../src/lib/semaphore'

/** A task the test finishes by hand, resolving or rejecting, so any interleaving can be driven. */
function manualTask() {
  let finish: (ok: boolean) => void = () => {}
  const done = new Promise<string>((resolve, reject) => {
    finish = (ok) => (ok ? resolve('done') : reject(new Error('task failed')))
  })
  return { run: () => done, finish }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('Semaphore', () => {
  test('invariants under any sequence of starts and finishes: running ≤ permits, queue ≤ its limit, every permit given back', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('start' as const) }),
      fc.record({ kind: fc.constant('finish' as const), index: fc.nat(), ok: fc.boolean() }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.nat(5),
        fc.array(step, { maxLength: 60 }),
        async (permits, queueLimit, steps) => {
          const semaphore = new Semaphore(permits, queueLimit)
          const pending: { finish: (ok: boolean) => void; started: boolean }[] = []
          const outcomes: Promise<unknown>[] = []
          let refused = 0
          const check = () => {
            // Counted from the tasks themselves too, not only from the semaphore's own bookkeeping.
            expect(pending.filter((entry) => entry.started).length).toBeLessThanOrEqual(permits)
            expect(semaphore.running).toBeLessThanOrEqual(permits)
            expect(semaphore.queued).toBeLessThanOrEqual(queueLimit)
            // A permit is never idle while someone waits.
            if (semaphore.queued > 0) expect(semaphore.running).toBe(permits)
          }
          for (const s of steps) {
            if (s.kind === 'start') {
              const task = manualTask()
              const entry = { finish: task.finish, started: false }
              const outcome = semaphore.run(() => {
                entry.started = true
                return task.run()
              })
              outcomes.push(
                outcome.catch((error) => {
                  if (error instanceof QueueFullError) refused++
                }),
              )
              pending.push(entry)
            } else {
              const started = pending.filter((entry) => entry.started)
              const chosen = started[s.index % Math.max(1, started.length)]
              if (chosen) {
                pending.splice(pending.indexOf(chosen), 1)
                chosen.finish(s.ok)
              }
            }
            await tick()
            check()
          }
          // Finish everything still running, and whatever starts after: nothing may be left holding a permit.
          while (pending.length > 0) {
            const started = pending.filter((entry) => entry.started)
            const waitingForever = started.length === 0
            if (waitingForever) break
            for (const entry of started) {
              pending.splice(pending.indexOf(entry), 1)
              entry.finish(true)
            }
            await tick()
            check()
          }
          // Only refused tasks never started.
          expect(pending).toHaveLength(refused)
          await Promise.all(outcomes)
          expect(semaphore.running).toBe(0)
          expect(semaphore.queued).toBe(0)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('past the queue limit run() rejects at once with QueueFullError and never runs the task', async () => {
    const semaphore = new Semaphore(1, 1)
    const first = manualTask()
    const running = semaphore.run(first.run)
    const queued = semaphore.run(async () => 'queued')
    let ran = false
    await expect(
      semaphore.run(async () => {
        ran = true
      }),
    ).rejects.toBeInstanceOf(QueueFullError)
    expect(ran).toBe(false)
    first.finish(true)
    expect(await running).toBe('done')
    expect(await queued).toBe('queued')
  })

  test('waiters are served in arrival order', async () => {
    const semaphore = new Semaphore(1, 10)
    const blocker = manualTask()
    const order: string[] = []
    const all = [
      semaphore.run(blocker.run),
      ...['first', 'second', 'third'].map((name) => semaphore.run(async () => order.push(name))),
    ]
    blocker.finish(true)
    await Promise.all(all)
    expect(order).toEqual(['first', 'second', 'third'])
  })

  test('a waiter past maxWaitMs is refused with QueueFullError, leaves the queue and never runs', async () => {
    const semaphore = new Semaphore(1, 10, 20)
    const blocker = manualTask()
    const running = semaphore.run(blocker.run)
    let ran = false
    const waiter = semaphore.run(async () => {
      ran = true
    })
    expect(semaphore.queued).toBe(1)
    await expect(waiter).rejects.toBeInstanceOf(QueueFullError)
    expect(semaphore.queued).toBe(0)
    blocker.finish(true)
    await running
    expect(ran).toBe(false)
    expect(semaphore.running).toBe(0)
    // The permit it never got is still whole: the next task runs at once.
    expect(await semaphore.run(async () => 'next')).toBe('next')
  })

  test('reserve() holds at most permits + queueLimit places, refusing the next at once', async () => {
    const semaphore = new Semaphore(1, 2)
    const places = [semaphore.reserve(), semaphore.reserve(), semaphore.reserve()]
    expect(semaphore.full).toBe(true)
    expect(() => semaphore.reserve()).toThrow(QueueFullError)
    // A place holds no permit, so plain runs are not held up.
    expect(await semaphore.run(async () => 'plain')).toBe('plain')
    places[0]?.release()
    places[0]?.release() // a second release is a no-op: it must not free someone else's place
    expect(semaphore.reserved).toBe(2)
    expect(semaphore.full).toBe(false)
    const fourth = semaphore.reserve()
    expect(() => semaphore.reserve()).toThrow(QueueFullError)
    for (const place of [places[1], places[2], fourth]) place?.release()
    expect(semaphore.reserved).toBe(0)
  })

  test("a reservation's run() is an ordinary run that gives the place back when its task settles", async () => {
    const semaphore = new Semaphore(1, 0)
    const place = semaphore.reserve()
    await expect(place.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(semaphore.reserved).toBe(0)
    expect(semaphore.running).toBe(0)
    // The queue limit still applies to it: with the permit taken and no queue, it is refused.
    const blocker = manualTask()
    const running = semaphore.run(blocker.run)
    const late = semaphore.reserve()
    await expect(late.run(async () => 'never')).rejects.toBeInstanceOf(QueueFullError)
    expect(semaphore.reserved).toBe(0)
    blocker.finish(true)
    await running
  })

  test('a task that throws gives its permit back', async () => {
    const semaphore = new Semaphore(1, 0)
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(semaphore.running).toBe(0)
    expect(await semaphore.run(async () => 'next')).toBe('next')
  })
})
