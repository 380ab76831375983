// The end of each cpu's events in an imported trace (src/import/cpu-end.ts): a real
// `perf record -a -- CMD` capture whose cpus stop recording at different times must
// not read as a task on two cpus at once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CPU_END, cpuEndRecord, cpuEnds } from "../src/import/cpu-end.ts";
import { newRecord, type TraceRecord } from "../src/import/record.ts";
import { KIND } from "../src/kernel/index.ts";
import { openSource } from "../src/replay/index.ts";
import { allEvents } from "./helpers/replay-sources.ts";
import { runCli } from "./helpers/run-cli.ts";

const rec = (line: number, ts: number, cpu: number): TraceRecord =>
  newRecord(line, ts, cpu, "t", 10, undefined, "sched_switch", "sched", {}, undefined);

describe("cpuEnds", () => {
  it("each cpu's last record that comes before the final one", () => {
    const last = [rec(1, 10, 0), rec(2, 20, 1), rec(3, 30, 0), rec(4, 40, 2), rec(5, 50, 1)];
    expect([...cpuEnds(last)].sort()).toEqual([2, 3]);
    expect(cpuEndRecord(last[2]!)).toMatchObject({ line: 3, ts: 30, cpu: 0, tid: -1, name: CPU_END, system: "ktrace" });
  });

  it("not a cpu tied with the final time, nor records without a cpu, nor a lone record", () => {
    expect([...cpuEnds([rec(1, 10, 0), rec(2, 20, -1), rec(3, 20, 1), rec(4, 20, 2)])]).toEqual([0]);
    expect([...cpuEnds([rec(1, 10, 0)])]).toEqual([]);
  });
});

describe("a real perf capture (fixtures/import/real/perf-record-tail.txt)", () => {
  it("imports with one end marker and checks clean: cpu 0's switch away from perf was never recorded", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-cpu-end-"));
    const out = path.join(dir, "tail.ktrace");
    const imp = await runCli(["import", "fixtures/import/real/perf-record-tail.txt", "-o", out]);
    expect(imp.code).toBe(0);
    expect(imp.stdout).toMatch(/ktrace_cpu_end +1 +lost, count -1 \(ktrace's marker, not an input line/);
    const src = openSource(out);
    const evs = allEvents(src);
    src.close();
    const marks = evs.filter((e) => e.kind === KIND.lost);
    expect(marks).toHaveLength(1);
    const m = marks[0]!;
    expect(m.a).toBe(-1);
    // Right after cpu 0's last event, and only cpu 1's events after it; the last of them
    // switches to the task cpu 0's last switch ran.
    expect(evs[m.seq - 1]!.cpu).toBe(m.cpu);
    const after = evs.slice(m.seq + 1);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((e) => e.cpu !== m.cpu)).toBe(true);
    const lastSwitch = (cpu: number, upto: number) =>
      evs
        .slice(0, upto)
        .filter((e) => e.kind === KIND.switch && e.cpu === cpu)
        .at(-1)!;
    const final = after.filter((e) => e.kind === KIND.switch).at(-1)!;
    expect(final.b).toBe(lastSwitch(m.cpu, m.seq).b);
    const check = await runCli(["check", out, "--json"]);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).violation).toBeNull();
    const events = await runCli(["events", out, "--from", String(m.seq), "--to", String(m.seq)]);
    expect(events.stdout).toMatch(/its last event in the trace .*what it runs from here is not known/);
  });
});

describe("a real perf capture with a task's last events after it exited (fixtures/import/real/perf-exited-task.txt)", () => {
  it("perf prints the exited task as `:-1 -1`: those lines parse, and its last switch away leaves the cpu consistent", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ktrace-exited-"));
    const out = path.join(dir, "exited.ktrace");
    const imp = await runCli(["import", "fixtures/import/real/perf-exited-task.txt", "-o", out]);
    expect(imp.code).toBe(0);
    expect(imp.stdout).toMatch(/60 lines, [\d,]+ bytes: 60 events, 0 header\/blank, 0 unparsed/);
    expect(imp.stdout + imp.stderr).not.toMatch(/did not parse/);
    const src = openSource(out);
    const evs = allEvents(src);
    src.close();
    // Bun Pool 0 (tid 890) exits, then its switch away is printed with an unknown task: the cpu goes idle.
    const exit = evs.find((e) => e.kind === KIND.threadExit && e.tid === 890)!;
    const away = evs.find((e) => e.kind === KIND.switch && e.seq > exit.seq)!;
    expect([away.cpu, away.a, away.b]).toEqual([0, 890, -1]);
    const check = await runCli(["check", out, "--json"]);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).violation).toBeNull();
    rmSync(dir, { recursive: true, force: true });
  });
});
