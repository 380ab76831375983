// examples/: each classic bug's buggy variant fails with the invariant its
// header documents, at its root-cause event, on the seeds the README counts
// (explore's in-process engine, seeds 1..2000); every fix is clean over seeds
// 1..500 under every invariant, data-race included; data-race finds the race
// in check-then-act and lost-update on seeds where the values came out right;
// the Asterinas re-expression panics as the built-in scenario does; and the
// CLI records and explores the files.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newChecker, runBatch, runSeed } from "../src/explore/seed.ts";
import { EVENT_KINDS, type KEvent, type KState, type OutcomeKind } from "../src/kernel/index.ts";
import { prepareWith, run } from "../src/record/index.ts";
import { Checker, invariantsFor } from "../src/replay/invariants.ts";
import { findScenario, resolveScenario, type Scenario } from "../src/scenarios/index.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { replaySeed } from "./helpers/scenario-run.ts";

const DIR = join(REPO_ROOT, "examples");
const file = (name: string) => join(DIR, `${name}.ts`);
const kindOf = (e: KEvent) => EVENT_KINDS[e.kind]!.name;

/** A seed's run in full: its events, the first violation (every invariant), the final state. */
const replay = (sc: Scenario, seed: number, opts: string[] = []) => replaySeed(sc, seed, { opts });

/** The variable an access event names, by name (from the var-new events and the state). */
function varName(evs: KEvent[], st: KState, id: number): string | undefined {
  const nv = evs.find((e) => kindOf(e) === "var-new" && e.a === id);
  return nv ? nv.s.split(" ")[1] : st.vars.get(id)?.name;
}

/** What one example's buggy variant does: per documented invariant, a check of the event it breaks at. */
interface Case {
  name: string;
  /** Failing seeds over 1..2000 and their first violations, as examples/README.md says. */
  failing: number;
  violations: Record<string, number>;
  /** Outcomes over 1..2000 (explore's tally). */
  outcomes: Partial<Record<OutcomeKind, number>>;
  /** The root-cause event of a violation of each documented invariant (the event at its seq, the run, the violation). */
  root: Record<string, (e: KEvent, r: ReturnType<typeof replay>) => void>;
}

/** A data race on `name` between two different threads' accesses, the earlier one the cause. */
const raceOn =
  (name: string, kinds = ["load", "store"]) =>
  (e: KEvent, r: ReturnType<typeof replay>) => {
    expect(kinds).toContain(kindOf(e));
    expect(varName(r.evs, r.st, e.a)).toBe(name);
    const prior = r.evs[r.v!.causes[0]!.seq]!;
    expect(prior.a).toBe(e.a);
    expect(prior.tid).not.toBe(e.tid);
    expect([kindOf(e), kindOf(prior)]).toContain("store");
    expect(r.v!.message).toContain(`at seq ${prior.seq}`);
  };

/** A use-after-free at an obj-use labelled `label` (one of), with the free among the causes. */
const useAfterFree =
  (...labels: string[]) =>
  (e: KEvent, r: ReturnType<typeof replay>) => {
    expect(kindOf(e)).toBe("obj-use");
    expect(labels).toContain(e.s);
    const free = r.v!.causes.map((c) => r.evs[c.seq]!).find((c) => kindOf(c) === "obj-free");
    expect(free?.a).toBe(e.a);
  };

