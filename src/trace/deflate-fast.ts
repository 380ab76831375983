// deflateFast: raw DEFLATE (RFC 1951) for speed over size, as zlib-ng's level 1
// ("deflate_quick") does: a greedy LZ77 with one probe of a hash table of 4-byte
// sequences per position, and the format's fixed Huffman codes (one block,
// BTYPE 01), so no code table is built or sent. About 3x less CPU than
// fflate's level 1 on event chunk bodies (8x less than its level 6 on
// snapshots) for about 20% more bytes (docs/IMPORT.md, "Speed"). Used for
// imported traces' event chunks and snapshots (TraceWriter's `fastDeflate`):
// an import writes ~15 bytes of body per event, and fflate's ~24 ns per byte
// made the writer's thread, with the JIT's, the busier core.
//
// Deterministic on every runtime: integer arithmetic only (Math.imul, shifts),
// no runtime zlib. Any inflater reads it (the reader uses the runtime's). Its
// output for given bytes is part of the trace format's bytes: a change here
// changes every imported trace (test/import-deflate.test.ts pins a digest).

/** Fixed literal/length codes (RFC 1951 3.2.6), bit-reversed for the LSB-first stream, and their lengths. */
const LIT_CODE = new Uint16Array(288);
const LIT_BITS = new Uint8Array(288);
/** Per match length 3..258: its length code and extra bits as one value, and their bit count. */
const LEN_CODE = new Uint32Array(259);
const LEN_BITS = new Uint8Array(259);
/** Distance codes 0..29: base, extra bits, the 5-bit code bit-reversed. */
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
];
const DIST_EXTRA = new Uint8Array(30);
const DIST_CODE = new Uint8Array(30);
/** Distance code of distances 1..512 (by distance), and of 513..32768 (by (distance - 1) >> 7). */
const DIST_SMALL = new Uint8Array(513);
const DIST_LARGE = new Uint8Array(256);

function reverse(code: number, bits: number): number {
  let r = 0;
  for (let i = 0; i < bits; i++) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

{
  for (let v = 0; v < 288; v++) {
    const [code, bits] =
      v < 144 ? [0x30 + v, 8] : v < 256 ? [0x190 + v - 144, 9] : v < 280 ? [v - 256, 7] : [0xc0 + v - 280, 8];
    LIT_CODE[v] = reverse(code, bits);
    LIT_BITS[v] = bits;
  }
  const lenBase = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
  ];
  for (let k = 0; k < 29; k++) {
    const extra = k < 8 || k === 28 ? 0 : ((k - 4) >> 2) | 0;
    const last = k === 28 ? 258 : lenBase[k + 1]! - 1;
    for (let len = lenBase[k]!; len <= last; len++) {
      const sym = 257 + k;
      LEN_CODE[len] = LIT_CODE[sym]! | ((len - lenBase[k]!) << LIT_BITS[sym]!);
      LEN_BITS[len] = LIT_BITS[sym]! + extra;
    }
  }
  for (let d = 0; d < 30; d++) {
    DIST_EXTRA[d] = d < 4 ? 0 : (d >> 1) - 1;
    DIST_CODE[d] = reverse(d, 5);
  }
  const code = (dist: number) => {
    let d = 0;
    while (d < 29 && DIST_BASE[d + 1]! <= dist) d++;
    return d;
  };
  for (let dist = 1; dist <= 512; dist++) DIST_SMALL[dist] = code(dist);
  for (let k = 4; k < 256; k++) DIST_LARGE[k] = code(k * 128 + 1);
}

const HASH_BITS = 15;
/** Last position + 1 of each hash of 4 bytes, reset per call (0: none). */
const head = new Int32Array(1 << HASH_BITS);
const WINDOW = 32768;
const MAX_MATCH = 258;

/** Raw DEFLATE of `data`: one final block with the fixed Huffman codes. */
export function deflateFast(data: Uint8Array): Uint8Array {
  const n = data.length;
  // At most 9 bits per byte (literals 144..255), plus the block's 3 header and 7 end bits.
  const out = new Uint8Array(((n * 9) >>> 3) + 8);
  head.fill(0);
  let o = 0;
  let bits = 3; // BFINAL 1, BTYPE 01 (fixed codes), least significant bit first
  let nbits = 3;
  const lastHashed = n - 4;
  let i = 0;
  while (i < n) {
    if (i <= lastHashed) {
      const h = hash4(data, i);
      const cand = head[h]! - 1;
      head[h] = i + 1;
      const dist = i - cand;
      if (
        cand >= 0 &&
        dist <= WINDOW &&
        data[cand] === data[i] &&
        data[cand + 1] === data[i + 1] &&
        data[cand + 2] === data[i + 2] &&
        data[cand + 3] === data[i + 3]
      ) {
        let len = 4;
        const max = Math.min(n - i, MAX_MATCH);
        while (len < max && data[cand + len] === data[i + len]) len++;
        bits |= LEN_CODE[len]! << nbits;
        nbits += LEN_BITS[len]!;
        while (nbits >= 8) {
          out[o++] = bits & 255;
          bits >>>= 8;
          nbits -= 8;
        }
        const d = dist <= 512 ? DIST_SMALL[dist]! : DIST_LARGE[(dist - 1) >> 7]!;
        bits |= (DIST_CODE[d]! | ((dist - DIST_BASE[d]!) << 5)) << nbits;
        nbits += 5 + DIST_EXTRA[d]!;
        while (nbits >= 8) {
          out[o++] = bits & 255;
          bits >>>= 8;
          nbits -= 8;
        }
        // The positions inside the match go into the table too (5% fewer bytes for ~20% more time).
        const end = i + len <= lastHashed ? i + len : lastHashed + 1;
        for (let k = i + 1; k < end; k++) head[hash4(data, k)] = k + 1;
        i += len;
        continue;
      }
    }
    const b = data[i++]!;
    bits |= LIT_CODE[b]! << nbits;
    nbits += LIT_BITS[b]!;
    while (nbits >= 8) {
      out[o++] = bits & 255;
      bits >>>= 8;
      nbits -= 8;
    }
  }
  // End of block (code 256: seven zero bits), then the last partial byte.
  nbits += 7;
  while (nbits > 0) {
    out[o++] = bits & 255;
    bits >>>= 8;
    nbits -= 8;
  }
  return out.subarray(0, o);
}

/** Hash of the 4 bytes at i (Fibonacci hashing of their little-endian word). */
function hash4(d: Uint8Array, i: number): number {
  return Math.imul(d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24), 0x9e3779b1) >>> (32 - HASH_BITS);
}
