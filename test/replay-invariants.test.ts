// Invariants: each catches the earliest wrong event of its seed bug, none fires
// on a fixed variant or on stress, and each rule on hand-made event streams.
import { describe, expect, it } from "vitest";
import { applyEvent, cloneState, initState, type KConfig, type KEvent, KIND } from "../src/kernel/index.ts";
import {
  BUILT_IN,
  Checker,
  checkEvent,
  firstViolation,
  INVARIANT_NAMES,
  INVARIANTS,
  InvariantNameError,
  MemorySource,
  type ReplaySource,
  selectInvariants,
} from "../src/replay/index.ts";
import { allEvents, eventList, LINUX_2CPU, memorySource } from "./helpers/replay-sources.ts";

function first(src: ReplaySource, kind: number, pred: (e: KEvent) => boolean = () => true): KEvent {
  const e = allEvents(src).find((x) => x.kind === kind && pred(x));
  if (!e) throw new Error(`no event of kind ${kind}`);
  return e;
}

describe("the seed bugs: the first violation is the root cause, not the crash", () => {
  it("cpython-fork-serenity: recursive-mutex-owner at the child's unlock-not-owner", async () => {
    const src = await memorySource("cpython-fork-serenity");
    const { violation: v, scanned } = firstViolation(src);
    const bad = first(src, KIND.unlockNotOwner);
    const fork = first(src, KIND.fork);
    expect(v).toMatchObject({ invariant: "recursive-mutex-owner", seq: bad.seq });
    expect(scanned).toBe(bad.seq + 1);
    expect(v!.message).toBe(
      `tid 45 in pid 2 unlocks import_lock (recursive), owned by ident 44, but its own ident is 45 (copied at fork, seq ${fork.seq})`,
    );
    expect(v!.causes.map((c) => c.seq)).toContain(fork.seq);
    expect(v!.seq).toBeLessThan(src.outcome!.seq); // before the fatal error
  });

  it("tcmalloc-fork (seed 1): lock-owner-alive where the child spins on the copied SlowTLS, naming the fork that copied it", async () => {
    const src = await memorySource("tcmalloc-fork");
    const { violation: v } = firstViolation(src);
    const fork = first(src, KIND.fork);
    const spin = first(src, KIND.lockWait, (e) => e.tid === fork.c);
    expect(v).toMatchObject({ invariant: "lock-owner-alive", seq: spin.seq });
    expect(v!.message).toBe(
      `tid ${fork.c} (pid 2) spins on tcmalloc.SlowTLS held by tid 2, which does not exist in pid 2 (copied at fork, seq ${fork.seq})`,
    );
    expect(src.outcome?.kind).toBe("hang");
    expect(v!.seq).toBeLessThan(src.outcome!.seq);
    // The causes: the owner took it in the parent, then the fork copied it while held.
    const [acq, copy] = v!.causes;
    expect(allEvents(src).find((e) => e.seq === acq!.seq)).toMatchObject({ kind: KIND.lockAcquire, tid: 2 });
    expect(copy).toEqual({ seq: fork.seq, why: "fork copied tcmalloc.SlowTLS into pid 2 while tid 2 held it" });
  });

  it("rcore-kstack: kstack-in-use at the free of the stack the CPU still runs on", async () => {
    const src = await memorySource("rcore-kstack");
    const { violation: v } = firstViolation(src);
    const free = first(src, KIND.kstackFree);
    expect(v).toMatchObject({ invariant: "kstack-in-use", seq: free.seq });
    expect(v!.message).toBe(`kernel stack ${free.a} of tid 1 freed while cpu ${free.cpu} still runs on it (tid 1)`);
    expect(src.outcome?.kind).toBe("ok"); // silent upstream: no crash to point at
  });

  it("asterinas-procfs (seed 1): vmar-live at the procfs read that unwraps the cleared VMAR", async () => {
    const src = await memorySource("asterinas-procfs");
    const { violation: v } = firstViolation(src);
    const read = first(src, KIND.procfsRead, (e) => e.b === 2);
    const clear = first(src, KIND.vmarClear, (e) => e.a === 2);
    expect(v).toMatchObject({ invariant: "vmar-live", seq: read.seq });
    expect(v!.message).toMatch(new RegExp(`unwraps pid 2's root VMAR, which exit cleared at seq ${clear.seq}`));
    expect(src.outcome).toMatchObject({ kind: "panic", seq: read.seq + 1 });
  });

  it("across seeds: every tcmalloc hang is flagged where the child first uses the copied lock, with its fork as the cause; every asterinas panic at its read", async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const tc = await memorySource("tcmalloc-fork", { seed });
      const v = firstViolation(tc).violation;
      if (tc.outcome?.kind === "hang") {
        const fork = first(tc, KIND.fork);
        expect(v).toMatchObject({
          invariant: "lock-owner-alive",
          seq: first(tc, KIND.lockWait, (e) => e.tid === fork.c).seq,
        });
        expect(v!.causes.map((c) => c.seq)).toContain(fork.seq);
      } else expect(v).toBeNull();
      const as = await memorySource("asterinas-procfs", { seed });
      const w = firstViolation(as).violation;
      if (as.outcome?.kind === "panic") expect(w).toMatchObject({ invariant: "vmar-live", seq: as.outcome.seq - 1 });
      else expect(w).toBeNull();
    }
  });
});

