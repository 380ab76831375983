// Process lifetime rules: orphans adopted and reaped by init, init exiting
// is a kernel panic, the opt-in zombie-leak invariant (src/kernel/proc.ts).
import { describe, expect, it } from "vitest";
import type { KConfig, Op } from "../src/kernel/index.ts";
import * as k from "../src/kernel/index.ts";
import { describedAt } from "../src/replay/explain.ts";
import { describe as describeEv, MemorySource } from "../src/replay/index.ts";
import { ofKind, regs, runWorld, violationOf, type WorldRun } from "./helpers/world.ts";

const run = (procs: Op[][], rules: Partial<KConfig> = {}, seed = 1, maxEvents = 20_000) =>
  runWorld(procs, { rules, seed, maxEvents });
const of = ofKind;
/** The run's signal events as `ktrace events` describes them (with the state just after each). */
const signals = (r: WorldRun) => {
  const src = MemorySource.fromEvents(r.w.config, r.evs);
  return of(r.evs, k.KIND.signal).map((e) => describedAt(src, e.seq)!.desc);
};
const violation = violationOf;

describe("orphans", () => {
  it("a process whose parent exits first is adopted by init and reaped by it when it exits", () => {
    const r = run([
      [
        k.fork([k.fork([k.sleep(20_000)]), k.user("middle exits")], { pid: "mid" }),
        k.waitpid(k.r("mid")),
        k.sleep(100_000),
      ],
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
    const re = of(r.evs, k.KIND.reparent)[0]!;
    expect([re.a, re.b]).toEqual([2, 1]);
    const orphanReap = of(r.evs, k.KIND.reap).find((e) => e.a === 3)!;
    expect(orphanReap.tid).toBe(-1);
    expect(describeEv(orphanReap)).toBe(
      "pid 3 reaped without a waitpid (an orphan init adopted, or its parent ignores SIGCHLD)",
    );
    expect(r.st.procs.size).toBe(1);
  });
  it("a zombie already there when its parent exits is reaped at the adoption", () => {
    const r = run([
      [k.fork([k.fork([k.user("quick")]), k.sleep(20_000)], { pid: "mid" }), k.waitpid(k.r("mid")), k.sleep(100_000)],
    ]);
    expect(of(r.evs, k.KIND.reap).map((e) => [e.a, e.tid])).toEqual([
      [3, -1],
      [2, 1],
    ]); // the orphan at the adoption, then its parent by init's waitpid
  });
  it("a parent that ignores SIGCHLD leaves no zombie", () => {
    const r = run([[k.sigaction("SIGCHLD", "ignore"), k.fork([k.user("child")]), k.sleep(100_000)]]);
    expect(of(r.evs, k.KIND.reap).map((e) => [e.a, e.tid])).toEqual([[2, -1]]);
  });
});

describe("init", () => {
  it("init exiting while other processes run is a kernel panic (Attempted to kill init!)", () => {
    const r = run([[k.fork([k.sleep(50_000)]), k.exit(1)]]);
    expect(r.st.outcome).toMatchObject({ kind: "panic", message: "Attempted to kill init! exitcode=0x00000100" });
    expect(violation(r)!.invariant).toBe("no-panic");
  });
  it("a fatal error's exitcode is its signal; exiting last is the machine's normal end", () => {
    const r = run([[k.fork([k.sleep(50_000)]), k.assert(k.eq(1, 0), "init's own check")]]);
    expect(r.st.outcome!.message).toBe("Attempted to kill init! exitcode=0x00000006");
    expect(run([[k.fork([k.user("x")]), k.waitpid()]]).st.outcome!.kind).toBe("ok");
  });
  it("init ignores the signals it has no handler for, SIGKILL included (Linux's SIGNAL_UNKILLABLE); a handler still runs", () => {
    for (const sig of ["SIGTERM", "SIGKILL", "SIGSEGV", "SIGPIPE"]) {
      const r = run([
        [k.fork([k.kill(1, sig), k.user("child")]), k.raise(sig), k.sleep(20_000), k.user("init lives"), k.waitpid()],
      ]);
      expect(r.st.outcome!.kind, sig).toBe("ok");
      expect(
        r.evs.some((e) => e.kind === k.KIND.user && e.s === "init lives"),
        sig,
      ).toBe(true);
      // dropped at the send, as an ignored signal is: no delivery; the event says so
      expect(of(r.evs, k.KIND.signalDeliver), sig).toEqual([]);
      expect(signals(r), sig).toEqual([
        `tid 1 sends ${sig} to tid 1 (pid 1): dropped, init ignores the signals it has no handler for`,
        `tid 2 sends ${sig} to pid 1: dropped, init ignores the signals it has no handler for`,
      ]);
    }
    // a write to a pipe nobody reads: EPIPE, and init goes on
    const p = run([
      [k.pipe({ read: "r", write: "w" }), k.close(k.r("r")), k.write(k.r("w"), 8, { ret: "n" }), k.user("init lives")],
    ]);
    expect(p.st.outcome!.kind).toBe("ok");
    expect(regs(p.evs, "n")).toEqual([-k.ERRNO.EPIPE]);
    // a handler of its own runs
    const h = run([[k.sigaction("SIGTERM", [k.user("handled")]), k.raise("SIGTERM"), k.user("init lives")]]);
    expect(h.evs.filter((e) => e.kind === k.KIND.user).map((e) => e.s)).toEqual(["handled", "init lives"]);
    // a process that ignores a signal: dropped too, and said so; one that handles it: no word
    const ign = run([
      [k.fork([k.sigaction("SIGUSR1", "ignore"), k.raise("SIGUSR1"), k.raise("SIGCHLD")]), k.waitpid()],
    ]);
    expect(signals(ign)).toEqual([
      "tid 2 sends SIGUSR1 to tid 2 (pid 2): dropped, the process ignores it",
      "tid 2 sends SIGCHLD to tid 2 (pid 2): dropped, the process ignores it",
    ]);
    expect(signals(h)).toEqual(["tid 1 sends SIGTERM to tid 1 (pid 1)"]);
    // another process still dies of the default action
    const c = run([
      [k.fork([k.raise("SIGTERM"), k.user("never")], { pid: "c" }), k.waitpid(k.r("c"), { status: "st" })],
    ]);
    expect(regs(c.evs, "st")).toEqual([128 + 15]);
  });
});

describe("zombie-leak (opt-in)", () => {
  const server = (reap: "none" | "handler"): Op[] => [
    ...(reap === "handler"
      ? [
          k.sigaction(
            "SIGCHLD",
            [k.loopWhile(k.gt(k.r("got"), 0), { max: Infinity }, [k.waitpid("any", { nohang: true, ret: "got" })])],
            { name: "reap_children" },
          ),
        ]
      : []),
    k.repeat(Infinity, [k.fork([k.user("serve a request", 3)]), k.sleep(2_000), k.set("got", 1)]),
  ];
  it("a server that never reaps its children leaves zombies: found at the end, naming the first one's exit", () => {
    const r = run([server("none")], { zombieCheck: true }, 1, 3_000);
    expect(r.st.outcome!.kind).toBe("budget");
    const v = violation(r)!;
    expect(v.invariant).toBe("zombie-leak");
    expect(v.message).toMatch(
      /^pid 2 exited at seq \d+ and is still a zombie at the end of the run: its parent pid 1 runs on and never reaped it \(it has no SIGCHLD handler and never waited for it\); \d+ more zombies of pid 1$/,
    );
    expect(v.causes.map((c) => c.why)).toEqual([
      "pid 1 created pid 2",
      "pid 2 exited: a zombie until its parent reaps it",
    ]);
  });
  it("off unless the scenario opts in", () => {
    expect(violation(run([server("none")], {}, 1, 3_000))).toBeNull();
  });
  it("a SIGCHLD handler that reaps with WNOHANG leaves none (seeds 1..40)", () => {
    for (let seed = 1; seed <= 40; seed++)
      expect(violation(run([server("handler")], { zombieCheck: true }, seed, 3_000))).toBeNull();
  });
});
