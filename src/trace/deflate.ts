// A small deterministic DEFLATE (RFC 1951) encoder. deflateParts: Huffman
// coding only, no LZ77 matching, one block per input part, each with its own
// dynamic Huffman codes (or the fixed codes when those are smaller), for
// event chunk columns. deflateLz: greedy LZ77 matching too, for snapshots
// and the index (msgpack, with repeated keys).
//
// Why our own: zlib implementations differ in their output (Node's zlib and
// Bun's/Deno's zlib-ng produce different bytes for the same input and level),
// and a trace must be byte-identical whichever runtime recorded it. The
// output is plain raw DEFLATE, so any inflate (node:zlib inflateRawSync,
// libz, Go's compress/flate, Python's zlib with wbits=-15) reads it.
//
// One block per part lets each column of an event chunk get its own code,
// which measures smaller than zlib -6 over the concatenated columns.

import { ByteWriter } from "./bytes.ts";

const MAX_LIT_BITS = 15;
const MAX_CL_BITS = 7;
/** Order in which code length code lengths are sent (RFC 1951 3.2.7). */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Bit output, least significant bit first, into a ByteWriter. */
class Bits {
  acc = 0;
  n = 0;
  constructor(readonly w: ByteWriter) {}

  /** Writes the low `len` bits of v (len ≤ 16). */
  put(v: number, len: number): void {
    this.acc |= v << this.n;
    this.n += len;
    if (this.n >= 16) {
      const w = this.w;
      w.ensure(2);
      w.buf[w.pos++] = this.acc & 0xff;
      w.buf[w.pos++] = (this.acc >>> 8) & 0xff;
      this.acc >>>= 16;
      this.n -= 16;
    }
  }

  /** Pads to a byte boundary and flushes. */
  flush(): void {
    const w = this.w;
    while (this.n > 0) {
      w.u8(this.acc & 0xff);
      this.acc >>>= 8;
      this.n = Math.max(0, this.n - 8);
    }
    this.acc = 0;
    this.n = 0;
  }
}

/**
 * Code lengths of a Huffman code for `freq` (0 = symbol unused), no longer
 * than `limit`. Deterministic: ties are broken by symbol number. When fewer
 * than two symbols are used, the used one (or symbol 0) and the next get
 * length 1, so the code is always complete.
 */
export function codeLengths(freq: ArrayLike<number>, limit: number): Uint8Array {
  const n = freq.length;
  const lens = new Uint8Array(n);
  let f = Array.from(freq, (x) => x);
  for (;;) {
    const syms: number[] = [];
    for (let i = 0; i < n; i++) if (f[i]! > 0) syms.push(i);
    if (syms.length < 2) {
      const a = syms.length ? syms[0]! : 0;
      lens[a] = 1;
      lens[a === 0 ? 1 : a === n - 1 ? a - 1 : a + 1] = 1;
      return lens;
    }
    syms.sort((x, y) => f[x]! - f[y]! || x - y);
    // Two-queue Huffman: leaves in order, internal nodes in creation order.
    const m = syms.length;
    const weight = new Float64Array(2 * m);
    const parent = new Int32Array(2 * m);
    for (let i = 0; i < m; i++) weight[i] = f[syms[i]!]!;
    let leaf = 0;
    let node = m;
    let next = m;
    const pick = (): number => {
      if (leaf < m && (node >= next || weight[leaf]! <= weight[node]!)) return leaf++;
      return node++;
    };
    for (let k = 0; k < m - 1; k++) {
      const x = pick();
      const y = pick();
      weight[next] = weight[x]! + weight[y]!;
      parent[x] = next;
      parent[y] = next;
      next++;
    }
    // Depths: the root is next-1; parents come after children.
    const depth = new Int32Array(2 * m);
    let max = 0;
    for (let i = next - 2; i >= 0; i--) {
      depth[i] = depth[parent[i]!]! + 1;
      if (i < m && depth[i]! > max) max = depth[i]!;
    }
    if (max <= limit) {
      for (let i = 0; i < m; i++) lens[syms[i]!] = depth[i]!;
      return lens;
    }
    // Too deep: flatten the distribution and retry.
    f = f.map((x) => (x > 0 ? (x >> 1) | 1 : 0));
  }
}

