// futex-mutex.ts: a hand-written futex mutex that loses a wake.
//
// Models: a mutex built directly on a futex word (0 free, 1 held) and a
// separate `waiters` flag the unlock checks to skip the futex_wake system
// call when nobody waits. A waiter raises the flag and sleeps while the word
// is 1; the unlock frees the word, and if the flag is up, lowers it and wakes
// one waiter. With two waiters the flag is a lie: the unlock that wakes the
// first lowers it while the second still sleeps, so the next unlock sees no
// waiter and skips the wake. The second waiter sleeps for ever. ("Futexes
// Are Tricky", Drepper, 2011: why the state must be in the word itself.)
//
// ktrace reports (buggy variant, rare: both other threads must be asleep at
// the first unlock): outcome `hang`; `no-deadlock` at the event that leaves
// the sleeper with nobody to wake it (its futex-wait, or the exit of the
// last other thread of the process, or main's join), "waits on futex lock,
// which can never return"; among its causes the unlock's store that changed
// the word after the sleeper queued with no futex_wake after it ("the waiter
// was never told").
//
// Fix: `three-state` (Drepper's mutex 2: the word says 0 free, 1 held, 2 held
// with waiters; lock does cas(0,1), else xchg(2) and waits while it holds 2;
// unlock does fetch_sub and wakes when the word was 2).
export default (k) =>
  k.defineScenario({
    name: "futex-mutex",
    description: "a futex mutex whose separate waiters flag goes down while a waiter still sleeps: a lost wake",
    fixes: { "three-state": "Drepper's three-state futex mutex (0 free, 1 held, 2 held with waiters)" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const three = fix === "three-state";
      const lock = three
        ? [
          k.cas("lock", 0, 1, { reg: "c" }),
          k.when(k.ne(k.r("c"), 0), [
            k.when(k.ne(k.r("c"), 2), [k.xchg("lock", 2, { reg: "c" })]),
            k.loopWhile(k.ne(k.r("c"), 0), { max: Infinity }, [k.futexWait("lock", 2), k.xchg("lock", 2, { reg: "c" })]),
          ]),
        ]
        : [
          k.cas("lock", 0, 1, { reg: "c" }),
          k.loopWhile(k.ne(k.r("c"), 0), { max: Infinity }, [
            k.store("waiters", 1, { atomic: true }),
            k.futexWait("lock", 1),
            k.cas("lock", 0, 1, { reg: "c" }),
          ]),
        ];
      const unlock = three
        ? [k.fetchAdd("lock", -1, { reg: "was" }), k.when(k.ne(k.r("was"), 1), [k.store("lock", 0, { atomic: true }), k.futexWake("lock", 1)])]
        : [
          k.store("lock", 0, { atomic: true }),
          k.load("w", "waiters", { atomic: true }),
          k.when(k.ne(k.r("w"), 0), [k.store("waiters", 0, { atomic: true }), k.futexWake("lock", 1)]),
        ];
      const worker = [k.repeat(4, [...lock, k.fetchAdd("inside", 1), k.user("critical section", 2), k.fetchAdd("inside", -1), ...unlock, k.user("outside")])];
      return {
        vars: { lock: k.futexWord(0), waiters: { type: "int" }, inside: { type: "int" } },
        procs: [{
          name: "app",
          main: [
            k.thread(worker, { tid: "t1" }), k.thread(worker, { tid: "t2" }), k.thread(worker, { tid: "t3" }),
            k.join(k.r("t1")), k.join(k.r("t2")), k.join(k.r("t3")),
          ],
        }],
        invariants: [k.invariant("mutual-exclusion", k.le(k.v("inside"), 1), "two threads are inside the critical section")],
      };
    },
  });
