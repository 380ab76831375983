// TraceRecords as bytes, to cross from the parse thread (parse-worker.ts) to the
// thread that maps them (read.ts): a batch of records is written by a
// RecordEncoder and read back by a RecordDecoder as records equal to the ones
// encoded (same properties, in the same order, same values: a string is the same
// sequence of UTF-16 units, a number the same double).
//
// Strings repeat (event names, comms, flags, field names, states): a string of at
// most TABLE_MAX_CHARS units is sent once and then by its number in a table both
// sides keep in step (cleared on both sides when it holds TABLE_SIZE strings: the
// encoder says so at the start of a batch). Longer strings are sent in place. So
// the decoder makes a string only for a value it has not seen, and memory on both
// sides is bounded by the table.
//
// Layout (little-endian): a batch is its record count (u32), a flags byte (1: the
// table was cleared before this batch), then per record: line, ts (f64), cpu, tid and
// pid (IDS and three i32s, pid -1 for none, when they are int32s, as ftrace's always
// are; else IDS_ANY and three values), comm, name, system, flags (value each), the field count (u32) and
// per field its key and value (or, for the fields of a payload form, fields.ts's
// FIELD_SHAPES, the shape's number and the values in its order). A value is a tag byte and its payload:
//   0 undefined; 1 a number (f64); 5 an integer that fits an int32 (i32); 2 a table
//   string (u32 index); 3 a new table string, 4 a string not kept (both: u32 length
//   in units, a byte saying whether it is Latin-1 (1 byte per unit) or UTF-16 (2),
//   the units).
// Integers are sent as i32 so that they are read back as the JIT's int32s: read
// as doubles (getFloat64), they stay doubles in every record, op and event made
// from them, and the code after (mapper, converter, reducer, encoder), compiled
// for int32, exits on them and is compiled again.

import { Buffer } from "node:buffer";
import { type Bytes, decode } from "./bytes.ts";
import type { Clock } from "./clock.ts";
import { FIELD_SHAPES, formHoles, matchPayloadForm, parsePayloadAt, SHAPE_OF_NAME } from "./fields.ts";
import { ftraceHead, scanFtraceHead } from "./ftrace.ts";
import type { FieldValue, TraceRecord } from "./record.ts";

/** Strings the table holds before both sides clear it. */
export const TABLE_SIZE = 1 << 16;
/** Longest string (UTF-16 units) kept in the table; longer ones are sent each time. */
export const TABLE_MAX_CHARS = 64;

const UNDEF = 0;
const NUM = 1;
const REF = 2;
const NEW = 3;
const LONE = 4;
const INT = 5;
/** A record's cpu, tid and pid: three i32s (pid -1 for none) / three values. */
const IDS = 6;
const IDS_ANY = 7;

/** An integer an i32 holds exactly (not -0, which an i32 would make 0). */
const isI32 = (x: number) => (x | 0) === x && (x !== 0 || 1 / x > 0);

/** Longest byte range kept in the byte-keyed table. */
const TABLE_MAX_BYTES = 48;
/** Slots of the byte-keyed table (open addressing; twice TABLE_SIZE). */
const SLOTS = 2 * TABLE_SIZE;

export class RecordEncoder {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private at = 0;
  private count = 0;
  /** The table: strings by index, and the index of each string (for records) and of each byte range (for ftrace lines). */
  private readonly strs: string[] = [];
  private readonly byString = new Map<string, number>();
  private readonly slots = new Int32Array(SLOTS); // index + 1, 0 free
  private readonly pool = new Uint8Array(TABLE_SIZE * TABLE_MAX_BYTES);
  private readonly poolLength = new Int32Array(TABLE_SIZE).fill(-1);
  private readonly head = ftraceHead();

  /** Starts a batch (clearing the table, on both sides, when it is half full). */
  begin(): void {
    let flags = 0;
    if (this.strs.length >= TABLE_SIZE / 2) {
      this.strs.length = 0;
      this.byString.clear();
      this.slots.fill(0);
      this.poolLength.fill(-1);
      flags = 1;
    }
    this.at = 0;
    this.count = 0;
    this.room(5);
    this.buf[4] = flags;
    this.at = 5;
  }

  /** The batch's bytes (valid until the next begin). */
  take(): Uint8Array {
    this.view.setUint32(0, this.count, true);
    return this.buf.subarray(0, this.at);
  }

