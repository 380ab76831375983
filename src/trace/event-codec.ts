// Event chunk bodies: the columnar layout (docs/FORMAT.md, "Event chunk").
//
// Columns, each a run of LEB128 varints (s = zigzag): kind*2+full, cpu(s),
// tid(s), time (a scale, then deltas/scale (s)), a(s), b(s), c(s), then the chunk's string table and
// one string index per event that has a string slot. Slots a/b/c/s are only
// stored for events whose kind uses them (per the header's kind table) unless
// the event's `full` bit is set. The columns are compressed together as one
// raw DEFLATE stream, one Huffman block per column (deflate.ts).

import type { KEvent } from "../kernel/types.ts";
import { ByteWriter, fromUtf8, utf8 } from "./bytes.ts";
import { deflateParts } from "./deflate.ts";

/** Per kind code: how many of a, b, c it uses, and whether it uses s. */
export interface SlotTable {
  nargs: Uint8Array;
  str: Uint8Array;
}

/** Kind table as stored in the header: [name, number of integer args, 1 if it has a string]. */
export type KindRow = [string, number, number];

export function slotTable(kinds: readonly KindRow[]): SlotTable {
  const nargs = new Uint8Array(kinds.length);
  const str = new Uint8Array(kinds.length);
  kinds.forEach((k, i) => {
    nargs[i] = Math.min(3, Math.max(0, k[1] | 0));
    str[i] = k[2] ? 1 : 0;
  });
  return { nargs, str };
}

/** Decoded event chunk, as typed columns. Event i has seq firstSeq + i and string strings[sIdx[i]]. */
export interface EventColumns {
  firstSeq: number;
  n: number;
  kind: Int32Array;
  cpu: Float64Array;
  tid: Float64Array;
  time: Float64Array;
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  sIdx: Uint32Array;
  /** strings[0] is "". */
  strings: string[];
}

/** Raised for a chunk body that does not decode (corrupt or foreign data). */
export class BodyError extends Error {}

/** Buffers the events of one chunk (writer side) and encodes them. */
export class ChunkBuilder {
  n = 0;
  firstSeq = 0;
  readonly kind: Int32Array;
  readonly cpu: Float64Array;
  readonly tid: Float64Array;
  readonly time: Float64Array;
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly c: Float64Array;
  readonly s: string[];
  private readonly cols = Array.from({ length: 8 }, () => new ByteWriter(1 << 14));

  constructor(readonly capacity: number, readonly slots: SlotTable) {
    this.kind = new Int32Array(capacity);
    this.cpu = new Float64Array(capacity);
    this.tid = new Float64Array(capacity);
    this.time = new Float64Array(capacity);
    this.a = new Float64Array(capacity);
    this.b = new Float64Array(capacity);
    this.c = new Float64Array(capacity);
    this.s = new Array<string>(capacity).fill("");
  }

  /** Adds one event. Caller ensures n < capacity and dense seqs. */
  push(ev: KEvent): void {
    const i = this.n++;
    if (i === 0) this.firstSeq = ev.seq;
    this.kind[i] = ev.kind;
    this.cpu[i] = ev.cpu;
    this.tid[i] = ev.tid;
    this.time[i] = ev.time;
    this.a[i] = ev.a;
    this.b[i] = ev.b;
    this.c[i] = ev.c;
    this.s[i] = ev.s;
  }

  /**
   * Encodes the buffered events as a compressed body into `out` and returns
   * the uncompressed body length. Throws BadValue (bytes.ts) for a field that
   * is not a safe integer.
   */
  encode(out: ByteWriter): number {
    const n = this.n;
    const { nargs, str } = this.slots;
    const nk = nargs.length;
    const [K, CPU, TID, TIME, A, B, C, S] = this.cols as [ByteWriter, ByteWriter, ByteWriter, ByteWriter, ByteWriter, ByteWriter, ByteWriter, ByteWriter];
    for (const w of this.cols) w.reset();
    const dict = new Map<string, number>();
    const strs: string[] = [];
    const sIdx: number[] = [];
    // Time deltas are stored divided by their greatest common divisor (the
    // simulator's costs are multiples of 10 ns): fewer bytes, better codes.
    let scale = 0;
    let prevTime = 0;
    for (let i = 0; i < n; i++) {
      let d = Math.abs(this.time[i]! - prevTime);
      prevTime = this.time[i]!;
      if (!Number.isSafeInteger(d)) {
        scale = 1; // not encodable: svar below reports it
        break;
      }
      while (d !== 0) [scale, d] = [d, scale % d];
    }
    if (!(scale >= 1 && Number.isSafeInteger(scale))) scale = 1;
    TIME.uvar(scale);
    prevTime = 0;
    for (let i = 0; i < n; i++) {
      const k = this.kind[i]!;
      if (!Number.isInteger(k) || k < 0 || k > 0x3fffffff) throw new RangeError(`event ${this.firstSeq + i}: bad kind ${k}`);
      const a = this.a[i]!, b = this.b[i]!, c = this.c[i]!, s = this.s[i]!;
      let na = 3, hs = 1, full = 1;
      if (k < nk) {
        na = nargs[k]!;
        hs = str[k]!;
        full = (na < 1 && a !== 0) || (na < 2 && b !== 0) || (na < 3 && c !== 0) || (!hs && s !== "") ? 1 : 0;
        if (full) { na = 3; hs = 1; }
      }
      K.uvar(k * 2 + full);
      CPU.svar(this.cpu[i]!);
      TID.svar(this.tid[i]!);
      const t = this.time[i]!;
      TIME.svar((t - prevTime) / scale);
      prevTime = t;
      if (na >= 1) A.svar(a);
      if (na >= 2) B.svar(b);
      if (na >= 3) C.svar(c);
      if (hs) {
        if (s === "") sIdx.push(0);
        else {
          let x = dict.get(s);
          if (x === undefined) {
            x = strs.length + 1;
            dict.set(s, x);
            strs.push(s);
          }
          sIdx.push(x);
        }
      }
    }
    S.uvar(strs.length);
    for (const s of strs) {
      const b = utf8(s);
      S.uvar(b.length);
      S.bytes(b);
    }
    for (const x of sIdx) S.uvar(x);
    const parts = this.cols.map((w) => w.buf.subarray(0, w.pos));
    deflateParts(parts, out);
    return parts.reduce((sum, p) => sum + p.length, 0);
  }

