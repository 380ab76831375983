// The input's clock: turns the timestamps a reader finds into TraceRecord.ts.
//
// ts is an integer relative to an origin fixed by the first timestamp read (its whole
// second), so that nanosecond precision survives however large the input's times are
// (uptime of months, wall-clock dates): a double holds integers exactly up to 2^53 ns,
// 104 days of trace span. One input has one kind of time; a line with another kind
// gets NaN (its reader counts it as unparsed).

import type { ClockInfo } from "./record.ts";

const NS = 1_000_000_000;
const DAY = 86_400;
const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/** Nanoseconds of a decimal fraction given as its digits ("255841" → 255841000). */
function fracNs(frac: string): number {
  if (frac.length === 0) return 0;
  if (frac.length >= 9) return Number(frac.slice(0, 9));
  return Number(frac) * 10 ** (9 - frac.length);
}

export class Clock {
  private kind: ClockInfo["kind"] | null = null;
  private originS = 0;
  private originCount = 0n;
  private originText = "0";
  private precision = 0;
  private hasOrigin = false;
  // seconds(): the last whole-seconds text and its value (most lines share it)
  private lastWhole = "";
  private lastWholeS = 0;
  // time-of-day: days added for midnight wraps, and the latest second seen (with them).
  private dayOffset = 0;
  private lastSod = -1;

  /** The clock as far as read (null before any timestamp). */
  info(): ClockInfo | null {
    if (this.kind === null) return null;
    return {
      kind: this.kind,
      unit: this.kind === "counter" ? "count" : "ns",
      origin: this.originText,
      precision: this.precision,
    };
  }

  private start(kind: ClockInfo["kind"]): boolean {
    if (this.kind === null) {
      this.kind = kind;
      return true;
    }
    return this.kind === kind;
  }

  private frac(frac: string): number {
    if (frac.length > this.precision) this.precision = frac.length;
    return fracNs(frac);
  }

  /**
   * seconds() for the ASCII digits `buf[start, dot)` `.` `buf[dot + 1, end)` (the
   * caller checked), without making strings: the ftrace scanner's hot path.
   */
  secondsAt(buf: Uint8Array, start: number, dot: number, end: number): number {
    if (this.kind !== "seconds" || dot - start > 15)
      return this.seconds(digitText(buf, start, dot), digitText(buf, dot + 1, end));
    let s = 0;
    for (let i = start; i < dot; i++) s = s * 10 + (buf[i]! - 48);
    let f = 0;
    const stop = Math.min(end, dot + 10);
    for (let i = dot + 1; i < stop; i++) f = f * 10 + (buf[i]! - 48);
    const digits = stop - dot - 1;
    if (digits > this.precision) this.precision = digits;
    return (s - this.originS) * NS + f * POW10[9 - digits]!;
  }

  /** `SSSS.ffffff` (ftrace, perf, babeltrace2 --clock-seconds): whole seconds and fraction digits. */
  seconds(whole: string, frac: string): number {
    if (this.kind !== "seconds" && !this.start("seconds")) return NaN;
    let s: number;
    if (whole === this.lastWhole) s = this.lastWholeS;
    else {
      s = Number(whole);
      this.lastWhole = whole;
      this.lastWholeS = s;
    }
    if (!this.hasOrigin) {
      this.hasOrigin = true;
      this.originS = s;
      this.originText = whole;
    }
    return (s - this.originS) * NS + this.frac(frac);
  }

  /**
   * `hh:mm:ss.nnnnnnnnn` (babeltrace2's default): a time of day. Going back by more
   * than 12 hours is taken as crossing midnight (a trace spanning more than a day
   * of wall time is not told apart from one that wraps).
   */
  timeOfDay(h: number, m: number, s: number, frac: string): number {
    if (!this.start("time-of-day")) return NaN;
    if (h > 23 || m > 59 || s > 60) return NaN;
    const sod = h * 3600 + m * 60 + s;
    let t = sod + this.dayOffset;
    if (!this.hasOrigin) {
      this.hasOrigin = true;
      this.originS = sod;
      this.originText = `${pad2(h)}:${pad2(m)}:${pad2(s)}`;
    } else if (t < this.lastSod - DAY / 2) {
      this.dayOffset += DAY; // past midnight
      t += DAY;
    } else if (t > this.lastSod + DAY / 2 && this.dayOffset > 0) {
      t -= DAY; // a record from before midnight, printed after it
    }
    if (t > this.lastSod) this.lastSod = t;
    return (t - this.originS) * NS + this.frac(frac);
  }

  /** `YYYY-MM-DD hh:mm:ss.nnnnnnnnn` (babeltrace2 --clock-date). */
  date(y: number, mo: number, d: number, h: number, m: number, s: number, frac: string): number {
    if (!this.start("date")) return NaN;
    const t = Date.UTC(y, mo - 1, d, h, m, s) / 1000;
    if (!Number.isFinite(t)) return NaN;
    if (!this.hasOrigin) {
      this.hasOrigin = true;
      this.originS = t;
      this.originText = `${y}-${pad2(mo)}-${pad2(d)} ${pad2(h)}:${pad2(m)}:${pad2(s)}`;
    }
    return (t - this.originS) * NS + this.frac(frac);
  }

  /** A raw counter value (ftrace with trace_clock counter/x86-tsc, babeltrace2 --clock-cycles). */
  counter(digits: string): number {
    if (!this.start("counter")) return NaN;
    const v = BigInt(digits);
    if (!this.hasOrigin) {
      this.hasOrigin = true;
      this.originCount = v;
      this.originText = digits;
    }
    return Number(v - this.originCount);
  }
}

/** ASCII digits as a string. */
function digitText(buf: Uint8Array, a: number, b: number): string {
  return String.fromCharCode(...buf.subarray(a, b));
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}