const CASES: Case[] = [
  {
    name: "check-then-act",
    failing: 2000,
    violations: { "init-once": 952, "data-race": 1048 },
    outcomes: { ok: 2000 },
    root: {
      "data-race": raceOn("initialized"),
      "init-once": (e, r) => {
        expect(kindOf(e)).toBe("fetch-add");
        expect(varName(r.evs, r.st, e.a)).toBe("inits");
        expect(e.c).toBe(2);
      },
    },
  },
  {
    name: "lost-update",
    failing: 2000,
    violations: { "data-race": 2000 },
    outcomes: { ok: 2000 },
    root: { "data-race": raceOn("nr_requests") },
  },
  {
    name: "double-checked-locking",
    failing: 2000,
    violations: { "data-race": 2000 },
    outcomes: { ok: 2000 },
    root: { "data-race": raceOn("instance") },
  },
  {
    name: "refcount-put",
    failing: 1262,
    violations: { "use-after-free": 1262 },
    outcomes: { ok: 2000 },
    root: { "use-after-free": useAfterFree("conn->buf", "conn->refs") },
  },
  {
    name: "toctou-link",
    failing: 1666,
    violations: { "use-after-free": 1666 },
    outcomes: { ok: 2000 },
    root: {
      "use-after-free": (e, r) => {
        useAfterFree("ihold(inode)")(e, r);
        // The free was the unlink thread's, between sys_link's check and its use.
        const free = r.evs.find((x) => kindOf(x) === "obj-free")!;
        expect(free.tid).not.toBe(e.tid);
        const check = r.evs
          .filter(
            (x) => x.seq < e.seq && x.tid === e.tid && kindOf(x) === "load" && varName(r.evs, r.st, x.a) === "nlink",
          )
          .at(-1)!;
        expect(check.seq).toBeLessThan(free.seq);
      },
    },
  },
  {
    name: "stdio-fork",
    failing: 781,
    violations: { "lock-owner-alive": 781 },
    outcomes: { ok: 1219, hang: 781 },
    root: {
      "lock-owner-alive": (e, r) => {
        expect(kindOf(e)).toBe("lock-wait");
        expect(r.v!.message).toMatch(
          /^tid \d+ \(pid 2\) blocks on stdout_lock held by tid \d+, which does not exist in pid 2 \(copied at fork, seq \d+\)$/,
        );
        expect(r.v!.causes.map((c) => kindOf(r.evs[c.seq]!))).toEqual(["lock-acquire", "fork"]);
      },
    },
  },
  {
    name: "lock-cycle",
    failing: 639,
    violations: { "no-deadlock": 639 },
    outcomes: { ok: 1361, hang: 639 },
    root: {
      "no-deadlock": (e, r) => {
        expect(kindOf(e)).toBe("lock-wait");
        expect(r.v!.message).toMatch(
          /in a wait-for cycle: tid \d+ waits on queue_\w held by tid \d+ waits on queue_\w held by tid \d+: it can never be released$/,
        );
        // The whole cycle: three acquires and the two other threads' waits.
        const kinds = r.v!.causes.map((c) => kindOf(r.evs[c.seq]!)).sort();
        expect(kinds).toEqual(["lock-acquire", "lock-acquire", "lock-acquire", "lock-wait", "lock-wait"]);
      },
    },
  },
  {
    name: "errorcheck-unlock",
    failing: 2000,
    violations: { "lock-misuse": 2000 },
    outcomes: { hang: 2000 },
    root: {
      "lock-misuse": (e, r) => {
        expect(kindOf(e)).toBe("lock-misuse");
        expect(r.v!.message).toMatch(
          /^tid \d+ \(pid 1\) unlocks job_lock, held by tid \d+: unlock by a non-owner: returns EPERM$/,
        );
        expect(kindOf(r.evs[r.v!.causes[0]!.seq]!)).toBe("lock-acquire");
      },
    },
  },
  {
    name: "livelock",
    failing: 2000,
    violations: { "no-livelock": 2000 },
    outcomes: { livelock: 2000 },
    root: {
      "no-livelock": (e, r) => {
        expect(kindOf(e)).toBe("end");
        expect(r.v!.message).toMatch(
          /^livelock: no progress since seq \d+ \(\d+ events\); tid 1 \(pid 1\) keeps running; tid 2 \(pid 1\) keeps running$/,
        );
        expect(kindOf(r.evs[r.v!.causes[0]!.seq]!)).toBe("progress");
      },
    },
  },
  {
    name: "procfs-vmar",
    failing: 1243,
    violations: { assertions: 1243 },
    outcomes: { ok: 757, panic: 1243 },
    root: {
      assertions: (e, r) => {
        expect(kindOf(e)).toBe("assert-fail");
        expect(e.a).toBe(1); // in kernel mode
        // The field was set to None by the child's exit path before the read.
        const none = r.evs.find((x) => kindOf(x) === "store" && varName(r.evs, r.st, x.a) === "vmar" && x.c === 0)!;
        expect(none.seq).toBeLessThan(e.seq);
        expect(none.tid).not.toBe(e.tid);
      },
    },
  },
  {
    name: "message-passing",
    failing: 2000,
    violations: { "data-race": 2000 },
    outcomes: { ok: 2000 },
    root: { "data-race": raceOn("ready") },
  },
  {
    name: "message-passing-pso",
    failing: 105,
    violations: { assertions: 105 },
    outcomes: { fatal: 105, ok: 1895 },
    root: {
      assertions: (e, r) => {
        expect(kindOf(e)).toBe("assert-fail");
        // The consumer read data = 0 after reading ready = 1: the producer's store of ready reached memory first.
        const msg = r.evs.filter((x) => x.seq < e.seq && kindOf(x) === "load" && x.s === "msg").at(-1)!;
        expect(varName(r.evs, r.st, msg.a)).toBe("data");
        expect(msg.b).toBe(0);
        const commit = (v: string) =>
          r.evs.find((x) => kindOf(x) === "store-commit" && varName(r.evs, r.st, x.a) === v && x.c !== 0);
        expect(commit("ready")!.seq).toBeLessThan(msg.seq);
        const data = commit("data");
        if (data !== undefined) expect(data.seq).toBeGreaterThan(msg.seq);
        const stores = r.evs.filter((x) => kindOf(x) === "store" || kindOf(x) === "atomic-store");
        expect(stores.map((x) => varName(r.evs, r.st, x.a))).toEqual(["data", "ready"]);
      },
    },
  },
  {
    name: "aba-stack",
    failing: 82,
    violations: { "node-owned-once": 82 },
    outcomes: { ok: 2000 },
    root: {
      "node-owned-once": (e, r) => {
        expect(kindOf(e)).toBe("fetch-add");
        expect(varName(r.evs, r.st, e.a)).toBe("owners2");
        expect(e.c).toBe(2);
        // The stale cas: the popper's cas from A (1) to B (2) after the other thread pushed A back.
        const cases = r.evs.filter((x) => kindOf(x) === "cas" && x.seq < e.seq && x.b !== x.c);
        const pushBack = cases.find((x) => x.tid !== e.tid && x.c === 1)!;
        const stale = cases.find((x) => x.tid === e.tid && x.b === 1 && x.c === 2)!;
        expect(pushBack.seq).toBeLessThan(stale.seq);
      },
    },
  },
  {
    name: "stolen-wakeup",
    failing: 34,
    violations: { assertions: 34 },
    outcomes: { fatal: 34, ok: 1966 },
    root: {
      assertions: (e, r) => {
        expect(kindOf(e)).toBe("assert-fail");
        expect(e.s).toBe("Assertion `queue not empty' failed.");
        // The failing consumer was woken by the producer's signal; the other consumer emptied the queue after that.
        const wake = r.evs.findLast((x) => x.seq < e.seq && kindOf(x) === "wake" && x.a === e.tid)!;
        const taken = r.evs.findLast(
          (x) => x.seq < e.seq && kindOf(x) === "store" && varName(r.evs, r.st, x.a) === "items",
        )!;
        expect([taken.tid !== e.tid, taken.seq > wake.seq, taken.c]).toEqual([true, true, 0]);
      },
    },
  },
  {
    name: "atomic-sleep",
    failing: 2000,
    violations: { "atomic-sleep": 2000 },
    outcomes: { ok: 1388, hang: 612 },
    root: {
      "atomic-sleep": (e, r) => {
        // The read path takes (or blocks on) dev.mutex holding dev.lock, which it took in the same syscall.
        expect(["lock-acquire", "lock-wait"]).toContain(kindOf(e));
        expect(r.st.locks.get(e.a)?.name).toBe("dev.mutex");
        const [took] = r.v!.causes.map((c) => r.evs[c.seq]!);
        expect([kindOf(took!), took!.tid, r.st.locks.get(took!.a)?.name]).toEqual(["lock-acquire", e.tid, "dev.lock"]);
        expect(r.v!.message).toMatch(
          /^BUG: sleeping function called from invalid context: tid \d+ \(pid 1\) (takes|blocks on) mutex dev\.mutex while holding spinlock dev\.lock \(taken at seq \d+\)$/,
        );
      },
    },
  },
  {
    name: "seqlock",
    failing: 1317,
    violations: { assertions: 1317 },
    outcomes: { fatal: 1317, ok: 683 },
    root: {
      assertions: (e, r) => {
        expect(kindOf(e)).toBe("assert-fail");
        expect(e.s).toBe("Assertion `x == y (a consistent snapshot)' failed.");
        // The reader's last two sequence loads agreed on an odd count: a write was in progress throughout.
        const seqLoads = r.evs.filter(
          (x) => x.seq < e.seq && x.tid === e.tid && kindOf(x) === "atomic-load" && varName(r.evs, r.st, x.a) === "seq",
        );
        const [s1, s2] = seqLoads.slice(-2);
        expect(s1!.b).toBe(s2!.b);
        expect(s1!.b % 2).toBe(1);
      },
    },
  },
  {
    name: "store-buffering",
    failing: 54,
    violations: { "mutual-exclusion": 54 },
    outcomes: { ok: 2000 },
    root: {
      "mutual-exclusion": (e, r) => {
        expect(kindOf(e)).toBe("fetch-add");
        expect(varName(r.evs, r.st, e.a)).toBe("in_cs");
        expect(e.c).toBe(2);
        // Store buffering: each thread read the other's flag as 0 while its own raised flag was still buffered.
        for (const load of r.evs.filter((x) => x.seq < e.seq && kindOf(x) === "atomic-load" && x.s === "other")) {
          expect(load.b).toBe(0);
          const own = r.evs.find((x) => x.tid === load.tid && kindOf(x) === "atomic-store" && x.c === 1)!;
          const commit = r.evs.find((x) => x.tid === load.tid && kindOf(x) === "store-commit" && x.a === own.a)!;
          expect(own.seq).toBeLessThan(load.seq);
          expect(commit.seq).toBeGreaterThan(load.seq);
        }
      },
    },
  },
  {
    name: "waitqueue-active",
    failing: 55,
    violations: { "no-deadlock": 55 },
    outcomes: { ok: 1945, hang: 55 },
    root: {
      "no-deadlock": (e, r) => {
        expect(kindOf(e)).toBe("futex-wait");
        expect(varName(r.evs, r.st, e.a)).toBe("wq");
        expect(r.v!.message).toMatch(/waits on futex wq, which can never return: no other thread is left to wake it$/);
        // The waker read queued = 0 after the waiter's store of it and before that store reached memory.
        const queued = r.evs.find((x) => kindOf(x) === "atomic-store" && varName(r.evs, r.st, x.a) === "queued")!;
        const saw = r.evs.find((x) => kindOf(x) === "atomic-load" && x.s === "q")!;
        const commit = r.evs.find((x) => kindOf(x) === "store-commit" && x.a === queued.a)!;
        expect(saw.b).toBe(0);
        expect([queued.tid, queued.seq < saw.seq, saw.seq < commit.seq]).toEqual([e.tid, true, true]);
      },
    },
  },
];