  reset(): void {
    this.n = 0;
  }
}

// Decoder. Varints are read inline; `at` carries the position out of the
// slow path.
let at = 0;

function slowU(raw: Uint8Array, p: number): number {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 10; k++) {
    if (p >= raw.length) throw new BodyError("event chunk body ends inside a varint");
    const x = raw[p++]!;
    v += (x & 0x7f) * mul;
    mul *= 128;
    if (x < 0x80) {
      at = p;
      return v;
    }
  }
  throw new BodyError("varint longer than 10 bytes");
}

function slowS(raw: Uint8Array, p: number): number {
  const start = p;
  const u = slowU(raw, p);
  if (u <= 0x1fffffffffffff) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  // Above 2^53 the float sum is inexact: redo it exactly.
  let big = 0n;
  let sh = 0n;
  for (p = start; ; p++) {
    const x = raw[p]!;
    big |= BigInt(x & 0x7f) << sh;
    sh += 7n;
    if (x < 0x80) break;
  }
  return Number(big & 1n ? -((big + 1n) >> 1n) : big >> 1n);
}

// The column readers decode varints of up to 4 bytes inline (28 bits) and
// leave longer ones to slowS. Reading past the end yields undefined, which
// decodes as 0 and stops the varint; decodeEventBody then finds the position
// past the end and rejects the body.

/** Reads n zigzag varints into out[0..n); returns the new position. */
function readColumn(raw: Uint8Array, p: number, out: Float64Array, n: number): number {
  for (let i = 0; i < n; i++) {
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
          if (y >= 0x80) {
            out[i] = slowS(raw, p - 4);
            p = at;
            continue;
          }
        }
      }
    }
    out[i] = (u >>> 1) ^ -(u & 1);
  }
  return p;
}

/** Like readColumn, only for events whose slot count (use & 3) is at least min. */
function readSlot(raw: Uint8Array, p: number, out: Float64Array, n: number, use: Uint8Array, min: number): number {
  for (let i = 0; i < n; i++) {
    if ((use[i]! & 3) < min) continue;
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
          if (y >= 0x80) {
            out[i] = slowS(raw, p - 4);
            p = at;
            continue;
          }
        }
      }
    }
    out[i] = (u >>> 1) ^ -(u & 1);
  }
  return p;
}

/** Reads n zigzag deltas, multiplies them by scale and stores their running sums. */
function readDeltas(raw: Uint8Array, p: number, out: Float64Array, n: number, scale: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) {
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
          if (y >= 0x80) {
            t += slowS(raw, p - 4) * scale;
            p = at;
            out[i] = t;
            continue;
          }
        }
      }
    }
    t += ((u >>> 1) ^ -(u & 1)) * scale;
    out[i] = t;
  }
  return p;
}

/** Reusable decode buffers, so that scans do not allocate columns per chunk. */
export class Scratch {
  cap = 0;
  kind = new Int32Array(0);
  use = new Uint8Array(0);
  cpu = new Float64Array(0);
  tid = new Float64Array(0);
  time = new Float64Array(0);
  a = new Float64Array(0);
  b = new Float64Array(0);
  c = new Float64Array(0);
  sIdx = new Uint32Array(0);

  /** Makes room for n events; the arrays' contents are then undefined. */
  grow(n: number): void {
    if (n <= this.cap) return;
    this.cap = n;
    this.kind = new Int32Array(n);
    this.use = new Uint8Array(n);
    this.cpu = new Float64Array(n);
    this.tid = new Float64Array(n);
    this.time = new Float64Array(n);
    this.a = new Float64Array(n);
    this.b = new Float64Array(n);
    this.c = new Float64Array(n);
    this.sIdx = new Uint32Array(n);
  }
}

