// TraceWriter: streams a trace to `<path>.partial`, chunk by chunk, and
// renames it onto `<path>` when finished.
//
// Memory is bounded: one event chunk of columns plus one encoded chunk (and,
// with a writer thread, at most CHANNEL_BYTES of bodies on their way to it).
// Each chunk goes to the file (one write call) as soon as it is complete, so
// a crash, a kill or a full disk leaves a partial file whose complete chunks
// all open in recovery mode. Nothing is written at `<path>` until finish()
// has everything on disk (write, fsync, rename), so an existing trace there
// is never replaced by a half-written one.
//
// Chunks are framed and written by ChunkFile: on this thread, or, after
// useThread(), on a worker thread (writer-worker.ts) that deflates and writes
// them while this one goes on simulating and encoding; the recorder's thread
// (useThread's `encode`) encodes the event chunks too, from rows of int32
// (EventRows), and decides the snapshots. Either way the bytes are the same
// (the encoder, the deflate (deflate-fflate.ts: fflate's, the same bytes) and
// the framing are the same code; the order is kept).

import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { Worker } from "node:worker_threads";
import { toPlain } from "../kernel/state.ts";
import { EVENT_KINDS, type KEvent, type KState, type Outcome } from "../kernel/types.ts";
import { ByteChannel } from "./byte-channel.ts";
import { BadValue, ByteWriter, fromUtf8, utf8 } from "./bytes.ts";
import { deflate, EVENTS_LEVEL, gzipStream, type Level, SCHEDULE_LEVEL, SNAPSHOT_LEVEL } from "./compress.ts";
import { deflateFast } from "./deflate-fast.ts";
import { Deflater } from "./deflate-fflate.ts";
import { TraceError, TraceWriteError } from "./errors.ts";
import { ChunkBuilder, EventRows, type KindRow, slotTable } from "./event-codec.ts";
import {
  CHUNK_EVENTS,
  CHUNK_INDEX,
  CHUNK_SCHEDULE,
  CHUNK_SNAPSHOT,
  encodeFooter,
  encodeHeader,
  FLAG_DEFLATE,
  FRAME_HEADER,
  frameHeader,
  type IndexData,
  MAX_CHUNK_EVENTS,
  MAX_SCHEDULE_BODY,
  MAX_SNAPSHOT_BODY,
  packr,
  type TraceMeta,
  type TraceSummary,
} from "./format.ts";
import { startWorker } from "./worker-start.ts";

/** Default most events per event chunk (see docs/FORMAT.md, "Measurements"). */
export const DEFAULT_CHUNK_EVENTS = 4096;

/**
 * A snapshot is taken at its interval only when the event chunks since the
 * last one hold at least 1/SNAPSHOT_SHARE of that snapshot's bytes (format
 * 2.2: see snapshotDue and docs/FORMAT.md).
 */
export const SNAPSHOT_SHARE = 2;

/**
 * The snapshot rule's counters, kept where the event chunks' sizes are known:
 * by the writer, or, when its thread encodes the chunks (useThread's
 * `encode`), by that thread, which then decides which snapshots to write.
 */
export class SnapshotRule {
  /** Seq of the last snapshot written (-1: the initial state's). */
  lastSnapshot = -1;
  /** The last snapshot's bytes and the event chunks' since (before compression). */
  lastBytes = 0;
  eventBytes = 0;

  /**
   * Whether the snapshot due now is taken: its state is not much larger than
   * the events since the last one (SNAPSHOT_SHARE; both before compression).
   * A run whose state keeps growing (a zombie or thread leak: thousands of
   * processes) then writes a snapshot every few intervals instead of one per
   * interval: the trace grows with its events, not with their square. Every
   * scenario of traces/ and the benches keeps every snapshot (a stress
   * snapshot is ~3 KB against ~27 KB of events per interval).
   */
  due(): boolean {
    return this.eventBytes * SNAPSHOT_SHARE >= this.lastBytes;
  }

  /**
   * A snapshot of `length` bytes after event seq: whether it is written. One
   * larger than a reader accepts is left out (it folds from the snapshot
   * before); the next is due as if it were taken.
   */
  take(seq: number, length: number): boolean {
    this.lastBytes = length;
    this.eventBytes = 0;
    if (length > MAX_SNAPSHOT_BODY) return false;
    this.lastSnapshot = seq;
    return true;
  }
}

export interface WriterOptions {
  /** Overrides meta.snapshotEvery. */
  snapshotEvery?: number;
  /** Most events per event chunk; default 4096. Chunks never straddle a snapshot. */
  chunkEvents?: number;
  /** Write the finished file gzip-wrapped; default: path ends in ".gz". */
  gzip?: boolean;
  /**
   * Compress event chunks and snapshots with deflateFast (deflate-fast.ts)
   * instead of fflate at EVENTS_LEVEL and SNAPSHOT_LEVEL: about half the CPU
   * for the same size on imported traces' chunks (their writer uses it).
   */
  fastDeflate?: boolean;
}

