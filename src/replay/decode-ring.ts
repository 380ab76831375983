// The scan pipeline's ring (`ktrace check` on two threads: parallel-scan.ts):
// a decode worker (decode-worker.ts) reads, checks, inflates and decodes the
// trace's event chunks in order, ahead of this thread, into a few slots of
// shared memory; this thread folds and checks the events, taking each
// chunk's columns from the ring instead of decoding it (RingSource, a
// ReplaySource whose readColumns does that). The scan itself is the serial
// one (scan.ts): only where its columns come from differs, so its answer is
// the serial scan's by construction.
//
// The columns in a slot are the reader's own (the worker decodes with the
// same reader code, into the slot's arrays), so they are those this thread
// would decode. Whenever the ring does not hold the chunk asked for (the
// worker has not started yet, the scan jumped, the worker met damage, a
// chunk or its strings do not fit a slot, the worker ended), this thread
// decodes the chunk itself through the source, as without the ring: a
// damaged chunk is then found by this thread's reader, with today's errors,
// gaps and messages. After such a miss the worker is told to go on from the
// next chunk.
//
// Handoff, through Int32 words of the shared buffer (CTRL): the worker
// fills slot PROD % SLOTS and then advances PROD; this thread reads slot
// CONS % SLOTS, holds it while the scan uses its columns (until the next
// readColumns) and then advances CONS. The worker waits (Atomics.wait) while
// PROD - CONS = SLOTS, until half the ring is free (a notify costs a lock
// and a wake-up: one per SLOTS / 2 chunks); this thread waits while the
// worker is about to produce the chunk it wants. A side raises its flag (workerWaits,
// scanWaits) before it waits and the other notifies only when the flag is
// up (a store, then a load of the other's word, on both sides: one of them
// sees the other's); Atomics.wait checks the word it waits on, so a wake-up
// is not lost. A restart (a miss) bumps GEN with the chunk to
// go on from: slots of an older generation are dropped unread. The worker
// says it runs (STATE) and, from a finally, that it ended: this thread never
// waits for a worker that has not started or has ended, and stops waiting
// for one that made no progress for STALL_MS (then it decodes every chunk
// itself). Nothing here can change an answer: at worst a chunk is decoded
// twice, once on each thread.

import type { EventColumns } from "../trace/event-codec.ts";
import type { TraceSource } from "./source.ts";
import { WrappedSource } from "./wrapped-source.ts";

/** Slots in the ring: the worker decodes up to SLOTS - 1 chunks ahead of the one the scan holds. */
export const SLOTS = 8;
/** UTF-16 code units of a chunk's string table a slot holds (each string: its length in two units, then its units); a larger table is decoded by the scan's thread. */
export const SLOT_UNITS = 1 << 15;
/** The scan stops waiting for a worker that made no progress for this long (then decodes every chunk itself). */
export const STALL_MS = 2000;

/** Int32 words at the start of the buffer. */
export const CTRL = {
  /** Generation: bumped by this thread at each restart. */
  gen: 0,
  /** The chunk the worker goes on from in generation GEN. */
  start: 1,
  /** The generation the worker produces under, and the chunk it decodes next there. */
  wgen: 2,
  next: 3,
  /** Slots produced and consumed so far. */
  prod: 4,
  cons: 5,
  /** The worker's state: 0 starting, 1 running, 2 ended. */
  state: 6,
  /** Set by this thread: the worker is to end. */
  stop: 7,
  /** Chunks the worker decoded, and those it left to this thread (damage, too large). */
  decoded: 8,
  left: 9,
  /** Set while the worker waits for a free slot, and while this thread waits for a slot: only then is the other side's notify needed (it costs a lock). */
  workerWaits: 10,
  scanWaits: 11,
  words: 16,
} as const;

/** Per-slot Int32 header words. */
export const HEAD = { gen: 0, ci: 1, status: 2, n: 3, strings: 4, units: 5, words: 8 } as const;
/** A slot's status: its columns are there, or this thread is to decode the chunk itself. */
export const SLOT_OK = 1;
export const SLOT_SELF = 2;

