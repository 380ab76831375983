// Event chunk bodies (docs/FORMAT.md, "Event chunk").
//
// The events of a chunk are stored as columns, each a run of LEB128 varints
// (s = zigzag): kind*2+full, cpu(s), tid(s), time (deltas / the chunk's time
// scale, s), a(s), b(s), c(s), and one string index per event that has a
// string slot, into the chunk's string table. Slots a/b/c/s are only stored
// for events whose kind uses them (per the header's kind table) unless the
// event's `full` bit is set.
//
// Format 2 (written): the body is one msgpack array, so any msgpack library
// sees its structure; the columns are msgpack `bin` values:
//   [firstSeq, n, timeScale, strings: [str...], kind, cpu, tid, time, a, b, c, s]
// (an array, not a map: named keys would cost ~1.3% of the compressed event
// bytes, the array ~0.6%; docs/FORMAT.md, "Measurements").
// Format 1 (read only): the same columns concatenated, the time column led
// by the scale and the string column by the table.
// The writer compresses the body as a whole (compress.ts).

import type { KEvent } from "../kernel/types.ts";
import { ByteWriter, fromUtf8, utf8 } from "./bytes.ts";
import { packr } from "./format.ts";
import { EVENT_BODY_SHAPE, shown, unpackBounded } from "./validate.ts";

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

/**
 * s with lone surrogates replaced by U+FFFD, as UTF-8 stores it: msgpackr
 * would write them as invalid UTF-8 (and differently for long strings).
 */
function wellFormed(s: string): string {
  return /[\ud800-\udfff]/.test(s) ? fromUtf8(utf8(s)) : s;
}

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
   * Encodes the buffered events as a format 2 body (a msgpack array, not yet
   * compressed). Throws BadValue (bytes.ts) or RangeError for a field that
   * is not a safe integer. The result is valid until the next encode.
   */
  encode(): Uint8Array {
    const n = this.n;
    const { nargs, str } = this.slots;
    const nk = nargs.length;
    const [K, CPU, TID, TIME, A, B, C, S] = this.cols as [ByteWriter, ByteWriter, ByteWriter, ByteWriter, ByteWriter, ByteWriter, ByteWriter, ByteWriter];
    for (const w of this.cols) w.reset();
    const dict = new Map<string, number>();
    const strs: string[] = [];
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
        if (s === "") S.uvar(0);
        else {
          let x = dict.get(s);
          if (x === undefined) {
            x = strs.length + 1;
            dict.set(s, x);
            strs.push(wellFormed(s));
          }
          S.uvar(x);
        }
      }
    }
    const col = (w: ByteWriter) => w.buf.subarray(0, w.pos);
    // In the order of V2_FIELDS.
    return packr.pack([this.firstSeq, n, scale, strs, col(K), col(CPU), col(TID), col(TIME), col(A), col(B), col(C), col(S)]);
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

/** Counts of events storing each slot, from the kind column. */
interface SlotCounts {
  nA: number;
  nB: number;
  nC: number;
  nS: number;
}

/**
 * Reads the kind column (n uvars from p; the events from firstSeq) into kind
 * and use (bits 0-1: the integer slots stored, bit 2: a string stored).
 * Returns the new position and fills `counts`.
 */
function readKinds(raw: Uint8Array, p: number, n: number, firstSeq: number, slots: SlotTable, kind: Int32Array, use: Uint8Array, counts: SlotCounts): number {
  const { nargs, str } = slots;
  const nk = nargs.length;
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
  counts.nA = nA;
  counts.nB = nB;
  counts.nC = nC;
  counts.nS = nS;
  return p;
}

/** Reads one string index (a uvar below m + 1) for each event that stores a string. Returns the new position. */
function readStringIndexes(raw: Uint8Array, p: number, n: number, use: Uint8Array, sIdx: Uint32Array, m: number): number {
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
  return p;
}

/**
 * Decodes an uncompressed event chunk body of n events, in the layout of
 * format `major` (1 or 2; the reader refuses others before this). Throws
 * BodyError when it does not fit. With `scratch`, the returned columns are
 * views of its arrays (valid until its next use); otherwise they are fresh.
 */
export function decodeEventBody(major: number, raw: Uint8Array, n: number, firstSeq: number, slots: SlotTable, scratch?: Scratch): EventColumns {
  // Every event takes at least 4 bytes in either layout (kind, cpu, tid, time): refuse a count the body cannot hold before allocating for it.
  if (!(n >= 0 && 4 * n <= raw.length)) throw new BodyError(`event chunk body of ${raw.length} bytes cannot hold ${n} events`);
  const sc = scratch ?? new Scratch();
  sc.grow(n);
  if (scratch) {
    sc.a.fill(0, 0, n);
    sc.b.fill(0, 0, n);
    sc.c.fill(0, 0, n);
    sc.sIdx.fill(0, 0, n);
  }
  const strings = major === 1 ? decodeV1(raw, n, firstSeq, slots, sc) : decodeV2(raw, n, firstSeq, slots, sc);
  const { kind, cpu, tid, time, a, b, c, sIdx } = sc;
  if (scratch) {
    return {
      firstSeq, n, kind: kind.subarray(0, n), cpu: cpu.subarray(0, n), tid: tid.subarray(0, n), time: time.subarray(0, n),
      a: a.subarray(0, n), b: b.subarray(0, n), c: c.subarray(0, n), sIdx: sIdx.subarray(0, n), strings,
    };
  }
  return { firstSeq, n, kind, cpu, tid, time, a, b, c, sIdx, strings };
}

