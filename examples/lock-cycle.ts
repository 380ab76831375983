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
