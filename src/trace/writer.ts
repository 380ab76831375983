// TraceWriter: streams a trace to `<path>.partial`, chunk by chunk, and
// renames it onto `<path>` when finished.
//
// Memory is bounded: one event chunk of columns plus one encoded chunk. Each
// chunk goes to the file descriptor (one write call) as soon as it is
// complete, so a crash, a kill or a full disk leaves a partial file whose
// complete chunks all open in recovery mode. Nothing is written at `<path>`
// until finish() has everything on disk (write, fsync, rename), so an
// existing trace there is never replaced by a half-written one.

import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { toPlain } from "../kernel/state.ts";
import { EVENT_KINDS, type KEvent, type KState, type Outcome } from "../kernel/types.ts";
import { BadValue, ByteWriter } from "./bytes.ts";
import { EVENTS_LEVEL, SNAPSHOT_LEVEL, deflate, gzipStream, type Level } from "./compress.ts";
import { TraceError, TraceWriteError } from "./errors.ts";
import { ChunkBuilder, slotTable, type KindRow } from "./event-codec.ts";
import {
  CHUNK_EVENTS, CHUNK_INDEX, CHUNK_SCHEDULE, CHUNK_SNAPSHOT, FLAG_DEFLATE, FRAME_HEADER, MAX_CHUNK_EVENTS, MAX_SCHEDULE_BODY, encodeFooter, encodeHeader, frameHeader, packr,
  type IndexData, type TraceMeta, type TraceSummary,
} from "./format.ts";

/** Default most events per event chunk (see docs/FORMAT.md, "Measurements"). */
export const DEFAULT_CHUNK_EVENTS = 4096;

export interface WriterOptions {
  /** Overrides meta.snapshotEvery. */
  snapshotEvery?: number;
  /** Most events per event chunk; default 4096. Chunks never straddle a snapshot. */
  chunkEvents?: number;
  /** Write the finished file gzip-wrapped; default: path ends in ".gz". */
  gzip?: boolean;
}

/** Result of finish(). */
export interface WriteResult extends TraceSummary {
  path: string;
  /** Size of the file at path. */
  bytes: number;
  snapshots: number;
}

