// A fast path for the msgpack documents a seek reads each time: a snapshot
// (~2.7 KB, ~35 maps of short ASCII keys and small integers in `stress`) and
// an event chunk body (an array of integers, the string table and the
// columns as bin). msgpackShape's walk and then msgpackr's unpack took ~45 µs
// of a ~0.35 ms seek; this does both in one pass, for the plain subset such
// documents use: nil, booleans, integers up to 32 bits, float64, ASCII strings
// up to 64 KiB, bin (a view of the bytes, as msgpackr gives it), arrays and
// maps (string keys) up to 65,535 entries. It gives the value
// msgpackr gives (its options in format.ts: maps as objects, no records), or
// undefined for anything else: another type, a non-ASCII string, a key
// msgpackr renames (`__proto__`), bytes that do not hold exactly one value,
// or a document past msgpackShape's limits (counted as that walk counts them,
// or more). The caller then takes the usual path (msgpackShape, then msgpackr),
// which gives its own value or error: so no document is read differently, and
// nothing is accepted that the usual path refuses. Allocation stays within the
// bytes (every item takes at least one byte, checked before an array is made);
// recursion within the depth limit.

import { fromUtf8 } from "./bytes.ts";
import type { ShapeLimits } from "./msgpack-bounds.ts";

let b: Uint8Array = new Uint8Array(0);
let p = 0;
let end = 0;
let containers = 0;
let items = 0;
let lim: ShapeLimits = { maxDepth: 0, maxContainers: 0, maxItems: 0 };
/** Set when the document leaves the subset. */
let out = false;

/** Short strings decoded before (by a hash of their bytes; their bytes at SHORT * slot in keyBytes): maps repeat a few keys and names. */
const KEYS = 1024;
/** Strings of at most this many bytes are cached. */
const SHORT = 24;
const keyStr: (string | undefined)[] = new Array(KEYS).fill(undefined);
const keyBytes = new Uint8Array(KEYS * SHORT);

/** The msgpack document in bytes, or undefined when it is not one this reads (see above). */
export function unpackPlain(bytes: Uint8Array, limits: ShapeLimits): unknown {
  b = bytes;
  p = 0;
  end = bytes.length;
  containers = 0;
  items = 0;
  lim = limits;
  out = false;
  const v = value(0);
  const ok = !out && p === end;
  b = new Uint8Array(0);
  return ok ? v : undefined;
}

/** An ASCII string of n bytes at p (p advanced), or undefined (out set) when it is not; short ones from the cache. */
function ascii(n: number): string | undefined {
  if (n > end - p) {
    out = true;
    return undefined;
  }
  if (n === 0) return "";
  if (n > SHORT) return longAscii(n);
  // A hash of every byte, and whether one is not ASCII.
  let h = n;
  let any = 0;
  for (let i = 0; i < n; i++) {
    const c = b[p + i]!;
    h = (Math.imul(h, 31) + c) | 0;
    any |= c;
  }
  if (any >= 0x80) {
    out = true;
    return undefined;
  }
  h = (h ^ (h >>> 10)) & (KEYS - 1);
  const seen = keyStr[h];
  const at = h * SHORT;
  if (seen !== undefined && seen.length === n) {
    let i = 0;
    while (i < n && keyBytes[at + i] === b[p + i]) i++;
    if (i === n) {
      p += n;
      return seen;
    }
  }
  const s = String.fromCharCode.apply(null, b.subarray(p, p + n) as unknown as number[]);
  keyStr[h] = s;
  // Its bytes, copied (a loop: no view made): the document's buffer is reused (the inflater's).
  for (let i = 0; i < n; i++) keyBytes[at + i] = b[p + i]!;
  p += n;
  return s;
}

/**
 * An ASCII string longer than SHORT bytes (not cached), or undefined (out set).
 * Made at once (the bytes checked first): appending a character at a time made
 * a string per character, ~100 of them per event chunk of `stress` (a seek's
 * garbage: docs/BENCHMARKS.md, "Phase 10").
 */
function longAscii(n: number): string | undefined {
  let any = 0;
  for (let i = 0; i < n; i++) any |= b[p + i]!;
  if (any >= 0x80) {
    out = true;
    return undefined;
  }
  const s = fromUtf8(b.subarray(p, p + n));
  p += n;
  return s;
}

