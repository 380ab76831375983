// deflateFast: raw DEFLATE (RFC 1951) for speed: a greedy LZ77 with one probe of
// a hash table of 4-byte sequences per position (the positions inside a match
// are entered too), and a dynamic Huffman block per 32K symbols. On the import
// bench's event chunk bodies it takes ~11 ns per byte against fflate level 1's
// ~25, for the same size (ratio 0.340 against 0.342): fflate's level 1 searches
// a hash chain and the rarest pair of bytes in a match, which the bodies (columns
// of varints and a string table) do not repay. Used for imported traces' event
// chunks and snapshots (TraceWriter's `fastDeflate`): an import writes ~15 bytes
// of body per event, and fflate made the writer's thread, with the compilers',
// the busier core (docs/IMPORT.md, "Speed").
//
// Deterministic on every runtime: integer arithmetic only (Math.imul, shifts),
// ties in the Huffman construction broken by symbol order, no runtime zlib. Any
// inflater reads it (every code is complete: a block uses at least two symbols
// of each alphabet). Its output for given bytes is part of the trace format's
// bytes: a change here changes every imported trace (test/import-deflate.test.ts
// pins a digest and compares Node, Bun and Deno).
const LEN_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LEN_EXTRA = new Uint8Array(29);
const LEN_SYM = new Uint8Array(259);
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
];
const DIST_EXTRA = new Uint8Array(30);
const DIST_SMALL = new Uint8Array(513);
const DIST_LARGE = new Uint8Array(256);
/** The order code length code lengths are sent in (RFC 1951 3.2.7). */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
{
  for (let k = 0; k < 29; k++) {
    LEN_EXTRA[k] = k < 8 || k === 28 ? 0 : (k - 4) >> 2;
    const last = k === 28 ? 258 : LEN_BASE[k + 1]! - 1;
    for (let len = LEN_BASE[k]!; len <= last; len++) LEN_SYM[len] = k;
  }
  for (let d = 0; d < 30; d++) DIST_EXTRA[d] = d < 4 ? 0 : (d >> 1) - 1;
  const code = (dist: number) => {
    let d = 0;
    while (d < 29 && DIST_BASE[d + 1]! <= dist) d++;
    return d;
  };
  for (let dist = 1; dist <= 512; dist++) DIST_SMALL[dist] = code(dist);
  for (let k = 4; k < 256; k++) DIST_LARGE[k] = code(k * 128 + 1);
}

/**
 * Huffman code lengths (at most `limit` bits) for `freq[0, n)` into `lens`:
 * symbols of frequency 0 get 0. Deterministic: ties broken by symbol order.
 * A single used symbol gets length 1.
 */
function codeLengths(freq: Uint32Array, n: number, limit: number, lens: Uint8Array): void {
  lens.fill(0, 0, n);
  const f = Array.from(freq.subarray(0, n));
  for (;;) {
    const used: number[] = [];
    for (let i = 0; i < n; i++) if (f[i]! > 0) used.push(i);
    if (used.length === 0) return;
    if (used.length === 1) {
      lens[used[0]!] = 1;
      return;
    }
    // Nodes: leaves 0..n-1, internal from n; a sorted queue of leaves and a FIFO of internal nodes (two-queue method).
    used.sort((a, b) => f[a]! - f[b]! || a - b);
    const m = used.length;
    const weight = new Float64Array(2 * m);
    const parent = new Int32Array(2 * m).fill(-1);
    for (let i = 0; i < m; i++) weight[i] = f[used[i]!]!;
    let leaf = 0;
    let inner = m;
    let next = m;
    const pick = () => (leaf < m && (inner >= next || weight[leaf]! <= weight[inner]!) ? leaf++ : inner++);
    while (next < 2 * m - 1) {
      const a = pick();
      const b = pick();
      weight[next] = weight[a]! + weight[b]!;
      parent[a] = next;
      parent[b] = next;
      next++;
    }
    // Depths: the root is 2m-2; a node's depth is its parent's + 1 (parents come after children).
    const depth = new Int32Array(2 * m);
    let max = 0;
    for (let x = 2 * m - 3; x >= 0; x--) {
      depth[x] = depth[parent[x]!]! + 1;
      if (x < m && depth[x]! > max) max = depth[x]!;
    }
    if (max <= limit) {
      for (let i = 0; i < m; i++) lens[used[i]!] = depth[i]!;
      return;
    }
    // Too deep: flatten the distribution and build again.
    for (let i = 0; i < n; i++) if (f[i]! > 0) f[i] = (f[i]! >> 1) | 1;
  }
}

