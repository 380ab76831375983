// Condition variables, semaphores, read-write locks and trylock, built on
// futexes (src/kernel/sync.ts).
import { describe, expect, it } from "vitest";
import * as k from "../src/kernel/index.ts";
import { type KEvent, type KState, type Op, simulate, type VarDecl, validateWorld } from "../src/kernel/index.ts";
import { describe as describeEv } from "../src/replay/index.ts";
import { regs, runWorld, violationOf, worldOf } from "./helpers/world.ts";

const world = (main: Op[], vars: Record<string, VarDecl>, cpus = 2) => worldOf([main], { vars, cpus });
const run = (main: Op[], vars: Record<string, VarDecl>, seed = 1, cpus = 2) => runWorld([main], { vars, seed, cpus });
const value = (st: KState, name: string) => [...st.vars.values()].find((v) => v.name === name)?.value;
const violation = violationOf;

describe("condition variables", () => {
  const vars = { cv: k.condvar(), ready: { type: "int" as const }, got: { type: "int" as const } };
  const consumer = (loop: boolean): Op[] => [
    k.lock("m"),
    loop ? k.loopWhile(k.eq(k.v("ready"), 0), { max: Infinity }, [k.cvWait("cv", "m")]) : k.cvWait("cv", "m"),
    k.store("got", 1),
    k.unlock("m"),
  ];
  const producer: Op[] = [k.lock("m"), k.store("ready", 1), k.cvSignal("cv"), k.unlock("m")];
  it("wait with a predicate loop never misses the signal (seeds 1..60)", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = run([k.thread(consumer(true)), k.user("main", seed % 7), ...producer, k.sleep(100_000)], vars, seed);
      expect(r.st.outcome!.kind).toBe("ok");
      expect(value(r.st, "got")).toBe(1);
      expect(violation(r)).toBeNull();
    }
  });
  it("a signal before the wait is lost without the loop: the waiter can never be woken (no-deadlock), the lost wakeup its cause", () => {
    // main then waits for the consumer to finish (a futex it never wakes: the consumer never gets there).
    const r = run([...producer, k.thread([...consumer(false), k.futexWake("got", 1)]), k.futexWait("got", 0)], vars);
    const v = violation(r)!;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.message).toMatch(
      /^tid [12] \(pid 1\) waits on (condvar cv|futex got), which can never return: the only thread that could wake it is tid [12] \(pid 1\), which waits on (condvar cv|futex got)$/,
    );
    const lost = r.evs.find((e) => e.kind === k.KIND.futexWake)!;
    expect(describeEv(lost, r.st)).toBe("tid 1 wakes up to 1 on condvar cv: no thread is waiting, the wakeup is lost");
    expect(v.causes.map((c) => c.seq)).toContain(lost.seq);
  });
  it("a wait on a condvar while holding another mutex the signaller needs: stuck, the waiter's acquire of that mutex among the causes", () => {
    // The waiter takes outer, then inner, and waits on cv (releasing inner only); main needs outer to signal.
    const waiter: Op[] = [
      k.lock("outer"),
      k.lock("m"),
      k.loopWhile(k.eq(k.v("ready"), 0), { max: Infinity }, [k.cvWait("cv", "m")]),
      k.unlock("m"),
      k.unlock("outer"),
    ];
    let found = 0;
    let atWait = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const r = run([k.thread(waiter), k.user("main", 3), k.lock("outer"), ...producer, k.unlock("outer")], vars, seed);
      const v = violation(r);
      if (r.st.outcome!.kind !== "hang") continue;
      found++;
      expect(v!.invariant).toBe("no-deadlock");
      if (!/waits on condvar cv, which can never return/.test(v!.message)) continue;
      atWait++;
      expect(v!.message).toMatch(
        /^tid 2 \(pid 1\) waits on condvar cv, which can never return: the only thread that could wake it is tid 1 \(pid 1\), which blocks on outer held by tid 2$/,
      );
      const acquire = r.evs.find((e) => e.kind === k.KIND.lockAcquire && e.tid === 2)!;
      expect(v!.causes).toContainEqual({ seq: acquire.seq, why: "tid 2 took outer" });
    }
    expect([found > 0, atWait > 0]).toEqual([true, true]);
  });
  it("the waiter releases the mutex while it waits and holds it again when it returns; broadcast wakes all", () => {
    const w = (_id: number): Op[] => [
      k.lock("m"),
      k.loopWhile(k.eq(k.v("ready"), 0), { max: Infinity }, [k.cvWait("cv", "m")]),
      k.fetchAdd("got", 1),
      k.unlock("m"),
    ];
    const r = run(
      [
        k.thread(w(1)),
        k.thread(w(2)),
        k.thread(w(3)),
        k.sleep(20_000),
        k.lock("m"),
        k.store("ready", 1),
        k.cvBroadcast("cv"),
        k.unlock("m"),
        k.sleep(100_000),
      ],
      vars,
    );
    expect(value(r.st, "got")).toBe(3);
    const fw = r.evs.filter((e) => e.kind === k.KIND.futexWake);
    expect(fw.at(-1)!.c).toBe(3);
  });
  it("timedwait returns ETIMEDOUT with the mutex held again", () => {
    const r = run([k.lock("m"), k.cvWait("cv", "m", { timeout: 5_000, ret: "r" }), k.unlockChecked("m", "u")], vars);
    expect(regs(r.evs, "r")).toEqual([k.ERRNO.ETIMEDOUT]);
    expect(regs(r.evs, "u")).toEqual([0]);
    // The failure is an errno event, as every failed call's (dataflow's "last failed call" finds it), with or without ret.
    for (const ret of ["r", undefined]) {
      const q = run([k.lock("m"), k.cvWait("cv", "m", { timeout: 5_000, ret }), k.unlock("m")], vars);
      const errs = q.evs.filter((e) => e.kind === k.KIND.errno);
      expect(errs.map((e) => describeEv(e, q.st))).toEqual(["tid 1: pthread_cond_timedwait(cv) fails: ETIMEDOUT"]);
      // after the mutex is taken again
      expect(q.evs.filter((e) => e.tid === 1 && e.seq < errs[0]!.seq).at(-1)!.kind).toBe(k.KIND.lockAcquire);
    }
  });
  it("an error-checking mutex not held: EPERM, no wait (POSIX)", () => {
    const w = { ...world([k.cvWait("cv", "m", { ret: "r" })], vars), locks: { m: { type: "errorcheck" as const } } };
    const evs: KEvent[] = [];
    simulate(w, { seed: 1, maxEvents: 1000 }, (e) => evs.push({ ...e }));
    expect(regs(evs, "r")).toEqual([k.ERRNO.EPERM]);
    expect(evs.some((e) => e.kind === k.KIND.futexWait)).toBe(false);
    expect(evs.filter((e) => e.kind === k.KIND.errno).map((e) => describeEv(e))).toEqual([
      "tid 1: pthread_cond_wait(cv) fails: EPERM",
    ]);
  });
});

