// ktrace import compresses and writes on a second thread (issue 15's speed):
// the same file as the import written on one thread, on Bun and Deno (and the
// fallback on Node, where no worker starts), for every text fixture and a
// long generated input where "auto" starts the thread mid-way (or with the trace,
// from THREAD_AT_ONCE_BYTES of input); `ktrace import
// --verbose` says which way it wrote.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { THREAD_AFTER_EVENTS } from "../src/import/index.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { checkImportThread, type ImportThreadReport } from "./support/import-thread-check.ts";
import { tempDir } from "./support/trace-util.ts";

const dir = tempDir("import-thread");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BIN = join(REPO_ROOT, "node_modules", ".bin");
const SCRIPT = join(REPO_ROOT, "test", "support", "import-thread-check.ts");
const FIX = join(REPO_ROOT, "fixtures", "import");

describe("import's writer thread", () => {
  it("falls back to this thread where no worker starts (Node), with the same bytes", async () => {
    const r = await checkImportThread(dir);
    expect(r.started).toMatch(/^import: no writer thread \(.+\); writing on this one$/);
    expect(r.differ).toEqual([]);
  }, 240_000);

  for (const [runtime, cmd, pre] of [
    ["bun", join(BIN, "bun"), []],
    ["deno", join(BIN, "deno"), ["run", "--quiet", "--allow-all", `--config=${join(REPO_ROOT, "deno.json")}`]],
  ] as const) {
    it(`writes the one-thread import's bytes under ${runtime}`, () => {
      const p = spawnSync(cmd, [...pre, SCRIPT, dir], { cwd: REPO_ROOT, encoding: "utf8" });
      expect(p.status, p.stderr).toBe(0);
      const r = JSON.parse(p.stdout) as ImportThreadReport;
      expect(r.started).toBe("");
      expect(r.runs).toBeGreaterThan(20);
      expect(r.differ).toEqual([]);
      // auto: the thread starts once the trace holds THREAD_AFTER_EVENTS events (at the end of that batch)
      const at = /^import: compressing and writing on a second thread from event (\d+)$/.exec(r.auto);
      expect(at, r.auto).not.toBeNull();
      expect(Number(at![1])).toBeGreaterThanOrEqual(THREAD_AFTER_EVENTS);
      expect(Number(at![1])).toBeLessThan(THREAD_AFTER_EVENTS + 20_000);
      // auto on an input of THREAD_AT_ONCE_BYTES or more: from the start (no deflate on the import's thread)
      expect(r.autoAtOnce).toMatch(/^import: compressing and writing on a second thread(;|$)/);
    }, 240_000);
  }

  it("ktrace import --verbose says how it wrote, and the files are the same", async () => {
    const input = join(FIX, "ftrace", "tracefs.txt");
    const a = join(dir, "cli-thread.ktrace");
    const b = join(dir, "cli-alone.ktrace");
    const c = join(dir, "cli-auto.ktrace");
    const one = await runCli(["import", input, "-o", a, "--verbose"], { env: { KTRACE_WRITER_THREAD: "always" } });
    const two = await runCli(["import", input, "-o", b, "--verbose"], { env: { KTRACE_WRITER_THREAD: "never" } });
    const three = await runCli(["import", input, "-o", c, "--verbose"]);
    for (const r of [one, two, three]) expect(r.code, r.stderr).toBe(0);
    expect(one.stderr).toMatch(/import: compressing and writing on a second thread$/m);
    expect(two.stderr).toMatch(/import: writing on this thread \(as asked\)/);
    expect(three.stderr).toMatch(/import: writing on this thread \(\d+ events\)/);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(c).equals(readFileSync(b))).toBe(true);
  }, 120_000);

  it("an import refused before its header ends the writer thread it started early, and leaves no file", async () => {
    // The thread starts with the import (before the header); a line out of time order in the first ops stops it.
    const lines = ["# tracer: nop"];
    for (let i = 0; i < 4200; i++)
      lines.push(`bash-100 [000] ..... 1234.${String(100000 + i * 10).padStart(6, "0")}: sched_stat_runtime: x=${i}`);
    lines.push("bash-100 [000] ..... 1234.000001: sched_stat_runtime: x=late");
    const input = join(dir, "late.txt");
    writeFileSync(input, `${lines.join("\n")}\n`);
    const out = join(dir, "late.ktrace");
    for (const runtime of ["bun", "deno"] as const) {
      const r = await runCli(["import", input, "-o", out, "--verbose"], {
        runtime,
        env: { KTRACE_WRITER_THREAD: "always" },
      });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/line 4202 is out of time order/);
      expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
    }
  }, 120_000);
});