/** Result of finish(). */
export interface WriteResult extends TraceSummary {
  path: string;
  /** Size of the file at path. */
  bytes: number;
  snapshots: number;
}

/**
 * The side kinds (docs/FORMAT.md, "Event chunk"): the inert kinds (their fold
 * is a seq and a time: INERT_KINDS, src/kernel/apply.ts) that no built-in
 * invariant lists in its kinds or its armed `by`, so a scan that folds them
 * reads their kind and time only. The header's kind table carries the mark
 * (the split is the file's); test/trace-split.test.ts keeps this list equal
 * to that rule. Changing it changes every trace's bytes.
 */
export const SIDE_KIND_NAMES: readonly string[] = [
  "user",
  "kwork",
  "malloc",
  "free",
  "page-fault",
  "progress",
  "detach",
];

/** The kind table of this build, as stored in headers: [name, args, has a string, side]. */
export function currentKinds(): KindRow[] {
  return EVENT_KINDS.map((k) => [
    k.name,
    k.args.length,
    k.str === undefined ? 0 : 1,
    SIDE_KIND_NAMES.includes(k.name) ? 1 : 0,
  ]);
}

function sysCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

function describe(e: unknown): string {
  const code = sysCode(e);
  if (code === "ENOSPC") return "no space left on device";
  if (code === "EDQUOT") return "disk quota exceeded";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOENT") return "directory does not exist";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Appends framed chunks to a file and keeps the index: each chunk's payload is
 * its prefix (varints), the body's length, and the body as raw DEFLATE at the
 * level for its type; one write call per chunk. One definition, used by the
 * writer on its own thread and by its worker (writer-worker.ts). A failed
 * write throws the system error.
 */
export class ChunkFile {
  readonly index: IndexData;
  private readonly out = new ByteWriter(1 << 16);
  /** fflate's deflate with reused tables (deflate-fflate.ts): one for a chunk's core stream, snapshots and the index, one for its side stream. */
  private readonly zCore = new Deflater();
  private readonly zSide = new Deflater();

  /** `fd` open for writing at `offset` (everything before it written), `index` what it holds so far; `fastDeflate`: WriterOptions'. */
  constructor(
    readonly fd: number,
    public offset: number,
    index?: IndexData,
    readonly fastDeflate = false,
  ) {
    this.index = index ?? {
      events: 0,
      outcome: null,
      endTime: 0,
      chunkOffsets: [],
      chunkFirstSeqs: [],
      chunkCounts: [],
      snapshotSeqs: [],
      snapshotOffsets: [],
    };
  }

  /** Writes bytes at the end (at `offset`: a worker writes through its own descriptor of the same file). */
  write(b: Uint8Array): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done, this.offset + done);
    this.offset += b.length;
  }

  /** Events in the chunks written. */
  get eventsWritten(): number {
    return this.index.chunkCounts.reduce((a, b) => a + b, 0);
  }

  /**
   * An event chunk of events firstSeq .. firstSeq+n-1 (body: ChunkBuilder.encode's,
   * its core body the first coreLength bytes, then the side body). The payload:
   * firstSeq, n, both bodies' lengths, the core stream's length, the two streams.
   */
  eventChunk(firstSeq: number, n: number, body: Uint8Array, coreLength: number): void {
    const offset = this.offset;
    const level = this.fastDeflate ? "fast" : EVENTS_LEVEL;
    const core = this.squeeze(body.subarray(0, coreLength), level, this.zCore);
    const side = this.squeeze(body.subarray(coreLength), level, this.zSide);
    this.frame(CHUNK_EVENTS, (w) => {
      w.uvar(firstSeq);
      w.uvar(n);
      w.uvar(coreLength);
      w.uvar(body.length - coreLength);
      w.uvar(core.length);
      w.bytes(core);
      w.bytes(side);
    });
    this.index.chunkOffsets.push(offset);
    this.index.chunkFirstSeqs.push(firstSeq);
    this.index.chunkCounts.push(n);
  }

  /** The snapshot of the state after event seq (body: the packed plain state). */
  snapshot(seq: number, body: Uint8Array): void {
    const offset = this.offset;
    this.chunk(CHUNK_SNAPSHOT, (w) => w.svar(seq), body, this.fastDeflate ? "fast" : SNAPSHOT_LEVEL);
    this.index.snapshotSeqs.push(seq);
    this.index.snapshotOffsets.push(offset);
  }

  /** The schedule chunk (body: schedule.ts bytes), before the index, whose `schedule` key gets its offset. */
  schedule(body: Uint8Array): void {
    const offset = this.offset;
    this.chunk(CHUNK_SCHEDULE, () => {}, body, body.length >= SCHEDULE_LEVEL_FROM ? SCHEDULE_LEVEL : SNAPSHOT_LEVEL);
    this.index.schedule = offset;
  }

  /** The index chunk and the footer, for a run of `events` events. Returns the file's size and snapshot count. */
  finish(events: number, outcome: Outcome | null, endTime: number): Finished {
    const idx = this.index;
    idx.events = events;
    idx.outcome = outcome;
    idx.endTime = endTime;
    const indexOffset = this.offset;
    const indexLength = this.chunk(CHUNK_INDEX, () => {}, packr.pack(idx), SNAPSHOT_LEVEL);
    this.write(encodeFooter(indexOffset, events, indexLength));
    return { bytes: this.offset, snapshots: idx.snapshotSeqs.length };
  }

  /** Frames and writes one chunk of the usual payload (prefix, body length, compressed body); returns its length. */
  private chunk(type: number, prefix: (w: ByteWriter) => void, body: Uint8Array, level: Level | "fast"): number {
    const z = this.squeeze(body, level, this.zCore);
    return this.frame(type, (w) => {
      prefix(w);
      w.uvar(body.length);
      w.bytes(z);
    });
  }

  /** A body compressed at a level (the bytes of compress.ts's deflate), or by deflateFast; valid until z's next use. */
  private squeeze(body: Uint8Array, level: Level | "fast", z: Deflater): Uint8Array {
    return level === "fast" ? deflateFast(body) : level === 0 ? deflate(body, level) : z.deflate(body, level);
  }

  /** Frames and writes one chunk whose payload `payload` writes (compressed: the frame's flag says so); returns its length. */
  private frame(type: number, payload: (w: ByteWriter) => void): number {
    const w = this.out;
    w.reset();
    w.ensure(FRAME_HEADER);
    w.pos = FRAME_HEADER;
    payload(w);
    const b = w.buf;
    b.set(frameHeader(type, FLAG_DEFLATE, b, FRAME_HEADER, w.pos), 0);
    this.write(b.subarray(0, w.pos));
    return w.pos;
  }
}

