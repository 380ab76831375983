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
// Format 3 (written): two bodies, each its own DEFLATE stream. The *core*
// is format 2's array with the kind and time columns of every event and the
// other columns of the events of non-side kinds; the *side* is
//   [cpu, tid, a, b, c, s]
// for the events of the side kinds (the header's kind table marks them: the
// inert kinds no built-in invariant lists). A scan that folds those kinds by
// their seq and time reads the core only (readCore, reader.ts); their fields
// are filled from the side when something reads them (fillEvent).
// Format 1 (read only): the same columns concatenated, the time column led
// by the scale and the string column by the table.
// The writer compresses each body (compress.ts).

import { EVENT_KINDS, type KEvent } from "../kernel/types.ts";
import { BadValue, ByteWriter, fromUtf8, utf8 } from "./bytes.ts";
import { packr } from "./format.ts";
import { unpackPlain } from "./msgpack-fast.ts";
import { EVENT_BODY_SHAPE, shown, unpackBounded } from "./validate.ts";

/** Per kind code: how many of a, b, c it uses, whether it uses s, and whether its events go to the side body (format 3). */
export interface SlotTable {
  nargs: Uint8Array;
  str: Uint8Array;
  side: Uint8Array;
  /** nargs and str in one byte, as the decoder reads them: nargs | str << 2. */
  use: Uint8Array;
}

/**
 * Kind table as stored in the header: [name, number of integer args, 1 if it
 * has a string, and (format 3) 1 if its events' fields are in the side body].
 */
export type KindRow = [string, number, number] | [string, number, number, number];

/** The slot table of a header's kind table; `split`: the file is format 3 (its rows' side flags count). */
export function slotTable(kinds: readonly KindRow[], split = true): SlotTable {
  const nargs = new Uint8Array(kinds.length);
  const str = new Uint8Array(kinds.length);
  const side = new Uint8Array(kinds.length);
  const use = new Uint8Array(kinds.length);
  kinds.forEach((k, i) => {
    nargs[i] = Math.min(3, Math.max(0, k[1] | 0));
    str[i] = k[2] ? 1 : 0;
    side[i] = split && k[3] ? 1 : 0;
    use[i] = nargs[i]! | (str[i]! << 2);
  });
  return { nargs, str, side, use };
}

/**
 * The writer's kind codes as this build's, by name, or null when they are
 * the same (the writer's table is a prefix of this build's, or this build's
 * of the writer's: kinds are appended only). A table that names a code
 * otherwise (a trace from a build whose kinds were numbered differently, as a
 * branch merged later renumbers its own) maps each code to this build's code
 * of the same name; a name this build does not know maps past this build's
 * table (an unknown kind, as a newer build's are).
 */
export function kindRemap(kinds: readonly KindRow[]): Int32Array | null {
  const n = Math.min(kinds.length, EVENT_KINDS.length);
  let same = true;
  for (let i = 0; i < n && same; i++) same = kinds[i]![0] === EVENT_KINDS[i]!.name;
  if (same) return null;
  const ours = new Map(EVENT_KINDS.map((k, i) => [k.name, i]));
  return Int32Array.from(kinds, (k, i) => ours.get(k[0]) ?? EVENT_KINDS.length + i);
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
  /**
   * Set on columns read core-only (format 3, readCore): the events of side
   * kinds have their kind and time but not yet cpu, tid, a, b, c, s, which
   * fillEvent fills (the whole chunk, from the side body) before it copies
   * such an event. Code that reads those columns directly calls needSide.
   */
  pending?: SideFill | null;
}

/** How columns read core-only are completed (see EventColumns.pending). */
export interface SideFill {
  /** By kind code (this build's): 1 for a side kind, whose fields wait for fill. */
  side: Uint8Array;
  /** Fills every event's fields from the whole chunk; event i is the one that needs it (for the gap a damaged side body makes). */
  fill(cols: EventColumns, i: number): void;
}

/** Completes core-only columns (pending) if event i is of a side kind; call before reading its cpu .. s directly. */
export function needSide(cols: EventColumns, i: number): void {
  const p = cols.pending;
  if (p != null && p.side[cols.kind[i]!] === 1) {
    p.fill(cols, i);
    cols.pending = null;
  }
}

/** Raised for a chunk body that does not decode (corrupt or foreign data). */
export class BodyError extends Error {}

/**
 * s with lone surrogates replaced by U+FFFD, as UTF-8 stores it: msgpackr
 * would write them as invalid UTF-8 (and differently for long strings).
 */
function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? fromUtf8(utf8(s)) : s;
}

/** A surrogate not in a pair (with the u flag a pair is one code point, outside the range): what UTF-8 cannot carry. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** For varints the fast paths below do not take (values past 2^30): ByteWriter's, so the bytes are the same. */
const wide = new ByteWriter(16);

