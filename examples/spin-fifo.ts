// spin-fifo.ts: a real-time thread spins on a spinlock that a lower-priority
// thread holds, on one cpu.
//
// Models: a uniprocessor with two SCHED_FIFO threads sharing a user-space
// spinlock (pthread_spin_lock). The low-priority one (10) takes the lock for
// an update; the high-priority one (30) wakes from a sleep meanwhile and
// spins on the lock. A fifo thread is never time-sliced and outranks the
// owner, so the owner never gets the cpu back to release the lock: the
// spinner spins for ever (on Linux, a real-time lockup). On the seeds where
// the update ends before the high thread wakes, nothing goes wrong.
//
// ktrace reports (buggy variant): outcome `hang`; `no-deadlock` at the hang
// ("tid 2 (pid 1) is runnable (fifo 10) but every cpu runs a
// higher-priority thread: tid 3 (fifo 30) on cpu 0; tid 3 (pid 1) spins on
// s held by tid 2"), the spinner's lock-wait among its causes.
//
// Fix: `pi-mutex` (a sleeping mutex with priority inheritance: the waiter
// blocks, and the owner runs at its priority until it unlocks).
export default (k) =>
  k.defineScenario({
    name: "spin-fifo",
    description: "a SCHED_FIFO thread spins on a spinlock held by a lower-priority thread on one cpu: it never gets released",
    fixes: { "pi-mutex": "a sleeping mutex with priority inheritance instead of the spinlock" },
    defaults: { seed: 1, cpus: 1 },
    build: ({ fix }) => ({
      locks: { s: fix === "pi-mutex" ? { type: "mutex", protocol: "inherit" } : { type: "spin" } },
      vars: { value: { type: "int" } },
      procs: [
        {
          name: "rt",
          main: [
            k.thread([k.lock("s"), k.user("low: update", 8), k.store("value", 1), k.unlock("s")], {
              tid: "low",
              prio: 10,
              policy: "fifo",
            }),
            k.thread([k.sleep(500), k.lock("s"), k.load("v", "value"), k.unlock("s")], {
              tid: "high",
              prio: 30,
              policy: "fifo",
            }),
            k.join(k.r("low")),
            k.join(k.r("high")),
          ],
        },
      ],
    }),
  });
