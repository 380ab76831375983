// A synthetic load for benchmarks and property tests: processes forking and
// being reaped, threads locking, allocating and exiting. It runs until
// --max-events; it is built so that no invariant breaks.

import { exit, fork, free, lock, malloc, repeat, thread, unlock, user, waitpid, type Op } from "../kernel/index.ts";
import { defineScenario } from "./api.ts";

const worker = (a: string, b: string): Op[] => [
  repeat(Infinity, [
    lock(a), user("critical section"), malloc(16), unlock(a),
    user("compute"), malloc(64), free(16),
    lock(b), user("critical section"), unlock(b), free(64), malloc(200), free(200),
  ]),
];

const shortLived: Op[] = [
  thread([repeat(20, [lock("m"), malloc(16), user("child work"), free(16), unlock("m")])]),
  thread([repeat(20, [lock("m"), user("child work"), unlock("m"), malloc(64), free(64)])]),
  user("child main", 30),
  exit(0),
];

export default defineScenario({
  name: "stress",
  description: "synthetic load (forks, threads, locks, allocations) that runs until --max-events; for benchmarks",
  fixes: {},
  defaults: { seed: 1, maxEvents: 1_000_000 },
  build: () => ({
    procs: [
      { name: "init", main: [repeat(Infinity, [fork(shortLived), user("init: wait"), waitpid("child")])] },
      {
        name: "server",
        main: [
          thread(worker("a", "b")),
          thread(worker("b", "c")),
          thread(worker("a", "c")),
          repeat(Infinity, [user("server main"), malloc(16), free(16)]),
        ],
      },
    ],
  }),
});
