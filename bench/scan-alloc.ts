// What the first-violation scan allocates per event, stage by stage, on one
// thread: the JS heap's growth with the collector held off, so that every
// cell the stage allocates is still counted at its end. Run it as
//   BUN_JSC_largeHeapSize=3e9 npx bun bench/scan-alloc.ts [--trace FILE] [--events N] [--types]
// (default: the first 3M events of bench/out/stress-10000000.ktrace). Each
// stage adds one step to the one before, on the same events, after a warm-up
// pass (the JIT's own allocations left out; --cold: none, as a thread's first
// segment runs, in the engine's lower tiers), and prints bytes/event of heap
// size growth and, with --types, the object types it allocated (cells/event):
//   read      inflate + decode every chunk into reused columns (readColumns)
//   fold      + fill one reused event and applyEvent on every event
//   check     checkRange with every invariant the scan runs (the quiet kinds
//             folded by applyInertRun, the Checker around the others)
// Bun only (bun:jsc). docs/BENCHMARKS.md keeps the figures.

import { loadavg } from "node:os";
import { applyEvent } from "../src/kernel/apply.ts";
import { initState } from "../src/kernel/state.ts";
import type { KEvent } from "../src/kernel/types.ts";
import { checkRange, invariantsOf, openSource } from "../src/replay/index.ts";
import { planFor } from "../src/replay/invariants.ts";
import { fillEvent } from "../src/trace/index.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path = opt("--trace") ?? "bench/out/stress-10000000.ktrace";
const limit = Number(opt("--events") ?? 3_000_000);
const types = argv.includes("--types");
const only = opt("--stage");
const cold = argv.includes("--cold");
const name = "bun:jsc"; // (not a module tsc knows)
const jsc = (await import(name)) as {
  heapSize(): number;
  heapStats(): { heapSize: number; heapCapacity: number; objectTypeCounts: Record<string, number> };
  fullGC(): number;
};

type Stage = "read" | "fold" | "check";

function pass(stage: Stage): number {
  const src = openSource(path);
  const n0 = Math.min(limit, src.eventCount);
  if (stage === "check") {
    const invs = planFor(invariantsOf(src)).split;
    const r = checkRange(src, invs, 0, n0 - 1, { state: initState(src.meta.config) });
    if (r.violation) throw new Error("the trace must run clean");
    src.close();
    return n0;
  }
  const st = initState(src.meta.config);
  const ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
  let seen = 0;
  let sink = 0;
  for (let ci = 0; ci < src.chunkFirstSeqs.length && seen < n0; ci++) {
    const cols = src.readColumns!(ci);
    const n = Math.min(cols.n, n0 - seen);
    seen += n;
    if (stage === "read") {
      sink += cols.kind[0]!;
      continue;
    }
    for (let i = 0; i < n; i++) applyEvent(st, fillEvent(cols, i, ev));
  }
  src.close();
  if (sink === -1) console.log("");
  return seen;
}

const rows: Record<string, number> = {};
for (const stage of ["read", "fold", "check"] as const) {
  if (only !== undefined && only !== stage) continue;
  if (!cold) pass(stage); // warm-up: compiles (no collection after it: freed blocks would be reused unseen)
  const a = jsc.heapStats();
  const n = pass(stage);
  const b = jsc.heapStats();
  rows[stage] = +((b.heapCapacity - a.heapCapacity) / n).toFixed(2);
  console.log(
    `${stage.padEnd(6)} ${rows[stage]!.toFixed(2).padStart(7)} bytes/event (heap capacity +${((b.heapCapacity - a.heapCapacity) / 2 ** 20).toFixed(1)} MB) over ${n} events`,
  );
  if (types) {
    const d = Object.entries(b.objectTypeCounts)
      .map(([k, v]) => [k, (v - (a.objectTypeCounts[k] ?? 0)) / n] as const)
      .filter(([, v]) => v > 0.001)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 10);
    for (const [k, v] of d) console.log(`         ${k.padEnd(24)} ${v.toFixed(4)} cells/event`);
  }
}
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
