// Handles: fork, spawn and thread give a pid or tid kept in a register;
// waitpid(handle | any) with WNOHANG, join, detach and procfs(handle, file)
// take them (src/kernel/proc.ts). The old forms (waitpid("child"),
// procfs("status")) keep their events.
import { describe, expect, it } from "vitest";
import type { Op } from "../src/kernel/index.ts";
import * as k from "../src/kernel/index.ts";
import { describe as describeEv, firstViolation, MemorySource } from "../src/replay/index.ts";
import { ofKind, regs, runWorld } from "./helpers/world.ts";

const run = (procs: Op[][], seed = 1) => runWorld(procs, { vars: { x: { type: "int" } }, seed });
const of = ofKind;

describe("process handles", () => {
  it("fork and spawn give pids; waitpid(handle) reaps that child and returns its pid and status", () => {
    const r = run([
      [
        k.fork([k.user("a", 5), k.exit(3)], { pid: "a" }),
        k.spawn("/bin/b", [k.exit(4)], { pid: "b" }),
        k.waitpid(k.r("b"), { ret: "rb", status: "sb" }),
        k.waitpid(k.r("a"), { ret: "ra", status: "sa" }),
        k.waitpid("any", { ret: "none" }),
      ],
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
    const [a, b] = [regs(r.evs, "a")[0]!, regs(r.evs, "b")[0]!];
    expect([a, b]).toEqual([2, 3]);
    expect([regs(r.evs, "rb"), regs(r.evs, "sb"), regs(r.evs, "ra"), regs(r.evs, "sa")]).toEqual([[3], [4], [2], [3]]);
    expect(of(r.evs, k.KIND.reap).map((e) => e.a)).toEqual([3, 2]);
    expect(regs(r.evs, "none")).toEqual([-k.ERRNO.ECHILD]);
  });
  it("two threads forking at once: each fork returns its own child's pid, not the process's last", () => {
    let crossed = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const r = runWorld(
        [
          [
            k.thread([k.fork([k.user("a child", 2)], { pid: "ca" }), k.waitpid(k.r("ca"))], { tid: "ta" }),
            k.thread([k.fork([k.user("b child", 2)], { pid: "cb" }), k.waitpid(k.r("cb"))], { tid: "tb" }),
            k.join(k.r("ta")),
            k.join(k.r("tb")),
          ],
        ],
        { seed, cpus: 2 },
      );
      const forks = of(r.evs, k.KIND.fork);
      expect(forks).toHaveLength(2);
      for (const [reg, f] of [
        ["ca", forks.find((e) => e.tid === 2)!],
        ["cb", forks.find((e) => e.tid === 3)!],
      ] as const)
        expect(regs(r.evs, reg), `seed ${seed}`).toEqual([f.b]);
      // the second fork's copy came before the first fork returned
      const ret = r.evs.findIndex((e) => e.kind === k.KIND.regSet && (e.s === "ca" || e.s === "cb"));
      if (forks[1]!.seq < r.evs[ret]!.seq) crossed++;
      expect(r.st.outcome?.kind ?? "ok", `seed ${seed}`).toBe("ok");
    }
    expect(crossed).toBeGreaterThan(0);
  });
  it("WNOHANG returns 0 while the child runs, then its pid", () => {
    const r = run([
      [
        k.fork([k.sleep(10_000)], { pid: "c" }),
        k.waitpid(k.r("c"), { nohang: true, ret: "r1" }),
        k.sleep(50_000),
        k.waitpid("any", { nohang: true, ret: "r2" }),
      ],
    ]);
    expect([regs(r.evs, "r1"), regs(r.evs, "r2")]).toEqual([[0], [2]]);
    expect(describeEv(r.evs.find((e) => e.kind === k.KIND.kwork && e.s.includes("WNOHANG"))!)).toMatch(
      /waitpid\(2, WNOHANG\): no child has exited/,
    );
  });
  it("waitpid of a pid that is not a child is ECHILD", () => {
    const r = run([[k.waitpid(7, { ret: "r" })]]);
    expect(regs(r.evs, "r")).toEqual([-k.ERRNO.ECHILD]);
    expect(describeEv(of(r.evs, k.KIND.errno)[0]!)).toBe("tid 1: waitpid(7) fails: ECHILD");
  });
  it("procfs(handle, file) opens that process's file", () => {
    const r = run([
      [
        k.fork([k.sleep(10_000)], { pid: "c" }),
        k.fork([k.exit(0)]),
        k.procfs(k.r("c"), "stat"),
        k.waitpid(k.r("c")),
        k.waitpid("any"),
      ],
    ]);
    const open = of(r.evs, k.KIND.procfsOpen)[0]!;
    expect([open.a, open.s]).toEqual([2, "/proc/2/stat"]);
  });
});

describe("thread handles", () => {
  it("join waits for the thread and gets its exit code; a thread that already exited is joined at once", () => {
    const r = run([
      [
        k.thread([k.sleep(5_000)], { tid: "t1" }),
        k.thread([k.user("quick")], { tid: "t2" }),
        k.join(k.r("t1"), { ret: "j1", status: "s1" }),
        k.sleep(20_000),
        k.join(k.r("t2"), { ret: "j2" }),
      ],
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
    expect([regs(r.evs, "j1"), regs(r.evs, "s1"), regs(r.evs, "j2")]).toEqual([[0], [0], [0]]);
    const wait = of(r.evs, k.KIND.joinWait)[0]!;
    expect(wait.a).toBe(regs(r.evs, "t1")[0]);
    const wake = of(r.evs, k.KIND.wake).find((e) => e.c === k.HOW.join)!;
    expect([wake.a, wake.b]).toEqual([1, 2]);
    expect(of(r.evs, k.KIND.join).map((e) => e.a)).toEqual([2, 3]);
  });
  it("joining twice, a detached thread, itself or nothing: EINVAL, EINVAL, EDEADLK, ESRCH", () => {
    const r = run([
      [
        k.thread([k.user("w")], { tid: "t" }),
        k.thread([k.sleep(1_000)], { tid: "d", detached: true }),
        k.join(k.r("t"), { ret: "a" }),
        k.join(k.r("t"), { ret: "b" }),
        k.join(k.r("d"), { ret: "c" }),
        k.set("me", 1),
        k.join(k.r("me"), { ret: "e" }),
        k.join(99, { ret: "f" }),
        k.detach(99, { ret: "g" }),
      ],
    ]);
    expect(["a", "b", "c", "e", "f", "g"].map((x) => regs(r.evs, x)[0])).toEqual([
      0,
      k.ERRNO.EINVAL,
      k.ERRNO.EINVAL,
      k.ERRNO.EDEADLK,
      k.ERRNO.ESRCH,
      k.ERRNO.ESRCH,
    ]);
  });
  it("a join that can never return is a no-deadlock finding", () => {
    const r = run([[k.thread([k.futexWait("x", 0)], { tid: "t" }), k.join(k.r("t"))]]);
    const v = firstViolation(MemorySource.fromEvents(r.w.config, r.evs)).violation!;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.message).toMatch(
      /^tid [12] \(pid 1\) (blocks in join\(tid 2\)|waits on futex x), which can never return: the only thread that could wake it is tid [12] \(pid 1\), which (waits on futex x|blocks in join\(tid 2\))$/,
    );
  });
});

describe("the old forms are unchanged", () => {
  it("waitpid() and procfs() take the last child, and ECHILD stays a user event", () => {
    const r = run([[k.fork([k.exit(0)]), k.procfs(), k.waitpid(), k.waitpid()]]);
    expect(of(r.evs, k.KIND.procfsOpen)[0]!.s).toBe("/proc/2/status");
    expect(r.evs.some((e) => e.kind === k.KIND.user && e.s === "waitpid: ECHILD")).toBe(true);
    expect(of(r.evs, k.KIND.errno)).toEqual([]);
  });
});