/** Canonical codes (RFC 1951 3.2.2) for `lens[0, n)`, bit-reversed for the LSB-first stream, into `codes`. */
function canonical(lens: Uint8Array, n: number, codes: Uint16Array): void {
  const count = new Uint16Array(16);
  for (let i = 0; i < n; i++) count[lens[i]!]!++;
  count[0] = 0;
  const next = new Uint16Array(16);
  let code = 0;
  for (let b = 1; b < 16; b++) {
    code = (code + count[b - 1]!) << 1;
    next[b] = code;
  }
  for (let i = 0; i < n; i++) {
    const l = lens[i]!;
    if (l === 0) continue;
    let c = next[l]!++;
    let r = 0;
    for (let k = 0; k < l; k++) {
      r = (r << 1) | (c & 1);
      c >>= 1;
    }
    codes[i] = r;
  }
}

const HASH_BITS = 15;
/** Last position + 1 of each hash of 4 bytes, reset per call (0: none). */
const head = new Int32Array(1 << HASH_BITS);
const WINDOW = 32768;
const MAX_MATCH = 258;
/** Symbols per block: a literal, or a match as MATCH | length << 16 | distance. */
const BLOCK_SYMBOLS = 1 << 15;
const MATCH = 1 << 28;
const syms = new Int32Array(BLOCK_SYMBOLS);
const litFreq = new Uint32Array(286);
const distFreq = new Uint32Array(30);
const litLens = new Uint8Array(286);
const distLens = new Uint8Array(30);
const litCodes = new Uint16Array(286);
const distCodes = new Uint16Array(30);
const clFreq = new Uint32Array(19);
const clLens = new Uint8Array(19);
const clCodes = new Uint16Array(19);
const lengths = new Uint8Array(286 + 30);
/** The run-length coded code lengths: symbol | extra << 8. */
const clSyms = new Int32Array(286 + 30);

/** Bits, least significant first, into a growing byte buffer. */
class BitWriter {
  out: Uint8Array;
  o = 0;
  bits = 0;
  nbits = 0;
  constructor(size: number) {
    this.out = new Uint8Array(size);
  }
  put(v: number, n: number): void {
    this.bits |= v << this.nbits;
    this.nbits += n;
    while (this.nbits >= 8) {
      if (this.o >= this.out.length) this.grow();
      this.out[this.o++] = this.bits & 255;
      this.bits >>>= 8;
      this.nbits -= 8;
    }
  }
  grow(): void {
    this.room(this.out.length + 64);
  }
  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.o + n <= this.out.length) return;
    const b = new Uint8Array(Math.max(this.o + n, this.out.length * 2));
    b.set(this.out.subarray(0, this.o));
    this.out = b;
  }
  end(): Uint8Array {
    if (this.nbits > 0) this.put(0, 8 - this.nbits);
    return this.out.subarray(0, this.o);
  }
}

/** Raw DEFLATE of `data`: dynamic Huffman blocks, the last one final. */
export function deflateFast(data: Uint8Array): Uint8Array {
  const n = data.length;
  const w = new BitWriter((n >>> 1) + 1024);
  head.fill(0);
  const lastHashed = n - 4;
  let ns = 0;
  litFreq.fill(0);
  distFreq.fill(0);
  let i = 0;
  while (i < n) {
    if (ns >= BLOCK_SYMBOLS - 1) {
      block(w, ns, false);
      ns = 0;
      litFreq.fill(0);
      distFreq.fill(0);
    }
    if (i <= lastHashed) {
      // The last position with these 4 bytes' hash: a match when they are the same bytes, within the window.
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
        syms[ns++] = MATCH | (len << 16) | dist;
        litFreq[257 + LEN_SYM[len]!]!++;
        distFreq[dist <= 512 ? DIST_SMALL[dist]! : DIST_LARGE[(dist - 1) >> 7]!]!++;
        const end = i + len <= lastHashed ? i + len : lastHashed + 1;
        for (let k = i + 1; k < end; k++) head[hash4(data, k)] = k + 1;
        i += len;
        continue;
      }
    }
    const b = data[i++]!;
    syms[ns++] = b;
    litFreq[b]!++;
  }
  block(w, ns, true);
  return w.end();
}

/** At least two symbols of `freq` used, so that its code is complete (a single code is not one every inflater takes). */
function twoUsed(freq: Uint32Array): void {
  let used = 0;
  for (let i = 0; i < freq.length; i++) if (freq[i]! > 0) used++;
  for (let i = 0; used < 2; i++)
    if (freq[i] === 0) {
      freq[i] = 1;
      used++;
    }
}