  /** Adds a record to the batch. */
  record(r: TraceRecord): void {
    this.count++;
    this.room(16);
    const v = this.view;
    const at = this.at;
    v.setFloat64(at, r.line, true);
    v.setFloat64(at + 8, r.ts, true);
    this.at = at + 16;
    this.ids(r.cpu, r.tid, r.pid);
    this.str(r.comm);
    this.str(r.name);
    this.value(r.system);
    this.value(r.flags);
    this.fields(r.name, r.fields);
  }

  /**
   * Adds the record of ftrace line buf[s, e) from its bytes (scanFtraceHead, the
   * payload form's holes): the record scanFtrace makes, without making it. Returns
   * its time, or NaN for a line it leaves to the reader: one scanFtraceHead does not
   * read (the clock then is as it was), or a `lost_events` event (the reader counts it).
   */
  ftraceLine(buf: Bytes, s: number, e: number, line: number, clock: Clock): number {
    const h = this.head;
    if (!scanFtraceHead(buf, s, e, clock, h)) return NaN;
    const nameId = this.find(buf, h.nameStart, h.nameEnd);
    const name = nameId >= 0 ? this.strs[nameId]! : decode(buf, h.nameStart, h.nameEnd);
    if (name === "lost_events") return NaN;
    this.count++;
    this.room(16);
    const v = this.view;
    const at = this.at;
    v.setFloat64(at, line, true);
    v.setFloat64(at + 8, h.ts, true);
    this.at = at + 16;
    this.ids(h.cpu, h.tid, h.pid < 0 ? undefined : h.pid);
    this.strAt(buf, h.commStart, h.commEnd);
    if (nameId >= 0) this.ref(nameId);
    else this.strAt(buf, h.nameStart, h.nameEnd);
    if (h.systemStart < 0) this.value(undefined);
    else this.strAt(buf, h.systemStart, h.systemEnd);
    if (h.flagsStart < 0) this.value(undefined);
    else this.strAt(buf, h.flagsStart, h.flagsEnd);
    const shape = matchPayloadForm(name, buf, h.payload, e);
    if (shape < 0) {
      this.fields(name, parsePayloadAt(name, buf, h.payload, e));
      return h.ts;
    }
    this.room(1);
    this.buf[this.at++] = shape + 1;
    const n = FIELD_SHAPES[shape]!.keys.length;
    for (let k = 0; k < n; k++) {
      const x = formHoles.number(shape, k, buf);
      if (!Number.isNaN(x)) this.value(x);
      else if (formHoles.decoded(shape, k)) this.units(LONE, decode(buf, formHoles.start(k), formHoles.end(k)));
      else this.strAt(buf, formHoles.start(k), formHoles.end(k));
    }
    return h.ts;
  }

  private fields(name: string, f: Record<string, FieldValue>): void {
    // A payload form's fields (the usual case): the form's number and the values, without names.
    const shape = SHAPE_OF_NAME.get(name);
    if (shape !== undefined && hasKeys(f, FIELD_SHAPES[shape]!.keys)) {
      this.room(1);
      this.buf[this.at++] = shape + 1;
      for (const k in f) this.value(f[k]);
      return;
    }
    this.room(5);
    this.buf[this.at] = 0;
    const countAt = this.at + 1;
    this.at += 5;
    let n = 0;
    for (const k in f) {
      this.str(k);
      this.value(f[k]);
      n++;
    }
    this.view.setUint32(countAt, n, true);
  }

  /** cpu, tid and pid: IDS and three i32s (pid -1: none) when they are such integers (the usual case), else IDS_ANY and three values. */
  private ids(cpu: number, tid: number, pid: number | undefined): void {
    if (isI32(cpu) && isI32(tid) && (pid === undefined || (isI32(pid) && pid >= 0))) {
      this.room(13);
      const at = this.at;
      this.buf[at] = IDS;
      this.view.setInt32(at + 1, cpu, true);
      this.view.setInt32(at + 5, tid, true);
      this.view.setInt32(at + 9, pid === undefined ? -1 : pid, true);
      this.at = at + 13;
      return;
    }
    this.room(1);
    this.buf[this.at++] = IDS_ANY;
    this.value(cpu);
    this.value(tid);
    this.value(pid);
  }

  private value(x: FieldValue | undefined): void {
    if (typeof x === "string") this.str(x);
    else if (x === undefined) {
      this.room(1);
      this.buf[this.at++] = UNDEF;
    } else if (isI32(x)) {
      this.room(5);
      this.buf[this.at] = INT;
      this.view.setInt32(this.at + 1, x, true);
      this.at += 5;
    } else {
      this.room(9);
      this.buf[this.at] = NUM;
      this.view.setFloat64(this.at + 1, x, true);
      this.at += 9;
    }
  }

