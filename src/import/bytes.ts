// Reading text as bytes: the helpers of the byte-level fast paths (lines.ts, ftrace.ts,
// fields.ts), which scan an input's UTF-8 bytes in place instead of decoding every
// line into a string first.
//
// Contract: a range [a, b) of a line's bytes becomes the string that decoding the
// whole line and slicing it would give, as long as the range starts and ends at ASCII
// bytes (a delimiter or the line's ends): UTF-8 resynchronizes at every ASCII byte, so
// decoding the piece alone is decoding it in place. Short ASCII strings (event names,
// comms, flags, states, lock addresses: the same few hundred strings again and again)
// come from a bounded cache, so that reading a line allocates no string it has seen
// before.

import { Buffer } from "node:buffer";

/** Bytes of the input: a node:buffer Buffer (a Uint8Array with fast slicing to strings). */
export type Bytes = Buffer;

/** UTF-8 without BOM stripping: a range in the middle of the input is never its start. */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/** Strings up to this many bytes are cached. */
const INTERN_MAX = 48;
/**
 * Cache sets (a power of two) of two entries each, the most recently used first: a
 * string seen once (a runtime, a count) displaces no more than one frequent one.
 */
const INTERN_SETS = 4096;
const cache: (string | undefined)[] = new Array<string | undefined>(2 * INTERN_SETS).fill(undefined);

/** True for '0'..'9'. */
export const isDigit = (c: number) => c >= 48 && c <= 57;

/** The text of buf[a, b), decoded as UTF-8 (no cache). */
export function decode(buf: Bytes, a: number, b: number): string {
  if (b <= a) return "";
  for (let i = a; i < b; i++) if (buf[i]! >= 0x80) return utf8.decode(buf.subarray(a, b));
  return latin1(buf, a, b);
}

/** ASCII bytes as a string (Buffer's latin1 slice: 2 to 3 times faster than TextDecoder on Bun and Deno). */
function latin1(buf: Bytes, a: number, b: number): string {
  return buf.toString("latin1", a, b);
}

/**
 * The text of buf[a, b) (see the contract above), from the cache when it is a short
 * ASCII string seen before. Bounded: 2 * INTERN_SETS strings of at most INTERN_MAX bytes.
 */
export function text(buf: Bytes, a: number, b: number): string {
  const n = b - a;
  if (n <= 0) return "";
  if (n > INTERN_MAX) return decode(buf, a, b);
  let h = 0x811c9dc5;
  for (let i = a; i < b; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  const set = ((h ^ (h >>> 13)) & (INTERN_SETS - 1)) << 1;
  const first = cache[set];
  if (first !== undefined && same(first, buf, a, n)) return first;
  return textMiss(buf, a, b, set);
}

/** text() past the first entry of its set: the second one (which becomes the first), or a new string. */
function textMiss(buf: Bytes, a: number, b: number, set: number): string {
  const first = cache[set];
  const second = cache[set + 1];
  if (second !== undefined && same(second, buf, a, b - a)) {
    cache[set] = second;
    cache[set + 1] = first;
    return second;
  }
  for (let i = a; i < b; i++) if (buf[i]! >= 0x80) return utf8.decode(buf.subarray(a, b)); // never cached: see `same`
  const t = latin1(buf, a, b);
  cache[set] = t;
  cache[set + 1] = first;
  return t;
}

/** True when ASCII string s is bytes buf[a, a+n). Only ASCII strings are cached, so equal code units mean equal text. */
function same(s: string, buf: Bytes, a: number, n: number): boolean {
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== buf[a + i]) return false;
  return true;
}

/** Integer value of buf[a, b) when it is all digits (at most 15), else NaN. */
export function digitsAt(buf: Bytes, a: number, b: number): number {
  if (b <= a || b - a > 15) return NaN;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}

/** True when buf[at, at + lit.length) holds the ASCII bytes of lit. */
export function startsWithAt(buf: Bytes, at: number, end: number, lit: Uint8Array): boolean {
  const n = lit.length;
  if (at < 0 || at + n > end) return false;
  for (let i = 0; i < n; i++) if (buf[at + i] !== lit[i]) return false;
  return true;
}

/** First index of byte c in buf[a, b), or -1. */
export function indexOfByte(buf: Bytes, c: number, a: number, b: number): number {
  for (let i = a; i < b; i++) if (buf[i] === c) return i;
  return -1;
}

/** The ASCII bytes of a literal (for startsWithAt). */
export const ascii = (lit: string): Uint8Array => encoder.encode(lit);

/** A string as UTF-8 bytes, in a scratch buffer reused by the next call (the string entry points of the byte parsers). */
let scratch = Buffer.alloc(256);
export function utf8Bytes(s: string): { buf: Bytes; end: number } {
  if (scratch.length < s.length * 3) scratch = Buffer.alloc(s.length * 3);
  const { written } = encoder.encodeInto(s, scratch);
  return { buf: scratch, end: written };
}
