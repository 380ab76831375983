// Lock misuse is a finding, not bad input: each misuse is a lock-misuse event
// with the outcome the lock's declared type gives, and the lock-misuse
// invariant names it.
import { describe, expect, it } from "vitest";
import * as k from "../src/kernel/index.ts";
import {
  type KEvent,
  type KState,
  type LockDecl,
  type Op,
  simulate,
  validateWorld,
  type World,
} from "../src/kernel/index.ts";
import { firstViolation, MemorySource } from "../src/replay/index.ts";
import { DEFAULT_RULES } from "../src/scenarios/index.ts";

function runW(main: Op[][], locks: Record<string, LockDecl>, seed = 1): { evs: KEvent[]; st: KState; w: World } {
  const w: World = {
    config: { cpus: 2, ...DEFAULT_RULES },
    locks,
    vars: { flag: { type: "int" } },
    procs: main.map((m, i) => ({ name: `p${i}`, main: m })),
  };
  const bad = validateWorld(w);
  if (bad) throw new Error(bad);
  const evs: KEvent[] = [];
  const st = simulate(w, { seed, maxEvents: 10_000 }, (e) => evs.push({ ...e }));
  return { evs, st, w };
}
const misuses = (evs: KEvent[]) => evs.filter((e) => e.kind === k.KIND.lockMisuse).map((e) => [k.MISUSES[e.b], e.c]);
const violation = (r: { evs: KEvent[]; w: World }) =>
  firstViolation(MemorySource.fromEvents(r.w.config, r.evs)).violation;
const regSets = (evs: KEvent[], reg: string) =>
  evs.filter((e) => e.kind === k.KIND.regSet && e.s === reg).map((e) => e.a);

describe("lock misuse", () => {
  it("errorcheck: a non-owner's unlock returns EPERM, which the program branches on; the lock stays with its owner", () => {
    const r = runW(
      [
        [
          k.lock("m"),
          k.thread([k.unlockChecked("m", "err"), k.when(k.eq(k.r("err"), k.ERRNO.EPERM), [k.store("flag", 1)])]),
          k.user("owner works", 30),
          k.unlock("m"),
        ],
      ],
      { m: { type: "errorcheck" } },
    );
    expect(r.st.outcome!.kind).toBe("ok");
    expect(misuses(r.evs)).toEqual([["unlock-not-owner", 1]]);
    expect(regSets(r.evs, "err")).toEqual([1]);
    expect([...r.st.vars.values()][0]!.value).toBe(1);
    const v = violation(r)!;
    expect(v.invariant).toBe("lock-misuse");
    expect(v.message).toMatch(/^tid 2 \(pid 1\) unlocks m, held by tid 1: unlock by a non-owner: returns EPERM$/);
    expect(v.causes[0]!.why).toBe("tid 1 took m");
  });
  it("errorcheck: unlocking a free lock returns EPERM, relocking returns EDEADLK (no hang)", () => {
    const r = runW([[k.unlockChecked("m", "a"), k.lock("m"), k.lockChecked("m", "b"), k.unlock("m")]], {
      m: { type: "errorcheck" },
    });
    expect(r.st.outcome!.kind).toBe("ok");
    expect(misuses(r.evs)).toEqual([
      ["unlock-not-held", 1],
      ["relock", 35],
    ]);
    expect([regSets(r.evs, "a"), regSets(r.evs, "b")]).toEqual([[1], [35]]);
  });
  it("a default mutex: the misuse is undefined behaviour, recorded; a non-owner's unlock unlocks it (glibc), a relock deadlocks", () => {
    const stolen = runW(
      [
        [
          k.lock("m"),
          k.thread([k.unlock("m"), k.lock("m"), k.unlock("m")]),
          k.user("owner works", 30),
          k.unlockChecked("m", "e"),
        ],
      ],
      {},
    );
    expect(misuses(stolen.evs)[0]).toEqual(["unlock-not-owner", 0]);
    const rel = stolen.evs.find((e) => e.kind === k.KIND.lockRelease)!;
    expect(rel.tid).toBe(2); // the non-owner's unlock released it
    expect(violation(stolen)!.message).toMatch(/unlock by a non-owner: undefined behaviour \(default mutex\)$/);
    const self = runW([[k.lock("m"), k.lock("m"), k.user("never")]], {});
    expect(self.st.outcome!.kind).toBe("hang");
    expect(misuses(self.evs)).toEqual([["relock", 0]]);
    const v = violation(self)!;
    expect(v.invariant).toBe("lock-misuse"); // at the relock, before no-deadlock's lock-wait
    expect(v.message).toMatch(/locks m, which it already holds: self-deadlock, undefined behaviour \(default mutex\)$/);
    const free = runW([[k.unlock("m"), k.user("goes on")]], { m: { type: "spin" } });
    expect(free.st.outcome!.kind).toBe("ok");
    expect(misuses(free.evs)).toEqual([["unlock-not-held", 0]]);
  });
  it("a recursive mutex going below level 0 is fatal, as in CPython", () => {
    const msg =
      "Fatal Python error: _PyRecursiveMutex_Unlock: unlocking a recursive mutex that is not owned by the current thread";
    const r = runW([[k.lock("rl"), k.unlock("rl"), k.unlock("rl"), k.user("never")]], {
      rl: { type: "recursive", badUnlock: msg },
    });
    expect(r.st.outcome).toMatchObject({ kind: "fatal", message: msg });
    expect(misuses(r.evs)).toEqual([["level-underflow", 0]]);
    expect(violation(r)!.invariant).toBe("lock-misuse");
  });
});

