// What a scan's decode costs per event, by stream (docs/BENCHMARKS.md, "Phase 9:
// split chunk bodies"): over the first chunks of a trace, CPU ns/event of
// reading a chunk as a scan does (TraceReader.readCore: a format 3 trace's core
// body only) and as a seek does (readColumns: every stream), each with its own
// reused buffers, best of R passes. A format 2 trace gives readColumns for both.
// Usage: npx bun bench/split-decode.ts [--trace FILE] [--chunks N] [--rounds R]

import { Scratch } from "../src/trace/event-codec.ts";
import { openTrace } from "../src/trace/reader.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path = opt("--trace") ?? "bench/out/stress-10000000.ktrace";
const rounds = Number(opt("--rounds") ?? 5);
const r = openTrace(path);
const chunks = Math.min(Number(opt("--chunks") ?? 2000), r.chunkCount);
let events = 0;
for (let i = 0; i < chunks; i++) events += r.chunkCounts[i]!;
const sc = new Scratch();
const cpuNs = () => process.cpuUsage().user * 1000;
const best = (read: (i: number) => void): number => {
  let b = Infinity;
  for (let k = 0; k < rounds; k++) {
    const t0 = cpuNs();
    for (let i = 0; i < chunks; i++) read(i);
    b = Math.min(b, (cpuNs() - t0) / events);
  }
  return b;
};
const core = best((i) => r.readCore(i, sc));
const whole = best((i) => r.readColumns(i, sc));
console.log(
  `${path} (format ${r.formatVersion}), ${chunks} chunks, ${events} events, best of ${rounds}: ` +
    `scan's read (readCore) ${core.toFixed(1)} ns/event, seek's (readColumns) ${whole.toFixed(1)} ns/event`,
);