/** Unsigned LEB128 of v (a kind code or string index: below 2^31) at buf[p]; returns the new position. */
function putU(buf: Uint8Array, p: number, v: number): number {
  while (v >= 0x80) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/** Zigzag LEB128 of a safe integer at buf[p] (as ByteWriter.svar: BadValue otherwise); returns the new position. */
function putS(buf: Uint8Array, p: number, v: number): number {
  // In int32 from the start (the zigzag as an int32, not `>>> 0`'s uint32, and the loop here): ~12% off encode.
  const i = v | 0;
  if (i === v && i > -0x40000000 && i < 0x40000000) {
    let z = (i << 1) ^ (i >> 31);
    while (z >= 0x80) {
      buf[p++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[p] = z;
    return p + 1;
  }
  wide.reset();
  wide.svar(v);
  buf.set(wide.buf.subarray(0, wide.pos), p);
  return p + wide.pos;
}

/** One body's columns but kind and time, as ChunkBuilder writes them: bytes and ends. */
class SlotCols {
  readonly CPU: Uint8Array;
  readonly TID: Uint8Array;
  readonly A: Uint8Array;
  readonly B: Uint8Array;
  readonly C: Uint8Array;
  readonly S: Uint8Array;
  pc = 0;
  pt = 0;
  pa = 0;
  pb = 0;
  pcc = 0;
  ps = 0;
  constructor(room: number) {
    this.CPU = new Uint8Array(room);
    this.TID = new Uint8Array(room);
    this.A = new Uint8Array(room);
    this.B = new Uint8Array(room);
    this.C = new Uint8Array(room);
    this.S = new Uint8Array(room);
  }
  reset(): void {
    this.pc = this.pt = this.pa = this.pb = this.pcc = this.ps = 0;
  }
  /** The columns, in the order of V2_FIELDS from cpu on (time left out: the caller puts it). */
  views(): Uint8Array[] {
    return [
      this.CPU.subarray(0, this.pc),
      this.TID.subarray(0, this.pt),
      this.A.subarray(0, this.pa),
      this.B.subarray(0, this.pb),
      this.C.subarray(0, this.pcc),
      this.S.subarray(0, this.ps),
    ];
  }
}

/**
 * Buffers the events of one chunk (writer side) and encodes them. Each event's
 * columns but its time are encoded as it comes (push): its time delta waits for
 * the chunk's time scale (encode). One pass over the events, not a store of
 * every field and a second loop reading it back (~1/4 off push + encode).
 * The cpu .. s columns of an event of a side kind go to the side body.
 */
export class ChunkBuilder {
  n = 0;
  firstSeq = 0;
  /** Bytes of the core body at the start of encode's result (the side body follows). */
  coreLength = 0;
  /** Times, for encode's time column. */
  private readonly time: Float64Array;
  /** Column bytes (10 per varint at most): kind, time (encode's), and the core's and the side's others. */
  private readonly K: Uint8Array;
  private readonly TIME: Uint8Array;
  private readonly core: SlotCols;
  private readonly side: SlotCols;
  private pk = 0;
  /** encode's result: the core body, then the side body. */
  private out = new Uint8Array(1 << 16);
  /** The chunk's string table: index (from 1) by string, in order of first use. */
  private readonly dict = new Map<string, number>();
  private readonly strs: string[] = [];
  /** The first field that does not encode (push's), thrown by encode; the events after it are not encoded. */
  private bad: Error | null = null;
  /** Events before the first bad one. */
  private good = 0;

  constructor(
    readonly capacity: number,
    readonly slots: SlotTable,
  ) {
    this.time = new Float64Array(capacity);
    const room = capacity * 10 + 16;
    this.K = new Uint8Array(room);
    this.TIME = new Uint8Array(room);
    this.core = new SlotCols(room);
    this.side = new SlotCols(room);
  }

  /**
   * Adds one event. Caller ensures n < capacity and dense seqs. A field that
   * is not a safe integer (or a kind out of range) throws at encode, not here.
   */
  push(ev: KEvent): void {
    const i = this.n++;
    if (i === 0) this.firstSeq = ev.seq;
    this.time[i] = ev.time;
    if (this.bad !== null) return;
    try {
      this.put(ev, i);
      this.good = i + 1;
    } catch (e) {
      if (!(e instanceof BadValue || e instanceof RangeError)) throw e;
      this.bad = e;
    }
  }

  /** Event i's columns but its time. The conversions are those of the typed-array columns this replaced (same bytes). */
  private put(ev: KEvent, i: number): void {
    const { nargs, str } = this.slots;
    const k = ev.kind | 0;
    if (k < 0 || k > 0x3fffffff) throw new RangeError(`event ${this.firstSeq + i}: bad kind ${k}`);
    const a = +ev.a,
      b = +ev.b,
      c = +ev.c,
      s = ev.s;
    let na = 3,
      hs = 1,
      full = 1;
    let o = this.core;
    if (k < nargs.length) {
      na = nargs[k]!;
      hs = str[k]!;
      full = (na < 1 && a !== 0) || (na < 2 && b !== 0) || (na < 3 && c !== 0) || (!hs && s !== "") ? 1 : 0;
      if (full) {
        na = 3;
        hs = 1;
      }
      if (this.slots.side[k] === 1) o = this.side;
    }
    this.pk = putU(this.K, this.pk, k * 2 + full);
    o.pc = putS(o.CPU, o.pc, +ev.cpu);
    o.pt = putS(o.TID, o.pt, +ev.tid);
    if (na >= 1) o.pa = putS(o.A, o.pa, a);
    if (na >= 2) o.pb = putS(o.B, o.pb, b);
    if (na >= 3) o.pcc = putS(o.C, o.pcc, c);
    if (hs) {
      if (s === "") o.S[o.ps++] = 0;
      else {
        let x = this.dict.get(s);
        if (x === undefined) {
          x = this.strs.length + 1;
          this.dict.set(s, x);
          this.strs.push(wellFormed(s));
        }
        o.ps = putU(o.S, o.ps, x);
      }
    }
  }

  /**
   * Encodes the buffered events as a format 3 chunk's two bodies (msgpack
   * arrays, not yet compressed): the core body, coreLength bytes, then the
   * side body. Throws BadValue (bytes.ts) or RangeError for a field that is
   * not a safe integer. The result is valid until the next encode.
   */
  encode(): Uint8Array {
    const n = this.n;
    const { time } = this;
    // Time deltas are stored divided by their greatest common divisor (the
    // simulator's costs are multiples of 10 ns): fewer bytes, better codes.
    let scale = 0;
    let prevTime = 0;
    for (let i = 0; i < n; i++) {
      let d = Math.abs(time[i]! - prevTime);
      prevTime = time[i]!;
      const di = d | 0;
      if (di === d && scale <= 0x7fffffff) {
        // The common case, in int32 arithmetic (a double's % is a call to fmod): the same gcd.
        if (scale !== 0 && di % (scale | 0) === 0) continue;
        let x = scale | 0;
        let y = di;
        while (y !== 0) {
          const r = x % y;
          x = y;
          y = r;
        }
        scale = x;
        continue;
      }
      if (!Number.isSafeInteger(d)) {
        scale = 1; // not encodable: putS below reports it
        break;
      }
      // gcd(scale, d); most deltas are multiples of the scale already.
      if (scale !== 0 && d % scale === 0) continue;
      while (d !== 0) {
        const r = scale % d;
        scale = d;
        d = r;
      }
    }
    if (!(scale >= 1 && Number.isSafeInteger(scale))) scale = 1;
    // The time column of the events before the first bad one: a chunk with
    // bad fields throws a bad time among those, or else push's bad field.
    const TIME = this.TIME;
    let pm = 0;
    prevTime = 0;
    for (let i = 0; i < this.good; i++) {
      const t = time[i]!;
      pm = putS(TIME, pm, (t - prevTime) / scale);
      prevTime = t;
    }
    if (this.bad !== null) throw this.bad;
    // In the order of V2_FIELDS; packr's result is its own buffer's, so the core is copied out before the side is packed.
    const [cpu, tid, a, b, c, s] = this.core.views();
    const core = packr.pack([
      this.firstSeq,
      n,
      scale,
      this.strs,
      this.K.subarray(0, this.pk),
      cpu,
      tid,
      TIME.subarray(0, pm),
      a,
      b,
      c,
      s,
    ]);
    this.coreLength = core.length;
    this.room(core.length);
    this.out.set(core, 0);
    const side = packr.pack(this.side.views());
    this.room(core.length + side.length);
    this.out.set(side, core.length);
    return this.out.subarray(0, core.length + side.length);
  }

  /** Makes out hold at least len bytes, keeping its first coreLength. */
  private room(len: number): void {
    if (this.out.length >= len) return;
    const o = new Uint8Array(Math.max(len, 2 * this.out.length));
    o.set(this.out.subarray(0, this.coreLength));
    this.out = o;
  }

  reset(): void {
    this.n = 0;
    this.good = 0;
    this.bad = null;
    this.pk = 0;
    this.core.reset();
    this.side.reset();
    if (this.strs.length > 0) {
      this.dict.clear();
      this.strs.length = 0;
    }
  }
}

/** Int32 slots per event in EventRows: kind, cpu, tid, a, b, c, string index (0: ""), time delta from the event before. */
const ROW = 8;

/**
 * One chunk's events as rows of int32 (ROW slots each), its first time, and
 * its strings, for encoding on another thread: the recorder's simulating
 * thread stores rows (a few stores per event), its writer thread fills a
 * ChunkBuilder from them (rowsInto) and encodes there. push() takes only
 * events that rowsInto gives back exactly, fields that ChunkBuilder encodes
 * without an error: int32 fields and time deltas, a safe-integer first time, a
 * well-formed string. It refuses any other event (false), and the caller then
 * encodes the chunk itself (replay() into its ChunkBuilder, then the event),
 * so a bad field fails as ChunkBuilder fails.
 */
export class EventRows {
  n = 0;
  firstSeq = 0;
  /** The rows, and the chunk's first time before them (bytes: the wire form's first 8 + ROW * 4 * n). */
  readonly bytes: Uint8Array;
  private readonly rows: Int32Array;
  private readonly first: Float64Array;
  private lastTime = 0;
  private readonly dict = new Map<string, number>();
  private readonly strs: string[] = [];
  private readonly strBytes = new ByteWriter(1 << 12);

  constructor(readonly capacity: number) {
    const buf = new ArrayBuffer(8 + ROW * 4 * capacity);
    this.bytes = new Uint8Array(buf);
    this.first = new Float64Array(buf, 0, 1);
    this.rows = new Int32Array(buf, 8, ROW * capacity);
  }

  /** Adds one event (n < capacity); false, and nothing added, for an event a row does not carry exactly. */
  push(ev: KEvent): boolean {
    const i = this.n;
    const t = ev.time;
    const k = ev.kind;
    const cpu = ev.cpu;
    const tid = ev.tid;
    const a = ev.a;
    const b = ev.b;
    const c = ev.c;
    const s = ev.s;
    const dt = t - this.lastTime;
    // Int32 fields and time delta (anything else, a string "5" too, is the caller's to encode), a kind ChunkBuilder takes.
    if (
      (k | 0) !== k ||
      k < 0 ||
      k > 0x3fffffff ||
      (cpu | 0) !== cpu ||
      (tid | 0) !== tid ||
      (a | 0) !== a ||
      (b | 0) !== b ||
      (c | 0) !== c ||
      typeof s !== "string"
    )
      return false;
    if (i === 0) {
      if (!Number.isSafeInteger(t)) return false;
      this.firstSeq = ev.seq;
      this.first[0] = t;
    } else if ((dt | 0) !== dt) return false;
    let x = 0;
    if (s !== "") {
      const got = this.dict.get(s);
      if (got !== undefined) x = got;
      else {
        if (LONE_SURROGATE.test(s)) return false; // the wire's UTF-8 would not give it back
        this.strs.push(s);
        x = this.strs.length;
        this.dict.set(s, x);
      }
    }
    this.lastTime = t;
    const r = this.rows;
    const o = i * ROW;
    r[o] = k;
    r[o + 1] = cpu;
    r[o + 2] = tid;
    r[o + 3] = a;
    r[o + 4] = b;
    r[o + 5] = c;
    r[o + 6] = x;
    r[o + 7] = i === 0 ? 0 : dt;
    this.n = i + 1;
    return true;
  }

  /** The wire form's strings part: their count, then each one's UTF-8 length and bytes (u32 little-endian). */
  strings(): Uint8Array {
    const w = this.strBytes;
    w.reset();
    w.u32(this.strs.length);
    for (const s of this.strs) {
      const b = utf8(s);
      w.u32(b.length);
      w.bytes(b);
    }
    return w.buf.subarray(0, w.pos);
  }

  /** Pushes the rows' events into b (empty), as push() took them: the same fields. */
  replay(b: ChunkBuilder): void {
    rowsInto(b, this.firstSeq, this.n, this.bytes, this.strs);
  }

  reset(): void {
    this.n = 0;
    if (this.strs.length > 0) {
      this.dict.clear();
      this.strs.length = 0;
    }
  }
}

/** The strings part of EventRows' wire form, decoded. */
export function rowStrings(b: Uint8Array): string[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint32(0, true);
  const out: string[] = [];
  let p = 4;
  for (let k = 0; k < n; k++) {
    const len = v.getUint32(p, true);
    out.push(fromUtf8(b.subarray(p + 4, p + 4 + len)));
    p += 4 + len;
  }
  return out;
}

const rowEvent: KEvent = { seq: 0, time: 0, cpu: 0, tid: 0, kind: 0, a: 0, b: 0, c: 0, s: "" };

/**
 * Pushes n events from EventRows' rows (`bytes`: the first time, then the
 * rows; 8-byte aligned) and strings into ChunkBuilder b (empty).
 */
export function rowsInto(
  b: ChunkBuilder,
  firstSeq: number,
  n: number,
  bytes: Uint8Array,
  strs: readonly string[],
): void {
  const r = new Int32Array(bytes.buffer, bytes.byteOffset + 8, ROW * n);
  const ev = rowEvent;
  let t = new Float64Array(bytes.buffer, bytes.byteOffset, 1)[0]!;
  for (let i = 0; i < n; i++) {
    const o = i * ROW;
    t += r[o + 7]!;
    ev.seq = firstSeq + i;
    ev.time = t;
    ev.kind = r[o]!;
    ev.cpu = r[o + 1]!;
    ev.tid = r[o + 2]!;
    ev.a = r[o + 3]!;
    ev.b = r[o + 4]!;
    ev.c = r[o + 5]!;
    const x = r[o + 6]!;
    ev.s = x === 0 ? "" : strs[x - 1]!;
    b.push(ev);
  }
}

// Decoder. Varints are read inline; `at[0]` carries the position out of the
// slow path. A typed array, not a module `let`: JavaScriptCore watches a module
// variable as a constant until it is written, and when slowU's optimized code
// first wrote it (late in a long scan) every column reader compiled with that
// assumption was thrown away and compiled again (docs/BENCHMARKS.md, "Phase 12").
const at = new Int32Array(1);

function slowU(raw: Uint8Array, p: number): number {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 10; k++) {
    if (p >= raw.length) throw new BodyError("event chunk body ends inside a varint");
    const x = raw[p++]!;
    v += (x & 0x7f) * mul;
    mul *= 128;
    if (x < 0x80) {
      at[0] = p;
      return v;
    }
  }
  throw new BodyError("varint longer than 10 bytes");
}

/** A varint above 2^53 was decoded (its value may not be a safe integer) since the last decode began. */
let bigSeen = false;
/** Sum of the magnitudes of the time deltas over 28 bits in the last decode (a chunk's first time is a delta from 0, often one). */
let slowSum = 0;
/** Events and time scale of the last decode. */
let lastN = 0;
let lastScale = 1;

/**
 * Whether every integer the last decodeEventBody produced is a safe integer
 * by construction: no varint was over 2^53 (those below decode exactly; the
 * 28-bit ones as int32), and the time column's running sum, of n deltas each
 * below 2^27 but for the slow ones whose magnitudes sum to slowSum, times the
 * scale, cannot pass 2^53. The reader then skips checkColumns (validate.ts),
 * whose rule this only proves ahead of time. (A chunk's first time past 2^27
 * scaled units, 1.3 s of virtual time at `stress`'s 10 ns, used to fail the
 * proof: checkColumns ran for three quarters of a 100M-event trace's chunks.)
 */
export function lastDecodeSafe(): boolean {
  return !bigSeen && (lastN * 0x8000000 + slowSum) * lastScale <= Number.MAX_SAFE_INTEGER;
}

function slowS(raw: Uint8Array, p: number): number {
  const start = p;
  const u = slowU(raw, p);
  if (u <= 0x1fffffffffffff) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  bigSeen = true;
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
            p = at[0]!;
            continue;
          }
        }
      }
    }
    out[i] = (u >>> 1) ^ -(u & 1);
  }
  return p;
}

