// End to end, what bench/split-body.ts's split chunk body would save the
// first-violation scan: firstViolation over a trace whose chunks are served
// from memory, split (core + side, two DEFLATE streams) and decoded by this
// script, either whole (both streams: what a seek would read) or core only
// (the side stream neither inflated nor decoded: the inert kinds' events hold
// only kind, seq and time). Both runs must give the same answer, the same
// count and the same final state as the trace read as it is (checked). CPU
// ns/event on this thread, the modes interleaved over R rounds (the first
// compiles); the trace as it is (its own decoder) alongside.
// Usage: npx bun bench/split-scan.ts [--trace FILE] [--rounds R]

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { deflateSync } from "fflate";
import { INERT_KINDS } from "../src/kernel/apply.ts";
import { toPlain } from "../src/kernel/state.ts";
import { firstViolation, openSource } from "../src/replay/index.ts";
import type { ReplaySource } from "../src/replay/source.ts";
import { EVENTS_LEVEL } from "../src/trace/compress.ts";
import { type EventColumns, Scratch } from "../src/trace/event-codec.ts";
import { packr } from "../src/trace/format.ts";
import { Inflater } from "../src/trace/inflate.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path = opt("--trace") ?? "bench/out/stress-10000000.ktrace";
const rounds = Number(opt("--rounds") ?? 7);

const threadNs = () => Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);

// Every chunk, split and compressed as a writer would.
const src0 = openSource(path);
const slots = (src0.reader as unknown as { slots: { nargs: Uint8Array; str: Uint8Array } }).slots;
if (src0.reader.formatMajor !== 2) throw new Error("format 2 traces only");
const bodies: Uint8Array[] = [];
const inflate = Inflater.prototype.inflate;
Inflater.prototype.inflate = function (b: Uint8Array, n: number) {
  const o = inflate.call(this, b, n);
  bodies.push(o.slice());
  return o;
};
interface Split {
  core: Uint8Array;
  coreLen: number;
  side: Uint8Array;
  sideLen: number;
}
const chunks: Split[] = [];
const col = () => new Uint8Array(5 * 65536 + 16);
const bufs = [0, 1].map(() => [col(), col(), col(), col(), col(), col()]);
const ends = [new Int32Array(6), new Int32Array(6)];
function put(x: number, j: number, v: number): void {
  const b = bufs[x]![j]!;
  const e = ends[x]!;
  let p = e[j]!;
  let u = v < 0 ? -2 * v - 1 : 2 * v;
  while (u >= 128) {
    b[p++] = (u % 128) | 128;
    u = Math.floor(u / 128);
  }
  b[p++] = u;
  e[j] = p;
}
for (let ci = 0; ci < src0.chunkFirstSeqs.length; ci++) {
  const c = src0.readColumns(ci);
  const doc = packr.unpack(bodies.pop()!) as unknown[];
  ends[0]!.fill(0);
  ends[1]!.fill(0);
  const K = doc[4] as Uint8Array;
  for (let i = 0, p = 0; i < c.n; i++) {
    const k = c.kind[i]!;
    // The kind column's full bit (one-byte codes here): every slot stored.
    const full = K[p++]! & 1;
    const x = INERT_KINDS[k] === 1 ? 1 : 0;
    const na = full ? 3 : slots.nargs[k]!;
    put(x, 0, c.cpu[i]!);
    put(x, 1, c.tid[i]!);
    if (na >= 1) put(x, 2, c.a[i]!);
    if (na >= 2) put(x, 3, c.b[i]!);
    if (na >= 3) put(x, 4, c.c[i]!);
    if (full || slots.str[k]) put(x, 5, c.sIdx[i]!);
  }
  const part = (x: number) => bufs[x]!.map((b, j) => b.slice(0, ends[x]![j]!));
  const core = packr.pack([doc[0], doc[1], doc[2], doc[3], doc[4], doc[7], ...part(0)]);
  const side = packr.pack(part(1));
  chunks.push({
    core: deflateSync(core, { level: EVENTS_LEVEL }),
    coreLen: core.length,
    side: deflateSync(side, { level: EVENTS_LEVEL }),
    sideLen: side.length,
  });
}
Inflater.prototype.inflate = inflate;

