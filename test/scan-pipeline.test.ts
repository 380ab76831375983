// The scan pipeline (`ktrace check` on two threads: parallel-scan.ts's
// "pipeline" mode, decode-ring.ts, decode-worker.ts) gives the serial scan's
// answer: the violation, the count, the unchecked stretches, the final state
// and the damage the reader knows, in both views. Traces of many small
// chunks (32 events), so that the ring of 8 slots wraps hundreds of times:
// stress with none, with shared state (data-race needs a second pass from
// the start: the worker is sent back), examples whose violation comes early,
// mid-way and at the last event, stress with chunks damaged mid-way and cut
// short (recovery), the seed traces and the damaged fixtures. Under Bun and
// Deno a decode worker runs; under Node (this process) none can start and
// this thread decodes every chunk. A worker that fails mid-way leaves the
// rest to this thread, with the same answer.
import { spawnSync } from "node:child_process";
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initState, simulate } from "../src/kernel/index.ts";
import { KIND } from "../src/kernel/types.ts";
import { metaOf, prepare } from "../src/record/index.ts";
import { firstViolation, openSource } from "../src/replay/index.ts";
import { TraceWriter } from "../src/trace/index.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { type Compared, compareScans, SCAN_FIXTURES } from "./support/scan-compare.ts";
import { tempDir } from "./support/trace-util.ts";

const dir = tempDir("scan-pipeline");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BIN = join(REPO_ROOT, "node_modules", ".bin");
const SCRIPT = join(REPO_ROOT, "test", "support", "scan-compare.ts");
const traces: string[] = [];
/** Where the violation of some recorded traces is: early, mid-way, at the last event (from the serial scan). */
const where: Record<string, { seq: number | null; events: number }> = {};

/**
 * Records `target` (20,000 events) into dir with chunks of 32 events and a
 * snapshot every 256; `panicAt`: that event is replaced by a kernel panic
 * (no-panic breaks there) whose message has a control character and a lone
 * surrogate (the string crosses the ring; the display-safe view escapes it).
 */
async function recordSmallChunks(name: string, target: string, opts: string[] = [], panicAt = -1) {
  const p = await prepare({ target, opts, maxEvents: 20_000 });
  const path = join(dir, `${name}.ktrace`);
  const w = TraceWriter.create(path, metaOf(p, 256), initState(p.world.config), {
    snapshotEvery: 256,
    chunkEvents: 32,
  });
  simulate(p.world, { seed: p.variant.seed, maxEvents: p.maxEvents }, (ev, s) =>
    w.append(
      ev.seq === panicAt ? { ...ev, kind: KIND.panic, a: 0, b: 0, c: 0, s: "in\u001b[31mjected \ud800" } : ev,
      s,
    ),
  );
  w.finish();
  traces.push(path);
  return path;
}

beforeAll(async () => {
  const stress = await recordSmallChunks("stress", "stress");
  await recordSmallChunks("stress-vars", "stress", ["state=vars"]);
  await recordSmallChunks("stress-panic", "stress", [], 1000);
  for (const ex of ["zombie-leak", "livelock", "priority-inversion", "signal-malloc", "seqlock"])
    await recordSmallChunks(ex, join(REPO_ROOT, "examples", `${ex}.ts`));
  // Damage mid-way: bytes flipped at three places (chunks or snapshots), and the file cut at 60% (no footer: recovery).
  const bytes = readFileSync(stress);
  const flipped = Buffer.from(bytes);
  for (const at of [0.3, 0.5, 0.7]) flipped[Math.floor(bytes.length * at)]! ^= 0x5a;
  const f = join(dir, "stress-flipped.ktrace");
  writeFileSync(f, flipped);
  const cut = join(dir, "stress-cut.ktrace");
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  traces.push(f, cut);
  for (const t of readdirSync(join(REPO_ROOT, "traces")).filter((x) => x.endsWith(".ktrace")))
    traces.push(join(REPO_ROOT, "traces", t));
  for (const t of SCAN_FIXTURES) {
    const p = join(dir, `fixture-${t}`);
    copyFileSync(join(REPO_ROOT, "fixtures", "traces", t), p);
    traces.push(p);
  }
  for (const t of traces) {
    const s = openSource(t);
    where[t] = { seq: firstViolation(s).violation?.seq ?? null, events: s.eventCount };
    s.close();
  }
}, 120_000);

function expectSame(cs: Compared[]): void {
  const bad = cs.filter((c) => !c.same).map((c) => `${c.trace} (display ${c.display}): ${c.diff.join("; ")}`);
  expect(bad).toEqual([]);
}

function run(runtime: "bun" | "deno", args: string[]): Compared[] {
  const [cmd, pre] =
    runtime === "bun"
      ? [join(BIN, "bun"), []]
      : [join(BIN, "deno"), ["run", "--quiet", "--allow-all", `--config=${join(REPO_ROOT, "deno.json")}`]];
  const p = spawnSync(cmd, [...pre, SCRIPT, "--pipeline", ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  expect(p.status, p.stderr).toBe(0);
  return JSON.parse(p.stdout) as Compared[];
}

const long = (t: string) => /stress|zombie|livelock/.test(t);

describe("the scan pipeline", () => {
  it("covers violations early, mid-way and at the end of multi-chunk traces, none, and damage", () => {
    const v = Object.values(where);
    expect(v.some((x) => x.seq !== null && x.events > 64 && x.seq < x.events / 2)).toBe(true);
    expect(v.some((x) => x.seq !== null && x.seq === x.events - 1 && x.events > 10_000)).toBe(true);
    expect(where[join(dir, "stress.ktrace")]).toEqual({ seq: null, events: 20_000 });
    expect(where[join(dir, "stress-panic.ktrace")]).toEqual({ seq: 1000, events: 20_000 });
    const s = openSource(join(dir, "stress-flipped.ktrace"));
    firstViolation(s);
    expect(s.gaps.length).toBeGreaterThan(0);
    s.close();
    expect(openSource(join(dir, "stress-cut.ktrace")).recovery).not.toBeNull();
  });

  it("gives the serial answer on every trace, in both views (Node: no worker starts, this thread decodes)", async () => {
    const cs: Compared[] = [];
    for (const t of traces)
      for (const display of [false, true]) cs.push(await compareScans(t, 64, display, [], true, "pipeline"));
    expectSame(cs);
  }, 120_000);

  for (const runtime of ["bun", "deno"] as const) {
    it(`gives the serial answer under ${runtime}, with the decode worker decoding ahead`, () => {
      const cs = run(runtime, traces);
      expect(cs.length).toBe(traces.length * 2);
      expectSame(cs);
      for (const c of cs) {
        const n = c.notes.join("\n");
        if (c.trace.endsWith(".gz")) expect(n, c.trace).toMatch(/one thread \(a gzip-wrapped trace/);
        // The long traces: the worker decoded chunks (the scan waited for it to run), and did not fail.
        else if (long(c.trace)) {
          expect(n, c.trace).toMatch(
            /check: 2 threads \(a pipeline: a decode worker decoded [1-9]\d* of the \d+ chunks/,
          );
          expect(n, c.trace).not.toMatch(/then/);
        }
      }
    }, 240_000);
  }

  it("a decode worker that fails mid-way leaves the rest to this thread, with the same answer (Bun)", () => {
    const cs = run("bun", ["--fail-after", "5", ...traces.filter(long)]);
    expectSame(cs);
    for (const c of cs) {
      const n = c.notes.join("\n");
      expect(n, c.trace).toMatch(
        /a decode worker decoded [1-5] of the \d+ chunks this thread checked; then the decode worker ended/,
      );
    }
  }, 120_000);
});