/** Format 1: the columns concatenated. Fills sc; returns the string table. */
function decodeV1(raw: Uint8Array, n: number, firstSeq: number, slots: SlotTable, sc: Scratch): string[] {
  const len = raw.length;
  const { kind, use, cpu, tid, time, a, b, c, sIdx } = sc;
  const cnt: SlotCounts = { nA: 0, nB: 0, nC: 0, nS: 0 };
  let p = readKinds(raw, 0, n, firstSeq, slots, kind, use, cnt);
  p = readColumn(raw, p, cpu, n);
  p = readColumn(raw, p, tid, n);
  if (p >= len) throw new BodyError("event chunk body ends before its time column");
  const scale = slowU(raw, p);
  p = at;
  p = readDeltas(raw, p, time, n, scale);
  p = cnt.nA === n ? readColumn(raw, p, a, n) : readSlot(raw, p, a, n, use, 1);
  p = cnt.nB === n ? readColumn(raw, p, b, n) : readSlot(raw, p, b, n, use, 2);
  p = cnt.nC === n ? readColumn(raw, p, c, n) : readSlot(raw, p, c, n, use, 3);
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
  if (cnt.nS > 0) p = readStringIndexes(raw, p, n, use, sIdx, m);
  if (p !== len) throw new BodyError(`event chunk body does not match its event count (${len - p} bytes left over)`);
  return strings;
}

/**
 * The elements of a format 2 body, by position: three integers, the string
 * table (an array of strings), then the columns (bin). Later minor versions
 * may append elements; readers ignore them.
 */
export const V2_FIELDS = ["firstSeq", "n", "timeScale", "strings", "kind", "cpu", "tid", "time", "a", "b", "c", "s"] as const;
/** Position of the first column (kind) in V2_FIELDS. */
const V2_COL0 = 4;

/** Format 2: a msgpack array. Fills sc; returns the string table. */
function decodeV2(raw: Uint8Array, n: number, firstSeq: number, slots: SlotTable, sc: Scratch): string[] {
  let doc: unknown;
  try {
    // Shape-checked first (msgpack-bounds.ts): a few bytes must not make the decoder allocate a lot or recurse deep.
    doc = unpackBounded(raw, EVENT_BODY_SHAPE);
  } catch {
    // msgpackr's messages may quote the data: say it in our words.
    throw new BodyError("event chunk body is not a msgpack document of the expected shape");
  }
  if (!Array.isArray(doc) || doc.length < V2_FIELDS.length) throw new BodyError(`event chunk body is not a msgpack array of at least ${V2_FIELDS.length} elements`);
  if (doc[0] !== firstSeq || doc[1] !== n) {
    throw new BodyError(`event chunk body says firstSeq ${shown(doc[0])} and n ${shown(doc[1])}, its frame ${firstSeq} and ${n}`);
  }
  const scale: unknown = doc[2];
  if (typeof scale !== "number" || !Number.isSafeInteger(scale) || scale < 1) throw new BodyError("event chunk body has no valid timeScale");
  const table: unknown = doc[3];
  if (!Array.isArray(table) || !table.every((x) => typeof x === "string")) throw new BodyError("event chunk body's strings is not an array of strings");
  for (let i = V2_COL0; i < V2_FIELDS.length; i++) {
    if (!(doc[i] instanceof Uint8Array)) throw new BodyError(`event chunk body's column ${V2_FIELDS[i]} is not bin`);
  }
  const [K, CPU, TID, TIME, A, B, C, S] = doc.slice(V2_COL0) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const { kind, use, cpu, tid, time, a, b, c, sIdx } = sc;
  const cnt: SlotCounts = { nA: 0, nB: 0, nC: 0, nS: 0 };
  const whole = (name: string, col: Uint8Array, p: number) => {
    if (p !== col.length) throw new BodyError(`event chunk column ${name} does not match the event count (${p < col.length ? `${col.length - p} bytes left over` : "ends early"})`);
  };
  whole("kind", K, readKinds(K, 0, n, firstSeq, slots, kind, use, cnt));
  whole("cpu", CPU, readColumn(CPU, 0, cpu, n));
  whole("tid", TID, readColumn(TID, 0, tid, n));
  whole("time", TIME, readDeltas(TIME, 0, time, n, scale));
  whole("a", A, cnt.nA === n ? readColumn(A, 0, a, n) : readSlot(A, 0, a, n, use, 1));
  whole("b", B, cnt.nB === n ? readColumn(B, 0, b, n) : readSlot(B, 0, b, n, use, 2));
  whole("c", C, cnt.nC === n ? readColumn(C, 0, c, n) : readSlot(C, 0, c, n, use, 3));
  whole("s", S, cnt.nS > 0 ? readStringIndexes(S, 0, n, use, sIdx, table.length) : 0);
  return ["", ...(table as string[])];
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
