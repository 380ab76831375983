// priority-inversion.ts: a high-priority thread waits on a mutex held by a
// low-priority one while a medium-priority thread runs (Mars Pathfinder,
// 1997).
//
// Models: one CPU and three real-time (SCHED_FIFO) threads. The low-priority
// one (10) takes the bus mutex for a long transfer; the high-priority one
// (30) wakes and needs the bus; the medium-priority one (20) wakes and
// computes. The scheduler runs the highest priority that is ready: the high
// thread is blocked, the low one is ready but outranked by the medium one,
// so the medium one runs, and the high one waits as long as the medium one
// computes: an unbounded priority inversion.
//
// ktrace reports (buggy variant): `priority-inversion` at the switch that
// gives the CPU to the medium thread while the high one waits on `bus` held
// by the low one ("tid 4 (pid 1, fifo 20) runs on cpu 0 while tid 3 (fifo 30)
// waits on bus held by tid 2 (fifo 10), which is ready but cannot run"); the
// outcome is `ok`. `ktrace events` shows the medium thread's steps while the
// high one is blocked (the switch reads "...: priority inversion"); the TUI
// marks the medium thread's row and explains it.
//
// Fix: `inherit` (the mutex is PTHREAD_PRIO_INHERIT: while the high thread
// waits, the low one runs at priority 30, finishes its transfer before the
// medium one can run, and hands the bus over).
export default (k) =>
  k.defineScenario({
    name: "priority-inversion",
    description: "a medium-priority thread runs while a high-priority one waits on a mutex a low-priority one holds",
    fixes: { inherit: "the mutex inherits priority (PTHREAD_PRIO_INHERIT): its owner runs at its highest waiter's priority" },
    defaults: { seed: 1, cpus: 1 },
    build: ({ fix }) => ({
      locks: { bus: fix === "inherit" ? { type: "mutex", protocol: "inherit" } : { type: "mutex" } },
      procs: [{
        name: "lander",
        main: [
          k.setPriority(50),
          k.thread([k.lock("bus"), k.user("low: long bus transfer", 80), k.unlock("bus")], { tid: "low", prio: 10, policy: "fifo" }),
          k.thread([k.sleep(6_000), k.lock("bus"), k.user("high: bus management"), k.unlock("bus")], { tid: "high", prio: 30, policy: "fifo" }),
          k.thread([k.sleep(8_000), k.user("medium: communications", 40)], { tid: "medium", prio: 20, policy: "fifo" }),
          k.join(k.r("low")), k.join(k.r("high")), k.join(k.r("medium")),
        ],
      }],
    }),
  });
