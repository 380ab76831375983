// A measurement for a format change, not a format: what an event chunk body
// split in two DEFLATE streams would cost and save (docs/BENCHMARKS.md,
// "Phase 7: the scan").
//   core  the kind and time columns of every event, and the other columns
//         (cpu, tid, a, b, c, s) of the events the scan folds by their fields;
//   side  those other columns of the events of the inert kinds (user, kwork,
//         malloc, free: two thirds of `stress`), whose fold is a seq and a
//         time (apply.ts, INERT_KINDS) and which no invariant inspects.
// A first-violation scan would inflate and decode the core only; a seek, both.
// The script re-encodes a trace's chunks both ways (the same varints; fflate
// at the writer's EVENTS_LEVEL, or --level for the split) and prints, per event: raw and compressed
// bytes, the writer's deflate CPU, the reader's inflate CPU (node:zlib through
// the reused handle, as the reader does), and the decode CPU of the columns
// each reader needs. Rounds interleaved; medians and least rounds.
// Usage: npx bun bench/split-body.ts [--trace FILE] [--every K (every K-th chunk, default 2)] [--rounds R]
//        [--level L (the split streams' fflate level; default the writer's)]

import { loadavg } from "node:os";
import { deflateSync } from "fflate";
import { INERT_KINDS } from "../src/kernel/apply.ts";
import { EVENTS_LEVEL } from "../src/trace/compress.ts";
import { decodeEventBody, type EventColumns, Scratch } from "../src/trace/event-codec.ts";
import { packr } from "../src/trace/format.ts";
import { Inflater } from "../src/trace/inflate.ts";
import { openTrace } from "../src/trace/reader.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path = opt("--trace") ?? "bench/out/stress-10000000.ktrace";
const every = Number(opt("--every") ?? 2);
const rounds = Number(opt("--rounds") ?? 7);
/** The fflate level of the split streams (the whole body's is the writer's, EVENTS_LEVEL). */
const level = Number(opt("--level") ?? EVENTS_LEVEL) as typeof EVENTS_LEVEL;

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

// The chunks' raw bodies, as the reader inflates them, and their decoded columns.
const bodies: Uint8Array[] = [];
const cols: EventColumns[] = [];
const inflate = Inflater.prototype.inflate;
Inflater.prototype.inflate = function (b: Uint8Array, n: number) {
  const o = inflate.call(this, b, n);
  bodies.push(o.slice());
  return o;
};
const reader = openTrace(path);
for (let i = 0; i < reader.chunkCount; i += every) cols.push(reader.readColumns(i));
Inflater.prototype.inflate = inflate;
if (reader.formatMajor !== 2) throw new Error("format 2 traces only");
const slots = (reader as unknown as { slots: { nargs: Uint8Array; str: Uint8Array } }).slots;
let events = 0;
for (const c of cols) events += c.n;

/** Zigzag varint of v onto out. */
function putS(out: number[], v: number): void {
  let u = v < 0 ? -2 * v - 1 : 2 * v;
  while (u >= 128) {
    out.push((u % 128) | 128);
    u = Math.floor(u / 128);
  }
  out.push(u);
}

// The split bodies: core = [firstSeq, n, scale, strings, kind, time, cpu, tid, a, b, c, s] (the last six of the
// core events), side = [cpu, tid, a, b, c, s] of the side events; the same varints as the whole body's columns.
const cores: Uint8Array[] = [];
const sides: Uint8Array[] = [];
for (let j = 0; j < cols.length; j++) {
  const c = cols[j]!;
  const doc = packr.unpack(bodies[j]!) as unknown[];
  const core: number[][] = [[], [], [], [], [], []];
  const side: number[][] = [[], [], [], [], [], []];
  const K = doc[4] as Uint8Array;
  for (let i = 0, p = 0; i < c.n; i++) {
    const k = c.kind[i]!;
    // The kind column's full bit (one-byte codes here): every slot stored.
    const full = K[p++]! & 1;
    const o = INERT_KINDS[k] === 1 ? side : core;
    const na = full ? 3 : slots.nargs[k]!;
    putS(o[0]!, c.cpu[i]!);
    putS(o[1]!, c.tid[i]!);
    if (na >= 1) putS(o[2]!, c.a[i]!);
    if (na >= 2) putS(o[3]!, c.b[i]!);
    if (na >= 3) putS(o[4]!, c.c[i]!);
    if (full || slots.str[k]) putS(o[5]!, c.sIdx[i]!);
  }
  cores.push(packr.pack([doc[0], doc[1], doc[2], doc[3], doc[4], doc[7], ...core.map((x) => Uint8Array.from(x))]));
  sides.push(packr.pack(side.map((x) => Uint8Array.from(x))));
}

