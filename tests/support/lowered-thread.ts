import { lowerThisThreadsPriority } from '../../src/lib/thread-scheduling'

// A thread of its own for tests/unit/lib/thread-scheduling.test.ts to lower: it reports what lowering
// answered, then stays (so /proc can be read of it) until terminated. The test runner's own thread is
// never lowered: leaving SCHED_IDLE or nice 19 again takes a privilege.

declare const self: Worker

self.onmessage = () => self.postMessage(lowerThisThreadsPriority(19))
