// one-condvar.ts: a bounded buffer whose producers and consumers share one
// condition variable, woken with pthread_cond_signal.
//
// Models: two producers put four items each into a one-slot buffer, two
// consumers take four each; everything is under one mutex, and both "not
// full" and "not empty" are waited for on the same condvar `cv`, each in a
// proper predicate loop. pthread_cond_signal wakes one waiter, any waiter:
// a producer's signal meant for a consumer can wake the other producer,
// which finds the buffer still full and waits again; the signal is spent,
// and sooner or later every thread waits on `cv` with nobody left to signal
// it. (The textbook rule: with one condvar for two conditions, broadcast.)
//
// ktrace reports (buggy variant): outcome `hang`; `no-deadlock` at the last
// futex-wait on `cv` ("waits on condvar cv, which can never return: the only
// threads that could wake it are ..., which waits on condvar cv"), with the
// other waits, the wakeups after which a woken thread waited again, and the
// writes of the values it read before it did, among its causes.
//
// Fixes: `broadcast` (pthread_cond_broadcast: every waiter re-checks its
// own predicate), `two-condvars` (not_full and not_empty: a signal always
// wakes a thread that can go on).
const CAP = 1;
const ITEMS = 4;
export default (k) =>
  k.defineScenario({
    name: "one-condvar",
    description: "a bounded buffer with one condvar for 'not full' and 'not empty' and pthread_cond_signal: everybody ends up waiting",
    fixes: {
      broadcast: "pthread_cond_broadcast instead of signal",
      "two-condvars": "separate not_full and not_empty condvars",
    },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const two = fix === "two-condvars";
      const wake = (cv) => (fix === "broadcast" ? k.cvBroadcast(cv) : k.cvSignal(cv));
      const put = [
        k.lock("m"),
        k.loopWhile(k.eq(k.v("count"), CAP), { max: Infinity }, [k.cvWait(two ? "not_full" : "cv", "m")]),
        k.store("count", k.add(k.v("count"), 1)),
        wake(two ? "not_empty" : "cv"),
        k.unlock("m"),
      ];
      const take = [
        k.lock("m"),
        k.loopWhile(k.eq(k.v("count"), 0), { max: Infinity }, [k.cvWait(two ? "not_empty" : "cv", "m")]),
        k.store("count", k.sub(k.v("count"), 1)),
        wake(two ? "not_full" : "cv"),
        k.unlock("m"),
      ];
      return {
        locks: { m: { type: "mutex" } },
        vars: {
          count: { type: "int" },
          ...(two ? { not_full: k.condvar(), not_empty: k.condvar() } : { cv: k.condvar() }),
        },
        procs: [
          {
            name: "buffer",
            main: [
              k.thread([k.repeat(ITEMS, put)], { tid: "p1" }),
              k.thread([k.repeat(ITEMS, put)], { tid: "p2" }),
              k.thread([k.repeat(ITEMS, take)], { tid: "c1" }),
              k.thread([k.repeat(ITEMS, take)], { tid: "c2" }),
              k.join(k.r("p1")),
              k.join(k.r("p2")),
              k.join(k.r("c1")),
              k.join(k.r("c2")),
            ],
          },
        ],
      };
    },
  });
