// Priorities: the scheduling policy (a fifo class above the default one),
// decided before the Chooser picks, and priority inheritance (src/kernel/prio.ts).
import { describe, expect, it } from "vitest";
import * as k from "../src/kernel/index.ts";
import {
  type Chooser,
  type KEvent,
  type LockDecl,
  type Op,
  randomChooser,
  validateWorld,
  type World,
} from "../src/kernel/index.ts";
import { Cursor, describe as describeEv, firstViolation, MemorySource } from "../src/replay/index.ts";
import { runOf, worldOf } from "./helpers/world.ts";

const world = (main: Op[], locks: Record<string, LockDecl> = {}, cpus = 1) =>
  worldOf([main], { locks, vars: { order: { type: "int" } }, cpus });
const run = (w: World, seed = 1, chooser?: Chooser) => runOf(w, { seed, ...(chooser ? { chooser } : {}) });
const fifo = (prio: number, tid: string) => ({ prio, policy: "fifo" as const, tid });
const order = (evs: KEvent[]) => evs.filter((e) => e.kind === k.KIND.fetchAdd).map((e) => e.tid);

/** Low takes m and works; high wakes and waits on m; medium wakes later and computes. One cpu. */
const inversion = (pi: boolean) =>
  world(
    [
      k.setPriority(50),
      k.thread([k.lock("m"), k.user("low work", 80), k.unlock("m")], fifo(10, "L")),
      k.thread([k.sleep(6_000), k.lock("m"), k.user("high work"), k.unlock("m")], fifo(30, "H")),
      k.thread([k.sleep(8_000), k.user("medium work", 10)], fifo(20, "M")),
      k.join(k.r("L")),
      k.join(k.r("H")),
      k.join(k.r("M")),
    ],
    { m: pi ? { type: "mutex", protocol: "inherit" } : { type: "mutex" } },
  );

