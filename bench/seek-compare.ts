// A seek's own cost in this tree against another's (a worktree of main, say),
// interleaved, by the seeking thread's exact CPU time: the A/B figure that a
// loaded machine does not spoil (load adds wall time, and CPU time only
// through the caches). Each run is a child process with one tree's modules:
// WARMUP_SEEKS random seeks, then `--targets` random targets each sought in 5
// passes (a fresh cursor per pass), the least CPU time per target kept (as
// seek-cost.ts's ownCost keeps the least wall time), then `--cold` seeks each
// on a freshly opened trace (CPU time, and how many had a collection in them).
// Usage: npx bun bench/seek-compare.ts --compare DIR [--trace T] [--compare-trace T2] [--pairs N] [--targets N] [--cold N]
// (--compare-trace: the trace DIR's tree seeks in, default T: the same events in
// the format that tree reads, as a 2.x trace against a 3.0 one)
// (default trace bench/out/stress-100000000.ktrace, 3 pairs, 400 targets, 500
// cold seeks). Bun on Linux only (bun:ffi's clock_gettime). DIR needs this
// tree's module layout (src/replay/index.ts, src/kernel/prng.ts).

import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { threadCpuClock, WARMUP_SEEKS } from "./seek-cost.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const trace = resolve(opt("--trace") ?? "bench/out/stress-100000000.ktrace");
const TARGETS = Number(opt("--targets") ?? 400);
const COLD = Number(opt("--cold") ?? 500);
const PASSES = 5;
const SELF = fileURLToPath(import.meta.url);

interface Run {
  p50: number;
  p99: number;
  mean: number;
  coldP50: number;
  coldP99: number;
  coldGcs: number;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** One tree's run, in this process (the child). */
async function child(root: string): Promise<Run> {
  const { Cursor, openSource } = await import(resolve(root, "src/replay/index.ts"));
  const { Rng } = await import(resolve(root, "src/kernel/prng.ts"));
  const cpu = await threadCpuClock();
  let heapSize: () => number = () => 0;
  try {
    // biome-ignore lint/suspicious/noExplicitAny: Bun's JSC helpers
    heapSize = (require("bun:jsc") as any).heapSize;
  } catch {}
  const src = openSource(trace);
  const r = new Rng(src.eventCount);
  const rnd = () => r.u32() / 4294967296;
  const at = () => Math.floor(rnd() * src.eventCount);
  const warm = new Cursor(src);
  for (let i = 0; i < WARMUP_SEEKS; i++) warm.seek(at());
  const tos = Array.from({ length: TARGETS }, at);
  const best = tos.map(() => Number.POSITIVE_INFINITY);
  for (let p = 0; p < PASSES; p++) {
    const c = new Cursor(src);
    for (let i = 0; i < tos.length; i++) {
      const t = cpu();
      c.seek(tos[i]!);
      best[i] = Math.min(best[i]!, (cpu() - t) / 1e6);
    }
  }
  src.close();
  const cold: number[] = [];
  let coldGcs = 0;
  for (let i = 0; i < COLD; i++) {
    const s = openSource(trace);
    const c = new Cursor(s);
    const to = at();
    const h = heapSize();
    const t = cpu();
    c.seek(to);
    cold.push((cpu() - t) / 1e6);
    if (heapSize() < h) coldGcs++;
    s.close();
  }
  return {
    p50: pct(best, 50),
    p99: pct(best, 99),
    mean: best.reduce((a, b) => a + b, 0) / best.length,
    coldP50: pct(cold, 50),
    coldP99: pct(cold, 99),
    coldGcs,
  };
}

const f = (x: number) => x.toFixed(3);
const line = (r: Run) =>
  `own cost p50 ${f(r.p50)} p99 ${f(r.p99)} mean ${f(r.mean)} ms; cold p50 ${f(r.coldP50)} p99 ${f(r.coldP99)} ms, ${r.coldGcs} with a collection`;

if (opt("--child") !== undefined) {
  console.log(JSON.stringify(await child(opt("--child")!)));
} else {
  const other = opt("--compare");
  if (!other)
    throw new Error("usage: bench/seek-compare.ts --compare DIR [--trace T] [--pairs N] [--targets N] [--cold N]");
  const pairs = Number(opt("--pairs") ?? 3);
  const otherTrace = resolve(opt("--compare-trace") ?? trace);
  const run = (root: string, t = trace): Run => {
    const r = spawnSync(
      process.execPath,
      [SELF, "--child", root, "--trace", t, "--targets", String(TARGETS), "--cold", String(COLD)],
      {
        encoding: "utf8",
        maxBuffer: 1 << 20,
      },
    );
    if (r.status !== 0) throw new Error(`${root}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as Run;
  };
  const here = resolve(dirname(SELF), "..");
  const mine: Run[] = [];
  const theirs: Run[] = [];
  console.log(
    `${trace}: a seek's CPU time, this tree (${here}) against ${resolve(other)}${otherTrace === trace ? "" : ` (on ${otherTrace})`}, ${pairs} interleaved pairs`,
  );
  for (let k = 0; k < pairs; k++) {
    const load = loadavg()[0]!.toFixed(2);
    theirs.push(run(resolve(other), otherTrace));
    mine.push(run(here));
    console.log(`pair ${k + 1} (load ${load}):\n  other: ${line(theirs[k]!)}\n  this:  ${line(mine[k]!)}`);
  }
  const med = (rs: Run[], k: keyof Run) =>
    pct(
      rs.map((r) => r[k]),
      50,
    );
  console.log(
    `medians: own cost p50 ${f(med(mine, "p50"))} against ${f(med(theirs, "p50"))} ms (${f(med(mine, "p50") / med(theirs, "p50"))}), p99 ${f(med(mine, "p99"))} against ${f(med(theirs, "p99"))} (${f(med(mine, "p99") / med(theirs, "p99"))}); cold p50 ${f(med(mine, "coldP50"))} against ${f(med(theirs, "coldP50"))}, p99 ${f(med(mine, "coldP99"))} against ${f(med(theirs, "coldP99"))} ms`,
  );
}
