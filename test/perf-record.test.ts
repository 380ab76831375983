// Recording with a writer thread (issue 14): the same file as the writer
// alone, on Bun and Deno (and the fallback on Node, where no worker starts);
// a write failure on the thread is the writer's TraceWriteError; an abort
// stops it and removes the partial file; `ktrace record --verbose` says
// which way it wrote.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { tempDir } from "./support/trace-util.ts";
import { checkWriterThread, type WriterThreadReport } from "./support/writer-thread-check.ts";

const dir = tempDir("perf-record");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BIN = join(REPO_ROOT, "node_modules", ".bin");
const SCRIPT = join(REPO_ROOT, "test", "support", "writer-thread-check.ts");

describe("writer thread", () => {
  it("falls back to this thread where no worker starts (Node), with the same bytes", async () => {
    const r = await checkWriterThread(dir);
    expect(r.started).toMatch(/record: no writer thread \(.+\); writing on this one/);
    expect(r.differ).toEqual([]);
  }, 120_000);

  for (const [runtime, cmd, pre] of [
    ["bun", join(BIN, "bun"), []],
    ["deno", join(BIN, "deno"), ["run", "--quiet", "--allow-all", `--config=${join(REPO_ROOT, "deno.json")}`]],
  ] as const) {
    it(`writes the writer's own bytes under ${runtime}; reports a failed write; stops on abort`, () => {
      const p = spawnSync(cmd, [...pre, SCRIPT, dir], { cwd: REPO_ROOT, encoding: "utf8" });
      expect(p.status, p.stderr).toBe(0);
      const r = JSON.parse(p.stdout) as WriterThreadReport;
      expect(r.started).toBe("");
      expect(r.runs).toBe(5);
      expect(r.differ).toEqual([]);
      expect(r.odd).toBe("same");
      expect(r.failure).toMatch(/^TraceWriteError ENOSPC kept \d+ says so$/);
      expect(r.abort).toBe("removed");
    }, 240_000);
  }

  it("ktrace record --verbose says it wrote on a second thread, and the file is the one written alone", async () => {
    const a = join(dir, "cli-thread.ktrace");
    const b = join(dir, "cli-alone.ktrace");
    const args = ["record", "stress", "--max-events", "200000", "--verbose"];
    const one = await runCli([...args, "-o", a], { env: { KTRACE_WRITER_THREAD: "always" } });
    const two = await runCli([...args, "-o", b], { env: { KTRACE_WRITER_THREAD: "never" } });
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(one.stderr).toMatch(/record: compressing and writing on a second thread/);
    expect(two.stderr).toMatch(/record: writing on this thread \(as asked\)/);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  }, 120_000);
});