/** Schedule bodies from this size (runs of ~150K events and more) are written at SCHEDULE_LEVEL (stored), smaller ones compressed as the snapshots. */
const SCHEDULE_LEVEL_FROM = 1 << 16;

/** A write that failed, as the writer reports it: the system error's code and words, and the events on disk. */
export interface WriteFailure {
  code: string | undefined;
  what: string;
  events: number;
}

/** The failure of a write that threw e. */
export function writeFailure(e: unknown, events: number): WriteFailure {
  return { code: sysCode(e), what: describe(e), events };
}

/** A finished file: its size, and the snapshots it holds. */
export interface Finished {
  bytes: number;
  snapshots: number;
}

/** Where the writer's chunks go: this thread (ChunkFile), or a worker thread (WriterThread). Both throw what failed. */
interface Sink {
  /** An event chunk: ChunkBuilder.encode's bytes, the first coreLength of them its core body. */
  eventChunk(firstSeq: number, n: number, body: Uint8Array, coreLength: number): void;
  snapshot(seq: number, body: Uint8Array): void;
  /** The schedule chunk (at most one, after the last snapshot). */
  schedule(body: Uint8Array): void;
  /** Index and footer; then everything is written (and synced by the writer thread, if any). */
  finish(events: number, outcome: Outcome | null, endTime: number): Finished;
}

/** Events past which a recording is worth a writer thread (its start costs ~0.1 s). */
export const THREAD_MIN_EVENTS = 1 << 20;

export class TraceWriter {
  /** Final path of the trace. */
  readonly path: string;
  /** Temporary file being written; renamed onto path by finish(). */
  readonly partialPath: string;
  readonly snapshotEvery: number;
  readonly chunkEvents: number;
  readonly gzip: boolean;

  private fd: number;
  private next = 0;
  private last: KState;
  /** The snapshot rule's counters; its thread's once the thread encodes (`rows`). */
  private readonly rule = new SnapshotRule();
  /** Events to append before the next snapshot. */
  private untilSnapshot: number;
  private state: "open" | "finished" | "failed" | "aborted" = "open";
  private readonly chunk: ChunkBuilder;
  private readonly kinds: KindRow[];
  /** The header and the initial snapshot are on disk: a partial file now opens (recovery mode). */
  private usable = false;
  /** A write error kept the partial file and said so: abort() leaves it. */
  private kept = false;
  private readonly file: ChunkFile;
  /** Where chunks go: `file`, or the writer thread once useThread() started one. */
  private sink: Sink;
  private thread: WriterThread | null = null;
  /**
   * The events of the chunk being made, as rows for the thread to encode
   * (useThread's `encode`); null when this thread encodes. An event a row
   * does not carry (EventRows.push) makes this chunk `local`: encoded here.
   */
  private rows: EventRows | null = null;
  private local = false;

