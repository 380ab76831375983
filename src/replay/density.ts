// A whole-trace overview, computed progressively: where the event kinds, the
// invariant violations and the watchpoint hits are.
//
// The trace's events are cut into B buckets of consecutive seqs (B is at most
// 1024, so a bucket of a 100M-event trace holds about 100K events). One pass
// over the trace counts, per bucket, the events of each kind class (a class is
// the caller's: kind code -> class index), the events that break an invariant
// and the watchpoint hits, and keeps the first and last such seq of each
// bucket. The pass runs chunk by chunk for as long as the caller lets it
// (`run(stop)`), so a UI does it between frames and draws the buckets scanned
// so far; `scanned` says how far it got.
//
// Violations and hits need the kernel state, so with invariants or watchpoints
// the pass folds every event from the initial state (invariants and
// watchpoints around applyEvent, as the cursor's continue does), which is
// several times slower than counting kinds. Both go through walk() (scan.ts),
// so a damaged trace's gaps are stepped over as every other scan does.

import type { KEvent, KState } from "../kernel/types.ts";
import { Checker, type Invariant, type Violation } from "./invariants.ts";
import { type Unfolded, type WalkHooks, walk } from "./scan.ts";
import type { ReplaySource } from "./source.ts";
import { SKIP, type WatchHit, type Watchpoint } from "./watch.ts";

/** Buckets a trace is cut into, at most. */
export const DENSITY_BUCKETS = 1024;

export interface DensityOptions {
  /** Buckets (default: min(events, DENSITY_BUCKETS)). */
  readonly buckets?: number;
  /** Kind code -> class index (< classes); kinds beyond its length count in class classes-1. Absent: kinds are not counted. */
  readonly classOf?: ArrayLike<number>;
  /** Number of classes (default: 1 + the largest index in classOf). */
  readonly classes?: number;
  /** Invariants whose violations are counted (default none). */
  readonly invariants?: readonly Invariant[];
  /** Watchpoints whose hits are counted (default none). */
  readonly watchpoints?: readonly Watchpoint[];
  /** Exact seqs kept in violationSeqs and hitSeqs, at most (default 10,000). */
  readonly keep?: number;
}

/**
 * One pass of the overview over a source. Create it, call run() until it
 * returns true, read the counts as they fill in. Contract: the source does not
 * change while the scan lives; the arrays are filled in place (copy them to keep
 * a snapshot).
 */
export class DensityScan {
  readonly source: ReplaySource;
  /** Events in the trace. */
  readonly total: number;
  readonly buckets: number;
  readonly classes: number;
  /** Events per bucket and class: kinds[b * classes + c]. Empty when kinds are not counted. */
  readonly kinds: Uint32Array;
  /** Events per bucket that break an invariant. */
  readonly violations: Uint32Array;
  /** Events per bucket at which a watchpoint hits. */
  readonly hits: Uint32Array;
  /** First and last violating seq of bucket b at [2b], [2b+1]; -1 when none. */
  readonly violationEnds: Float64Array;
  /** First and last hitting seq of bucket b at [2b], [2b+1]; -1 when none. */
  readonly hitEnds: Float64Array;
  /** The first `keep` violating seqs, increasing. */
  readonly violationSeqs: number[] = [];
  /** The first `keep` hitting seqs, increasing. */
  readonly hitSeqs: number[] = [];
  /** The first violation (with its causes), null while none is found. */
  firstViolation: Violation | null = null;
  /** Hits per watchpoint, in the order of the watchpoints given. */
  readonly hitsPerWatch: number[];
  /** Events looked at so far: seqs 0 .. scanned-1. */
  scanned = 0;
  /** Why the pass stopped early (an error it cannot step over), or null. */
  error: string | null = null;
  /** Stretches of a damaged trace it could not fold (events missing, or not applying), in order; the first `keep`. */
  readonly unfolded: Unfolded[] = [];

  private readonly classOf: ArrayLike<number> | undefined;
  private readonly checker: Checker | null;
  private readonly watches: readonly Watchpoint[];
  private readonly fold: boolean;
  private readonly keep: number;
  /** The state after the last event looked at; null when it is unknown (damage). */
  private st: KState | null = null;
  /** Whether a walk has run (the first one folds from the initial snapshot). */
  private started = false;
  private chunk = 0;
  /** The invariants' finding before the event being folded, and the watchpoints' tokens. */
  private v: Violation | null = null;
  private readonly toks: unknown[];

