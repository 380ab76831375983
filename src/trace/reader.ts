// TraceReader: opens a .ktrace by reading its header, footer and index only,
// and loads event chunks and snapshots on demand through small LRU caches,
// so memory does not grow with the trace's length.
//
// A file without a valid footer or index (cut short by a crash, a kill, a
// full disk or a partial download) opens in recovery mode: the chunks are
// scanned forward from the header using their lengths and checksums, and
// every complete chunk up to the first bad or missing one is usable.

import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { constants as zc, gunzipSync, inflateRawSync } from "node:zlib";
import { fromPlain, type PlainState } from "../kernel/state.ts";
import type { KEvent, KState, Outcome } from "../kernel/types.ts";
import { ByteReader } from "./bytes.ts";
import { crc32 } from "./compress.ts";
import { TraceCorruptError, TraceError } from "./errors.ts";
import { embeddedTraceIn, isKtrace, looksLikeText } from "./embed.ts";
import { BodyError, Scratch, columnsToEvents, decodeEventBody, slotTable, type EventColumns, type SlotTable } from "./event-codec.ts";
import {
  CHUNK_EVENTS, CHUNK_INDEX, CHUNK_SCHEDULE, CHUNK_SNAPSHOT, FLAG_DEFLATE, FOOTER_SIZE, FORMAT_MAJOR, FORMAT_MAJOR_MIN, FRAME_HEADER, HEADER_FIXED,
  MAGIC, MAX_PAYLOAD, frameCrcOk, packr, parseFooter, readU32, type HeaderData, type IndexData,
} from "./format.ts";

export interface OpenOptions {
  /** Event chunks kept decoded (LRU); default 16. */
  cacheChunks?: number;
  /**
   * Check every chunk's checksum while opening (reads the whole file). A bad
   * chunk then opens the trace in recovery mode up to it, instead of failing
   * later when the chunk is read.
   */
  verify?: boolean;
}

/** Set when the trace is incomplete or damaged: what could be used. */
export interface Recovery {
  /** Events recovered: seqs 0 .. events-1. */
  events: number;
  /** Snapshots recovered, including the initial state. */
  snapshots: number;
  /** Last recovered seq (-1 when none). */
  lastSeq: number;
  /** What was wrong, e.g. "no footer: the file was cut short". */
  reason: string;
}

/** Where the bytes come from: a file descriptor or a buffer. Counts bytes read. */
interface Source {
  readonly size: number;
  bytesRead: number;
  /** Exactly len bytes at pos; the caller has checked pos + len <= size. */
  read(pos: number, len: number): Uint8Array;
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
  close(): void {}
}

