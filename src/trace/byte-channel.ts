// A one-way byte stream between two threads over a SharedArrayBuffer: a ring
// of `capacity` bytes and two counters (bytes written, bytes read). The
// writer blocks (Atomics.wait) while the ring is full, the reader while it is
// empty; neither needs its event loop, so a thread busy in synchronous work
// (the simulator) streams to a worker at memory speed. postMessage is not
// used because some runtimes (Deno 2.9) deliver a message to a worker only
// when the sending thread returns to its event loop.

/** Counter slots: bytes written and bytes read, as 32-bit counters that wrap. */
const WRITTEN = 0;
const READ = 1;
const HEADER = 8;

export class ByteChannel {
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  private readonly cap: number;

  /**
   * `idle` is called each time a wait gave no progress for `idleMs` (it may
   * throw, to give up on a thread that stopped).
   */
  constructor(readonly sab: SharedArrayBuffer, private readonly idle: () => void = () => {}, private readonly idleMs = 1000) {
    this.ctl = new Int32Array(sab, 0, 2);
    this.data = new Uint8Array(sab, HEADER);
    this.cap = this.data.length;
  }

  /** A channel's memory: `capacity` bytes of ring (a power of two, at most 2^30). */
  static alloc(capacity: number): SharedArrayBuffer {
    if (!(capacity >= 16 && capacity <= 1 << 30 && (capacity & (capacity - 1)) === 0)) throw new RangeError(`channel capacity ${capacity} is not a power of two in 16..2^30`);
    return new SharedArrayBuffer(HEADER + capacity);
  }

  /** Appends b, waiting while the ring is full. */
  write(b: Uint8Array): void {
    const { ctl, data, cap } = this;
    let off = 0;
    while (off < b.length) {
      const w = Atomics.load(ctl, WRITTEN) >>> 0;
      const r = Atomics.load(ctl, READ);
      const free = cap - ((w - (r >>> 0)) >>> 0);
      if (free === 0) {
        if (Atomics.wait(ctl, READ, r, this.idleMs) === "timed-out") this.idle();
        continue;
      }
      const at = w & (cap - 1);
      const n = Math.min(free, b.length - off, cap - at);
      data.set(b.subarray(off, off + n), at);
      Atomics.store(ctl, WRITTEN, (w + n) | 0);
      Atomics.notify(ctl, WRITTEN);
      off += n;
    }
  }

  /** Fills out[0, n), waiting while the ring is empty. */
  read(out: Uint8Array, n: number): void {
    const { ctl, data, cap } = this;
    let off = 0;
    while (off < n) {
      const r = Atomics.load(ctl, READ) >>> 0;
      const w = Atomics.load(ctl, WRITTEN);
      const avail = ((w >>> 0) - r) >>> 0;
      if (avail === 0) {
        if (Atomics.wait(ctl, WRITTEN, w, this.idleMs) === "timed-out") this.idle();
        continue;
      }
      const at = r & (cap - 1);
      const k = Math.min(avail, n - off, cap - at);
      out.set(data.subarray(at, at + k), off);
      Atomics.store(ctl, READ, (r + k) | 0);
      Atomics.notify(ctl, READ);
      off += k;
    }
  }
}
