// Strategies compared: schedules to the first failure per strategy, for the
// seed scenarios' buggy variants, every scenario file in examples/ (found
// when the bench runs: more arrive with the examples) and the PCT fixture.
// Usage: bun bench/strategies.ts [--seeds N] [--depth d,...] [--preemptions k] [--max-schedules N] [--only NAME,...] [--json]
//
// random and pct: seeds 1..N of the scenario's default cpus. "To first
// failure" is, for 200 starting seeds spread over 1..N, how many runs a user
// starting there waits until a failing one (walking the seeds in order,
// wrapping around): the median and the 90th percentile of those waits, and
// the failing fraction. µs/run is the time per run in this process (one
// job), so pct's overhead against random is read off it. dfs: the bounded
// search on one cpu, in its own order: the number of the first failing
// schedule, the schedules within the bound, and whether it completed.
// Figures go in docs/BENCHMARKS.md; the machine is shared, so the times are
// indicative (the counts are exact: the same on every run).

import { readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { search } from "../src/explore/search.ts";
import { newChecker, runBatch } from "../src/explore/seed.ts";
import type { StrategySpec } from "../src/explore/strategies/index.ts";
import { prepareWith } from "../src/record/index.ts";
import { resolveScenario, SCENARIOS, type Scenario } from "../src/scenarios/index.ts";
import { table } from "../src/util/text-table.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const N = Number(opt("--seeds", "2000"));
const DEPTHS = opt("--depth", "2,3").split(",").map(Number);
const BOUND = Number(opt("--preemptions", "2"));
const only = argv.includes("--only") ? opt("--only", "").split(",") : null;
const json = argv.includes("--json");
const STARTS = 200;
/** The bounded search stops after this many schedules per scenario (a loop that spins multiplies them); the table says so. */
const MAX_SCHEDULES = Number(opt("--max-schedules", "20000"));

/** The targets: seed scenarios (buggy), examples/*.ts, and the PCT fixture. */
async function targets(): Promise<{ name: string; scenario: Scenario; opts: string[] }[]> {
  const out: { name: string; scenario: Scenario; opts: string[] }[] = [];
  for (const s of SCENARIOS) if (s.upstream) out.push({ name: s.name, scenario: s, opts: [] });
  let files: string[] = [];
  try {
    files = readdirSync(join(ROOT, "examples"))
      .filter((f) => f.endsWith(".ts"))
      .sort();
  } catch {
    /* no examples yet */
  }
  for (const f of files) {
    try {
      out.push({ name: `examples/${f}`, scenario: await resolveScenario(join(ROOT, "examples", f)), opts: [] });
    } catch (e) {
      console.error(`skipping examples/${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const pct = await resolveScenario(join(ROOT, "fixtures", "scenarios", "pct-depth.ts"));
  out.push(
    { name: "pct-depth (depth 2)", scenario: pct, opts: ["depth=2"] },
    { name: "pct-depth (depth 3)", scenario: pct, opts: ["depth=3"] },
  );
  return only ? out.filter((t) => only.some((o) => t.name.includes(o))) : out;
}

/** Waits to the first failure from STARTS starting seeds spread over 1..n (cyclic); Infinity when none fails. */
function waits(failing: Set<number>, n: number): number[] {
  const fails = [...failing].sort((a, b) => a - b);
  const out: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const start = 1 + Math.floor((i * n) / STARTS);
    if (fails.length === 0) {
      out.push(Infinity);
      continue;
    }
    const next = fails.find((s) => s >= start) ?? fails[0]! + n;
    out.push(next - start + 1);
  }
  return out.sort((a, b) => a - b);
}

const pctl = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const fmt = (x: number) => (x === Infinity ? `>${N}` : x.toLocaleString("en-US"));

interface Row {
  target: string;
  strategy: string;
  cpus: number;
  median: number | null;
  p90: number | null;
  failing: number;
  runs: number;
  usPerRun: number;
  note: string;
}

const rows: Row[] = [];
const all = await targets();
// Warm the JIT up on the first target, so the first row's µs/run is not its compile time.
if (all[0])
  for (const strategy of [{ name: "random" }, { name: "pct", depth: 3 }] as StrategySpec[])
    runBatch(all[0].scenario, { opts: all[0].opts, strategy }, 1, 300, newChecker());
for (const t of all) {
  for (const strategy of [{ name: "random" }, ...DEPTHS.map((depth) => ({ name: "pct", depth }))] as StrategySpec[]) {
    const req = { opts: t.opts, strategy };
    let p: ReturnType<typeof prepareWith>;
    try {
      p = prepareWith(t.scenario, { ...req, seed: 1 });
    } catch (e) {
      console.error(`skipping ${t.name}: ${e instanceof Error ? e.message : String(e)}`);
      break;
    }
    const t0 = performance.now();
    const b = runBatch(t.scenario, req, 1, N, newChecker());
    const ms = performance.now() - t0;
    const w = waits(new Set(b.failing.map((f) => f.seed)), N);
    rows.push({
      target: t.name,
      strategy: strategy.name === "pct" ? `pct d=${strategy.depth}` : "random",
      cpus: p.variant.cpus,
      median: pctl(w, 0.5),
      p90: pctl(w, 0.9),
      failing: b.failing.length,
      runs: N,
      usPerRun: (ms * 1000) / N,
      note: b.errors.length ? `${b.errors.length} errors` : "",
    });
  }
  // The bounded search, on one cpu.
  try {
    const p = prepareWith(t.scenario, { opts: t.opts, seed: 0, cpus: 1 });
    const w = { file: t.name, world: p.world, invariants: p.invariants, maxEvents: p.maxEvents, seed: 0 };
    const t0 = performance.now();
    const r = search(w, BOUND, { maxRuns: MAX_SCHEDULES, keep: 1 });
    const ms = performance.now() - t0;
    const first = r.failing[0]?.n ?? null;
    rows.push({
      target: t.name,
      strategy: `dfs k=${BOUND}`,
      cpus: 1,
      median: first,
      p90: null,
      failing: r.failingCount,
      runs: r.runs,
      usPerRun: (ms * 1000) / Math.max(1, r.runs),
      note: r.complete ? "exhaustive" : `stopped at ${MAX_SCHEDULES.toLocaleString("en-US")} schedules`,
    });
  } catch (e) {
    console.error(`dfs on ${t.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

if (json) {
  console.log(JSON.stringify({ seeds: N, depths: DEPTHS, preemptions: BOUND, rows }, null, 2));
} else {
  console.log(
    `schedules to the first failure: random and pct over seeds 1..${N} (from ${STARTS} starting seeds); dfs in search order`,
  );
  for (const line of table(
    ["scenario", "strategy", "cpus", "to first failure: median", "p90", "failing", "µs/run", ""],
    rows.map((r) => [
      r.target,
      r.strategy,
      r.cpus,
      r.median === null ? "-" : fmt(r.median),
      r.p90 === null ? "" : fmt(r.p90),
      `${r.failing.toLocaleString("en-US")}/${r.runs.toLocaleString("en-US")} (${((100 * r.failing) / Math.max(1, r.runs)).toFixed(r.failing * 1000 < r.runs ? 2 : 1)}%)`,
      r.usPerRun.toFixed(0),
      r.note,
    ]),
  ))
    console.log(line);
}
