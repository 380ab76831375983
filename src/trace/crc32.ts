// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), table-driven.
// Same value as zlib's crc32(); implemented here because zlib.crc32 is not
// available on every runtime we support.

const TABLE = /* @__PURE__ */ (() => {
  const t = new Int32Array(256 * 4);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  // Slicing-by-4 tables.
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 4; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * CRC-32 of buf[start, end), continuing from `crc` (the value returned for
 * the preceding bytes; 0 to start). Returns an unsigned 32-bit integer.
 */
export function crc32(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  const t = TABLE;
  let c = ~crc;
  let i = start;
  const end4 = end - ((end - start) & 3);
  for (; i < end4; i += 4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