class FileSource implements Source {
  bytesRead = 0;
  constructor(private fd: number, readonly size: number, private readonly path: string) {}
  read(pos: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    try {
      while (done < len) {
        const n = readSync(this.fd, out, done, len - done, pos + done);
        if (n === 0) break;
        done += n;
      }
    } catch (e) {
      throw new TraceError("read", `${this.path}: cannot read: ${e instanceof Error ? e.message : String(e)}`, this.path);
    }
    this.bytesRead += done;
    if (done < len) throw new TraceError("read", `${this.path}: file shrank while reading (expected ${len} bytes at offset ${pos}); do not modify a trace while reading it`, this.path);
    return out;
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

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** Decompresses a body according to the frame flags, checking its length. */
function body(flags: number, bytes: Uint8Array, rawLen: number): Uint8Array {
  if (!(flags & FLAG_DEFLATE)) {
    if (bytes.length !== rawLen) throw new BodyError(`body is ${bytes.length} bytes, expected ${rawLen}`);
    return bytes;
  }
  let out: Uint8Array;
  try {
    out = inflateRawSync(bytes);
  } catch (e) {
    throw new BodyError(`body does not inflate (${e instanceof Error ? e.message : String(e)})`);
  }
  if (out.length !== rawLen) throw new BodyError(`body inflates to ${out.length} bytes, expected ${rawLen}`);
  return out;
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isIntArray(x: unknown, n?: number): x is number[] {
  return Array.isArray(x) && (n === undefined || x.length === n) && x.every((v) => Number.isSafeInteger(v));
}

class Lru<V> {
  private readonly m = new Map<number, V>();
  constructor(readonly capacity: number) {}
  get(k: number): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: number, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    while (this.m.size > this.capacity) this.m.delete(this.m.keys().next().value!);
  }
  get size(): number {
    return this.m.size;
  }
}

/**
 * Opens a trace from a path or from its bytes (gzip-wrapped files, magic
 * 1f 8b, are decompressed in memory). Throws TraceError (exitCode 2) for a
 * missing file, a directory, an empty file, a file that is not a trace, a
 * newer major format, or a header cut short or damaged.
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
  /** Null for a complete trace; otherwise what recovery mode could use. */
  readonly recovery: Recovery | null;
  /** Number of events (recovered events in recovery mode). */
  readonly eventCount: number;
  /** How the run ended; null when unknown (recovery mode without an index). */
  readonly outcome: Outcome | null;
  /** Virtual time of the last event, or null when unknown. */
  readonly endTime: number | null;
  /** Seqs of the snapshots, increasing; -1 is the initial state. */
  readonly snapshotSeqs: readonly number[];
  /** First seq of each event chunk, increasing. */
  readonly chunkFirstSeqs: readonly number[];
  /** Event count of each event chunk. */
  readonly chunkCounts: readonly number[];

  private readonly src: Source;
  private readonly slots: SlotTable;
  private readonly chunkOffsets: number[];
  private readonly snapshotOffsets: number[];
  /** Offset of the schedule chunk (format 2.1), null when the index names none. */
  private readonly scheduleOffset: number | null;
  private readonly chunks: Lru<KEvent[]>;
  private readonly snaps = new Lru<PlainState>(4);
  private readonly scratch = new Scratch();
  private readonly headerEnd: number;

  private constructor(init: {
    path: string | undefined; src: Source; fileBytes: number; gzipped: boolean; major: number; minor: number;
    meta: HeaderData; headerEnd: number; index: IndexData; recovery: Recovery | null; cacheChunks: number; endTime: number | null;
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
    this.slots = slotTable(init.meta.kinds);
    const ix = init.index;
    this.recovery = init.recovery;
    this.eventCount = ix.events;
    this.outcome = ix.outcome;
    this.endTime = init.endTime;
    this.snapshotSeqs = ix.snapshotSeqs;
    this.snapshotOffsets = ix.snapshotOffsets;
    this.chunkFirstSeqs = ix.chunkFirstSeqs;
    this.chunkCounts = ix.chunkCounts;
    this.chunkOffsets = ix.chunkOffsets;
    const so = ix.schedule;
    this.scheduleOffset = typeof so === "number" && Number.isSafeInteger(so) && so >= init.headerEnd && so < init.src.size ? so : null;
    this.chunks = new Lru(Math.max(1, init.cacheChunks));
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
        if (st.isDirectory()) throw new TraceError("directory", `${input}: is a directory, not a trace; pass the path of a .ktrace file`, input);
        fd = openSync(input, "r");
      } catch (e) {
        if (e instanceof TraceError) throw e;
        const code = typeof e === "object" && e !== null && "code" in e ? (e as { code: unknown }).code : undefined;
        if (code === "ENOENT" || code === "ENOTDIR") throw new TraceError("missing", `${input}: no such file; check the path, or record a trace with: ktrace record <scenario> -o ${input}`, input);
        if (code === "EISDIR") throw new TraceError("directory", `${input}: is a directory, not a trace; pass the path of a .ktrace file`, input);
        throw new TraceError("read", `${input}: cannot open (${e instanceof Error ? e.message : String(e)}); check its permissions`, input);
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
      if (e instanceof TraceError) throw e;
      // Anything else is a bug or a damaged header we did not anticipate.
      throw new TraceError("bad-header", `${name}: cannot read the trace header (${e instanceof Error ? e.message : String(e)}); the file is damaged: re-record it`, path);
    }
  }

  private static openSource(src: Source, path: string | undefined, name: string, opts: OpenOptions): TraceReader {
    const fileBytes = src.size;
    if (fileBytes === 0) throw new TraceError("empty", `${name}: empty file (0 bytes), not a trace; re-record it`, path);
    let gzipped = false;
    const head = src.read(0, Math.min(fileBytes, HEADER_FIXED));
    if (head[0] === 0x1f && (head.length < 2 || head[1] === 0x8b)) {
      gzipped = true;
      const all = src.read(head.length, fileBytes - head.length);
      const whole = new Uint8Array(fileBytes);
      whole.set(head, 0);
      whole.set(all, head.length);
      const counted = src.bytesRead;
      src.close();
      let raw: Uint8Array;
      try {
        raw = gunzipSync(whole);
      } catch {
        // Cut short: take what inflates, recovery mode handles the rest.
        try {
          raw = gunzipSync(whole, { finishFlush: zc.Z_SYNC_FLUSH });
        } catch (e) {
          throw new TraceError("bad-header", `${name}: gzip-wrapped but does not decompress (${e instanceof Error ? e.message : String(e)}); the file is damaged: re-record it`, path);
        }
      }
      if (raw.length === 0) throw new TraceError("bad-header", `${name}: gzip-wrapped file holds no data (cut short?); re-record it`, path);
      src = new MemSource(raw);
      src.bytesRead = counted;
      const r = TraceReader.parse(src, path, name, fileBytes, true, opts);
      return r;
    }
    // Text, such as a ktrace report or text pasted from one, holding an embedded trace (embed.ts).
    if (!isKtrace(head) && looksLikeText(head)) {
      const inner = embeddedTraceIn(src.read(0, fileBytes), name);
      if (inner) {
        src.close();
        return TraceReader.openSource(new MemSource(inner), path, name, opts);
      }
    }
    return TraceReader.parse(src, path, name, fileBytes, gzipped, opts);
  }

  private static parse(src: Source, path: string | undefined, name: string, fileBytes: number, gzipped: boolean, opts: OpenOptions): TraceReader {
    const size = src.size;
    const gzNote = gzipped ? " (after gunzip)" : "";
    const head = src.read(0, Math.min(size, HEADER_FIXED));
    const nMagic = Math.min(head.length, MAGIC.length);
    for (let i = 0; i < nMagic; i++) {
      if (head[i] !== MAGIC[i]) {
        throw new TraceError("bad-magic", `${name}: not a ktrace file (starts with ${hex(head.subarray(0, Math.min(8, head.length)))}${gzNote}); pass a trace written by ktrace record`, path);
      }
    }
    if (head.length < HEADER_FIXED) {
      throw new TraceError("bad-header", `${name}: truncated header (file is ${size} bytes${gzNote}, the header alone needs more); the trace is unusable: re-record it`, path);
    }
    const major = head[8]! | (head[9]! << 8);
    const minor = head[10]! | (head[11]! << 8);
    if (major > FORMAT_MAJOR) {
      throw new TraceError("newer-version", `${name}: written by a newer ktrace (format ${major}.x); this ktrace reads formats ${FORMAT_MAJOR_MIN}.x to ${FORMAT_MAJOR}.x: upgrade ktrace`, path);
    }
    if (major < FORMAT_MAJOR_MIN) {
      throw new TraceError("newer-version", `${name}: written in format ${major}.${minor}, which this ktrace (formats ${FORMAT_MAJOR_MIN}.x to ${FORMAT_MAJOR}.x) does not read; re-record it`, path);
    }
    const metaLen = readU32(head, 12);
    const headerEnd = HEADER_FIXED + metaLen + 4;
    if (metaLen > MAX_PAYLOAD || headerEnd > size) {
      throw new TraceError("bad-header", `${name}: truncated header (file is ${size} bytes${gzNote}, the header needs ${headerEnd}); the trace is unusable: re-record it`, path);
    }
    const rest = src.read(HEADER_FIXED, metaLen + 4);
    const whole = new Uint8Array(HEADER_FIXED + metaLen + 4);
    whole.set(head, 0);
    whole.set(rest, HEADER_FIXED);
    // The header CRC covers everything before it.
    if (crc32(whole, 0, HEADER_FIXED + metaLen) !== readU32(whole, HEADER_FIXED + metaLen)) throw new TraceError("bad-header", `${name}: damaged header (checksum mismatch); the trace is unusable: re-record it`, path);
    const meta = parseMeta(whole.subarray(HEADER_FIXED, HEADER_FIXED + metaLen));
    if (typeof meta === "string") throw new TraceError("bad-header", `${name}: bad header (${meta}); the trace is unusable: re-record it`, path);

    const cacheChunks = opts.cacheChunks ?? 16;
    const base = { path, src, fileBytes, gzipped, major, minor, meta, headerEnd, cacheChunks };
    if (!opts.verify && size >= headerEnd + FOOTER_SIZE) {
      const footer = parseFooter(src.read(size - FOOTER_SIZE, FOOTER_SIZE));
      if (footer) {
        const ix = readIndex(src, footer.indexOffset, footer.indexLength, headerEnd, size - FOOTER_SIZE, footer.events);
        if (typeof ix !== "string") return new TraceReader({ ...base, index: ix, recovery: null, endTime: ix.endTime });
      }
    }
    const scan = scanChunks(src, headerEnd, size);
    if (scan.complete) {
      return new TraceReader({ ...base, index: scan.index, recovery: null, endTime: scan.index.endTime });
    }
    const ix = scan.index;
    return new TraceReader({
      ...base, index: ix, endTime: scan.sawIndex ? ix.endTime : null,
      recovery: { events: ix.events, snapshots: ix.snapshotSeqs.length, lastSeq: ix.events - 1, reason: scan.why },
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

  /** Number of event chunks. */
  get chunkCount(): number {
    return this.chunkOffsets.length;
  }

  /** Event chunks currently held decoded (at most cacheChunks). */
  get cachedChunks(): number {
    return this.chunks.size;
  }

  /** Index of the event chunk holding seq. Throws RangeError outside 0..eventCount-1. */
  chunkOf(seq: number): number {
    if (!(seq >= 0 && seq < this.eventCount)) throw new RangeError(`seq ${seq} outside the trace (0..${this.eventCount - 1})`);
    const f = this.chunkFirstSeqs;
    let lo = 0;
    let hi = f.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (f[mid]! <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Decoded columns of event chunk i (fresh arrays, not cached; for bulk scans). */
  readColumns(i: number): EventColumns {
    return this.decodeChunk(i, undefined);
  }

  private decodeChunk(i: number, scratch: Scratch | undefined): EventColumns {
    if (!(i >= 0 && i < this.chunkOffsets.length)) throw new RangeError(`chunk ${i} outside 0..${this.chunkOffsets.length - 1}`);
    const off = this.chunkOffsets[i]!;
    const fr = this.frameAt(off);
    const where = (what: string) => new TraceCorruptError(this.path ?? this.name, this.fileChunkNo(off), off, what);
    if (fr.type !== CHUNK_EVENTS) throw where(`expected an event chunk, found type ${fr.type}`);
    try {
      const r = new ByteReader(fr.payload);
      const first = r.uvar();
      const n = r.uvar();
      const rawLen = r.uvar();
      if (first !== this.chunkFirstSeqs[i] || n !== this.chunkCounts[i]) {
        throw new BodyError(`holds events ${first}..${first + n - 1}, the index says ${this.chunkFirstSeqs[i]}..${this.chunkFirstSeqs[i]! + this.chunkCounts[i]! - 1}`);
      }
      const raw = body(fr.flags, fr.payload.subarray(r.pos), rawLen);
      return decodeEventBody(this.formatMajor, raw, n, first, this.slots, scratch);
    } catch (e) {
      if (e instanceof TraceError) throw e;
      throw where(e instanceof Error ? e.message : String(e));
    }
  }

  /** Events of chunk i, decoded and cached. The array and its events are shared: do not mutate them. */
  readChunk(i: number): KEvent[] {
    let evs = this.chunks.get(i);
    if (evs === undefined) {
      evs = columnsToEvents(this.decodeChunk(i, this.scratch));
      this.chunks.set(i, evs);
    }
    return evs;
  }

  /** The event with this seq (shared object: do not mutate). */
  eventAt(seq: number): KEvent {
    const i = this.chunkOf(seq);
    return this.readChunk(i)[seq - this.chunkFirstSeqs[i]!]!;
  }

  /** Events with from <= seq < to, in order (clamped to the trace). */
  *events(from = 0, to = this.eventCount): IterableIterator<KEvent> {
    const end = Math.min(to, this.eventCount);
    let seq = Math.max(0, from);
    while (seq < end) {
      const i = this.chunkOf(seq);
      const evs = this.readChunk(i);
      const first = this.chunkFirstSeqs[i]!;
      const stop = Math.min(end, first + evs.length);
      for (; seq < stop; seq++) yield evs[seq - first]!;
    }
  }

  /**
   * The state at the nearest snapshot with seq <= `seqAtOrBefore` (the
   * initial state, seq -1, for anything before the first). The state is a
   * fresh copy the caller may mutate.
   */
  loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState } {
    const s = this.snapshotSeqs;
    if (s.length === 0) throw new TraceCorruptError(this.path ?? this.name, 0, this.headerEnd, "the trace holds no snapshot, not even the initial state");
    let lo = 0;
    let hi = s.length - 1;
    if (!(seqAtOrBefore >= s[0]!)) hi = 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= seqAtOrBefore) lo = mid;
      else hi = mid - 1;
    }
    let plain = this.snaps.get(lo);
    if (plain === undefined) {
      plain = this.readSnapshot(lo);
      this.snaps.set(lo, plain);
    }
    return { seq: s[lo]!, state: fromPlain(plain) };
  }

  /**
   * Reads every chunk and checks its checksum and contents. Returns null when
   * all are good, else the first problem (also thrown later by the reads).
   */
  verify(): TraceCorruptError | null {
    try {
      for (let i = 0; i < this.snapshotSeqs.length; i++) this.readSnapshot(i);
      for (let i = 0; i < this.chunkOffsets.length; i++) this.readColumns(i);
    } catch (e) {
      if (e instanceof TraceCorruptError) return e;
      throw e;
    }
    return null;
  }

  /** Releases the file. */
  close(): void {
    this.src.close();
  }

  private readSnapshot(i: number): PlainState {
    const off = this.snapshotOffsets[i]!;
    const fr = this.frameAt(off);
    const where = (what: string) => new TraceCorruptError(this.path ?? this.name, this.fileChunkNo(off), off, what);
    if (fr.type !== CHUNK_SNAPSHOT) throw where(`expected a snapshot chunk, found type ${fr.type}`);
    try {
      const r = new ByteReader(fr.payload);
      const seq = r.svar();
      const rawLen = r.uvar();
      if (seq !== this.snapshotSeqs[i]) throw new BodyError(`snapshot of seq ${seq}, the index says ${this.snapshotSeqs[i]}`);
      const plain = packr.unpack(body(fr.flags, fr.payload.subarray(r.pos), rawLen)) as PlainState;
      if (!isObj(plain) || !Array.isArray(plain.cpus) || !Array.isArray(plain.procs)) throw new BodyError("snapshot is not a kernel state");
      return plain;
    } catch (e) {
      if (e instanceof TraceError) throw e;
      throw where(e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * The body of the schedule chunk (the run's decisions: schedule.ts bytes),
   * or null when the trace has none (written before format 2.1, or recovered
   * without its index). Throws TraceCorruptError for a damaged chunk.
   */
  scheduleBytes(): Uint8Array | null {
    const off = this.scheduleOffset;
    if (off === null) return null;
    const fr = this.frameAt(off);
    const where = (what: string) => new TraceCorruptError(this.path ?? this.name, this.fileChunkNo(off), off, what);
    if (fr.type !== CHUNK_SCHEDULE) throw where(`expected the schedule chunk, found type ${fr.type}`);
    try {
      const r = new ByteReader(fr.payload);
      const rawLen = r.uvar();
      if (rawLen > MAX_PAYLOAD) throw new BodyError(`schedule body of ${rawLen} bytes, more than a chunk holds`);
      return body(fr.flags, fr.payload.subarray(r.pos), rawLen);
    } catch (e) {
      if (e instanceof TraceError) throw e;
      throw where(e instanceof Error ? e.message : String(e));
    }
  }

  /** Reads and checks the frame at offset. */
  private frameAt(off: number): Frame {
    const fr = readFrame(this.src, off, this.src.size);
    if (typeof fr === "string") throw new TraceCorruptError(this.path ?? this.name, this.fileChunkNo(off), off, fr);
    return fr;
  }

  /** Number of the chunk at offset, counting event and snapshot chunks in file order from 0. */
  private fileChunkNo(off: number): number {
    const below = (a: readonly number[]) => {
      let lo = 0;
      let hi = a.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (a[mid]! < off) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    return below(this.chunkOffsets) + below(this.snapshotOffsets);
  }
}


/** Validates the header meta; returns an explanation when it is not usable. */
function parseMeta(bytes: Uint8Array): HeaderData | string {
  let m: unknown;
  try {
    m = packr.unpack(bytes);
  } catch (e) {
    return `meta does not decode: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (!isObj(m)) return "meta is not a map";
  for (const k of ["scenario", "fix", "writer"]) if (typeof m[k] !== "string") return `meta field ${k} is missing or not a string`;
  for (const k of ["seed", "snapshotEvery", "maxEvents", "chunkEvents"]) if (typeof m[k] !== "number") return `meta field ${k} is missing or not a number`;
  if (!isObj(m.config) || typeof m.config.cpus !== "number") return "meta field config is missing or has no cpus";
  if (!isObj(m.options)) return "meta field options is not a map";
  if (!Array.isArray(m.kinds) || !m.kinds.every((k) => Array.isArray(k) && typeof k[0] === "string" && typeof k[1] === "number")) {
    return "meta field kinds is not a kind table";
  }
  return m as unknown as HeaderData;
}

/** Reads the frame at off, checking bounds and CRC. Returns an explanation when it is not a good frame. */
function readFrame(src: Source, off: number, end: number): Frame | string {
  if (off + FRAME_HEADER > end) return `cut short inside the chunk header (${end - off} of ${FRAME_HEADER} bytes)`;
  const h = src.read(off, FRAME_HEADER);
  const len = readU32(h, 4);
  if (len > MAX_PAYLOAD) return `implausible chunk length ${len}`;
  if (off + FRAME_HEADER + len > end) return `cut short inside the chunk (${end - off - FRAME_HEADER} of ${len} payload bytes)`;
  const payload = src.read(off + FRAME_HEADER, len);
  const frame = new Uint8Array(FRAME_HEADER + len);
  frame.set(h, 0);
  frame.set(payload, FRAME_HEADER);
  if (!frameCrcOk(frame, len)) return "checksum mismatch";
  return { type: h[0]!, flags: h[1]!, payload: frame.subarray(FRAME_HEADER), offset: off, length: FRAME_HEADER + len };
}

/** Parses an index chunk's payload into IndexData; an explanation when it is not valid. */
function parseIndex(fr: Frame): IndexData | string {
  if (fr.type !== CHUNK_INDEX) return `expected the index chunk, found type ${fr.type}`;
  let ix: unknown;
  try {
    const r = new ByteReader(fr.payload);
    const rawLen = r.uvar();
    ix = packr.unpack(body(fr.flags, fr.payload.subarray(r.pos), rawLen));
  } catch (e) {
    return `index does not decode: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (!isObj(ix) || typeof ix.events !== "number") return "index is not a map with events";
  const n = Array.isArray(ix.chunkOffsets) ? ix.chunkOffsets.length : -1;
  if (!isIntArray(ix.chunkOffsets) || !isIntArray(ix.chunkFirstSeqs, n) || !isIntArray(ix.chunkCounts, n)) return "bad chunk tables";
  const m = Array.isArray(ix.snapshotSeqs) ? ix.snapshotSeqs.length : -1;
  if (!isIntArray(ix.snapshotSeqs) || !isIntArray(ix.snapshotOffsets, m)) return "bad snapshot tables";
  return ix as unknown as IndexData;
}

function readIndex(src: Source, off: number, len: number, min: number, max: number, events: number): IndexData | string {
  if (off < min || off + len > max) return `index offset ${off} outside the file`;
  const fr = readFrame(src, off, off + len);
  if (typeof fr === "string") return fr;
  const ix = parseIndex(fr);
  if (typeof ix === "string") return ix;
  if (ix.events !== events) return `index has ${ix.events} events, the footer ${events}`;
  const bad = checkTables(ix, min, off);
  return bad ?? ix;
}

/** Consistency of the tables: dense chunks from seq 0, offsets in range and increasing, snapshots sorted. */
function checkTables(ix: IndexData, min: number, max: number): string | null {
  let seq = 0;
  let prev = min - 1;
  for (let i = 0; i < ix.chunkOffsets.length; i++) {
    if (ix.chunkFirstSeqs[i] !== seq || ix.chunkCounts[i]! < 1) return `event chunk ${i} does not continue at seq ${seq}`;
    seq += ix.chunkCounts[i]!;
    if (ix.chunkOffsets[i]! <= prev || ix.chunkOffsets[i]! >= max) return `event chunk ${i} offset out of range`;
    prev = ix.chunkOffsets[i]!;
  }
  if (seq !== ix.events) return `event chunks hold ${seq} events, the index says ${ix.events}`;
  prev = -2;
  for (let i = 0; i < ix.snapshotSeqs.length; i++) {
    const s = ix.snapshotSeqs[i]!;
    if (s <= prev || s >= ix.events || ix.snapshotOffsets[i]! < min || ix.snapshotOffsets[i]! >= max) return `snapshot ${i} out of order or range`;
    prev = s;
  }
  return null;
}

interface Scan {
  index: IndexData;
  /** The whole file is good: every chunk, the index and the footer. */
  complete: boolean;
  sawIndex: boolean;
  /** Why the scan stopped short of a complete file. */
  why: string;
}

/**
 * Walks the chunks from the header on, checking each, and collects the
 * tables of every good chunk up to the first bad or missing one.
 */
function scanChunks(src: Source, start: number, size: number): Scan {
  const ix: IndexData = {
    events: 0, outcome: null, endTime: 0,
    chunkOffsets: [], chunkFirstSeqs: [], chunkCounts: [], snapshotSeqs: [], snapshotOffsets: [],
  };
  let off = start;
  let no = 0;
  let why = "";
  let sawIndex = false;
  let complete = false;
  for (;;) {
    if (off === size) {
      why = sawIndex ? "no footer: the file was cut short after the index" : "no footer: the file was cut short";
      break;
    }
    if (sawIndex) {
      if (size - off === FOOTER_SIZE && parseFooter(src.read(off, FOOTER_SIZE))) complete = true;
      else why = size - off < FOOTER_SIZE ? "footer cut short" : "damaged footer";
      break;
    }
    const fr = readFrame(src, off, size);
    if (typeof fr === "string") {
      why = fr.startsWith("cut short") ? `last chunk cut short: chunk ${no} at byte offset ${off}` : `chunk ${no} at byte offset ${off}: ${fr}`;
      if (fr === "checksum mismatch") why = `CRC mismatch in chunk ${no} at byte offset ${off}`;
      break;
    }
    let bad: string | null = null;
    try {
      const r = new ByteReader(fr.payload);
      if (fr.type === CHUNK_EVENTS) {
        const first = r.uvar();
        const n = r.uvar();
        if (first !== ix.events || n < 1) bad = `holds events from ${first}, expected ${ix.events}`;
        else {
          ix.chunkOffsets.push(off);
          ix.chunkFirstSeqs.push(first);
          ix.chunkCounts.push(n);
          ix.events += n;
        }
      } else if (fr.type === CHUNK_SNAPSHOT) {
        const seq = r.svar();
        const last = ix.snapshotSeqs.length ? ix.snapshotSeqs[ix.snapshotSeqs.length - 1]! : -2;
        if (seq <= last || seq >= ix.events) bad = `snapshot of seq ${seq} out of order`;
        else {
          ix.snapshotSeqs.push(seq);
          ix.snapshotOffsets.push(off);
        }
      } else if (fr.type === CHUNK_INDEX) {
        const got = parseIndex(fr);
        if (typeof got === "string") bad = got;
        else {
          sawIndex = true;
          ix.outcome = got.outcome;
          ix.endTime = got.endTime;
        }
      }
      // Unknown chunk types (from a newer minor version) are skipped.
    } catch (e) {
      bad = e instanceof Error ? e.message : String(e);
    }
    if (bad !== null) {
      why = `chunk ${no} at byte offset ${off} is damaged: ${bad}`;
      break;
    }
    off += fr.length;
    no++;
  }
  return { index: ix, complete, sawIndex, why };
}