describe("the scheduling policy", () => {
  it("a free cpu takes the highest priority ready; fifo threads are not time-sliced", () => {
    const r = run(
      world([
        k.setPriority(50),
        k.thread([k.user("a", 30), k.fetchAdd("order", 1)], fifo(10, "a")),
        k.thread([k.user("b", 30), k.fetchAdd("order", 1)], fifo(20, "b")),
        k.thread([k.user("c", 30), k.fetchAdd("order", 1)], { tid: "c" }),
        k.sleep(1_000_000),
      ]),
    );
    expect(order(r.evs)).toEqual([3, 2, 4]);
    // b ran its 30 steps without a switch in between (no time slice among fifo threads)
    const bSteps = r.evs.filter((e) => e.tid === 3 && e.kind === k.KIND.user).map((e) => e.seq);
    expect(bSteps.at(-1)! - bSteps[0]!).toBe(bSteps.length - 1);
  });
  it("a thread that wakes with a higher priority preempts a lower one at its next user step", () => {
    const r = run(
      world([
        k.setPriority(50),
        k.thread([k.user("low", 200)], fifo(10, "l")),
        k.thread([k.sleep(3_000), k.user("high")], fifo(40, "h")),
        k.sleep(1_000_000),
      ]),
    );
    const wake = r.evs.find((e) => e.kind === k.KIND.wake && e.a === 3)!;
    const sw = r.evs.find((e) => e.kind === k.KIND.switch && e.b === 3 && e.seq > wake.seq)!;
    expect(sw.a).toBe(2);
    expect(
      r.evs.filter((e) => e.seq > wake.seq && e.seq < sw.seq && e.kind === k.KIND.user).length,
    ).toBeLessThanOrEqual(1);
  });
  it("a fifo spinner is not time-sliced: it never gives its cpu to the lower-priority owner of its spinlock (one cpu: a hang, explained)", () => {
    // Low takes the spinlock and works; high wakes, spins on it. Linux: high spins for ever on the only cpu.
    const w = world(
      [
        k.setPriority(50),
        k.thread([k.lock("s"), k.user("low work", 40), k.unlock("s")], fifo(10, "L")),
        k.thread([k.sleep(3_000), k.lock("s"), k.user("high work"), k.unlock("s")], fifo(30, "H")),
        k.join(k.r("L")),
        k.join(k.r("H")),
      ],
      { s: { type: "spin" } },
    );
    const r = run(w);
    const spin = r.evs.find((e) => e.kind === k.KIND.lockWait && e.tid === 3)!;
    expect(spin.b).toBe(1); // spins
    // Nothing runs after high begins to spin: low gets no step, and the run hangs.
    expect(r.evs.slice(spin.seq + 1).map((e) => k.EVENT_KINDS[e.kind]!.name)).toEqual(["hang", "end"]);
    expect(r.st.outcome?.kind).toBe("hang");
    expect(r.st.outcome?.message).toContain(
      "tid 2 (pid 1) is runnable (fifo 10) but every cpu runs a higher-priority thread: tid 3 (fifo 30) on cpu 0",
    );
    const v = firstViolation(MemorySource.fromEvents(w.config, r.evs)).violation!;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.causes.map((c) => c.seq)).toContain(spin.seq);
    // A default-class spinner still gives way to a thread that can progress (the owner runs, and the run ends ok).
    const other = world(
      [
        k.thread([k.lock("s"), k.user("low work", 40), k.unlock("s")], { tid: "L" }),
        k.thread([k.sleep(3_000), k.lock("s"), k.user("high work"), k.unlock("s")], { tid: "H" }),
        k.join(k.r("L")),
        k.join(k.r("H")),
      ],
      { s: { type: "spin" } },
    );
    expect(run(other).st.outcome?.kind).toBe("ok");
  });

  it("the chooser is offered only the threads the policy lets run", () => {
    const offered: number[][] = [];
    const base = randomChooser(3);
    const spy: Chooser = {
      next: (_c, ready) => {
        offered.push([...ready]);
        return ready.length - 1;
      },
      preempt: base.preempt,
      jitter: base.jitter,
      drain: base.drain,
    };
    const r = run(
      world([
        k.setPriority(50),
        k.thread([k.user("x", 5), k.fetchAdd("order", 1)], fifo(20, "a")),
        k.thread([k.user("y", 5), k.fetchAdd("order", 1)], fifo(20, "b")),
        k.thread([k.user("z", 5), k.fetchAdd("order", 1)], fifo(5, "c")),
        k.sleep(1_000_000),
      ]),
      3,
      spy,
    );
    expect(offered.length).toBeGreaterThan(0);
    for (const o of offered) {
      const ranks = new Set(
        o.map((tid) => k.rank(r.st.threads.get(tid) ?? ({ policy: "fifo", prio: tid === 4 ? 5 : 20 } as never))),
      );
      expect(ranks.size).toBe(1);
    }
    expect(order(r.evs).at(-1)).toBe(4);
  });
  it("without priorities the run is the one it always was (the policy stays out of the way)", () => {
    const prog = [k.thread([k.user("a", 20)]), k.thread([k.user("b", 20)]), k.user("c", 20)];
    const a = run(world(prog, {}, 2), 5).evs;
    expect(a.some((e) => e.kind === k.KIND.schedSet)).toBe(false);
    expect(JSON.stringify(a)).toBe(JSON.stringify(run(world(prog, {}, 2), 5).evs));
  });
});

