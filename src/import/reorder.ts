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
// Cost: O(1) per record for sorted input (append at the end), a binary search and an
// array insert for a late one.

import { ImportError, type TraceRecord } from "./record.ts";

/** Records the window holds; a record may arrive this many records late and still be placed. */
export const REORDER_WINDOW = 4096;

const before = (a: TraceRecord, b: TraceRecord) => a.ts < b.ts || (a.ts === b.ts && a.line < b.line);

export class Reorder {
  private buf: TraceRecord[] = [];
  private head = 0;
  private lastOut: TraceRecord | null = null;
  /** Records that arrived earlier in time than one before them in the input. */
  late = 0;

  constructor(private readonly window = REORDER_WINDOW) {}

  /** Adds a record; appends to `out` the records that leave the window. */
  push(rec: TraceRecord, out: TraceRecord[]): void {
    const buf = this.buf;
    const n = buf.length;
    if (n === this.head || !before(rec, buf[n - 1]!)) {
      if (this.lastOut !== null && n === this.head && before(rec, this.lastOut)) this.refuse(rec);
      buf.push(rec);
    } else {
      this.late++;
      if (this.lastOut !== null && before(rec, this.lastOut)) this.refuse(rec);
      let lo = this.head;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (before(rec, buf[mid]!)) hi = mid;
        else lo = mid + 1;
      }
      buf.splice(lo, 0, rec);
    }
    if (buf.length - this.head > this.window) {
      const r = buf[this.head++]!;
      this.lastOut = r;
      out.push(r);
      if (this.head >= 65536 && this.head * 2 >= buf.length) {
        this.buf = buf.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** Appends every record still held, in order. */
  flush(out: TraceRecord[]): void {
    for (let i = this.head; i < this.buf.length; i++) out.push(this.buf[i]!);
    if (this.head < this.buf.length) this.lastOut = this.buf[this.buf.length - 1]!;
    this.buf = [];
    this.head = 0;
  }

  private refuse(rec: TraceRecord): never {
    const prev = this.lastOut!;
    throw new ImportError(
      `line ${rec.line} is out of time order: it is earlier than line ${prev.line}, more than ${this.window} events before it`,
      `ktrace sorts within a window of ${this.window} events; sort the input by time first`,
    );
  }
}
