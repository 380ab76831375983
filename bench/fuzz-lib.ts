// The fuzz harness's corpus, mutations and judge (bench/fuzz.ts drives it,
// bench/fuzz-worker.ts runs it). Everything is a function of (seed, input
// number), so any input can be rebuilt exactly: `bun bench/fuzz.ts --only N`.
//
// Bases: a few real traces. Each input is one base with one mutation:
//   bit flips, byte overwrites, truncation, length fields set to 0 / huge /
//   off by some, chunk prefixes (first seq, count, body length, snapshot seq)
//   set to 0 / huge / negative with the checksum recomputed, chunks deleted,
//   duplicated and reordered, index and footer corrupted (raw, and decoded,
//   changed and re-encoded with valid checksums), snapshots and events
//   changed with valid checksums (wrong types, missing fields, locks that do
//   not exist, unknown kinds, huge values), header meta changed with a valid
//   checksum, decompression bombs (event, snapshot and index bodies; the gzip
//   wrapper; a report's embedded block), and gzip / report wrappers around
//   any of these.
//
// Each mutation says what it makes untrustworthy (Trust): the judge compares
// every other answer with the base's ground truth. An answer that differs is
// a silent wrong answer. A raw mutation (checksums not recomputed) trusts
// nothing it changed: every event and state a command gives must be the
// base's. A mutation with valid checksums may change what the bytes say, so
// the judge skips what it touched (the chunk's events, the states up to the
// next snapshot, check's findings after it).

import { Buffer } from "node:buffer";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync, gzipSync, inflateRawSync } from "node:zlib";
import { Rng } from "../src/kernel/prng.ts";
import { simulate } from "../src/kernel/sim.ts";
import { initState } from "../src/kernel/state.ts";
import type { KEvent } from "../src/kernel/types.ts";
import { prepare } from "../src/record/index.ts";
import {
  Checker,
  Cursor,
  eventJson,
  firstViolation,
  INVARIANTS,
  openSource,
  stateView,
  walk,
} from "../src/replay/index.ts";
import { ByteWriter, concatBytes } from "../src/trace/bytes.ts";
import { crc32, deflate as deflateAt, SNAPSHOT_LEVEL } from "../src/trace/compress.ts";
import { embedTrace, gzipTrace } from "../src/trace/embed-write.ts";
import { ChunkBuilder, columnsToEvents, slotTable } from "../src/trace/event-codec.ts";
import {
  CHUNK_EVENTS,
  CHUNK_INDEX,
  CHUNK_SNAPSHOT,
  encodeFooter,
  FLAG_DEFLATE,
  FOOTER_SIZE,
  FRAME_HEADER,
  frameHeader,
  HEADER_FIXED,
  packr,
  readU32,
} from "../src/trace/format.ts";
import { openTrace, TraceWriter } from "../src/trace/index.ts";

// ---- bases and their ground truth ----

export interface Frame {
  off: number;
  end: number;
  type: number;
  /** Event chunk: seqs [first, first + n); snapshot: seq in first. */
  first: number;
  n: number;
}

export interface Base {
  name: string;
  bytes: Uint8Array;
  headerEnd: number;
  frames: Frame[];
  events: number;
  snapshotSeqs: number[];
  /** eventJson of each event without desc, as JSON text. */
  eventText: string[];
  outcome: { kind: string; seq: number; message: string } | null;
  /** "seq invariant" of every event where an invariant breaks. */
  violations: Set<string>;
  firstViolation: number | null;
  /** The invariant of firstViolation. */
  firstInvariant: string | null;
  /** stateView JSON at a seq (memoized). */
  stateAt(seq: number): string;
}

/** eventJson without its description (which depends on how much state is known). */
export function eventKey(j: {
  seq: number;
  time: number;
  cpu: number;
  tid: number;
  kind: string;
  args: unknown;
}): string {
  return JSON.stringify([j.seq, j.time, j.cpu, j.tid, j.kind, j.args]);
}

function framesOf(b: Uint8Array, headerEnd: number): Frame[] {
  const r = openTrace(b);
  const out: Frame[] = [];
  let ev = 0;
  let sn = 0;
  for (let off = headerEnd; off < b.length - FOOTER_SIZE; ) {
    const end = off + FRAME_HEADER + readU32(b, off + 4);
    const type = b[off]!;
    if (type === CHUNK_EVENTS) {
      out.push({ off, end, type, first: r.chunkFirstSeqs[ev]!, n: r.chunkCounts[ev]! });
      ev++;
    } else if (type === CHUNK_SNAPSHOT) out.push({ off, end, type, first: r.snapshotSeqs[sn++]!, n: 0 });
    else out.push({ off, end, type, first: -1, n: 0 });
    off = end;
  }
  return out;
}

