// Simulator speed, per scenario: the simulating thread's CPU time per event
// (the figure issue 14's recording budget is about), and the process's (JIT
// and collector threads too), in the steady state: each scenario is run a few
// times first, then measured over --rounds runs (medians).
// Usage: npx bun bench/sim.ts [--events N] [--rounds R] [--scenario NAME[+KEY=VALUE...][,NAME...]] [--sink none|noop|keep] [--compare DIR] [--json]
// NAME+KEY=VALUE: the scenario with that option (--opt KEY=VALUE), e.g.
// stress+state=vars+memory=pso; one name may be listed with several option
// sets. With one tree and exactly two scenarios it also prints the first's
// time over the second's, round by round (median and quartiles): an A/B of
// two variants (memory=pso against memory=tso) in the same process.
// --sink: what sees each event: none (the default; the simulator alone), noop
// (a sink that keeps nothing, with transient events: the recorder's
// configuration, whose sink copies each event into its columns), keep (a sink
// that keeps nothing, events not transient: bench/record.ts's "simulate only").
// --compare DIR: another checkout (with node_modules) measured in the same
// process, its runs interleaved with this tree's (the order of the trees
// alternating from round to round), for a fair A/B on a loaded machine; it
// also prints, per scenario, the median over the rounds of this tree's time
// divided by the other's in the same round (with the quartiles): the load
// changes from second to second, and a ratio of neighbouring runs follows it
// better than two medians taken apart. The thread's CPU time is read from
// /proc (Linux); elsewhere the process's stands in for it.

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const events = Number(opt("--events") ?? 1_000_000);
const rounds = Number(opt("--rounds") ?? 7);
const scenarios = (opt("--scenario") ?? "stress,tcmalloc-fork").split(",");
const sinkMode = opt("--sink") ?? "none";
if (!["none", "noop", "keep"].includes(sinkMode)) throw new Error(`--sink none|noop|keep, got ${sinkMode}`);
const roots = [resolve(import.meta.dirname, ".."), ...(opt("--compare") ? [resolve(opt("--compare")!)] : [])];

/** This thread's CPU seconds (/proc/self/task/<pid>/schedstat: ns on cpu), or null where there is no such file. */
function threadCpu(): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1e9;
  } catch {
    return null;
  }
}
const processCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const gc = () => (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

interface Case {
  root: string;
  scenario: string;
  run: () => number;
  thread: number[];
  proc: number[];
}
const cases: Case[] = [];
for (const root of roots) {
  const rec = (await import(`${root}/src/record/index.ts`)) as typeof import("../src/record/index.ts");
  for (const scenario of scenarios) {
    // A short scenario (tcmalloc-fork ends in ~100 events) is run seed after seed up to `events`, as explore runs it.
    const [target, ...opts] = scenario.split("+");
    const p = await rec.prepare({ target: target!, opts, maxEvents: events, seed: 1 });
    const run = () => {
      let n = 0;
      for (let seed = 1; n < events; seed++) {
        const q = rec.reseed(p, seed);
        const s = sinkMode === "none" ? rec.run(q) : rec.run(q, () => {}, undefined, undefined, sinkMode === "noop");
        n += s.seq + 1;
      }
      return n;
    };
    for (let i = 0; i < 3; i++) run();
    cases.push({ root, scenario, run, thread: [], proc: [] });
  }
}
for (let r = 0; r < rounds; r++) {
  for (const c of r % 2 === 0 ? cases : [...cases].reverse()) {
    gc();
    const t0 = threadCpu();
    const p0 = processCpu();
    const n = c.run();
    const p = processCpu() - p0;
    const t = t0 === null ? p : threadCpu()! - t0;
    c.thread.push((t / n) * 1e9);
    c.proc.push((p / n) * 1e9);
  }
}
const rows = cases.map((c) => ({
  tree: c.root,
  scenario: c.scenario,
  threadNsPerEvent: +median(c.thread).toFixed(1),
  threadMEventsPerCpuSec: +(1e3 / median(c.thread)).toFixed(2),
  processNsPerEvent: +median(c.proc).toFixed(1),
  processMEventsPerCpuSec: +(1e3 / median(c.proc)).toFixed(2),
}));
/** a's thread time over b's, round by round: median and quartiles. */
const ratioOf = (a: Case, b: Case) => {
  const q = a.thread.map((x, i) => x / b.thread[i]!).sort((x, y) => x - y);
  const at = (f: number) => +q[Math.min(q.length - 1, Math.floor(f * q.length))]!.toFixed(3);
  return { median: at(0.5), q1: at(0.25), q3: at(0.75) };
};
/** Per scenario, this tree's thread time over the compared tree's; with one tree and two scenarios, the first's over the second's. */
const ratios =
  roots.length === 1 && cases.length === 2
    ? [{ scenario: `${cases[0]!.scenario} / ${cases[1]!.scenario}`, ...ratioOf(cases[0]!, cases[1]!) }]
    : scenarios.flatMap((scenario) => {
        const [a, b] = cases.filter((c) => c.scenario === scenario);
        return a === undefined || b === undefined ? [] : [{ scenario, ...ratioOf(a, b) }];
      });
const load = loadavg().map((x) => +x.toFixed(2));
if (argv.includes("--json"))
  console.log(JSON.stringify({ events, rounds, sink: sinkMode, loadAverage: load, rows, ratios }, null, 2));
else {
  console.log(
    `simulator benchmark: ${events.toLocaleString("en-US")} events a run, sink ${sinkMode}, median of ${rounds} runs after 3 warm-up ones, load average ${load.join(" ")}`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.scenario.padEnd(16)} ${r.threadNsPerEvent.toFixed(0).padStart(4)} ns/event on the simulating thread (${r.threadMEventsPerCpuSec.toFixed(2)} M/CPU-s), ` +
        `${r.processNsPerEvent.toFixed(0).padStart(4)} ns/event for the process (${r.processMEventsPerCpuSec.toFixed(2)} M/CPU-s)${roots.length > 1 ? `  ${r.tree}` : ""}`,
    );
  }
  for (const x of ratios)
    console.log(
      `  ${x.scenario.padEnd(16)} ${roots.length > 1 ? `this tree / ${roots[1]}` : "the first / the second"}: ${x.median.toFixed(3)} (median of ${rounds} rounds; quartiles ${x.q1.toFixed(3)}..${x.q3.toFixed(3)})`,
    );
}