/** Canonical codes (RFC 1951 3.2.2), bit-reversed for LSB-first output. */
function canonical(lens: Uint8Array): Uint16Array {
  const count = new Uint16Array(16);
  for (const l of lens) count[l]++;
  count[0] = 0;
  const next = new Uint16Array(16);
  let code = 0;
  for (let bits = 1; bits < 16; bits++) {
    code = (code + count[bits - 1]!) << 1;
    next[bits] = code;
  }
  const codes = new Uint16Array(lens.length);
  for (let s = 0; s < lens.length; s++) {
    const l = lens[s]!;
    if (l === 0) continue;
    let c = next[l]!++;
    let r = 0;
    for (let i = 0; i < l; i++) {
      r = (r << 1) | (c & 1);
      c >>= 1;
    }
    codes[s] = r;
  }
  return codes;
}

/** Fixed literal/length code lengths (RFC 1951 3.2.6). */
const FIXED_LENS = (() => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144);
  l.fill(9, 144, 256);
  l.fill(7, 256, 280);
  l.fill(8, 280, 288);
  return l;
})();
const FIXED_CODES = canonical(FIXED_LENS);

/** Run-length encodes a code length sequence with symbols 16, 17, 18. */
function rle(lens: Uint8Array): { sym: number[]; extra: number[] } {
  const sym: number[] = [];
  const extra: number[] = [];
  let i = 0;
  while (i < lens.length) {
    const l = lens[i]!;
    let run = 1;
    while (i + run < lens.length && lens[i + run] === l) run++;
    if (l === 0 && run >= 3) {
      const r = Math.min(run, 138);
      if (r >= 11) { sym.push(18); extra.push(r - 11); } else { sym.push(17); extra.push(r - 3); }
      i += r;
    } else if (l !== 0 && run >= 4) {
      sym.push(l); extra.push(0);
      const r = Math.min(run - 1, 6);
      sym.push(16); extra.push(r - 3);
      i += 1 + r;
    } else {
      sym.push(l); extra.push(0);
      i += 1;
    }
  }
  return { sym, extra };
}

const EXTRA_BITS: Record<number, number> = { 16: 2, 17: 3, 18: 7 };

/** Fixed distance codes: 5 bits each. */
const FIXED_DIST_LENS = new Uint8Array(30).fill(5);
const FIXED_DIST_CODES = canonical(FIXED_DIST_LENS);

/** Length codes 257..285: base length and extra bits (RFC 1951 3.2.5). */
const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** Length code index (0..28) for each match length 3..258. */
const LEN_CODE = (() => {
  const t = new Uint8Array(259);
  for (let c = 0; c < 29; c++) for (let l = LEN_BASE[c]!; l < (c < 28 ? LEN_BASE[c + 1]! : 259); l++) t[l] = c;
  t[258] = 28;
  return t;
})();

function distCode(d: number): number {
  let c = 0;
  while (c < 29 && DIST_BASE[c + 1]! <= d) c++;
  return c;
}

/**
 * Writes the block type and, for a dynamic block, the code tables. Returns
 * the codes and lengths to use for literal/lengths and distances.
 */
