// Recording throughput: simulate + encode + write, for the stress scenario.
// Usage: npx bun bench/record.ts [--events N[,N...]] [--opt KEY=VALUE] [--json]
// (--opt state=vars: the stress variant with shared variables, atomics and objects)
// Prints events/s and bytes/event per size; docs/BENCHMARKS.md keeps the latest figures.

import { mkdirSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import { prepare, record, run } from "../src/record/index.ts";

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const ei = argv.indexOf("--events");
const sizes = ei >= 0 ? argv[ei + 1]!.split(",").map(Number) : [1_000_000, 10_000_000];
const oi = argv.indexOf("--opt");
const opts = oi >= 0 ? [argv[oi + 1]!] : [];
mkdirSync("bench/out", { recursive: true });

const rows = [];
for (const n of sizes) {
  const p = await prepare({ target: "stress", maxEvents: n, opts });
  let t = performance.now();
  run(p, () => {});
  const simS = (performance.now() - t) / 1000;
  const path = `bench/out/stress-${n}.ktrace`;
  t = performance.now();
  const r = record(p, path);
  const recS = (performance.now() - t) / 1000;
  rows.push({
    events: r.events,
    simulateEventsPerSec: Math.round(r.events / simS),
    recordEventsPerSec: Math.round(r.events / recS),
    recordSeconds: +recS.toFixed(2),
    bytes: r.bytes,
    bytesPerEvent: +(r.bytes / r.events).toFixed(3),
    snapshots: r.snapshots,
  });
  if (!argv.includes("--keep")) rmSync(path, { force: true });
}
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}` : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : `node ${process.version}`;
const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? "?"}`;
if (json) console.log(JSON.stringify({ runtime, machine, rows }, null, 2));
else {
  console.log(`record benchmark (stress scenario${opts.length ? ` --opt ${opts.join(" ")}` : ""}), ${runtime}, ${machine}`);
  for (const r of rows) {
    console.log(`${r.events.toLocaleString("en-US").padStart(11)} events: record ${(r.recordEventsPerSec / 1e6).toFixed(2)} M events/s end to end (${r.recordSeconds} s), simulate only ${(r.simulateEventsPerSec / 1e6).toFixed(2)} M/s, ${r.bytesPerEvent} bytes/event, ${r.snapshots} snapshots`);
  }
}
