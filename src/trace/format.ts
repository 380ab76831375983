// Byte layout of a .ktrace file (docs/FORMAT.md is the normative spec):
//
//   header  | chunk* | index chunk | footer
//
// header: MAGIC, u16 major, u16 minor, u32 H, H bytes msgpack meta, u32 CRC32
// chunk:  u8 type, u8 flags, u16 0, u32 payload length L, u32 CRC32, L bytes
// footer: u64 index offset, u64 events, u32 index length, u32 CRC32, FOOTER_MAGIC
//
// All integers little-endian.

// msgpackr's pure-JavaScript build ("msgpackr/pack" is its index.js on Bun, Deno and Node): the
// package's main entry also loads its native string extractor (a Node-API add-on), which costs
// ~4 MB of resident memory in each process and thread that reads a trace and does not make the
// snapshots' few short strings faster (docs/BENCHMARKS.md, "Phase 6"). The bytes are the same.
import { Packr } from "msgpackr/pack";
import type { KConfig, Outcome } from "../kernel/types.ts";
import { crc32 } from "./checksum.ts";
import type { KindRow } from "./event-codec.ts";

/** "\x89KTR\r\n\x1a\n": non-ASCII first byte, and line-ending mangling is detectable. */
export const MAGIC = Uint8Array.of(0x89, 0x4b, 0x54, 0x52, 0x0d, 0x0a, 0x1a, 0x0a);
/** "\x89KTF\r\n\x1a\n": ends every complete file. */
export const FOOTER_MAGIC = Uint8Array.of(0x89, 0x4b, 0x54, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);
/**
 * The format written. Format 2 made event chunk bodies msgpack arrays; format 3
 * splits an event chunk's body in two DEFLATE streams, core and side
 * (docs/FORMAT.md): an older reader would misread it.
 */
export const FORMAT_MAJOR = 3;
/** The oldest major format read. */
export const FORMAT_MAJOR_MIN = 1;
/**
 * The minor version written. In format 2, minor 1 added the schedule chunk
 * (type 4) and the index's `schedule` key, and minor 2 let the writer skip a
 * snapshot whose state outweighs the events since the last one (writer.ts,
 * SNAPSHOT_SHARE); format 3.0 has all of them.
 */
export const FORMAT_MINOR = 0;

/** Fixed part of the header before the meta: magic, major, minor, meta length. */
export const HEADER_FIXED = 16;
export const FRAME_HEADER = 12;
export const FOOTER_SIZE = 32;

export const CHUNK_EVENTS = 1;
export const CHUNK_SNAPSHOT = 2;
export const CHUNK_INDEX = 3;
/** The run's scheduling decisions (schedule.ts), before the index (format 2.1). */
export const CHUNK_SCHEDULE = 4;
/** Frame flag: the payload's body is raw DEFLATE. */
export const FLAG_DEFLATE = 1;

// ---- Limits on untrusted input (docs/FORMAT.md, "Reading untrusted files") ----
// Every count and length read from a file is checked against these, and
// against what the bytes around it can hold, before anything is allocated.

/** Largest header meta (a real one is about 1 KB). */
export const MAX_META = 1 << 20;
/** Deepest nesting of msgpack containers in the header meta: the world's programs nest (the kernel's validator allows 64 levels of ops, each an array and a map, with expressions below). */
export const META_MAX_DEPTH = 256;
/** Most rows in the header's kind table. */
export const MAX_KINDS = 4096;
/** Most CPUs a trace's kernel config may have (Linux's largest NR_CPUS: imported traces of big machines). */
export const MAX_TRACE_CPUS = 8192;
/** Most events in one event chunk; the writer never puts more in one. */
export const MAX_CHUNK_EVENTS = 1 << 16;
/** Largest uncompressed event chunk body (4096 events take about 24 KB). */
export const MAX_EVENT_BODY = 16 << 20;
/**
 * Largest uncompressed snapshot body (a real one is a few KB; a run that
 * leaks processes reaches MBs: 130,000 zombies pack to ~5 MB). The writer
 * leaves out a larger one (the reader folds from an earlier one).
 */
