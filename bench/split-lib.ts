// The split event chunk body that bench/split-body.ts and bench/split-scan.ts
// measure (docs/BENCHMARKS.md, "Phase 7: the scan"): the prototype of format
// 3.0 (docs/FORMAT.md; bench/split-decode.ts measures the format itself), run
// on format 2 traces (the shared 2.2 benchmark traces). A body is split into
//   core  [firstSeq, n, timeScale, strings, kind, time, cpu, tid, a, b, c, s]:
//         the kind and time columns of every event, the other columns of the
//         events whose kind is not inert;
//   side  [cpu, tid, a, b, c, s]: those columns of the events of SIDE_KINDS
//         (below: their fold is a seq and a time, no built-in invariant lists them);
// each column the same varints as the whole body's (event-codec.ts), the
// slots stored per the kind table (all of them for an event with the full bit).

import { INERT_KINDS } from "../src/kernel/apply.ts";
import { INVARIANTS } from "../src/replay/invariants.ts";
import { type EventColumns, Scratch } from "../src/trace/event-codec.ts";
import { packr } from "../src/trace/format.ts";
import { Inflater } from "../src/trace/inflate.ts";
import { openTrace, type TraceReader } from "../src/trace/reader.ts";

/**
 * By kind code, 1 for a side kind: an inert one (INERT_KINDS) that no built-in
 * invariant lists in its kinds or its armed `by` (user, kwork, malloc, free:
 * procfs-read, assert-fail, progress, ... are inspected). An invariant that
 * inspects every event (kstack-in-use while armed) or a scenario's own may
 * still read a side event's fields: a scan must then read the side stream.
 */
export const SIDE_KINDS: Uint8Array = INERT_KINDS.map((x, k) =>
  x === 1 && INVARIANTS.every((inv) => !inv.kinds?.includes(k) && !inv.armed?.by.includes(k)) ? 1 : 0,
);

/** Per kind code: integer slots and whether it has a string (the reader's slot table). */
export interface Slots {
  nargs: Uint8Array;
  str: Uint8Array;
}

/**
 * Opens the trace and calls visit(body, cols, slots) for every `every`-th event
 * chunk: its raw body, as the reader inflates it, and its decoded columns
 * (valid during the call), and the trace's slot table. Format 2 traces
 * whose kind codes take one byte (below 64) only.
 */
export function eachChunk(
  path: string,
  every: number,
  visit: (body: Uint8Array, cols: EventColumns, slots: Slots) => void,
): { reader: TraceReader; slots: Slots } {
  const reader = openTrace(path);
  if (reader.formatMajor !== 2) throw new Error("format 2 traces only");
  const slots = (reader as unknown as { slots: Slots }).slots;
  let body: Uint8Array | null = null;
  const inflate = Inflater.prototype.inflate;
  Inflater.prototype.inflate = function (b: Uint8Array, n: number) {
    const o = inflate.call(this, b, n);
    body = o;
    return o;
  };
  try {
    for (let i = 0; i < reader.chunkCount; i += every) {
      const cols = reader.readColumns(i);
      visit(body!, cols, slots);
    }
  } finally {
    Inflater.prototype.inflate = inflate;
  }
  return { reader, slots };
}

const N = 1 << 16;
const bufs = [0, 1].map(() => [0, 1, 2, 3, 4, 5].map(() => new Uint8Array(5 * N + 16)));
const ends = [new Int32Array(6), new Int32Array(6)];

/** Zigzag varint of v onto column j of stream x (0 core, 1 side). */
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

