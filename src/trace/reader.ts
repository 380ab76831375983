// TraceReader: opens a .ktrace by reading its header, footer and index only,
// and loads event chunks and snapshots on demand through small LRU caches,
// so memory does not grow with the trace's length.
//
// Every trace is untrusted (docs/FORMAT.md, "Reading untrusted files"):
// - every length and count is checked against the limits in format.ts and
//   against what the surrounding bytes can hold before anything is allocated;
//   bodies inflate to at most the length they declare (inflate.ts), msgpack is
//   shape-checked before it is unpacked (msgpack-bounds.ts), and what decodes
//   is validated against the kernel's types (validate.ts);
// - damage anywhere costs only the chunks it hits. A file without a valid
//   footer or index (cut short, or damaged there) opens in recovery mode: the
//   chunks are scanned from the header on, past damaged ones, and the index,
//   when one is found, is cross-checked against them. In a complete file a
//   damaged chunk is found when it is read (or by verify()): it is remembered,
//   and the events it held become a gap (`gaps`) the replay layer steps over.

import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { fromPlain, type PlainState } from "../kernel/state.ts";
import { EVENT_KINDS, type KEvent, type KState, type Outcome } from "../kernel/types.ts";
import { BadValue, ByteReader, ShortRead } from "./bytes.ts";
import { crc32 } from "./checksum.ts";
import { EMBED_MAX_TEXT, embeddedTraceIn, isKtrace, looksLikeText } from "./embed.ts";
import { type Gap, TraceCorruptError, TraceError } from "./errors.ts";
import {
  BodyError,
  columnsToEvents,
  decodeEventBody,
  decodeEventPrefix,
  type EventColumns,
  kindRemap,
  lastDecodeSafe,
  Scratch,
  type SideFill,
  type SlotTable,
  slotTable,
} from "./event-codec.ts";
import {
  CHUNK_EVENTS,
  CHUNK_INDEX,
  CHUNK_SCHEDULE,
  CHUNK_SNAPSHOT,
  FLAG_DEFLATE,
  FOOTER_SIZE,
  FORMAT_MAJOR,
  FORMAT_MAJOR_MIN,
  FRAME_HEADER,
  frameCrcOk,
  HEADER_FIXED,
  type HeaderData,
  type IndexData,
  MAGIC,
  MAX_EVENT_BODY,
  MAX_INDEX_BODY,
  MAX_META,
  MAX_PAYLOAD,
  MAX_SCHEDULE_BODY,
  MAX_SNAPSHOT_BODY,
  parseFooter,
  readU32,
} from "./format.ts";
import { gunzipBounded, InflateError, Inflater, inflateBounded } from "./inflate.ts";
import { unpackPlain } from "./msgpack-fast.ts";
import {
  checkColumns,
  checkIndex,
  checkMeta,
  checkSnapshot,
  indexShape,
  META_SHAPE,
  snapshotShape,
  unpackBounded,
} from "./validate.ts";

export type { Gap } from "./errors.ts";

export interface OpenOptions {
  /** Event chunks kept decoded (LRU); default 16. */
  cacheChunks?: number;
  /**
   * Scan every chunk's frame and checksum while opening (reads the whole
   * file) instead of trusting the index: damage anywhere is then known at
   * once (`gaps`, `recovery`). Bodies are decoded by verify().
   */
  verify?: boolean;
}

/** Set when the trace was opened without a usable footer and index: what could be used. */
export interface Recovery {
  /** Events recovered (seqs 0 .. lastSeq, less those in gaps). */
  events: number;
  /** Snapshots recovered, including the initial state. */
  snapshots: number;
  /** Last seq the trace holds (-1 when none). */
  lastSeq: number;
  /** What was wrong, e.g. "no footer: the file was cut short". */
  reason: string;
}

/** A snapshot that could not be used, and why. */
export interface LostSnapshot {
  seq: number;
  reason: string;
}

/** Where the bytes come from: a file descriptor or a buffer. Counts bytes read. */
interface Source {
  readonly size: number;
  bytesRead: number;
  /** Exactly len bytes at pos; the caller has checked pos + len <= size. */
  read(pos: number, len: number): Uint8Array;
  /**
   * As read, but the bytes may live in a buffer the source reuses: valid
   * until its next readTemp. For a chunk that is decoded at once (seeks and
   * scans then read no fresh buffer per chunk).
   */
  readTemp(pos: number, len: number): Uint8Array;
  close(): void;
}

class MemSource implements Source {
  bytesRead = 0;
  constructor(private readonly buf: Uint8Array) {}
  get size(): number {
    return this.buf.length;
  }
  read(pos: number, len: number): Uint8Array {
    this.bytesRead += len;
    return this.buf.subarray(pos, pos + len);
  }
  readTemp(pos: number, len: number): Uint8Array {
    return this.read(pos, len);
  }
  close(): void {}
}

/**
 * Bytes readTemp reads at least: a frame's 12-byte header and the frame, and
 * a snapshot and the event chunk after it (~1 KB and ~10 KB in `stress`,
 * written next to each other), come from one read instead of four.
 */
const READ_WINDOW = 1 << 14;

