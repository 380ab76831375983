// The trace layer's checksum, defined once here: CRC-32 from node:zlib (Node >= 20.15,
// Bun, Deno; the same values). Apart from compress.ts so that what only reads a trace
// (the reader, `ktrace check`'s scan threads) does not load the writer's fflate.

import { crc32 as zlibCrc32 } from "node:zlib";

/**
 * CRC-32 (IEEE 802.3, as zlib and PNG) of buf[start, end), continuing from
 * `crc` (the value for the preceding bytes; 0 to start). Unsigned 32-bit.
 */
export function crc32(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  return zlibCrc32(start === 0 && end === buf.length ? buf : buf.subarray(start, end), crc) >>> 0;
}