/** Writes the block of syms[0, ns) with its code (litFreq, distFreq: their counts). */
function block(w: BitWriter, ns: number, last: boolean): void {
  litFreq[256] = 1;
  twoUsed(litFreq);
  twoUsed(distFreq);
  codeLengths(litFreq, 286, 15, litLens);
  codeLengths(distFreq, 30, 15, distLens);
  let hlit = 286;
  while (hlit > 257 && litLens[hlit - 1] === 0) hlit--;
  let hdist = 30;
  while (hdist > 1 && distLens[hdist - 1] === 0) hdist--;
  canonical(litLens, 286, litCodes);
  canonical(distLens, 30, distCodes);
  // The code lengths, run-length coded (16: repeat the previous 3-6 times, 17: 3-10 zeros, 18: 11-138 zeros).
  lengths.set(litLens.subarray(0, hlit), 0);
  lengths.set(distLens.subarray(0, hdist), hlit);
  const total = hlit + hdist;
  clFreq.fill(0);
  let nc = 0;
  for (let k = 0; k < total; ) {
    const l = lengths[k]!;
    let run = 1;
    while (k + run < total && lengths[k + run] === l) run++;
    if (l === 0 && run >= 3) {
      const r = Math.min(run, 138);
      if (r >= 11) clSyms[nc++] = 18 | ((r - 11) << 8);
      else clSyms[nc++] = 17 | ((r - 3) << 8);
      clFreq[r >= 11 ? 18 : 17]!++;
      k += r;
      continue;
    }
    clSyms[nc++] = l;
    clFreq[l]!++;
    k++;
    if (l !== 0) {
      let rest = run - 1;
      while (rest >= 3) {
        const r = Math.min(rest, 6);
        clSyms[nc++] = 16 | ((r - 3) << 8);
        clFreq[16]!++;
        k += r;
        rest -= r;
      }
    }
  }
  twoUsed(clFreq);
  codeLengths(clFreq, 19, 7, clLens);
  canonical(clLens, 19, clCodes);
  let hclen = 19;
  while (hclen > 4 && clLens[CL_ORDER[hclen - 1]!] === 0) hclen--;
  w.put(last ? 1 : 0, 1);
  w.put(2, 2);
  w.put(hlit - 257, 5);
  w.put(hdist - 1, 5);
  w.put(hclen - 4, 4);
  for (let k = 0; k < hclen; k++) w.put(clLens[CL_ORDER[k]!]!, 3);
  for (let k = 0; k < nc; k++) {
    const s = clSyms[k]! & 255;
    w.put(clCodes[s]!, clLens[s]!);
    if (s === 16) w.put(clSyms[k]! >> 8, 2);
    else if (s === 17) w.put(clSyms[k]! >> 8, 3);
    else if (s === 18) w.put(clSyms[k]! >> 8, 7);
  }
  // The symbols, with the writer's state in locals (at most 48 bits a symbol: room made first).
  w.room(6 * ns + 8);
  const out = w.out;
  let o = w.o;
  let bits = w.bits;
  let nbits = w.nbits;
  for (let k = 0; k < ns; k++) {
    const x = syms[k]!;
    if (x < 256) {
      bits |= litCodes[x]! << nbits;
      nbits += litLens[x]!;
    } else {
      const len = (x >> 16) & 511;
      const dist = x & 0xffff;
      const ls = LEN_SYM[len]!;
      bits |= litCodes[257 + ls]! << nbits;
      nbits += litLens[257 + ls]!;
      if (nbits >= 16) {
        out[o++] = bits & 255;
        out[o++] = (bits >>> 8) & 255;
        bits >>>= 16;
        nbits -= 16;
      }
      bits |= (len - LEN_BASE[ls]!) << nbits; // 0 when the code has no extra bits
      nbits += LEN_EXTRA[ls]!;
      if (nbits >= 16) {
        out[o++] = bits & 255;
        out[o++] = (bits >>> 8) & 255;
        bits >>>= 16;
        nbits -= 16;
      }
      const ds = dist <= 512 ? DIST_SMALL[dist]! : DIST_LARGE[(dist - 1) >> 7]!;
      bits |= distCodes[ds]! << nbits;
      nbits += distLens[ds]!;
      if (nbits >= 16) {
        out[o++] = bits & 255;
        out[o++] = (bits >>> 8) & 255;
        bits >>>= 16;
        nbits -= 16;
      }
      bits |= (dist - DIST_BASE[ds]!) << nbits;
      nbits += DIST_EXTRA[ds]!;
    }
    if (nbits >= 16) {
      out[o++] = bits & 255;
      out[o++] = (bits >>> 8) & 255;
      bits >>>= 16;
      nbits -= 16;
    }
  }
  w.o = o;
  w.bits = bits;
  w.nbits = nbits;
  w.put(litCodes[256]!, litLens[256]!);
}

/** Hash of the 4 bytes at i (Fibonacci hashing of their little-endian word). */
function hash4(d: Uint8Array, i: number): number {
  return Math.imul(d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24), 0x9e3779b1) >>> (32 - HASH_BITS);
}
