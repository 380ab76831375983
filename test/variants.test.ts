// Issue 3/5 acceptance over seeds 1..500: every fixed variant runs clean (outcome ok,
// no invariant broken); every failing buggy run is caught by the invariant that names
// its root cause. Uses explore's engine (the same checks as `ktrace check`).
import { describe, expect, it } from "vitest";
import { newChecker, runBatch } from "../src/explore/seed.ts";
import { findScenario } from "../src/scenarios/index.ts";

const SEEDS = 500;

const FIXED: [string, string, string[]][] = [
  ["cpython-fork-serenity", "reinit-lock", []],
  ["cpython-fork-serenity", "linux", []],
  ["tcmalloc-fork", "atfork-2.17", []],
  ["tcmalloc-fork", "posix-spawn", []],
  ["rcore-kstack", "pr146", ["stack=silent"]],
  ["rcore-kstack", "pr146", ["stack=flush"]],
  ["rcore-kstack", "pr146", ["stack=reuse"]],
  ["asterinas-procfs", "none-check", []],
];

describe(`fixed variants, seeds 1..${SEEDS}: outcome ok and no invariant broken`, () => {
  for (const [name, fix, opts] of FIXED) {
    it(`${name} --fix ${fix} ${opts.join(" ")}`, () => {
      const b = runBatch(findScenario(name), { fix, opts }, 1, SEEDS, newChecker());
      expect(b.outcomes).toEqual({ ok: SEEDS });
      expect(b.failing).toEqual([]);
    });
  }
});

const BUGGY: [string, string[], string, "every" | "some"][] = [
  ["cpython-fork-serenity", [], "recursive-mutex-owner", "every"],
  ["tcmalloc-fork", [], "lock-owner-alive", "some"],
  ["rcore-kstack", [], "kstack-in-use", "every"],
  ["rcore-kstack", ["stack=flush"], "kstack-in-use", "every"],
  ["asterinas-procfs", [], "vmar-live", "some"],
];

describe(`buggy variants, seeds 1..${SEEDS}: each failure is caught at its root cause`, () => {
  for (const [name, opts, invariant, how] of BUGGY) {
    it(`${name} ${opts.join(" ")}: ${how === "every" ? "every seed" : "some seeds, not all"} → ${invariant}`, () => {
      const b = runBatch(findScenario(name), { opts }, 1, SEEDS, newChecker());
      if (how === "every") expect(b.failing).toHaveLength(SEEDS);
      else {
        expect(b.failing.length).toBeGreaterThan(0);
        expect(b.failing.length).toBeLessThan(SEEDS);
      }
      // The root cause comes before the failure it leads to.
      for (const f of b.failing) {
        expect(f.violation?.invariant, `seed ${f.seed}`).toBe(invariant);
        if (f.outcome.kind !== "ok") expect(f.violation!.seq).toBeLessThan(f.outcome.seq);
      }
    });
  }
});
