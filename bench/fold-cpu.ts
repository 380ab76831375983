// The fold and the checks alone, as `ktrace check`'s scanning thread runs
// them (checkRange over every invariant the scan runs), on this thread's CPU
// clock, without the decode: the chunks of a stretch of the trace are decoded
// once, kept, and served to the scan again at every pass, each pass from a
// fresh copy of the snapshot at its start. Prints CPU ns/event per pass and
// the median and minimum after the first (the JIT's warm-up). With --compare
// DIR, the same measure of another checkout (with node_modules), in a child
// process after this one, alternating for --rounds rounds: an A/B on a loaded
// machine (per-thread CPU; the pairs' order alternates).
// Usage: npx bun bench/fold-cpu.ts [--trace FILE] [--from SEQ] [--chunks N] [--passes P] [--compare DIR] [--rounds R]
// (default: bench/out/stress-100000000.ktrace from seq 50,000,000, 400 chunks
// (1.6M events of stress, ~90 MB kept), 12 passes.) Bun only (its thread CPU clock).

import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { EventColumns } from "../src/trace/event-codec.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const trace = resolve(opt("--trace") ?? "bench/out/stress-100000000.ktrace");
const from = Number(opt("--from") ?? 50_000_000);
const chunks = Number(opt("--chunks") ?? 400);
const passes = Math.max(2, Number(opt("--passes") ?? 12));
const compare = opt("--compare");
const rounds = Number(opt("--rounds") ?? 3);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(opt("--root") ?? join(here, ".."));

if (compare !== undefined) {
  // Each side in its own process (its own JIT), alternating.
  const sides = [join(here, ".."), resolve(compare)];
  const args = ["--trace", trace, "--from", String(from), "--chunks", String(chunks), "--passes", String(passes)];
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      const out = spawnSync(process.execPath, [join(here, "fold-cpu.ts"), ...args, "--root", side], {
        encoding: "utf8",
      });
      process.stdout.write(out.stdout || out.stderr);
    }
  }
  process.exit(0);
}

// This checkout's modules, or --root's (typed as this checkout's).
const { openSource } = (await import(join(root, "src/replay/source.ts"))) as typeof import("../src/replay/source.ts");
const { Checker, INVARIANTS, planFor } = (await import(
  join(root, "src/replay/invariants.ts")
)) as typeof import("../src/replay/invariants.ts");
const { checkRange } = (await import(join(root, "src/replay/scan.ts"))) as typeof import("../src/replay/scan.ts");
const { WrappedSource } = (await import(
  join(root, "src/replay/wrapped-source.ts")
)) as typeof import("../src/replay/wrapped-source.ts");

const src = openSource(trace);
const start = src.loadSnapshot(from).seq;
const c0 = src.chunkOf(start + 1);
const kept = new Map<number, EventColumns>();
const copy = <T extends { slice(a: number, b: number): T }>(x: T, n: number) => x.slice(0, n);
for (let ci = c0; ci < Math.min(c0 + chunks, src.chunkFirstSeqs.length); ci++) {
  const c = src.readColumns(ci);
  const n = c.n;
  kept.set(ci, {
    firstSeq: c.firstSeq,
    n,
    kind: copy(c.kind, n),
    cpu: copy(c.cpu, n),
    tid: copy(c.tid, n),
    time: copy(c.time, n),
    a: copy(c.a, n),
    b: copy(c.b, n),
    c: copy(c.c, n),
    sIdx: copy(c.sIdx, n),
    strings: [...c.strings],
  });
}
const end = c0 + kept.size < src.chunkFirstSeqs.length ? src.chunkFirstSeqs[c0 + kept.size]! - 1 : src.eventCount - 1;
/** The trace with its kept chunks' columns served again (a chunk outside them is an error here). */
class Kept extends WrappedSource {
  get meta() {
    return this.src.meta;
  }
  get outcome() {
    return this.src.outcome;
  }
  readColumns(i: number): EventColumns {
    const c = kept.get(i);
    if (c === undefined) throw new Error(`chunk ${i} is not kept`);
    return c;
  }
}
const view = new Kept(src);
const invs = planFor(INVARIANTS).split;
const cpuMs = () => {
  const u = (process as unknown as { threadCpuUsage(): { user: number; system: number } }).threadCpuUsage();
  return (u.user + u.system) / 1000;
};
const gc = (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc;
const per: number[] = [];
let note = "";
for (let p = 0; p < passes; p++) {
  const state = src.loadSnapshot(start).state;
  gc?.(true);
  const t0 = cpuMs();
  const r = checkRange(view, invs, start + 1, end, { state, checker: new Checker(invs) });
  const dt = cpuMs() - t0;
  if (r.violation !== null) note = ` (a violation at seq ${r.violation.seq}: the passes stop there)`;
  per.push((dt / Math.max(1, r.scanned)) * 1e6);
}
const rest = per.slice(1).sort((x, y) => x - y);
console.log(
  `${root}: ${end - start} events from seq ${start + 1}${note}; CPU ns/event per pass ${per.map((x) => x.toFixed(1)).join(" ")}; ` +
    `after the first: median ${rest[rest.length >> 1]!.toFixed(1)}, min ${rest[0]!.toFixed(1)}; load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
);