function blockHeader(
  bits: Bits, final: boolean, litFreq: Uint32Array, distFreq: Uint32Array, extraBits: number,
): { lc: Uint16Array; ll: Uint8Array; dc: Uint16Array; dl: Uint8Array } {
  const ll0 = codeLengths(litFreq, MAX_LIT_BITS);
  let usedDist = false;
  for (let i = 0; i < 30; i++) if (distFreq[i]! > 0) usedDist = true;
  // Without matches: two distance codes of length 1 (unused; keeps every inflater happy).
  const dl0 = usedDist ? codeLengths(distFreq, MAX_LIT_BITS) : Uint8Array.of(1, 1);
  let nlit = 286;
  while (nlit > 257 && ll0[nlit - 1] === 0) nlit--;
  let ndist = dl0.length;
  while (ndist > 1 && dl0[ndist - 1] === 0) ndist--;
  const all = new Uint8Array(nlit + ndist);
  all.set(ll0.subarray(0, nlit));
  all.set(dl0.subarray(0, ndist), nlit);
  const { sym, extra } = rle(all);
  const clFreq = new Uint32Array(19);
  for (const s of sym) clFreq[s]++;
  const clLens = codeLengths(clFreq, MAX_CL_BITS);
  let hclen = 19;
  while (hclen > 4 && clLens[CL_ORDER[hclen - 1]!] === 0) hclen--;

  let dynBits = 14 + 3 * hclen + extraBits;
  for (let i = 0; i < sym.length; i++) dynBits += clLens[sym[i]!]! + (EXTRA_BITS[sym[i]!] ?? 0);
  let fixBits = extraBits;
  for (let s = 0; s < 286; s++) {
    dynBits += litFreq[s]! * ll0[s]!;
    fixBits += litFreq[s]! * FIXED_LENS[s]!;
  }
  for (let s = 0; s < 30; s++) {
    dynBits += distFreq[s]! * (dl0[s] ?? 0);
    fixBits += distFreq[s]! * 5;
  }

  bits.put(final ? 1 : 0, 1);
  if (fixBits <= dynBits) {
    bits.put(1, 2);
    return { lc: FIXED_CODES, ll: FIXED_LENS, dc: FIXED_DIST_CODES, dl: FIXED_DIST_LENS };
  }
  bits.put(2, 2);
  bits.put(nlit - 257, 5);
  bits.put(ndist - 1, 5);
  bits.put(hclen - 4, 4);
  for (let i = 0; i < hclen; i++) bits.put(clLens[CL_ORDER[i]!]!, 3);
  const clCodes = canonical(clLens);
  for (let i = 0; i < sym.length; i++) {
    const s = sym[i]!;
    bits.put(clCodes[s]!, clLens[s]!);
    const eb = EXTRA_BITS[s];
    if (eb !== undefined) bits.put(extra[i]!, eb);
  }
  return { lc: canonical(ll0), ll: ll0, dc: canonical(dl0), dl: dl0 };
}

/** Writes one Huffman-only block holding `data`. */
function block(bits: Bits, data: Uint8Array, final: boolean): void {
  const freq = new Uint32Array(286);
  for (let i = 0; i < data.length; i++) freq[data[i]!]++;
  freq[256] = 1;
  const { lc, ll } = blockHeader(bits, final, freq, new Uint32Array(30), 0);
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    bits.put(lc[b]!, ll[b]!);
  }
  bits.put(lc[256]!, ll[256]!);
}

const HASH_BITS = 15;
const WINDOW = 32768;
const MAX_CHAIN = 32;

/**
 * Writes one block holding `data` with LZ77 matching (greedy, hash chains of
 * at most 32 candidates, matches within `data` only), for data with repeats
 * such as msgpack snapshots.
 */
