// docs/SCENARIOS.md's examples are the files in fixtures/scenarios/, word for
// word, and they behave as the document says.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newChecker, runBatch } from "../src/explore/seed.ts";
import { KIND } from "../src/kernel/index.ts";
import { type Prepared, prepareWith, reseed, run } from "../src/record/index.ts";
import { Checker, type Invariant, invariantsFor, type Violation } from "../src/replay/invariants.ts";
import type { Scenario } from "../src/scenarios/index.ts";
import { resolveScenario } from "../src/scenarios/index.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

const doc = readFileSync(join(REPO_ROOT, "docs", "SCENARIOS.md"), "utf8");
const file = (name: string) => join(REPO_ROOT, "fixtures", "scenarios", name);

/** First violations over seeds 1..seeds of the buggy variant, among the invariants `keep` keeps (what `check --invariant` would say of each seed's trace). */
function firstViolations(sc: Scenario, seeds: number, keep: (i: Invariant) => boolean): Record<string, number> {
  const out: Record<string, number> = {};
  let base: Prepared | null = null;
  for (let seed = 1; seed <= seeds; seed++) {
    const p: Prepared = base === null ? (base = prepareWith(sc, { seed })) : reseed(base, seed);
    const ck = new Checker(invariantsFor(p.invariants, p.world.config).filter(keep));
    let v: Violation | null = null;
    run(
      p,
      (ev, after) => void (v ??= ck.after(after, ev)),
      (ev, before) => void (v ??= ck.before(before, ev)),
    );
    const found = v as Violation | null;
    if (found) out[found.invariant] = (out[found.invariant] ?? 0) + 1;
  }
  return out;
}

describe("docs/SCENARIOS.md examples", () => {
  it.each([
    "counter.ts",
    "flag.ts",
    "status-field.ts",
    "refcount.ts",
    "handoff.ts",
    "fork-exec.ts",
    "spin.ts",
    "bank.ts",
    "transfer.ts",
  ])("%s is in the document as it is in the repo", (name) => {
    const text = readFileSync(file(name), "utf8").trimEnd();
    if (name === "bank.ts")
      expect(doc).toContain(text.split("\n").slice(1).join("\n")); // its first line differs (a comment)
    else expect(doc).toContain(text);
  });

  const cases: [string, string, number, string, Record<string, number>, Record<string, number>][] = [
    // file, invariant its buggy variant breaks, seeds, fix, first violations explore counts (data-race
    // first: the plain accesses are never ordered), first violations of every other invariant, as the doc quotes
    ["counter.ts", "counter-exact", 2000, "atomic", { "data-race": 2000 }, { "counter-exact": 1471 }],
    ["flag.ts", "job-runs-once", 2000, "cas", { "data-race": 1173 }, { "job-runs-once": 177 }],
    ["refcount.ts", "use-after-free", 2000, "atomic", { "data-race": 1793 }, { "use-after-free": 85 }],
  ];
  it.each(cases)(
    "%s: the buggy variant breaks %s on the seeds the document counts (data-race first); the fix is clean over 1..500",
    async (name, inv, seeds, fix, all, others) => {
      const sc = await resolveScenario(file(name));
      const b = runBatch(sc, {}, 1, seeds, newChecker());
      expect(b.violations).toEqual(all);
      expect(firstViolations(sc, seeds, (i) => i.name !== "data-race")).toEqual(others);
      expect(Object.keys(others)).toEqual([inv]);
      expect(runBatch(sc, { fix }, 1, 500, newChecker()).failing).toEqual([]);
    },
  );

  it("status-field.ts: seed 3 panics with Asterinas's message, at an assertions violation; --fix check is clean", async () => {
    const sc = await resolveScenario(file("status-field.ts"));
    const st = run(prepareWith(sc, { seed: 3 }));
    expect(st.outcome).toMatchObject({
      kind: "panic",
      message: "called `Option::unwrap()` on a `None` value at process_vm/mod.rs:87",
    });
    const b = runBatch(sc, {}, 3, 3, newChecker());
    expect(b.failing[0]!.violation!.invariant).toBe("assertions");
    expect(runBatch(sc, { fix: "check" }, 1, 500, newChecker()).failing).toEqual([]);
  });

  it.each([
    "examples/futex-mutex.ts",
    "examples/lost-wakeup.ts",
    "examples/signal-malloc.ts",
    "examples/pipe-inherit.ts",
    "examples/priority-inversion.ts",
    "examples/zombie-leak.ts",
    "fixtures/scenarios/handles.ts",
    "fixtures/scenarios/rwcache.ts",
  ])("%s (issue 11) is in the document as it is in the repo", (path) => {
    expect(doc).toContain(readFileSync(join(REPO_ROOT, path), "utf8").trimEnd());
  });

  it("handles.ts and rwcache.ts behave as the document says", async () => {
    const sc = await resolveScenario(file("handles.ts"));
    const regs = new Map<string, number>();
    run(prepareWith(sc, { seed: 1 }), (e) => {
      if (e.kind === KIND.regSet && e.tid === 1) regs.set(e.s, e.a);
    });
    expect(Object.fromEntries(["early", "joined", "h", "hs", "w", "ws", "none"].map((r) => [r, regs.get(r)]))).toEqual({
      early: 0,
      joined: 0,
      h: 3,
      hs: 143,
      w: 2,
      ws: 3,
      none: -10,
    });
    expect(runBatch(sc, {}, 1, 500, newChecker()).failing).toEqual([]);
    expect(runBatch(await resolveScenario(file("rwcache.ts")), {}, 1, 500, newChecker()).failing).toEqual([]);
  });

  it("handoff.ts and spin.ts end as the document shows", async () => {
    const ho = runBatch(await resolveScenario(file("handoff.ts")), {}, 1, 1, newChecker());
    expect(ho.failing[0]!.violation).toMatchObject({
      seq: 14,
      invariant: "lock-misuse",
      message: "tid 2 (pid 1) unlocks m, held by tid 1: unlock by a non-owner: undefined behaviour (default mutex)",
    });
    const sp = await resolveScenario(file("spin.ts"));
    expect(run(prepareWith(sp, {})).outcome).toMatchObject({
      kind: "livelock",
      seq: 4999,
      message: "livelock: no progress in the whole run (4999 events); tid 1 (pid 1) keeps running",
    });
    expect(run(prepareWith(sp, { fix: "publish" })).outcome!.kind).toBe("ok");
  });

  it("transfer.ts: lock-order on every seed, 36 of them hang; seed 1 does not, and is as the document shows; --fix ordered is clean", async () => {
    const sc = await resolveScenario(file("transfer.ts"));
    const b = runBatch(sc, {}, 1, 2000, newChecker());
    expect(b.failing).toHaveLength(2000);
    expect(b.failing.every((f) => f.violation?.invariant === "lock-order")).toBe(true);
    expect(b.failing.filter((f) => f.outcome.kind === "hang")).toHaveLength(36);
    expect(b.failing[0]).toMatchObject({
      seed: 1,
      outcome: { kind: "ok" },
      violation: {
        seq: 26,
        message:
          "lock order inversion (potential deadlock): tid 2 (pid 1) takes accounts.b while holding accounts.a; tid 1 (pid 1) took accounts.a while holding accounts.b (at seq 15)",
      },
    });
    // Without the rule, only the hangs fail (no-deadlock).
    expect(firstViolations(sc, 2000, (i) => i.name !== "lock-order")).toEqual({ "no-deadlock": 36 });
    expect(runBatch(sc, { fix: "ordered" }, 1, 2000, newChecker()).failing).toEqual([]);
  });
});