/** The kind table of this build, as stored in headers. */
export function currentKinds(): KindRow[] {
  return EVENT_KINDS.map((k) => [k.name, k.args.length, k.str === undefined ? 0 : 1]);
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

export class TraceWriter {
  /** Final path of the trace. */
  readonly path: string;
  /** Temporary file being written; renamed onto path by finish(). */
  readonly partialPath: string;
  readonly snapshotEvery: number;
  readonly chunkEvents: number;
  readonly gzip: boolean;

  private fd: number;
  private offset = 0;
  private next = 0;
  private last: KState;
  private lastSnapshot = -1;
  private state: "open" | "finished" | "failed" | "aborted" = "open";
  private readonly chunk: ChunkBuilder;
  /** The header and the initial snapshot are on disk: a partial file now opens (recovery mode). */
  private usable = false;
  /** A write error kept the partial file and said so: abort() leaves it. */
  private kept = false;
  private readonly out = new ByteWriter(1 << 16);
  private readonly index: IndexData = {
    events: 0, outcome: null, endTime: 0,
    chunkOffsets: [], chunkFirstSeqs: [], chunkCounts: [], snapshotSeqs: [], snapshotOffsets: [],
  };

  private constructor(path: string, fd: number, initial: KState, snapshotEvery: number, chunkEvents: number, gzip: boolean, kinds: KindRow[]) {
    this.path = path;
    this.partialPath = `${path}.partial`;
    this.fd = fd;
    this.last = initial;
    this.snapshotEvery = snapshotEvery;
    this.chunkEvents = chunkEvents;
    this.gzip = gzip;
    this.chunk = new ChunkBuilder(chunkEvents, slotTable(kinds));
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
    if (!Number.isInteger(want) || want < 1 || want > MAX_CHUNK_EVENTS) throw new TraceError("usage", `chunk size must be an integer in 1..${MAX_CHUNK_EVENTS}, got ${want}`);
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
    const w = new TraceWriter(path, fd, initial, snapshotEvery, chunkEvents, opts.gzip ?? path.endsWith(".gz"), kinds);
    w.write(encodeHeader({ ...meta, snapshotEvery, chunkEvents, kinds }));
    w.snapshot(initial);
    w.usable = true;
    return w;
  }

  /** Events appended so far. */
  get events(): number {
    return this.next;
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
    this.chunk.push(ev);
    this.next++;
    this.last = stateAfter;
    const snap = this.next % this.snapshotEvery === 0;
    if (snap || this.chunk.n === this.chunkEvents) {
      this.flushChunk();
      if (snap) this.snapshot(stateAfter);
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
    if (this.lastSnapshot !== this.next - 1) this.snapshot(this.last);
    const idx = this.index;
    // A schedule too large for a reader to accept is left out (the run is then run again from its seed).
    if (summary.schedule !== undefined && summary.schedule.length <= MAX_SCHEDULE_BODY) {
      idx.schedule = this.offset;
      this.writeChunk(CHUNK_SCHEDULE, () => {}, summary.schedule, SNAPSHOT_LEVEL);
    }
    idx.events = this.next;
    idx.outcome = summary.outcome !== undefined ? summary.outcome : this.last.outcome;
    idx.endTime = this.next > 0 ? this.last.time : 0;
    const body = packr.pack(idx);
    const indexOffset = this.offset;
    const indexLength = this.writeChunk(CHUNK_INDEX, () => {}, body, SNAPSHOT_LEVEL);
    this.write(encodeFooter(indexOffset, this.next, indexLength));
    let bytes = this.offset;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
      if (this.gzip) bytes = this.gzipPartial();
      renameSync(this.partialPath, this.path);
      syncDir(this.path);
    } catch (e) {
      this.fail();
      try { unlinkSync(`${this.partialPath}.gz`); } catch { /* not there */ }
      throw this.writeError(e);
    }
    this.state = "finished";
    return { path: this.path, bytes, events: idx.events, outcome: idx.outcome, endTime: idx.endTime, snapshots: idx.snapshotSeqs.length };
  }

  /**
   * Stops writing and removes the partial file. Safe to call in any state.
   * After a write error that kept the partial file (TraceWriteError.kept), the
   * file stays: the error told the user it holds the chunks written so far.
   */
  abort(): void {
    if (this.state === "finished" || this.state === "aborted") return;
    this.state = "aborted";
    if (this.kept) return;
    if (this.fd >= 0) {
      try { closeSync(this.fd); } catch { /* already gone */ }
      this.fd = -1;
    }
    for (const p of [this.partialPath, `${this.partialPath}.gz`]) {
      try { unlinkSync(p); } catch { /* not there */ }
    }
  }

  private notOpen(what: string): never {
    throw new TraceError("usage", `cannot ${what}: the trace writer for ${this.path} is ${this.state}`, this.path);
  }

  private fail(): void {
    this.state = "failed";
    if (this.fd >= 0) {
      try { closeSync(this.fd); } catch { /* ignore */ }
      this.fd = -1;
    }
  }

  /** Writes bytes at the end of the partial file. */
  private write(b: Uint8Array): void {
    try {
      let done = 0;
      while (done < b.length) done += writeSync(this.fd, b, done, b.length - done);
    } catch (e) {
      this.fail();
      throw this.writeError(e);
    }
    this.offset += b.length;
  }

  /**
   * The error for a failed write (the writer has failed): the partial file is
   * kept when it holds the header and the initial state, else removed; the
   * message says which.
   */
  private writeError(e: unknown): TraceWriteError {
    if (!this.usable) {
      try { unlinkSync(this.partialPath); } catch { /* not there */ }
      return new TraceWriteError(this.partialPath, sysCode(e), describe(e), null);
    }
    this.kept = true;
    const events = this.index.chunkCounts.reduce((a, b) => a + b, 0);
    return new TraceWriteError(this.partialPath, sysCode(e), describe(e), events);
  }

  /**
   * Frames and writes one chunk whose payload is `prefix` (varints), the
   * uncompressed body length, and the body as raw DEFLATE at `level`.
   * Returns the frame's total length.
   */
  private writeChunk(type: number, prefix: (w: ByteWriter) => void, body: Uint8Array, level: Level): number {
    const z = deflate(body, level);
    const w = this.out;
    w.reset();
    w.ensure(FRAME_HEADER);
    w.pos = FRAME_HEADER;
    prefix(w);
    w.uvar(body.length);
    w.bytes(z);
    const b = w.buf;
    b.set(frameHeader(type, FLAG_DEFLATE, b, FRAME_HEADER, w.pos), 0);
    this.write(b.subarray(0, w.pos));
    return w.pos;
  }

  private flushChunk(): void {
    const c = this.chunk;
    const n = c.n;
    if (n === 0) return;
    const offset = this.offset;
    let body: Uint8Array;
    try {
      body = c.encode();
    } catch (e) {
      if (e instanceof BadValue || e instanceof RangeError) {
        this.fail();
        throw new TraceError("bad-event", `events ${c.firstSeq}..${c.firstSeq + n - 1}: ${e.message} (event fields must be safe integers)`, this.partialPath);
      }
      throw e;
    }
    this.writeChunk(CHUNK_EVENTS, (w) => {
      w.uvar(c.firstSeq);
      w.uvar(n);
    }, body, EVENTS_LEVEL);
    this.index.chunkOffsets.push(offset);
    this.index.chunkFirstSeqs.push(c.firstSeq);
    this.index.chunkCounts.push(n);
    c.reset();
  }

  private snapshot(s: KState): void {
    const offset = this.offset;
    const body = packr.pack(toPlain(s));
    this.writeChunk(CHUNK_SNAPSHOT, (w) => w.svar(s.seq), body, SNAPSHOT_LEVEL);
    this.index.snapshotSeqs.push(s.seq);
    this.index.snapshotOffsets.push(offset);
    this.lastSnapshot = s.seq;
  }

  /** Gzips the partial file into `<partial>.gz` (compress.ts, in blocks), then moves it to the partial name. Returns its size. */
  private gzipPartial(): number {
    const src = openSync(this.partialPath, "r");
    const gzPath = `${this.partialPath}.gz`;
    const dst = openSync(gzPath, "w");
    let size = 0;
    let readAt = 0;
    try {
      gzipStream((buf) => {
        let got = 0;
        while (got < buf.length) {
          const k = readSync(src, buf, got, buf.length - got, readAt + got);
          if (k === 0) break;
          got += k;
        }
        readAt += got;
        return got;
      }, (b) => {
        let done = 0;
        while (done < b.length) done += writeSync(dst, b, done, b.length - done);
        size += b.length;
      });
      fsyncSync(dst);
    } finally {
      closeSync(dst);
      closeSync(src);
    }
    renameSync(gzPath, this.partialPath);
    return size;
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
    if (fd >= 0) try { closeSync(fd); } catch { /* ignore */ }
  }
}