function lzBlock(bits: Bits, d: Uint8Array, final: boolean): void {
  const n = d.length;
  const syms = new Uint16Array(n + 1);
  const mlen = new Uint16Array(n + 1);
  const mdist = new Uint16Array(n + 1);
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const prev = new Int32Array(n);
  const litFreq = new Uint32Array(286);
  const distFreq = new Uint32Array(30);
  let extraBits = 0;
  let nt = 0;
  const hash = (i: number) => Math.imul(d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16), 0x9e3779b1) >>> (32 - HASH_BITS);
  const insert = (i: number) => {
    const h = hash(i);
    prev[i] = head[h]!;
    head[h] = i;
  };
  let i = 0;
  while (i < n) {
    let best = 0;
    let bestD = 0;
    if (i + 2 < n) {
      const max = Math.min(258, n - i);
      let cand = head[hash(i)]!;
      let chain = MAX_CHAIN;
      while (cand >= 0 && i - cand <= WINDOW && chain-- > 0) {
        if (d[cand + best] === d[i + best]) {
          let l = 0;
          while (l < max && d[cand + l] === d[i + l]) l++;
          if (l > best) {
            best = l;
            bestD = i - cand;
            if (l === max) break;
          }
        }
        cand = prev[cand]!;
      }
      insert(i);
    }
    if (best >= 3) {
      const lcode = LEN_CODE[best]!;
      const dcode = distCode(bestD);
      syms[nt] = 257 + lcode;
      mlen[nt] = best;
      mdist[nt] = bestD;
      nt++;
      litFreq[257 + lcode]++;
      distFreq[dcode]++;
      extraBits += LEN_EXTRA[lcode]! + DIST_EXTRA[dcode]!;
      for (let j = i + 1; j < i + best && j + 2 < n; j++) insert(j);
      i += best;
    } else {
      syms[nt++] = d[i]!;
      litFreq[d[i]!]++;
      i++;
    }
  }
  litFreq[256] = 1;
  const { lc, ll, dc, dl } = blockHeader(bits, final, litFreq, distFreq, extraBits);
  for (let t = 0; t < nt; t++) {
    const s = syms[t]!;
    bits.put(lc[s]!, ll[s]!);
    if (s > 256) {
      const lcode = s - 257;
      if (LEN_EXTRA[lcode]! > 0) bits.put(mlen[t]! - LEN_BASE[lcode]!, LEN_EXTRA[lcode]!);
      const dist = mdist[t]!;
      const dcode = distCode(dist);
      bits.put(dc[dcode]!, dl[dcode]!);
      if (DIST_EXTRA[dcode]! > 0) bits.put(dist - DIST_BASE[dcode]!, DIST_EXTRA[dcode]!);
    }
  }
  bits.put(lc[256]!, ll[256]!);
}

/** Compresses `data` into `out` as one raw DEFLATE stream with LZ77 matching. */
export function deflateLz(data: Uint8Array, out: ByteWriter): void {
  const bits = new Bits(out);
  lzBlock(bits, data, true);
  bits.flush();
}

/**
 * Appends to `out` one raw DEFLATE stream that inflates to the
 * concatenation of `parts`. Empty parts are skipped.
 */
export function deflateParts(parts: readonly Uint8Array[], out: ByteWriter): void {
  const bits = new Bits(out);
  const live = parts.filter((p) => p.length > 0);
  if (live.length === 0) {
    // An empty final block with the fixed code: BFINAL=1, BTYPE=01, EOB.
    bits.put(3, 3);
    bits.put(0, 7);
  }
  for (let i = 0; i < live.length; i++) block(bits, live[i]!, i === live.length - 1);
  bits.flush();
}

/** A DEFLATE stream written block by block, for inputs too big to hold at once. */
export class DeflateStream {
  private readonly w: ByteWriter;
  private readonly bits: Bits;
  private ended = false;

  constructor(w: ByteWriter = new ByteWriter(1 << 16)) {
    this.w = w;
    this.bits = new Bits(w);
  }

  /** Compresses `data` as one block (with LZ77 matching when `lz`); `final` ends the stream. */
  block(data: Uint8Array, final: boolean, lz = false): void {
    if (this.ended) throw new Error("deflate stream already ended");
    if (lz) lzBlock(this.bits, data, final);
    else block(this.bits, data, final);
    if (final) {
      this.bits.flush();
      this.ended = true;
    }
  }

  /** Takes the complete bytes produced so far (a copy). */
  take(): Uint8Array {
    const out = this.w.toBytes();
    this.w.reset();
    return out;
  }
}
