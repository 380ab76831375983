// The fuzz harness's bounded sample (bench/fuzz.ts; the 100,000-input runs are
// in docs/BENCHMARKS.md): mutated traces through info, check, state --at end and
// events on Bun and on Deno (a few thousand inputs). Count-bounded: each input has a generous hang bound
// (60 s, for an infinite loop, not a speed limit); nothing here measures time.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/run-cli.ts";

function fuzz(runtime: "bun" | "deno", count: number, seed: number) {
  const r = spawnSync(
    join(REPO_ROOT, "node_modules", ".bin", "bun"),
    [
      join(REPO_ROOT, "bench", "fuzz.ts"),
      "--count",
      String(count),
      "--seed",
      String(seed),
      "--runtime",
      runtime,
      "--jobs",
      "2",
      "--timeout-ms",
      "60000",
      "--json",
    ],
    { encoding: "utf8", cwd: REPO_ROOT, maxBuffer: 1 << 26 },
  );
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as { count: number; classes: Record<string, number>; peakMB: number; bad: unknown[] };
}

describe("fuzzing the reader through the CLI's commands (bounded sample)", () => {
  for (const [runtime, count, seed] of [
    ["bun", 2000, 101],
    ["deno", 300, 202],
  ] as const) {
    it(`${count} mutated traces on ${runtime}: no exit 3, no hang, no silent wrong answer, none over 256 MB`, () => {
      const s = fuzz(runtime, count, seed);
      expect(s.count).toBe(count);
      expect(s.bad).toEqual([]);
      for (const c of ["exit3", "hang", "overmem", "wrong", "multiline"]) expect(s.classes[c], c).toBe(0);
      // Both outcomes occur: the sample exercises refusals and recoveries.
      expect(s.classes.ok).toBeGreaterThan(count / 10);
      expect(s.classes.refused).toBeGreaterThan(count / 10);
      expect(s.peakMB).toBeLessThanOrEqual(256);
    });
  }
});