/** Byte layout of the ring for chunks of up to `cap` events. */
export function ringLayout(cap: number) {
  const ctrlBytes = CTRL.words * 4;
  const headBytes = SLOTS * HEAD.words * 4;
  const seqBytes = SLOTS * 8;
  // Per slot: six Float64 columns, kind and sIdx (4 bytes each), the string units; each part 8-aligned.
  const f64 = cap * 8;
  const i32 = (cap * 4 + 7) & ~7;
  const units = SLOT_UNITS * 2;
  const slotBytes = 6 * f64 + 2 * i32 + units;
  const base = ctrlBytes + headBytes + seqBytes;
  return { cap, ctrlBytes, headBytes, seqBytes, f64, i32, slotBytes, base, total: base + SLOTS * slotBytes };
}

/** The arrays of one slot, over the shared buffer: a chunk's columns, and its string table's units. */
export type SlotArrays = Pick<EventColumns, "cpu" | "tid" | "time" | "a" | "b" | "c" | "kind" | "sIdx"> & {
  units: Uint16Array;
};

/** Views of the ring in `buf` (made by either side). */
export function ringViews(buf: SharedArrayBuffer, cap: number) {
  const L = ringLayout(cap);
  const ctrl = new Int32Array(buf, 0, CTRL.words);
  const head = new Int32Array(buf, L.ctrlBytes, SLOTS * HEAD.words);
  const firstSeq = new Float64Array(buf, L.ctrlBytes + L.headBytes, SLOTS);
  const slots: SlotArrays[] = [];
  for (let s = 0; s < SLOTS; s++) {
    let o = L.base + s * L.slotBytes;
    const f = () => {
      const x = new Float64Array(buf, o, cap);
      o += L.f64;
      return x;
    };
    const cpu = f(),
      tid = f(),
      time = f(),
      a = f(),
      b = f(),
      c = f();
    const kind = new Int32Array(buf, o, cap);
    o += L.i32;
    const sIdx = new Uint32Array(buf, o, cap);
    o += L.i32;
    const units = new Uint16Array(buf, o, SLOT_UNITS);
    slots.push({ cpu, tid, time, a, b, c, kind, sIdx, units });
  }
  return { ctrl, head, firstSeq, slots };
}

/** Writes a string table into a slot's units; the units used, or -1 when it does not fit. */
export function putStrings(strings: readonly string[], units: Uint16Array): number {
  let p = 0;
  for (let j = 0; j < strings.length; j++) {
    const s = strings[j]!;
    const len = s.length;
    if (p + 2 + len > units.length) return -1;
    units[p++] = len & 0xffff;
    units[p++] = len >>> 16;
    for (let i = 0; i < len; i++) units[p++] = s.charCodeAt(i);
  }
  return p;
}

/** Counters of a pipelined scan, for notes and benches. */
export interface RingStats {
  /** Chunks the scan took from the ring, and those it decoded itself (and why, counted). */
  fromRing: number;
  self: number;
  /** Of `self`: the worker left them to this thread (damage, a chunk or table too large for a slot). */
  left: number;
  /** Restarts of the worker (a miss: the worker not started, or a jump). */
  restarts: number;
  /** Wall ms this thread waited for the worker, and times it waited. */
  waitMs: number;
  waits: number;
  /** Times this thread woke the worker (waiting for half the ring: see workerWaits). */
  notifies: number;
  /** Why the ring was given up, if it was (the worker ended, or stalled). */
  abandoned: string | null;
}

/**
 * A ReplaySource over `src` (a trace source) whose readColumns takes chunks
 * from the ring the decode worker fills (see the file comment); everything
 * else is src's.
 */
export class RingSource extends WrappedSource<TraceSource> {
  readonly stats: RingStats = {
    fromRing: 0,
    self: 0,
    left: 0,
    restarts: 0,
    waitMs: 0,
    waits: 0,
    notifies: 0,
    abandoned: null,
  };
  private readonly ctrl: Int32Array;
  private readonly head: Int32Array;
  private readonly firstSeqs: Float64Array;
  private readonly slots: SlotArrays[];
  /** One columns object per slot, reused (the arrays are the slot's, or subarrays of them for a short chunk). */
  private readonly cols: EventColumns[];
  private gen = 0;
  private cons = 0;
  /** The slot position (cons) the scan holds, and its chunk; -1: none. */
  private heldCi = -1;
  private dead = false;
  /** The last string table read, as units and as strings: chunks mostly repeat their table. */
  private lastUnits = new Uint16Array(0);
  private lastStrings: string[] = [""];