export function makeBase(name: string, bytes: Uint8Array): Base {
  const headerEnd = HEADER_FIXED + readU32(bytes, 12) + 4;
  const src = openSource(bytes);
  const eventText: string[] = [];
  const violations = new Set<string>();
  const ck = new Checker(INVARIANTS);
  walk(src, 0, src.eventCount - 1, {
    before: (ev, st) => {
      const v = ck.before(st, ev);
      if (v) violations.add(`${v.seq} ${v.invariant}`);
    },
    event: (ev, st) => {
      eventText.push(eventKey(eventJson(ev)));
      const v = st ? ck.after(st, ev) : null;
      if (v) violations.add(`${v.seq} ${v.invariant}`);
    },
  });
  // The first violation as check reports it (before-hooks win on the same event).
  const fv = firstViolation(src).violation;
  const first = fv ? fv.seq : null;
  if (fv) violations.add(`${fv.seq} ${fv.invariant}`);
  const cursor = new Cursor(src);
  const states = new Map<number, string>();
  return {
    name,
    bytes,
    headerEnd,
    frames: framesOf(bytes, headerEnd),
    events: src.eventCount,
    snapshotSeqs: [...src.snapshotSeqs],
    eventText,
    outcome: src.outcome,
    violations,
    firstViolation: first,
    firstInvariant: fv ? fv.invariant : null,
    stateAt(seq: number): string {
      let s = states.get(seq);
      if (s === undefined) {
        cursor.seek(seq);
        s = JSON.stringify(stateView(cursor.state));
        states.set(seq, s);
      }
      return s;
    },
  };
}

/** The bases: committed traces, and one recorded here with several chunks per snapshot interval. */
export async function loadBases(root: string): Promise<Base[]> {
  const file = (p: string) => new Uint8Array(readFileSync(join(root, p)));
  const bases = [
    makeBase("good", file("fixtures/traces/good.ktrace")),
    makeBase("tcmalloc", file("traces/tcmalloc-fork.ktrace")),
    makeBase("asterinas", file("traces/asterinas-procfs.ktrace")),
    makeBase("cpython", file("traces/cpython-fork-serenity.ktrace")),
  ];
  const p = await prepare({ target: "stress", seed: 3, maxEvents: 1500 });
  const path = join(mkdtempSync(join(tmpdir(), "ktrace-fuzz-base-")), "chunks.ktrace");
  const w = TraceWriter.create(
    path,
    {
      scenario: "stress",
      fix: "",
      seed: 3,
      options: {},
      config: p.world.config,
      writer: "ktrace fuzz",
      snapshotEvery: 600,
      maxEvents: 1500,
    },
    initState(p.world.config),
    { snapshotEvery: 600, chunkEvents: 250 },
  );
  const st = simulate(p.world, { seed: 3, maxEvents: 1500 }, (ev, s) => w.append(ev, s));
  w.finish({ outcome: st.outcome });
  bases.push(makeBase("chunks", new Uint8Array(readFileSync(path))));
  return bases;
}

// ---- mutations ----

/** What a mutation makes untrustworthy; everything else must match the base. */
export interface Trust {
  /** Nothing is compared (the header's meta changed: the whole file reads differently). */
  none?: boolean;
  /** Event seqs whose events may differ. */
  events?: [number, number][];
  /** States at these seqs may differ. */
  states?: [number, number][];
  /** check's findings at or after this seq may differ (its fold went through changed content). */
  checkFrom?: number;
  /** The outcome and the counts the index states may differ. */
  index?: boolean;
  /** Events may be claimed beyond the base's count (changed prefixes). */
  moreEvents?: boolean;
}

export interface Input {
  bytes: Uint8Array;
  base: Base;
  /** What was done, e.g. "bitflip x2 @5301". */
  what: string;
  /** Mutation family, for the tallies. */
  kind: string;
  trust: Trust;
}

const HUGE = [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 + 1, 2 ** 53 - 1, 50_000_000, 65537, 4097];
const NEG = [-1, -2, -(2 ** 31), -(2 ** 40), -(2 ** 53) + 1];

const cat = concatBytes;

function frameOf(type: number, flags: number, payload: Uint8Array): Uint8Array {
  return cat(frameHeader(type, flags, payload), payload);
}

function varints(...xs: [kind: "u" | "s", v: number][]): Uint8Array {
  const w = new ByteWriter(64);
  for (const [k, v] of xs) {
    if (k === "u") w.uvar(v);
    else w.svar(v);
  }
  return w.toBytes();
}

function deflate(b: Uint8Array): Uint8Array {
  return deflateAt(b, SNAPSHOT_LEVEL);
}

/** The next snapshot seq at or after seq (or the last event). */
function nextSnap(base: Base, seq: number): number {
  for (const s of base.snapshotSeqs) if (s >= seq) return s;
  return base.events - 1;
}