// This script's decoder of a split body into reused columns.
let at = 0;
function varint(raw: Uint8Array, p: number): number {
  let u = raw[p++]!;
  if (u >= 0x80) {
    let y = raw[p++]!;
    u = (u & 0x7f) | ((y & 0x7f) << 7);
    if (y >= 0x80) {
      y = raw[p++]!;
      u |= (y & 0x7f) << 14;
      if (y >= 0x80) {
        y = raw[p++]!;
        u |= (y & 0x7f) << 21;
      }
    }
  }
  at = p;
  return (u >>> 1) ^ -(u & 1);
}
function listed(raw: Uint8Array, out: Float64Array, idx: Int32Array, m: number): void {
  let p = 0;
  for (let j = 0; j < m; j++) {
    out[idx[j]!] = varint(raw, p);
    p = at;
  }
}
function listedU32(raw: Uint8Array, out: Uint32Array, idx: Int32Array, m: number): void {
  let p = 0;
  for (let j = 0; j < m; j++) {
    out[idx[j]!] = varint(raw, p) >>> 0;
    p = at;
  }
}
const N = 1 << 16;
const sc = new Scratch(N);
// Per stream: the events of each column (cpu and tid: all of the stream's; a, b, c, s: those storing it).
const L = [0, 1].map(() => [
  new Int32Array(N),
  new Int32Array(N),
  new Int32Array(N),
  new Int32Array(N),
  new Int32Array(N),
]);
const coreInf = new Inflater();
const sideInf = new Inflater();
function decodeSplit(s: Split, whole: boolean): EventColumns {
  const d = packr.unpack(coreInf.inflate(s.core, s.coreLen)) as [number, number, number, string[], ...Uint8Array[]];
  const n = d[1];
  const K = d[4]!;
  const T = d[5]!;
  const [c0, c1, c2, c3, c4] = L[0]!;
  const [s0, s1, s2, s3, s4] = L[1]!;
  let n0 = 0,
    n1 = 0,
    n2 = 0,
    n3 = 0,
    n4 = 0,
    m0 = 0,
    m1 = 0,
    m2 = 0,
    m3 = 0,
    m4 = 0;
  const { nargs, str } = slots;
  const kind = sc.kind;
  for (let i = 0; i < n; i++) {
    const v = K[i]!;
    const k = v >>> 1;
    kind[i] = k;
    const full = v & 1;
    const na = full ? 3 : nargs[k]!;
    const hs = full | str[k]!;
    // Branch-free: both lists written, the stream's count moved.
    const side = INERT_KINDS[k]!;
    const core = side ^ 1;
    c0![n0] = i;
    n0 += core;
    s0![m0] = i;
    m0 += side;
    const a = (na + 3) >> 2;
    const b = (na + 2) >> 2;
    const c = (na + 1) >> 2;
    c1![n1] = i;
    n1 += a & core;
    s1![m1] = i;
    m1 += a & side;
    c2![n2] = i;
    n2 += b & core;
    s2![m2] = i;
    m2 += b & side;
    c3![n3] = i;
    n3 += c & core;
    s3![m3] = i;
    m3 += c & side;
    c4![n4] = i;
    n4 += hs & core;
    s4![m4] = i;
    m4 += hs & side;
  }
  let p = 0;
  let t = 0;
  const scale = d[2];
  for (let i = 0; i < n; i++) {
    t += varint(T, p) * scale;
    p = at;
    sc.time[i] = t;
  }
  sc.a.fill(0, 0, n);
  sc.b.fill(0, 0, n);
  sc.c.fill(0, 0, n);
  sc.sIdx.fill(0, 0, n);
  listed(d[6]!, sc.cpu, c0!, n0);
  listed(d[7]!, sc.tid, c0!, n0);
  listed(d[8]!, sc.a, c1!, n1);
  listed(d[9]!, sc.b, c2!, n2);
  listed(d[10]!, sc.c, c3!, n3);
  listedU32(d[11]!, sc.sIdx, c4!, n4);
  if (whole) {
    const e = packr.unpack(sideInf.inflate(s.side, s.sideLen)) as Uint8Array[];
    listed(e[0]!, sc.cpu, s0!, m0);
    listed(e[1]!, sc.tid, s0!, m0);
    listed(e[2]!, sc.a, s1!, m1);
    listed(e[3]!, sc.b, s2!, m2);
    listed(e[4]!, sc.c, s3!, m3);
    listedU32(e[5]!, sc.sIdx, s4!, m4);
  }
  const strings = ["", ...d[3]];
  return {
    firstSeq: d[0],
    n,
    kind: sc.kind.subarray(0, n),
    cpu: sc.cpu.subarray(0, n),
    tid: sc.tid.subarray(0, n),
    time: sc.time.subarray(0, n),
    a: sc.a.subarray(0, n),
    b: sc.b.subarray(0, n),
    c: sc.c.subarray(0, n),
    sIdx: sc.sIdx.subarray(0, n),
    strings,
  };
}

function served(whole: boolean): ReplaySource {
  const s = openSource(path);
  const w = Object.create(s) as ReplaySource;
  w.readColumns = (i: number) => decodeSplit(chunks[i]!, whole);
  return w;
}
const modes: Record<string, () => ReplaySource> = {
  "as it is (its own decoder)": () => openSource(path),
  "split, both streams": () => served(true),
  "split, core only (the scan)": () => served(false),
};
const got: Record<string, number[]> = {};
const answers: Record<string, string> = {};
for (const k of Object.keys(modes)) got[k] = [];
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(modes);
  for (let j = 0; j < names.length; j++) {
    const k = names[(j + r) % names.length]!;
    const s = modes[k]!();
    const t = threadNs();
    const v = firstViolation(s);
    got[k]!.push((threadNs() - t) / s.eventCount);
    if (r === 0)
      answers[k] = JSON.stringify([
        v.violation,
        v.scanned,
        v.unchecked.length,
        Array.from(packr.pack(toPlain(v.state))),
      ]);
  }
}
const same = new Set(Object.values(answers)).size === 1;
if (!same) for (const [k, a] of Object.entries(answers)) console.log(`  ${k}: ${a.slice(0, 160)}`);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sum = (f: (s: Split) => number) => chunks.reduce((x, s) => x + f(s), 0) / src0.eventCount;
console.log(
  `split scan: ${path}, ${src0.eventCount.toLocaleString("en-US")} events, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(
      " ",
    )}; compressed bytes/event core ${sum((s) => s.core.length).toFixed(3)} + side ${sum((s) => s.side.length).toFixed(3)}`,
);
console.log(`  same answer, count and final state in every mode: ${same ? "yes" : "NO"}`);
console.log(`  firstViolation, CPU ns/event on this thread, median (least) of ${rounds - 1} rounds after the first:`);
for (const [k, v] of Object.entries(got))
  console.log(`    ${k.padEnd(30)} ${med(v.slice(1)).toFixed(1).padStart(6)} (${Math.min(...v.slice(1)).toFixed(1)})`);
if (!same) process.exit(1);