export const MAX_SNAPSHOT_BODY = 16 << 20;
/** Largest uncompressed index body (10M events take about 30 KB). */
export const MAX_INDEX_BODY = 64 << 20;
/** Largest uncompressed schedule body (2 bits per step: about 256M steps); the writer leaves out a larger one. */
export const MAX_SCHEDULE_BODY = 64 << 20;
/** Largest payload a reader accepts (guards against a corrupt length). */
export const MAX_PAYLOAD = MAX_INDEX_BODY + 64;
/** A gzip'd trace may inflate to this multiple of its size (plus 1 MiB): its chunks are compressed already. */
export const GZIP_MAX_RATIO = 8;
/** Largest trace decompressed in memory (gzip'd, or embedded in a report). */
export const MAX_GUNZIP = 512 << 20;

/** What the recorder knew when it started: stored in the header. */
export interface TraceMeta {
  scenario: string;
  /** Fix (variant) name; "" for the buggy original. */
  fix: string;
  seed: number;
  options: Record<string, string>;
  config: KConfig;
  /** Program that wrote the file, e.g. "ktrace 0.1.0". */
  writer: string;
  /** A snapshot follows every event whose (seq + 1) is a multiple of this. */
  snapshotEvery: number;
  /** The recorder's event budget. */
  maxEvents: number;
  /** The world the run started from (kernel World: rules, declarations, programs), plain data; absent before format 1.1. */
  world?: unknown;
  /** The scenario's own invariants (kernel InvariantDecl[]), plain data; absent before format 1.1. */
  invariants?: unknown;
  /** The scheduling strategy when not random: {name, depth?, preemptions?} (format 2.1). */
  strategy?: unknown;
  /** How a run that is not its seed's was made (shrink, whatif): its schedule chunk is then the only way to run it again (format 2.1). */
  origin?: string;
  /** Set when the trace was imported from a real kernel trace (ktrace import): where from. Absent in recorded traces. */
  imported?: ImportedMeta;
}

/** Where an imported trace came from (the header's `imported` key; docs/FORMAT.md). */
export interface ImportedMeta {
  /** The input's format: ftrace, perf, babeltrace2. */
  format: string;
  /** The input file as given to ktrace import. */
  file: string;
  /** The format was detected from the content (not given with --format). */
  detected: boolean;
  gzip: boolean;
  /**
   * The input's clock: `kind` seconds | time-of-day | date | counter, `unit` of event
   * times (ns, or count for raw counter values), `origin` the input time that time 0
   * stands for (as the input wrote it), `precision` digits after the second seen.
   */
  clock: { kind: string; unit: string; origin: string; precision: number } | null;
}

/**
 * An imported trace's clock (ImportedMeta.clock, or import's ClockInfo) in words, for
 * reports (import's, info's, report's): what its times are and its
 * origin. Takes a header's imported clock too, whose fields are strings from a
 * file: the caller escapes the result for a terminal.
 */
export function clockText(c: { kind: string; unit: string; origin: string; precision: number }): string {
  const words: Record<string, string> = {
    seconds: "seconds since the trace clock's epoch (usually boot)",
    "time-of-day": "time of day (babeltrace2's default)",
    date: "date and time (babeltrace2 --clock-date)",
    counter: "raw counter values (not nanoseconds)",
  };
  const what = Object.hasOwn(words, c.kind) ? words[c.kind]! : c.kind;
  return `${what}; origin ${c.origin}${c.unit === "ns" ? `, ${c.precision} digits after the second` : ""}`;
}

/** Header contents as stored: the meta plus format details. */
export interface HeaderData extends TraceMeta {
  /** Most events in one event chunk. */
  chunkEvents: number;
  /** The writer's event kind table: [name, integer args used, has string]. */
  kinds: KindRow[];
}

/** What the index records besides the tables; `finish` supplies it. */
export interface TraceSummary {
  events: number;
  outcome: Outcome | null;
  /** Virtual time of the last event (0 when none). */
  endTime: number;
}