/** Trust after changing event chunk f's content: its events, the states up to the next snapshot, check after it. */
function chunkTrust(base: Base, f: Frame, extra: Trust = {}): Trust {
  const last = f.first + f.n - 1;
  return { events: [[f.first, last]], states: [[f.first, nextSnap(base, last) - 1]], checkFrom: f.first, ...extra };
}

function snapTrust(base: Base, f: Frame): Trust {
  const next = base.snapshotSeqs.find((s) => s > f.first) ?? base.events;
  return { states: [[f.first, next - 1]], checkFrom: f.first < 0 ? -1 : f.first };
}

/** A format 3 event chunk's prefix (firstSeq, n, core and side body lengths, core stream length) and its two streams. */
function splitEvent(b: Uint8Array, f: Frame) {
  const p = b.subarray(f.off + FRAME_HEADER, f.end);
  const { v, at } = uvars(p, 5);
  return {
    first: v[0]!,
    n: v[1]!,
    rawLen: v[2]!,
    sideLen: v[3]!,
    coreZ: v[4]!,
    body: p.subarray(at),
    flags: b[f.off + 1]!,
  };
}

/** Reads uvars from p starting at `at`. */
function uvars(p: Uint8Array, count: number): { v: number[]; at: number } {
  const v: number[] = [];
  let at = 0;
  for (let k = 0; k < count; k++) {
    let x = 0;
    let mul = 1;
    for (;;) {
      const c = p[at++]!;
      x += (c & 0x7f) * mul;
      mul *= 128;
      if (c < 0x80) break;
    }
    v.push(x);
  }
  return { v, at };
}

/** A snapshot chunk's seq, body length and body. */
function splitSnap(b: Uint8Array, f: Frame) {
  const p = b.subarray(f.off + FRAME_HEADER, f.end);
  const { v, at } = uvars(p, 2);
  const z = v[0]!;
  return { seq: z % 2 === 0 ? z / 2 : -(z + 1) / 2, rawLen: v[1]!, body: p.subarray(at), flags: b[f.off + 1]! };
}

/** The index chunk's body length and body. */
function splitIndex(b: Uint8Array, f: Frame) {
  const p = b.subarray(f.off + FRAME_HEADER, f.end);
  const { v, at } = uvars(p, 1);
  return { rawLen: v[0]!, body: p.subarray(at) };
}

function replaceFrame(b: Uint8Array, f: Frame, frame: Uint8Array): Uint8Array {
  return cat(b.subarray(0, f.off), frame, b.subarray(f.end));
}

/** A random value of a random wrong shape, for changing decoded msgpack. */
function oddValue(r: Rng): unknown {
  const pick = r.below(10);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return "\x1b]0;x\x07";
    case 2:
      return HUGE[r.below(HUGE.length)];
    case 3:
      return NEG[r.below(NEG.length)];
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return 1.5;
    case 7:
      return true;
    case 8:
      return new Array(r.below(2000)).fill(0);
    default:
      return "x".repeat(r.below(100));
  }
}

/** Changes one random leaf, array or field of a decoded msgpack value in place; returns a path for the description. */
function poke(v: unknown, r: Rng, depth = 0): string {
  if (typeof v !== "object" || v === null) return "";
  const keys = Array.isArray(v) ? v.map((_, i) => String(i)) : Object.keys(v);
  if (keys.length === 0) return "";
  const k = keys[r.below(keys.length)]!;
  const obj = v as Record<string, unknown>;
  const child = obj[k];
  if (typeof child === "object" && child !== null && depth < 4 && r.below(3) > 0) {
    const deeper = poke(child, r, depth + 1);
    if (deeper) return `${k}.${deeper}`;
  }
  const op = r.below(4);
  if (op === 0 && !Array.isArray(v)) {
    delete obj[k];
    return `${k} deleted`;
  }
  if (op === 1 && typeof child === "number") {
    obj[k] = child + (r.below(2) ? 1 : -1) * (1 + r.below(3));
    return `${k}±`;
  }
  obj[k] = oddValue(r);
  return `${k}=odd`;
}

const msgpackBombs = new Map<string, { raw: number; compressed: Uint8Array }>();
/** msgpack bombs, made once per worker: kind 0 empty arrays, 1 nesting, 2 ints; n items. */
function msgpackBomb(kind: number, n: number): { raw: number; compressed: Uint8Array } {
  const key = `${kind} ${n}`;
  let b = msgpackBombs.get(key);
  if (b === undefined) {
    let body: Uint8Array;
    if (kind === 1) {
      body = new Uint8Array(n).fill(0x91);
      body[n - 1] = 0x90;
    } else {
      body = new Uint8Array(5 + n).fill(kind === 0 ? 0x90 : 0x00);
      body[0] = 0xdd;
      new DataView(body.buffer).setUint32(1, n, false);
    }
    b = { raw: body.length, compressed: deflateRawSync(body, { level: 1 }) };
    msgpackBombs.set(key, b);
  }
  return b;
}

