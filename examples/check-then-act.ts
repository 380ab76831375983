// check-then-act.ts: lazy initialization guarded by a flag.
//
// Models: two threads open a device; each tests `initialized` and, finding
// 0, initializes the device and sets the flag (`if (!initialized) { init();
// initialized = 1; }`). Nothing makes the test and the set one step, so both
// threads can see 0 and the device is initialized twice.
//
// ktrace reports (buggy variant): outcome `ok` (nothing crashes);
// `data-race` on every seed, at the second thread's access to `initialized`
// (a plain load or store) that no lock or atomic orders after the other
// thread's, with that access among the causes; on the seeds where the two
// tests both saw 0 the scenario's own `init-once` breaks too (check
// --invariant init-once), and on the others the device was initialized once
// and only `data-race` tells. --opt access=atomic: the flag is read and set
// with atomic loads and stores: no data race any more, and still the same
// check-then-act: `init-once` breaks (at the second init's fetch-add).
//
// Fixes: `mutex` (test and set under a lock), `once` (pthread_once: claim
// with a compare-and-swap; the loser waits until the winner says ready).
export default (k) =>
  k.defineScenario({
    name: "check-then-act",
    description: "lazy initialization tests a flag, then sets it: the device can be initialized twice",
    fixes: {
      mutex: "test the flag, initialize and set it under one mutex",
      once: "pthread_once: claim the initialization with a compare-and-swap, others wait for `ready`",
    },
    options: {
      access: { values: ["plain", "atomic"], default: "plain", doc: "atomic: the flag is read and set with atomic load/store (race-free, still check-then-act)" },
    },
    defaults: { seed: 1 },
    build: ({ fix, options }) => {
      const atomic = options.access === "atomic";
      const init = [k.fetchAdd("inits", 1), k.user("init: map the device registers", 2)];
      const open =
        fix === "mutex"
          ? [k.lock("init_lock"), k.when(k.eq(k.v("initialized"), 0), [...init, k.store("initialized", 1)]), k.unlock("init_lock")]
          : fix === "once"
            ? [
              k.cas("initialized", 0, 1, { reg: "old" }),
              k.when(k.eq(k.r("old"), 0), [...init, k.store("ready", 1, { atomic: true })], [
                k.load("rdy", "ready", { atomic: true }),
                k.loopWhile(k.eq(k.r("rdy"), 0), { max: Infinity }, [k.user("wait for init"), k.load("rdy", "ready", { atomic: true })]),
              ]),
            ]
            : [
              k.load("seen", "initialized", { atomic }),
              k.when(k.eq(k.r("seen"), 0), [...init, k.store("initialized", 1, { atomic })]),
            ];
      const body = [...open, k.user("use the device")];
      // The main thread waits for the worker (an atomic flag) before it exits.
      const join = [k.load("done", "done", { atomic: true }), k.loopWhile(k.eq(k.r("done"), 0), { max: Infinity }, [k.load("done", "done", { atomic: true })])];
      return {
        vars: { initialized: { type: "int" }, ready: { type: "int" }, inits: { type: "int" }, done: { type: "int" } },
        procs: [{ name: "app", main: [k.thread([...body, k.store("done", 1, { atomic: true })]), ...body, ...join] }],
        invariants: [k.invariant("init-once", k.le(k.v("inits"), 1), "the device was initialized more than once")],
      };
    },
  });
