// fflate's deflateSync (version pinned in package.json), for the writer's hot
// path: the same algorithm step for step, so the same bytes for every input,
// with its per-call set-up taken out. fflate allocates and zeroes ~300 KB of
// tables per call (hash head and chain, symbol buffer, output) and builds each
// block's Huffman trees from objects sorted by a comparator; the recorder's
// writer thread deflates two streams per event chunk and a snapshot per 4096
// events, so that set-up and the collections it caused were ~1/4 of its CPU
// (docs/BENCHMARKS.md, "Phase 10: recording"). Here the tables are reused and
// zeroed in place, and the trees are built in typed arrays.
//
// Byte-identical to fflate by construction and by test
// (test/deflate-fflate.test.ts compares the two on recorded chunk bodies and
// random data, at every level used). A tree shape fflate's code cannot build
// (its sentinel node picked, a case no trace reaches) falls back to fflate
// itself, so even then the bytes are fflate's. Level 0 (stored) is fflate's.
//
// The algorithm and its constants are fflate's (MIT License, Copyright (c)
// Arjun Barrett); the names below say what each table is.

import { deflateSync } from "fflate";

// Extra bits of the length and distance codes (RFC 1951 3.2.5), as fflate's fleb / fdeb.
const LEN_EB = new Uint8Array([
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0, 0, 0, 0,
]);
const DIST_EB = new Uint8Array([
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 0, 0,
]);
/** The order code length code lengths are sent in. */
const CL_ORDER = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

/** value -> (offset within its code << 5) | code, for lengths (3..258) and distances (1..32768): fflate's revfl / revfd. */
function reverseBase(eb: Uint8Array, start: number): Int32Array {
  const b = new Uint16Array(31);
  for (let i = 0; i < 31; ++i) {
    start += 1 << eb[i - 1]!;
    b[i] = start;
  }
  const r = new Int32Array(b[30]!);
  for (let i = 1; i < 30; ++i) for (let j = b[i]!; j < b[i + 1]!; ++j) r[j] = ((j - b[i]!) << 5) | i;
  return r;
}
const REV_LEN = reverseBase(LEN_EB, 2);
REV_LEN[258] = 28;
const REV_DIST = reverseBase(DIST_EB, 0);

/** 15-bit bit reversal (then >> 1), fflate's rev. */
const REV = new Uint16Array(32768);
for (let i = 0; i < 32768; ++i) {
  let x = ((i & 0xaaaa) >> 1) | ((i & 0x5555) << 1);
  x = ((x & 0xcccc) >> 2) | ((x & 0x3333) << 2);
  x = ((x & 0xf0f0) >> 4) | ((x & 0x0f0f) << 4);
  REV[i] = (((x & 0xff00) >> 8) | ((x & 0x00ff) << 8)) >> 1;
}

/** Canonical codes (bit-reversed) of code lengths cd[0, n) of at most mb bits into co: fflate's hMap(cd, mb, 0). */
const lenCount = new Uint16Array(16);
const firstCode = new Uint16Array(16);
function codes(cd: Uint8Array, n: number, mb: number, co: Uint16Array): void {
  const l = lenCount.fill(0);
  for (let i = 0; i < n; ++i) if (cd[i]) ++l[cd[i]! - 1];
  const le = firstCode.fill(0);
  for (let i = 1; i < mb; ++i) le[i] = (le[i - 1]! + l[i - 1]!) << 1;
  for (let i = 0; i < n; ++i) {
    const c = cd[i]!;
    co[i] = c ? REV[le[c - 1]!++]! >> (15 - c) : 0;
  }
}