// Decoders of the columns in this script's own loops, the same for both layouts (readColumn's inline varint).
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
/** m varints into out at the indexes of idx. */
function listed(raw: Uint8Array, out: Float64Array, idx: Int32Array, m: number): void {
  let p = 0;
  for (let j = 0; j < m; j++) {
    out[idx[j]!] = varint(raw, p);
    p = at;
  }
}
const sc = new Scratch(1 << 16);
/** Per stream (0 core, 1 side), the events that store each column: cpu and tid (every event of the stream), a, b, c, s. */
const lists = [0, 1].map(() => [0, 1, 2, 3, 4].map(() => new Int32Array(1 << 16)));
const counts = [new Int32Array(5), new Int32Array(5)];
/** The string indexes (as doubles, in this script's loops). */
const sIdx = new Float64Array(1 << 16);
/** Decodes a core body (and with `side`, the side body into the same columns): kinds and their lists, times, then the columns by list. */
function decodeSplit(core: Uint8Array, side: Uint8Array | null): number {
  const d = packr.unpack(core) as [number, number, number, string[], ...Uint8Array[]];
  const n = d[1];
  const K = d[4]!;
  const T = d[5]!;
  counts[0]!.fill(0);
  counts[1]!.fill(0);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const v = K[p++]!;
    const k = v >>> 1;
    sc.kind[i] = k;
    const x = INERT_KINDS[k] === 1 ? 1 : 0;
    const l = lists[x]!;
    const c = counts[x]!;
    const na = v & 1 ? 3 : slots.nargs[k]!;
    l[0]![c[0]!++] = i;
    if (na >= 1) l[1]![c[1]!++] = i;
    if (na >= 2) l[2]![c[2]!++] = i;
    if (na >= 3) l[3]![c[3]!++] = i;
    if (v & 1 || slots.str[k]) l[4]![c[4]!++] = i;
  }
  p = 0;
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += varint(T, p) * d[2];
    p = at;
    sc.time[i] = t;
  }
  const outs = [sc.cpu, sc.tid, sc.a, sc.b, sc.c];
  for (let x = 0; x < (side === null ? 1 : 2); x++) {
    const cs = x === 0 ? d.slice(6) : (packr.unpack(side!) as Uint8Array[]);
    const l = lists[x]!;
    const c = counts[x]!;
    for (let j = 0; j < 5; j++) listed(cs[j] as Uint8Array, outs[j]!, l[j === 0 ? 0 : j - 1]!, c[j === 0 ? 0 : j - 1]!);
    listed(cs[5] as Uint8Array, sIdx, l[4]!, c[4]!);
  }
  return n;
}

const zWhole = bodies.map((b) => deflateSync(b, { level: EVENTS_LEVEL }));
const zCore = cores.map((b) => deflateSync(b, { level }));
const zSide = sides.map((b) => deflateSync(b, { level }));
const inf = new Inflater();
const stages: Record<string, () => void> = {
  "deflate whole": () => {
    for (const b of bodies) deflateSync(b, { level: EVENTS_LEVEL });
  },
  "deflate core + side": () => {
    for (let i = 0; i < cores.length; i++) {
      deflateSync(cores[i]!, { level });
      deflateSync(sides[i]!, { level });
    }
  },
  "inflate whole": () => {
    for (let i = 0; i < zWhole.length; i++) inf.inflate(zWhole[i]!, bodies[i]!.length);
  },
  "inflate core (a scan)": () => {
    for (let i = 0; i < zCore.length; i++) inf.inflate(zCore[i]!, cores[i]!.length);
  },
  "inflate core + side (a seek)": () => {
    for (let i = 0; i < zCore.length; i++) {
      inf.inflate(zCore[i]!, cores[i]!.length);
      inf.inflate(zSide[i]!, sides[i]!.length);
    }
  },
  "decode whole (decodeEventBody)": () => {
    for (let i = 0; i < bodies.length; i++)
      decodeEventBody(2, bodies[i]!, cols[i]!.n, cols[i]!.firstSeq, reader["slots" as never], sc);
  },
  "decode whole (this script's loops)": () => {
    for (let i = 0; i < cores.length; i++) decodeSplit(cores[i]!, sides[i]!);
  },
  "decode core (this script's loops)": () => {
    for (let i = 0; i < cores.length; i++) decodeSplit(cores[i]!, null);
  },
};
const got: Record<string, number[]> = {};
for (const k of Object.keys(stages)) got[k] = [];
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(stages);
  for (let j = 0; j < names.length; j++) {
    const k = names[(j + r) % names.length]!;
    const t = cpu();
    stages[k]!();
    got[k]!.push(((cpu() - t) * 1e6) / events);
  }
}
const sum = (xs: Uint8Array[]) => xs.reduce((s, x) => s + x.length, 0) / events;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `split body: ${path}, ${cols.length} chunks (every ${every}), ${events.toLocaleString("en-US")} events, whole at level ${EVENTS_LEVEL}, split at ${level}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
console.log(
  `  raw bytes/event: whole ${sum(bodies).toFixed(3)}, core ${sum(cores).toFixed(3)} + side ${sum(sides).toFixed(3)}`,
);
console.log(
  `  compressed bytes/event: whole ${sum(zWhole).toFixed(3)}, core ${sum(zCore).toFixed(3)} + side ${sum(zSide).toFixed(3)} = ${(sum(zCore) + sum(zSide)).toFixed(3)}`,
);
console.log(`  CPU ns/event, median (least) of ${rounds} interleaved rounds (the first compiles):`);
for (const [k, v] of Object.entries(got))
  console.log(`    ${k.padEnd(36)} ${med(v.slice(1)).toFixed(1).padStart(6)} (${Math.min(...v.slice(1)).toFixed(1)})`);