/** Makes every bomb now, so that building them does not count in any input's peak memory. */
export function prepareBombs(): void {
  bomb();
  for (const kind of [0, 1, 2]) for (const n of [1 << 20, 4 << 20, 60 << 20]) msgpackBomb(kind, n);
}

let bombs: { eventBody: Uint8Array; gzipZeros: Uint8Array } | null = null;
function bomb() {
  bombs ??= {
    eventBody: deflateRawSync(new Uint8Array(48 << 20)),
    gzipZeros: gzipSync(new Uint8Array(96 << 20), { level: 9 }),
  };
  return bombs;
}

type Mutator = (base: Base, r: Rng) => Omit<Input, "base" | "kind"> | null;

const pickFrame = (base: Base, r: Rng, type?: number) => {
  const fs = type === undefined ? base.frames : base.frames.filter((f) => f.type === type);
  return fs.length ? fs[r.below(fs.length)]! : null;
};

const EXACT: Trust = {};

export const MUTATORS: Record<string, Mutator> = {
  bitflip(base, r) {
    const b = base.bytes.slice();
    const k = 1 + r.below(3);
    const at: number[] = [];
    for (let i = 0; i < k; i++) {
      const p = r.below(b.length);
      b[p]! ^= 1 << r.below(8);
      at.push(p);
    }
    return { bytes: b, what: `bitflip @${at.join(",")}`, trust: EXACT };
  },
  overwrite(base, r) {
    const b = base.bytes.slice();
    const p = r.below(b.length);
    const n = 1 + r.below(8);
    const special = [0x00, 0xff, 0x7f, 0x80];
    for (let i = p; i < Math.min(b.length, p + n); i++) b[i] = r.below(2) ? special[r.below(4)]! : r.below(256);
    return { bytes: b, what: `overwrite ${n} @${p}`, trust: EXACT };
  },
  truncate(base, r) {
    const cut = base.headerEnd + r.below(base.bytes.length - base.headerEnd);
    return { bytes: base.bytes.slice(0, cut), what: `truncate @${cut}`, trust: EXACT };
  },
  "frame-length"(base, r) {
    const f = pickFrame(base, r)!;
    const b = base.bytes.slice();
    const len = readU32(b, f.off + 4);
    const v = [0, 0xffffffff, len + 1, len - 1, r.below(2 ** 32), len * 2, 1 << 30][r.below(7)]! >>> 0;
    new DataView(b.buffer).setUint32(f.off + 4, v, true);
    return { bytes: b, what: `frame length ${len}->${v} @${f.off}`, trust: EXACT };
  },
  "frame-length-crc"(base, r) {
    // The length changed and the checksum recomputed over what it now covers.
    const f = pickFrame(base, r)!;
    const len = f.end - f.off - FRAME_HEADER;
    const nl = Math.max(
      0,
      Math.min(base.bytes.length - f.off - FRAME_HEADER, [len - 1, len - 7, len + 5, 3, 0][r.below(5)]!),
    );
    const payload = base.bytes.subarray(f.off + FRAME_HEADER, f.off + FRAME_HEADER + nl);
    const b = cat(
      base.bytes.subarray(0, f.off),
      frameHeader(f.type, base.bytes[f.off + 1]!, payload),
      base.bytes.subarray(f.off + FRAME_HEADER),
    );
    const t: Trust =
      f.type === CHUNK_EVENTS ? chunkTrust(base, f) : f.type === CHUNK_SNAPSHOT ? snapTrust(base, f) : { index: true };
    return { bytes: b, what: `frame length ${len}->${nl} with crc @${f.off}`, trust: t };
  },
  "event-prefix"(base, r) {
    const f = pickFrame(base, r, CHUNK_EVENTS);
    if (!f) return null;
    const s = splitEvent(base.bytes, f);
    const field = r.below(5);
    const v = r.below(3)
      ? HUGE[r.below(HUGE.length)]!
      : field === 0
        ? s.first + [1, -1, base.events, -s.first][r.below(4)]!
        : 0;
    const first = field === 0 ? Math.max(0, v) : s.first;
    const n = field === 1 ? v : s.n;
    const rawLen = field === 2 ? v : s.rawLen;
    const sideLen = field === 3 ? v : s.sideLen;
    const coreZ = field === 4 ? v : s.coreZ;
    const payload = cat(varints(["u", first], ["u", n], ["u", rawLen], ["u", sideLen], ["u", coreZ]), s.body);
    const b = replaceFrame(base.bytes, f, frameOf(CHUNK_EVENTS, s.flags, payload));
    const claimed: [number, number] = [first, first + Math.min(n, 2 ** 40) - 1];
    const t = chunkTrust(base, f, { moreEvents: true });
    t.events!.push(claimed);
    t.states!.push([Math.min(first, f.first), Number.MAX_SAFE_INTEGER]);
    t.checkFrom = Math.min(first, f.first);
    return {
      bytes: b,
      what: `event prefix ${["first", "n", "coreLen", "sideLen", "coreZ"][field]}=${v} with crc @${f.off}`,
      trust: t,
    };
  },
  "snapshot-seq"(base, r) {
    const f = pickFrame(base, r, CHUNK_SNAPSHOT)!;
    const s = splitSnap(base.bytes, f);
    const seq = r.below(2)
      ? NEG[r.below(NEG.length)]!
      : [HUGE[r.below(HUGE.length)]!, s.seq + 1, s.seq - 1, base.events][r.below(4)]!;
    const payload = cat(varints(["s", seq], ["u", s.rawLen]), s.body);
    const b = replaceFrame(base.bytes, f, frameOf(CHUNK_SNAPSHOT, s.flags, payload));
    return {
      bytes: b,
      what: `snapshot seq ${s.seq}->${seq} with crc @${f.off}`,
      trust: { states: [[-1, Number.MAX_SAFE_INTEGER]], checkFrom: -1, moreEvents: true },
    };
  },
  "chunk-delete"(base, r) {
    const f = pickFrame(base, r)!;
    return {
      bytes: cat(base.bytes.subarray(0, f.off), base.bytes.subarray(f.end)),
      what: `delete chunk type ${f.type} @${f.off}`,
      trust: EXACT,
    };
  },
  "chunk-duplicate"(base, r) {
    const f = pickFrame(base, r)!;
    const g = pickFrame(base, r)!;
    const frame = base.bytes.subarray(f.off, f.end);
    return {
      bytes: cat(base.bytes.subarray(0, g.end), frame, base.bytes.subarray(g.end)),
      what: `duplicate chunk @${f.off} after @${g.off}`,
      trust: EXACT,
    };
  },
  "chunk-swap"(base, r) {
    const a = pickFrame(base, r)!;
    const c = pickFrame(base, r)!;
    if (a === c) return null;
    const [x, y] = a.off < c.off ? [a, c] : [c, a];
    const b = cat(
      base.bytes.subarray(0, x.off),
      base.bytes.subarray(y.off, y.end),
      base.bytes.subarray(x.end, y.off),
      base.bytes.subarray(x.off, x.end),
      base.bytes.subarray(y.end),
    );
    return { bytes: b, what: `swap chunks @${x.off} @${y.off}`, trust: EXACT };
  },
  footer(base, r) {
    const b = base.bytes.slice();
    const at = b.length - FOOTER_SIZE;
    const crcFixed = r.below(2) === 0;
    const dv = new DataView(b.buffer);
    const field = r.below(3);
    const v = HUGE[r.below(HUGE.length)]!;
    if (field === 0) {
      dv.setUint32(at, v >>> 0, true);
      dv.setUint32(at + 4, Math.floor(v / 2 ** 32) >>> 0, true);
    } else if (field === 1) {
      dv.setUint32(at + 8, v >>> 0, true);
      dv.setUint32(at + 12, Math.floor(v / 2 ** 32) >>> 0, true);
    } else dv.setUint32(at + 16, v >>> 0, true);
    if (crcFixed) dv.setUint32(at + 20, crc32(b, at, at + 20), true);
    return { bytes: b, what: `footer field ${field}=${v}${crcFixed ? " with crc" : ""}`, trust: EXACT };
  },
  "index-content"(base, r) {
    const f = base.frames.find((x) => x.type === CHUNK_INDEX)!;
    const s = splitIndex(base.bytes, f);
    const ix = packr.unpack(Buffer.from(inflateRaw(s.body, s.rawLen))) as Record<string, unknown>;
    const path = poke(ix, r);
    const body = packr.pack(ix);
    const payload = cat(varints(["u", body.length]), deflate(body));
    const frame = frameOf(CHUNK_INDEX, FLAG_DEFLATE, payload);
    const head = base.bytes.subarray(0, f.off);
    const events =
      typeof ix.events === "number" && Number.isSafeInteger(ix.events) && ix.events >= 0 ? ix.events : base.events;
    const b = cat(head, frame, encodeFooter(f.off, events, frame.length));
    return {
      bytes: b,
      what: `index ${path} with crc`,
      trust: { index: true, moreEvents: true, states: [[-1, Number.MAX_SAFE_INTEGER]], checkFrom: -1 },
    };
  },
  "snapshot-content"(base, r) {
    const f = pickFrame(base, r, CHUNK_SNAPSHOT)!;
    const s = splitSnap(base.bytes, f);
    const plain = packr.unpack(Buffer.from(inflateRaw(s.body, s.rawLen))) as Record<string, unknown>;
    const path = poke(plain, r);
    const body = packr.pack(plain);
    const payload = cat(varints(["s", s.seq], ["u", body.length]), deflate(body));
    return {
      bytes: replaceFrame(base.bytes, f, frameOf(CHUNK_SNAPSHOT, FLAG_DEFLATE, payload)),
      what: `snapshot ${s.seq} ${path} with crc`,
      trust: snapTrust(base, f),
    };
  },
  "event-content"(base, r) {
    const f = pickFrame(base, r, CHUNK_EVENTS);
    if (!f) return null;
    const rd = openTrace(base.bytes);
    const ci = rd.chunkFirstSeqs.indexOf(f.first);
    const evs = columnsToEvents(rd.readColumns(ci)).map((e) => ({ ...e }));
    const e = evs[r.below(evs.length)]!;
    const field = (["kind", "cpu", "tid", "a", "b", "c", "s", "time"] as const)[r.below(8)];
    if (field === "s") e.s = ["\x1b[2J\x1b]0;t\x07", "", "y".repeat(r.below(5000))][r.below(3)]!;
    else if (field === "kind") e.kind = [34, 35, 200, 0x3fffffff, 0, 15, 16, 18][r.below(8)]!;
    else e[field] = r.below(2) ? HUGE[r.below(HUGE.length)]! : NEG[r.below(NEG.length)]!;
    const cb = new ChunkBuilder(evs.length, slotTable(rd.meta.kinds));
    for (const x of evs) cb.push(x);
    let body: Uint8Array;
    try {
      body = cb.encode();
    } catch {
      return null;
    }
    const core = deflate(body.subarray(0, cb.coreLength));
    const side = deflate(body.subarray(cb.coreLength));
    const lens = varints(
      ["u", f.first],
      ["u", f.n],
      ["u", cb.coreLength],
      ["u", body.length - cb.coreLength],
      ["u", core.length],
    );
    const payload = cat(lens, core, side);
    return {
      bytes: replaceFrame(base.bytes, f, frameOf(CHUNK_EVENTS, FLAG_DEFLATE, payload)),
      what: `event ${e.seq} ${field}=${String(e[field]).slice(0, 20)} with crc`,
      trust: chunkTrust(base, f),
    };
  },
  "header-meta"(base, r) {
    const metaLen = readU32(base.bytes, 12);
    const meta = packr.unpack(Buffer.from(base.bytes.subarray(HEADER_FIXED, HEADER_FIXED + metaLen))) as Record<
      string,
      unknown
    >;
    const pick = ["chunkEvents", "snapshotEvery", "config", "kinds", "scenario", "options", "seed"][r.below(7)]!;
    let what: string;
    if (pick === "config" && r.below(2)) {
      (meta.config as Record<string, unknown>).cpus = [0, 1, 3, 64, 5000, -1, 2 ** 31][r.below(7)];
      what = `config.cpus=${(meta.config as Record<string, unknown>).cpus}`;
    } else if (pick === "kinds" && r.below(2)) {
      const k = meta.kinds as unknown[][];
      const row = k[r.below(k.length)]!;
      row[1] = [0, 3, 7, -1, 2 ** 31][r.below(5)];
      what = `kinds row nargs=${row[1]}`;
    } else if (pick === "chunkEvents" || pick === "snapshotEvery") {
      meta[pick] = r.below(2) ? HUGE[r.below(HUGE.length)] : NEG[r.below(NEG.length)];
      what = `${pick}=${meta[pick]}`;
    } else {
      what = `meta ${poke(meta, r)}`;
    }
    const body = packr.pack(meta);
    const head = new Uint8Array(HEADER_FIXED + body.length + 4);
    head.set(base.bytes.subarray(0, 12), 0);
    new DataView(head.buffer).setUint32(12, body.length, true);
    head.set(body, HEADER_FIXED);
    new DataView(head.buffer).setUint32(HEADER_FIXED + body.length, crc32(head, 0, HEADER_FIXED + body.length), true);
    return { bytes: cat(head, base.bytes.subarray(base.headerEnd)), what: `${what} with crc`, trust: { none: true } };
  },
  "bomb-event"(base, r) {
    const f = pickFrame(base, r, CHUNK_EVENTS);
    if (!f) return null;
    const declared = [4 * f.n, 16 << 20, (16 << 20) + 1, 2 ** 31, 48 << 20][r.below(5)]!;
    const payload = cat(varints(["u", f.first], ["u", f.n], ["u", declared]), bomb().eventBody);
    return {
      bytes: replaceFrame(base.bytes, f, frameOf(CHUNK_EVENTS, FLAG_DEFLATE, payload)),
      what: `event body bomb (48 MiB, declares ${declared}) @${f.off}`,
      trust: chunkTrust(base, f),
    };
  },
  "bomb-msgpack"(base, r) {
    // A snapshot or index body of msgpack that would allocate far more than its bytes: empty arrays, deep nesting, long arrays.
    const kind = r.below(3);
    const n = [1 << 20, 4 << 20, 60 << 20][r.below(3)]!;
    const { raw: bodyLength, compressed } = msgpackBomb(kind, n);
    const body = { length: bodyLength };
    const snap = r.below(2) === 0;
    const f = snap ? pickFrame(base, r, CHUNK_SNAPSHOT)! : base.frames.find((x) => x.type === CHUNK_INDEX)!;
    const payload = snap
      ? cat(varints(["s", f.first], ["u", body.length]), compressed)
      : cat(varints(["u", body.length]), compressed);
    const frame = frameOf(f.type, FLAG_DEFLATE, payload);
    const b = snap
      ? replaceFrame(base.bytes, f, frame)
      : cat(base.bytes.subarray(0, f.off), frame, encodeFooter(f.off, base.events, frame.length));
    return {
      bytes: b,
      what: `msgpack bomb ${["empty arrays", "nesting", "ints"][kind]} ${n} in ${snap ? "snapshot" : "index"}`,
      trust: snap ? snapTrust(base, f) : { index: true },
    };
  },
  "bomb-gzip"(base, r) {
    // The trace gzip'd, followed by a gzip member of zeros: it inflates to ~100 MiB.
    const gz = cat(gzipTrace(base.bytes), bomb().gzipZeros);
    return r.below(2)
      ? { bytes: gz, what: "gzip bomb", trust: EXACT }
      : {
          bytes: new TextEncoder().encode(`report\n${embedTrace(gz, "x.ktrace.gz")}\n`),
          what: "report with gzip bomb",
          trust: EXACT,
        };
  },
};