/** A whole body (with its decoded columns) as its core and side bodies, uncompressed. */
export function splitBody(body: Uint8Array, c: EventColumns, slots: Slots): { core: Uint8Array; side: Uint8Array } {
  const doc = packr.unpack(body) as unknown[];
  const K = doc[4] as Uint8Array;
  if (K.length !== c.n) throw new Error("kind codes past 63 take two bytes: not handled here");
  ends[0]!.fill(0);
  ends[1]!.fill(0);
  for (let i = 0; i < c.n; i++) {
    const k = c.kind[i]!;
    const full = K[i]! & 1;
    const x = SIDE_KINDS[k] === 1 ? 1 : 0;
    const na = full ? 3 : slots.nargs[k]!;
    put(x, 0, c.cpu[i]!);
    put(x, 1, c.tid[i]!);
    if (na >= 1) put(x, 2, c.a[i]!);
    if (na >= 2) put(x, 3, c.b[i]!);
    if (na >= 3) put(x, 4, c.c[i]!);
    if (full || slots.str[k]) put(x, 5, c.sIdx[i]!);
  }
  const part = (x: number) => bufs[x]!.map((b, j) => b.slice(0, ends[x]![j]!));
  return {
    core: packr.pack([doc[0], doc[1], doc[2], doc[3], doc[4], doc[7], ...part(0)]),
    side: packr.pack(part(1)),
  };
}

let at = 0;
/** The zigzag varint at p (up to 4 bytes, as readColumn's inline path); its end in `at`. */
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

/** m varints into out at the indexes idx[0..m). */
function listed(raw: Uint8Array, out: Float64Array | Uint32Array, idx: Int32Array, m: number): void {
  let p = 0;
  for (let j = 0; j < m; j++) {
    out[idx[j]!] = varint(raw, p);
    p = at;
  }
}

/** Decodes split bodies into reused columns (no checks: the bodies are this script's own). */
export class SplitDecoder {
  private readonly sc = new Scratch(N);
  /** Per stream: the events of each column (cpu and tid: every event of the stream; a, b, c, s: those storing it). */
  private readonly lists = [0, 1].map(() => [0, 1, 2, 3, 4].map(() => new Int32Array(N)));
  private readonly counts = [new Int32Array(5), new Int32Array(5)];

  constructor(private readonly slots: Slots) {}

  /** The columns of a core body, and of its side body when given (else the inert kinds' events hold only kind and time). */
  decode(core: Uint8Array, side: Uint8Array | null): EventColumns {
    const { sc, lists, counts } = this;
    const d = packr.unpack(core) as [number, number, number, string[], ...Uint8Array[]];
    const n = d[1];
    const K = d[4]!;
    const { nargs, str } = this.slots;
    const [c0, c1, c2, c3, c4] = lists[0]!;
    const [s0, s1, s2, s3, s4] = lists[1]!;
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
    for (let i = 0; i < n; i++) {
      const v = K[i]!;
      const k = v >>> 1;
      sc.kind[i] = k;
      const full = v & 1;
      const na = full ? 3 : nargs[k]!;
      const hs = full | str[k]!;
      // Branch-free: the index written to both streams' lists, the count of the event's stream moved when it stores the slot.
      const side = k < SIDE_KINDS.length ? SIDE_KINDS[k]! : 0;
      const core = side ^ 1;
      const a = (na + 3) >> 2;
      const b = (na + 2) >> 2;
      const c = (na + 1) >> 2;
      c0![n0] = i;
      n0 += core;
      s0![m0] = i;
      m0 += side;
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
    counts[0]!.set([n0, n1, n2, n3, n4]);
    counts[1]!.set([m0, m1, m2, m3, m4]);
    const T = d[5]!;
    let t = 0;
    for (let i = 0, p = 0; i < n; i++) {
      t += varint(T, p) * d[2];
      p = at;
      sc.time[i] = t;
    }
    sc.a.fill(0, 0, n);
    sc.b.fill(0, 0, n);
    sc.c.fill(0, 0, n);
    sc.sIdx.fill(0, 0, n);
    const outs = [sc.cpu, sc.tid, sc.a, sc.b, sc.c, sc.sIdx];
    const streams =
      side === null ? [d.slice(6) as Uint8Array[]] : [d.slice(6) as Uint8Array[], packr.unpack(side) as Uint8Array[]];
    for (let x = 0; x < streams.length; x++) {
      const cs = streams[x]!;
      // Column j's events: cpu and tid the stream's (list 0), a, b, c, s lists 1..4.
      for (let j = 0; j < 6; j++) {
        const li = j < 2 ? 0 : j - 1;
        listed(cs[j]!, outs[j]!, lists[x]![li]!, counts[x]![li]!);
      }
    }
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
      strings: ["", ...d[3]],
    };
  }
}