  private constructor(
    path: string,
    fd: number,
    initial: KState,
    snapshotEvery: number,
    chunkEvents: number,
    gzip: boolean,
    kinds: KindRow[],
    fastDeflate: boolean,
  ) {
    this.path = path;
    this.partialPath = `${path}.partial`;
    this.fd = fd;
    this.last = initial;
    this.snapshotEvery = snapshotEvery;
    this.untilSnapshot = snapshotEvery;
    this.chunkEvents = chunkEvents;
    this.gzip = gzip;
    this.kinds = kinds;
    this.chunk = new ChunkBuilder(chunkEvents, slotTable(kinds));
    this.file = new ChunkFile(fd, 0, undefined, fastDeflate);
    this.sink = this.file;
  }

  /**
   * Starts a trace: creates `<path>.partial`, writes the header and a
   * snapshot of `initial` (seq -1, normally initState(config)). Throws
   * TraceWriteError when the file cannot be created or written, TraceError
   * ("usage") for bad options.
   */
  static create(path: string, meta: TraceMeta, initial: KState, opts: WriterOptions = {}): TraceWriter {
    const snapshotEvery = opts.snapshotEvery ?? meta.snapshotEvery;
    if (!Number.isInteger(snapshotEvery) || snapshotEvery < 1) {
      throw new TraceError("usage", `snapshot interval must be a positive integer, got ${snapshotEvery}`);
    }
    const want = opts.chunkEvents ?? DEFAULT_CHUNK_EVENTS;
    if (!Number.isInteger(want) || want < 1 || want > MAX_CHUNK_EVENTS)
      throw new TraceError("usage", `chunk size must be an integer in 1..${MAX_CHUNK_EVENTS}, got ${want}`);
    // Split each snapshot interval into equal chunks of at most `want` events.
    const chunkEvents = Math.ceil(snapshotEvery / Math.ceil(snapshotEvery / want));
    const kinds = currentKinds();
    const partial = `${path}.partial`;
    let fd: number;
    try {
      fd = openSync(partial, "w");
    } catch (e) {
      throw new TraceWriteError(partial, sysCode(e), `${describe(e)} (the file could not be created)`);
    }
    const gzip = opts.gzip ?? path.endsWith(".gz");
    const w = new TraceWriter(path, fd, initial, snapshotEvery, chunkEvents, gzip, kinds, opts.fastDeflate ?? false);
    w.guard(() => w.file.write(encodeHeader({ ...meta, snapshotEvery, chunkEvents, kinds })));
    w.snapshot(initial);
    w.usable = true;
    return w;
  }

  /**
   * Compresses and writes the chunks on a worker thread from now on
   * (writer-worker.ts): this thread then only encodes (and simulates), and the
   * file's bytes are the same. Resolves to null once the worker runs, or to
   * why it could not start (the writer goes on writing on this thread). A
   * write error on the worker is reported by the next append or finish.
   * `encode` (the recorder's): the thread encodes the event chunks too, and
   * decides the snapshots (SnapshotRule: it knows the chunks' sizes); this
   * thread only stores each event's fields (EventRows) and takes each
   * interval's snapshot. Only before the first event.
   */
  async useThread(early?: EarlyThread, opts: { encode?: boolean } = {}): Promise<string | null> {
    if (this.state !== "open") this.notOpen("start a writer thread for");
    if (this.thread) {
      if (early !== undefined) TraceWriter.dropThread(early);
      return null;
    }
    const encode = opts.encode === true && this.next === 0;
    const t = await WriterThread.start(
      this.file,
      this.partialPath,
      early ?? WriterThread.spawn(),
      this.rule,
      encode ? { capacity: this.chunkEvents, kinds: this.kinds } : undefined,
    );
    if (typeof t === "string") return t;
    this.thread = t;
    this.sink = t;
    if (encode) this.rows = new EventRows(this.chunkEvents);
    return null;
  }

  /**
   * Starts a writer thread before there is a trace for it (an import, while it
   * reads the input up to its header): the thread loads its code meanwhile, and
   * useThread(early) then hands it the file without waiting for its start
   * (40-150 ms). dropThread ends one that will not be used.
   */
  static spawnThread(): EarlyThread {
    return WriterThread.spawn();
  }

  /** Ends a thread from spawnThread that no writer took (useThread). */
  static dropThread(early: EarlyThread): void {
    void early.started.then((w) => (typeof w === "string" ? 0 : w.terminate().catch(() => 0)));
  }

