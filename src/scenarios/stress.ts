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
  add,
  alloc,
  cas,
  cloexec,
  close,
  condvar,
  cvSignal,
  cvWait,
  dealloc,
  dup,
  eq,
  exit,
  fetchAdd,
  fork,
  free,
  ge,
  gt,
  join,
  kill,
  load,
  lock,
  loopWhile,
  malloc,
  ne,
  type Op,
  pause,
  pipe,
  progress,
  r,
  rdlock,
  read,
  repeat,
  rwlock,
  rwUnlock,
  semaphore,
  semPost,
  semWait,
  set,
  sigaction,
  sigmask,
  sleep,
  store,
  sub,
  thread,
  unlock,
  use,
  user,
  type VarDecl,
  v,
  waitpid,
  when,
  write,
  wrlock,
  xchg,
} from "../kernel/index.ts";
import { defineScenario } from "./api.ts";

const worker = (a: string, b: string, vars: boolean): Op[] => [
  repeat(Infinity, [
    lock(a),
    user("critical section"),
    malloc(16),
    ...(vars ? [store(`count_${a}`, add(v(`count_${a}`), 1))] : []),
    unlock(a),
    user("compute"),
    malloc(64),
    free(16),
    ...(vars
      ? [
          fetchAdd("stats", 1, { reg: "seen" }),
          xchg("flag", 1, { reg: "was" }),
          load("f", "flag", { atomic: true }),
          when(gt(r("f"), 0), [cas("flag", 1, 0, { reg: "was" })], [user("flag clear")]),
          alloc("buf", "request"),
          use(r("buf"), "request->len"),
          dealloc(r("buf")),
          progress("request done"),
        ]
      : []),
    lock(b),
    user("critical section"),
    unlock(b),
    free(64),
    malloc(200),
    free(200),
  ]),
];

const shortLived = (vars: boolean): Op[] => [
  thread([repeat(20, [lock("m"), malloc(16), user("child work"), free(16), unlock("m")])]),
  thread([repeat(20, [lock("m"), user("child work"), unlock("m"), malloc(64), free(64)])]),
  ...(vars
    ? [lock("m"), store("children", add(v("children"), 1)), when(eq(v("children"), 0), [user("never")]), unlock("m")]
    : []),
  user("child main", 30),
  exit(0),
];

const VARS: Record<string, VarDecl> = {
  count_a: { type: "int" },
  count_b: { type: "int" },
  count_c: { type: "int" },
  stats: { type: "int" },
  flag: { type: "int" },
  children: { type: "int" },
};

// --opt state=os: the vars load plus the objects of issue 11, each used the
// way a correct program uses it: a bounded queue under a mutex and two
// condition variables (wait in a predicate loop), a semaphore pool, a
// read-write lock, threads created and joined, a periodic timed wait, a
// signal whose handler only stores a flag (async-signal-safe), a pipe writer
// child and a pausing child, a real-time thread on a priority-inheriting mutex.
const OS_VARS: Record<string, VarDecl> = {
  queued: { type: "int" },
  notEmpty: condvar(),
  notFull: condvar(),
  pool: semaphore(2),
  inPool: { type: "int" },
  rw: rwlock(),
  table: { type: "int" },
  ticks: { type: "int" },
  flag: { type: "int" },
  tick: condvar(),
  hup: { type: "int" },
};