describe("a held lock copied at fork is a hazard, not a bug", async () => {
  const { resolveScenario } = await import("../src/scenarios/index.ts");
  const { newChecker, runBatch } = await import("../src/explore/seed.ts");
  it("a correct fork-then-exec in a multithreaded process: 0 failing seeds over 1..2000", async () => {
    const sc = await resolveScenario("fixtures/scenarios/fork-exec.ts");
    const b = runBatch(sc, {}, 1, 2000, newChecker());
    expect(b.failing).toEqual([]);
    expect(b.outcomes).toEqual({ ok: 2000 });
    // ... although the fork does copy the worker's held mutex on many seeds.
    let copiedHeld = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const { prepareWith, run } = await import("../src/record/index.ts");
      run(prepareWith(sc, { seed }), (e, s) => {
        if (e.kind === k.KIND.fork)
          for (const l of s.locks.values()) if (l.copiedSeq === e.seq && l.owner >= 0 && l.owner !== e.c) copiedHeld++;
      });
    }
    expect(copiedHeld).toBeGreaterThan(20);
  });
});

describe("a procfs read keeps the process it reads referenced", async () => {
  const { resolveScenario } = await import("../src/scenarios/index.ts");
  const { prepareWith, run } = await import("../src/record/index.ts");
  const { initState, applyEvent, toPlain } = await import("../src/kernel/index.ts");
  it("a sibling reaps the child while a thread reads its status: never a crash over seeds 1..2000, the struct goes with the last reference", async () => {
    const sc = await resolveScenario("fixtures/scenarios/read-while-reap.ts");
    let pinnedReaps = 0;
    for (const reads of ["1", "3", "6"]) {
      for (let seed = 1; seed <= 2000; seed++) {
        const p = prepareWith(sc, { seed, opts: [`reads=${reads}`] });
        const evs: KEvent[] = [];
        let reapedSeen = false;
        const st = run(p, (e, s) => {
          evs.push({ ...e });
          if (e.kind === k.KIND.reap && s.procs.get(e.a)?.state === "reaped") reapedSeen = true;
          // A close that drops the last reference to a reaped process frees it.
          if (e.kind === k.KIND.procfsClose && reapedSeen)
            expect(s.procs.get(e.a)?.state ?? "freed").not.toBe("reaped");
        });
        expect(st.outcome!.kind, `reads=${reads} seed ${seed}`).toBe("ok");
        if (reapedSeen) {
          pinnedReaps++;
          if (pinnedReaps <= 5) {
            const f = initState(p.world.config);
            for (const e of evs) applyEvent(f, e);
            expect(toPlain(f)).toEqual(toPlain(st));
            expect(st.procs.size).toBe(1);
          }
        }
      }
    }
    expect(pinnedReaps).toBeGreaterThan(50);
  });
});