  constructor(
    src: TraceSource,
    buf: SharedArrayBuffer,
    readonly cap: number,
    /** How long a worker may make no progress before this thread decodes every chunk itself (tests: Infinity). */
    private readonly stallMs = STALL_MS,
  ) {
    super(src);
    const v = ringViews(buf, cap);
    this.ctrl = v.ctrl;
    this.head = v.head;
    this.firstSeqs = v.firstSeq;
    this.slots = v.slots;
    this.cols = v.slots.map((s) => ({
      firstSeq: 0,
      n: cap,
      kind: s.kind,
      cpu: s.cpu,
      tid: s.tid,
      time: s.time,
      a: s.a,
      b: s.b,
      c: s.c,
      sIdx: s.sIdx,
      strings: [""],
      pending: null,
    }));
  }

  get meta() {
    return this.src.meta;
  }
  get outcome() {
    return this.src.outcome;
  }
  columns(i: number): EventColumns {
    return this.src.columns(i);
  }
  /** Tells the worker to end (it does at its next chunk or wait). */
  stop(): void {
    Atomics.store(this.ctrl, CTRL.stop, 1);
    Atomics.notify(this.ctrl, CTRL.gen);
    Atomics.notify(this.ctrl, CTRL.cons);
  }
  override close(): void {
    this.stop();
    super.close();
  }

  /** Columns of chunk i: from the ring when it holds them, else decoded here (see the file comment). */
  readColumns(i: number): EventColumns {
    const held = this.heldCi;
    if (held >= 0) {
      // The scan asks for the chunk it holds again (a range cut inside it): its slot is still unread by the worker.
      if (held === i) return this.cols[this.cons % SLOTS]!;
      this.advance();
    }
    if (!this.dead) {
      const c = this.fromRing(i);
      if (c !== null) return c;
    }
    this.stats.self++;
    return this.src.readColumns(i);
  }

  /** The slot at cons is read: the worker may fill it again. */
  private advance(): void {
    this.heldCi = -1;
    Atomics.store(this.ctrl, CTRL.cons, ++this.cons);
    // A waiting worker waits for half the ring (see workerWaits): one wake-up per SLOTS / 2 chunks, not per chunk.
    if (
      Atomics.load(this.ctrl, CTRL.workerWaits) !== 0 &&
      Atomics.load(this.ctrl, CTRL.prod) - this.cons <= SLOTS / 2
    ) {
      this.stats.notifies++;
      Atomics.notify(this.ctrl, CTRL.cons);
    }
  }

  private fromRing(i: number): EventColumns | null {
    const ctrl = this.ctrl;
    const head = this.head;
    let waited = 0;
    for (;;) {
      const prod = Atomics.load(ctrl, CTRL.prod);
      // Drop the slots of an older generation or of chunks before i (the scan skipped them).
      while (this.cons < prod) {
        const h = (this.cons % SLOTS) * HEAD.words;
        if (head[h + HEAD.gen] === this.gen && head[h + HEAD.ci]! >= i) break;
        this.advance();
      }
      if (this.cons < prod) {
        const s = this.cons % SLOTS;
        const h = s * HEAD.words;
        if (head[h + HEAD.ci] !== i) return this.restart(i);
        // A slot that is not this source's chunk i (the file changed under the worker?) is decoded here too.
        const n = head[h + HEAD.n]!;
        const first = this.src.chunkFirstSeqs[i]!;
        const end = i + 1 < this.src.chunkFirstSeqs.length ? this.src.chunkFirstSeqs[i + 1]! : this.src.eventCount;
        if (head[h + HEAD.status] !== SLOT_OK || this.firstSeqs[s] !== first || n !== end - first) {
          // Damage, or too large for a slot: decoded here (the worker goes on with the next chunk).
          this.stats.left++;
          this.advance();
          return null;
        }
        this.heldCi = i;
        this.stats.fromRing++;
        return this.columnsOf(s);
      }
      // The ring is empty: wait when the worker is about to decode chunk i, else decode it here.
      const state = Atomics.load(ctrl, CTRL.state);
      if (state === 2) {
        this.dead = true;
        this.stats.abandoned = "the decode worker ended";
        return null;
      }
      const next = Atomics.load(ctrl, CTRL.next);
      if (state !== 1 || Atomics.load(ctrl, CTRL.wgen) !== this.gen || next > i || i - next >= SLOTS)
        return this.restart(i);
      const t0 = performance.now();
      // Flag, then wait while nothing came (the worker reads the flag after publishing: see workerWaits).
      Atomics.store(ctrl, CTRL.scanWaits, 1);
      const r = Atomics.wait(ctrl, CTRL.prod, prod, 100);
      Atomics.store(ctrl, CTRL.scanWaits, 0);
      const dt = performance.now() - t0;
      this.stats.waitMs += dt;
      this.stats.waits++;
      if (r === "timed-out" && Atomics.load(ctrl, CTRL.next) === next) {
        waited += dt;
        if (waited > this.stallMs) {
          this.dead = true;
          this.stats.abandoned = `the decode worker made no progress for ${this.stallMs} ms`;
          this.stop();
          return null;
        }
      } else waited = 0;
    }
  }