/** A map key: a string (msgpackr renames `__proto__`: left to it). */
function key(): string | undefined {
  if (p >= end) {
    out = true;
    return undefined;
  }
  const t = b[p]!;
  let n: number;
  if (t >= 0xa0 && t <= 0xbf) {
    n = t & 0x1f;
    p++;
  } else if (t === 0xd9 && p + 1 < end) {
    n = b[p + 1]!;
    p += 2;
  } else {
    out = true;
    return undefined;
  }
  const s = ascii(n);
  if (s === "__proto__") out = true;
  return s;
}

/** n bytes at p (p advanced) as msgpackr gives a bin: a view of the document's bytes. */
function bin(n: number): Uint8Array | undefined {
  if (n > end - p) {
    out = true;
    return undefined;
  }
  p += n;
  return b.subarray(p - n, p);
}

/** A container of n entries (maps: key and value) opening at depth d + 1: counted as msgpackShape counts it. */
function opens(n: number, slots: number, d: number): boolean {
  if (slots > end - p || ++containers > lim.maxContainers || (items += n) > lim.maxItems || d + 1 > lim.maxDepth) {
    out = true;
    return false;
  }
  return true;
}

function array(n: number, d: number): unknown[] | undefined {
  if (!opens(n, n, d)) return undefined;
  const a: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = value(d + 1);
    if (out) return undefined;
  }
  return a;
}

function map(n: number, d: number): Record<string, unknown> | undefined {
  if (!opens(n, 2 * n, d)) return undefined;
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = key();
    if (out) return undefined;
    const v = value(d + 1);
    if (out) return undefined;
    o[k!] = v;
  }
  return o;
}

/** The value at p, at depth d (the document is at 0). */
function value(d: number): unknown {
  if (p >= end) {
    out = true;
    return undefined;
  }
  const t = b[p++]!;
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t >= 0xa0 && t <= 0xbf) return ascii(t & 0x1f);
  if (t <= 0x8f) return map(t & 0x0f, d);
  if (t <= 0x9f) return array(t & 0x0f, d);
  const left = end - p;
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xcc:
      if (left < 1) break;
      return b[p++]!;
    case 0xcd:
      if (left < 2) break;
      p += 2;
      return (b[p - 2]! << 8) | b[p - 1]!;
    case 0xce:
      if (left < 4) break;
      p += 4;
      return b[p - 4]! * 0x1000000 + ((b[p - 3]! << 16) | (b[p - 2]! << 8) | b[p - 1]!);
    case 0xd0:
      if (left < 1) break;
      return (b[p++]! << 24) >> 24;
    case 0xd1:
      if (left < 2) break;
      p += 2;
      return (((b[p - 2]! << 8) | b[p - 1]!) << 16) >> 16;
    case 0xd2:
      if (left < 4) break;
      p += 4;
      return (b[p - 4]! << 24) | (b[p - 3]! << 16) | (b[p - 2]! << 8) | b[p - 1]!;
    case 0xcb: {
      if (left < 8) break;
      const v = new DataView(b.buffer, b.byteOffset + p, 8).getFloat64(0);
      p += 8;
      return v;
    }
    case 0xd9:
      if (left < 1) break;
      p++;
      return ascii(b[p - 1]!);
    case 0xda:
      if (left < 2) break;
      p += 2;
      return ascii((b[p - 2]! << 8) | b[p - 1]!);
    case 0xc4:
      if (left < 1) break;
      p++;
      return bin(b[p - 1]!);
    case 0xc5:
      if (left < 2) break;
      p += 2;
      return bin((b[p - 2]! << 8) | b[p - 1]!);
    case 0xc6:
      if (left < 4) break;
      p += 4;
      return bin(b[p - 4]! * 0x1000000 + ((b[p - 3]! << 16) | (b[p - 2]! << 8) | b[p - 1]!));
    case 0xdc:
      if (left < 2) break;
      p += 2;
      return array((b[p - 2]! << 8) | b[p - 1]!, d);
    case 0xde:
      if (left < 2) break;
      p += 2;
      return map((b[p - 2]! << 8) | b[p - 1]!, d);
  }
  out = true;
  return undefined;
}