describe("semaphores", () => {
  it("count, trywait (EAGAIN), timedwait (ETIMEDOUT), post wakes a waiter", () => {
    const r = run(
      [
        k.thread([k.sleep(5_000), k.semPost("s")]),
        k.semWait("s", { ret: "a" }),
        k.semWait("s", { try: true, ret: "b" }),
        k.semWait("s", { timeout: 2_000, ret: "c" }),
        k.semPost("s"),
        k.semPost("s"),
        k.semWait("s", { ret: "d" }),
      ],
      { s: k.semaphore(0) },
    );
    expect([regs(r.evs, "a"), regs(r.evs, "b"), regs(r.evs, "c"), regs(r.evs, "d")]).toEqual([
      [0],
      [k.ERRNO.EAGAIN],
      [k.ERRNO.ETIMEDOUT],
      [0],
    ]);
    expect(value(r.st, "s")).toBe(1);
  });
  it("n holders at most: a pool guarded by semaphore(2) never has three inside (seeds 1..40)", () => {
    const worker: Op[] = [
      k.repeat(3, [
        k.semWait("pool"),
        k.fetchAdd("inside", 1, { reg: "n" }),
        k.assert(k.lt(k.r("n"), 2), "at most 2 inside"),
        k.user("use", 2),
        k.fetchAdd("inside", -1),
        k.semPost("pool"),
      ]),
    ];
    for (let seed = 1; seed <= 40; seed++) {
      const r = run(
        [k.thread(worker), k.thread(worker), k.thread(worker), k.sleep(1_000_000)],
        { pool: k.semaphore(2), inside: { type: "int" } },
        seed,
      );
      expect(r.st.outcome!.kind).toBe("ok");
    }
  });
});

