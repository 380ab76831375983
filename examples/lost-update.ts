// lost-update.ts: a statistics counter incremented without a lock.
//
// Models: three threads each count 4 requests with `nr_requests++`, a plain
// load and a plain store; a thread can store between another's load and
// store, and that increment is lost. The main thread waits for the two
// workers (an atomic count) and checks the total when the process exits.
//
// ktrace reports (buggy variant): outcome `ok`; `data-race` on every seed,
// at the first access to `nr_requests` that no lock or atomic orders after
// another thread's (usually a load after the other thread's store), naming
// both; the scenario's own `count-exact` (checked at exit) breaks on the
// seeds where an increment was lost, and on the others (the total came out
// 12) only `data-race` tells.
//
// Fixes: `atomic` (fetch-and-add), `mutex` (the load and store under a lock).
const THREADS = 3;
const ROUNDS = 4;
export default (k) =>
  k.defineScenario({
    name: "lost-update",
    description: "three threads increment a shared counter with a plain load and store: updates are lost",
    fixes: { atomic: "an atomic fetch-and-add", mutex: "the load and store under a mutex" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const inc =
        fix === "atomic" ? [k.fetchAdd("nr_requests", 1)]
        : fix === "mutex" ? [k.lock("stats_lock"), k.store("nr_requests", k.add(k.v("nr_requests"), 1)), k.unlock("stats_lock")]
        : [k.store("nr_requests", k.add(k.v("nr_requests"), 1))];
      const work = [k.repeat(ROUNDS, [k.user("handle request"), ...inc])];
      const worker = k.thread([...work, k.fetchAdd("finished", 1)]);
      const join = [
        k.load("fin", "finished", { atomic: true }),
        k.loopWhile(k.lt(k.r("fin"), THREADS - 1), { max: Infinity }, [k.load("fin", "finished", { atomic: true })]),
      ];
      return {
        vars: { nr_requests: { type: "int" }, finished: { type: "int" } },
        procs: [{ name: "server", main: [worker, worker, ...work, ...join] }],
        invariants: [
          k.invariant("count-exact", k.eq(k.v("nr_requests"), THREADS * ROUNDS), `an update was lost: nr_requests should end at ${THREADS * ROUNDS}`, { on: "exit" }),
        ],
      };
    },
  });
