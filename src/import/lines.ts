// Streaming line reader for import: a file (plain or gzip'd) as batches of lines,
// with memory bounded by the chunk size and the longest line kept, however long the
// input. Works the same on Node, Bun and Deno (node:fs, node:zlib gunzip).
//
// Lines are not decoded here: a batch is a window of the input's bytes with the
// bounds of each line in it, so that a parser that reads bytes (ftrace.ts) makes no
// string for a line, and one that reads strings decodes each line once (`text(i)`).
//
// Contract: lines come in input order with their 1-based numbers; the '\n' (and a
// '\r' before it) is not part of a line; a UTF-8 BOM at the start of the input is not
// part of line 1; bytes that are not UTF-8 decode to U+FFFD. A line longer than
// MAX_LINE_CHARS characters is not kept: it comes empty and its number is in its
// batch's `overlong` (the parser counts it as unparsed). A batch's bytes are valid
// until the next batch is asked for (`copy()` keeps one). After the last batch,
// `endState()` says whether the input ended without a newline (a last line that may
// have been cut short) and whether a gzip stream ended early.

import { Buffer } from "node:buffer";
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { type Bytes, decode } from "./bytes.ts";

/** Lines longer than this (in UTF-16 units, as decoded) are dropped and reported: no trace line is near it. */
export const MAX_LINE_CHARS = 65536;
/** Overlong line numbers kept (the count is exact). */
export const OVERLONG_LISTED = 10;
/** Read size: the reader holds about this many bytes (plus one partial line) at a time. */
export const READ_CHUNK = 1 << 18;
/**
 * A line of more bytes than this is longer than MAX_LINE_CHARS whatever it holds (UTF-8
 * takes at most 3 bytes per UTF-16 unit), so the reader stops keeping it; the reader
 * holds at most READ_CHUNK + MAX_LINE_BYTES bytes.
 */
const MAX_LINE_BYTES = 3 * MAX_LINE_CHARS;

/** A run of consecutive lines: line `first + i` is `buf[starts[i], ends[i])`, for i < count. */
export class LineBatch {
  constructor(
    readonly first: number,
    readonly count: number,
    readonly buf: Bytes,
    readonly starts: Int32Array,
    readonly ends: Int32Array,
    /** Numbers of the lines of this batch dropped for their length (they come empty). */
    readonly overlong: number[],
  ) {}

  /** Line `first + i` as a string. */
  text(i: number): string {
    return decode(this.buf, this.starts[i]!, this.ends[i]!);
  }

  /** True when line `first + i` was dropped for its length. */
  isOverlong(i: number): boolean {
    return this.overlong.length > 0 && this.starts[i] === this.ends[i] && this.overlong.includes(this.first + i);
  }

  /** A copy that stays valid when the reader moves on: the lines' bytes only (not those of overlong lines). */
  copy(): LineBatch {
    const n = this.count;
    let size = 0;
    for (let i = 0; i < n; i++) size += this.ends[i]! - this.starts[i]!;
    const buf = Buffer.alloc(size);
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      starts[i] = at;
      at += this.buf.copy(buf, at, this.starts[i]!, this.ends[i]!);
      ends[i] = at;
    }
    return new LineBatch(this.first, n, buf, starts, ends, [...this.overlong]);
  }
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

