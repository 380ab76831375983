// prctl(PR_SET_PDEATHSIG) and getpid / getppid (src/kernel/proc.ts): the
// signal a process gets when the thread that forked it exits (the thread,
// not the process), cleared in a fork's child, never re-armed by a reparent;
// the fold's setting (Thread.pdeathSig) and the state view, describe, why
// and check's causes for a setting made after the parent was gone.
import { describe, expect, it } from "vitest";
import * as k from "../src/kernel/index.ts";
import { type Op, toPlain, validateWorld } from "../src/kernel/index.ts";
import { describedAt, violationReport } from "../src/replay/explain.ts";
import { Cursor, describe as describeEv, firstViolation, MemorySource, stateView, why } from "../src/replay/index.ts";
import { ofKind, regs, runWorld, type WorldRun, worldOf } from "./helpers/world.ts";

const { SIG } = k;
const VARS = { got: { type: "int" as const, scope: "kernel" as const } };
const run = (procs: Op[][], seed = 1) => runWorld(procs, { vars: VARS, seed, maxEvents: 20_000 });
const of = ofKind;
const src = (r: WorldRun) => MemorySource.fromEvents(r.w.config, r.evs);
/** The state just after event seq, folded from the events (the replay side). */
const stateAt = (r: WorldRun, seq: number) => {
  const c = new Cursor(src(r), { invariants: [] });
  c.seek(seq);
  return c.state;
};
const exitOf = (r: WorldRun, tid: number) => of(r.evs, k.KIND.threadExit).find((e) => e.a === tid)!;
const sigsTo = (r: WorldRun, pid: number) => of(r.evs, k.KIND.signal).filter((e) => e.a === pid);

