// A one-way byte stream between two threads over a SharedArrayBuffer: a ring
// of `capacity` bytes and two counters (bytes written, bytes read). The
// writer blocks (Atomics.wait) while the ring is full, the reader while it is
// empty; neither needs its event loop, so a thread busy in synchronous work
// (the simulator) streams to a worker at memory speed. postMessage is not
// used because some runtimes (Deno 2.9) deliver a message to a worker only
// when the sending thread returns to its event loop.

/**
 * Counter slots: bytes written and bytes read, as 32-bit counters that wrap;
 * then whether the reader (writer) is asleep in Atomics.wait, or about to be.
 * A side notifies only when the other one sleeps: Atomics.notify costs tens
 * of microseconds on Bun even with nobody waiting, and the writer calls it
 * per chunk. Each side raises its flag before it reads the other's counter
 * and waits only on the counter it read (all sequentially consistent), so a
 * wake-up is never lost: either the sleeper sees the new counter, or the
 * other side sees the flag.
 */
const WRITTEN = 0;
const READ = 1;
const READER_WAITS = 2;
const WRITER_WAITS = 3;
const HEADER = 16;

export class ByteChannel {
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  private readonly cap: number;

  /**
   * `idle` is called each time a wait gave no progress for `idleMs` (it may
   * throw, to give up on a thread that stopped).
   */
  constructor(
    readonly sab: SharedArrayBuffer,
    private readonly idle: () => void = () => {},
    private readonly idleMs = 1000,
  ) {
    this.ctl = new Int32Array(sab, 0, 4);
    this.data = new Uint8Array(sab, HEADER);
    this.cap = this.data.length;
  }

  /** A channel's memory: `capacity` bytes of ring (a power of two, at most 2^30). */
  static alloc(capacity: number): SharedArrayBuffer {
    if (!(capacity >= 16 && capacity <= 1 << 30 && (capacity & (capacity - 1)) === 0))
      throw new RangeError(`channel capacity ${capacity} is not a power of two in 16..2^30`);
    return new SharedArrayBuffer(HEADER + capacity);
  }

  /**
   * Appends b, waiting while the ring is full. With `wake` false, a reader
   * asleep on an empty ring is woken only once a quarter of the ring is
   * unread (or by a later write with `wake`, or flush()): a wake-up costs the
   * writing thread ~0.1-0.3 ms on Bun, and a reader that keeps up sleeps after
   * every record, so a stream of small records written with `wake` pays that
   * per record.
   */
  write(b: Uint8Array, wake = true): void {
    const { ctl, data, cap } = this;
    let off = 0;
    while (off < b.length) {
      const w = Atomics.load(ctl, WRITTEN) >>> 0;
      let r = Atomics.load(ctl, READ);
      if (cap - ((w - (r >>> 0)) >>> 0) === 0) {
        this.flush();
        Atomics.store(ctl, WRITER_WAITS, 1);
        r = Atomics.load(ctl, READ);
        const slept = cap - ((w - (r >>> 0)) >>> 0) === 0 ? Atomics.wait(ctl, READ, r, this.idleMs) : "ok";
        Atomics.store(ctl, WRITER_WAITS, 0);
        if (slept === "timed-out") this.idle();
        continue;
      }
      const free = cap - ((w - (r >>> 0)) >>> 0);
      const at = w & (cap - 1);
      const n = Math.min(free, b.length - off, cap - at);
      data.set(b.subarray(off, off + n), at);
      Atomics.store(ctl, WRITTEN, (w + n) | 0);
      if (Atomics.load(ctl, READER_WAITS) !== 0 && (wake || cap - free + n >= cap >>> 2)) Atomics.notify(ctl, WRITTEN);
      off += n;
    }
  }

  /** Wakes the reader if it sleeps, so that it reads what was written without `wake`. */
  flush(): void {
    if (Atomics.load(this.ctl, READER_WAITS) !== 0) Atomics.notify(this.ctl, WRITTEN);
  }

  /**
   * Fills out[0, n), waiting while the ring is empty. With `wake` false, a
   * writer asleep on a full ring is woken only once a quarter of the ring is
   * free (see write).
   */
  read(out: Uint8Array, n: number, wake = true): void {
    const { ctl, data, cap } = this;
    let off = 0;
    while (off < n) {
      const r = Atomics.load(ctl, READ) >>> 0;
      let w = Atomics.load(ctl, WRITTEN);
      if (((w >>> 0) - r) >>> 0 === 0) {
        Atomics.store(ctl, READER_WAITS, 1);
        w = Atomics.load(ctl, WRITTEN);
        const slept = ((w >>> 0) - r) >>> 0 === 0 ? Atomics.wait(ctl, WRITTEN, w, this.idleMs) : "ok";
        Atomics.store(ctl, READER_WAITS, 0);
        if (slept === "timed-out") this.idle();
        continue;
      }
      const avail = ((w >>> 0) - r) >>> 0;
      const at = r & (cap - 1);
      const k = Math.min(avail, n - off, cap - at);
      out.set(data.subarray(at, at + k), off);
      Atomics.store(ctl, READ, (r + k) | 0);
      if (Atomics.load(ctl, WRITER_WAITS) !== 0 && (wake || cap - avail + k >= cap >>> 2)) Atomics.notify(ctl, READ);
      off += k;
    }
  }
}
