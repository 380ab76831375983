// ktrace explore: the engine in process (one job: Node cannot start .ts
// workers), and the CLI with job processes on Bun and Deno.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import { progressLine } from "../src/cli/cmd/explore.ts";
import { explore, isFailure, runSeed } from "../src/explore/index.ts";
import { newChecker } from "../src/explore/seed.ts";
import { findScenario } from "../src/scenarios/index.ts";
import { openTrace } from "../src/trace/index.ts";
import { cliCommand, REPO_ROOT, runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-explore-"));

describe("explore engine", () => {
  it("finds the rare tcmalloc-fork hang and judges it by outcome and first violation", async () => {
    const res = await explore({ target: "tcmalloc-fork", req: {}, from: 1, to: 300, jobs: 1 });
    expect(res.scanned).toBe(300);
    expect(res.failing.length).toBeGreaterThan(10);
    expect(res.failing.length).toBeLessThan(150);
    const seeds = res.failing.map((r) => r.seed);
    expect(seeds).toEqual([...seeds].sort((a, b) => a - b));
    for (const r of res.failing) {
      expect(r.outcome.kind).toBe("hang");
      expect(r.violation?.invariant).toBe("lock-owner-alive");
      expect(r.violation!.seq).toBeLessThan(r.outcome.seq);
    }
    expect(res.outcomes).toEqual({ ok: 300 - res.failing.length, hang: res.failing.length });
    expect(res.violations).toEqual({ "lock-owner-alive": res.failing.length });
  });

  it("finds nothing for the fixed variants", async () => {
    for (const [target, fix] of [
      ["tcmalloc-fork", "atfork-2.17"],
      ["tcmalloc-fork", "posix-spawn"],
      ["asterinas-procfs", "none-check"],
      ["cpython-fork-serenity", "reinit-lock"],
      ["cpython-fork-serenity", "linux"],
      ["rcore-kstack", "pr146"],
    ] as const) {
      const res = await explore({ target, req: { fix }, from: 1, to: 200, jobs: 1 });
      expect(res.failing, `${target} --fix ${fix}`).toEqual([]);
    }
  });

  it("counts a run that ends ok but breaks an invariant as failing (rcore's silent use of a freed stack)", () => {
    const r = runSeed(findScenario("rcore-kstack"), {}, 1, newChecker());
    expect(r.outcome.kind).toBe("ok");
    expect(r.violation?.invariant).toBe("kstack-in-use");
    expect(isFailure(r)).toBe(true);
    expect(isFailure({ outcome: { kind: "budget", seq: 9, message: "" }, violation: null })).toBe(false);
    expect(isFailure({ outcome: { kind: "panic", seq: 9, message: "x" }, violation: null })).toBe(true);
  });

  it("gives the same answer whatever the batch size", async () => {
    const a = await explore({ target: "asterinas-procfs", req: {}, from: 5, to: 123, jobs: 1, batch: 7 });
    const b = await explore({ target: "asterinas-procfs", req: {}, from: 5, to: 123, jobs: 1, batch: 1000 });
    expect(a.failing).toEqual(b.failing);
    expect(a.outcomes).toEqual(b.outcomes);
    expect(a.failing.length).toBeGreaterThan(0);
  });

  it("lists a seed whose run throws as an error with its exit code, and runs every other seed", async () => {
    const res = await explore({
      target: "fixtures/scenarios/seed-throws.ts",
      req: {},
      from: 1,
      to: 30,
      jobs: 1,
      batch: 4,
    });
    expect(res.errors.map((e) => e.seed)).toEqual([3, 10, 17, 24]);
    expect(res.errors[0]).toEqual({
      seed: 3,
      exitCode: 2,
      message: expect.stringMatching(/build\(\) threw at seed-throws\.ts:\d+: no program for seed 3$/),
    });
    expect(res.outcomes).toEqual({ ok: 26, error: 4 });
    expect(res.scanned).toBe(30);
    const cli = await runCli(["explore", "fixtures/scenarios/seed-throws.ts", "--seeds", "1..30"]);
    expect(cli.code).toBe(2);
    expect(cli.stdout).toMatch(/^10\s+error\s+cannot run: .*no program for seed 10$/m);
    expect(cli.stdout).toMatch(/26 of 30 seeds passed: seed-throws/);
    expect(cli.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^ktrace: a scenario that cannot run at 4 seeds \(3, 10, 17, 24\); first, seed 3: /),
    ]);
  });

  it("refuses a bad fix or option before running anything", async () => {
    await expect(
      explore({ target: "tcmalloc-fork", req: { fix: "nope" }, from: 1, to: 5, jobs: 1 }),
    ).rejects.toMatchObject({ exitCode: 2 });
    await expect(
      explore({ target: "rcore-kstack", req: { opts: ["stack=loud"] }, from: 1, to: 5, jobs: 1 }),
    ).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe("ktrace explore (CLI, job processes)", () => {
  it("tcmalloc-fork 1..2000 exits 1 and lists failing seeds; recording a listed seed reproduces the hang", async () => {
    const r = await runCli(["explore", "tcmalloc-fork", "--seeds", "1..2000"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("");
    const rows = r.stdout.split("\n").filter((l) => /^\d+\s+hang at \d+\s+lock-owner-alive at \d+: /.test(l));
    expect(rows.length).toBeGreaterThan(100);
    expect(r.stdout).toMatch(new RegExp(`${rows.length} of 2,000 seeds failed`));
    const seed = rows[rows.length - 1]!.split(/\s+/)[0]!;
    const rec = await runCli(["record", "tcmalloc-fork", "--seed", seed, "-o", join(dir, "t.ktrace"), "--json"]);
    expect(JSON.parse(rec.stdout).outcome.kind).toBe("hang");
    // Every listed seed hangs when run again, and every other seed does not.
    const listed = new Set(rows.map((l) => Number(l.split(/\s+/)[0])));
    const sc = findScenario("tcmalloc-fork");
    for (let s = 1; s <= 2000; s++) {
      const again = runSeed(sc, {}, s, newChecker());
      expect(again.outcome.kind === "hang", `seed ${s}`).toBe(listed.has(s));
    }
  });

  it("lists the first passing seeds beside the failing ones, and how to diff against one (--json: passing)", async () => {
    // examples/barrier-reuse.ts fails on all but 2 of seeds 1..2000 (310 and 619).
    const j = await runCli(["explore", "examples/barrier-reuse.ts", "--seeds", "1..700", "--json"]);
    expect(j.code).toBe(1);
    const doc = JSON.parse(j.stdout) as { passing: number[]; failing: { seed: number }[]; outcomes: { ok: number } };
    expect(doc.passing).toEqual([310, 619]);
    expect(doc.outcomes.ok).toBe(2);
    expect(doc.failing.map((f) => f.seed)).not.toContain(310);
    const t = await runCli(["explore", "examples/barrier-reuse.ts", "--seeds", "1..700"]);
    expect(t.stdout).toContain("  passed: seeds 310, 619\n");
    expect(t.stdout).toContain(
      "compare with a passing run: ktrace record examples/barrier-reuse.ts --seed 310 -o barrier-reuse-s310.ktrace   ktrace diff barrier-reuse-s1.ktrace barrier-reuse-s310.ktrace",
    );
    // At most 10 are listed, the first in seed order; the text says how many passed in all.
    const many = await runCli(["explore", "fixtures/scenarios/two-consumers.ts", "--seeds", "1..300", "--json"]);
    const m = JSON.parse(many.stdout) as { passing: number[]; failing: { seed: number }[]; scanned: number };
    const failing = new Set(m.failing.map((f) => f.seed));
    const firstPasses: number[] = [];
    for (let s = 1; s <= 300 && firstPasses.length < 10; s++) if (!failing.has(s)) firstPasses.push(s);
    expect(m.passing).toEqual(firstPasses);
    const mt = await runCli(["explore", "fixtures/scenarios/two-consumers.ts", "--seeds", "1..300"]);
    expect(mt.stdout).toContain(`(the first 10 of ${m.scanned - m.failing.length})`);
  });

  it("tcmalloc-fork --fix atfork-2.17 and asterinas-procfs --fix none-check exit 0 over 1..2000", async () => {
    const a = await runCli(["explore", "tcmalloc-fork", "--fix", "atfork-2.17", "--seeds", "1..2000"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/all 2,000 seeds passed/);
    // Every seed passed: the searches that reach other schedules, as commands.
    expect(a.stdout.trimEnd().split("\n").at(-1)).toBe(
      "next: seeds pick few of the schedules; to try every schedule on 1 cpu with at most 2 preemptions: ktrace explore tcmalloc-fork --fix atfork-2.17 --strategy dfs, or ktrace explore tcmalloc-fork --fix atfork-2.17 --seeds 1..2000 --strategy pct",
    );
    const b = await runCli(["explore", "asterinas-procfs", "--fix", "none-check", "--seeds", "1..2000"], {
      runtime: "deno",
    });
    expect(b.code).toBe(0);
  });

  it("asterinas-procfs 1..2000 finds panics; --json is the same for 1 and 2 jobs, on Bun and on Deno", async () => {
    const one = await runCli(["explore", "asterinas-procfs", "--seeds", "1..2000", "--jobs", "1", "--json"]);
    const two = await runCli(["explore", "asterinas-procfs", "--seeds", "1..2000", "--jobs", "2", "--json"]);
    const deno = await runCli(["explore", "asterinas-procfs", "--seeds", "1..2000", "--jobs", "2", "--json"], {
      runtime: "deno",
    });
    expect([one.code, two.code, deno.code]).toEqual([1, 1, 1]);
    expect(two.stdout).toBe(one.stdout);
    expect(deno.stdout).toBe(one.stdout);
    const doc = JSON.parse(one.stdout);
    expect(doc.scanned).toBe(2000);
    expect(doc.failing.length).toBeGreaterThan(100);
    expect(doc.failing[0]).toEqual({
      seed: expect.any(Number),
      outcome: { kind: "panic", seq: expect.any(Number), message: expect.stringContaining("unwrap()") },
      violation: { seq: expect.any(Number), invariant: "vmar-live", message: expect.any(String) },
    });
  });

  it("--save writes the first failing seeds' traces, --save-all every failing one", async () => {
    const few = join(dir, "few");
    const r = await runCli(["explore", "asterinas-procfs", "--seeds", "1..40", "--save", few, "--json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.failing.length).toBeGreaterThan(10);
    expect(doc.saved).toHaveLength(10);
    expect(readdirSync(few).sort()).toEqual(
      doc.failing
        .slice(0, 10)
        .map((f: { seed: number }) => `asterinas-procfs-s${f.seed}.ktrace`)
        .sort(),
    );
    const t = openTrace(doc.saved[0]);
    expect(t.meta.seed).toBe(doc.failing[0].seed);
    expect(t.outcome?.kind).toBe("panic");
    const all = join(dir, "all");
    const r2 = await runCli(["explore", "asterinas-procfs", "--seeds", "1..40", "--save", all, "--save-all"], {
      runtime: "deno",
    });
    expect(r2.code).toBe(1);
    expect(readdirSync(all)).toHaveLength(doc.failing.length);
    expect(r2.stdout).toMatch(new RegExp(`saved ${doc.failing.length} traces to`));
  });

  it("runs a user scenario file in the workers", async () => {
    const r = await runCli(["explore", "fixtures/scenarios/bank.ts", "--seeds", "1..200", "--jobs", "2", "--json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.failing.length).toBeGreaterThan(0);
    expect(doc.failing[0].outcome.kind).toBe("hang");
    const fixed = await runCli([
      "explore",
      "fixtures/scenarios/bank.ts",
      "--fix",
      "ordered",
      "--seeds",
      "1..200",
      "--jobs",
      "2",
    ]);
    expect(fixed.code).toBe(0);
  });

  it("shows a progress line on stderr only when stderr is a terminal", async () => {
    const quiet = await runCli(["explore", "tcmalloc-fork", "--seeds", "1..500", "--json"]);
    expect(quiet.stderr).toBe("");
  });

  it.skipIf(!existsSync("/usr/bin/script"))(
    "draws the progress line in place in an 80-column terminal, never as wide as the terminal, and clears it",
    () => {
      const [cmd, pre] = cliCommand("bun");
      const out = join(dir, "tty.json");
      const line = [cmd, ...pre, "explore", "tcmalloc-fork", "--seeds", "1..30000", "--json"]
        .map((w) => `'${w}'`)
        .join(" ");
      const r = spawnSync("/usr/bin/script", ["-qec", `stty cols 80 rows 24; ${line} > '${out}'`, "/dev/null"], {
        cwd: REPO_ROOT,
        env: { ...process.env, NO_COLOR: "1" },
        encoding: "utf8",
      });
      expect(r.status).toBe(1);
      expect(r.stdout.endsWith("\r\x1b[K")).toBe(true);
      // Every frame starts at column 0 and erases the rest of the row: no stale text, and no row wraps.
      const frames = r.stdout.split("\r").filter((f) => f !== "");
      expect(frames.length).toBeGreaterThan(1);
      for (const f of frames.slice(0, -1)) {
        // One layout for the whole run (chosen for the counts at their widest): the bar, counts, time left.
        expect(f).toMatch(/^[█░]{12} [\d,]+\/30,000 seeds {2}[\d,]+ failing {2}[\d.]+ s left\x1b\[K$/);
        expect([...f.replace("\x1b[K", "")].length).toBeLessThan(80);
      }
      expect(r.stdout).not.toContain("\n");
      expect(JSON.parse(readFileSync(out, "utf8")).scanned).toBe(30000);
    },
  );

  it("fits the progress line to the terminal, dropping the rate, the bar, then the label", () => {
    const p = { done: 1_234_567, total: 10_000_000, failing: 98_765, errors: 0, elapsedMs: 20_000 };
    const full = progressLine("explore tcmalloc-fork", p, 200);
    expect(full).toBe(
      "explore tcmalloc-fork ███░░░░░░░░░░░░░░░░░░░░░ 1,234,567/10,000,000 seeds  98,765 failing  61,728 seeds/s  2 min 22 s left",
    );
    expect(progressLine("explore tcmalloc-fork", p, 100)).toBe(
      "explore tcmalloc-fork █░░░░░░░░░░░ 1,234,567/10,000,000 seeds  98,765 failing  2 min 22 s left",
    );
    expect(progressLine("explore tcmalloc-fork", p, 80)).toBe(
      "█░░░░░░░░░░░ 1,234,567/10,000,000 seeds  98,765 failing  2 min 22 s left",
    );
    expect(
      progressLine("explore tcmalloc-fork", { ...p, done: 1000, total: 3000, failing: 150, elapsedMs: 200 }, 80),
    ).toBe("explore tcmalloc-fork ████░░░░░░░░ 1,000/3,000 seeds  150 failing  0.4 s left");
    expect(progressLine("explore tcmalloc-fork", p, 60)).toBe("1,234,567/10,000,000 seeds  98,765 failing");
    expect(progressLine("explore tcmalloc-fork", p, 30)).toBe("1,234,567/10,000,000 seeds  …");
    expect(progressLine("explore tcmalloc-fork", { ...p, errors: 2 }, 200)).toContain(
      "98,765 failing  2 errors  61,728 seeds/s",
    );
    // Label text is the user's: wide characters count two cells, controls are escaped.
    const wide = progressLine("explore ./シナリオ.ts\x1b[2J", p, 140);
    expect(wide).not.toContain("\x1b");
    expect(wide).toContain("\\x1b[2J");
    for (const cols of [1, 2, 10, 40, 79, 80, 81, 120]) {
      expect(stringWidth(progressLine("explore ./シナリオ.ts", p, cols)), `${cols} columns`).toBeLessThan(
        Math.max(2, cols),
      );
    }
  });

  it("bad input exits 2 with one line", async () => {
    for (const args of [
      ["explore", "tcmalloc-fork", "--seeds", "1..10", "--jobs", "0"],
      ["explore", "tcmalloc-fork", "--seeds", "1..10", "--fix", "nope"],
      ["explore", "tcmalloc-fork", "--seeds", "1..10", "--save-all"],
      ["explore", "tcmalloc-fork", "--seeds", "10..1"],
      ["explore", "tcmalloc-fork"],
      ["explore", "no-such-scenario", "--seeds", "1..3"],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
  });
});