  /** Events appended so far. */
  get events(): number {
    return this.next;
  }

  /** Whether a worker thread compresses and writes the chunks (useThread). */
  get threaded(): boolean {
    return this.thread !== null;
  }

  /**
   * Records one event; `stateAfter` is the state with it applied (it may be
   * the same object every time, mutated in place). Events must come in seq
   * order from 0. Writes a snapshot after every snapshotEvery-th event.
   */
  append(ev: KEvent, stateAfter: KState): void {
    if (this.state !== "open") this.notOpen("append");
    if (ev.seq !== this.next) {
      throw new TraceError("bad-event", `event seq ${ev.seq} out of order: expected ${this.next}`, this.partialPath);
    }
    const rows = this.rows;
    let n: number;
    if (rows === null) {
      this.chunk.push(ev);
      n = this.chunk.n;
    } else if (!this.local && rows.push(ev)) n = rows.n;
    else {
      if (!this.local) {
        // Not a row: this chunk is encoded here (flushChunk), the same bytes or the same error.
        this.local = true;
        rows.replay(this.chunk);
      }
      this.chunk.push(ev);
      n = this.chunk.n;
    }
    this.next++;
    this.last = stateAfter;
    // Every snapshotEvery-th event (a countdown: an integer division per event cost ~5 ns).
    const snap = --this.untilSnapshot === 0;
    if (snap) this.untilSnapshot = this.snapshotEvery;
    if (snap || n === this.chunkEvents) {
      this.flushChunk();
      if (!snap) return;
      if (rows !== null) this.guard(() => this.thread!.snapshotIfDue(stateAfter.seq, packr.pack(toPlain(stateAfter))));
      else if (this.rule.due()) this.snapshot(stateAfter);
    }
  }

  /**
   * Completes the trace: last chunk, final snapshot, index, footer; fsync;
   * rename onto path (gzip-wrapping first when enabled). `outcome` defaults
   * to the last state's. `schedule`, the run's decisions (schedule.ts bytes),
   * goes in a schedule chunk before the index. The writer is closed afterwards.
   */
  finish(summary: { outcome?: Outcome | null; schedule?: Uint8Array } = {}): WriteResult {
    if (this.state !== "open") this.notOpen("finish");
    this.flushChunk();
    if (this.rows !== null) {
      const last = this.last;
      this.guard(() => this.thread!.finalSnapshot(this.next - 1, last.seq, packr.pack(toPlain(last))));
    } else if (this.rule.lastSnapshot !== this.next - 1) this.snapshot(this.last);
    const outcome = summary.outcome !== undefined ? summary.outcome : this.last.outcome;
    const endTime = this.next > 0 ? this.last.time : 0;
    let done: Finished = { bytes: 0, snapshots: 0 };
    this.guard(() => {
      // A schedule too large for a reader to accept is left out (the run is then run again from its seed).
      if (summary.schedule !== undefined && summary.schedule.length <= MAX_SCHEDULE_BODY)
        this.sink.schedule(summary.schedule);
      done = this.sink.finish(this.next, outcome, endTime);
    });
    this.stopThread();
    let bytes = done.bytes;
    const snapshots = done.snapshots;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
      if (this.gzip) bytes = this.gzipPartial();
      renameSync(this.partialPath, this.path);
      syncDir(this.path);
    } catch (e) {
      this.fail();
      try {
        unlinkSync(`${this.partialPath}.gz`);
      } catch {
        /* not there */
      }
      throw this.writeError(writeFailure(e, this.next));
    }
    this.state = "finished";
    return { path: this.path, bytes, events: this.next, outcome, endTime, snapshots };
  }

  /**
   * Stops writing and removes the partial file. Safe to call in any state.
   * After a write error that kept the partial file (TraceWriteError.kept), the
   * file stays: the error told the user it holds the chunks written so far.
   */
  abort(): void {
    if (this.state === "finished" || this.state === "aborted") return;
    this.state = "aborted";
    this.stopThread();
    if (this.kept) return;
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already gone */
      }
      this.fd = -1;
    }
    for (const p of [this.partialPath, `${this.partialPath}.gz`]) {
      try {
        unlinkSync(p);
      } catch {
        /* not there */
      }
    }
  }

  private notOpen(what: string): never {
    throw new TraceError("usage", `cannot ${what}: the trace writer for ${this.path} is ${this.state}`, this.path);
  }

  /** Ends the writer thread, if any, once it has written everything it was sent (or failed). */
  private stopThread(): void {
    const t = this.thread;
    this.thread = null;
    if (t) t.stop();
  }

  private fail(): void {
    this.state = "failed";
    this.stopThread();
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* ignore */
      }
      this.fd = -1;
    }
  }

  /** Runs a write through the sink; a failure (here or reported by the writer thread) fails the writer with TraceWriteError. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e instanceof TraceError && !(e instanceof TraceWriteError)) throw e;
      const why = e instanceof WriterThreadError ? e.failure : writeFailure(e, this.file.eventsWritten);
      this.fail();
      throw this.writeError(why);
    }
  }

  /**
   * The error for a failed write (the writer has failed): the partial file is
   * kept when it holds the header and the initial state, else removed; the
   * message says which.
   */
  private writeError(f: WriteFailure): TraceWriteError {
    if (!this.usable) {
      try {
        unlinkSync(this.partialPath);
      } catch {
        /* not there */
      }
      return new TraceWriteError(this.partialPath, f.code, f.what, null);
    }
    this.kept = true;
    return new TraceWriteError(this.partialPath, f.code, f.what, f.events);
  }

  private flushChunk(): void {
    const rows = this.rows;
    if (rows !== null) {
      if (!this.local) {
        if (rows.n > 0) this.guard(() => this.thread!.rowsChunk(rows));
        rows.reset();
        return;
      }
      this.local = false;
      rows.reset();
    }
    const c = this.chunk;
    const n = c.n;
    if (n === 0) return;
    let body: Uint8Array;
    try {
      body = c.encode();
    } catch (e) {
      if (e instanceof BadValue || e instanceof RangeError) {
        this.fail();
        throw new TraceError(
          "bad-event",
          `events ${c.firstSeq}..${c.firstSeq + n - 1}: ${e.message} (event fields must be safe integers)`,
          this.partialPath,
        );
      }
      throw e;
    }
    this.guard(() => this.sink.eventChunk(c.firstSeq, n, body, c.coreLength));
    this.rule.eventBytes += body.length;
    c.reset();
  }

  private snapshot(s: KState): void {
    const body = packr.pack(toPlain(s));
    if (this.rule.take(s.seq, body.length)) this.guard(() => this.sink.snapshot(s.seq, body));
  }

  /** Gzips the partial file into `<partial>.gz` (compress.ts, in blocks), then moves it to the partial name. Returns its size. */
  private gzipPartial(): number {
    const src = openSync(this.partialPath, "r");
    const gzPath = `${this.partialPath}.gz`;
    const dst = openSync(gzPath, "w");
    let size = 0;
    let readAt = 0;
    try {
      gzipStream(
        (buf) => {
          let got = 0;
          while (got < buf.length) {
            const k = readSync(src, buf, got, buf.length - got, readAt + got);
            if (k === 0) break;
            got += k;
          }
          readAt += got;
          return got;
        },
        (b) => {
          let done = 0;
          while (done < b.length) done += writeSync(dst, b, done, b.length - done);
          size += b.length;
        },
      );
      fsyncSync(dst);
    } finally {
      closeSync(dst);
      closeSync(src);
    }
    renameSync(gzPath, this.partialPath);
    return size;
  }
}