  constructor(source: ReplaySource, opts: DensityOptions = {}) {
    this.source = source;
    this.total = source.eventCount;
    this.buckets = Math.max(1, Math.min(opts.buckets ?? DENSITY_BUCKETS, Math.max(1, this.total)));
    this.classOf = opts.classOf;
    let classes = opts.classes ?? 0;
    if (opts.classOf !== undefined && opts.classes === undefined)
      for (let i = 0; i < opts.classOf.length; i++) classes = Math.max(classes, opts.classOf[i]! + 1);
    this.classes = opts.classOf === undefined ? 0 : Math.max(1, classes);
    this.kinds = new Uint32Array(this.buckets * this.classes);
    this.violations = new Uint32Array(this.buckets);
    this.hits = new Uint32Array(this.buckets);
    this.violationEnds = new Float64Array(2 * this.buckets).fill(-1);
    this.hitEnds = new Float64Array(2 * this.buckets).fill(-1);
    const invs = opts.invariants ?? [];
    this.checker = invs.length > 0 ? new Checker(invs) : null;
    this.watches = opts.watchpoints ?? [];
    this.hitsPerWatch = this.watches.map(() => 0);
    this.toks = new Array(this.watches.length);
    this.fold = this.checker !== null || this.watches.length > 0;
    this.keep = opts.keep ?? 10_000;
  }

  /** Whether every event has been looked at (or the pass stopped on an error). */
  get done(): boolean {
    return this.scanned >= this.total || this.error !== null;
  }

  /** The bucket of event seq (0 <= seq < total). */
  bucketOf(seq: number): number {
    return Math.floor((seq * this.buckets) / this.total);
  }

  /** The first seq of bucket b (see bucketStart). */
  bucketStart(b: number): number {
    return bucketStart(this.total, this.buckets, b);
  }

  /**
   * Looks at the events of one chunk after another until the trace is done or
   * stop() returns true (asked after each chunk, so a slice costs at most one
   * chunk more than the caller's budget). Returns done. Damage does not stop
   * it: the chunks go through walk() (scan.ts), which steps over a damaged
   * trace's gaps and resumes folding at the next usable snapshot; each such
   * stretch is listed in `unfolded` (violations and hits there are unknown).
   */
  run(stop: () => boolean = () => false): boolean {
    const src = this.source;
    while (!this.done) {
      const first = src.chunkFirstSeqs[this.chunk]!;
      const next = this.chunk + 1 < src.chunkFirstSeqs.length ? src.chunkFirstSeqs[this.chunk + 1]! : this.total;
      try {
        walk(src, first, Math.min(next, this.total) - 1, this.hooks, {
          fold: this.fold,
          state: this.started ? this.st : undefined,
        });
      } catch (e) {
        this.error = e instanceof Error ? e.message : String(e);
        return true;
      }
      this.started = true;
      this.chunk++;
      // A recovered trace may end inside its last chunk's count.
      this.scanned = Math.min(this.total, next);
      if (stop()) break;
    }
    return this.done;
  }

  /** What walk() calls: the state before each event (tokens), each event, each stretch it cannot fold. */
  private readonly hooks: WalkHooks = {
    before: (ev, st) => {
      this.v = this.checker?.before(st, ev) ?? null;
      const ws = this.watches;
      for (let i = 0; i < ws.length; i++) {
        const w = ws[i]!;
        this.toks[i] = w.kinds === null || w.kinds[ev.kind] ? w.before(st, ev) : SKIP;
      }
    },
    event: (ev, st) => {
      this.visit(ev, st);
    },
    unfolded: (u) => {
      this.st = null;
      if (this.unfolded.length < this.keep) this.unfolded.push(u);
    },
  };

  /**
   * One event: counted by kind and, when its state is known (st, the state
   * after it; `before` has then run for it), checked with the invariants and
   * watchpoints.
   */
  private visit(ev: KEvent, st: KState | null): void {
    const seq = ev.seq;
    if (seq >= this.total) return;
    const b = this.bucketOf(seq);
    if (this.classOf !== undefined) {
      const k = ev.kind;
      this.kinds[b * this.classes + (k < this.classOf.length ? this.classOf[k]! : this.classes - 1)]!++;
    }
    this.st = st;
    if (!this.fold || st === null) return;
    let v = this.v;
    if (v === null && this.checker !== null) v = this.checker.after(st, ev);
    if (v !== null) {
      this.firstViolation ??= v;
      this.violations[b]!++;
      mark(this.violationEnds, b, seq);
      if (this.violationSeqs.length < this.keep) this.violationSeqs.push(seq);
    }
    const ws = this.watches;
    let hit: WatchHit | null = null;
    for (let i = 0; i < ws.length; i++) {
      if (this.toks[i] === SKIP) continue;
      const h = ws[i]!.after(st, ev, this.toks[i]);
      if (h !== null) {
        hit = h;
        this.hitsPerWatch[i]!++;
      }
    }
    if (hit !== null) {
      this.hits[b]!++;
      mark(this.hitEnds, b, seq);
      if (this.hitSeqs.length < this.keep) this.hitSeqs.push(seq);
    }
  }
}

/** The first seq of bucket b of `buckets` over `total` events (b = buckets gives total). */
export function bucketStart(total: number, buckets: number, b: number): number {
  return Math.ceil((b * total) / buckets);
}

/** Records seq as the last (and, the first time, the first) marked seq of bucket b. */
function mark(ends: Float64Array, b: number, seq: number): void {
  if (ends[2 * b]! < 0) ends[2 * b] = seq;
  ends[2 * b + 1] = seq;
}