/**
 * Decodes an uncompressed event chunk body of n events. Throws BodyError
 * when it does not fit. With `scratch`, the returned columns are views of
 * its arrays (valid until its next use); otherwise they are fresh.
 */
export function decodeEventBody(raw: Uint8Array, n: number, firstSeq: number, slots: SlotTable, scratch?: Scratch): EventColumns {
  const { nargs, str } = slots;
  const nk = nargs.length;
  const len = raw.length;
  // Every event takes at least 4 bytes (kind, cpu, tid, time): refuse a count the body cannot hold before allocating for it.
  if (!(n >= 0 && 4 * n <= len)) throw new BodyError(`a body of ${len} bytes cannot hold ${n} events`);
  const sc = scratch ?? new Scratch();
  sc.grow(n);
  const { kind, use, cpu, tid, time, a, b, c, sIdx } = sc;
  if (scratch) {
    a.fill(0, 0, n);
    b.fill(0, 0, n);
    c.fill(0, 0, n);
    sIdx.fill(0, 0, n);
  }
  let p = 0;
  let nA = 0, nB = 0, nC = 0, nS = 0;
  for (let i = 0; i < n; i++) {
    let v = raw[p]!;
    if (v < 0x80) p++;
    else {
      v = slowU(raw, p);
      p = at;
      if (v > 0x7ffffffe) throw new BodyError(`event ${firstSeq + i}: kind code ${Math.floor(v / 2)} out of range`);
    }
    const k = Math.floor(v / 2);
    kind[i] = k;
    const u = (v & 1) === 0 && k < nk ? nargs[k]! | (str[k]! << 2) : 7;
    use[i] = u;
    const na = u & 3;
    if (na >= 1) nA++;
    if (na >= 2) nB++;
    if (na >= 3) nC++;
    if (u & 4) nS++;
  }
  p = readColumn(raw, p, cpu, n);
  p = readColumn(raw, p, tid, n);
  if (p >= len) throw new BodyError("event chunk body ends before its time column");
  const scale = slowU(raw, p);
  p = at;
  p = readDeltas(raw, p, time, n, scale);
  p = nA === n ? readColumn(raw, p, a, n) : readSlot(raw, p, a, n, use, 1);
  p = nB === n ? readColumn(raw, p, b, n) : readSlot(raw, p, b, n, use, 2);
  p = nC === n ? readColumn(raw, p, c, n) : readSlot(raw, p, c, n, use, 3);
  if (p >= len) throw new BodyError("event chunk body ends before its string table");
  const m = slowU(raw, p);
  p = at;
  if (m > len) throw new BodyError("bad string table size");
  const strings: string[] = new Array(m + 1);
  strings[0] = "";
  for (let j = 1; j <= m; j++) {
    const bl = slowU(raw, p);
    p = at;
    if (p + bl > len) throw new BodyError("string runs past the end of the chunk body");
    strings[j] = fromUtf8(raw.subarray(p, p + bl));
    p += bl;
  }
  if (nS > 0) {
    for (let i = 0; i < n; i++) {
      if (!(use[i]! & 4)) continue;
      const x = raw[p]!;
      let v: number;
      if (x < 0x80) {
        v = x;
        p++;
      } else {
        v = slowU(raw, p);
        p = at;
      }
      if (v > m) throw new BodyError(`string index ${v} out of range`);
      sIdx[i] = v;
    }
  }
  if (p !== len) throw new BodyError(`event chunk body does not match its event count (${len - p} bytes left over)`);
  if (scratch) {
    return {
      firstSeq, n, kind: kind.subarray(0, n), cpu: cpu.subarray(0, n), tid: tid.subarray(0, n), time: time.subarray(0, n),
      a: a.subarray(0, n), b: b.subarray(0, n), c: c.subarray(0, n), sIdx: sIdx.subarray(0, n), strings,
    };
  }
  return { firstSeq, n, kind, cpu, tid, time, a, b, c, sIdx, strings };
}

/** Materializes KEvent objects from decoded columns. */
export function columnsToEvents(cols: EventColumns): KEvent[] {
  const { n, firstSeq, kind, cpu, tid, time, a, b, c, sIdx, strings } = cols;
  const out: KEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = { seq: firstSeq + i, time: time[i]!, cpu: cpu[i]!, tid: tid[i]!, kind: kind[i]!, a: a[i]!, b: b[i]!, c: c[i]!, s: strings[sIdx[i]!]! };
  }
  return out;
}

/**
 * Copies event i of decoded columns into `ev` (reusing the object): for scans
 * that fold events one at a time without allocating a KEvent per event.
 */
export function fillEvent(cols: EventColumns, i: number, ev: KEvent): KEvent {
  ev.seq = cols.firstSeq + i;
  ev.time = cols.time[i]!;
  ev.cpu = cols.cpu[i]!;
  ev.tid = cols.tid[i]!;
  ev.kind = cols.kind[i]!;
  ev.a = cols.a[i]!;
  ev.b = cols.b[i]!;
  ev.c = cols.c[i]!;
  ev.s = cols.strings[cols.sIdx[i]!]!;
  return ev;
}
