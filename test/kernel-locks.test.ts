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

describe("robust mutexes (locks.ts: the owner's death, EOWNERDEAD, consistent, ENOTRECOVERABLE)", () => {
  const ROBUST = { m: { type: "mutex", robust: true } } as const;
  const waitFlag = [
    k.load("f", "flag", { atomic: true }),
    k.loopWhile(k.eq(k.r("f"), 0), { max: Infinity }, [k.load("f", "flag", { atomic: true })]),
  ];
  /** A thread takes m, says so, works `hold` steps and exits holding it; main then locks m. */
  const dies = (hold: number, after: Op[]): Op[] => [
    k.thread([k.lock("m"), k.store("flag", 1, { atomic: true }), k.user("dies holding m", hold)]),
    ...waitFlag,
    k.lockChecked("m", "err"),
    ...after,
  ];
  const robustEvents = (evs: KEvent[]) =>
    evs.filter((e) => e.kind === k.KIND.lockRobust).map((e) => [k.ROBUST_STATES[e.b], e.c]);
  const errnos = (evs: KEvent[]) => evs.filter((e) => e.kind === k.KIND.errno).map((e) => e.a);
  const folded = (r: { evs: KEvent[]; st: KState; w: World }) => {
    const f = k.initState(r.w.config);
    for (const e of r.evs) k.applyEvent(f, e);
    expect(k.toPlain(f)).toEqual(k.toPlain(r.st));
  };

  it("the owner's exit leaves it owner-died; the next lock takes it with EOWNERDEAD; consistent makes it usable again; nothing is broken", () => {
    let blocked = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const r = runW(
        [dies(12, [k.consistent("m", { ret: "c" }), k.unlock("m"), k.lockChecked("m", "again"), k.unlock("m")])],
        ROBUST,
        seed,
      );
      expect(r.st.outcome!.kind).toBe("ok");
      expect(robustEvents(r.evs)).toEqual([
        ["owner-died", 2],
        ["inconsistent", 1],
        ["consistent", 1],
      ]);
      expect([regSets(r.evs, "err"), regSets(r.evs, "c"), regSets(r.evs, "again")]).toEqual([
        [k.ERRNO.EOWNERDEAD],
        [0],
        [0],
      ]);
      // The owner-died mark comes before the thread-exit, by the dying thread.
      const died = r.evs.findIndex((e) => e.kind === k.KIND.lockRobust);
      expect(r.evs[died + 1]!.kind).toBe(k.KIND.threadExit);
      if (r.evs.some((e) => e.kind === k.KIND.lockWait && e.tid === 1)) blocked++;
      expect(violation(r)).toBeNull();
      expect(r.st.locks.get(r.evs.find((e) => e.kind === k.KIND.lockRobust)!.a)!.robust).toBe("consistent");
      folded(r);
    }
    // Some seeds have main blocked on m when its owner dies: the mark wakes it.
    expect(blocked).toBeGreaterThan(0);
  });

  it("a condvar wait whose relock takes the mutex from a dead owner returns EOWNERDEAD (the caller holds it, inconsistent)", () => {
    // The waiter waits on cv with m; the signaller takes m, signals and dies holding it: the waiter's relock gets it owner-died.
    const w: World = {
      config: { cpus: 2, ...DEFAULT_RULES },
      locks: ROBUST,
      vars: { flag: { type: "int" }, cv: k.condvar() },
      procs: [
        {
          name: "p",
          main: [
            k.thread([...waitFlag, k.lock("m"), k.cvSignal("cv"), k.user("dies holding m", 4)]),
            k.lock("m"),
            k.store("flag", 1, { atomic: true }),
            k.cvWait("cv", "m", { ret: "w" }),
            k.consistent("m", { ret: "c" }),
            k.unlock("m"),
          ],
        },
      ],
    };
    expect(validateWorld(w)).toBeNull();
    for (let seed = 1; seed <= 10; seed++) {
      const evs: KEvent[] = [];
      const st = simulate(w, { seed, maxEvents: 10_000 }, (e) => evs.push({ ...e }));
      expect(st.outcome!.kind, `seed ${seed}`).toBe("ok");
      expect([regSets(evs, "w"), regSets(evs, "c")], `seed ${seed}`).toEqual([[k.ERRNO.EOWNERDEAD], [0]]);
      expect(robustEvents(evs).map((x) => x[0])).toEqual(["owner-died", "inconsistent", "consistent"]);
      folded({ evs, st, w });
    }
  });

  it("without robust the same program hangs on the dead owner's mutex", () => {
    const r = runW([dies(12, [k.unlock("m")])], { m: { type: "mutex" } });
    expect(r.st.outcome!.kind).toBe("hang");
    expect(robustEvents(r.evs)).toEqual([]);
    const v = violation(r)!;
    expect([v.invariant, v.message]).toEqual([
      "no-deadlock",
      expect.stringMatching(/blocks on m held by tid 2, which does not exist in pid 1$/),
    ]);
  });

  it("an unlock while inconsistent is lock-misuse and leaves it not recoverable: lock, trylock and a blocked waiter get ENOTRECOVERABLE", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = runW(
        [
          dies(2, [
            k.thread([k.lockChecked("m", "w"), k.store("flag", 2, { atomic: true })]),
            k.user("main: use the torn state", 10),
            k.unlock("m"),
            k.lockChecked("m", "again"),
            k.trylock("m", { ret: "try" }),
            k.load("f", "flag", { atomic: true }),
            k.loopWhile(k.ne(k.r("f"), 2), { max: Infinity }, [k.load("f", "flag", { atomic: true })]),
          ]),
        ],
        ROBUST,
        seed,
      );
      expect(r.st.outcome!.kind).toBe("ok");
      expect(misuses(r.evs)).toEqual([["unlock-inconsistent", 0]]);
      expect(robustEvents(r.evs)).toEqual([
        ["owner-died", 2],
        ["inconsistent", 1],
        ["not-recoverable", 1],
      ]);
      const E = k.ERRNO.ENOTRECOVERABLE;
      expect([regSets(r.evs, "again"), regSets(r.evs, "try"), regSets(r.evs, "w")]).toEqual([[E], [E], [E]]);
      expect(errnos(r.evs)).toEqual([E, E, E]);
      const v = violation(r)!;
      expect(v.invariant).toBe("lock-misuse");
      expect(v.message).toMatch(
        /^tid 1 \(pid 1\) unlocks robust m, inconsistent since it took it with EOWNERDEAD, without pthread_mutex_consistent: it is now not recoverable/,
      );
      folded(r);
    }
  });

  it("trylock of an owner-died mutex takes it with EOWNERDEAD", () => {
    const r = runW(
      [
        [
          k.thread([k.lock("m")], { tid: "t" }),
          k.join(k.r("t")),
          k.trylock("m", { ret: "try" }),
          k.consistent("m"),
          k.unlock("m"),
        ],
      ],
      ROBUST,
    );
    expect(r.st.outcome!.kind).toBe("ok");
    expect(regSets(r.evs, "try")).toEqual([k.ERRNO.EOWNERDEAD]);
    expect(robustEvents(r.evs).map((x) => x[0])).toEqual(["owner-died", "inconsistent", "consistent"]);
  });

  it("consistent on a mutex that is not an inconsistent robust one the caller holds returns EINVAL and changes nothing; a robust mutex's bad unlocks return EPERM", () => {
    const r = runW(
      [
        [
          k.consistent("plain", { ret: "a" }),
          k.lock("m"),
          k.consistent("m", { ret: "b" }),
          k.thread([k.unlockChecked("m", "c")], { tid: "t" }),
          k.join(k.r("t")),
          k.unlock("m"),
          k.unlockChecked("m", "d"),
        ],
      ],
      { ...ROBUST, plain: { type: "mutex" } },
    );
    expect(r.st.outcome!.kind).toBe("ok");
    const { EINVAL, EPERM } = k.ERRNO;
    expect([regSets(r.evs, "a"), regSets(r.evs, "b"), regSets(r.evs, "c"), regSets(r.evs, "d")]).toEqual([
      [EINVAL],
      [EINVAL],
      [EPERM],
      [EPERM],
    ]);
    expect(robustEvents(r.evs)).toEqual([]);
    expect(misuses(r.evs)).toEqual([
      ["unlock-not-owner", EPERM],
      ["unlock-not-held", EPERM],
    ]);
  });

  it("a robust spinlock or a robust lock in a process's kernel struct is refused", () => {
    const w = (d: LockDecl): World => ({
      config: { cpus: 1, ...DEFAULT_RULES },
      locks: { m: d },
      procs: [{ name: "p", main: [k.lock("m"), k.unlock("m")] }],
    });
    expect(validateWorld(w({ type: "spin", robust: true }))).toMatch(
      /locks\.m: a robust lock is a mutex, not a spinlock/,
    );
    expect(validateWorld(w({ type: "mutex", robust: true, scope: "proc" }))).toMatch(
      /locks\.m: a robust mutex lives in user or kernel memory/,
    );
    expect(validateWorld(w({ type: "mutex", robust: "yes" as never }))).toMatch(/robust must be true or false/);
    expect(validateWorld(w({ type: "recursive", robust: true, scope: "kernel" }))).toBeNull();
  });
});
