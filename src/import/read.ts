// Reading an input end to end: checks, format detection, line parsing, bounded
// re-sorting, and the counts an import reports. Produces TraceRecords in time order,
// in batches; memory is bounded by the read chunk, the detection sample and the
// reorder window, whatever the input's length.

import { closeSync, openSync, readSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { gunzipSync, constants as zc } from "node:zlib";
import { Clock } from "./clock.ts";
import { checkHead, checkPath, DETECT_LINES, type DetectScore, detectFormat, PARSERS, SCANNERS } from "./detect.ts";
import type { LineResult } from "./ftrace.ts";
import { isGzip, type LineBatch, LineReader } from "./lines.ts";
import { ParseThread } from "./parse-thread.ts";
import type { ClockInfo, ImportFormat, TraceRecord } from "./record.ts";
import { REORDER_WINDOW, Reorder } from "./reorder.ts";

/** A reader of ftrace line buf[s, e) that takes it without a record (TraceInput.parseAll): the record's time, or NaN to leave the line. */
export type FastLine = (buf: LineBatch["buf"], s: number, e: number, line: number, clock: Clock) => number;

/** Line numbers kept for each kind of problem (the counts are exact). */
export const MAX_LISTED_LINES = 10;

export interface ReadOptions {
  /** Skip detection and read this format. */
  format?: ImportFormat;
  /** Reorder window in records (default REORDER_WINDOW). */
  window?: number;
  /**
   * Read and parse on a second thread (parse-thread.ts): true, false (default),
   * or "auto" (when parseThreadPays for the input's size on this machine). The
   * records are the same either way.
   */
  parseThread?: boolean | "auto";
  /** Hears how the import ran (the threads it started, or why not): for --verbose. */
  note?(line: string): void;
}

/**
 * Input bytes (of text: a gzip'd file counts 4 times its size) from which
 * `parseThread: "auto"` parses on a second thread: with 3 cores or more,
 * PARSE_THREAD_BYTES (below it the thread's start, ~50 ms, and its cold JIT are
 * a large part of the import); on 2 cores, where the parser shares a core with
 * the trace writer's thread and the JIT's, PARSE_THREAD_BYTES_2 (the split costs
 * CPU, records crossing as bytes and a second heap and JIT, which a long import
 * earns back: about 1.5M ftrace lines since the writer compresses with
 * deflateFast; docs/IMPORT.md, Speed); never on one core.
 */
export const PARSE_THREAD_BYTES = 8 << 20;
export const PARSE_THREAD_BYTES_2 = 160 << 20;

/** Whether `parseThread: "auto"` starts the parse thread for `bytes` of text, on this machine. */
export function parseThreadPays(bytes: number, cores = availableParallelism()): boolean {
  return cores >= 3 ? bytes >= PARSE_THREAD_BYTES : cores === 2 && bytes >= PARSE_THREAD_BYTES_2;
}

/** What reading an input found. */
export interface ReadStats {
  path: string;
  format: ImportFormat;
  /** The format was detected from the content (not given). */
  detected: boolean;
  /** Detection scores (empty when the format was given). */
  scores: DetectScore[];
  gzip: boolean;
  /** Bytes of the file (compressed size for gzip). */
  bytes: number;
  lines: number;
  /** Lines that became records. */
  records: number;
  /** Header, blank and call-chain lines. */
  skipped: number;
  /** Lines the format's reader does not recognize, with the first few line numbers. */
  unparsed: number;
  unparsedLines: number[];
  /** Lines longer than MAX_LINE_CHARS (also counted in unparsed), with the first few numbers. */
  overlongCount: number;
  overlong: number[];
  /** Records that arrived earlier than a record before them and were sorted into place. */
  reordered: number;
  /** The input's last line has no newline (it may have been cut short); `lastLineParsed` says if it still parsed. */
  noFinalNewline: boolean;
  lastLineParsed: boolean;
  /** gzip stream ended early: the reason (the decoded part was read). */
  gzipError?: string;
  /** Events the tracer lost (ftrace's `[LOST N EVENTS]` markers), and the markers' count. */
  lostEvents: number;
  lostMarkers: number;
  clock: ClockInfo | null;
  /** CPUs the input's header declares (tracefs `#P:N`, trace-cmd `cpus=N`), 0 when it does not. */
  declaredCpus: number;
}

/** Header lines that declare the number of CPUs: tracefs's `# entries-in-buffer/entries-written: 24/24   #P:2`, trace-cmd's `cpus=2`. */
const CPUS_DECL = /^(?:cpus=(\d{1,5})\s*$|#.*#P:(\d{1,5})\b)/;

/** Reads the first bytes of a file, gunzipping what they hold when the file is gzip'd. */
function readHead(path: string): { head: Uint8Array; gzip: boolean } {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const raw = buf.subarray(0, n);
    if (!isGzip(raw)) return { head: raw, gzip: false };
    let head: Uint8Array;
    try {
      head = gunzipSync(raw, { finishFlush: zc.Z_SYNC_FLUSH });
    } catch {
      head = new Uint8Array(0); // damaged from the start: the streaming read reports it
    }
    return { head, gzip: true };
  } finally {
    closeSync(fd);
  }
}

/**
 * One input being read. `open` checks it; `records()` yields its records in time
 * order (batches, each non-empty; a batch's array is reused for the next one: copy
 * what you keep); `stats` is complete once `records()` has ended.
 * Throws ImportError for a refused input or lines out of order beyond the window.
 */
export class TraceInput {
  readonly stats: ReadStats;
  private readonly reader: LineReader;
  private readonly window: number;
  private clock: Clock | null = null;
  /** The clock as the parse thread last reported it (when one parses). */
  private threadClock: ClockInfo | null = null;
  private readonly opts: ReadOptions;
  private readonly fileBytes: number;

  private constructor(path: string, gzip: boolean, opts: ReadOptions, fileBytes: number) {
    const format = opts.format;
    this.reader = new LineReader(path, gzip);
    this.window = opts.window ?? REORDER_WINDOW;
    this.opts = opts;
    this.fileBytes = fileBytes;
    this.stats = {
      path,
      format: format ?? "ftrace",
      detected: format === undefined,
      scores: [],
      gzip,
      bytes: 0,
      lines: 0,
      records: 0,
      skipped: 0,
      unparsed: 0,
      unparsedLines: [],
      overlongCount: 0,
      overlong: [],
      reordered: 0,
      noFinalNewline: false,
      lastLineParsed: true,
      lostEvents: 0,
      lostMarkers: 0,
      clock: null,
      declaredCpus: 0,
    };
  }

  static open(path: string, opts: ReadOptions = {}): TraceInput {
    checkPath(path);
    const { head, gzip } = readHead(path);
    checkHead(path, head);
    return new TraceInput(path, gzip, opts, statSync(path).size);
  }

  /** The input's size as text, estimated before reading (a gzip'd file counts 4 times its size). */
  get textBytes(): number {
    return this.fileBytes * (this.stats.gzip ? 4 : 1);
  }

  /** The clock as far as read (stats.clock is set at the end): what a writer that starts before the end records. */
  clockNow(): ClockInfo | null {
    return this.clock?.info() ?? this.threadClock;
  }

  /**
   * Set while records() yields its last batch: the reorder window's records at
   * the input's end, the last REORDER_WINDOW records of the input or all of a
   * shorter one (cpu-end.ts reads each cpu's last event there).
   */
  atEnd = false;

  async *records(): AsyncGenerator<TraceRecord[]> {
    const want = this.opts.parseThread ?? false;
    if (want === true || (want === "auto" && parseThreadPays(this.textBytes))) {
      const t = await ParseThread.start<ReadStats>(this.stats.path, { format: this.opts.format, window: this.window });
      if (typeof t !== "string") {
        this.opts.note?.("import: reading and parsing on a second thread");
        yield* this.fromThread(t);
        return;
      }
      this.opts.note?.(`import: no parse thread (${t}); parsing on this one`);
    }
    const it = this.reader.batches();
    try {
      yield* this.run(it);
    } finally {
      await it.return(undefined); // closes the file when reading stopped early (an ImportError)
    }
  }

  /**
   * The records as the parse thread reads them (parse-thread.ts), put in time
   * order here: the same batches, with the same counts and clock after each, as
   * run() yields.
   */
  private async *fromThread(t: ParseThread<ReadStats>): AsyncGenerator<TraceRecord[]> {
    const reorder = new Reorder(this.window);
    const out: TraceRecord[] = [];
    const got: TraceRecord[] = [];
    try {
      for (;;) {
        got.length = 0;
        const { progress, end } = t.next(got);
        if (end) {
          const tail: TraceRecord[] = [];
          reorder.flush(tail);
          this.atEnd = true;
          if (tail.length > 0) yield tail;
          Object.assign(this.stats, progress.stats);
          this.stats.reordered = reorder.late;
          this.threadClock = progress.clock;
          return;
        }
        out.length = 0;
        for (const r of got) reorder.push(r, out);
        Object.assign(this.stats, progress.stats);
        this.threadClock = progress.clock;
        if (out.length > 0) yield out;
      }
    } finally {
      t.close();
    }
  }

  /**
   * What the parse thread runs: parseLines over the whole input, then the counts
   * known at the end (but the reorder window's: the reading thread sorts).
   */
  async *parseAll(emit: (r: TraceRecord) => void, fast: FastLine | null): AsyncGenerator<void> {
    const it = this.reader.batches();
    try {
      yield* this.parseLines(it, emit, fast);
    } finally {
      await it.return(undefined);
    }
    this.endStats(null);
  }

  private async *run(it: AsyncGenerator<LineBatch>): AsyncGenerator<TraceRecord[]> {
    const reorder = new Reorder(this.window);
    // One array for every batch (no array grown per batch: the consumer copies what it keeps).
    const out: TraceRecord[] = [];
    for await (const _ of this.parseLines(it, (r) => reorder.push(r, out), null)) {
      if (out.length > 0) yield out;
      out.length = 0;
    }
    const tail: TraceRecord[] = [];
    reorder.flush(tail);
    this.atEnd = true;
    if (tail.length > 0) yield tail;
    this.endStats(reorder);
  }

  /** The counts known once the input is read: the line reader's, the reorder window's, the clock. */
  private endStats(reorder: Reorder | null): void {
    const st = this.stats;
    const end = this.reader.endState();
    st.lines = end.lines;
    st.bytes = end.bytes;
    st.overlongCount = end.overlongCount;
    st.overlong = end.overlong;
    st.noFinalNewline = end.noFinalNewline;
    st.lastLineParsed = !end.noFinalNewline || (this.lastLine === end.lines && this.lastParsed);
    if (end.gzipError !== undefined) st.gzipError = end.gzipError;
    if (reorder !== null) st.reordered = reorder.late;
    st.clock = this.clock!.info();
  }

  private lastLine = 0;
  private lastParsed = true;

  /**
   * Detection, then every line of `it` read by the format's reader: each record goes
   * to `emit` in input order (not yet reordered), counted; yields after each batch
   * of lines. `fast`, when given, may take a line first (the parse thread's ftrace
   * lines, sent without a record): it returns the record's time, or NaN to leave
   * the line to the reader (it must then leave the clock as the reader finds it).
   */
  private async *parseLines(
    it: AsyncGenerator<LineBatch>,
    emit: (r: TraceRecord) => void,
    fast: FastLine | null,
  ): AsyncGenerator<void> {
    const st = this.stats;
    // Detection: hold (copies of) the first batches until DETECT_LINES lines (or the end).
    const held: LineBatch[] = [];
    let heldLines = 0;
    let done = false;
    if (st.detected) {
      while (heldLines < DETECT_LINES) {
        const r = await it.next();
        if (r.done === true) {
          done = true;
          break;
        }
        held.push(r.value.copy());
        heldLines += r.value.count;
      }
      const sample: string[] = [];
      for (const b of held) for (let i = 0; i < b.count && sample.length < DETECT_LINES; i++) sample.push(b.text(i));
      const d = detectFormat(st.path, sample);
      st.format = d.format;
      st.scores = d.scores;
    }
    const parse = PARSERS[st.format];
    const scanner = SCANNERS[st.format];
    const take = st.format === "ftrace" ? fast : null;
    const clock = new Clock();
    this.clock = clock;
    let lastTs = 0;

    const run = (b: LineBatch): void => {
      const { buf, starts, ends } = b;
      for (let i = 0; i < b.count; i++) {
        const n = b.first + i;
        this.lastLine = n;
        const overlong = b.isOverlong(i);
        if (take !== null && !overlong) {
          const ts = take(buf, starts[i]!, ends[i]!, n, clock);
          if (!Number.isNaN(ts)) {
            this.lastParsed = true;
            lastTs = ts;
            st.records++;
            continue;
          }
        }
        let r: LineResult;
        if (overlong) r = null;
        else if (scanner !== undefined)
          r = scanner.scan(buf, starts[i]!, ends[i]!, n, clock) ?? scanner.rest(b.text(i), n, clock);
        else r = parse(b.text(i), n, clock);
        if (r === "skip") {
          st.skipped++;
          if (n <= 64 && st.declaredCpus === 0) {
            const m = CPUS_DECL.exec(b.text(i));
            if (m) st.declaredCpus = Number(m[1] ?? m[2]);
          }
          this.lastParsed = true;
          continue;
        }
        if (r === null) {
          st.unparsed++;
          if (st.unparsedLines.length < MAX_LISTED_LINES) st.unparsedLines.push(n);
          this.lastParsed = false;
          continue;
        }
        this.lastParsed = true;
        if (Number.isNaN(r.ts))
          r.ts = lastTs; // a marker without a time (lost events)
        else lastTs = r.ts;
        if (r.name === "lost_events") {
          st.lostMarkers++;
          st.lostEvents += typeof r.fields["count"] === "number" ? r.fields["count"] : 0;
        }
        st.records++;
        emit(r);
      }
    };

    for (const b of held) {
      run(b);
      yield;
    }
    if (!done) {
      for (;;) {
        const r = await it.next();
        if (r.done === true) break;
        run(r.value);
        yield;
      }
    }
  }
}