/** A write the writer thread could not do, as it reported it. */
class WriterThreadError extends Error {
  constructor(readonly failure: WriteFailure) {
    super(failure.what);
  }
}

/**
 * The writer's control block shared with its thread: Int32 slots (SLOT), two
 * numbers the thread answers finish with, and room for its failure report.
 */
export const SLOT = {
  /** Records the thread has handled. */
  done: 0,
  /** 1 once a write failed (the thread then writes nothing more; the report is in the text area). */
  failed: 1,
  /** 1 once the writer stops: the thread writes nothing more. */
  stop: 2,
  /** Counted up by the thread at least ten times a second: it is alive. */
  beat: 3,
  /** 1 once the thread runs. */
  ready: 4,
  /** Bytes of the failure report. */
  textLength: 5,
} as const;
const CTL_INTS = 8;
const CTL_NUMS = 2;
const CTL_TEXT = 4096;

/** The views of a control block. */
export function controlViews(sab: SharedArrayBuffer): { ints: Int32Array; nums: Float64Array; text: Uint8Array } {
  return {
    ints: new Int32Array(sab, 0, CTL_INTS),
    nums: new Float64Array(sab, 4 * CTL_INTS, CTL_NUMS),
    text: new Uint8Array(sab, 4 * CTL_INTS + 8 * CTL_NUMS, CTL_TEXT),
  };
}

/**
 * Record types on the channel to the thread. A record is a 32-byte head (type, body length, two numbers, and an
 * event chunk's core length or a rows chunk's rows length) and its body.
 * The first record is `open` (its body the JSON of a ThreadFile), then the chunks.
 */