  /** A miss at chunk i: decoded here; the worker drops what it has and goes on from i + 1. */
  private restart(i: number): null {
    this.stats.restarts++;
    const ctrl = this.ctrl;
    this.gen++;
    Atomics.store(ctrl, CTRL.start, i + 1);
    Atomics.store(ctrl, CTRL.gen, this.gen);
    Atomics.notify(ctrl, CTRL.gen);
    // Every slot produced so far is of an older generation now: dropped.
    this.cons = Atomics.load(ctrl, CTRL.prod);
    Atomics.store(ctrl, CTRL.cons, this.cons);
    Atomics.notify(ctrl, CTRL.cons);
    return null;
  }

  /** The columns in slot s (its columns object, updated). */
  private columnsOf(s: number): EventColumns {
    const head = this.head;
    const h = s * HEAD.words;
    const n = head[h + HEAD.n]!;
    const c = this.cols[s]!;
    const sl = this.slots[s]!;
    c.firstSeq = this.firstSeqs[s]!;
    if (n !== c.n) {
      const full = n === this.cap;
      c.n = n;
      c.kind = full ? sl.kind : sl.kind.subarray(0, n);
      c.cpu = full ? sl.cpu : sl.cpu.subarray(0, n);
      c.tid = full ? sl.tid : sl.tid.subarray(0, n);
      c.time = full ? sl.time : sl.time.subarray(0, n);
      c.a = full ? sl.a : sl.a.subarray(0, n);
      c.b = full ? sl.b : sl.b.subarray(0, n);
      c.c = full ? sl.c : sl.c.subarray(0, n);
      c.sIdx = full ? sl.sIdx : sl.sIdx.subarray(0, n);
    }
    c.strings = this.stringsOf(sl.units, head[h + HEAD.strings]!, head[h + HEAD.units]!);
    // The worker decoded the core only (format 3): side kinds' fields are filled here when read.
    c.pending = this.src.reader.sideFill;
    return c;
  }

  /** The string table in `units` (count strings, used units): the last one's array when the units are the same. */
  private stringsOf(units: Uint16Array, count: number, used: number): string[] {
    const last = this.lastUnits;
    if (used === last.length && count === this.lastStrings.length) {
      let same = true;
      for (let k = 0; k < used; k++)
        if (units[k] !== last[k]) {
          same = false;
          break;
        }
      if (same) return this.lastStrings;
    }
    const out: string[] = new Array(count);
    let p = 0;
    for (let j = 0; j < count; j++) {
      const len = units[p]! | (units[p + 1]! << 16);
      p += 2;
      out[j] = this.stringAt(units, p, len);
      p += len;
    }
    this.lastUnits = units.slice(0, used);
    this.lastStrings = out;
    return out;
  }

  /** Strings met before, by a hash of their units: a chunk's table mostly repeats names of earlier chunks. */
  private readonly known = new Map<number, string>();

  /** The string of units[p .. p+len): a known one when its units are the same, else a new one. */
  private stringAt(units: Uint16Array, p: number, len: number): string {
    let hash = 0x811c9dc5 ^ len;
    for (let q = p; q < p + len; q++) hash = Math.imul(hash ^ units[q]!, 0x01000193);
    const k = this.known.get(hash);
    if (k !== undefined && k.length === len) {
      let q = 0;
      while (q < len && k.charCodeAt(q) === units[p + q]) q++;
      if (q === len) return k;
    }
    let s = "";
    // In pieces: an argument list is bounded.
    for (let q = 0; q < len; q += 4096)
      s += String.fromCharCode.apply(null, units.subarray(p + q, p + Math.min(len, q + 4096)) as unknown as number[]);
    if (this.known.size >= 4096) this.known.clear();
    this.known.set(hash, s);
    return s;
  }
}
