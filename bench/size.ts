// Trace size and read speed, for the stress scenario.
//
//   npx bun bench/size.ts [--events N[,N...]] [--snapshot-every K] [--keep]
//
// Per size: bytes/event of the .ktrace (snapshots, index, header and footer
// included) next to the same events as JSON lines; opening it the way
// `ktrace info` does (time, bytes read); full scans (typed columns, KEvent
// objects, objects folded with applyEvent); random seeks (nearest snapshot,
// then fold to the target) with a cold chunk cache; the cost of format 2's
// msgpack framing (the file's event chunks re-laid out as format 1 under the
// same compressor); `ktrace export --format msgpack|jsonl` of the file
// (speed, and peak memory when /usr/bin/time is there). docs/BENCHMARKS.md
// ("Trace size") keeps the latest figures.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { applyEvent } from "../src/kernel/index.ts";
import { prepare, record } from "../src/record/index.ts";
import { ByteReader } from "../src/trace/bytes.ts";
import { deflate, EVENTS_LEVEL } from "../src/trace/compress.ts";
import { HEADER_FIXED, readU32 } from "../src/trace/format.ts";
import { openTrace } from "../src/trace/index.ts";
import { format1Body } from "./format1-layout.ts";
import { MACHINE, RUNTIME } from "./host.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const sizes = (flag("--events") ?? "1000000,10000000").split(",").map(Number);
const snapshotEvery = Number(flag("--snapshot-every") ?? 4096);
mkdirSync("bench/out", { recursive: true });

const fmt = (x: number, d = 2) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const mps = (n: number, ms: number) => `${fmt(n / ms / 1000, 1)} M/s`;

/** Deterministic PRNG for the seek targets. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Runs `ktrace export` of a trace (this runtime) to a file: speed and, with /usr/bin/time, peak memory. */
function exportRun(path: string, format: string, n: number): string {
  const out = `${path}.${format}`;
  const cli = ["src/cli/main.ts", "export", path, "--format", format, "-o", out];
  const timed = existsSync("/usr/bin/time");
  const t0 = performance.now();
  const r = timed
    ? spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...cli], { encoding: "utf8" })
    : spawnSync(process.execPath, cli, { encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`export failed: ${r.stderr}`);
  const size = statSync(out).size;
  rmSync(out, { force: true });
  const rss = timed
    ? `, peak RSS ${fmt(Number(r.stderr.trim().split("\n").pop()) / 1024, 0)} MB`
    : " (no /usr/bin/time: peak RSS not measured)";
  return `--format ${format.padEnd(7)} ${mps(n, ms)} (whole process), ${fmt(size / n, 1)} B/event${rss}`;
}