export const RECORD = {
  events: 1,
  snapshot: 2,
  finish: 3,
  stop: 4,
  schedule: 5,
  open: 6,
  /** An event chunk as EventRows: the first time and the rows, then the strings; the thread encodes it. */
  rows: 7,
  /** A snapshot the thread writes if SnapshotRule says it is due. */
  snapshotIfDue: 8,
  /** The final snapshot (finish's): written unless the last one written is of that event (a: the event, b: the state's seq). */
  snapshotFinal: 9,
} as const;
export const RECORD_HEAD = 32;

/** What the thread starts from (its workerData): the shared memory. */
export interface ThreadInput {
  control: SharedArrayBuffer;
  channel: SharedArrayBuffer;
}

/** The file the thread writes, sent as the `open` record once the writer has one (the thread may start before it). */
export interface ThreadFile {
  /** The partial file, which the thread opens itself (a descriptor does not cross threads on every runtime). */
  path: string;
  /** Bytes already written (the header, the initial snapshot). */
  offset: number;
  index: IndexData;
  /** ChunkFile's fastDeflate. */
  fastDeflate: boolean;
  /** The writer's SnapshotRule counters so far. */
  rule: { lastSnapshot: number; lastBytes: number; eventBytes: number };
  /** The thread encodes the event chunks (RECORD.rows) with a ChunkBuilder of this capacity and kind table. */
  encode?: { capacity: number; kinds: KindRow[] };
}

/** A writer thread started ahead of its writer (TraceWriter.spawnThread). */
export interface EarlyThread {
  readonly control: SharedArrayBuffer;
  readonly channel: SharedArrayBuffer;
  /** The running thread, or why it did not start. */
  readonly started: Promise<Worker | string>;
}

/**
 * Bytes of chunk bodies the writer may be ahead of its thread (~160 chunks of
 * 4096 stress events). 4 MiB, not 1: an import's threads stall less on each
 * other (5M events: 0.71-0.83 idle core-seconds -> 0.33-0.45, docs/IMPORT.md).
 */
const CHANNEL_BYTES = 1 << 22;
/** Seconds without a sign of life from the thread (while it has work) before the writer gives up on it. */
const STALL_SECONDS = 60;

/**
 * The writer's side of its worker thread (writer-worker.ts): chunk bodies go
 * to the thread through a ByteChannel (shared memory: no message needs this
 * thread's event loop); the thread deflates, frames and writes them in order
 * with ChunkFile, so the file is the one the writer writes alone. This thread
 * waits only when the channel is full, and at finish.
 */
class WriterThread implements Sink {
  private sent = 0;
  private readonly head = new Uint8Array(RECORD_HEAD);
  private readonly hv = new DataView(this.head.buffer);
  private readonly ints: Int32Array;
  private readonly nums: Float64Array;
  private readonly text: Uint8Array;
  private readonly ch: ByteChannel;
  private quiet = 0;
  private beat = 0;

  private constructor(
    private readonly w: Worker,
    control: SharedArrayBuffer,
    channel: SharedArrayBuffer,
  ) {
    ({ ints: this.ints, nums: this.nums, text: this.text } = controlViews(control));
    this.ch = new ByteChannel(channel, () => this.stalled());
  }

  /** Starts a thread, which then waits for its file (start). */
  static spawn(): EarlyThread {
    const control = new SharedArrayBuffer(4 * CTL_INTS + 8 * CTL_NUMS + CTL_TEXT);
    const channel = ByteChannel.alloc(CHANNEL_BYTES);
    const input: ThreadInput = { control, channel };
    const { ints } = controlViews(control);
    // The thread raises `ready` (it may never return to its event loop to post a message).
    const started = startWorker(
      new URL("./writer-worker.ts", import.meta.url),
      { workerData: input },
      () => Atomics.load(ints, SLOT.ready) !== 0,
    );
    return { control, channel, started };
  }

  /** The thread `early` (spawn) writing `file` at `path` from now on; or why it could not start. */
  static async start(
    file: ChunkFile,
    path: string,
    early: EarlyThread,
    rule: SnapshotRule,
    encode?: ThreadFile["encode"],
  ): Promise<WriterThread | string> {
    const w = await early.started;
    if (typeof w === "string") return w;
    const t = new WriterThread(w, early.control, early.channel);
    const open: ThreadFile = {
      path,
      offset: file.offset,
      index: file.index,
      fastDeflate: file.fastDeflate,
      rule: { lastSnapshot: rule.lastSnapshot, lastBytes: rule.lastBytes, eventBytes: rule.eventBytes },
      ...(encode !== undefined ? { encode } : {}),
    };
    t.record(RECORD.open, 0, 0, utf8(JSON.stringify(open)), false);
    return t;
  }

  eventChunk(firstSeq: number, n: number, body: Uint8Array, coreLength: number): void {
    this.hv.setUint32(24, coreLength, true);
    this.record(RECORD.events, firstSeq, n, body);
  }

