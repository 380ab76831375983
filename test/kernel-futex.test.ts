// Futexes, sleeps and timers: the kernel's wait primitive on the shared
// variables and the virtual clock (src/kernel/futex.ts), and the no-deadlock
// rule for waits nothing can end any more (src/kernel/wait.ts).
import { describe, expect, it } from "vitest";
import type { Op, VarDecl } from "../src/kernel/index.ts";
import * as k from "../src/kernel/index.ts";
import { describe as describeEv } from "../src/replay/index.ts";
import { ofKind, regs, runWorld, violationOf } from "./helpers/world.ts";

const run = (
  main: Op[],
  vars: Record<string, VarDecl> = { f: { type: "int" } },
  o: { seed?: number; cpus?: number; max?: number } = {},
) => runWorld([main], { vars, seed: o.seed, cpus: o.cpus, maxEvents: o.max ?? 10_000 });
const of = ofKind;
const violation = violationOf;

describe("futex", () => {
  it("wait blocks while the word holds the value; wake wakes it (0), in one wake event naming the waker", () => {
    const r = run([
      k.thread([k.futexWait("f", 0, { ret: "r" })]),
      k.sleep(10_000),
      k.store("f", 1),
      k.futexWake("f", 1, { ret: "n" }),
      k.sleep(10_000),
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
    expect(regs(r.evs, "r")).toEqual([0]);
    expect(regs(r.evs, "n")).toEqual([1]);
    const wake = of(r.evs, k.KIND.futexWake)[0]!;
    expect(k.fieldsOf(wake)).toMatchObject({ n: 1, woken: 1 });
    const w = of(r.evs, k.KIND.wake).find((e) => e.c === k.HOW.futex)!;
    expect(k.fieldsOf(w)).toEqual({ tid: 2, by: 1, how: k.HOW.futex, context: "f" });
    expect(w.seq).toBe(wake.seq + 1);
  });
  it("a word that no longer holds the value is EAGAIN at once, a timeout ETIMEDOUT, both as events", () => {
    const r = run([
      k.store("f", 5),
      k.futexWait("f", 0, { ret: "a" }),
      k.futexWait("f", 5, { timeout: 2_000, ret: "t" }),
    ]);
    expect(regs(r.evs, "a")).toEqual([k.ERRNO.EAGAIN]);
    expect(regs(r.evs, "t")).toEqual([k.ERRNO.ETIMEDOUT]);
    const e = of(r.evs, k.KIND.errno)[0]!;
    expect(describeEv(e)).toBe("tid 1: futex_wait(f == 0) fails: EAGAIN");
    const timer = of(r.evs, k.KIND.wake)[0]!;
    expect(timer).toMatchObject({ tid: -1, a: 1, b: -1, c: k.HOW.timer, s: "irq:timer" });
    const fw = of(r.evs, k.KIND.futexWait)[0]!;
    expect(timer.time).toBeGreaterThanOrEqual(fw.c); // fired at its deadline
  });
  it("wake takes the waiters in the order they queued, and up to n", () => {
    const r = run(
      [
        k.thread([k.futexWait("f", 0), k.fetchAdd("order", 1, { reg: "me" })]),
        k.sleep(1_000),
        k.thread([k.futexWait("f", 0)]),
        k.sleep(1_000),
        k.thread([k.futexWait("f", 0)]),
        k.sleep(1_000),
        k.futexWake("f", 2, { ret: "n" }),
        k.sleep(5_000),
        k.futexWake("f", Infinity, { ret: "m" }),
      ],
      { f: { type: "int" }, order: { type: "int" } },
    );
    expect([regs(r.evs, "n"), regs(r.evs, "m")]).toEqual([[2], [1]]);
    expect(
      of(r.evs, k.KIND.wake)
        .filter((e) => e.c === k.HOW.futex)
        .map((e) => e.a),
    ).toEqual([2, 3, 4]);
    expect(r.st.outcome!.kind).toBe("ok");
  });
  it("a wake with no waiter is lost: describe says so", () => {
    const r = run([k.futexWake("f", 1)]);
    expect(describeEv(of(r.evs, k.KIND.futexWake)[0]!, r.st)).toBe(
      "tid 1 wakes up to 1 on futex f: no thread is waiting, the wakeup is lost",
    );
  });
});

describe("sleep and the virtual clock", () => {
  it("an idle machine jumps to the next timer: a long sleep costs a handful of events, not a busy loop", () => {
    const r = run([k.sleep(1_000_000_000), k.user("awake")], undefined, { cpus: 4 });
    expect(r.st.outcome!.kind).toBe("ok");
    expect(r.evs.length).toBeLessThan(40);
    const awake = r.evs.find((e) => e.kind === k.KIND.user)!;
    expect(awake.time).toBeGreaterThanOrEqual(1_000_000_000);
    expect(of(r.evs, k.KIND.sleep)[0]!.a).toBeLessThanOrEqual(awake.time);
  });
  it("sleeping threads take turns by their deadlines on one cpu", () => {
    const r = run(
      [
        k.thread([k.sleep(30_000), k.fetchAdd("order", 1, { reg: "a" })]),
        k.thread([k.sleep(10_000), k.fetchAdd("order", 1, { reg: "b" })]),
        k.sleep(50_000),
      ],
      { order: { type: "int" } },
      { cpus: 1 },
    );
    expect(of(r.evs, k.KIND.fetchAdd).map((e) => [e.tid, e.b])).toEqual([
      [3, 0],
      [2, 1],
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
  });
  it("the same seed gives the same run", () => {
    const prog = [k.thread([k.sleep(3_000), k.futexWake("f", 1)]), k.futexWait("f", 0, { timeout: 5_000, ret: "r" })];
    expect(JSON.stringify(run(prog, undefined, { seed: 7 }).evs)).toBe(
      JSON.stringify(run(prog, undefined, { seed: 7 }).evs),
    );
  });
});

describe("no-deadlock: a futex wait nothing can end any more", () => {
  it("is found at the wait when no other thread is left, with the lost wakeup as its cause", () => {
    const r = run([k.thread([k.futexWake("f", 1)]), k.sleep(50_000), k.futexWait("f", 0)]);
    expect(r.st.outcome!.kind).toBe("hang");
    expect(r.st.outcome!.message).toBe("tid 1 (pid 1) waits on futex f");
    const v = violation(r)!;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.event.kind).toBe(k.KIND.futexWait);
    expect(v.message).toBe(
      "tid 1 (pid 1) waits on futex f, which can never return: no other thread of pid 1 is left to wake it",
    );
    const lost = of(r.evs, k.KIND.futexWake)[0]!;
    expect(v.causes).toEqual([
      { seq: lost.seq, why: "tid 2 woke futex f while no thread waited: that wakeup was lost" },
    ]);
  });
  it("is found at the exit of the last thread that could have woken it", () => {
    const r = run([k.thread([k.sleep(20_000)]), k.futexWait("f", 0)]);
    const v = violation(r)!;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.event.kind).toBe(k.KIND.threadExit);
    expect(v.event.a).toBe(2);
    expect(v.causes.map((c) => c.why)).toEqual(["tid 1 waits on futex f"]);
  });
  it("a timed wait is never stuck: the timer ends it", () => {
    const r = run([k.futexWait("f", 0, { timeout: 1_000 })]);
    expect(r.st.outcome!.kind).toBe("ok");
    expect(violation(r)).toBeNull();
  });
});