describe("fixed variants and stress run clean", () => {
  const fixed: [string, string][] = [
    ["cpython-fork-serenity", "reinit-lock"],
    ["cpython-fork-serenity", "linux"],
    ["tcmalloc-fork", "atfork-2.17"],
    ["tcmalloc-fork", "posix-spawn"],
    ["rcore-kstack", "pr146"],
    ["asterinas-procfs", "none-check"],
  ];
  for (const [scenario, fix] of fixed) {
    it(`${scenario} --fix ${fix}: no violation (seeds 1..40)`, async () => {
      for (let seed = 1; seed <= 40; seed++) {
        const src = await memorySource(scenario, { fix, seed });
        const { violation, scanned } = firstViolation(src);
        expect(violation, `seed ${seed}`).toBeNull();
        expect(scanned).toBe(src.eventCount);
      }
    });
  }
  it("rcore-kstack --fix pr146 with stack=flush|reuse: no violation", async () => {
    for (const opt of ["stack=flush", "stack=reuse"]) {
      for (let seed = 1; seed <= 20; seed++) {
        expect(
          firstViolation(await memorySource("rcore-kstack", { fix: "pr146", seed, opts: [opt] })).violation,
        ).toBeNull();
      }
    }
  });
  it("stress: no violation (seeds 1..3, 200K events)", async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const src = await memorySource("stress", { seed, maxEvents: 200_000 });
      expect(firstViolation(src).violation).toBeNull();
    }
  });
});

describe("selecting invariants", () => {
  it("by name; unknown names are refused with the list (exit code 2)", async () => {
    expect(BUILT_IN.map((i) => i.name)).toEqual([...INVARIANT_NAMES]);
    // The default set: every built-in one but the opt-in ones (inDefaultSet).
    expect(INVARIANTS.map((i) => i.name)).toEqual(
      INVARIANT_NAMES.filter((n) => n !== "zombie-leak" && n !== "lock-order" && n !== "no-starvation"),
    );
    expect(selectInvariants(["no-panic", "vmar-live", "no-panic"]).map((i) => i.name)).toEqual([
      "no-panic",
      "vmar-live",
    ]);
    expect(() => selectInvariants(["no-panik"])).toThrow(InvariantNameError);
    const src = await memorySource("rcore-kstack");
    expect(firstViolation(src, ["no-panic", "vmar-live"]).violation).toBeNull();
    expect(firstViolation(src, ["kstack-in-use"]).violation?.invariant).toBe("kstack-in-use");
  });
  it("every invariant is documented", () => {
    for (const inv of BUILT_IN) expect(inv.doc.length).toBeGreaterThan(40);
  });
});

// ---- hand-made event streams ----------------------------------------------------------

const CONFIG: KConfig = LINUX_2CPU;