  snapshot(seq: number, body: Uint8Array): void {
    this.record(RECORD.snapshot, seq, 0, body);
  }

  /** An event chunk's rows (useThread's encode), encoded by the thread. */
  rowsChunk(rows: EventRows): void {
    const r = rows.bytes.subarray(0, 8 + 32 * rows.n);
    this.hv.setUint32(24, r.length, true);
    this.record(RECORD.rows, rows.firstSeq, rows.n, r, true, rows.strings());
  }

  /** An interval's snapshot (useThread's encode): the thread writes it if due. */
  snapshotIfDue(seq: number, body: Uint8Array): void {
    this.record(RECORD.snapshotIfDue, seq, 0, this.sized(body));
  }

  /** finish's snapshot of the state after event `last` (useThread's encode): the thread writes it unless it has it. */
  finalSnapshot(last: number, seq: number, body: Uint8Array): void {
    this.record(RECORD.snapshotFinal, last, seq, this.sized(body));
  }

  /** A snapshot body to send: one larger than a reader accepts, which SnapshotRule leaves out, goes as its size alone (head slot 24). */
  private sized(body: Uint8Array): Uint8Array {
    const big = body.length > MAX_SNAPSHOT_BODY;
    this.hv.setUint32(24, big ? body.length : 0, true);
    return big ? new Uint8Array(0) : body;
  }

  schedule(body: Uint8Array): void {
    this.record(RECORD.schedule, 0, 0, body);
  }

  finish(events: number, outcome: Outcome | null, endTime: number): Finished {
    this.record(RECORD.finish, events, endTime, packr.pack(outcome));
    this.waitFor(this.sent);
    this.check();
    return { bytes: this.nums[0]!, snapshots: this.nums[1]! };
  }

  /** Stops the thread once it has read what it was sent (it drops what it had not started: the writer is closing the file). */
  stop(): void {
    Atomics.store(this.ints, SLOT.stop, 1);
    try {
      this.record(RECORD.stop, 0, 0, new Uint8Array(0), false);
      this.waitFor(this.sent);
    } catch {
      // It failed or stalled: the writer reports that already.
    }
    void this.w.terminate().catch(() => 0);
  }

  /**
   * Sends one record (its body, then `more`, if any). Event chunks and
   * snapshots do not wake the thread when it sleeps (ByteChannel.write's `wake`): it is woken once a quarter of the
   * channel waits for it, and by every other record, which this thread then
   * waits on.
   */
  private record(type: number, a: number, b: number, body: Uint8Array, check = true, more?: Uint8Array): void {
    if (check) this.check();
    this.head[0] = type;
    this.hv.setUint32(4, body.length + (more?.length ?? 0), true);
    this.hv.setFloat64(8, a, true);
    this.hv.setFloat64(16, b, true);
    const wake =
      type !== RECORD.events && type !== RECORD.snapshot && type !== RECORD.rows && type !== RECORD.snapshotIfDue;
    this.ch.write(this.head, false);
    if (more === undefined) this.ch.write(body, wake);
    else {
      this.ch.write(body, false);
      this.ch.write(more, wake);
    }
    this.sent++;
  }

  /** Throws what the thread reported, if it failed. */
  private check(): void {
    if (Atomics.load(this.ints, SLOT.failed) === 0) return;
    let f: WriteFailure = { code: undefined, what: "the writer thread failed", events: 0 };
    try {
      f = JSON.parse(fromUtf8(this.text.slice(0, Atomics.load(this.ints, SLOT.textLength)))) as WriteFailure;
    } catch {
      // Keep the generic words.
    }
    throw new WriterThreadError(f);
  }

  /** Called after each second of waiting on the thread: gives up when it has shown no life for STALL_SECONDS. */
  private stalled(): void {
    this.check();
    const b = Atomics.load(this.ints, SLOT.beat);
    this.quiet = b === this.beat ? this.quiet + 1 : 0;
    this.beat = b;
    if (this.quiet >= STALL_SECONDS)
      throw new Error(`the trace writer's thread stopped responding (nothing for ${STALL_SECONDS} s)`);
  }

  /** Waits until the thread has handled `k` records (or failed). */
  private waitFor(k: number): void {
    this.ch.flush();
    for (;;) {
      const done = Atomics.load(this.ints, SLOT.done);
      if (done >= k) return;
      if (Atomics.wait(this.ints, SLOT.done, done, 1000) === "timed-out") this.stalled();
    }
  }
}

/** fsyncs the directory holding `path` so the rename is durable (best effort: not possible everywhere). */
function syncDir(path: string): void {
  let fd = -1;
  try {
    fd = openSync(dirname(path), "r");
    fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd >= 0)
      try {
        closeSync(fd);
      } catch {
        /* ignore */
      }
  }
}