for (const n of sizes) {
  const path = `bench/out/size-${n}.ktrace`;
  const p = await prepare({ target: "stress", maxEvents: n });
  let t = performance.now();
  const rec = record(p, path, snapshotEvery);
  const recordMs = performance.now() - t;

  // Where the bytes go; and what the event chunks would take in format 1's
  // layout (same columns, no msgpack framing) under the same compressor.
  const file = readFileSync(path);
  const by = [0, 0, 0, 0];
  const count = [0, 0, 0, 0];
  let off = HEADER_FIXED + readU32(file, 12) + 4;
  const header = off;
  let framing = 0;
  while (off < file.length - 32) {
    const len = 12 + readU32(file, off + 4);
    by[file[off]!]! += len;
    count[file[off]!]!++;
    if (file[off] === 1) {
      const r = new ByteReader(file, off + 12, off + len);
      r.uvar();
      r.uvar();
      r.uvar();
      const z = file.subarray(r.pos, off + len);
      framing += z.length - deflate(format1Body(inflateRawSync(z)), EVENTS_LEVEL).length;
    }
    off += len;
  }

  // Open as `ktrace info` does.
  const opens: number[] = [];
  let bytesRead = 0;
  for (let i = 0; i < 7; i++) {
    t = performance.now();
    const r = openTrace(path);
    void [r.meta.scenario, r.eventCount, r.outcome, r.snapshotSeqs.length];
    opens.push(performance.now() - t);
    bytesRead = r.bytesRead;
    r.close();
  }

  const r = openTrace(path, { cacheChunks: 4 });
  // Full scans.
  t = performance.now();
  let k = 0;
  for (let i = 0; i < r.chunkCount; i++) k += r.readColumns(i).n;
  const colsMs = performance.now() - t;
  const r2 = openTrace(path, { cacheChunks: 4 });
  t = performance.now();
  let jsonBytes = 0;
  let m = 0;
  for (const _ of r2.events()) m++;
  const objMs = performance.now() - t;
  const r3 = openTrace(path, { cacheChunks: 4 });
  t = performance.now();
  const st = r3.loadSnapshot(-1).state;
  for (const ev of r3.events()) applyEvent(st, ev);
  const foldMs = performance.now() - t;
  if (k !== n || m !== n || st.seq !== n - 1) throw new Error(`scan mismatch: ${k} ${m} ${st.seq}`);
  for (const ev of r.events()) jsonBytes += JSON.stringify(ev).length + 1;

  // Random seeks, cold cache: nearest snapshot, fold forward.
  const rand = rng(42);
  const seeks: number[] = [];
  for (let i = -20; i < 300; i++) {
    const target = Math.floor(rand() * n);
    const rr = openTrace(path, { cacheChunks: 2 });
    t = performance.now();
    const { seq, state } = rr.loadSnapshot(target);
    for (const ev of rr.events(seq + 1, target + 1)) applyEvent(state, ev);
    if (i >= 0) seeks.push(performance.now() - t); // after 20 warm-up seeks
    if (state.seq !== target) throw new Error("seek");
    rr.close();
  }

  console.log(`stress, ${fmt(n, 0)} events, snapshot every ${snapshotEvery}:`);
  console.log(
    `  .ktrace      ${fmt(rec.bytes, 0)} bytes = ${fmt(rec.bytes / n, 3)} bytes/event (recorded in ${fmt(recordMs / 1000)} s)`,
  );
  console.log(
    `    events     ${fmt(by[1]! / n, 3)} B/event in ${count[1]} chunks (${fmt(by[1]! / count[1]!, 0)} B/chunk)`,
  );
  console.log(
    `    snapshots  ${fmt(by[2]! / n, 3)} B/event in ${count[2]} snapshots (${fmt(by[2]! / count[2]!, 0)} B each)`,
  );
  console.log(`    index      ${fmt(by[3]!, 0)} B, header ${header} B, footer 32 B`);
  console.log(
    `    framing    format 2's msgpack framing: ${fmt(framing / count[1]!, 1)} B per event chunk, ${fmt(framing / n, 4)} B/event, ${fmt((framing / rec.bytes) * 100, 2)}% of the file (same chunks laid out as format 1: ${fmt((rec.bytes - framing) / n, 3)} bytes/event)`,
  );
  console.log(
    `  JSON lines   ${fmt(jsonBytes, 0)} bytes = ${fmt(jsonBytes / n, 1)} bytes/event (${fmt(jsonBytes / rec.bytes, 0)}x larger)`,
  );
  console.log(
    `  open (info)  median ${fmt(pct(opens, 50), 2)} ms, ${fmt(bytesRead, 0)} bytes read of ${fmt(rec.bytes, 0)}`,
  );
  console.log(
    `  full scan    columns ${mps(n, colsMs)}, KEvent objects ${mps(n, objMs)}, objects + applyEvent ${mps(n, foldMs)}`,
  );
  console.log(
    `  random seek  (snapshot + fold, cold chunk cache, 300 seeks after 20 warm-up) p50 ${fmt(pct(seeks, 50))} ms, p99 ${fmt(pct(seeks, 99))} ms, max ${fmt(Math.max(...seeks))} ms`,
  );
  for (const format of ["msgpack", "jsonl"]) console.log(`  export      ${exportRun(path, format, n)}`);
  if (!argv.includes("--keep")) rmSync(path, { force: true });
}
console.log(`(${RUNTIME}, ${MACHINE})`);