  private ref(id: number): void {
    this.room(5);
    this.buf[this.at] = REF;
    this.view.setUint32(this.at + 1, id, true);
    this.at += 5;
  }

  private str(s: string): void {
    if (s.length <= TABLE_MAX_CHARS) {
      const id = this.byString.get(s);
      if (id !== undefined) {
        this.ref(id);
        return;
      }
      if (this.strs.length < TABLE_SIZE) {
        this.byString.set(s, this.strs.length);
        this.strs.push(s);
        this.units(NEW, s);
        return;
      }
    }
    this.units(LONE, s);
  }

  /** The text of bytes buf[a, b) (as text() makes it), by its table index when the table has it. */
  private strAt(buf: Bytes, a: number, b: number): void {
    const n = b - a;
    if (n > TABLE_MAX_BYTES || n <= 0) {
      this.units(LONE, decode(buf, a, b));
      return;
    }
    const slot = this.slot(buf, a, b);
    const id = this.slots[slot]! - 1;
    if (id >= 0) {
      this.ref(id);
      return;
    }
    const s = decode(buf, a, b);
    if (this.strs.length >= TABLE_SIZE) {
      this.units(LONE, s);
      return;
    }
    const nid = this.strs.length;
    this.strs.push(s);
    this.slots[slot] = nid + 1;
    this.pool.set(buf.subarray(a, b), nid * TABLE_MAX_BYTES);
    this.poolLength[nid] = n;
    this.units(NEW, s);
  }

  /** The table index of bytes buf[a, b), or -1. */
  private find(buf: Bytes, a: number, b: number): number {
    const n = b - a;
    if (n > TABLE_MAX_BYTES || n <= 0) return -1;
    return this.slots[this.slot(buf, a, b)]! - 1;
  }

  /** The slot of bytes buf[a, b) (1 ≤ length ≤ TABLE_MAX_BYTES): theirs, or the free one where they go. */
  private slot(buf: Bytes, a: number, b: number): number {
    let h = 0x811c9dc5;
    for (let i = a; i < b; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const n = b - a;
    const slots = this.slots;
    const pool = this.pool;
    for (let k = (h ^ (h >>> 15)) & (SLOTS - 1); ; k = (k + 1) & (SLOTS - 1)) {
      const id = slots[k]! - 1;
      if (id < 0) return k;
      if (this.poolLength[id] !== n) continue;
      const p = id * TABLE_MAX_BYTES;
      let i = 0;
      while (i < n && pool[p + i] === buf[a + i]) i++;
      if (i === n) return k;
    }
  }

  /** Tag, length, width and the UTF-16 units of s (one byte each when all are below 256). */
  private units(tag: number, s: string): void {
    const n = s.length;
    let wide = false;
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 255) wide = true;
    this.room(6 + (wide ? 2 * n : n));
    const b = this.buf;
    let at = this.at;
    b[at] = tag;
    this.view.setUint32(at + 1, n, true);
    b[at + 5] = wide ? 2 : 1;
    at += 6;
    if (wide) for (let i = 0; i < n; i++, at += 2) this.view.setUint16(at, s.charCodeAt(i), true);
    else for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i);
    this.at = at;
  }

  private room(n: number): void {
    if (this.at + n > this.buf.length) this.grow(n);
  }

  /** room's slow path, apart so that room itself stays small enough to inline. */
  private grow(n: number): void {
    const b = new Uint8Array(Math.max(2 * this.buf.length, this.at + n));
    b.set(this.buf.subarray(0, this.at));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
}

/** Thrown for bytes that are not a batch RecordEncoder wrote (a bug: the bytes never leave the process). */
export class RecordCodecError extends Error {
  override name = "RecordCodecError";
}

/** True when f's own keys are `keys`, in that order. */
function hasKeys(f: Record<string, FieldValue>, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in f) if (k !== keys[i++]) return false;
  return i === keys.length;
}

export class RecordDecoder {
  private readonly table: string[] = [];
  private b: Uint8Array = new Uint8Array(0);
  /** The same bytes as a Buffer, for its Latin-1 decoding (native, and fast on every runtime). */
  private latin1: Buffer = Buffer.alloc(0);
  /** A form's values, handed to its maker (which copies them). */
  private readonly vals: FieldValue[] = [];
  private v: DataView = new DataView(new ArrayBuffer(0));
  private at = 0;
  private end = 0;

