// Reading an input end to end: checks, format detection, line parsing, bounded
// re-sorting, and the counts an import reports. Produces TraceRecords in time order,
// in batches; memory is bounded by the read chunk, the detection sample and the
// reorder window, whatever the input's length.

import { closeSync, openSync, readSync } from "node:fs";
import { gunzipSync, constants as zc } from "node:zlib";
import { Clock } from "./clock.ts";
import { checkHead, checkPath, DETECT_LINES, type DetectScore, detectFormat, PARSERS, SCANNERS } from "./detect.ts";
import type { LineResult } from "./ftrace.ts";
import { isGzip, type LineBatch, LineReader } from "./lines.ts";
import type { ClockInfo, ImportFormat, TraceRecord } from "./record.ts";
import { REORDER_WINDOW, Reorder } from "./reorder.ts";

/** Line numbers kept for each kind of problem (the counts are exact). */
export const MAX_LISTED_LINES = 10;

export interface ReadOptions {
  /** Skip detection and read this format. */
  format?: ImportFormat;
  /** Reorder window in records (default REORDER_WINDOW). */
  window?: number;
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

  private constructor(path: string, gzip: boolean, format: ImportFormat | undefined, window: number) {
    this.reader = new LineReader(path, gzip);
    this.window = window;
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
    return new TraceInput(path, gzip, opts.format, opts.window ?? REORDER_WINDOW);
  }

  /** The clock as far as read (stats.clock is set at the end): what a writer that starts before the end records. */
  clockNow(): ClockInfo | null {
    return this.clock?.info() ?? null;
  }

  async *records(): AsyncGenerator<TraceRecord[]> {
    const it = this.reader.batches();
    try {
      yield* this.run(it);
    } finally {
      await it.return(undefined); // closes the file when reading stopped early (an ImportError)
    }
  }

  private async *run(it: AsyncGenerator<LineBatch>): AsyncGenerator<TraceRecord[]> {
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
    const clock = new Clock();
    this.clock = clock;
    const reorder = new Reorder(this.window);
    let lastTs = 0;
    let lastLine = 0;
    let lastParsed = true;

    // One array for every batch (no array grown per batch: the consumer copies what it keeps).
    const out: TraceRecord[] = [];
    const run = (b: LineBatch): TraceRecord[] => {
      out.length = 0;
      const { buf, starts, ends } = b;
      for (let i = 0; i < b.count; i++) {
        const n = b.first + i;
        let r: LineResult;
        if (b.isOverlong(i)) r = null;
        else if (scanner !== undefined)
          r = scanner.scan(buf, starts[i]!, ends[i]!, n, clock) ?? scanner.rest(b.text(i), n, clock);
        else r = parse(b.text(i), n, clock);
        lastLine = n;
        if (r === "skip") {
          st.skipped++;
          if (n <= 64 && st.declaredCpus === 0) {
            const m = CPUS_DECL.exec(b.text(i));
            if (m) st.declaredCpus = Number(m[1] ?? m[2]);
          }
          lastParsed = true;
          continue;
        }
        if (r === null) {
          st.unparsed++;
          if (st.unparsedLines.length < MAX_LISTED_LINES) st.unparsedLines.push(n);
          lastParsed = false;
          continue;
        }
        lastParsed = true;
        if (Number.isNaN(r.ts))
          r.ts = lastTs; // a marker without a time (lost events)
        else lastTs = r.ts;
        if (r.name === "lost_events") {
          st.lostMarkers++;
          st.lostEvents += typeof r.fields["count"] === "number" ? r.fields["count"] : 0;
        }
        st.records++;
        reorder.push(r, out);
      }
      return out;
    };

    for (const b of held) {
      const out = run(b);
      if (out.length > 0) yield out;
    }
    if (!done) {
      for (;;) {
        const r = await it.next();
        if (r.done === true) break;
        const out = run(r.value);
        if (out.length > 0) yield out;
      }
    }
    const tail: TraceRecord[] = [];
    reorder.flush(tail);
    if (tail.length > 0) yield tail;

    const end = this.reader.endState();
    st.lines = end.lines;
    st.bytes = end.bytes;
    st.overlongCount = end.overlongCount;
    st.overlong = end.overlong;
    st.noFinalNewline = end.noFinalNewline;
    st.lastLineParsed = !end.noFinalNewline || (lastLine === end.lines && lastParsed);
    if (end.gzipError !== undefined) st.gzipError = end.gzipError;
    st.reordered = reorder.late;
    st.clock = clock.info();
  }
}