/** The index chunk's contents. */
export interface IndexData extends TraceSummary {
  /** Per event chunk: byte offset of its frame, first seq, event count. */
  chunkOffsets: number[];
  chunkFirstSeqs: number[];
  chunkCounts: number[];
  /** Per snapshot chunk, by increasing seq: its seq (-1 = initial state) and frame offset. */
  snapshotSeqs: number[];
  snapshotOffsets: number[];
  /** Byte offset of the schedule chunk's frame (format 2.1; absent when the trace has none). */
  schedule?: number;
}

/** Standard msgpack only (no msgpackr extensions), so other languages can read it. */
export const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

export function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function readU64(b: Uint8Array, off: number): number {
  return readU32(b, off + 4) * 0x100000000 + readU32(b, off);
}

function writeU64(b: Uint8Array, off: number, v: number): void {
  writeU32(b, off, v % 0x100000000);
  writeU32(b, off + 4, Math.floor(v / 0x100000000));
}

export function sameBytes(a: Uint8Array, off: number, magic: Uint8Array): boolean {
  if (a.length < off + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (a[off + i] !== magic[i]) return false;
  return true;
}

/** Encodes the complete header. */
export function encodeHeader(h: HeaderData): Uint8Array {
  const meta = packr.pack({
    writer: h.writer,
    scenario: h.scenario,
    fix: h.fix,
    seed: h.seed,
    options: h.options,
    config: h.config,
    snapshotEvery: h.snapshotEvery,
    maxEvents: h.maxEvents,
    chunkEvents: h.chunkEvents,
    kinds: h.kinds,
    ...(h.world !== undefined ? { world: h.world } : {}),
    ...(h.invariants !== undefined ? { invariants: h.invariants } : {}),
    ...(h.strategy !== undefined ? { strategy: h.strategy } : {}),
    ...(h.origin !== undefined ? { origin: h.origin } : {}),
    ...(h.imported !== undefined ? { imported: h.imported } : {}),
  });
  const out = new Uint8Array(HEADER_FIXED + meta.length + 4);
  out.set(MAGIC, 0);
  out[8] = FORMAT_MAJOR & 0xff;
  out[9] = FORMAT_MAJOR >>> 8;
  out[10] = FORMAT_MINOR & 0xff;
  out[11] = FORMAT_MINOR >>> 8;
  writeU32(out, 12, meta.length);
  out.set(meta, HEADER_FIXED);
  writeU32(out, HEADER_FIXED + meta.length, crc32(out, 0, HEADER_FIXED + meta.length));
  return out;
}

/** Frames a payload: type, flags, length, CRC32 (over the first 8 frame bytes and the payload). */
export function frameHeader(
  type: number,
  flags: number,
  payload: Uint8Array,
  start = 0,
  end = payload.length,
): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER);
  h[0] = type;
  h[1] = flags;
  writeU32(h, 4, end - start);
  writeU32(h, 8, crc32(payload, start, end, crc32(h, 0, 8)));
  return h;
}

/** Checks a frame's CRC. `frame` holds the 12 header bytes followed by the payload. */
export function frameCrcOk(frame: Uint8Array, payloadLen: number): boolean {
  const want = readU32(frame, 8);
  return crc32(frame, FRAME_HEADER, FRAME_HEADER + payloadLen, crc32(frame, 0, 8)) === want;
}

export function encodeFooter(indexOffset: number, events: number, indexLength: number): Uint8Array {
  const f = new Uint8Array(FOOTER_SIZE);
  writeU64(f, 0, indexOffset);
  writeU64(f, 8, events);
  writeU32(f, 16, indexLength);
  writeU32(f, 20, crc32(f, 0, 20));
  f.set(FOOTER_MAGIC, 24);
  return f;
}

export interface Footer {
  indexOffset: number;
  events: number;
  indexLength: number;
}

/** Parses a footer; null when it is not a valid one. */
export function parseFooter(f: Uint8Array): Footer | null {
  if (f.length !== FOOTER_SIZE || !sameBytes(f, 24, FOOTER_MAGIC)) return null;
  if (crc32(f, 0, 20) !== readU32(f, 20)) return null;
  return { indexOffset: readU64(f, 0), events: readU64(f, 8), indexLength: readU32(f, 16) };
}