describe("PR_SET_PDEATHSIG", () => {
  it("the parent's exit sends the signal, after the parent thread's thread-exit, by that thread; its default action kills the child", () => {
    // init (pid 1) > supervisor (pid 2, tid 2) > worker (pid 3, tid 3)
    const r = run([
      [
        k.fork(
          [
            k.fork([k.setPdeathsig("SIGTERM", { ret: "pr" }), k.sleep(200_000), k.user("never")], { pid: "w" }),
            k.sleep(20_000),
            k.exit(1),
          ],
          { pid: "sup" },
        ),
        k.waitpid(k.r("sup")),
        k.sleep(300_000),
      ],
    ]);
    expect(regs(r.evs, "pr")).toEqual([0]);
    const set = of(r.evs, k.KIND.pdeathsig)[0]!;
    expect([set.tid, set.a]).toEqual([3, SIG.SIGTERM]);
    expect(describeEv(set)).toBe(
      "tid 3 asks for SIGTERM when the thread that forked its process exits (prctl PR_SET_PDEATHSIG)",
    );
    const [sig] = sigsTo(r, 3);
    expect([sig!.tid, sig!.b, sig!.c]).toEqual([2, SIG.SIGTERM, -1]);
    expect(sig!.seq).toBeGreaterThan(exitOf(r, 2).seq);
    expect(describedAt(src(r), sig!.seq)!.desc).toBe(
      "tid 2 sends SIGTERM to pid 3 (its parent-death signal: tid 2, the thread that forked it, exited)",
    );
    expect(of(r.evs, k.KIND.signalDeliver).map((e) => [e.tid, e.a, e.b])).toEqual([[3, SIG.SIGTERM, 0]]);
    expect(r.evs.some((e) => e.kind === k.KIND.user && e.s === "never")).toBe(false);
    expect(r.st.outcome!.kind).toBe("ok");
  });

  it("the parent thread, not the process: a thread that forked a helper and exits kills it while the process lives on", () => {
    const r = run([
      [
        k.thread([
          k.fork([k.setPdeathsig("SIGTERM"), k.sleep(200_000), k.user("helper done")], { pid: "h" }),
          k.sleep(20_000),
        ]),
        k.sleep(100_000),
        k.store("got", 1),
        k.sleep(200_000),
      ],
    ]);
    const [sig] = sigsTo(r, 2);
    expect(sig!.tid).toBe(2); // the pool thread
    const exited = exitOf(r, 2);
    expect(sig!.seq).toBeGreaterThan(exited.seq);
    // pid 1 still runs its main thread then
    expect(stateAt(r, sig!.seq).procs.get(1)!.state).toBe("running");
    expect(r.evs.some((e) => e.kind === k.KIND.user && e.s === "helper done")).toBe(false);
    expect(r.st.procs.get(2)?.exitCode ?? 128 + SIG.SIGTERM).toBe(128 + SIG.SIGTERM);
  });

  it("after the forking thread's exit the child belongs to the next live thread of its parent: its exit signals again; the forker's siblings' exits do not", () => {
    // init (pid 1) > pool (pid 2: tid 2 main, tid 3, tid 4) > helper (pid 3, tid 5)
    const r = run([
      [
        k.fork(
          [
            k.thread([k.sleep(150_000)]), // tid 3: exits after the helper's first signal; not its parent thread then
            // tid 4 forks the helper
            k.thread([
              k.fork([
                k.sigaction("SIGUSR1", [k.fetchAdd("got", 1)]),
                k.setPdeathsig("SIGUSR1"),
                k.repeat(4, [k.sleep(200_000)]),
              ]),
              k.sleep(20_000),
            ]),
            k.sleep(300_000),
            k.exit(0),
          ],
          { pid: "pool" },
        ),
        k.waitpid(k.r("pool")),
        k.sleep(600_000),
      ],
    ]);
    // tid 4's exit hands pid 3 to tid 2 (the first live thread): SIGUSR1; tid 3's exit sends nothing; tid 2's exit (the last) sends it again.
    const sent = sigsTo(r, 3).filter((e) => e.b === SIG.SIGUSR1);
    expect(sent.map((e) => e.tid)).toEqual([4, 2]);
    expect(sent[0]!.seq).toBeGreaterThan(exitOf(r, 4).seq);
    expect(sent[1]!.seq).toBeGreaterThan(exitOf(r, 2).seq);
    expect(of(r.evs, k.KIND.signalDeliver).filter((e) => e.tid === 5 && e.b === 2)).toHaveLength(2);
  });

  it("is cleared in a fork's child; a thread's setting is its own (a new thread starts without)", () => {
    const r = run([
      [
        k.fork(
          [
            k.setPdeathsig("SIGTERM"),
            k.thread([k.sleep(30_000)], { tid: "t" }),
            k.fork([k.sleep(60_000), k.user("grandchild lives")], { pid: "g" }),
            k.sleep(20_000),
          ],
          { pid: "c" },
        ),
        k.sleep(200_000),
      ],
    ]);
    const set = of(r.evs, k.KIND.pdeathsig)[0]!;
    const st = stateAt(r, set.seq + 12);
    expect(st.threads.get(set.tid)!.pdeathSig).toBe(SIG.SIGTERM);
    for (const t of st.threads.values()) if (t.tid !== set.tid) expect(t.pdeathSig).toBeUndefined();
    // pid 2's exit: no signal to its child pid 3 (which set none)
    expect(sigsTo(r, 3)).toEqual([]);
    expect(r.evs.some((e) => e.kind === k.KIND.user && e.s === "grandchild lives")).toBe(true);
    // the state view shows the setting
    const v = stateView(st).threads.find((t) => t.tid === set.tid)!;
    expect(v.signals!.pdeath).toBe("SIGTERM");
  });

  it("set after the parent died: never sent (init adopted the process); getppid says 1; describe and check's causes say so", () => {
    const r = runWorld(
      [
        [
          k.fork(
            [
              k.getpid("me"),
              k.fork([k.getppid("before"), k.sleep(30_000), k.setPdeathsig("SIGTERM"), k.getppid("after")], {
                pid: "w",
              }),
              k.exit(1),
            ],
            { pid: "sup" },
          ),
          k.waitpid(k.r("sup")),
          k.sleep(50_000),
          k.store("got", 1),
          k.sleep(100_000),
        ],
      ],
      { vars: VARS, maxEvents: 20_000 },
    );
    expect(regs(r.evs, "me")).toEqual([2]);
    expect(regs(r.evs, "before")).toEqual([2]);
    expect(regs(r.evs, "after")).toEqual([1]);
    expect(sigsTo(r, 3)).toEqual([]);
    const set = of(r.evs, k.KIND.pdeathsig)[0]!;
    const re = of(r.evs, k.KIND.reparent)[0]!;
    expect(describedAt(src(r), set.seq)!.desc).toBe(
      `tid 3 asks for SIGTERM when the thread that forked its process exits (prctl PR_SET_PDEATHSIG): its parent already exited (init adopted pid 3 at seq ${re.seq}), so it never comes`,
    );
  });

  it("check names the reparent and the late prctl as the causes of a scenario invariant broken by the orphan", () => {
    const w = worldOf(
      [
        [
          k.fork(
            [k.fork([k.sleep(30_000), k.setPdeathsig("SIGTERM"), k.sleep(30_000), k.store("got", 1)]), k.exit(1)],
            {
              pid: "sup",
            },
          ),
          k.waitpid(k.r("sup")),
          k.sleep(200_000),
        ],
      ],
      { vars: VARS },
    );
    const invariants = [k.invariant("no-orphan", k.eq(k.v("got"), 0), "the orphan ran on")];
    expect(validateWorld(w)).toBeNull();
    const rec = MemorySource.record(w, { seed: 1, maxEvents: 20_000 }, { meta: { world: w, invariants } });
    const v = firstViolation(rec).violation!;
    expect(v.invariant).toBe("no-orphan");
    const c = new Cursor(rec, { invariants: [] });
    c.seek(v.seq);
    const report = violationReport(rec, v, c.state);
    expect(report.causes.slice(0, 2).map((x) => x.kind)).toEqual(["reparent", "pdeathsig"]);
    expect(report.causes[1]!.root).toBe(true);
    expect(report.causes[1]!.why).toMatch(
      /^tid 3 asks for SIGTERM at its parent's death after init adopted pid 3 \(at \d+\): its parent is init now, which does not exit, so the signal never comes/,
    );
  });

  it("why names the parent thread's exit as the sender of a pending parent-death signal", () => {
    const r = run([
      [
        k.fork(
          [
            k.fork([k.sigmask("block", "SIGTERM"), k.setPdeathsig("SIGTERM"), k.sleep(100_000)], { pid: "w" }),
            k.sleep(20_000),
          ],
          { pid: "sup" },
        ),
        k.waitpid(k.r("sup")),
        k.sleep(200_000),
      ],
    ]);
    const [sig] = sigsTo(r, 3);
    const st = stateAt(r, sig!.seq + 1);
    const entries = why(st, "thread:3", src(r));
    expect(entries.find((e) => e.role === "signal-pending")!.explanation).toBe(
      "the exit of tid 2, the thread that forked pid 3 (its parent-death signal, PR_SET_PDEATHSIG), sent SIGTERM; pending (tid 3 blocks it)",
    );
  });

  it("the fold agrees with the simulator at every event (the setting, the sends, a clear with 0)", () => {
    const r = run([
      [
        k.fork(
          [
            k.thread([
              k.fork([k.setPdeathsig("SIGUSR1"), k.setPdeathsig(0), k.setPdeathsig("SIGHUP"), k.sleep(90_000)]),
            ]),
            k.sleep(40_000),
          ],
          { pid: "sup" },
        ),
        k.sleep(200_000),
      ],
    ]);
    const c = new Cursor(src(r), { invariants: [] });
    c.seek(r.evs.length - 1);
    expect(toPlain(c.state)).toEqual(toPlain(r.st));
    expect(of(r.evs, k.KIND.pdeathsig).map((e) => e.a)).toEqual([SIG.SIGUSR1, 0, SIG.SIGHUP]);
    expect(sigsTo(r, 3).map((e) => e.b)).toEqual([SIG.SIGHUP]);
  });

  it("a signal not modelled is EINVAL; an unknown name or a bad register is a scenario error", () => {
    const r = run([[k.setPdeathsig(40, { ret: "r" })]]);
    expect(regs(r.evs, "r")).toEqual([k.ERRNO.EINVAL]);
    expect(describeEv(of(r.evs, k.KIND.errno)[0]!)).toBe("tid 1: prctl(PR_SET_PDEATHSIG, 40) fails: EINVAL");
    expect(of(r.evs, k.KIND.pdeathsig)).toEqual([]);
    expect(validateWorld(worldOf([[k.setPdeathsig("SIGFOO")]]))).toMatch(
      /procs\[0\]\.main\[0\] \(setPdeathsig\).*unknown signal 'SIGFOO'/,
    );
    expect(validateWorld(worldOf([[{ op: "getpid", reg: "", parent: true } as Op]]))).toMatch(
      /procs\[0\]\.main\[0\] \(getpid\)/,
    );
  });
});
