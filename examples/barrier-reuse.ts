// barrier-reuse.ts: a reusable barrier without a generation count.
//
// Models: three threads meet at a barrier between phases of work (a
// hand-rolled pthread_barrier_wait: a mutex, a condition variable and an
// arrival count). The last to arrive resets `arrived` to 0 and broadcasts;
// the others wait while `arrived != 0`. The predicate is the count, not the
// barrier's generation: a thread released first can run its next phase and
// arrive again (arrived = 1) before a waiter it woke re-checks the count, and
// that waiter, seeing 1, sleeps again. When every thread ends up waiting, no
// one is left to broadcast.
//
// ktrace reports (buggy variant): outcome `hang`; `no-deadlock` at the last
// thread's futex-wait on `cv` ("waits on condvar cv, which can never
// return"), the other two waits among its causes, and the story: the
// broadcast that woke the waiter ("was woken by tid 3 and waited again") and
// the next round's store of arrived = 1 it read before sleeping again. `explore` lists the rare
// seed that passes; `ktrace diff` of a failing and a passing seed shows
// `arrived` as the first state that parts.
//
// Fix: `generation` (waiters wait for the generation count to change, which
// only the last arrival of their own round does).
export default (k) =>
  k.defineScenario({
    name: "barrier-reuse",
    description: "a barrier reused without a generation count: a woken waiter sees the next round's arrival and sleeps again",
    fixes: { generation: "waiters wait for the generation to change, not for arrived == 0" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const N = 3;
      const arrive = k.store("arrived", k.add(k.v("arrived"), 1));
      const wait =
        fix === "generation"
          ? [
              k.load("g", "gen"),
              arrive,
              k.when(
                k.eq(k.v("arrived"), N),
                [k.store("arrived", 0), k.store("gen", k.add(k.v("gen"), 1)), k.cvBroadcast("cv")],
                [k.loopWhile(k.eq(k.v("gen"), k.r("g")), { max: Infinity }, [k.cvWait("cv", "m")])],
              ),
            ]
          : [
              arrive,
              k.when(
                k.eq(k.v("arrived"), N),
                [k.store("arrived", 0), k.cvBroadcast("cv")],
                [k.loopWhile(k.ne(k.v("arrived"), 0), { max: Infinity }, [k.cvWait("cv", "m")])],
              ),
            ];
      const phase = (i) => [k.user(`phase ${i}`), k.lock("m"), ...wait, k.unlock("m")];
      const body = [...phase(1), ...phase(2), ...phase(3)];
      return {
        vars: { arrived: { type: "int" }, gen: { type: "int" }, cv: k.condvar() },
        procs: [
          {
            name: "workers",
            main: [k.thread(body, { tid: "a" }), k.thread(body, { tid: "b" }), ...body, k.join(k.r("a")), k.join(k.r("b"))],
          },
        ],
      };
    },
  });