const scenarios = new Map<string, Promise<Scenario>>();
const load = (name: string) => {
  let p = scenarios.get(name);
  if (!p) scenarios.set(name, (p = resolveScenario(file(name))));
  return p;
};

describe("examples/", () => {
  it("has the examples this test knows, each with a header saying what it models and what ktrace reports, listed in examples/README.md with its fixes", async () => {
    // The issue 11 examples (operating-system objects) are test/examples-os.test.ts's.
    const OS = [
      "barrier-reuse",
      "spin-fifo",
      "lost-wakeup",
      "sem-miscount",
      "pipe-inherit",
      "signal-malloc",
      "priority-inversion",
      "cv-priority-inversion",
      "zombie-leak",
      "futex-mutex",
      "system-reaper",
      "eintr-read",
      "sem-eintr",
      "rwlock-upgrade",
      "signal-counter",
      "pause-race",
      "one-condvar",
      "fd-reuse",
      "sigchld-merge",
      "self-pipe",
      "rwlock-writer-starvation",
      "cv-timedwait",
      "pipe-both-ways",
      "robust-mutex",
      "sigwait-unblocked",
      "pdeathsig-race",
      "pdeathsig-thread",
    ];
    const names = readdirSync(DIR)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.slice(0, -3))
      .filter((n) => !OS.includes(n))
      .sort();
    expect(names).toEqual(CASES.map((c) => c.name).sort());
    expect(names.length).toBeGreaterThanOrEqual(13);
    const readme = readFileSync(join(DIR, "README.md"), "utf8");
    for (const name of names) {
      const text = readFileSync(file(name), "utf8");
      expect(text.startsWith(`// ${name}.ts: `), name).toBe(true);
      expect(text, name).toMatch(/\n\/\/ Models: /);
      expect(text, name).toMatch(/\n\/\/ ktrace reports \(buggy variant/);
      expect(text, name).toMatch(/\n\/\/ Fix(es)?: /);
      const sc = await load(name);
      expect(sc.name).toBe(name);
      const row = readme.split("\n").find((l) => l.startsWith(`| [\`${name}\`](${name}.ts) |`));
      expect(row, `README row for ${name}`).toBeDefined();
      for (const fix of Object.keys(sc.fixes)) expect(row, `${name} fix ${fix}`).toContain(`\`${fix}\``);
      const c = CASES.find((x) => x.name === name)!;
      for (const inv of Object.keys(c.violations)) expect(row, `${name} invariant ${inv}`).toContain(`\`${inv}\``);
      expect(row, `${name} count`).toContain(`${c.failing.toLocaleString("en-US")} of 2,000`);
    }
  });

  it("the README and docs/SCENARIOS.md name every example and count them right", () => {
    const all = readdirSync(DIR).filter((f) => f.endsWith(".ts"));
    const UNITS = ["", "-one", "-two", "-three", "-four", "-five", "-six", "-seven", "-eight", "-nine"];
    const word = (n: number) => `${["twenty", "thirty", "forty"][Math.floor(n / 10) - 2]}${UNITS[n % 10]}`;
    for (const doc of ["README.md", "docs/SCENARIOS.md"]) {
      const text = readFileSync(join(REPO_ROOT, doc), "utf8");
      const said = /examples\/README\.md\) has ([a-z-]+) (?:classic bugs|more scenario files)/.exec(text)?.[1];
      expect(said, `${doc}: how many examples it says`).toBe(word(all.length));
      for (const f of all) expect(text, `${doc} names ${f}`).toContain(`\`${f.slice(0, -3)}\``);
    }
  });

  it.each(CASES.map((c) => [c.name, c] as const))(
    "%s: the buggy variant fails as documented, at its root-cause event; every fix is clean over seeds 1..500",
    async (name, c) => {
      const sc = await load(name);
      const b = runBatch(sc, {}, 1, 2000, newChecker());
      expect(b.errors).toEqual([]);
      expect(b.failing).toHaveLength(c.failing);
      expect(b.violations).toEqual(c.violations);
      expect(b.outcomes).toEqual(c.outcomes);
      // The first failing seed of each documented invariant, replayed: the event it breaks at is the root cause.
      for (const inv of Object.keys(c.violations)) {
        const f = b.failing.find((x) => x.violation?.invariant === inv)!;
        const r = replay(sc, f.seed);
        expect(r.v).toMatchObject({ seq: f.violation!.seq, invariant: inv, message: f.violation!.message });
        c.root[inv]!(r.evs[r.v!.seq]!, r);
      }
      for (const fix of Object.keys(sc.fixes)) {
        const fb = runBatch(sc, { fix }, 1, 500, newChecker());
        expect(fb.errors, fix).toEqual([]);
        expect(fb.failing, fix).toEqual([]);
      }
    },
  );

  it("data-race finds the race in check-then-act and lost-update on seeds where the values came out right", async () => {
    const finalOf = (r: ReturnType<typeof replay>, name: string) => {
      const w = r.evs
        .filter((e) => ["store", "fetch-add"].includes(kindOf(e)) && varName(r.evs, r.st, e.a) === name)
        .at(-1)!;
      return w.c;
    };
    for (const [name, variable, right, own] of [
      ["check-then-act", "inits", 1, "init-once"],
      ["lost-update", "nr_requests", 12, "count-exact"],
    ] as const) {
      const sc = await load(name);
      let found = 0;
      for (let seed = 1; seed <= 200; seed++) {
        const r = replay(sc, seed);
        if (finalOf(r, variable) !== right) continue;
        // The values came out right: the scenario's own invariant holds over the whole run ...
        const ownOnly = new Checker(invariantsFor(prepareWith(sc, { seed }).invariants).filter((i) => i.name === own));
        let broke = false;
        run(
          prepareWith(sc, { seed }),
          (e, after) => void (broke ||= ownOnly.after(after, e) !== null),
          (e, before) => void (broke ||= ownOnly.before(before, e) !== null),
        );
        expect(broke, `${name} seed ${seed}`).toBe(false);
        // ... and the run still fails, at the data race.
        expect(r.v?.invariant, `${name} seed ${seed}`).toBe("data-race");
        expect(runSeed(sc, {}, seed, newChecker()).violation?.invariant).toBe("data-race");
        found++;
      }
      expect(found, name).toBeGreaterThan(10);
    }
  });

  it("docs/SCENARIOS.md quotes message-passing.ts word for word, with the finding check prints for seed 1", async () => {
    const doc = readFileSync(join(REPO_ROOT, "docs", "SCENARIOS.md"), "utf8");
    expect(doc).toContain(readFileSync(file("message-passing"), "utf8").trimEnd());
    const r = replay(await load("message-passing"), 1);
    const e = r.evs[r.v!.seq]!;
    expect(doc).toContain(
      `VIOLATION data-race at seq ${e.seq} (${kindOf(e)}, cpu ${e.cpu}, tid ${e.tid}, t=${e.time} ns)\n  ${r.v!.message}\n`,
    );
  });

  it("check-then-act with atomic accesses has no data race, and is still a check-then-act (init-once)", async () => {
    const sc = await load("check-then-act");
    const b = runBatch(sc, { opts: ["access=atomic"] }, 1, 2000, newChecker());
    expect(b.violations).toEqual({ "init-once": 1173 });
    expect(runBatch(sc, { opts: ["access=atomic"], fix: "mutex" }, 1, 500, newChecker()).failing).toEqual([]);
  });

  it("procfs-vmar panics as the built-in asterinas-procfs does: same outcome kind, same message", async () => {
    const builtin = findScenario("asterinas-procfs");
    const mine = await load("procfs-vmar");
    const bo = runBatch(builtin, {}, 1, 200, newChecker())
      .failing.map((f) => f.outcome)
      .filter((o) => o.kind === "panic");
    const mo = runBatch(mine, {}, 1, 200, newChecker())
      .failing.map((f) => f.outcome)
      .filter((o) => o.kind === "panic");
    expect(bo.length).toBeGreaterThan(0);
    expect(mo.length).toBeGreaterThan(0);
    expect(new Set(mo.map((o) => o.message))).toEqual(new Set(bo.map((o) => o.message)));
    expect(mo[0]!.message).toBe(
      "called `Option::unwrap()` on a `None` value at kernel/src/process/process_vm/mod.rs:87 (ProcessVmarGuard::unwrap)",
    );
    // Both have a `reads` option: one read before waitpid never panics in either (the child has not exited yet);
    // eight almost always do, in both.
    const panics = (sc: Scenario, reads: string) =>
      runBatch(sc, { opts: [`reads=${reads}`] }, 1, 200, newChecker()).outcomes.panic ?? 0;
    expect([panics(mine, "1"), panics(builtin, "1")]).toEqual([0, 0]);
    expect(panics(mine, "8")).toBeGreaterThan(180);
    expect(panics(builtin, "8")).toBeGreaterThan(180);
  });

  it("the CLI records every example (two on Deno too, byte-identical) and explores one over seeds 1..2000 (job processes), agreeing with the in-process engine", async () => {
    const out = mkdtempSync(join(tmpdir(), "ktrace-examples-"));
    for (const c of CASES) {
      const r = await runCli(["record", file(c.name), "--seed", "1", "-o", join(out, `${c.name}.ktrace`)]);
      expect(r.code, `${c.name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`recorded ${c.name} (buggy`);
    }
    // The same trace, byte for byte, on Deno.
    for (const name of ["lost-update", "aba-stack"]) {
      const d = join(out, `${name}-deno.ktrace`);
      expect((await runCli(["record", file(name), "--seed", "1", "-o", d], { runtime: "deno" })).code).toBe(0);
      expect(readFileSync(d).equals(readFileSync(join(out, `${name}.ktrace`))), name).toBe(true);
    }
    const x = await runCli(["explore", file("lock-cycle"), "--seeds", "1..2000", "--jobs", "2", "--json"]);
    expect(x.code).toBe(1);
    const doc = JSON.parse(x.stdout);
    expect(doc.failing).toHaveLength(639);
    expect(
      doc.failing.every((f: { violation: { invariant: string } }) => f.violation.invariant === "no-deadlock"),
    ).toBe(true);
  });
});