const osThreads = (): Op[] => [
  // producer / consumer on a bounded queue of 4
  thread([
    repeat(Infinity, [
      lock("q"),
      loopWhile(ge(v("queued"), 4), { max: Infinity }, [cvWait("notFull", "q")]),
      store("queued", add(v("queued"), 1)),
      cvSignal("notEmpty"),
      unlock("q"),
      progress("produced"),
    ]),
  ]),
  thread([
    repeat(Infinity, [
      lock("q"),
      loopWhile(eq(v("queued"), 0), { max: Infinity }, [cvWait("notEmpty", "q")]),
      store("queued", sub(v("queued"), 1)),
      cvSignal("notFull"),
      unlock("q"),
      user("consume"),
    ]),
  ]),
  // a pool of 2 for 3 users; readers and a writer of a table
  ...[1, 2, 3].map(() =>
    thread([
      repeat(Infinity, [
        semWait("pool"),
        fetchAdd("inPool", 1),
        user("pooled work"),
        fetchAdd("inPool", -1),
        semPost("pool"),
        rdlock("rw"),
        load("t", "table", { atomic: true }),
        rwUnlock("rw"),
      ]),
    ]),
  ),
  thread([
    sigmask("block", ["SIGHUP"]),
    repeat(Infinity, [wrlock("rw"), fetchAdd("table", 1), rwUnlock("rw"), sleep(2_000)]),
  ]),
  // a periodic tick with a timed wait; a signal whose handler only stores a flag
  thread([
    repeat(Infinity, [
      lock("t"),
      cvWait("tick", "t", { timeout: 5_000, ret: "tw" }),
      fetchAdd("ticks", 1),
      unlock("t"),
      kill(2, "SIGHUP"),
    ]),
  ]),
  // a child writes into a pipe (close-on-exec) and exits; the parent reads to end of file and reaps it;
  // a child that pauses until it is sent SIGTERM
  thread([
    repeat(Infinity, [
      pipe({ read: "prd", write: "pwr", cloexec: true }),
      fork(
        [
          close(r("prd")),
          repeat(3, [write(r("pwr"), 16)]),
          dup(r("pwr"), "pw2"),
          cloexec(r("pw2"), false),
          write(r("pw2"), 8),
        ],
        { pid: "pc" },
      ),
      close(r("pwr")),
      set("pn", 1),
      loopWhile(ne(r("pn"), 0), { max: Infinity }, [read(r("prd"), 32, { ret: "pn" })]),
      close(r("prd")),
      waitpid(r("pc")),
      fork([pause()], { pid: "pp" }),
      sleep(2_000),
      kill(r("pp"), "SIGTERM"),
      waitpid(r("pp")),
    ]),
  ]),
  // a periodic real-time thread (fifo) sharing a priority-inheriting mutex with a background one
  thread([repeat(Infinity, [sleep(3_000), lock("rt"), user("rt work"), unlock("rt")])], { prio: 10, policy: "fifo" }),
  thread([repeat(Infinity, [lock("rt"), user("background work", 2), unlock("rt"), user("background")])]),
  // short-lived helper threads, joined
  thread([
    repeat(Infinity, [
      thread([user("helper", 3)], { tid: "h" }),
      join(r("h")),
      thread([user("detached helper")], { detached: true }),
      sleep(1_000),
    ]),
  ]),
];

export default defineScenario({
  name: "stress",
  description:
    "synthetic load (forks, threads, locks, allocations; --opt state=vars adds variables and atomics) that runs until --max-events; for benchmarks",
  fixes: {},
  options: {
    state: {
      values: ["none", "vars", "os"],
      default: "none",
      doc: "vars: workers also share variables (locked plain accesses, atomics, objects); os: vars plus condvars, semaphores, rwlocks, timed waits, joins, signals, pipes and priorities",
    },
  },
  defaults: { seed: 1, maxEvents: 1_000_000 },
  build: ({ options }) => {
    const os = options.state === "os";
    const vars = options.state === "vars" || os;
    return {
      ...(vars ? { vars: os ? { ...VARS, ...OS_VARS } : VARS } : {}),
      ...(os ? { locks: { rt: { type: "mutex" as const, protocol: "inherit" as const } } } : {}),
      procs: [
        {
          name: "init",
          main: [
            repeat(Infinity, [
              ...(vars ? [store("children", add(v("children"), 1))] : []),
              fork(shortLived(vars)),
              user("init: wait"),
              waitpid("child"),
            ]),
          ],
        },
        {
          name: "server",
          main: [
            ...(os
              ? [sigaction("SIGHUP", [store("hup", 1, { atomic: true })], { name: "on_hup" }), ...osThreads()]
              : []),
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