/** Like readColumn, for the m events listed in idx (those that store the slot): out[idx[j]] for j < m. */
function readListed(raw: Uint8Array, p: number, out: Float64Array, idx: Int32Array, m: number): number {
  for (let j = 0; j < m; j++) {
    const i = idx[j]!;
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
            p = at[0]!;
            continue;
          }
        }
      }
    }
    out[i] = (u >>> 1) ^ -(u & 1);
  }
  return p;
}

/** A slot column: every event's when all n store it, else those listed (the others are 0). */
function readSlot(raw: Uint8Array, p: number, out: Float64Array, n: number, idx: Int32Array, m: number): number {
  if (m === n) return readColumn(raw, p, out, n);
  out.fill(0, 0, n);
  return readListed(raw, p, out, idx, m);
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
            const v = slowS(raw, p - 4);
            slowSum += Math.abs(v);
            t += v * scale;
            p = at[0]!;
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

/**
 * Decode buffers for up to `cap` events. Decoding into one (decodeEventBody's
 * `scratch`) allocates no columns: scans reuse one, and the reader's column
 * cache recycles those it evicts, so neither makes garbage per chunk.
 */
export class Scratch {
  cap = 0;
  // Typed over any buffer: the scan pipeline's decode worker points them at shared memory (decode-ring.ts).
  kind: Int32Array = new Int32Array(0);
  cpu: Float64Array = new Float64Array(0);
  tid: Float64Array = new Float64Array(0);
  time: Float64Array = new Float64Array(0);
  a: Float64Array = new Float64Array(0);
  b: Float64Array = new Float64Array(0);
  c: Float64Array = new Float64Array(0);
  sIdx: Uint32Array = new Uint32Array(0);
  /** Indexes of the events that store slot a, b, c and s, in order (decoding's own lists; format 3: in the core body). */
  ia = new Int32Array(0);
  ib = new Int32Array(0);
  ic = new Int32Array(0);
  is = new Int32Array(0);
  /** Format 3: the events in the core body (cpu, tid), and the side body's: its events and those storing a, b, c, s. */
  ie = new Int32Array(0);
  je = new Int32Array(0);
  ja = new Int32Array(0);
  jb = new Int32Array(0);
  jc = new Int32Array(0);
  js = new Int32Array(0);

  constructor(cap = 0) {
    this.grow(cap);
  }

  /** Makes room for n events; the arrays' contents are then undefined. */
  grow(n: number): void {
    if (n <= this.cap) return;
    this.cap = n;
    // The columns over ArrayBuffers of their own: views of a prefix of them
    // (columnsOf) then share them. (A typed array made by length has none
    // until a view asks, and JSC then moves its ~30 KB into a new one: a
    // prefix decode into a fresh Scratch allocated ~225 KB.)
    this.kind = new Int32Array(new ArrayBuffer(4 * n));
    this.cpu = new Float64Array(new ArrayBuffer(8 * n));
    this.tid = new Float64Array(new ArrayBuffer(8 * n));
    this.time = new Float64Array(new ArrayBuffer(8 * n));
    this.a = new Float64Array(new ArrayBuffer(8 * n));
    this.b = new Float64Array(new ArrayBuffer(8 * n));
    this.c = new Float64Array(new ArrayBuffer(8 * n));
    this.sIdx = new Uint32Array(new ArrayBuffer(4 * n));
    this.ia = new Int32Array(n);
    this.ib = new Int32Array(n);
    this.ic = new Int32Array(n);
    this.is = new Int32Array(n);
    this.ie = new Int32Array(n);
    this.je = new Int32Array(n);
    this.ja = new Int32Array(n);
    this.jb = new Int32Array(n);
    this.jc = new Int32Array(n);
    this.js = new Int32Array(n);
  }

  /** Bytes held (for caches that bound their memory). */
  get bytes(): number {
    return this.cap * (4 + 6 * 8 + 4 + 10 * 4);
  }
}

/** How many events store each slot (set by readKinds; module state, like `at[0]`). */
let nA = 0,
  nB = 0,
  nC = 0,
  nS = 0;

/**
 * Reads the kind column (n uvars from p; the events from firstSeq) into
 * sc.kind, and lists the events that store each slot (sc.ia .. sc.is; the
 * counts in nA .. nS). Returns the new position.
 */
function readKinds(raw: Uint8Array, p: number, n: number, firstSeq: number, slots: SlotTable, sc: Scratch): number {
  const use = slots.use;
  const nk = use.length;
  const { kind, ia, ib, ic, is } = sc;
  let ca = 0,
    cb = 0,
    cc = 0,
    cs = 0;
  for (let i = 0; i < n; i++) {
    let v = raw[p]!;
    if (v < 0x80) p++;
    else {
      v = slowKind(raw, p, firstSeq + i);
      p = at[0]!;
    }
    const k = v >>> 1;
    kind[i] = k;
    // Bits 0-1: integer slots stored, bit 2: a string stored; all of them when the full bit is set or the kind is unknown.
    const u = (v & 1) === 0 && k < nk ? use[k]! : 7;
    const na = u & 3;
    // Branch-free: write the index, count it only when the slot is stored.
    ia[ca] = i;
    ca += (na + 3) >> 2;
    ib[cb] = i;
    cb += (na + 2) >> 2;
    ic[cc] = i;
    cc += (na + 1) >> 2;
    is[cs] = i;
    cs += u >> 2;
  }
  nA = ca;
  nB = cb;
  nC = cc;
  nS = cs;
  return p;
}

/** Events of the core body (nE) and of the side body (sE), and how many of those store a, b, c and s (format 3; set by readKinds3). */
let nE = 0,
  sE = 0,
  sA = 0,
  sB = 0,
  sC = 0,
  sS = 0;

/**
 * readKinds for format 3: the kind column, and the events of each body
 * (sc.ie, sc.je) and of each body that store each slot (sc.ia .. sc.is for
 * the core, sc.ja .. sc.js for the side; the counts in nA .. nS, nE and
 * sA .. sS, sE). An event is the side's when its kind code is a side kind
 * of the file's table (the full bit does not change that).
 */
function readKinds3(raw: Uint8Array, p: number, n: number, firstSeq: number, slots: SlotTable, sc: Scratch): number {
  const { use, side } = slots;
  const nk = use.length;
  const { kind, ia, ib, ic, is, ie, je, ja, jb, jc, js } = sc;
  let ca = 0,
    cb = 0,
    cc = 0,
    cs = 0,
    ce = 0,
    da = 0,
    db = 0,
    dc = 0,
    ds = 0,
    de = 0;
  for (let i = 0; i < n; i++) {
    let v = raw[p]!;
    if (v < 0x80) p++;
    else {
      v = slowKind(raw, p, firstSeq + i);
      p = at[0]!;
    }
    const k = v >>> 1;
    kind[i] = k;
    const known = k < nk;
    const u = (v & 1) === 0 && known ? use[k]! : 7;
    const sd = known ? side[k]! : 0;
    const co = sd ^ 1;
    const na = u & 3;
    const xa = (na + 3) >> 2,
      xb = (na + 2) >> 2,
      xc = (na + 1) >> 2,
      xs = u >> 2;
    // Branch-free, as readKinds: each list gets the index, counted only when it is the list's.
    ie[ce] = i;
    ce += co;
    je[de] = i;
    de += sd;
    ia[ca] = i;
    ca += xa & co;
    ib[cb] = i;
    cb += xb & co;
    ic[cc] = i;
    cc += xc & co;
    is[cs] = i;
    cs += xs & co;
    ja[da] = i;
    da += xa & sd;
    jb[db] = i;
    db += xb & sd;
    jc[dc] = i;
    dc += xc & sd;
    js[ds] = i;
    ds += xs & sd;
  }
  nA = ca;
  nB = cb;
  nC = cc;
  nS = cs;
  nE = ce;
  sE = de;
  sA = da;
  sB = db;
  sC = dc;
  sS = ds;
  return p;
}

/**
 * readKinds3 for a decode of the core body only: the kind column, and the
 * core's lists alone (sc.ie, sc.ia .. sc.is; counts in nE, nA .. nS): half
 * the stores per event of readKinds3's.
 */
function readKindsCore(raw: Uint8Array, p: number, n: number, firstSeq: number, slots: SlotTable, sc: Scratch): number {
  const { use, side } = slots;
  const nk = use.length;
  const { kind, ia, ib, ic, is, ie } = sc;
  let ca = 0,
    cb = 0,
    cc = 0,
    cs = 0,
    ce = 0;
  for (let i = 0; i < n; i++) {
    let v = raw[p]!;
    if (v < 0x80) p++;
    else {
      v = slowKind(raw, p, firstSeq + i);
      p = at[0]!;
    }
    const k = v >>> 1;
    kind[i] = k;
    const known = k < nk;
    // A side event stores nothing here: its use counts as 0.
    const co = known ? side[k]! ^ 1 : 1;
    const u = ((v & 1) === 0 && known ? use[k]! : 7) & -co;
    const na = u & 3;
    ie[ce] = i;
    ce += co;
    ia[ca] = i;
    ca += (na + 3) >> 2;
    ib[cb] = i;
    cb += (na + 2) >> 2;
    ic[cc] = i;
    cc += (na + 1) >> 2;
    is[cs] = i;
    cs += u >> 2;
  }
  nA = ca;
  nB = cb;
  nC = cc;
  nS = cs;
  nE = ce;
  return p;
}

/** A kind column's varint of 2 bytes or more at raw[p] (event seq), for the readKinds loops; sets `at[0]`. */
function slowKind(raw: Uint8Array, p: number, seq: number): number {
  const v = slowU(raw, p);
  if (v > 0x7ffffffe) throw new BodyError(`event ${seq}: kind code ${Math.floor(v / 2)} out of range`);
  return v;
}

/** Reads one string index (a uvar below m + 1) for each of the k events listed in idx. Returns the new position. */
function readStringIndexes(
  raw: Uint8Array,
  p: number,
  n: number,
  idx: Int32Array,
  k: number,
  sIdx: Uint32Array,
  m: number,
  clear = true,
): number {
  if (clear) sIdx.fill(0, 0, n);
  for (let j = 0; j < k; j++) {
    const x = raw[p]!;
    let v: number;
    if (x < 0x80) {
      v = x;
      p++;
    } else {
      v = slowU(raw, p);
      p = at[0]!;
    }
    if (v > m) throw new BodyError(`string index ${v} out of range`);
    sIdx[idx[j]!] = v;
  }
  return p;
}

/**
 * Decodes an uncompressed event chunk body of n events, in the layout of
 * format `major` (1, 2 or 3; the reader refuses others before this). Format
 * 3: `raw` is the core body and `side` the side body, or null to decode the
 * core only (the side events' cpu .. s are then 0 until filled: the caller
 * sets the columns' `pending`). Throws BodyError when it does not fit. With
 * `scratch`, the returned columns are views of its arrays (valid until its
 * next use); otherwise they are fresh.
 */
export function decodeEventBody(
  major: number,
  raw: Uint8Array,
  n: number,
  firstSeq: number,
  slots: SlotTable,
  scratch?: Scratch,
  side?: Uint8Array | null,
): EventColumns {
  // Every event takes at least 4 bytes in either layout (kind, cpu, tid, time; format 3: kind and time in the core,
  // cpu and tid in one body or the other): refuse a count the bodies cannot hold before allocating for it.
  const held = major < 3 ? raw.length : side ? Math.min(2 * raw.length, raw.length + side.length) : 2 * raw.length;
  if (!(n >= 0 && 4 * n <= held))
    throw new BodyError(`event chunk body of ${raw.length} bytes cannot hold ${n} events`);
  const sc = scratch ?? new Scratch(n);
  sc.grow(n);
  bigSeen = false;
  slowSum = 0;
  lastN = n;
  lastScale = Infinity;
  const strings =
    major === 1
      ? decodeV1(raw, n, firstSeq, slots, sc)
      : major === 2
        ? decodeV2(raw, n, firstSeq, slots, sc)
        : decodeV3(raw, side ?? null, n, firstSeq, slots, sc);
  return columnsOf(sc, firstSeq, n, strings);
}

/** The first n events of sc's arrays as columns (the arrays themselves when they hold exactly n). */
function columnsOf(sc: Scratch, firstSeq: number, n: number, strings: string[]): EventColumns {
  const { kind, cpu, tid, time, a, b, c, sIdx } = sc;
  if (sc.cap !== n) {
    return {
      firstSeq,
      n,
      kind: kind.subarray(0, n),
      cpu: cpu.subarray(0, n),
      tid: tid.subarray(0, n),
      time: time.subarray(0, n),
      a: a.subarray(0, n),
      b: b.subarray(0, n),
      c: c.subarray(0, n),
      sIdx: sIdx.subarray(0, n),
      strings,
      pending: null,
    };
  }
  return { firstSeq, n, kind, cpu, tid, time, a, b, c, sIdx, strings, pending: null };
}

/**
 * The first m events (1 <= m <= n) of a chunk body that decodeEventBody would
 * decode whole, the same values, for a fold that stops at event m - 1 (a seek
 * folds half a chunk on average). The rest of the body is not decoded but
 * checked (skipRest): every varint there is short (at most 4 bytes: nothing
 * for the safe-integer proof, lastDecodeSafe, to count), each column ends
 * where its bytes do, and every string index is in its table; the kind column
 * is read whole. Returns null when that cannot be shown (a format 1 body, a
 * long varint after event m - 1, anything decodeEventBody would refuse, or
 * the proof failing): then decode the whole body, which gives its own answer
 * or error. So a body the prefix is taken from is one decodeEventBody takes,
 * and damage after the target is found as before. The columns have n = m and
 * are views of `scratch`'s arrays.
 */
export function decodeEventPrefix(
  major: number,
  raw: Uint8Array,
  n: number,
  firstSeq: number,
  slots: SlotTable,
  m: number,
  scratch: Scratch,
): EventColumns | null {
  if (major === 3) return prefix3(raw, n, firstSeq, slots, m, scratch);
  if (major !== 2 || !(m >= 1 && m <= n && 4 * n <= raw.length)) return null;
  const sc = scratch;
  sc.grow(n);
  bigSeen = false;
  slowSum = 0;
  lastN = n;
  lastScale = Infinity;
  try {
    const { table, K, CPU, TID, TIME, A, B, C, S } = v2Parts(raw, n, firstSeq);
    const scale = lastScale;
    // The prefix's kinds and slot lists, then the rest's slot counts only.
    const pk = readKinds(K, 0, m, firstSeq, slots, sc);
    const ma = nA,
      mb = nB,
      mc = nC,
      ms = nS;
    if (kindsRest(K, pk, n - m, slots) !== K.length) return null;
    if (
      skipRest(CPU, readColumn(CPU, 0, sc.cpu, m), n - m) !== CPU.length ||
      skipRest(TID, readColumn(TID, 0, sc.tid, m), n - m) !== TID.length ||
      skipRest(TIME, readDeltas(TIME, 0, sc.time, m, scale), n - m) !== TIME.length ||
      !slotPrefix(A, sc.a, m, ma, sc.ia, restA) ||
      !slotPrefix(B, sc.b, m, mb, sc.ib, restB) ||
      !slotPrefix(C, sc.c, m, mc, sc.ic, restC)
    )
      return null;
    const p = readStringIndexes(S, 0, m, sc.is, ms, sc.sIdx, table.length);
    if (indexesRest(S, p, restS, table.length) !== S.length || !lastDecodeSafe()) return null;
    return columnsOf(sc, firstSeq, m, stringTable(table));
  } catch (e) {
    if (e instanceof BodyError) return null;
    throw e;
  }
}

/**
 * decodeEventPrefix for format 3: the core body's prefix, as readCore
 * decodes the core (a seek reads the core only: the side kinds' fields are
 * filled when one is read, the columns' `pending`), the rest of the core
 * checked. The side events' cpu .. s are not set.
 */
function prefix3(
  raw: Uint8Array,
  n: number,
  firstSeq: number,
  slots: SlotTable,
  m: number,
  sc: Scratch,
): EventColumns | null {
  if (!(m >= 1 && m <= n && 2 * n <= raw.length)) return null;
  sc.grow(n);
  bigSeen = false;
  slowSum = 0;
  lastN = n;
  lastScale = Infinity;
  try {
    const { table, K, CPU, TID, TIME, A, B, C, S } = v2Parts(raw, n, firstSeq);
    const scale = lastScale;
    const pk = readKindsCore(K, 0, m, firstSeq, slots, sc);
    const ce = nE,
      ka = nA,
      kb = nB,
      kc = nC,
      ks = nS;
    if (kindsRest(K, pk, n - m, slots) !== K.length) return null;
    const m2 = table.length;
    if (
      skipRest(TIME, readDeltas(TIME, 0, sc.time, m, scale), n - m) !== TIME.length ||
      !slotPrefix(CPU, sc.cpu, m, ce, sc.ie, n - m - restSide) ||
      !slotPrefix(TID, sc.tid, m, ce, sc.ie, n - m - restSide) ||
      !slotPrefix(A, sc.a, m, ka, sc.ia, restA) ||
      !slotPrefix(B, sc.b, m, kb, sc.ib, restB) ||
      !slotPrefix(C, sc.c, m, kc, sc.ic, restC) ||
      indexesRest(S, readStringIndexes(S, 0, m, sc.is, ks, sc.sIdx, m2), restS, m2) !== S.length ||
      !lastDecodeSafe()
    )
      return null;
    return columnsOf(sc, firstSeq, m, stringTable(table));
  } catch (e) {
    if (e instanceof BodyError) return null;
    throw e;
  }
}

/** How many of the events kindsRest stepped over store slot a, b, c and s in the core body (all before format 3), and how many are the side body's. */
let restA = 0,
  restB = 0,
  restC = 0,
  restS = 0,
  restSide = 0;

/**
 * Steps over k kind codes from p (each a varint of at most 4 bytes, a code
 * readKinds takes), counting the events that store each slot (restA ..
 * restS); returns the position after them, or -1.
 */
function kindsRest(raw: Uint8Array, p: number, k: number, slots: SlotTable): number {
  const { use, side } = slots;
  const nk = use.length;
  let ca = 0,
    cb = 0,
    cc = 0,
    cs = 0,
    de = 0;
  for (let j = 0; j < k; j++) {
    let v = raw[p++]!;
    if (v >= 0x80) {
      let y = raw[p++]!;
      v = (v & 0x7f) | ((y & 0x7f) << 7);
      if (y >= 0x80) {
        y = raw[p++]!;
        v |= (y & 0x7f) << 14;
        if (y >= 0x80) {
          y = raw[p++]!;
          v |= (y & 0x7f) << 21;
          if (y >= 0x80) return -1;
        }
      }
    }
    const kc = v >>> 1;
    const u = (v & 1) === 0 && kc < nk ? use[kc]! : 7;
    const sd = kc < nk ? side[kc]! : 0;
    const co = sd ^ 1;
    const na = u & 3;
    const xa = (na + 3) >> 2,
      xb = (na + 2) >> 2,
      xc = (na + 1) >> 2,
      xs = u >> 2;
    ca += xa & co;
    cb += xb & co;
    cc += xc & co;
    cs += xs & co;
    de += sd;
  }
  restA = ca;
  restB = cb;
  restC = cc;
  restS = cs;
  restSide = de;
  return p;
}

/**
 * readSlot for the first m events, of which km store the slot (listed in
 * idx), the column's other `rest` values checked (skipRest); false when they
 * do not check. Every event stores it when none of the m does not.
 */
function slotPrefix(col: Uint8Array, out: Float64Array, m: number, km: number, idx: Int32Array, rest: number): boolean {
  let p: number;
  if (km === m) p = readColumn(col, 0, out, m);
  else {
    out.fill(0, 0, m);
    p = readListed(col, 0, out, idx, km);
  }
  return skipRest(col, p, rest) === col.length;
}

/**
 * Steps over the k varints from p to the end of col, each of at most 4 bytes;
 * returns col.length when they are exactly that, else -1 (a longer varint,
 * one the decoders take the slow path for, or another count). Four bytes at
 * a time: it counts the bytes that end a varint (high bit clear) and checks
 * that no run of continuation bytes reaches 4 (within a word: a word of four;
 * across two: the run ending one and the run starting the next), ~6x faster
 * than decoding them.
 */
function skipRest(col: Uint8Array, p: number, k: number): number {
  const len = col.length;
  if (p < 0 || p > len || len - p < k) return -1;
  const dv = new DataView(col.buffer, col.byteOffset, len);
  let ends = 0;
  let tail = 0; // continuation bytes ending the previous word
  let q = p;
  for (; q + 4 <= len; q += 4) {
    // Terminators: their high bits, at bits 7, 15, 23, 31 (byte j of the word at bit 8j + 7).
    const t = ~dv.getUint32(q, true) & 0x80808080;
    if (t === 0) return -1;
    ends += Math.imul(t >>> 7, 0x01010101) >>> 24;
    // Continuation bytes before the word's first terminator, and after its last.
    const lead = (31 - Math.clz32(t & -t)) >> 3;
    if (tail + lead >= 4) return -1;
    tail = Math.clz32(t) >> 3;
  }
  for (; q < len; q++) {
    if (col[q]! < 0x80) {
      ends++;
      tail = 0;
    } else if (++tail >= 4) return -1;
  }
  return ends === k && tail === 0 ? len : -1;
}

/** Steps over k string indexes from p, each a varint of at most 4 bytes and at most m; the position after them, or -1. */
function indexesRest(col: Uint8Array, p: number, k: number, m: number): number {
  for (let j = 0; j < k; j++) {
    let v = col[p++]!;
    if (v >= 0x80) {
      let y = col[p++]!;
      v = (v & 0x7f) | ((y & 0x7f) << 7);
      if (y >= 0x80) {
        y = col[p++]!;
        v |= (y & 0x7f) << 14;
        if (y >= 0x80) {
          y = col[p++]!;
          v |= (y & 0x7f) << 21;
          if (y >= 0x80) return -1;
        }
      }
    }
    if (!(v <= m)) return -1;
  }
  return p;
}

/** Format 1: the columns concatenated. Fills sc; returns the string table. */
function decodeV1(raw: Uint8Array, n: number, firstSeq: number, slots: SlotTable, sc: Scratch): string[] {
  const len = raw.length;
  let p = readKinds(raw, 0, n, firstSeq, slots, sc);
  const ka = nA,
    kb = nB,
    kc = nC,
    ks = nS;
  p = readColumn(raw, p, sc.cpu, n);
  p = readColumn(raw, p, sc.tid, n);
  if (p >= len) throw new BodyError("event chunk body ends before its time column");
  const scale = slowU(raw, p);
  lastScale = scale;
  p = at[0]!;
  p = readDeltas(raw, p, sc.time, n, scale);
  p = readSlot(raw, p, sc.a, n, sc.ia, ka);
  p = readSlot(raw, p, sc.b, n, sc.ib, kb);
  p = readSlot(raw, p, sc.c, n, sc.ic, kc);
  if (p >= len) throw new BodyError("event chunk body ends before its string table");
  const m = slowU(raw, p);
  p = at[0]!;
  if (m > len) throw new BodyError("bad string table size");
  const strings: string[] = new Array(m + 1);
  strings[0] = "";
  for (let j = 1; j <= m; j++) {
    const bl = slowU(raw, p);
    p = at[0]!;
    if (p + bl > len) throw new BodyError("string runs past the end of the chunk body");
    strings[j] = fromUtf8(raw.subarray(p, p + bl));
    p += bl;
  }
  p = readStringIndexes(raw, p, n, sc.is, ks, sc.sIdx, m);
  if (p !== len) throw new BodyError(`event chunk body does not match its event count (${len - p} bytes left over)`);
  return strings;
}

/**
 * The elements of a format 2 body, by position: three integers, the string
 * table (an array of strings), then the columns (bin). Later minor versions
 * may append elements; readers ignore them.
 */
export const V2_FIELDS = [
  "firstSeq",
  "n",
  "timeScale",
  "strings",
  "kind",
  "cpu",
  "tid",
  "time",
  "a",
  "b",
  "c",
  "s",
] as const;
/** Position of the first column (kind) in V2_FIELDS. */
const V2_COL0 = 4;

/** A column must end exactly where its bytes do. */
function whole(name: string, col: Uint8Array, p: number): void {
  if (p !== col.length)
    throw new BodyError(
      `event chunk column ${name} does not match the event count (${p < col.length ? `${col.length - p} bytes left over` : "ends early"})`,
    );
}

/** A format 2 body's string table and columns, its structure checked (not the columns' contents). */
interface V2Parts {
  table: string[];
  K: Uint8Array;
  CPU: Uint8Array;
  TID: Uint8Array;
  TIME: Uint8Array;
  A: Uint8Array;
  B: Uint8Array;
  C: Uint8Array;
  S: Uint8Array;
}

/** Unpacks a format 2 body and checks its structure (sets lastScale). Throws BodyError. */
function v2Parts(raw: Uint8Array, n: number, firstSeq: number): V2Parts {
  let doc: unknown;
  try {
    // Shape-checked first (msgpack-bounds.ts): a few bytes must not make the decoder allocate a lot or recurse deep.
    // The plain kind in one pass (msgpack-fast.ts: the same value, or undefined for the usual way).
    doc = unpackPlain(raw, EVENT_BODY_SHAPE) ?? unpackBounded(raw, EVENT_BODY_SHAPE);
  } catch {
    // msgpackr's messages may quote the data: say it in our words.
    throw new BodyError("event chunk body is not a msgpack document of the expected shape");
  }
  if (!Array.isArray(doc) || doc.length < V2_FIELDS.length)
    throw new BodyError(`event chunk body is not a msgpack array of at least ${V2_FIELDS.length} elements`);
  if (doc[0] !== firstSeq || doc[1] !== n) {
    throw new BodyError(
      `event chunk body says firstSeq ${shown(doc[0])} and n ${shown(doc[1])}, its frame ${firstSeq} and ${n}`,
    );
  }
  const scale: unknown = doc[2];
  if (typeof scale !== "number" || !Number.isSafeInteger(scale) || scale < 1)
    throw new BodyError("event chunk body has no valid timeScale");
  lastScale = scale;
  const table: unknown = doc[3];
  if (!Array.isArray(table)) throw new BodyError("event chunk body's strings is not an array of strings");
  for (let j = 0; j < table.length; j++)
    if (typeof table[j] !== "string") throw new BodyError("event chunk body's strings is not an array of strings");
  for (let i = V2_COL0; i < V2_FIELDS.length; i++) {
    if (!(doc[i] instanceof Uint8Array)) throw new BodyError(`event chunk body's column ${V2_FIELDS[i]} is not bin`);
  }
  return {
    table: table as string[],
    K: doc[4] as Uint8Array,
    CPU: doc[5] as Uint8Array,
    TID: doc[6] as Uint8Array,
    TIME: doc[7] as Uint8Array,
    A: doc[8] as Uint8Array,
    B: doc[9] as Uint8Array,
    C: doc[10] as Uint8Array,
    S: doc[11] as Uint8Array,
  };
}

/** Format 2: a msgpack array. Fills sc; returns the string table. */
function decodeV2(raw: Uint8Array, n: number, firstSeq: number, slots: SlotTable, sc: Scratch): string[] {
  const { table, K, CPU, TID, TIME, A, B, C, S } = v2Parts(raw, n, firstSeq);
  const scale = lastScale;
  whole("kind", K, readKinds(K, 0, n, firstSeq, slots, sc));
  const ka = nA,
    kb = nB,
    kc = nC,
    ks = nS;
  whole("cpu", CPU, readColumn(CPU, 0, sc.cpu, n));
  whole("tid", TID, readColumn(TID, 0, sc.tid, n));
  whole("time", TIME, readDeltas(TIME, 0, sc.time, n, scale));
  whole("a", A, readSlot(A, 0, sc.a, n, sc.ia, ka));
  whole("b", B, readSlot(B, 0, sc.b, n, sc.ib, kb));
  whole("c", C, readSlot(C, 0, sc.c, n, sc.ic, kc));
  whole("s", S, readStringIndexes(S, 0, n, sc.is, ks, sc.sIdx, table.length));
  return stringTable(table);
}

/** Elements of a format 3 side body: the side events' columns. */
export const SIDE_FIELDS = ["cpu", "tid", "a", "b", "c", "s"] as const;

/** A format 3 side body's columns, its structure checked. Throws BodyError. */
function sideParts(raw: Uint8Array): Uint8Array[] {
  let doc: unknown;
  try {
    doc = unpackPlain(raw, EVENT_BODY_SHAPE) ?? unpackBounded(raw, EVENT_BODY_SHAPE);
  } catch {
    throw new BodyError("event chunk side body is not a msgpack document of the expected shape");
  }
  if (!Array.isArray(doc) || doc.length < SIDE_FIELDS.length)
    throw new BodyError(`event chunk side body is not a msgpack array of at least ${SIDE_FIELDS.length} elements`);
  for (let i = 0; i < SIDE_FIELDS.length; i++)
    if (!(doc[i] instanceof Uint8Array))
      throw new BodyError(`event chunk side body's column ${SIDE_FIELDS[i]} is not bin`);
  return doc as Uint8Array[];
}

/** Format 3: the core body (format 2's array over the core events) and, unless null, the side body. Fills sc; returns the string table. */
function decodeV3(
  raw: Uint8Array,
  side: Uint8Array | null,
  n: number,
  firstSeq: number,
  slots: SlotTable,
  sc: Scratch,
): string[] {
  const { table, K, CPU, TID, TIME, A, B, C, S } = v2Parts(raw, n, firstSeq);
  const scale = lastScale;
  whole(
    "kind",
    K,
    side === null ? readKindsCore(K, 0, n, firstSeq, slots, sc) : readKinds3(K, 0, n, firstSeq, slots, sc),
  );
  const ce = nE,
    ka = nA,
    kb = nB,
    kc = nC,
    ks = nS;
  const de = sE,
    da = sA,
    db = sB,
    dc = sC,
    ds = sS;
  whole("time", TIME, readDeltas(TIME, 0, sc.time, n, scale));
  whole("cpu", CPU, readSlot(CPU, 0, sc.cpu, n, sc.ie, ce));
  whole("tid", TID, readSlot(TID, 0, sc.tid, n, sc.ie, ce));
  whole("a", A, readSlot(A, 0, sc.a, n, sc.ia, ka));
  whole("b", B, readSlot(B, 0, sc.b, n, sc.ib, kb));
  whole("c", C, readSlot(C, 0, sc.c, n, sc.ic, kc));
  whole("s", S, readStringIndexes(S, 0, n, sc.is, ks, sc.sIdx, table.length));
  if (side !== null) {
    const [SC, ST, SA, SB, SCC, SS] = sideParts(side) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    whole("side cpu", SC, readListed(SC, 0, sc.cpu, sc.je, de));
    whole("side tid", ST, readListed(ST, 0, sc.tid, sc.je, de));
    whole("side a", SA, readListed(SA, 0, sc.a, sc.ja, da));
    whole("side b", SB, readListed(SB, 0, sc.b, sc.jb, db));
    whole("side c", SCC, readListed(SCC, 0, sc.c, sc.jc, dc));
    whole("side s", SS, readStringIndexes(SS, 0, n, sc.js, ds, sc.sIdx, table.length, false));
  }
  return stringTable(table);
}

/** The columns' string table: "" then the body's strings. */
function stringTable(table: readonly string[]): string[] {
  const strings: string[] = new Array(table.length + 1);
  strings[0] = "";
  for (let j = 0; j < table.length; j++) strings[j + 1] = table[j]!;
  return strings;
}

/** Materializes KEvent objects from decoded columns. */
export function columnsToEvents(cols: EventColumns): KEvent[] {
  const { n, firstSeq, kind, cpu, tid, time, a, b, c, sIdx, strings } = cols;
  if (cols.pending != null) for (let i = 0; i < n && cols.pending != null; i++) needSide(cols, i);
  const out: KEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      seq: firstSeq + i,
      time: time[i]!,
      cpu: cpu[i]!,
      tid: tid[i]!,
      kind: kind[i]!,
      a: a[i]!,
      b: b[i]!,
      c: c[i]!,
      s: strings[sIdx[i]!]!,
    };
  }
  return out;
}

/**
 * Copies event i of decoded columns into `ev` (reusing the object): for scans
 * that fold events one at a time without allocating a KEvent per event.
 */
export function fillEvent(cols: EventColumns, i: number, ev: KEvent): KEvent {
  if (cols.pending != null) needSide(cols, i);
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
