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

/**
 * Number's functions, looked up once as this module loads, before any of the hot path
 * runs. JavaScriptCore adds a built-in constructor's functions to it as properties on
 * their first lookup, and each addition changes Number's shape, which throws away the
 * optimized code of every function that assumed the old one. Looked up late (the trace
 * writer's first Number.isSafeInteger, a rare branch's Number.isFinite), that dropped
 * the top-tier code of the ftrace scanner and a dozen other hot functions in the middle
 * of a 1M-line import, to be compiled again (docs/IMPORT.md, "Tenth pass"). Exported so
 * that no compiler drops the lookups.
 */
export const NUMBER_FUNCTIONS = [
  Number.isNaN,
  Number.isInteger,
  Number.isSafeInteger,
  Number.isFinite,
  Number.parseInt,
  Number.parseFloat,
] as const;

/** UTF-8 without BOM stripping: a range in the middle of the input is never its start. */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/** Strings up to this many bytes are cached (a multiple of 4). */
const INTERN_MAX = 48;
/**
 * Cache sets (a power of two) of two entries each, the most recently used first: a
 * string seen once (a runtime, a count) displaces no more than one frequent one. Each
 * entry keeps its string, its length and its bytes (compared 4 at a time).
 */
const INTERN_SETS = 4096;
const strings: (string | undefined)[] = new Array<string | undefined>(2 * INTERN_SETS).fill(undefined);
const lengths = new Int32Array(2 * INTERN_SETS).fill(-1);
const words = new Uint32Array((2 * INTERN_SETS * INTERN_MAX) / 4);
const pool = new Uint8Array(words.buffer);
/** The platform's byte order, for reading input bytes as `words` reads the pool. */
const LITTLE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** A DataView of the last buffer text() read (a reader reads one buffer for a long time). */
let viewed: Bytes | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

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
  if (buf !== viewed) {
    viewed = buf;
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  // hash 4 bytes at a time
  let h = n;
  let i = a;
  for (; i + 4 <= b; i += 4) h = Math.imul(h ^ view.getUint32(i, LITTLE), 0x9e3779b1) ^ (h >>> 15);
  for (; i < b; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  const e0 = ((h ^ (h >>> 13)) & (INTERN_SETS - 1)) << 1;
  if (same(e0, buf, a, n)) return strings[e0]!;
  return textMiss(buf, a, b, e0);
}

/** text() past the first entry of its set: the second one (which becomes the first), or a new string. */
function textMiss(buf: Bytes, a: number, b: number, e0: number): string {
  const n = b - a;
  const e1 = e0 + 1;
  if (same(e1, buf, a, n)) {
    swap(e0, e1);
    return strings[e0]!;
  }
  for (let i = a; i < b; i++) if (buf[i]! >= 0x80) return utf8.decode(buf.subarray(a, b)); // never cached: see `same`
  const t = latin1(buf, a, b);
  swap(e0, e1); // the first entry becomes the second; the second one is replaced
  strings[e0] = t;
  lengths[e0] = n;
  pool.set(buf.subarray(a, b), e0 * INTERN_MAX);
  return t;
}

/** Exchanges cache entries e and f. */
function swap(e: number, f: number): void {
  const s = strings[e];
  strings[e] = strings[f];
  strings[f] = s;
  const n = lengths[e]!;
  lengths[e] = lengths[f]!;
  lengths[f] = n;
  const we = (e * INTERN_MAX) / 4;
  const wf = (f * INTERN_MAX) / 4;
  for (let k = 0; k < INTERN_MAX / 4; k++) {
    const w = words[we + k]!;
    words[we + k] = words[wf + k]!;
    words[wf + k] = w;
  }
}

/**
 * True when cache entry e holds bytes buf[a, a+n) (`view` is buf's). Only ASCII strings
 * are cached, so equal bytes mean the entry's string is their text.
 */
function same(e: number, buf: Bytes, a: number, n: number): boolean {
  if (lengths[e] !== n) return false;
  let w = (e * INTERN_MAX) / 4;
  let i = 0;
  for (; i + 4 <= n; i += 4, w++) if (view.getUint32(a + i, LITTLE) !== words[w]) return false;
  const p = e * INTERN_MAX;
  for (; i < n; i++) if (buf[a + i] !== pool[p + i]) return false;
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

/**
 * digitsAt for a count or an id: its value, or -1 when buf[a, b) is not all
 * digits (at most 15). No NaN: a function or variable that may hold NaN is
 * compiled as a double, and its integers then reach every consumer as doubles
 * (their int32 code exits and is compiled again).
 */
export function uintAt(buf: Bytes, a: number, b: number): number {
  if (b <= a || b - a > 15) return -1;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return -1;
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

/**
 * A string as UTF-8 bytes, in a scratch buffer reused by the next call (the string
 * entry points of the byte parsers). A caller must be done reading it before it calls
 * anything that may encode again (parsePayload's string path does: scanFtrace reads its
 * payload last, after every other field).
 */
let scratch = Buffer.alloc(256);
export function utf8Bytes(s: string): { buf: Bytes; end: number } {
  if (scratch.length < s.length * 3) scratch = Buffer.alloc(s.length * 3);
  const { written } = encoder.encodeInto(s, scratch);
  return { buf: scratch, end: written };
}