describe("priority inversion and inheritance", () => {
  it("without inheritance the medium thread runs while the high one waits: priority-inversion at that switch", () => {
    const r = run(inversion(false));
    const v = firstViolation(MemorySource.fromEvents(r.w.config, r.evs)).violation!;
    expect(v.invariant).toBe("priority-inversion");
    expect(v.event.kind).toBe(k.KIND.switch);
    expect([v.event.a, v.event.b]).toEqual([2, 4]);
    expect(v.message).toBe(
      "tid 4 (pid 1, fifo 20) runs on cpu 0 while tid 3 (fifo 30) waits on m held by tid 2 (fifo 10), which is ready but cannot run: a priority inversion (priority inheritance on m would let tid 2 run at fifo 30)",
    );
    expect(v.causes.map((c) => c.why)).toEqual(["tid 2 took m", "tid 3 waits on m"]);
    // events show it: the medium thread's steps come while the high one is blocked on m
    const c = new Cursor(MemorySource.fromEvents(r.w.config, r.evs), { invariants: [] });
    c.seek(v.seq);
    expect(describeEv(v.event, c.state)).toBe(
      "cpu 0: tid 2 → tid 4 (fifo 20); tid 3 (fifo 30) waits on m held by tid 2 (fifo 10): priority inversion",
    );
    const mediumWhileHighWaits = r.evs.filter((e) => e.kind === k.KIND.user && e.s === "medium work").length;
    expect(mediumWhileHighWaits).toBe(10);
    const highGot = r.evs.find((e) => e.kind === k.KIND.lockAcquire && e.tid === 3)!;
    expect(highGot.seq).toBeGreaterThan(r.evs.filter((e) => e.s === "medium work").at(-1)!.seq);
  });
  it("with inheritance the owner runs at the waiter's priority: the high thread gets m before the medium one runs, on every seed 1..50", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = run(inversion(true), seed);
      expect(r.st.outcome!.kind).toBe("ok");
      expect(firstViolation(MemorySource.fromEvents(r.w.config, r.evs)).violation).toBeNull();
      const highGot = r.evs.find((e) => e.kind === k.KIND.lockAcquire && e.tid === 3)!;
      expect(highGot.seq).toBeLessThan(r.evs.find((e) => e.s === "medium work")!.seq);
    }
  });
  it("the boost follows a chain of inheriting locks and goes with the release", () => {
    const r = run(
      world(
        [
          k.setPriority(50),
          k.thread([k.lock("a"), k.sleep(1_000), k.lock("b"), k.unlock("b"), k.unlock("a")], fifo(5, "t1")),
          k.thread([k.lock("b"), k.sleep(8_000), k.unlock("b")], fifo(6, "t2")),
          k.thread([k.sleep(4_000), k.lock("a"), k.unlock("a")], fifo(40, "t3")),
          k.join(k.r("t1")),
          k.join(k.r("t2")),
          k.join(k.r("t3")),
        ],
        { a: { type: "mutex", protocol: "inherit" }, b: { type: "mutex", protocol: "inherit" } },
      ),
    );
    expect(r.st.outcome!.kind).toBe("ok");
    const c = new Cursor(MemorySource.fromEvents(r.w.config, r.evs), { invariants: [] });
    // at t3's wait on a (held by t1, itself waiting on b held by t2) both t1 and t2 run at fifo 40
    const wait = r.evs.find((e) => e.kind === k.KIND.lockWait && e.tid === 4)!;
    c.seek(wait.seq);
    expect([2, 3].map((tid) => k.prioText(c.state.threads.get(tid)!))).toEqual([
      "fifo 5, boosted to fifo 40",
      "fifo 6, boosted to fifo 40",
    ]);
    const rel = r.evs.find((e) => e.kind === k.KIND.lockRelease && e.tid === 3)!;
    c.seek(rel.seq);
    expect(c.state.threads.get(3)!.boost).toBeUndefined();
  });
});

describe("bad input", () => {
  it("a priority out of range, an unknown class, inheritance on a spinlock: one line", () => {
    expect(validateWorld(world([k.thread([], { prio: 120, policy: "fifo" })]))).toMatch(
      /^procs\[0\]\.main\[0\] \(thread\) at kernel-prio\.test\.ts:\d+: prio must be an integer 0\.\.99$/,
    );
    expect(validateWorld(world([k.setPriority(3, "rr" as never)]))).toMatch(/policy must be one of other, fifo$/);
    expect(validateWorld(world([], { s: { type: "spin", protocol: "inherit" } }))).toBe(
      "locks.s: priority inheritance is for a mutex, not a spinlock",
    );
  });
});
