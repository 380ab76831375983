// Exploration throughput: seeds/s of `ktrace explore` with 1 and 2 jobs.
// Usage: bun bench/explore.ts [--runtime bun|deno] [--scenario A,B] [--seeds A..B] [--jobs 1,2] [--runs N]
//          [--compare DIR] [--json]
//
// --compare DIR: also run the ktrace of another checkout (e.g. `git worktree add
// /tmp/base main`), alternating with this one, and print each configuration's
// seeds/s ratio (this / DIR): a before/after figure from one run of the machine.
//
// Each measurement is a fresh CLI process (`ktrace explore ... --jobs N --json`),
// as a user runs it: start-up, worker start-up and JIT warm-up included. The
// configurations alternate, --runs times (default 1; 1M seeds by default, so start-up
// does not dominate), and the best run of each
// counts: on a shared machine the best run is the least disturbed one. Also
// prints the CPU time the run used (user+sys, all threads) per wall second:
// above 1 with one job means the runtime's own threads (GC, JIT) already use
// a second core. docs/BENCHMARKS.md keeps the latest figures.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import process from "node:process";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const json = argv.includes("--json");
const runtime = opt("--runtime", typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "bun");
const scenarios = opt("--scenario", "tcmalloc-fork,asterinas-procfs").split(",");
const seeds = opt("--seeds", "1..1000000");
const [from, to] = seeds.split("..").map(Number) as [number, number];
const jobsList = opt("--jobs", "1,2").split(",").map(Number);
const runs = Number(opt("--runs", "1"));
const BIN = join(ROOT, "node_modules", ".bin");
const compare = argv.includes("--compare") ? opt("--compare", "") : null;
/** The command line that runs the ktrace CLI of checkout `root`. */
const cliOf = (root: string) =>
  runtime === "deno"
    ? ([
        join(BIN, "deno"),
        ["run", "--quiet", "--allow-all", `--config=${join(root, "deno.json")}`, join(root, "src/cli/main.ts")],
      ] as const)
    : ([join(BIN, "bun"), [join(root, "src/cli/main.ts")]] as const);

/** CPU seconds (user+sys) used so far by this process's finished children. */
function childCpu(): number {
  try {
    // Linux: fields 16 and 17 of /proc/self/stat are cutime and cstime, in clock ticks (100/s).
    const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return NaN;
  }
}

function once(scenario: string, jobs: number, root = ROOT): { ms: number; cpu: number; failing: number } {
  const cli = cliOf(root);
  const c0 = childCpu();
  const t0 = performance.now();
  const r = spawnSync(cli[0], [...cli[1], "explore", scenario, "--seeds", seeds, "--jobs", String(jobs), "--json"], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0 && r.status !== 1) throw new Error(`explore failed (${r.status}): ${r.stderr}`);
  return { ms, cpu: childCpu() - c0, failing: JSON.parse(r.stdout).failing.length };
}

const rows = [];
const comparisons: {
  scenario: string;
  jobs: number;
  seedsPerSec: number;
  baseSeedsPerSec: number;
  ratio: number;
  cpuSeconds: number;
  baseCpuSeconds: number;
  cpuRatio: number;
}[] = [];
for (const scenario of scenarios) {
  const best = new Map<number, { ms: number; cpu: number; failing: number }>();
  const bestBase = new Map<number, { ms: number; cpu: number; failing: number }>();
  const cpuRuns = new Map<string, number[]>();
  for (let i = 0; i < runs; i++) {
    for (const jobs of i % 2 === 0 ? jobsList : [...jobsList].reverse()) {
      const pair: [string, Map<number, { ms: number; cpu: number; failing: number }>][] =
        compare === null
          ? [[ROOT, best]]
          : [
              [ROOT, best],
              [compare, bestBase],
            ];
      for (const [root, into] of i % 2 === 0 ? pair : [...pair].reverse()) {
        const m = once(scenario, jobs, root);
        const k = `${root}/${jobs}`;
        cpuRuns.set(k, [...(cpuRuns.get(k) ?? []), m.cpu]);
        const b = into.get(jobs);
        if (!b || m.ms < b.ms) into.set(jobs, m);
      }
    }
  }
  for (const jobs of compare === null ? [] : jobsList) {
    const n = to - from + 1;
    const mine = Math.round((n * 1000) / best.get(jobs)!.ms);
    const base = Math.round((n * 1000) / bestBase.get(jobs)!.ms);
    // CPU time (of each configuration's least CPU-hungry run) is steadier than wall time on a loaded machine.
    const cpu = Math.min(...cpuRuns.get(`${ROOT}/${jobs}`)!);
    const baseCpu = Math.min(...cpuRuns.get(`${compare}/${jobs}`)!);
    comparisons.push({
      scenario,
      jobs,
      seedsPerSec: mine,
      baseSeedsPerSec: base,
      ratio: +(mine / base).toFixed(3),
      cpuSeconds: +cpu.toFixed(2),
      baseCpuSeconds: +baseCpu.toFixed(2),
      cpuRatio: +(baseCpu / cpu).toFixed(3),
    });
  }
  const base = best.get(jobsList[0]!)!;
  for (const jobs of jobsList) {
    const b = best.get(jobs)!;
    const n = to - from + 1;
    rows.push({
      scenario,
      seeds: n,
      jobs,
      seconds: +(b.ms / 1000).toFixed(2),
      seedsPerSec: Math.round((n * 1000) / b.ms),
      speedup: +(base.ms / b.ms).toFixed(2),
      cpuPerWall: +(b.cpu / (b.ms / 1000)).toFixed(2),
      failing: b.failing,
    });
  }
}

const g = globalThis as { Bun?: { version: string } };
const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? "?"}`;
if (json)
  console.log(
    JSON.stringify(
      {
        runtime,
        machine,
        runs,
        rows,
        ...(compare === null ? {} : { compare, comparisons }),
        driver: g.Bun ? `bun ${g.Bun.version}` : process.version,
      },
      null,
      2,
    ),
  );
else {
  console.log(`explore benchmark: ktrace explore on ${runtime}, ${machine}, best of ${runs}, fresh process per run`);
  for (const r of rows) {
    console.log(
      `${r.scenario.padEnd(18)} ${r.seeds} seeds, ${r.jobs} job${r.jobs === 1 ? " " : "s"}: ${r.seedsPerSec.toLocaleString("en-US").padStart(7)} seeds/s (${r.seconds} s)  ×${r.speedup}  cpu/wall ${r.cpuPerWall}  ${r.failing} failing`,
    );
  }
  for (const c of comparisons) {
    console.log(
      `${c.scenario.padEnd(18)} ${c.jobs} job${c.jobs === 1 ? " " : "s"}: this ${c.seedsPerSec.toLocaleString("en-US")} seeds/s, ${compare} ${c.baseSeedsPerSec.toLocaleString("en-US")} seeds/s: ×${c.ratio} wall; cpu ${c.cpuSeconds} s vs ${c.baseCpuSeconds} s: ×${c.cpuRatio}`,
    );
  }
}
