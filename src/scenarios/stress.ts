// A synthetic load for benchmarks and property tests: processes forking and
// being reaped, threads locking, allocating and exiting. It runs until
// --max-events; it is built so that no invariant breaks.
//
// --opt state=vars adds shared state: each worker also updates a counter
// under its lock (plain load and store), bumps an atomic statistic
// (fetch-add), publishes a flag (xchg, atomic load, cas), allocates and frees
// an object it dereferences, branches on what it read, and marks progress;
// init counts its forks in a variable each child inherits a copy of and bumps.
// Every access is ordered (a lock, an atomic, or fork), so it stays race-free.

import {
  add, alloc, cas, dealloc, eq, exit, fetchAdd, fork, free, gt, load, lock, malloc, progress, r, repeat, store, thread,
  unlock, use, user, v, waitpid, when, xchg, type Op, type VarDecl,
} from "../kernel/index.ts";
import { defineScenario } from "./api.ts";

const worker = (a: string, b: string, vars: boolean): Op[] => [
  repeat(Infinity, [
    lock(a), user("critical section"), malloc(16),
    ...(vars ? [store(`count_${a}`, add(v(`count_${a}`), 1))] : []),
    unlock(a),
    user("compute"), malloc(64), free(16),
    ...(vars
      ? [
        fetchAdd("stats", 1, { reg: "seen" }),
        xchg("flag", 1, { reg: "was" }),
        load("f", "flag", { atomic: true }),
        when(gt(r("f"), 0), [cas("flag", 1, 0, { reg: "was" })], [user("flag clear")]),
        alloc("buf", "request"), use(r("buf"), "request->len"), dealloc(r("buf")),
        progress("request done"),
      ]
      : []),
    lock(b), user("critical section"), unlock(b), free(64), malloc(200), free(200),
  ]),
];

const shortLived = (vars: boolean): Op[] => [
  thread([repeat(20, [lock("m"), malloc(16), user("child work"), free(16), unlock("m")])]),
  thread([repeat(20, [lock("m"), user("child work"), unlock("m"), malloc(64), free(64)])]),
  ...(vars ? [lock("m"), store("children", add(v("children"), 1)), when(eq(v("children"), 0), [user("never")]), unlock("m")] : []),
  user("child main", 30),
  exit(0),
];

const VARS: Record<string, VarDecl> = {
  count_a: { type: "int" }, count_b: { type: "int" }, count_c: { type: "int" },
  stats: { type: "int" }, flag: { type: "int" }, children: { type: "int" },
};

export default defineScenario({
  name: "stress",
  description: "synthetic load (forks, threads, locks, allocations; --opt state=vars adds variables and atomics) that runs until --max-events; for benchmarks",
  fixes: {},
  options: {
    state: { values: ["none", "vars"], default: "none", doc: "vars: workers also share variables (locked plain accesses, atomics, objects)" },
  },
  defaults: { seed: 1, maxEvents: 1_000_000 },
  build: ({ options }) => {
    const vars = options.state === "vars";
    return {
      ...(vars ? { vars: VARS } : {}),
      procs: [
        {
          name: "init",
          main: [repeat(Infinity, [...(vars ? [store("children", add(v("children"), 1))] : []), fork(shortLived(vars)), user("init: wait"), waitpid("child")])],
        },
        {
          name: "server",
          main: [
            thread(worker("a", "b", vars)),
            thread(worker("b", "c", vars)),
            thread(worker("a", "c", vars)),
            repeat(Infinity, [user("server main"), malloc(16), free(16)]),
          ],
        },
      ],
    };
  },
});