/** Builds events with dense seqs. */
function stream() {
  const { evs, add } = eventList();
  // pid 1 with threads 1 and 2, stacks 0 and 1, both running; user locks 10 (x) and 11 (y).
  add(KIND.procNew, { a: 1, b: 0, s: "p" });
  add(KIND.threadNew, { a: 1, b: 1, c: 1 });
  add(KIND.threadNew, { a: 2, b: 1, c: 2 });
  add(KIND.kstackAlloc, { a: 0, b: 1 });
  add(KIND.kstackAlloc, { a: 1, b: 2 });
  add(KIND.switch, { cpu: 0, a: -1, b: 1 });
  add(KIND.switch, { cpu: 1, a: -1, b: 2 });
  add(KIND.lockNew, { a: 10, b: 1, c: 1, s: "x" });
  add(KIND.lockNew, { a: 11, b: 1, c: 1, s: "y" });
  return { evs, add };
}

function firstOf(evs: KEvent[]) {
  return firstViolation(MemorySource.fromEvents(CONFIG, evs, { snapshotEvery: 4 })).violation;
}

describe("invariant rules on hand-made streams", () => {
  it("no-deadlock: a wait-for cycle", () => {
    const { evs, add } = stream();
    add(KIND.lockAcquire, { cpu: 0, tid: 1, a: 10, b: 1 });
    add(KIND.lockAcquire, { cpu: 1, tid: 2, a: 11, b: 1 });
    expect(firstOf(evs)).toBeNull();
    add(KIND.lockWait, { cpu: 0, tid: 1, a: 11 });
    expect(firstOf(evs)).toBeNull(); // tid 2 may still release y
    const bad = add(KIND.lockWait, { cpu: 1, tid: 2, a: 10 });
    expect(firstOf(evs)).toMatchObject({ invariant: "no-deadlock", seq: bad });
    expect(firstOf(evs)!.message).toMatch(/wait-for cycle/);
  });

  it("no-deadlock: a three-thread cycle's causes show the whole cycle (every acquire and every wait)", () => {
    const { evs, add } = stream();
    add(KIND.threadNew, { a: 3, b: 1, c: 3 });
    add(KIND.lockNew, { a: 12, b: 1, c: 1, s: "z" });
    const tx = add(KIND.lockAcquire, { cpu: 0, tid: 1, a: 10, b: 1 });
    const ty = add(KIND.lockAcquire, { cpu: 1, tid: 2, a: 11, b: 1 });
    const tz = add(KIND.lockAcquire, { cpu: 1, tid: 3, a: 12, b: 1 });
    const w1 = add(KIND.lockWait, { cpu: 0, tid: 1, a: 11 });
    const w2 = add(KIND.lockWait, { cpu: 1, tid: 2, a: 12 });
    expect(firstOf(evs)).toBeNull();
    const w3 = add(KIND.lockWait, { cpu: 1, tid: 3, a: 10 });
    const v = firstOf(evs)!;
    expect(v).toMatchObject({ invariant: "no-deadlock", seq: w3 });
    expect(v.message).toBe(
      "tid 3 (pid 1) blocks on x, held by tid 1, in a wait-for cycle: tid 1 waits on y held by tid 2 waits on z held by tid 3: it can never be released",
    );
    expect(v.causes).toEqual([
      { seq: tx, why: "tid 1 took x" },
      { seq: ty, why: "tid 2 took y" },
      { seq: tz, why: "tid 3 took z" },
      { seq: w1, why: "tid 1 waits on y" },
      { seq: w2, why: "tid 2 waits on z" },
    ]);
  });

  it("a thread that exits holding a lock is a hazard; waiting on that lock breaks lock-owner-alive (and no-deadlock)", () => {
    const { evs, add } = stream();
    const took = add(KIND.lockAcquire, { cpu: 0, tid: 1, a: 10, b: 1 });
    add(KIND.threadExit, { cpu: 0, tid: 1, a: 1 });
    expect(firstOf(evs)).toBeNull();
    const wait = add(KIND.lockWait, { cpu: 1, tid: 2, a: 10 });
    expect(firstOf(evs)).toMatchObject({ invariant: "lock-owner-alive", seq: wait, causes: [{ seq: took }] });
    expect(firstOf(evs)!.message).toBe("tid 2 (pid 1) blocks on x held by tid 1, which has exited");
    const only = firstViolation(MemorySource.fromEvents(CONFIG, evs), ["no-deadlock"]).violation;
    expect(only).toMatchObject({ invariant: "no-deadlock", seq: wait });
    expect(only!.message).toMatch(/held by tid 1, which has exited/);
  });

  it("lock-owner-alive: a thread killed by exit() while holding a lock is fine", () => {
    const { evs, add } = stream();
    add(KIND.lockAcquire, { cpu: 0, tid: 1, a: 10, b: 1 });
    add(KIND.exitGroup, { cpu: 1, tid: 2, a: 1 });
    add(KIND.threadExit, { cpu: 0, tid: 1, a: 1 });
    expect(firstOf(evs)).toBeNull();
  });

  it("recursive-mutex-owner: a release by another ident, even without an unlock-not-owner event", () => {
    const { evs, add } = stream();
    add(KIND.lockNew, { a: 12, b: 1, c: 2, s: "r" });
    add(KIND.lockAcquire, { cpu: 0, tid: 1, a: 12, b: 1 });
    const bad = add(KIND.lockRelease, { cpu: 1, tid: 2, a: 12, b: 0 });
    expect(firstOf(evs)).toMatchObject({ invariant: "recursive-mutex-owner", seq: bad });
    expect(firstOf(evs)!.message).toBe(
      "tid 2 in pid 1 unlocks r (recursive), owned by ident 1, but its own ident is 2",
    );
  });

  it("kstack-in-use: running on a stack freed elsewhere is a use after free", () => {
    const { evs, add } = stream();
    add(KIND.switch, { cpu: 0, tid: 1, a: 1, b: -1 });
    add(KIND.kstackFree, { cpu: 0, a: 0 }); // not running: fine
    expect(firstOf(evs)).toBeNull();
    add(KIND.switch, { cpu: 0, a: -1, b: 1 }); // back onto freed stack 0
    const use = add(KIND.user, { cpu: 0, tid: 1, s: "work" });
    expect(firstOf(evs)).toMatchObject({ invariant: "kstack-in-use", seq: use });
    expect(firstOf(evs)!.message).toMatch(/kernel stack 0, freed at seq/);
  });

  it("vmar-live: reading VmRSS from a cleared VMAR; no-panic", () => {
    const { evs, add } = stream();
    add(KIND.procfsRead, { cpu: 0, tid: 1, a: 1, b: 1 });
    add(KIND.vmarClear, { cpu: 1, tid: 2, a: 1 });
    add(KIND.procfsRead, { cpu: 0, tid: 1, a: 1, b: 0 }); // the fixed reader: fine
    expect(firstOf(evs)).toBeNull();
    const bad = add(KIND.procfsRead, { cpu: 0, tid: 1, a: 1, b: 1 });
    expect(firstOf(evs)).toMatchObject({ invariant: "vmar-live", seq: bad });
    const p = add(KIND.panic, { s: "boom" });
    expect(firstViolation(MemorySource.fromEvents(CONFIG, evs), ["no-panic"]).violation).toMatchObject({
      seq: p,
      message: "kernel panic: boom",
    });
  });

  it("checkEvent: each invariant as a pure predicate over (before, event, after)", () => {
    const { evs, add } = stream();
    add(KIND.lockAcquire, { cpu: 0, tid: 1, a: 10, b: 1 });
    add(KIND.lockAcquire, { cpu: 1, tid: 2, a: 11, b: 1 });
    add(KIND.lockWait, { cpu: 0, tid: 1, a: 11 });
    add(KIND.lockWait, { cpu: 1, tid: 2, a: 10 });
    const s = initState(CONFIG);
    const ck = new Checker(INVARIANTS);
    for (const ev of evs) {
      const before = cloneState(s);
      applyEvent(s, ev);
      const after = cloneState(s);
      const pure = INVARIANTS.map((inv) => checkEvent(inv, before, ev, after)).find((f) => f !== null) ?? null;
      const hooked = ck.before(before, ev) ?? ck.after(after, ev);
      expect(pure?.message ?? null).toBe(hooked?.message ?? null);
    }
    expect(checkEvent(INVARIANTS[2]!, initState(CONFIG), evs[0]!, initState(CONFIG))).toBeNull();
  });
});