class FileSource implements Source {
  bytesRead = 0;
  /** readTemp's buffer: grows to the largest frame read through it. */
  private temp = new Uint8Array(1 << 16);
  /** The file bytes [winPos, winPos + winLen) are in temp. */
  private winPos = 0;
  private winLen = 0;
  constructor(
    private fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}
  readTemp(pos: number, len: number): Uint8Array {
    if (!(pos >= this.winPos && pos + len <= this.winPos + this.winLen)) {
      const want = Math.max(len, Math.min(READ_WINDOW, this.size - pos));
      if (want > this.temp.length) this.temp = new Uint8Array(Math.max(want, 2 * this.temp.length));
      this.winLen = 0; // empty while temp is being overwritten (a read that throws leaves it so)
      this.winLen = this.readInto(this.temp, pos, len, want);
      this.winPos = pos;
    }
    this.bytesRead += len;
    return this.temp.subarray(pos - this.winPos, pos - this.winPos + len);
  }
  read(pos: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(out, pos, len, len);
    this.bytesRead += len;
    return out;
  }
  /** Reads up to `want` bytes at pos into out, of which the first `len` are needed (fewer is an error); returns how many it read. */
  private readInto(out: Uint8Array, pos: number, len: number, want: number): number {
    let done = 0;
    try {
      while (done < want) {
        const n = readSync(this.fd, out, done, want - done, pos + done);
        if (n === 0) break;
        done += n;
      }
    } catch (e) {
      throw new TraceError(
        "read",
        `${this.path}: cannot read: ${e instanceof Error ? e.message : String(e)}`,
        this.path,
      );
    }
    if (done < len)
      throw new TraceError(
        "read",
        `${this.path}: file shrank while reading (expected ${len} bytes at offset ${pos}); do not modify a trace while reading it`,
        this.path,
      );
    return done;
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** A frame read from the file: type, flags, payload, and where it was. */
interface Frame {
  type: number;
  flags: number;
  payload: Uint8Array;
  offset: number;
  length: number;
}

/** A chunk known to be unusable: its number and offset (or those of the damaged bytes in its place), and why. */
interface Bad {
  no: number;
  offset: number;
  /** The whole description, e.g. "chunk 5 at byte offset 5366 is damaged: checksum mismatch". */
  what: string;
  /** What is wrong with the chunk itself ("checksum mismatch"), when it is one chunk. */
  detail: string;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** Errors that mean "these bytes do not decode": the chunk is damaged. Anything else is a bug and propagates. */
function isDecodeError(e: unknown): e is Error {
  return e instanceof BodyError || e instanceof InflateError || e instanceof ShortRead || e instanceof BadValue;
}

/**
 * The uncompressed body: as is when flag bit 0 is clear, else inflated to
 * exactly rawLen bytes (with `inflater`: into its reused buffer, valid until
 * its next use).
 */
function bodyOf(flags: number, bytes: Uint8Array, rawLen: number, limit: number, inflater?: Inflater): Uint8Array {
  if (rawLen > limit)
    throw new BodyError(`body declares ${rawLen} bytes, more than the ${limit} a chunk of this type may hold`);
  if (!(flags & FLAG_DEFLATE)) {
    if (bytes.length !== rawLen) throw new BodyError(`body is ${bytes.length} bytes, expected ${rawLen}`);
    return bytes;
  }
  return inflater ? inflater.inflate(bytes, rawLen) : inflateBounded(bytes, rawLen);
}

/** An event chunk's payload: its events, and its body (format 3: the core body) and side body, still compressed. */
interface EventPayload {
  first: number;
  n: number;
  /** The body's (format 3: the core body's) uncompressed length, and the side body's (0 before format 3). */
  rawLen: number;
  sideLen: number;
  body: Uint8Array;
  /** The side stream (format 3), else null. */
  side: Uint8Array | null;
}

/**
 * Reads an event chunk's payload (docs/FORMAT.md, "Event chunk"): before
 * format 3, firstSeq, n, the body's length and the body; format 3, firstSeq,
 * n, the core and side bodies' lengths, the core stream's length, the core
 * stream and the side stream. Checks that the bodies can hold n events (each
 * takes at least 4 bytes; in format 3 its kind and time at least 2 of the
 * core's). Throws BodyError or ShortRead.
 */
function eventPayload(major: number, payload: Uint8Array): EventPayload {
  const r = new ByteReader(payload);
  const first = r.uvar();
  const n = r.uvar();
  const rawLen = r.uvar();
  if (major < 3) {
    if (rawLen < 4 * n || rawLen > MAX_EVENT_BODY)
      throw new BodyError(`its body length ${rawLen} does not fit ${n} events`);
    return { first, n, rawLen, sideLen: 0, body: payload.subarray(r.pos), side: null };
  }
  const sideLen = r.uvar();
  const coreZ = r.uvar();
  if (rawLen < 2 * n || rawLen + sideLen < 4 * n || rawLen > MAX_EVENT_BODY || sideLen > MAX_EVENT_BODY)
    throw new BodyError(`its body lengths ${rawLen} and ${sideLen} do not fit ${n} events`);
  if (coreZ > payload.length - r.pos) throw new BodyError(`its core stream of ${coreZ} bytes runs past its payload`);
  const at = r.pos + coreZ;
  return { first, n, rawLen, sideLen, body: payload.subarray(r.pos, at), side: payload.subarray(at) };
}

/** msgpack unpacked within bounds; a BodyError when it is not a well-shaped document. */
function unpackBody(raw: Uint8Array, limits: Parameters<typeof unpackBounded>[1]): unknown {
  try {
    return unpackBounded(raw, limits);
  } catch (e) {
    throw new BodyError(e instanceof Error ? e.message : String(e));
  }
}

/** An LRU bounded by entries and by total weight (always keeping the newest entry). */
class Lru<V> {
  private readonly m = new Map<number, { v: V; w: number }>();
  private weight = 0;
  constructor(
    readonly capacity: number,
    readonly maxWeight = Infinity,
  ) {}
  get(k: number): V | undefined {
    const e = this.m.get(k);
    if (e !== undefined) {
      this.m.delete(k);
      this.m.set(k, e);
    }
    return e?.v;
  }
  set(k: number, v: V, w = 0): void {
    const old = this.m.get(k);
    if (old) this.weight -= old.w;
    this.m.delete(k);
    this.m.set(k, { v, w });
    this.weight += w;
    while (this.m.size > 1 && (this.m.size > this.capacity || this.weight > this.maxWeight)) {
      const first = this.m.keys().next().value!;
      this.weight -= this.m.get(first)!.w;
      this.m.delete(first);
    }
  }
  get size(): number {
    return this.m.size;
  }
}

/** The tables a reader works from: from the index, or from a scan of the chunks. Phantom event chunks (offset -1) stand for missing seqs. */
interface Tables {
  events: number;
  chunkOffsets: number[];
  chunkFirstSeqs: number[];
  chunkCounts: number[];
  /** File chunk number of each event chunk (of the damage in its place for a phantom); from an index, filled by numbered() when first needed. */
  chunkNos: number[];
  /** What is wrong with each event chunk, null or absent (a hole) when nothing is known to be. */
  chunkBad: (Bad | null)[];
  snapshotSeqs: number[];
  snapshotOffsets: number[];
  snapNos: number[];
  snapBad: (Bad | null)[];
  /** Offset of the schedule chunk (format 2.1), -1 when there is none. */
  schedule: number;
}

function emptyTables(): Tables {
  return {
    events: 0,
    chunkOffsets: [],
    chunkFirstSeqs: [],
    chunkCounts: [],
    chunkNos: [],
    chunkBad: [],
    snapshotSeqs: [],
    snapshotOffsets: [],
    snapNos: [],
    snapBad: [],
    schedule: -1,
  };
}

/** Tables of a complete file, from its index; chunk numbers from the merged offsets. */
function tablesOfIndex(ix: IndexData): Tables {
  const t = emptyTables();
  t.events = ix.events;
  t.chunkOffsets = ix.chunkOffsets;
  t.chunkFirstSeqs = ix.chunkFirstSeqs;
  t.chunkCounts = ix.chunkCounts;
  t.snapshotSeqs = ix.snapshotSeqs;
  t.snapshotOffsets = ix.snapshotOffsets;
  t.schedule = ix.schedule ?? -1;
  // chunkBad and snapBad stay empty (read as undefined: nothing known bad) until a chunk is found damaged.
  // chunkNos and snapNos stay empty until a message needs one (numbered()).
  return t;
}

/** t with its chunk numbers, ranked on first use: only messages about damage need them. */
function numbered(t: Tables): Tables {
  if (t.chunkNos.length !== t.chunkOffsets.length || t.snapNos.length !== t.snapshotOffsets.length)
    [t.chunkNos, t.snapNos] = ranks(t.chunkOffsets, t.snapshotOffsets);
  return t;
}

/**
 * Chunk numbers: the rank of each offset among all of them (how many offsets
 * of either list are smaller). Event chunk offsets increase (checkIndex);
 * snapshot offsets do in every file a writer made, and then one merge of the
 * two lists ranks them all (opening a 100M-event trace ranks 48,000 offsets:
 * a binary search each cost ~5 ms of a 14 ms open). Otherwise (a crafted
 * index) the ranks come from a sorted copy.
 */
function ranks(chunks: readonly number[], snaps: readonly number[]): [number[], number[]] {
  const cn = new Array<number>(chunks.length);
  const sn = new Array<number>(snaps.length);
  let sorted = true;
  for (let j = 1; j < snaps.length && sorted; j++) sorted = snaps[j - 1]! < snaps[j]!;
  if (sorted) {
    let i = 0;
    let j = 0;
    while (i < chunks.length || j < snaps.length) {
      if (j >= snaps.length || (i < chunks.length && chunks[i]! < snaps[j]!)) {
        // An offset equal to the snapshot's just taken (crafted) ranks as that one, as a binary search for the first of them does.
        cn[i] = i + j - (j > 0 && snaps[j - 1] === chunks[i] ? 1 : 0);
        i++;
      } else {
        sn[j] = i + j;
        j++;
      }
    }
    return [cn, sn];
  }
  const all = [...chunks, ...snaps].sort((a, b) => a - b);
  const rank = (off: number) => {
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]! < off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (let i = 0; i < chunks.length; i++) cn[i] = rank(chunks[i]!);
  for (let j = 0; j < snaps.length; j++) sn[j] = rank(snaps[j]!);
  return [cn, sn];
}

/** Most notes of one kind listed in a reason; the rest are counted. */
const LIST = 3;

function listed(xs: string[]): string {
  return xs.length <= LIST ? xs.join("; ") : `${xs.slice(0, LIST).join("; ")}; and ${xs.length - LIST} more`;
}

/**
 * Opens a trace from a path or from its bytes (gzip-wrapped files, magic
 * 1f 8b, are decompressed in memory, within gunzipLimit). Throws TraceError
 * (exitCode 2) for a missing file, a directory, an empty file, a file that is
 * not a trace, a newer major format, or a header cut short or damaged.
 */
export function openTrace(input: string | Uint8Array, opts: OpenOptions = {}): TraceReader {
  return TraceReader.open(input, opts);
}

export class TraceReader {
  /** File path, or undefined when opened from bytes. */
  readonly path: string | undefined;
  /** Name used in messages: the path, or "<buffer>". */
  readonly name: string;
  readonly formatMajor: number;
  readonly formatMinor: number;
  /** Header contents: the recorder's meta, chunk size and kind table. */
  readonly meta: HeaderData;
  /** Size of the file as stored (compressed size for a .gz). */
  readonly fileBytes: number;
  /** The file was gzip-wrapped. */
  readonly gzipped: boolean;
  /** Null when the footer and index were usable; otherwise what recovery mode could use. */
  readonly recovery: Recovery | null;
  /** Number of events: seqs 0 .. eventCount-1 (some may be in gaps). */
  readonly eventCount: number;
  /** How the run ended; null when unknown (recovery mode without an index). */
  readonly outcome: Outcome | null;
  /** Virtual time of the last event, or null when unknown. */
  readonly endTime: number | null;
  /**
   * Things found wrong that cost no events: the index disagreeing with the
   * chunks (a chunk removed with the old index left in place), chunks
   * repeated, snapshots missing where the writer puts one.
   */
  readonly warnings: readonly string[];

  private readonly src: Source;
  private readonly slots: SlotTable;
  /** The writer's kind codes as this build's (kindRemap), null when they agree. */
  private readonly remap: Int32Array | null;
  private readonly t: Tables;
  private readonly chunks: Lru<KEvent[]>;
  private readonly snaps = new Lru<PlainState>(4, 8 << 20);
  private readonly scratch = new Scratch();
  /** Inflates the chunks and snapshots read one at a time (decoded at once): no buffer per body. */
  private readonly inflater = new Inflater();
  /** Inflates format 3 side bodies (the core body is the other's meanwhile). */
  private readonly sideInflater = new Inflater();
  /** Completes columns read core-only (format 3; readCore: their `pending`), or null before format 3. */
  readonly sideFill: SideFill | null;
  /** fillSide's buffers. */
  private readonly sideScratch = new Scratch();
  private readonly headerEnd: number;
  private gapsCache: { version: number; gaps: Gap[] } | null = null;
  private version = 0;

  private constructor(init: {
    path: string | undefined;
    src: Source;
    fileBytes: number;
    gzipped: boolean;
    major: number;
    minor: number;
    meta: HeaderData;
    headerEnd: number;
    tables: Tables;
    outcome: Outcome | null;
    endTime: number | null;
    recovery: string | null;
    warnings: string[];
    cacheChunks: number;
  }) {
    this.path = init.path;
    this.name = init.path ?? "<buffer>";
    this.src = init.src;
    this.fileBytes = init.fileBytes;
    this.gzipped = init.gzipped;
    this.formatMajor = init.major;
    this.formatMinor = init.minor;
    this.meta = init.meta;
    this.headerEnd = init.headerEnd;
    this.slots = slotTable(init.meta.kinds, init.major >= 3);
    this.remap = kindRemap(init.meta.kinds);
    this.sideFill = init.major >= 3 ? this.makeSideFill() : null;
    this.t = init.tables;
    this.eventCount = init.tables.events;
    this.outcome = init.outcome;
    this.endTime = init.endTime;
    this.warnings = init.warnings;
    this.chunks = new Lru(Math.max(1, init.cacheChunks), 64 << 20);
    if (init.recovery === null) {
      this.recovery = null;
    } else {
      const missing = this.gaps.reduce((s, g) => s + g.toSeq - g.fromSeq + 1, 0);
      this.recovery = {
        events: this.eventCount - missing,
        snapshots: this.t.snapshotSeqs.length - this.t.snapBad.filter((b) => b !== null).length,
        lastSeq: this.eventCount - 1,
        reason: init.recovery,
      };
    }
  }

  /** See openTrace. */
  static open(input: string | Uint8Array, opts: OpenOptions = {}): TraceReader {
    let src: Source;
    let path: string | undefined;
    let name = "<buffer>";
    if (typeof input === "string") {
      path = input;
      name = input;
      let fd: number;
      try {
        const st = statSync(input);
        if (st.isDirectory())
          throw new TraceError(
            "directory",
            `${input}: is a directory, not a trace; pass the path of a .ktrace file`,
            input,
          );
        fd = openSync(input, "r");
      } catch (e) {
        if (e instanceof TraceError) throw e;
        const code = typeof e === "object" && e !== null && "code" in e ? (e as { code: unknown }).code : undefined;
        if (code === "ENOENT" || code === "ENOTDIR") throw missingError(input);
        if (code === "EISDIR")
          throw new TraceError(
            "directory",
            `${input}: is a directory, not a trace; pass the path of a .ktrace file`,
            input,
          );
        throw new TraceError(
          "read",
          `${input}: cannot open (${e instanceof Error ? e.message : String(e)}); check its permissions`,
          input,
        );
      }
      const size = fstatSync(fd).size;
      src = new FileSource(fd, size, input);
    } else {
      src = new MemSource(input);
    }
    try {
      return TraceReader.openSource(src, path, name, opts);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  private static openSource(src: Source, path: string | undefined, name: string, opts: OpenOptions): TraceReader {
    const fileBytes = src.size;
    if (fileBytes === 0)
      throw new TraceError("empty", `${name}: empty file (0 bytes), not a trace; re-record it`, path);
    const head = src.read(0, Math.min(fileBytes, HEADER_FIXED));
    if (head[0] === 0x1f && (head.length < 2 || head[1] === 0x8b)) {
      const whole = new Uint8Array(fileBytes);
      whole.set(head, 0);
      if (fileBytes > head.length) whole.set(src.read(head.length, fileBytes - head.length), head.length);
      const counted = src.bytesRead;
      src.close();
      let raw: Uint8Array;
      try {
        raw = gunzipBounded(whole);
      } catch (e) {
        if (!(e instanceof InflateError)) throw e;
        throw new TraceError(
          "bad-header",
          `${name}: gzip-wrapped, but it ${e.message}; the file is damaged or not a trace`,
          path,
        );
      }
      if (raw.length === 0)
        throw new TraceError("bad-header", `${name}: gzip-wrapped file holds no data (cut short?); re-record it`, path);
      const mem = new MemSource(raw);
      mem.bytesRead = counted;
      return TraceReader.parse(mem, path, name, fileBytes, true, opts);
    }
    // Text, such as a ktrace report or text pasted from one, holding an embedded trace (embed.ts).
    if (!isKtrace(head) && looksLikeText(head)) {
      const inner = fileBytes <= EMBED_MAX_TEXT ? embeddedTraceIn(src.read(0, fileBytes), name) : null;
      if (inner) {
        src.close();
        return TraceReader.openSource(new MemSource(inner), path, name, opts);
      }
    }
    return TraceReader.parse(src, path, name, fileBytes, false, opts);
  }

  private static parse(
    src: Source,
    path: string | undefined,
    name: string,
    fileBytes: number,
    gzipped: boolean,
    opts: OpenOptions,
  ): TraceReader {
    const size = src.size;
    const gzNote = gzipped ? " (after gunzip)" : "";
    const head = src.read(0, Math.min(size, HEADER_FIXED));
    const nMagic = Math.min(head.length, MAGIC.length);
    for (let i = 0; i < nMagic; i++) {
      if (head[i] !== MAGIC[i]) {
        throw new TraceError(
          "bad-magic",
          `${name}: not a ktrace file (starts with ${hex(head.subarray(0, Math.min(8, head.length)))}${gzNote}); pass a trace written by ktrace record`,
          path,
        );
      }
    }
    if (head.length < HEADER_FIXED) {
      throw new TraceError(
        "bad-header",
        `${name}: truncated header (file is ${size} bytes${gzNote}, the header alone needs more); the trace is unusable: re-record it`,
        path,
      );
    }
    const major = head[8]! | (head[9]! << 8);
    const minor = head[10]! | (head[11]! << 8);
    if (major > FORMAT_MAJOR) {
      throw new TraceError(
        "newer-version",
        `${name}: written by a newer ktrace (format ${major}.x); this ktrace reads formats ${FORMAT_MAJOR_MIN}.x to ${FORMAT_MAJOR}.x: upgrade ktrace`,
        path,
      );
    }
    if (major < FORMAT_MAJOR_MIN) {
      throw new TraceError(
        "newer-version",
        `${name}: written in format ${major}.${minor}, which this ktrace (formats ${FORMAT_MAJOR_MIN}.x to ${FORMAT_MAJOR}.x) does not read; re-record it`,
        path,
      );
    }
    const metaLen = readU32(head, 12);
    const headerEnd = HEADER_FIXED + metaLen + 4;
    if (headerEnd > size) {
      throw new TraceError(
        "bad-header",
        `${name}: truncated header (file is ${size} bytes${gzNote}, the header needs ${headerEnd}); the trace is unusable: re-record it`,
        path,
      );
    }
    if (metaLen > MAX_META) {
      throw new TraceError(
        "bad-header",
        `${name}: damaged header (its meta claims ${metaLen} bytes, more than the ${MAX_META} a header may have); the trace is unusable: re-record it`,
        path,
      );
    }
    const whole = src.read(0, headerEnd);
    // The header CRC covers everything before it.
    if (crc32(whole, 0, HEADER_FIXED + metaLen) !== readU32(whole, HEADER_FIXED + metaLen))
      throw new TraceError(
        "bad-header",
        `${name}: damaged header (checksum mismatch); the trace is unusable: re-record it`,
        path,
      );
    let metaRaw: unknown;
    try {
      metaRaw = unpackBounded(whole.subarray(HEADER_FIXED, HEADER_FIXED + metaLen), META_SHAPE);
    } catch (e) {
      throw new TraceError(
        "bad-header",
        `${name}: bad header (meta does not decode: ${e instanceof Error ? e.message : String(e)}); the trace is unusable: re-record it`,
        path,
      );
    }
    const meta = checkMeta(metaRaw);
    if (typeof meta === "string")
      throw new TraceError("bad-header", `${name}: bad header (${meta}); the trace is unusable: re-record it`, path);

    const cacheChunks = opts.cacheChunks ?? 16;
    const base = { path, src, fileBytes, gzipped, major, minor, meta, headerEnd, cacheChunks };
    let footerNote = size < headerEnd + FOOTER_SIZE ? "no footer: the file was cut short" : "";
    let footer = null;
    if (size >= headerEnd + FOOTER_SIZE) {
      footer = parseFooter(src.read(size - FOOTER_SIZE, FOOTER_SIZE));
      if (!footer) footerNote = "no valid footer";
      else if (!opts.verify) {
        const ix = readIndex(
          src,
          footer.indexOffset,
          footer.indexLength,
          headerEnd,
          size - FOOTER_SIZE,
          footer.events,
          meta.chunkEvents,
        );
        if (typeof ix !== "string") {
          const tables = tablesOfIndex(ix);
          const warnings = missingSnapshots(tables, meta.snapshotEvery, sparseSnapshots(major, minor));
          return new TraceReader({
            ...base,
            tables,
            outcome: ix.outcome,
            endTime: ix.endTime,
            recovery: null,
            warnings,
          });
        }
        footerNote = `the footer points at no valid index (${ix})`;
      }
    }
    const scan = scanChunks(src, headerEnd, size, major, meta.chunkEvents, footer);
    const warnings = [
      ...scan.warnings,
      ...missingSnapshots(scan.tables, meta.snapshotEvery, sparseSnapshots(major, minor)),
    ];
    if (opts.verify && scan.complete) {
      return new TraceReader({
        ...base,
        tables: scan.tables,
        outcome: scan.index!.outcome,
        endTime: scan.index!.endTime,
        recovery: null,
        warnings,
      });
    }
    // Why recovery: what the scan found, or else why the footer and index were not used.
    const why = scan.problems.length ? listed(scan.problems) : footerNote || "the index does not match the chunks";
    return new TraceReader({
      ...base,
      tables: scan.tables,
      outcome: scan.index?.outcome ?? null,
      endTime: scan.index ? scan.index.endTime : null,
      recovery: why,
      warnings,
    });
  }

  /** Bytes read from the file so far (header, footer, index; then whatever chunks were loaded). */
  get bytesRead(): number {
    return this.src.bytesRead;
  }

  /** Format version as "major.minor". */
  get formatVersion(): string {
    return `${this.formatMajor}.${this.formatMinor}`;
  }

  /** Seqs of the snapshots, increasing; -1 is the initial state. Some may turn out damaged (lostSnapshots). */
  get snapshotSeqs(): readonly number[] {
    return this.t.snapshotSeqs;
  }

  /** First seq of each event chunk, increasing and dense from 0 (a missing range is one chunk of its own). */
  get chunkFirstSeqs(): readonly number[] {
    return this.t.chunkFirstSeqs;
  }

  /** Event count of each event chunk. */
  get chunkCounts(): readonly number[] {
    return this.t.chunkCounts;
  }

  /** Number of event chunks. */
  get chunkCount(): number {
    return this.t.chunkOffsets.length;
  }

  /** Event chunks currently held decoded (at most cacheChunks). */
  get cachedChunks(): number {
    return this.chunks.size;
  }

  /**
   * The missing seq ranges known so far, increasing and merged: those recovery
   * found when opening, and each chunk found damaged since (reading it, or
   * verify(), which reads them all).
   */
  get gaps(): readonly Gap[] {
    if (this.gapsCache?.version === this.version) return this.gapsCache.gaps;
    const gaps: Gap[] = [];
    const t = this.t;
    for (let i = 0; i < t.chunkBad.length; i++) {
      const b = t.chunkBad[i];
      if (!b) continue;
      const from = t.chunkFirstSeqs[i]!;
      const to = from + t.chunkCounts[i]! - 1;
      const last = gaps[gaps.length - 1];
      if (last && last.toSeq === from - 1 && last.reason === b.what) last.toSeq = to;
      else gaps.push({ fromSeq: from, toSeq: to, reason: b.what });
    }
    this.gapsCache = { version: this.version, gaps };
    return gaps;
  }

  /** Snapshots found damaged so far (readers fall back to an earlier one). */
  get lostSnapshots(): readonly LostSnapshot[] {
    const out: LostSnapshot[] = [];
    this.t.snapBad.forEach((b, i) => {
      if (b) out.push({ seq: this.t.snapshotSeqs[i]!, reason: b.what });
    });
    return out;
  }

  /** Something is known to be wrong: opened in recovery mode, gaps, lost snapshots or warnings. */
  get damaged(): boolean {
    return this.recovery !== null || this.gaps.length > 0 || this.lostSnapshots.length > 0 || this.warnings.length > 0;
  }

  /** Index of the event chunk holding seq. Throws RangeError outside 0..eventCount-1. */
  chunkOf(seq: number): number {
    if (!(seq >= 0 && seq < this.eventCount))
      throw new RangeError(`seq ${seq} outside the trace (0..${this.eventCount - 1})`);
    const f = this.t.chunkFirstSeqs;
    let lo = 0;
    let hi = f.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (f[mid]! <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Decoded columns of event chunk i, not cached: in fresh arrays, or with
   * `scratch` in its arrays (no allocation per chunk; valid until its next
   * use). Throws TraceCorruptError (with its gap) for a damaged chunk.
   */
  readColumns(i: number, scratch?: Scratch): EventColumns {
    return this.decodeChunk(i, scratch, 0);
  }

  /**
   * As readColumns(i, scratch), for a scan: in a format 3 trace only the core
   * body is inflated and decoded, and the columns' `pending` fills the side
   * kinds' fields from the side body when an event of one is read through
   * fillEvent (or needSide). A damaged side body is then found only if it is
   * read (docs/FORMAT.md, "Event chunk"). Before format 3, readColumns.
   */
  readCore(i: number, scratch: Scratch): EventColumns {
    return this.decodeChunk(i, scratch, 0, this.sideFill !== null);
  }

  /**
   * As readCore(i, scratch), but the columns may hold only the chunk's first
   * `need` events (at least those; decodeEventPrefix): for a fold that stops
   * there (a seek). Damage anywhere in the chunk's core (format 3; the whole
   * chunk before) is found as by readCore.
   */
  readCoreTo(i: number, need: number, scratch: Scratch): EventColumns {
    return this.decodeChunk(i, scratch, need, this.sideFill !== null);
  }

  /** The side kinds by this build's kind codes (the file's table's marks, remapped), and how to fill them. */
  private makeSideFill(): SideFill {
    const side = this.slots.side;
    const m = this.remap;
    const code = (f: number) => (m === null ? f : f < m.length ? m[f]! : EVENT_KINDS.length + f);
    let top = 0;
    for (let f = 0; f < side.length; f++) if (side[f] === 1) top = Math.max(top, code(f) + 1);
    const mask = new Uint8Array(top);
    for (let f = 0; f < side.length; f++) if (side[f] === 1) mask[code(f)] = 1;
    return { side: mask, fill: (cols, i) => this.fillSide(cols, i) };
  }

  /**
   * Fills core-only columns (readCore's) from their chunk decoded whole. When
   * the chunk does not decode, the events from the one that needed it (i) to
   * the chunk's end are the gap (those before it were read from the core).
   */
  private fillSide(cols: EventColumns, i: number): void {
    const ci = this.chunkOf(cols.firstSeq);
    let w: EventColumns;
    try {
      w = this.decodeChunk(ci, this.sideScratch, 0);
    } catch (e) {
      if (!(e instanceof TraceCorruptError && e.gap)) throw e;
      const gap = { fromSeq: cols.firstSeq + i, toSeq: e.gap.toSeq };
      throw new TraceCorruptError(this.name, e.chunk, e.offset, e.detail, gap, true);
    }
    const n = cols.n;
    cols.cpu.set(w.cpu.subarray(0, n));
    cols.tid.set(w.tid.subarray(0, n));
    cols.a.set(w.a.subarray(0, n));
    cols.b.set(w.b.subarray(0, n));
    cols.c.set(w.c.subarray(0, n));
    cols.sIdx.set(w.sIdx.subarray(0, n));
  }

  private gapError(i: number, b: Bad): TraceCorruptError {
    const from = this.t.chunkFirstSeqs[i]!;
    const gap = { fromSeq: from, toSeq: from + this.t.chunkCounts[i]! - 1 };
    return new TraceCorruptError(this.name, b.no, b.offset, b.what, gap, true);
  }

  /** Chunk i's columns, whole, or with `core` its core (readCore); with need > 0 possibly its first `need` events only (readCoreTo). */
  private decodeChunk(i: number, scratch: Scratch | undefined, need: number, core = false): EventColumns {
    const t = this.t;
    if (!(i >= 0 && i < t.chunkOffsets.length))
      throw new RangeError(`chunk ${i} outside 0..${t.chunkOffsets.length - 1}`);
    const known = t.chunkBad[i];
    if (known) throw this.gapError(i, known);
    const off = t.chunkOffsets[i]!;
    try {
      const fr = readFrame(this.src, off, this.src.size, true);
      if (typeof fr === "string") throw new BodyError(fr);
      if (fr.type !== CHUNK_EVENTS) throw new BodyError(`expected an event chunk, found type ${fr.type}`);
      const { first, n, rawLen, sideLen, body, side } = eventPayload(this.formatMajor, fr.payload);
      if (first !== t.chunkFirstSeqs[i] || n !== t.chunkCounts[i]) {
        throw new BodyError(
          `holds events ${first}..${first + n - 1}, the index says ${t.chunkFirstSeqs[i]}..${t.chunkFirstSeqs[i]! + t.chunkCounts[i]! - 1}`,
        );
      }
      const raw = bodyOf(fr.flags, body, rawLen, MAX_EVENT_BODY, this.inflater);
      const sideRaw = side === null || core ? null : bodyOf(fr.flags, side, sideLen, MAX_EVENT_BODY, this.sideInflater);
      const cols =
        // A prefix is of the core alone (format 3; the whole body before): a read of both streams decodes them whole.
        (need > 0 && need < n && scratch !== undefined && sideRaw === null
          ? decodeEventPrefix(this.formatMajor, raw, n, first, this.slots, need, scratch)
          : null) ?? decodeEventBody(this.formatMajor, raw, n, first, this.slots, scratch, sideRaw);
      if (side !== null && core) cols.pending = this.sideFill;
      // checkColumns' rule, unless the decoder proved it holds (lastDecodeSafe).
      const bad = lastDecodeSafe() ? null : checkColumns(cols);
      if (bad !== null) throw new BodyError(bad);
      const m = this.remap;
      if (m !== null)
        for (let j = 0, k = cols.kind; j < cols.n; j++)
          k[j] = k[j]! < m.length ? m[k[j]!]! : EVENT_KINDS.length + k[j]!;
      return cols;
    } catch (e) {
      if (!isDecodeError(e)) throw e;
      const b = {
        no: numbered(t).chunkNos[i]!,
        offset: off,
        what: `chunk ${t.chunkNos[i]} at byte offset ${off} is damaged: ${e.message}`,
        detail: e.message,
      };
      t.chunkBad[i] = b;
      this.version++;
      throw this.gapError(i, b);
    }
  }

  /** Events of chunk i, decoded and cached. The array and its events are shared: do not mutate them. */
  readChunk(i: number): KEvent[] {
    let evs = this.chunks.get(i);
    if (evs === undefined) {
      const cols = this.decodeChunk(i, this.scratch, 0);
      evs = columnsToEvents(cols);
      this.chunks.set(i, evs, cols.n * 96 + cols.strings.reduce((s, x) => s + 2 * x.length, 0));
    }
    return evs;
  }

  /** The event with this seq (shared object: do not mutate). Throws TraceCorruptError when it is in a gap. */
  eventAt(seq: number): KEvent {
    const i = this.chunkOf(seq);
    return this.readChunk(i)[seq - this.t.chunkFirstSeqs[i]!]!;
  }

  /** Events with from <= seq < to, in order (clamped to the trace). Throws TraceCorruptError at a gap. */
  *events(from = 0, to = this.eventCount): IterableIterator<KEvent> {
    const end = Math.min(to, this.eventCount);
    let seq = Math.max(0, from);
    while (seq < end) {
      const i = this.chunkOf(seq);
      const evs = this.readChunk(i);
      const first = this.t.chunkFirstSeqs[i]!;
      const stop = Math.min(end, first + evs.length);
      for (; seq < stop; seq++) yield evs[seq - first]!;
    }
  }

  /**
   * The state at the nearest usable snapshot with seq <= `seqAtOrBefore`
   * (the initial state for anything below -1; a damaged one is remembered in lostSnapshots and the one before it
   * used). The state is a fresh copy the caller may mutate. Throws
   * TraceCorruptError when there is none (the initial snapshot is missing or
   * damaged, and so is every one up to seqAtOrBefore).
   */
  loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState } {
    const s = this.t.snapshotSeqs;
    seqAtOrBefore = Math.max(-1, seqAtOrBefore);
    let i = lastAtOrBefore(s, seqAtOrBefore);
    for (; i >= 0; i--) {
      const plain = this.snapshotAt(i);
      if (plain !== null) return { seq: s[i]!, state: fromPlain(plain) };
    }
    const first = s.length > 0 ? s[0]! : null;
    const why =
      first === null || first > seqAtOrBefore
        ? first === -1
          ? ""
          : "the initial snapshot is missing"
        : `the snapshots up to seq ${seqAtOrBefore} are damaged`;
    throw new TraceCorruptError(
      this.name,
      -1,
      this.headerEnd,
      `no usable snapshot at or before seq ${seqAtOrBefore}${why ? ` (${why})` : ""}`,
      undefined,
      true,
    );
  }

  /**
   * The state at the first usable snapshot with seq >= `seqAtOrAfter`, or
   * null when there is none: where folding can start again after a gap.
   */
  loadSnapshotFrom(seqAtOrAfter: number): { seq: number; state: KState } | null {
    const s = this.t.snapshotSeqs;
    for (let i = lastAtOrBefore(s, seqAtOrAfter - 1) + 1; i < s.length; i++) {
      const plain = this.snapshotAt(i);
      if (plain !== null) return { seq: s[i]!, state: fromPlain(plain) };
    }
    return null;
  }

  /** Snapshot i from the cache or the file; null when it is damaged (remembered). */
  private snapshotAt(i: number): PlainState | null {
    if (this.t.snapBad[i]) return null;
    let plain = this.snaps.get(i);
    if (plain === undefined) {
      try {
        const [p, w] = this.readSnapshot(i);
        plain = p;
        this.snaps.set(i, plain, w);
      } catch (e) {
        if (!(e instanceof TraceCorruptError)) throw e;
        return null;
      }
    }
    return plain;
  }

  /**
   * Reads every chunk and checks its checksum and contents, remembering what
   * is damaged (gaps, lostSnapshots). Returns the first problem found, or
   * null when all are good. `progress` hears how many of the snapshots and
   * chunks are read, every 256 and at the end.
   */
  verify(progress?: (done: number, total: number) => void): TraceCorruptError | null {
    let first: TraceCorruptError | null = null;
    const t = this.t;
    const total = t.snapshotSeqs.length + t.chunkOffsets.length;
    for (let i = 0; i < t.snapshotSeqs.length; i++) {
      if (progress !== undefined && (i & 255) === 0) progress(i, total);
      if (t.snapBad[i]) continue;
      try {
        this.readSnapshot(i);
      } catch (e) {
        if (!(e instanceof TraceCorruptError)) throw e;
        first ??= e;
      }
    }
    for (let i = 0; i < t.chunkOffsets.length; i++) {
      if (progress !== undefined && (i & 255) === 0) progress(t.snapshotSeqs.length + i, total);
      try {
        this.decodeChunk(i, this.scratch, 0);
      } catch (e) {
        if (!(e instanceof TraceCorruptError)) throw e;
        first ??= e;
      }
    }
    progress?.(total, total);
    return first;
  }

  /** Releases the file. */
  close(): void {
    this.src.close();
  }

  /**
   * The body of the schedule chunk (the run's decisions: schedule.ts bytes,
   * not yet decoded), or null when the trace has none (written before format
   * 2.1, or its chunk was not found). Bounded as every body. Throws
   * TraceCorruptError for a damaged chunk.
   */
  scheduleBytes(): Uint8Array | null {
    const off = this.t.schedule;
    if (off < 0) return null;
    try {
      const fr = readFrame(this.src, off, this.src.size);
      if (typeof fr === "string") throw new BodyError(fr);
      if (fr.type !== CHUNK_SCHEDULE) throw new BodyError(`expected the schedule chunk, found type ${fr.type}`);
      const r = new ByteReader(fr.payload);
      const rawLen = r.uvar();
      return bodyOf(fr.flags, fr.payload.subarray(r.pos), rawLen, MAX_SCHEDULE_BODY);
    } catch (e) {
      if (!isDecodeError(e)) throw e;
      throw new TraceCorruptError(
        this.name,
        -1,
        off,
        `the schedule chunk at byte offset ${off} is damaged: ${e.message}`,
        undefined,
        true,
      );
    }
  }

  /** Reads, checks and validates snapshot i: its plain state and its body size. Remembers a damaged one. */
  private readSnapshot(i: number): [PlainState, number] {
    const t = this.t;
    const known = t.snapBad[i];
    const off = t.snapshotOffsets[i]!;
    const want = t.snapshotSeqs[i]!;
    if (known) throw new TraceCorruptError(this.name, known.no, known.offset, known.detail);
    try {
      const fr = readFrame(this.src, off, this.src.size, true);
      if (typeof fr === "string") throw new BodyError(fr);
      if (fr.type !== CHUNK_SNAPSHOT) throw new BodyError(`expected a snapshot chunk, found type ${fr.type}`);
      const r = new ByteReader(fr.payload);
      const seq = r.svar();
      const rawLen = r.uvar();
      if (seq !== want) throw new BodyError(`snapshot of seq ${seq}, the index says ${want}`);
      const raw = bodyOf(fr.flags, fr.payload.subarray(r.pos), rawLen, MAX_SNAPSHOT_BODY, this.inflater);
      // The plain subset in one pass (msgpack-fast.ts), else the bounds walk and msgpackr: the same value or error.
      const shape = snapshotShape(raw.length);
      const doc = unpackPlain(raw, shape);
      const plain = checkSnapshot(doc !== undefined ? doc : unpackBody(raw, shape), {
        seq: want,
        cpus: this.meta.config.cpus,
      });
      if (typeof plain === "string") throw new BodyError(plain);
      return [plain, raw.length];
    } catch (e) {
      if (!isDecodeError(e)) throw e;
      t.snapBad[i] = {
        no: numbered(t).snapNos[i]!,
        offset: off,
        what: `chunk ${t.snapNos[i]} at byte offset ${off} is damaged: ${e.message}`,
        detail: e.message,
      };
      this.version++;
      throw new TraceCorruptError(this.name, t.snapNos[i]!, off, e.message);
    }
  }
}

/** Index of the last element <= x in an increasing array, -1 if none. */
function lastAtOrBefore(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  if (hi < 0 || !(xs[0]! <= x)) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The error for a path with no file: points at `<path>.partial` when a recording left one. */
function missingError(path: string): TraceError {
  const partial = `${path}.partial`;
  if (existsSync(partial)) {
    return new TraceError(
      "missing",
      `${path}: no such file, but ${partial} exists (a recording that did not finish: crash, kill or full disk); open it with: ktrace info ${partial}`,
      path,
    );
  }
  return new TraceError(
    "missing",
    `${path}: no such file; check the path, or record a trace with: ktrace record <scenario> -o ${path}`,
    path,
  );
}

/**
 * Reads the frame at off, checking bounds and CRC. Returns an explanation when
 * it is not a good frame. `temp`: the payload may be in the source's reused
 * buffer (valid until the next temp read): for a chunk decoded at once.
 */
function readFrame(src: Source, off: number, end: number, temp = false): Frame | string {
  if (off < 0 || off + FRAME_HEADER > end)
    return `cut short inside the chunk header (${Math.max(0, end - off)} of ${FRAME_HEADER} bytes)`;
  const len = readU32(src.readTemp(off, FRAME_HEADER), 4);
  if (len > MAX_PAYLOAD) return `implausible chunk length ${len}`;
  if (off + FRAME_HEADER + len > end)
    return `cut short inside the chunk (${end - off - FRAME_HEADER} of ${len} payload bytes)`;
  const frame = temp ? src.readTemp(off, FRAME_HEADER + len) : src.read(off, FRAME_HEADER + len);
  if (!frameCrcOk(frame, len)) return "checksum mismatch";
  return {
    type: frame[0]!,
    flags: frame[1]!,
    payload: frame.subarray(FRAME_HEADER),
    offset: off,
    length: FRAME_HEADER + len,
  };
}

/** Parses and validates an index chunk's payload; an explanation when it is not valid. */
function parseIndex(fr: Frame, fileBytes: number, min: number, max: number, chunkEvents: number): IndexData | string {
  if (fr.type !== CHUNK_INDEX) return `expected the index chunk, found type ${fr.type}`;
  let ix: unknown;
  try {
    const r = new ByteReader(fr.payload);
    const rawLen = r.uvar();
    // An index lists at most one entry per frame in the file: a few bytes each.
    const raw = bodyOf(fr.flags, fr.payload.subarray(r.pos), rawLen, Math.min(MAX_INDEX_BODY, 4 * fileBytes + 4096));
    ix = unpackBody(raw, indexShape(fileBytes));
  } catch (e) {
    if (!isDecodeError(e)) throw e;
    return `index does not decode: ${e.message}`;
  }
  return checkIndex(ix, { min, max, chunkEvents });
}

function readIndex(
  src: Source,
  off: number,
  len: number,
  min: number,
  max: number,
  events: number,
  chunkEvents: number,
): IndexData | string {
  if (off < min || off + len > max) return `offset ${off} is outside the file`;
  const fr = readFrame(src, off, off + len);
  if (typeof fr === "string") return fr;
  const ix = parseIndex(fr, src.size, min, off, chunkEvents);
  if (typeof ix === "string") return ix;
  if (ix.events !== events) return `index has ${ix.events} events, the footer ${events}`;
  return ix;
}

/**
 * Snapshots missing where the writer always puts one: the initial state
 * (seq -1), and (before format 2.2) after every snapshotEvery-th event (up to
 * the last snapshot present). A missing one costs no events (the state is
 * folded from an earlier one) but means chunks were removed; the initial one
 * missing means the states before the first snapshot are unknown. From 2.2
 * the writer skips the snapshots whose state outweighs the events since the
 * last one (writer.ts, snapshotDue): only the initial one is required.
 */
function missingSnapshots(t: Tables, every: number, sparse: boolean): string[] {
  const s = t.snapshotSeqs;
  if (s.length === 0)
    return t.events > 0 || t.chunkOffsets.length > 0 ? ["the trace holds no snapshot, not even the initial state"] : [];
  const out: string[] = [];
  if (s[0] !== -1) out.push(`the initial snapshot (seq -1) is missing: the states before seq ${s[0]} are unknown`);
  if (sparse) return out;
  const last = s[s.length - 1]!;
  let j = 0;
  const missing: number[] = [];
  for (let q = every - 1; q < last && missing.length <= LIST; q += every) {
    while (j < s.length && s[j]! < q) j++;
    if (s[j] !== q) missing.push(q);
  }
  if (missing.length)
    out.push(
      `no snapshot of seq ${missing.slice(0, LIST).join(", ")}${missing.length > LIST ? " and more" : ""}, where the writer puts one (every ${every} events): a chunk was removed`,
    );
  return out;
}

/** Whether a trace of this format may skip snapshots (2.2 on). */
function sparseSnapshots(major: number, minor: number): boolean {
  return major > 2 || (major === 2 && minor >= 2);
}

interface Found {
  off: number;
  no: number;
  /** Event chunk: first seq and count. Snapshot: seq in `first`, n = 0. */
  first: number;
  n: number;
}

interface Scan {
  tables: Tables;
  /** The index chunk found, validated (its offsets may not match the chunks: see warnings). */
  index: IndexData | null;
  /** Everything good, and the index and a footer pointing at it match the chunks. */
  complete: boolean;
  /** What cost events or ended the scan early, in file order. */
  problems: string[];
  warnings: string[];
}

/** Bytes per frame at least: a frame header and a 3-byte prefix. */
const MIN_FRAME = FRAME_HEADER + 3;

/**
 * Looks for the next good frame after a damaged one at `off`: first where its
 * length says the next one starts, then at every byte (cheap tests first;
 * CRCs only for plausible frame headers, within `budget` bytes checksummed).
 * Returns the offset, or -1.
 */
function resync(src: Source, off: number, size: number, budget: { bytes: number }): number {
  const h = off + FRAME_HEADER <= size ? src.read(off, FRAME_HEADER) : null;
  const tryAt = (q: number): boolean => {
    if (q + FRAME_HEADER > size) return false;
    const len = readU32(src.read(q, FRAME_HEADER), 4);
    if (len > MAX_PAYLOAD || q + FRAME_HEADER + len > size) return false;
    if (budget.bytes < FRAME_HEADER + len) return false;
    budget.bytes -= FRAME_HEADER + len;
    return typeof readFrame(src, q, size) !== "string";
  };
  if (h) {
    const next = off + FRAME_HEADER + readU32(h, 4);
    if (next > off && next <= size - FRAME_HEADER && tryAt(next)) return next;
  }
  const WINDOW = 1 << 20;
  for (let pos = off + 1; pos + FRAME_HEADER <= size && budget.bytes > 0; pos += WINDOW) {
    const w = src.read(pos, Math.min(WINDOW + FRAME_HEADER - 1, size - pos));
    for (let k = 0; k + FRAME_HEADER <= w.length && k < WINDOW; k++) {
      const t = w[k]!;
      if (t < CHUNK_EVENTS || t > CHUNK_INDEX || w[k + 1]! > 1 || w[k + 2] !== 0 || w[k + 3] !== 0) continue;
      if (tryAt(pos + k)) return pos + k;
      if (budget.bytes <= 0) return -1;
    }
  }
  return -1;
}

/**
 * Walks the chunks from the header on, checking each frame, skipping damaged
 * ones (resync), and builds the tables from every good chunk: event chunks
 * by seq (a repeated one is dropped, a missing range becomes a phantom chunk
 * with the reason), snapshots by seq. When it meets the index chunk it
 * cross-checks it against the chunks found, and takes the outcome from it.
 */
function scanChunks(
  src: Source,
  start: number,
  size: number,
  major: number,
  chunkEvents: number,
  footer: ReturnType<typeof parseFooter>,
): Scan {
  const evs: Found[] = [];
  const snaps: Found[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  /** Damaged regions, in file order: [offset, end), chunk number, what. */
  const damage: { off: number; end: number; what: string; no: number }[] = [];
  let index: IndexData | null = null;
  let indexOff = -1;
  let scheduleOff = -1;
  let footerOk = false;
  let off = start;
  let no = 0;
  const budget = { bytes: 2 * size + (1 << 20) };
  // Events a file of this size can hold at most: the cap on any seq a chunk claims.
  const maxEvents = Math.floor((size - start) / MIN_FRAME) * chunkEvents;
  for (;;) {
    if (off >= size) {
      if (!index) problems.push("no footer: the file was cut short");
      else problems.push("no footer: the file was cut short after the index");
      break;
    }
    if (index) {
      // The index is the last chunk; the footer follows it.
      if (size - off === FOOTER_SIZE && parseFooter(src.read(off, FOOTER_SIZE))) footerOk = true;
      else problems.push(size - off < FOOTER_SIZE ? "footer cut short" : "damaged footer");
      break;
    }
    const fr = readFrame(src, off, size);
    if (typeof fr === "string") {
      const next = resync(src, off, size, budget);
      const cut = fr.startsWith("cut short");
      const what =
        fr === "checksum mismatch"
          ? `CRC mismatch in chunk ${no} at byte offset ${off}`
          : cut
            ? `last chunk cut short: chunk ${no} at byte offset ${off}`
            : `chunk ${no} at byte offset ${off}: ${fr}`;
      const gapWhat = `chunk ${no} at byte offset ${off} is damaged: ${cut ? "its length runs past the end of the file" : fr}`;
      if (next < 0) {
        problems.push(what);
        damage.push({ off, end: size, what: cut ? what : gapWhat, no });
        break;
      }
      problems.push(cut ? gapWhat : what);
      damage.push({ off, end: next, what: gapWhat, no });
      off = next;
      no++;
      continue;
    }
    let bad: string | null = null;
    try {
      const r = new ByteReader(fr.payload);
      if (fr.type === CHUNK_EVENTS) {
        const { first, n } = eventPayload(major, fr.payload);
        if (n < 1 || n > chunkEvents)
          bad = `claims ${n} events, outside the 1..${chunkEvents} a chunk of this trace holds`;
        else if (first + n > maxEvents)
          bad = `claims events from seq ${first}, more than a file of ${size} bytes can hold`;
        else evs.push({ off, no, first, n });
      } else if (fr.type === CHUNK_SNAPSHOT) {
        const seq = r.svar();
        if (seq < -1 || seq >= maxEvents) bad = `snapshot of seq ${seq}, outside what the file can hold`;
        else snaps.push({ off, no, first: seq, n: 0 });
      } else if (fr.type === CHUNK_INDEX) {
        const got = parseIndex(fr, size, start, off, chunkEvents);
        if (typeof got === "string") bad = got;
        else {
          index = got;
          indexOff = off;
        }
      } else if (fr.type === CHUNK_SCHEDULE) {
        scheduleOff = off;
      }
      // Unknown chunk types (from a newer minor version) are skipped.
    } catch (e) {
      if (!isDecodeError(e)) throw e;
      bad = e.message;
    }
    if (bad !== null) {
      const what = `chunk ${no} at byte offset ${off} is damaged: ${bad}`;
      problems.push(what);
      damage.push({ off, end: off + fr.length, what, no });
    }
    off += fr.length;
    no++;
  }

  // Event chunks by seq: a repeated range is dropped, a missing one becomes a phantom.
  const t = emptyTables();
  const dup: string[] = [];
  evs.sort((a, b) => a.first - b.first || a.off - b.off);
  let prevOff = start;
  const reasonBetween = (lo: number, hi: number): { what: string; no: number; off: number } => {
    const d = damage.filter((x) => x.end > lo && x.off < hi);
    if (d.length > 0)
      return {
        what:
          d.length === 1
            ? d[0]!.what
            : `${d[0]!.what}, and ${d.length - 1} more damaged chunk${d.length > 2 ? "s" : ""}`,
        no: d[0]!.no,
        off: d[0]!.off,
      };
    return {
      what: `no chunk in the file holds them (between byte offsets ${lo} and ${hi}: chunks removed?)`,
      no: -1,
      off: lo,
    };
  };
  const phantom = (from: number, to: number, lo: number, hi: number) => {
    const why = reasonBetween(lo, hi);
    t.chunkOffsets.push(-1);
    t.chunkFirstSeqs.push(from);
    t.chunkCounts.push(to - from + 1);
    t.chunkNos.push(why.no);
    t.chunkBad.push({ no: why.no, offset: why.off, what: why.what, detail: why.what });
  };
  for (const c of evs) {
    if (c.first < t.events) {
      dup.push(`chunk ${c.no} at byte offset ${c.off} repeats events ${c.first}..${c.first + c.n - 1}`);
      continue;
    }
    if (c.first > t.events) phantom(t.events, c.first - 1, Math.min(prevOff, c.off), Math.max(prevOff, c.off));
    t.chunkOffsets.push(c.off);
    t.chunkFirstSeqs.push(c.first);
    t.chunkCounts.push(c.n);
    t.chunkNos.push(c.no);
    t.chunkBad.push(null);
    t.events = c.first + c.n;
    prevOff = c.off;
  }
  // Snapshots by seq; one past the events recovered means the events before it existed.
  snaps.sort((a, b) => a.first - b.first || a.off - b.off);
  let lastSnap = -2;
  for (const s of snaps) {
    if (s.first === lastSnap) {
      dup.push(`chunk ${s.no} at byte offset ${s.off} repeats the snapshot of seq ${s.first}`);
      continue;
    }
    lastSnap = s.first;
    t.snapshotSeqs.push(s.first);
    t.snapshotOffsets.push(s.off);
    t.snapNos.push(s.no);
    t.snapBad.push(null);
  }
  const lastEnd = index && index.events > t.events ? index.events : Math.max(t.events, lastSnap + 1);
  if (lastEnd > t.events) {
    // The index (or a snapshot) says there were more events than the chunks found hold.
    const hole = reasonBetween(prevOff, size);
    const trailing = damage.some((d) => d.end > prevOff)
      ? hole
      : { what: "the file ends before them", no: -1, off: size };
    t.chunkOffsets.push(-1);
    t.chunkFirstSeqs.push(t.events);
    t.chunkCounts.push(lastEnd - t.events);
    t.chunkNos.push(trailing.no);
    t.chunkBad.push({ no: trailing.no, offset: trailing.off, what: trailing.what, detail: trailing.what });
    t.events = lastEnd;
  }
  if (dup.length) warnings.push(listed(dup));

  // The index against the chunks found.
  let matches = false;
  if (index) {
    const found = new Map<number, number>();
    for (const c of evs) found.set(c.first, c.off);
    const snapAt = new Map<number, number>();
    for (const s of snaps) snapAt.set(s.first, s.off);
    const lostSnaps = index.snapshotSeqs.filter((s) => !snapAt.has(s));
    // Event chunks the index lists but the file lacks; those inside a gap are reported by the gap.
    const inGap = (seq: number) => {
      const i = lastAtOrBefore(t.chunkFirstSeqs, seq);
      return i >= 0 && t.chunkBad[i] !== null && seq < t.chunkFirstSeqs[i]! + t.chunkCounts[i]!;
    };
    const lostChunks = index.chunkFirstSeqs.filter((f) => !found.has(f) && !inGap(f));
    let moved = 0;
    index.chunkFirstSeqs.forEach((f, i) => {
      if (found.has(f) && found.get(f) !== index!.chunkOffsets[i]) moved++;
    });
    index.snapshotSeqs.forEach((s, i) => {
      if (snapAt.has(s) && snapAt.get(s) !== index!.snapshotOffsets[i]) moved++;
    });
    if (lostSnaps.length) {
      warnings.push(
        `the index lists ${lostSnaps.length === 1 ? "a snapshot" : `${lostSnaps.length} snapshots`} of seq ${lostSnaps.slice(0, LIST).join(", ")}${lostSnaps.length > LIST ? " and more" : ""} that the file does not hold`,
      );
    }
    if (lostChunks.length) {
      warnings.push(
        `the index lists ${lostChunks.length} event chunk${lostChunks.length === 1 ? "" : "s"} the file does not hold (from seq ${lostChunks[0]})`,
      );
    }
    if (moved)
      warnings.push(`the index's byte offsets do not match ${moved} of the chunks (bytes were removed or inserted)`);
    const extra = evs.length + snaps.length - dup.length - index.chunkOffsets.length - index.snapshotSeqs.length;
    if (extra > 0) warnings.push(`the file holds ${extra} chunk${extra === 1 ? "" : "s"} the index does not list`);
    matches =
      lostSnaps.length === 0 &&
      lostChunks.length === 0 &&
      !t.chunkBad.some((b) => b !== null) &&
      moved === 0 &&
      extra <= 0 &&
      index.events === t.events;
  }
  const complete =
    matches &&
    footerOk &&
    damage.length === 0 &&
    dup.length === 0 &&
    footer !== null &&
    footer.indexOffset === indexOff &&
    footer.events === t.events;
  t.schedule = scheduleOff;
  return { tables: t, index, complete, problems, warnings };
}
