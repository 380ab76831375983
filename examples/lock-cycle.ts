// lock-cycle.ts: three threads, three locks, a cycle.
//
// Models: three workers each move an item between two queues, taking the
// source queue's lock and then the destination's: A→B, B→C and C→A. Each
// pair of threads agrees on an order, but the three together do not: when
// each holds its first lock, each waits for the next one's, for ever.
//
// ktrace reports (buggy variant, on the seeds where all three take their
// first lock before any takes its second): outcome `hang`; `no-deadlock` at
// the lock-wait that closes the wait-for cycle, with the whole cycle among its
// causes: the three acquires and the other two threads' lock-waits.
//
// The opt-in lock-order invariant (lockdep's rule) finds the cycle on runs
// that do not hang too: `ktrace check T --invariant lock-order` on a trace of
// seed 1 (which passes) reports "lock order inversion (potential deadlock):
// tid 2 (pid 1) waits for queue_b while holding queue_a; tid 3 (pid 1) took
// queue_c while holding queue_b (at seq 26); tid 1 (pid 1) took queue_a while
// holding queue_c (at seq 13)". With rules: { lockOrder: true } explore would
// fail 1,988 of seeds 1..2000 (every hang, and 1,349 of the 1,361 passing
// runs; in the other 12, main exits before a mover takes its second lock).
// The scenario leaves the rule off: its counts stay no-deadlock's.
//
// Fix: `ordered` (a global lock order, A < B < C: the C→A mover takes A first).
export default (k) =>
  k.defineScenario({
    name: "lock-cycle",
    description: "three threads take three locks in a cycle (A→B, B→C, C→A): deadlock",
    fixes: { ordered: "one global lock order (A before B before C): the third mover takes A, then C" },
    defaults: { seed: 1 },
    build: ({ fix }) => {
      const move = (first, second) => [
        k.repeat(2, [
          k.lock(first), k.user(`dequeue from ${first}`),
          k.lock(second), k.user(`enqueue on ${second}`),
          k.unlock(second), k.unlock(first), k.user("account the move"),
        ]),
      ];
      return {
        procs: [{
          name: "mover",
          main: [
            k.thread(move("queue_a", "queue_b")),
            k.thread(move("queue_b", "queue_c")),
            ...(fix === "ordered" ? move("queue_a", "queue_c") : move("queue_c", "queue_a")),
            k.user("main: done", 30),
          ],
        }],
      };
    },
  });
