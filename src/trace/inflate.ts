// Bounded decompression: nothing from a trace inflates past the size it
// declares. A chunk body inflates to exactly the length its payload states,
// and a gzip wrapper to at most a small multiple of its own size (a .ktrace
// is DEFLATE-compressed already, so gzip gains it little): a decompression
// bomb stops at the bound, with one line saying so, instead of filling memory.
//
// The runtime's zlib stops producing output at `maxOutputLength` (checked on
// Node 20, Bun 1.4 and Deno 2.9: the bomb is not inflated first), so memory
// stays at the bound.

import { constants as zc, gunzipSync, inflateRawSync } from "node:zlib";
import { GZIP_MAX_RATIO, MAX_GUNZIP } from "./format.ts";

/** The deflate stream inflates to more (or less) than it should; the message says how. */
export class InflateError extends Error {}

/** The most a raw DEFLATE stream of n bytes can inflate to (RFC 1951: 258 bytes per 2-bit code, about 1032:1). */
export function deflateCeiling(n: number): number {
  return n * 1032 + 1024;
}

function isTooLarge(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE";
}

function why(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Inflates a raw DEFLATE stream that must give exactly `declared` bytes.
 * Throws InflateError when it does not inflate, gives more (stopping at
 * declared + 1 bytes: nothing larger is ever allocated), or gives fewer.
 * The caller has checked `declared` against its own limit.
 */
export function inflateBounded(bytes: Uint8Array, declared: number): Uint8Array {
  if (declared > deflateCeiling(bytes.length)) {
    throw new InflateError(`body declares ${declared} bytes, more than ${bytes.length} compressed bytes can hold`);
  }
  let out: Uint8Array;
  try {
    out = inflateRawSync(bytes, { maxOutputLength: Math.max(1, declared + 1) });
  } catch (e) {
    if (isTooLarge(e)) throw new InflateError(`body inflates to more than the ${declared} bytes it declares`);
    throw new InflateError(`body does not inflate (${why(e)})`);
  }
  if (out.length !== declared) throw new InflateError(`body inflates to ${out.length} bytes, expected ${declared}`);
  return out;
}

/** The most a gzip'd trace of n bytes may inflate to: GZIP_MAX_RATIO times its size (plus 1 MiB), at most MAX_GUNZIP. */
export function gunzipLimit(n: number): number {
  return Math.min(MAX_GUNZIP, n * GZIP_MAX_RATIO + (1 << 20));
}

/**
 * Gunzips a whole file, stopping at gunzipLimit(bytes.length). A stream cut
 * short gives what inflates (recovery mode takes care of the rest). Throws
 * InflateError with a one-line reason when it does not decompress or would
 * exceed the limit.
 */
export function gunzipBounded(bytes: Uint8Array): Uint8Array {
  const limit = gunzipLimit(bytes.length);
  const tooLarge = () =>
    new InflateError(limit === MAX_GUNZIP
      ? `inflates to more than ${MAX_GUNZIP} bytes, more than ktrace decompresses in memory; gunzip it and open the .ktrace`
      : `inflates to more than ${limit} bytes, ${GZIP_MAX_RATIO} times its size; a trace does not compress that well (a decompression bomb?)`);
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (e) {
    if (isTooLarge(e)) throw tooLarge();
  }
  // Cut short: take what inflates.
  try {
    return gunzipSync(bytes, { maxOutputLength: limit, finishFlush: zc.Z_SYNC_FLUSH });
  } catch (e) {
    if (isTooLarge(e)) throw tooLarge();
    throw new InflateError(`does not decompress (${why(e)})`);
  }
}