describe("read-write locks and trylock", () => {
  it("readers share, a writer excludes (seeds 1..40)", () => {
    const reader: Op[] = [
      k.repeat(3, [
        k.rdlock("rw"),
        k.fetchAdd("readers", 1),
        k.load("w", "writers"),
        k.assert(k.eq(k.r("w"), 0), "no writer while reading"),
        k.user("read", 2),
        k.fetchAdd("readers", -1),
        k.rwUnlock("rw"),
      ]),
    ];
    const writer: Op[] = [
      k.repeat(3, [
        k.wrlock("rw"),
        k.fetchAdd("writers", 1),
        k.load("n", "readers"),
        k.assert(k.eq(k.r("n"), 0), "no reader while writing"),
        k.user("write", 2),
        k.fetchAdd("writers", -1),
        k.rwUnlock("rw"),
      ]),
    ];
    for (let seed = 1; seed <= 40; seed++) {
      const r = run(
        [k.thread(reader), k.thread(reader), k.thread(writer), k.sleep(1_000_000)],
        { rw: k.rwlock(), readers: { type: "int" }, writers: { type: "int" } },
        seed,
      );
      expect(r.st.outcome!.kind).toBe("ok");
    }
  });
  it("try variants and unlock of a free rwlock answer EBUSY and EPERM", () => {
    const r = run(
      [
        k.rdlock("rw"),
        k.wrlock("rw", { try: true, ret: "a" }),
        k.rdlock("rw", { try: true, ret: "b" }),
        k.rwUnlock("rw"),
        k.rwUnlock("rw"),
        k.rwUnlock("rw", { ret: "c" }),
      ],
      { rw: k.rwlock() },
    );
    expect([regs(r.evs, "a"), regs(r.evs, "b"), regs(r.evs, "c")]).toEqual([[k.ERRNO.EBUSY], [0], [k.ERRNO.EPERM]]);
  });
  it("trylock takes a free mutex, answers EBUSY for a held one", () => {
    const r = run(
      [
        k.thread([k.lock("m"), k.sleep(10_000), k.unlock("m")]),
        k.sleep(1_000),
        k.trylock("m", { ret: "a" }),
        k.sleep(20_000),
        k.trylock("m", { ret: "b" }),
        k.unlock("m"),
      ],
      {},
    );
    expect([regs(r.evs, "a"), regs(r.evs, "b")]).toEqual([[k.ERRNO.EBUSY], [0]]);
    expect(describeEv(r.evs.find((e) => e.kind === k.KIND.errno)!, r.st)).toBe(
      "tid 1: pthread_mutex_trylock(m): held by tid 2 fails: EBUSY",
    );
  });
});

describe("bad input: one line with the op's path", () => {
  it("an unknown condvar, a semaphore used as a condvar", () => {
    expect(validateWorld(world([k.cvWait("nope", "m")], {}))).toMatch(
      /^procs\[0\]\.main\[0\] \(cvWait\) at kernel-sync\.test\.ts:\d+: unknown condvar 'nope' \(declare it in build\(\)'s vars: \{ nope: condvar\(\) \}\)$/,
    );
    expect(validateWorld(world([k.user("x"), k.cvSignal("s")], { s: k.semaphore(1) }))).toMatch(
      /^procs\[0\]\.main\[1\] \(cvSignal\) at kernel-sync\.test\.ts:\d+: 's' is a semaphore, not a condvar \(declare it as condvar\(\)\)$/,
    );
    expect(validateWorld(world([k.semPost("x")], { x: { type: "int" } }))).toMatch(
      /'x' is a plain variable, not a semaphore/,
    );
  });
});
