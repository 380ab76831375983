// Streaming line reader for import: a file (plain or gzip'd) as batches of lines,
// with memory bounded by the chunk size and the longest line kept, however long the
// input. Works the same on Node, Bun and Deno (node:fs streams, node:zlib gunzip).
//
// Contract: lines come in input order with their 1-based numbers; the '\n' (and a
// '\r' before it) is removed; bytes that are not UTF-8 become U+FFFD. A line longer
// than MAX_LINE_CHARS is not kept: it comes as the empty string and its number is in
// its batch's `overlong` (the parser counts it as unparsed). After the last batch,
// `endState()` says whether the input ended without a newline (a last line that may
// have been cut short) and whether a gzip stream ended early.

import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";

/** Lines longer than this (in UTF-16 units) are dropped and reported: no trace line is near it. */
export const MAX_LINE_CHARS = 65536;
/** Overlong line numbers kept (the count is exact). */
export const OVERLONG_LISTED = 10;
/** Read size: the reader holds about this many bytes (plus one partial line) at a time. */
export const READ_CHUNK = 1 << 18;

/** A run of consecutive lines; `lines[i]` is line number `first + i`. */
export interface LineBatch {
  first: number;
  lines: string[];
  /** Numbers of the lines of this batch dropped for their length (they come as ""). */
  overlong: number[];
}

export interface LineEndState {
  /** Total lines read (the last one counted even without a newline). */
  lines: number;
  /** The input did not end with a newline: its last line may be cut short. */
  noFinalNewline: boolean;
  /** Lines dropped for being longer than MAX_LINE_CHARS, and the first OVERLONG_LISTED of their numbers. */
  overlongCount: number;
  overlong: number[];
  /** A gzip stream ended before its end marker (the decoded part was read), with the reason. */
  gzipError?: string;
  /** Bytes read from the file (compressed size for gzip). */
  bytes: number;
}

/** True when the bytes start with the gzip magic. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Reads `path` as lines, gunzipping when `gzip` is true. Call `batches()` once and
 * iterate it to the end, then `endState()`.
 */
export class LineReader {
  private readonly path: string;
  private readonly gzip: boolean;
  private state: LineEndState = { lines: 0, noFinalNewline: false, overlongCount: 0, overlong: [], bytes: 0 };

  constructor(path: string, gzip: boolean) {
    this.path = path;
    this.gzip = gzip;
  }

  endState(): LineEndState {
    return this.state;
  }

  /** Chunks of a plain file, read synchronously (no stream machinery: the fastest way on every runtime). */
  private *plainChunks(): Generator<Uint8Array> {
    const fd = openSync(this.path, "r");
    try {
      const buf = new Uint8Array(READ_CHUNK);
      for (;;) {
        const n = readSync(fd, buf, 0, READ_CHUNK, null);
        if (n <= 0) return;
        this.state.bytes += n;
        yield buf.subarray(0, n);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Decompressed chunks of a gzip'd file. */
  private gzipChunks(): AsyncIterable<Uint8Array> {
    const file = createReadStream(this.path, { highWaterMark: READ_CHUNK });
    const gz = createGunzip({ chunkSize: READ_CHUNK });
    file.on("data", (b: Buffer | string) => {
      this.state.bytes += b.length;
    });
    file.on("error", (e) => gz.destroy(e));
    return file.pipe(gz) as Readable as AsyncIterable<Uint8Array>;
  }

  private countOverlong(nums: number[]): void {
    const st = this.state;
    st.overlongCount += nums.length;
    for (const n of nums) if (st.overlong.length < OVERLONG_LISTED) st.overlong.push(n);
  }

  async *batches(): AsyncGenerator<LineBatch> {
    const src: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = this.gzip ? this.gzipChunks() : this.plainChunks();
    const dec = new TextDecoder("utf-8");
    let carry = ""; // start of a line whose end has not arrived yet
    let dropping = false; // inside an overlong line: skip until its newline
    let next = 1; // number of the next line to complete
    const st = this.state;
    try {
      for await (const chunk of src) {
        const text = dec.decode(chunk, { stream: true });
        const lines: string[] = [];
        const overlong: number[] = [];
        const first = next;
        let start = 0;
        for (;;) {
          const nl = text.indexOf("\n", start);
          if (nl < 0) break;
          let line: string;
          if (dropping) {
            line = "";
            dropping = false;
            overlong.push(next);
          } else {
            line = carry === "" ? text.slice(start, nl) : carry + text.slice(start, nl);
            carry = "";
            if (line.length > MAX_LINE_CHARS) {
              overlong.push(next);
              line = "";
            }
          }
          if (line.endsWith("\r")) line = line.slice(0, -1);
          lines.push(line);
          next++;
          start = nl + 1;
        }
        if (!dropping && start < text.length) {
          carry += text.slice(start);
          if (carry.length > MAX_LINE_CHARS) {
            carry = "";
            dropping = true;
          }
        }
        this.countOverlong(overlong);
        if (lines.length > 0) yield { first, lines, overlong };
      }
    } catch (e) {
      if (!this.gzip) throw e;
      st.gzipError = e instanceof Error ? e.message : String(e);
    }
    const rest = carry + dec.decode();
    if (rest !== "" || dropping) {
      st.noFinalNewline = true;
      const overlong = dropping ? [next] : [];
      this.countOverlong(overlong);
      yield { first: next, lines: [dropping ? "" : rest], overlong };
      next++;
    }
    st.lines = next - 1;
  }
}