  /** The records of a batch's bytes, appended to `out`. */
  decode(bytes: Uint8Array, out: TraceRecord[]): void {
    this.b = bytes;
    this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.length;
    this.at = 0;
    this.need(5);
    const count = this.v.getUint32(0, true);
    if ((bytes[4]! & 1) !== 0) this.table.length = 0;
    this.at = 5;
    for (let i = 0; i < count; i++) {
      this.need(16);
      const v = this.v;
      const at = this.at;
      const line = v.getFloat64(at, true);
      const ts = v.getFloat64(at + 8, true);
      this.at = at + 16;
      let cpu: number;
      let tid: number;
      let pid: number | undefined;
      this.need(1);
      const ids = this.b[this.at]!;
      if (ids === IDS) {
        this.need(13);
        cpu = v.getInt32(this.at + 1, true);
        tid = v.getInt32(this.at + 5, true);
        const p = v.getInt32(this.at + 9, true);
        pid = p < 0 ? undefined : p;
        this.at += 13;
      } else {
        if (ids !== IDS_ANY) throw new RecordCodecError(`a record batch has ids of tag ${ids}`);
        this.at++;
        cpu = this.value() as number;
        tid = this.value() as number;
        pid = this.value() as number | undefined;
      }
      const comm = this.str();
      const name = this.str();
      const system = this.optStr();
      const flags = this.optStr();
      this.need(1);
      const shape = this.b[this.at++]!;
      let fields: Record<string, FieldValue>;
      if (shape > 0) {
        const sh = FIELD_SHAPES[shape - 1];
        if (sh === undefined) throw new RecordCodecError(`a record batch names field shape ${shape}`);
        const vals = this.vals;
        for (let k = 0; k < sh.keys.length; k++) vals[k] = this.value() as FieldValue;
        fields = sh.make(vals);
      } else {
        this.need(4);
        const n = this.v.getUint32(this.at, true);
        this.at += 4;
        fields = {};
        for (let k = 0; k < n; k++) {
          const key = this.value() as string;
          fields[key] = this.value() as FieldValue;
        }
      }
      // As newRecord builds it: every property, in one order.
      out.push({ line, ts, cpu, comm, tid, pid, name, system, fields, flags });
    }
    if (this.at !== this.end) throw new RecordCodecError(`a record batch has ${this.end - this.at} bytes too many`);
  }

  /** A string value (REF, NEW, LONE). */
  private str(): string {
    this.need(5);
    if (this.b[this.at] === REF) return this.ref();
    const s = this.value();
    if (typeof s !== "string") throw new RecordCodecError("a record batch has a number for a string");
    return s;
  }

  /** A string value or UNDEF. */
  private optStr(): string | undefined {
    this.need(1);
    const tag = this.b[this.at];
    if (tag === UNDEF) {
      this.at++;
      return undefined;
    }
    return this.str();
  }

  private ref(): string {
    const s = this.table[this.v.getUint32(this.at + 1, true)];
    if (s === undefined) throw new RecordCodecError("a record batch names a string it never sent");
    this.at += 5;
    return s;
  }

  private value(): FieldValue | undefined {
    this.need(1);
    const tag = this.b[this.at]!;
    if (tag === REF) {
      this.need(5);
      return this.ref();
    }
    if (tag === INT) {
      this.need(5);
      const x = this.v.getInt32(this.at + 1, true);
      this.at += 5;
      return x;
    }
    if (tag === NUM) {
      this.need(9);
      const x = this.v.getFloat64(this.at + 1, true);
      this.at += 9;
      return x;
    }
    if (tag === UNDEF) {
      this.at++;
      return undefined;
    }
    if (tag !== NEW && tag !== LONE) throw new RecordCodecError(`a record batch has a value of tag ${tag}`);
    this.need(6);
    const n = this.v.getUint32(this.at + 1, true);
    const width = this.b[this.at + 5]!;
    this.at += 6;
    this.need(n * width);
    let s = "";
    const a = this.at;
    if (width === 1)
      s = this.latin1.toString("latin1", a, a + n); // one unit per byte, 0..255: Latin-1 exactly
    else {
      const u = new Uint16Array(n);
      for (let i = 0; i < n; i++) u[i] = this.v.getUint16(a + 2 * i, true);
      for (let i = 0; i < n; i += 4096)
        s += String.fromCharCode.apply(null, u.subarray(i, Math.min(n, i + 4096)) as unknown as number[]);
    }
    this.at = a + n * width;
    if (tag === NEW) this.table.push(s);
    return s;
  }

  private need(n: number): void {
    if (this.at + n > this.end) throw new RecordCodecError("a record batch ends early");
  }
}