// The fixed trees and their codes.
const FIXED_LEN = new Uint8Array(288);
for (let i = 0; i < 288; ++i) FIXED_LEN[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
const FIXED_DIST = new Uint8Array(32).fill(5);
const FIXED_LEN_CODES = new Uint16Array(288);
codes(FIXED_LEN, 288, 9, FIXED_LEN_CODES);
const FIXED_DIST_CODES = new Uint16Array(32);
codes(FIXED_DIST, 32, 5, FIXED_DIST_CODES);

/** fflate's hTree met a shape its own code cannot build: the caller falls back to fflate. */
class Fallback extends Error {}

/** A Huffman tree under construction: scratch shared by every call (one call at a time per thread). */
const MAX_NODES = 2 * 288 + 2;
const nodeF = new Float64Array(MAX_NODES);
const nodeSym = new Int32Array(MAX_NODES);
const nodeL = new Int32Array(MAX_NODES);
const nodeR = new Int32Array(MAX_NODES);
const nodeDepth = new Int32Array(MAX_NODES);
const order = new Int32Array(MAX_NODES);
const keys = new Int32Array(288);
const depthOf = new Uint16Array(288);

/**
 * Code lengths of at most mb bits for the frequencies d[0, dn) into t: fflate's
 * hTree, the same lengths (its stable sorts are sorts of unique keys here).
 * Returns the tree's length (fflate's result array's: the largest used symbol
 * + 1, or 0 when none is used); treeBits gets its deepest code.
 */
let treeBits = 0;
function tree(d: Uint16Array, dn: number, mb: number, t: Uint8Array): number {
  let s = 0;
  let last = -1;
  for (let i = 0; i < dn; ++i) {
    const f = d[i]!;
    if (f) {
      keys[s++] = f * 512 + i;
      last = i;
    }
  }
  if (s === 0) {
    treeBits = 0;
    return 0;
  }
  if (s === 1) {
    t.fill(0, 0, last + 1);
    t[last] = 1;
    treeBits = 1;
    return last + 1;
  }
  // The leaves by frequency, then symbol (fflate: a stable sort by frequency of the leaves in symbol order):
  // an insertion sort of the unique keys (at most 288; a typed array's sort() cost more, called per tree).
  for (let k = 1; k < s; ++k) {
    const key = keys[k]!;
    let j = k - 1;
    for (; j >= 0 && keys[j]! > key; --j) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
  for (let k = 0; k < s; ++k) {
    const key = keys[k]!;
    const sym = key % 512;
    nodeF[k] = (key - sym) / 512;
    nodeSym[k] = sym;
    order[k] = k;
  }
  // fflate's sentinel, a leaf "more frequent than any node"; the merge never picks it on a trace's input.
  nodeF[s] = 25001;
  nodeSym[s] = -1;
  order[s] = s;
  let next = s + 1;
  let l = order[0]!;
  let r = order[1]!;
  nodeF[next] = nodeF[l]! + nodeF[r]!;
  nodeSym[next] = -1;
  nodeL[next] = l;
  nodeR[next] = r;
  order[0] = next++;
  let i0 = 0;
  let i1 = 1;
  let i2 = 2;
  while (i1 !== s - 1) {
    if (i2 > s) throw new Fallback();
    l = order[nodeF[order[i0]!]! < nodeF[order[i2]!]! ? i0++ : i2++]!;
    if (i2 > s) throw new Fallback();
    r = order[i0 !== i1 && nodeF[order[i0]!]! < nodeF[order[i2]!]! ? i0++ : i2++]!;
    if (l === s || r === s) throw new Fallback();
    nodeF[next] = nodeF[l]! + nodeF[r]!;
    nodeSym[next] = -1;
    nodeL[next] = l;
    nodeR[next] = r;
    order[i1++] = next++;
  }
  // Depths: a node is made after its children, so from the root down in reverse order of making.
  const root = order[i1 - 1]!;
  const n = last + 1;
  const tr = depthOf;
  tr.fill(0, 0, n);
  nodeDepth[root] = 0;
  let mbt = 0;
  for (let k = root; k > s; k--) {
    const dd = nodeDepth[k]! + 1;
    for (let c = nodeL[k]!, side = 0; side < 2; c = nodeR[k]!, side++) {
      if (c > s) nodeDepth[c] = dd;
      else {
        tr[nodeSym[c]!] = dd;
        if (dd > mbt) mbt = dd;
      }
    }
  }
  if (mbt > mb) limit(d, dn, s, mbt, mb);
  for (let i = 0; i < n; ++i) t[i] = tr[i]!;
  treeBits = Math.min(mbt, mb);
  return n;
}

/** tree() for tests: the code lengths of d at most mb bits and the deepest, as fflate's hTree returns them ({t, l}). */
export function huffmanLengths(d: Uint16Array, mb: number): { t: Uint8Array; l: number } {
  const t = new Uint8Array(d.length);
  const n = tree(d, d.length, mb, t);
  return { t: t.slice(0, n), l: treeBits };
}

/** fflate's length limiting of depthOf to mb bits (its "debt" loops), step for step. */
function limit(d: Uint16Array, dn: number, s: number, mbt: number, mb: number): void {
  const tr = depthOf;
  // The leaves by depth (deepest first), then frequency, then symbol: fflate's stable sort of the leaves in symbol order.
  const ks: number[] = [];
  for (let i = 0; i < dn; ++i) if (d[i]) ks.push((255 - tr[i]!) * 2 ** 25 + d[i]! * 512 + i);
  ks.sort((a, b) => a - b);
  const sym = ks.map((k) => k % 512);
  let i = 0;
  let dt = 0;
  const lft = mbt - mb;
  const cst = 1 << lft;
  for (; i < s; ++i) {
    const x = sym[i]!;
    if (tr[x]! > mb) {
      dt += cst - (1 << (mbt - tr[x]!));
      tr[x] = mb;
    } else break;
  }
  dt >>= lft;
  while (dt > 0) {
    if (i >= s) throw new Fallback();
    const x = sym[i]!;
    if (tr[x]! < mb) dt -= 1 << (mb - tr[x]!++ - 1);
    else ++i;
  }
  for (; i >= 0 && dt; --i) {
    if (i >= s) throw new Fallback();
    const x = sym[i]!;
    if (tr[x] === mb) {
      --tr[x];
      ++dt;
    }
  }
}

/**
 * The run-length code of code lengths c[0, n) into cl (fflate's lc): returns
 * its length; rlN gets the number of lengths it codes.
 */
let rlN = 0;
function runLengths(c: Uint8Array, n: number, cl: Uint16Array): number {
  let s = n;
  while (s && !c[--s]);
  ++s;
  let cli = 0;
  let cln = n > 0 ? c[0]! : 0;
  let cls = 1;
  for (let i = 1; i <= s; ++i) {
    if (i !== s && c[i] === cln) ++cls;
    else {
      if (!cln && cls > 2) {
        for (; cls > 138; cls -= 138) cl[cli++] = 32754;
        if (cls > 2) {
          cl[cli++] = cls > 10 ? ((cls - 11) << 5) | 28690 : ((cls - 3) << 5) | 12305;
          cls = 0;
        }
      } else if (cls > 3) {
        cl[cli++] = cln;
        --cls;
        for (; cls > 6; cls -= 6) cl[cli++] = 8304;
        if (cls > 2) {
          cl[cli++] = ((cls - 3) << 5) | 8208;
          cls = 0;
        }
      }
      while (cls--) cl[cli++] = cln;
      cls = 1;
      cln = i < n ? c[i]! : 0;
    }
  }
  rlN = s;
  return cli;
}

/** Σ cf[i] * cl[i] over i < n: a block's bits under code lengths cl. */
function bitsOf(cf: Uint16Array, cl: Uint8Array, n: number): number {
  let l = 0;
  for (let i = 0; i < n; ++i) l += cf[i]! * cl[i]!;
  return l;
}

// Bits are ORed in at bit position p (the output is zeroed first): fflate's wbits / wbits16.
function wbits(d: Uint8Array, p: number, v: number): void {
  v <<= p & 7;
  const o = p >>> 3;
  d[o] |= v;
  d[o + 1] |= v >> 8;
}
function wbits16(d: Uint8Array, p: number, v: number): void {
  v <<= p & 7;
  const o = p >>> 3;
  d[o] |= v;
  d[o + 1] |= v >> 8;
  d[o + 2] |= v >> 16;
}

/** A stored block of dat[bs, bs+bl) at bit p; returns the bit position after it (fflate's wfblk). */
function stored(out: Uint8Array, p: number, dat: Uint8Array, bs: number, bl: number): number {
  const o = (p + 2 + 7) >>> 3;
  out[o] = bl & 255;
  out[o + 1] = bl >> 8;
  out[o + 2] = out[o]! ^ 255;
  out[o + 3] = out[o + 1]! ^ 255;
  out.set(dat.subarray(bs, bs + bl), o + 4);
  return (o + 4 + bl) * 8;
}

// A block's trees and codes, reused.
const litLen = new Uint8Array(288);
const distLen = new Uint8Array(32);
const clLen = new Uint8Array(19);
const litCodes = new Uint16Array(288);
const distCodes = new Uint16Array(32);
const clCodes = new Uint16Array(19);
const litRl = new Uint16Array(320);
const distRl = new Uint16Array(40);
const clFreq = new Uint16Array(19);

/** Writes one block of syms[0, li) (dat[bs, bs+bl) stored if smaller); returns the bit position after it (fflate's wblk). */
function block(
  dat: Uint8Array,
  out: Uint8Array,
  final: number,
  syms: Int32Array,
  lf: Uint16Array,
  df: Uint16Array,
  eb: number,
  li: number,
  bs: number,
  bl: number,
  p: number,
): number {
  wbits(out, p++, final);
  ++lf[256];
  const nl = tree(lf, 288, 15, litLen);
  const mlb = treeBits;
  const nd = tree(df, 32, 15, distLen);
  const mdb = treeBits;
  const nlclt = runLengths(litLen, nl, litRl);
  const nlc = rlN;
  const nlcdt = runLengths(distLen, nd, distRl);
  const ndc = rlN;
  clFreq.fill(0);
  for (let i = 0; i < nlclt; ++i) ++clFreq[litRl[i]! & 31];
  for (let i = 0; i < nlcdt; ++i) ++clFreq[distRl[i]! & 31];
  const ncl = tree(clFreq, 19, 7, clLen);
  const mlcb = treeBits;
  // fflate reads lct[] past its length as undefined (falsy).
  let nlcc = 19;
  for (; nlcc > 4 && !(CL_ORDER[nlcc - 1]! < ncl && clLen[CL_ORDER[nlcc - 1]!]); --nlcc);
  const flen = (bl + 5) << 3;
  const ftlen = bitsOf(lf, FIXED_LEN, 288) + bitsOf(df, FIXED_DIST, 32) + eb;
  const dtlen =
    bitsOf(lf, litLen, nl) +
    bitsOf(df, distLen, nd) +
    eb +
    14 +
    3 * nlcc +
    bitsOf(clFreq, clLen, ncl) +
    2 * clFreq[16]! +
    3 * clFreq[17]! +
    7 * clFreq[18]!;
  if (bs >= 0 && flen <= ftlen && flen <= dtlen) return stored(out, p, dat, bs, bl);
  let lm: Uint16Array;
  let ll: Uint8Array;
  let dm: Uint16Array;
  let dl: Uint8Array;
  wbits(out, p, 1 + (dtlen < ftlen ? 1 : 0));
  p += 2;
  if (dtlen < ftlen) {
    codes(litLen, nl, mlb, litCodes);
    codes(distLen, nd, mdb, distCodes);
    codes(clLen, ncl, mlcb, clCodes);
    lm = litCodes;
    ll = litLen;
    dm = distCodes;
    dl = distLen;
    wbits(out, p, nlc - 257);
    wbits(out, p + 5, ndc - 1);
    wbits(out, p + 10, nlcc - 4);
    p += 14;
    for (let i = 0; i < nlcc; ++i) wbits(out, p + 3 * i, CL_ORDER[i]! < ncl ? clLen[CL_ORDER[i]!]! : 0);
    p += 3 * nlcc;
    for (let it = 0; it < 2; ++it) {
      const clct = it === 0 ? litRl : distRl;
      const m = it === 0 ? nlclt : nlcdt;
      for (let i = 0; i < m; ++i) {
        const len = clct[i]! & 31;
        wbits(out, p, clCodes[len]!);
        p += clLen[len]!;
        if (len > 15) {
          wbits(out, p, (clct[i]! >> 5) & 127);
          p += clct[i]! >> 12;
        }
      }
    }
  } else {
    lm = FIXED_LEN_CODES;
    ll = FIXED_LEN;
    dm = FIXED_DIST_CODES;
    dl = FIXED_DIST;
  }
  for (let i = 0; i < li; ++i) {
    const sym = syms[i]!;
    if (sym > 255) {
      const len = (sym >> 18) & 31;
      wbits16(out, p, lm[len + 257]!);
      p += ll[len + 257]!;
      if (len > 7) {
        wbits(out, p, (sym >> 23) & 31);
        p += LEN_EB[len]!;
      }
      const dst = sym & 31;
      wbits16(out, p, dm[dst]!);
      p += dl[dst]!;
      if (dst > 3) {
        wbits16(out, p, (sym >> 5) & 8191);
        p += DIST_EB[dst]!;
      }
    } else {
      wbits16(out, p, lm[sym]!);
      p += ll[sym]!;
    }
  }
  wbits16(out, p, lm[256]!);
  return p + ll[256]!;
}

/** fflate's (nice << 13) | chain per level 1..9. */
const LEVEL_OPTS = new Int32Array([65540, 131080, 131088, 131104, 262176, 1048704, 1048832, 2114560, 2117632]);

// The match finder's tables and the symbol buffer, reused (fflate: new ones per call).
let head = new Uint16Array(1 << 16);
const prev = new Uint16Array(32768);
const symBuf = new Int32Array(25000);
const litFreq = new Uint16Array(288);
const distFreq = new Uint16Array(32);

/**
 * Raw DEFLATE of dat at fflate level lvl (1..9), the bytes of fflate's
 * deflateSync(dat, { level: lvl }), into this deflater's output buffer: the
 * result is valid until its next call. One deflater per concurrent result;
 * the tables are shared (one call at a time on a thread).
 */
export class Deflater {
  private out = new Uint8Array(1 << 15);

  deflate(dat: Uint8Array, lvl: number): Uint8Array {
    if (lvl < 1 || lvl > 9) return deflateSync(dat, { level: lvl as 0 });
    const s = dat.length;
    const size = s + 5 * (1 + Math.ceil(s / 7000));
    if (this.out.length < size + 8) this.out = new Uint8Array(Math.max(size + 8, 2 * this.out.length));
    const w = this.out;
    w.fill(0, 0, size + 8);
    let end: number;
    try {
      end = dflt(dat, lvl, w);
    } catch (e) {
      if (!(e instanceof Fallback)) throw e;
      return deflateSync(dat, { level: lvl as 1 });
    }
    return w.subarray(0, end);
  }
}

/** fflate's dflt for one whole input (no dictionary, no stream state) into zeroed w; returns the byte length. */
function dflt(dat: Uint8Array, lvl: number, w: Uint8Array): number {
  const s = dat.length;
  // fflate's dopt: the hash bits from the input's size.
  const plvl = Math.ceil(Math.max(8, Math.min(13, Math.log(s))) * 1.5);
  let pos = 0;
  const opt = LEVEL_OPTS[lvl - 1]!;
  const n = opt >> 13;
  const c = opt & 8191;
  const msk = (1 << plvl) - 1;
  if (head.length < msk + 1) head = new Uint16Array(msk + 1);
  const hd = head;
  hd.fill(0, 0, msk + 1);
  prev.fill(0);
  litFreq.fill(0);
  distFreq.fill(0);
  const bs1 = Math.ceil(plvl / 3);
  const bs2 = 2 * bs1;
  const syms = symBuf;
  const lf = litFreq;
  const df = distFreq;
  let lc = 0;
  let eb = 0;
  let i = 0;
  let li = 0;
  let wi = 0;
  let bs = 0;
  for (; i + 2 < s; ++i) {
    const hv = (dat[i]! ^ (dat[i + 1]! << bs1) ^ (dat[i + 2]! << bs2)) & msk;
    let imod = i & 32767;
    let pimod = hd[hv]!;
    prev[imod] = pimod;
    hd[hv] = imod;
    if (wi <= i) {
      const rem = s - i;
      if ((lc > 7000 || li > 24576) && rem > 423) {
        pos = block(dat, w, 0, syms, lf, df, eb, li, bs, i - bs, pos);
        li = lc = eb = 0;
        bs = i;
        lf.fill(0, 0, 286);
        df.fill(0, 0, 30);
      }
      let l = 2;
      let d = 0;
      let ch = c;
      let dif = (imod - pimod) & 32767;
      if (rem > 2) {
        const j0 = i - dif;
        // fflate's hsh(i - dif): reads past either end are undefined, 0 in the shifts.
        if (hv === ((dat[j0]! ^ (dat[j0 + 1]! << bs1) ^ (dat[j0 + 2]! << bs2)) & msk)) {
          const maxn = Math.min(n, rem) - 1;
          const maxd = Math.min(32767, i);
          const ml = Math.min(258, rem);
          while (dif <= maxd && --ch && imod !== pimod) {
            if (dat[i + l] === dat[i + l - dif]) {
              let nl = 0;
              for (; nl < ml && dat[i + nl] === dat[i + nl - dif]; ++nl);
              if (nl > l) {
                l = nl;
                d = dif;
                if (nl > maxn) break;
                const mmd = Math.min(dif, nl - 2);
                let md = 0;
                for (let j = 0; j < mmd; ++j) {
                  const ti = (i - dif + j) & 32767;
                  const cd = (ti - prev[ti]!) & 32767;
                  if (cd > md) {
                    md = cd;
                    pimod = ti;
                  }
                }
              }
            }
            imod = pimod;
            pimod = prev[imod]!;
            dif += (imod - pimod) & 32767;
          }
        }
      }
      if (d) {
        const rl = REV_LEN[l]!;
        const rd = REV_DIST[d]!;
        syms[li++] = 268435456 | (rl << 18) | rd;
        const lin = rl & 31;
        const din = rd & 31;
        eb += LEN_EB[lin]! + DIST_EB[din]!;
        ++lf[257 + lin];
        ++df[din];
        wi = i + l;
        ++lc;
      } else {
        syms[li++] = dat[i]!;
        ++lf[dat[i]!];
      }
    }
  }
  for (i = Math.max(i, wi); i < s; ++i) {
    syms[li++] = dat[i]!;
    ++lf[dat[i]!];
  }
  pos = block(dat, w, 1, syms, lf, df, eb, li, bs, i - bs, pos);
  return (pos + 7) >>> 3;
}
