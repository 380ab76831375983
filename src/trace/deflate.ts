// A small deterministic DEFLATE (RFC 1951) encoder: Huffman coding only, no
// LZ77 matching, one block per input part, each with its own dynamic Huffman
// codes (or the fixed codes when those are smaller).
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

/** Writes one Huffman-only block holding `data`. */
function block(bits: Bits, data: Uint8Array, final: boolean): void {
  const freq = new Uint32Array(286);
  for (let i = 0; i < data.length; i++) freq[data[i]!]++;
  freq[256] = 1;
  const lens = codeLengths(freq, MAX_LIT_BITS);
  let nlit = 286;
  while (nlit > 257 && lens[nlit - 1] === 0) nlit--;
  // Two distance codes of length 1 (unused; keeps every inflater happy).
  const all = new Uint8Array(nlit + 2);
  all.set(lens.subarray(0, nlit));
  all[nlit] = 1;
  all[nlit + 1] = 1;
  const { sym, extra } = rle(all);
  const clFreq = new Uint32Array(19);
  for (const s of sym) clFreq[s]++;
  const clLens = codeLengths(clFreq, MAX_CL_BITS);
  let hclen = 19;
  while (hclen > 4 && clLens[CL_ORDER[hclen - 1]!] === 0) hclen--;

  let dynBits = 14 + 3 * hclen;
  for (let i = 0; i < sym.length; i++) dynBits += clLens[sym[i]!]! + (EXTRA_BITS[sym[i]!] ?? 0);
  let fixBits = 0;
  for (let s = 0; s < 257; s++) {
    dynBits += freq[s]! * lens[s]!;
    fixBits += freq[s]! * FIXED_LENS[s]!;
  }

  bits.put(final ? 1 : 0, 1);
  let codes: Uint16Array;
  let cl: Uint8Array;
  if (fixBits <= dynBits) {
    bits.put(1, 2);
    codes = FIXED_CODES;
    cl = FIXED_LENS;
  } else {
    bits.put(2, 2);
    bits.put(nlit - 257, 5);
    bits.put(1, 5); // HDIST: 2 distance codes
    bits.put(hclen - 4, 4);
    for (let i = 0; i < hclen; i++) bits.put(clLens[CL_ORDER[i]!]!, 3);
    const clCodes = canonical(clLens);
    for (let i = 0; i < sym.length; i++) {
      const s = sym[i]!;
      bits.put(clCodes[s]!, clLens[s]!);
      const eb = EXTRA_BITS[s];
      if (eb !== undefined) bits.put(extra[i]!, eb);
    }
    codes = canonical(lens);
    cl = lens;
  }
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    bits.put(codes[b]!, cl[b]!);
  }
  bits.put(codes[256]!, cl[256]!);
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

  /** Compresses `data` as one block; `final` ends the stream. */
  block(data: Uint8Array, final: boolean): void {
    if (this.ended) throw new Error("deflate stream already ended");
    block(this.bits, data, final);
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
