// Little-endian byte buffers with LEB128 varints (unsigned and zigzag).
//
// Integers up to 2^53 in magnitude are exact. The fast paths cover values
// below 2^31; larger ones go through BigInt (rare: idents, big times).

const TE = new TextEncoder();
const TD = new TextDecoder("utf-8", { fatal: false });

export function utf8(s: string): Uint8Array {
  return TE.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return TD.decode(b);
}

/** The parts one after another, in one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Thrown by ByteReader when a read runs past the end: the input is incomplete. */
export class ShortRead extends Error {
  constructor() {
    super("unexpected end of data");
  }
}

/** Thrown when a value cannot be encoded (not a safe integer). */
export class BadValue extends Error {}

/** Zigzag-encodes a safe integer into a non-negative one (as a number or, if large, a bigint). */
function zigzagBig(v: number): bigint {
  const b = BigInt(v);
  return b >= 0n ? b << 1n : (-b << 1n) - 1n;
}

/** A growable output buffer. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 1 << 16) {
    this.buf = new Uint8Array(capacity);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    b[this.pos++] = v & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.pos++] = v & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 24) & 0xff;
  }

  /** Unsigned 64-bit little-endian of a safe non-negative integer. */
  u64(v: number): void {
    this.u32(v % 0x100000000);
    this.u32(Math.floor(v / 0x100000000));
  }

  /** Unsigned LEB128 of a safe non-negative integer. */
  uvar(v: number): void {
    if (this.pos + 10 > this.buf.length) this.ensure(10);
    const b = this.buf;
    if (v >>> 0 === v) {
      while (v >= 0x80) {
        b[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    if (!Number.isSafeInteger(v) || v < 0) throw new BadValue(`not a non-negative safe integer: ${v}`);
    this.bigvar(BigInt(v));
  }

  /** Zigzag LEB128 of a safe integer. */
  svar(v: number): void {
    if (v === (v | 0) && v > -0x40000000 && v < 0x40000000) {
      this.uvar(((v << 1) ^ (v >> 31)) >>> 0);
      return;
    }
    if (!Number.isSafeInteger(v)) throw new BadValue(`not a safe integer: ${v}`);
    this.ensure(10);
    this.bigvar(zigzagBig(v));
  }

  private bigvar(v: bigint): void {
    const b = this.buf;
    while (v >= 0x80n) {
      b[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    b[this.pos++] = Number(v);
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** A copy of what was written. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Reads from buf[pos, end). Every read past `end` throws ShortRead. */
export class ByteReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw new ShortRead();
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (this.pos + 2 > this.end) throw new ShortRead();
    const b = this.buf,
      p = this.pos;
    this.pos += 2;
    return b[p]! | (b[p + 1]! << 8);
  }

  u32(): number {
    if (this.pos + 4 > this.end) throw new ShortRead();
    const b = this.buf,
      p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * 0x100000000 + lo;
  }

  uvar(): number {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    let v = 0;
    let shift = 0;
    while (p < this.end && shift < 28) {
      const x = b[p++]!;
      v |= (x & 0x7f) << shift;
      if (x < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
      shift += 7;
    }
    const u = this.uvarExact();
    return typeof u === "number" ? u : Number(u);
  }

  svar(): number {
    const b = this.buf;
    const p = this.pos;
    if (p < this.end) {
      const x = b[p]!;
      if (x < 0x80) {
        this.pos = p + 1;
        return (x >>> 1) ^ -(x & 1);
      }
    }
    // Decode the unsigned value; zigzag-decode exactly (it may exceed 2^32).
    const u = this.uvarExact();
    if (typeof u === "number") return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    return Number(u & 1n ? -((u + 1n) >> 1n) : u >> 1n);
  }

  /** Like uvar but returns a bigint when the value is above 2^53. */
  private uvarExact(): number | bigint {
    const start = this.pos;
    let n = 0;
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new ShortRead();
      const x = this.buf[this.pos++]!;
      v += (x & 0x7f) * mul;
      mul *= 128;
      n++;
      if (x < 0x80) break;
      if (n >= 10) throw new ShortRead();
    }
    if (n <= 7) return v; // < 2^49: exact
    this.pos = start;
    let big = 0n;
    let sh = 0n;
    for (;;) {
      const x = this.buf[this.pos++]!;
      big |= BigInt(x & 0x7f) << sh;
      sh += 7n;
      if (x < 0x80) break;
    }
    return big;
  }

  bytes(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) throw new ShortRead();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}