/** True when the line buf[a, b) decodes to more than MAX_LINE_CHARS UTF-16 units. */
function tooLong(buf: Bytes, a: number, b: number): boolean {
  const n = b - a;
  return n > MAX_LINE_CHARS && (n > MAX_LINE_BYTES || decode(buf, a, b).length > MAX_LINE_CHARS);
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

  /** Decompressed chunks of a gzip'd file. */
  private gzipChunks(): AsyncIterator<Uint8Array> {
    const file = createReadStream(this.path, { highWaterMark: READ_CHUNK });
    const gz = createGunzip({ chunkSize: READ_CHUNK });
    file.on("data", (b: Buffer | string) => {
      this.state.bytes += b.length;
    });
    file.on("error", (e) => gz.destroy(e));
    return (file.pipe(gz) as Readable as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  }

  private countOverlong(nums: number[]): void {
    const st = this.state;
    st.overlongCount += nums.length;
    for (const n of nums) if (st.overlong.length < OVERLONG_LISTED) st.overlong.push(n);
  }

  async *batches(): AsyncGenerator<LineBatch> {
    const st = this.state;
    // buf[0, carry) holds the start of a line whose end has not arrived yet; reads go after it.
    const buf = Buffer.alloc(READ_CHUNK + MAX_LINE_BYTES + 1);
    let carry = 0;
    let dropping = false; // inside an overlong line: skip until its newline
    let next = 1; // number of the next line to complete
    let starts = new Int32Array(4096);
    let ends = new Int32Array(4096);
    // Plain files are read synchronously straight into buf (no stream machinery: the
    // fastest way on every runtime); gzip'd ones through a streaming gunzip.
    const fd = this.gzip ? -1 : openSync(this.path, "r");
    const gz = this.gzip ? this.gzipChunks() : null;
    let pending: Uint8Array | null = null;
    let pendingAt = 0;
    const fill = async (at: number): Promise<number> => {
      if (gz === null) {
        const n = readSync(fd, buf, at, READ_CHUNK, null);
        st.bytes += Math.max(n, 0);
        return n;
      }
      if (pending === null || pendingAt >= pending.length) {
        const r = await gz.next();
        if (r.done === true) return 0;
        pending = r.value;
        pendingAt = 0;
      }
      const n = Math.min(READ_CHUNK, pending.length - pendingAt);
      buf.set(pending.subarray(pendingAt, pendingAt + n), at);
      pendingAt += n;
      return n;
    };
    /** Where line `next` starts when it starts at 0: after a BOM if it is line 1. */
    const lineStart = (a: number, b: number) =>
      next === 1 && b - a >= 3 && buf[a] === 0xef && buf[a + 1] === 0xbb && buf[a + 2] === 0xbf ? a + 3 : a;
    try {
      for (;;) {
        let n: number;
        try {
          n = await fill(carry);
        } catch (e) {
          if (gz === null) throw e;
          st.gzipError = e instanceof Error ? e.message : String(e);
          break;
        }
        if (n <= 0) break;
        const end = carry + n;
        // a plain Uint8Array view: Buffer's own indexOf is a slow JS polyfill on Deno
        const region = new Uint8Array(buf.buffer, buf.byteOffset, end);
        const first = next;
        const overlong: number[] = [];
        let count = 0;
        let p = 0;
        for (;;) {
          const nl = region.indexOf(10, p);
          if (nl < 0) break;
          if (count === starts.length) {
            starts = grow(starts);
            ends = grow(ends);
          }
          if (dropping || tooLong(buf, p, nl)) {
            dropping = false;
            overlong.push(next);
            starts[count] = nl;
            ends[count] = nl;
          } else {
            starts[count] = lineStart(p, nl);
            ends[count] = nl > p && buf[nl - 1] === 13 ? nl - 1 : nl;
          }
          count++;
          next++;
          p = nl + 1;
        }
        this.countOverlong(overlong);
        if (count > 0) yield new LineBatch(first, count, buf, starts, ends, overlong);
        // Keep the unfinished line for the next read, unless it is already too long.
        if (!dropping && end - p > MAX_LINE_BYTES) dropping = true;
        if (dropping) carry = 0;
        else {
          buf.copyWithin(0, p, end);
          carry = end - p;
        }
      }
      if (carry > 0 || dropping) {
        // A last line without a newline (its '\r', if any, is kept: it was not a line end).
        st.noFinalNewline = true;
        const cut = dropping || tooLong(buf, 0, carry);
        const overlong = cut ? [next] : [];
        this.countOverlong(overlong);
        const a = cut ? 0 : lineStart(0, carry);
        yield new LineBatch(next, 1, buf, Int32Array.of(a), Int32Array.of(cut ? 0 : carry), overlong);
        next++;
      }
    } finally {
      if (fd >= 0) closeSync(fd);
      await gz?.return?.(); // destroys the streams when reading stopped early
    }
    st.lines = next - 1;
  }
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