/** Inflates a body of the base (ours, valid), bounded like the reader's. */
function inflateRaw(b: Uint8Array, n: number): Uint8Array {
  return new Uint8Array(inflateRawSync(b, { maxOutputLength: Math.max(1, n) }));
}

/** Wrappers applied to a fraction of the inputs: gzip, a report's embedded block. */
function wrap(x: Omit<Input, "base" | "kind">, r: Rng): Omit<Input, "base" | "kind"> {
  const w = r.below(12);
  if (w === 0) return { ...x, bytes: gzipTrace(x.bytes), what: `${x.what} +gzip` };
  if (w === 1) {
    // Cut short: the snapshot after changed content may be lost, and the states after it folded through the change.
    const gz = gzipTrace(x.bytes);
    const states = x.trust.states?.map(([a]): [number, number] => [a, Number.MAX_SAFE_INTEGER]);
    return {
      ...x,
      bytes: gz.slice(0, Math.max(12, r.below(gz.length))),
      what: `${x.what} +gzip cut`,
      trust: states ? { ...x.trust, states } : x.trust,
    };
  }
  if (w === 2)
    return {
      ...x,
      bytes: new TextEncoder().encode(
        `# ktrace report\n\n> ${embedTrace(x.bytes, "t.ktrace").replace(/\n/g, "\n> ")}\n`,
      ),
      what: `${x.what} +report`,
    };
  return x;
}

