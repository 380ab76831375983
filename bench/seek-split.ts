// Where a seek spends its time: random seeks (one cursor, after a warm-up) and
// cold seeks (a fresh reader and cursor each), as bench/seek.ts times them,
// each split into snapshot read (frame, inflate, unpack, validate), state
// build (fromPlain), chunk read and decode, checkpoint clone and the fold
// (and, within the snapshot and chunk reads, the file reads themselves),
// with the seeks a garbage collection landed in (the heap shrank across it).
// Usage: npx bun bench/seek-split.ts TRACE [--seeks N] [--cold N] [--targets N]
// Figures are wall time per seek (performance.now); on a loaded machine the
// tail is the scheduler's as much as the seek's.

import { Rng } from "../src/kernel/index.ts";
import { Cursor, openSource } from "../src/replay/index.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { ownCost, readThrough, WARMUP_SEEKS } from "./seek-cost.ts";

const argv = process.argv.slice(2);
const path = argv[0];
if (!path) throw new Error("usage: bench/seek-split.ts TRACE [--seeks N] [--cold N] [--targets N]");
const opt = (name: string, d: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const SEEKS = opt("--seeks", 2000);
const COLD = opt("--cold", 500);
const TARGETS = opt("--targets", 400);
const PASSES = 5;

const heapSize: () => number = (() => {
  try {
    // biome-ignore lint/suspicious/noExplicitAny: Bun's JSC helpers
    return (require("bun:jsc") as any).heapSize;
  } catch {
    return () => process.memoryUsage().heapUsed;
  }
})();

const PARTS = ["snapshot", "fromPlain", "chunk", "checkpoint", "read"] as const;
type Part = (typeof PARTS)[number];
const acc: Record<Part, number> = { snapshot: 0, fromPlain: 0, chunk: 0, checkpoint: 0, read: 0 };
/** Wraps proto[name] to add its time to acc[part] (private methods too: this is a harness). */
function timed(proto: object, name: string, part: Part | ((ms: number) => void)): void {
  const p = proto as Record<string, (...a: unknown[]) => unknown>;
  const f = p[name]!;
  p[name] = function (this: unknown, ...a: unknown[]) {
    const t = performance.now();
    try {
      return f.apply(this, a);
    } finally {
      const ms = performance.now() - t;
      if (typeof part === "function") part(ms);
      else acc[part] += ms;
    }
  };
}
let loadMs = 0;
timed(TraceReader.prototype, "readSnapshot", "snapshot");
timed(TraceReader.prototype, "loadSnapshot", (ms) => {
  loadMs += ms;
});
timed(TraceReader.prototype, "decodeChunk", "chunk");
timed(Cursor.prototype, "saveCheckpoint", "checkpoint");

interface Row {
  wall: number;
  gc: boolean;
  parts: Record<Part | "fold", number>;
}

function one(c: Cursor, to: number): Row {
  for (const k of PARTS) acc[k] = 0;
  loadMs = 0;
  const h = heapSize();
  const t = performance.now();
  c.seek(to);
  const wall = performance.now() - t;
  const gc = heapSize() < h;
  const parts = { ...acc, fold: 0 };
  parts.fromPlain = loadMs - acc.snapshot;
  parts.fold = Math.max(0, wall - loadMs - acc.chunk - acc.checkpoint);
  return { wall, gc, parts };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};
const f = (x: number) => x.toFixed(3);

function report(name: string, rows: Row[]): void {
  const w = rows.map((r) => r.wall);
  const noGc = rows.filter((r) => !r.gc).map((r) => r.wall);
  console.log(
    `${name}: ${rows.length} seeks, p50 ${f(pct(w, 50))} p99 ${f(pct(w, 99))} max ${f(Math.max(...w))} ms; ` +
      `${rows.length - noGc.length} with a collection in them (without those: p99 ${f(pct(noGc, 99))} ms)`,
  );
  const mean = (rs: Row[], k: Part | "fold") => f(rs.reduce((a, r) => a + r.parts[k], 0) / rs.length);
  const split = (rs: Row[]) => [...PARTS, "fold" as const].map((k) => `${k} ${mean(rs, k)}`).join(", ");
  console.log(`  parts, mean over all seeks: ${split(rows)}`);
  const slow = [...rows].sort((a, b) => b.wall - a.wall).slice(0, Math.max(1, Math.ceil(rows.length / 100)));
  console.log(
    `  slowest 1% (${slow.length}, mean ${f(slow.reduce((a, r) => a + r.wall, 0) / slow.length)} ms, ${slow.filter((r) => r.gc).length} with a collection): ${split(slow)}`,
  );
}

readThrough(path);
const src = openSource(path);
// The file reads (pread) inside the snapshot and chunk reads: the page cache's part.
timed(Object.getPrototypeOf((src.reader as unknown as { src: object }).src), "readInto", "read");
const total = src.eventCount;
const r = new Rng(total);
const rnd = () => r.u32() / 4294967296;
const c = new Cursor(src);
for (let i = 0; i < WARMUP_SEEKS; i++) c.seek(Math.floor(rnd() * total));
const warm: Row[] = [];
for (let i = 0; i < SEEKS; i++) warm.push(one(c, Math.floor(rnd() * total)));
src.close();
const cold: Row[] = [];
for (let i = 0; i < COLD; i++) {
  const s2 = openSource(path);
  cold.push(one(new Cursor(s2), Math.floor(rnd() * total)));
  s2.close();
}
const own = openSource(path);
const oc = ownCost(own, rnd, TARGETS, PASSES);
own.close();

console.log(`${path} (${total.toLocaleString("en-US")} events)`);
report("random", warm);
report("cold", cold);
console.log(
  `own cost (least of ${oc.passes} passes over ${oc.targets} targets): p50 ${oc.p50} p99 ${oc.p99} max ${oc.max} ms`,
);
