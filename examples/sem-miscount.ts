// sem-miscount.ts: a semaphore posted twice on an error path.
//
// Models: a pool of 2 database connections guarded by a counting semaphore
// (sem_init(&pool, 0, 2)). Each of three workers takes a connection
// (sem_wait), runs a query, and gives it back (sem_post). A query can fail;
// the error path gives the connection back and then falls through to the
// common exit, which gives it back again: the count goes up by one for every
// failure, and the pool hands out connections it does not have.
//
// ktrace reports (buggy variant): the scenario's own invariant `pool-limit`
// (at most 2 connections in use) at the fetch-add that makes a third one in
// use, on the seeds where a failed query's second sem_post lets a third
// worker in while two still hold connections; the outcome is `ok` (nothing
// crashes: the connections are only counted). `ktrace events --kind
// 'fetch-add,user'` shows the failed query's two posts (fetch-adds of pool).
//
// Fix: `single-post` (the error path returns through the common exit only).
export default (k) =>
  k.defineScenario({
    name: "sem-miscount",
    description: "an error path posts a semaphore and then the common exit posts it again: the pool's count grows",
    fixes: { "single-post": "the error path gives the connection back once, through the common exit" },
    defaults: { seed: 1, cpus: 2 },
    build: ({ fix }) => {
      const query = (fails) => [
        k.semWait("pool"),
        k.fetchAdd("in_use", 1),
        k.user("run the query", 2),
        k.fetchAdd("in_use", -1),
        ...(fails && fix !== "single-post" ? [k.user("query failed: release the connection"), k.semPost("pool")] : []),
        k.semPost("pool"),
      ];
      const worker = (fails) => [k.repeat(3, query(fails))];
      return {
        vars: { pool: k.semaphore(2), in_use: { type: "int" } },
        procs: [{
          name: "server",
          main: [
            k.thread(worker(true), { tid: "w1" }),
            k.thread(worker(false), { tid: "w2" }),
            k.thread(worker(false), { tid: "w3" }),
            k.join(k.r("w1")), k.join(k.r("w2")), k.join(k.r("w3")),
          ],
        }],
        invariants: [k.invariant("pool-limit", k.le(k.v("in_use"), 2), "more connections in use than the pool has (2)")],
      };
    },
  });
