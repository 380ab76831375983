// signal-malloc.ts: a signal handler that calls malloc.
//
// Models: a program logs a line from its SIGALRM handler, and formatting the
// line allocates (malloc). A timer thread (which blocks SIGALRM itself) sends
// the alarm every few microseconds while the main thread works and allocates.
// The handler runs on the interrupted thread, with whatever it holds: when
// the alarm lands while the main thread is inside malloc's slow path, holding
// the allocator's lock (tcmalloc's central free list, or SlowTLS on its first
// allocation), the handler's malloc waits for that lock, which only the code
// it interrupted can release. malloc is not async-signal-safe (POSIX,
// signal-safety(7)).
//
// ktrace reports (buggy variant, on the seeds where an alarm interrupts the
// slow path): `signal-safety` at the handler's relock of the allocator lock
// (a lock-misuse event), with the interrupted thread's acquire and the
// delivery among its causes; the run ends in a `hang` (the handler spins on
// the lock for ever; the timer thread finishes).
//
// Fix: `flag-only` (the handler only sets a flag, an atomic store; the main
// loop checks it and logs outside the handler).
export default (k) =>
  k.defineScenario({
    name: "signal-malloc",
    description: "a SIGALRM handler that calls malloc deadlocks when the alarm interrupts malloc",
    fixes: { "flag-only": "the handler only sets a flag (async-signal-safe); the main loop logs" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const flagOnly = fix === "flag-only";
      const log = [k.malloc(64), k.user("format the log line"), k.free(64)];
      return {
        vars: { alarm: { type: "int" } },
        procs: [{
          name: "daemon",
          main: [
            k.sigaction("SIGALRM", flagOnly ? [k.store("alarm", 1, { atomic: true })] : log, { name: "on_alarm" }),
            k.thread([
              k.sigmask("block", ["SIGALRM"]),
              k.repeat(12, [k.sleep(1_500), k.kill(1, "SIGALRM")]),
            ], { tid: "timer" }),
            k.repeat(120, [
              k.malloc(64), k.user("work"),
              ...(flagOnly ? [k.load("a", "alarm", { atomic: true }), k.when(k.ne(k.r("a"), 0), [k.store("alarm", 0, { atomic: true }), ...log])] : []),
            ]),
            k.join(k.r("timer")),
          ],
        }],
      };
    },
  });
