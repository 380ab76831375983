// Bounded re-sorting of records by time.
//
// Kernel trace text is nearly always in time order (tracefs, trace-cmd report, perf
// script and babeltrace2 merge their per-cpu buffers), but concatenated per-cpu dumps
// and a few tools' edge cases put a record slightly before one already printed. The
// window holds the last REORDER_WINDOW records, kept sorted by (ts, line); a record
// leaves it when REORDER_WINDOW newer ones have arrived. A record earlier than one
// that already left is refused (ImportError naming both lines): the input is out of
// order beyond what a bounded window can fix.
//
// Cost: O(1) per record for sorted input (a slot of a fixed ring: nothing is
// allocated or copied), a binary search and a shift of the later records for a
// late one.

import { ImportError, type TraceRecord } from "./record.ts";

/** Records the window holds; a record may arrive this many records late and still be placed. */
export const REORDER_WINDOW = 4096;

const before = (a: TraceRecord, b: TraceRecord) => a.ts < b.ts || (a.ts === b.ts && a.line < b.line);

export class Reorder {
  /** The window: a ring of window + 1 slots, records head .. head + n - 1 (mod its length) in order. */
  private readonly ring: (TraceRecord | undefined)[];
  private head = 0;
  private n = 0;
  private lastOut: TraceRecord | null = null;
  /** Records that arrived earlier in time than one before them in the input. */
  late = 0;

  constructor(private readonly window = REORDER_WINDOW) {
    this.ring = new Array<TraceRecord | undefined>(window + 1).fill(undefined);
  }

  /** Slot of the window's i-th record. */
  private slot(i: number): number {
    const k = this.head + i;
    return k >= this.ring.length ? k - this.ring.length : k;
  }

  /** Adds a record; appends to `out` the records that leave the window. */
  push(rec: TraceRecord, out: TraceRecord[]): void {
    const ring = this.ring;
    const n = this.n;
    if (n === 0 || !before(rec, ring[this.slot(n - 1)]!)) {
      if (this.lastOut !== null && n === 0 && before(rec, this.lastOut)) this.refuse(rec);
      ring[this.slot(n)] = rec;
    } else {
      this.late++;
      if (this.lastOut !== null && before(rec, this.lastOut)) this.refuse(rec);
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (before(rec, ring[this.slot(mid)]!)) hi = mid;
        else lo = mid + 1;
      }
      for (let i = n; i > lo; i--) ring[this.slot(i)] = ring[this.slot(i - 1)];
      ring[this.slot(lo)] = rec;
    }
    this.n = n + 1;
    if (this.n > this.window) {
      const r = ring[this.head]!;
      ring[this.head] = undefined;
      this.head = this.slot(1);
      this.n--;
      this.lastOut = r;
      out.push(r);
    }
  }

  /** Appends every record still held, in order. */
  flush(out: TraceRecord[]): void {
    for (let i = 0; i < this.n; i++) {
      const k = this.slot(i);
      out.push(this.ring[k]!);
      this.ring[k] = undefined;
    }
    if (this.n > 0) this.lastOut = out[out.length - 1]!;
    this.head = 0;
    this.n = 0;
  }

  private refuse(rec: TraceRecord): never {
    const prev = this.lastOut!;
    throw new ImportError(
      `line ${rec.line} is out of time order: it is earlier than line ${prev.line}, more than ${this.window} events before it`,
      `ktrace sorts within a window of ${this.window} events; sort the input by time first`,
    );
  }
}