const NAMES = Object.keys(MUTATORS);
/** Relative weights: the cheap raw mutations most, bombs least. */
const WEIGHT: Record<string, number> = {
  bitflip: 20,
  overwrite: 10,
  truncate: 6,
  "frame-length": 5,
  "frame-length-crc": 4,
  "event-prefix": 8,
  "snapshot-seq": 4,
  "chunk-delete": 5,
  "chunk-duplicate": 4,
  "chunk-swap": 4,
  footer: 4,
  "index-content": 6,
  "snapshot-content": 8,
  "event-content": 8,
  "header-meta": 4,
  "bomb-event": 1,
  "bomb-msgpack": 1,
  "bomb-gzip": 1,
};

/** Input number i of a run with this seed. */
export function inputOf(bases: Base[], seed: number, i: number): Input {
  const r = new Rng((seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0);
  for (let attempt = 0; ; attempt++) {
    const base = bases[r.below(bases.length)]!;
    const total = NAMES.reduce((s, n) => s + WEIGHT[n]!, 0);
    let x = r.below(total);
    let kind = NAMES[0]!;
    for (const n of NAMES) {
      if (x < WEIGHT[n]!) {
        kind = n;
        break;
      }
      x -= WEIGHT[n]!;
    }
    const m = MUTATORS[kind]!(base, r);
    if (m === null && attempt < 20) continue;
    const got = m ?? { bytes: base.bytes, what: "unchanged", trust: EXACT };
    return { ...wrap(got, r), base, kind };
  }
}

// ---- the judge ----

export interface Answer {
  cmd: string;
  code: number;
  stdout: string;
  stderr: string;
}

const inRanges = (rs: [number, number][] | undefined, x: number) => (rs ?? []).some(([a, b]) => x >= a && x <= b);

/**
 * Silent wrong answers: what the commands said that the base contradicts,
 * outside what the mutation made untrustworthy. Empty when none.
 */
export function judge(x: Input, answers: Answer[]): string[] {
  const t = x.trust;
  if (t.none) return [];
  const b = x.base;
  const bad: string[] = [];
  const get = (cmd: string) => answers.find((a) => a.cmd === cmd);
  const parse = (a: Answer | undefined) => {
    if (!a || (a.code !== 0 && a.code !== 1 && a.code !== 2) || a.stdout.trim() === "") return null;
    try {
      return JSON.parse(a.stdout) as Record<string, unknown>;
    } catch {
      return null;
    }
  };
  // events --json: every event given must be the base's at that seq, in order.
  const ev = get("events --json");
  if (ev && ev.code === 0) {
    let prev = -1;
    for (const line of ev.stdout.split("\n")) {
      if (line === "") continue;
      let j: { seq?: number; missing?: unknown };
      try {
        j = JSON.parse(line);
      } catch {
        bad.push(`events: a line is not JSON`);
        break;
      }
      if (j.missing !== undefined) continue;
      const seq = j.seq!;
      if (!(seq > prev)) bad.push(`events: seq ${seq} after ${prev}`);
      prev = seq;
      if (inRanges(t.events, seq)) continue;
      if (seq >= b.events) {
        if (!t.moreEvents) bad.push(`events: seq ${seq} beyond the ${b.events} events`);
        continue;
      }
      if (eventKey(j as never) !== b.eventText[seq]) bad.push(`events: event ${seq} differs`);
      if (bad.length > 3) break;
    }
  }
  // state --at end --json: the base's state at that seq.
  const st = parse(get("state --json"));
  if (st && typeof st.seq === "number") {
    const seq = st.seq;
    if (seq >= b.events && !t.moreEvents) bad.push(`state: at seq ${seq}, beyond the ${b.events} events`);
    else if (seq < b.events && !inRanges(t.states, seq)) {
      const { event: _e, ...view } = st;
      if (JSON.stringify(view) !== b.stateAt(seq)) bad.push(`state: the state at seq ${seq} differs`);
    }
  }
  // check --json: a violation it reports is one the base has; one the base has in what it checked is reported.
  const ck = parse(get("check --json"));
  if (ck) {
    const checkFrom = t.checkFrom ?? Number.MAX_SAFE_INTEGER;
    const v = ck.violation as { seq: number; invariant: string } | null;
    if (v && v.seq < checkFrom && !b.violations.has(`${v.seq} ${v.invariant}`))
      bad.push(`check: reports ${v.invariant} at ${v.seq}, which the trace does not have`);
    const f = b.firstViolation;
    if (!v && f !== null && f < checkFrom && f < (ck.events as number)) {
      const unchecked = (ck.unchecked as { fromSeq: number; knownAfter: number | null }[]) ?? [];
      // A violation of an invariant with a history (check's `restarted`) after a stretch not checked may need
      // events from before it: check says so, and need not find it.
      const restarted = ((ck.restarted as string[] | undefined) ?? []).includes(b.firstInvariant ?? "");
      const covered = unchecked.some(
        (u) => (f >= u.fromSeq && (u.knownAfter === null || f <= u.knownAfter)) || (restarted && u.fromSeq <= f),
      );
      if (!covered) bad.push(`check: misses the violation at ${f}`);
    }
  }
  // info --json: a trace said to be sound has the base's events and outcome.
  const info = parse(get("info --json"));
  if (info && !t.index) {
    if (info.damaged === false && info.recovered === undefined) {
      if (info.events !== b.events && !t.moreEvents)
        bad.push(`info: says sound with ${info.events} events, the trace has ${b.events}`);
      if (
        JSON.stringify(info.outcome) !== JSON.stringify(b.outcome ?? { kind: "ok", seq: b.events - 1, message: "" }) &&
        !t.moreEvents &&
        (t.states ?? []).length === 0
      ) {
        bad.push(`info: outcome ${JSON.stringify(info.outcome)} differs`);
      }
    } else if (typeof info.events === "number" && info.events > b.events && !t.moreEvents) {
      bad.push(`info: ${info.events} events, more than the ${b.events} the trace has`);
    }
  }
  return bad;
}

/** The commands each input goes through, as the CLI runs them. */
export const COMMANDS: { cmd: string; argv: (f: string) => string[] }[] = [
  { cmd: "info", argv: (f) => ["info", f] },
  { cmd: "info --json", argv: (f) => ["info", f, "--json"] },
  { cmd: "check --json", argv: (f) => ["check", f, "--json"] },
  { cmd: "state", argv: (f) => ["state", f, "--at", "end"] },
  { cmd: "state --json", argv: (f) => ["state", f, "--at", "end", "--json"] },
  { cmd: "events --json", argv: (f) => ["events", f, "--json"] },
];

export type { KEvent };
