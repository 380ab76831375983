// Whole-trace scans: the first invariant violation, the first event of some
// kinds, and the walk under both, which steps over damage.
//
// A scan folds every event from the initial state, with the invariants' hooks
// around applyEvent. It reads decoded columns (no event objects) when the
// source has them and fills one reused event record, so it runs at the speed
// of the reducer.
//
// A damaged trace has gaps (events missing: source.gaps, found as chunks are
// read) and may have events that do not fold (their content is wrong while
// their checksum is right). The walk reports each such stretch once, as an
// Unfolded, and goes on: events after it are still visited, with the state
// unknown (null) until the next usable snapshot, from which folding resumes.

import { ApplyError, applyEvent, applyInertRun } from "../kernel/apply.ts";
import { initState } from "../kernel/state.ts";
import type { KEvent, KState } from "../kernel/types.ts";
import { type Gap, TraceCorruptError } from "../trace/errors.ts";
import { type EventColumns, fillEvent } from "../trace/event-codec.ts";
import { Checker, type Invariant, planFor, selectFor, splittable, type Violation } from "./invariants.ts";
import type { ReplaySource } from "./source.ts";

/** A trace whose events do not fold (corrupt, or written by an incompatible kernel). exitCode 2. */
export class ReplayError extends Error {
  readonly exitCode = 2;
  readonly seq: number;
  constructor(seq: number, message: string) {
    super(message);
    this.seq = seq;
  }
}

export function replayError(e: unknown): unknown {
  if (e instanceof ApplyError) {
    return new ReplayError(
      e.seq,
      `the trace does not replay: ${e.message} (the file is damaged or was written by an incompatible ktrace)`,
    );
  }
  return e;
}

/**
 * Applies ev to st. An event that does not fit the state (ApplyError, or any
 * other error applyEvent raises on a state built from crafted content) is a
 * damaged trace: ReplayError naming the seq.
 */
export function foldEvent(st: KState, ev: KEvent): void {
  try {
    applyEvent(st, ev);
  } catch (e) {
    throw foldError(e, ev);
  }
}

/** What foldEvent throws for e, an error applyEvent raised on ev: a ReplayError for a damaged trace, else e itself. */
function foldError(e: unknown, ev: KEvent): unknown {
  if (e instanceof ApplyError) return replayError(e);
  if (e instanceof TypeError || e instanceof RangeError) {
    return new ReplayError(
      ev.seq,
      `the trace does not replay: event ${ev.seq} does not apply to the state before it (${e.message}); the file is damaged`,
    );
  }
  return e;
}

/**
 * A stretch of a trace the walk could not fold: from `fromSeq` on the state is
 * unknown, until the state after `knownAfter` (a snapshot), or to the end
 * (null). `missing` is the gap of missing events that caused it, if that was
 * the cause (otherwise an event did not apply, or no snapshot to start from).
 */
export interface Unfolded {
  fromSeq: number;
  knownAfter: number | null;
  missing: Gap | null;
  reason: string;
}

/** One line about an Unfolded, for messages: what is missing and which states are unknown. */
export function unfoldedText(u: Unfolded): string {
  const miss = u.missing
    ? `events ${u.missing.fromSeq}..${u.missing.toSeq} are missing (${u.missing.reason})`
    : u.reason;
  const known =
    u.knownAfter === null
      ? `the states from seq ${u.fromSeq} on are unknown (no usable snapshot after it)`
      : u.knownAfter > u.fromSeq
        ? `the states ${u.fromSeq}..${u.knownAfter - 1} are unknown (known again at the snapshot of seq ${u.knownAfter})`
        : "";
  return known ? `${miss}; ${known}` : miss;
}

export interface WalkHooks {
  /** Called before ev is applied, with the state before it (only when that state is known). */
  before?(ev: KEvent, st: KState): void;
  /** Called for every event the trace holds from..to, in order: st is the state after it, or null when unknown. Return true to stop. The event object may be reused: copy it to keep it. */
  event(ev: KEvent, st: KState | null): boolean | undefined;
  /** Called once for each stretch that cannot be folded, before the events after it. */
  unfolded?(u: Unfolded): void;
  /** Called once when the walk reaches `to` without being stopped by event(): the state after `to`, or null when it is unknown there. */
  end?(st: KState | null): void;
  /**
   * Optional, for a caller that folds itself (checkRange): does for the
   * events i..j-1 of cols (their seqs from cols.firstSeq + i, all >= from),
   * on the known state st, what before, the fold (foldEvent) and event do
   * for each, in its own loop: one call per chunk instead of several per
   * event. Returns the index of the event at which it stops (as event()
   * returning true), or -1 when it went through. A fold that fails throws
   * its ReplayError out of it (its seq names the event, whose hooks have
   * run up to the fold): the walk then goes on as for a fold that fails.
   */
  span?(cols: EventColumns, i: number, j: number, st: KState): number;
}

export interface WalkOptions {
  /** Fold the events (default true); false: only read them (st is always null; missing events are still reported). */
  fold?: boolean;
  /**
   * The state at from-1, when the caller has it (a scan that goes on from
   * where its last walk stopped): folded on in place instead of folding from
   * a snapshot. null: it is unknown there (folding resumes at the first usable
   * snapshot at or after from-1, without reporting the stretch again).
   */
  state?: KState | null;
}

/**
 * Visits the events with from <= seq <= to in order, folding them from the
 * nearest usable snapshot (the fold starts before `from` when needed) or from
 * opts.state, and stepping over damage (see the file comment). Returns the
 * seq it stopped at, or -1.
 */
export function walk(src: ReplaySource, from: number, to: number, hooks: WalkHooks, opts: WalkOptions = {}): number {
  const fold = opts.fold ?? true;
  const span = fold ? hooks.span : undefined;
  const last = Math.min(to, src.eventCount - 1);
  from = Math.max(0, from);
  if (from > last) return -1;
  const ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
  let st: KState | null = null;
  // Where folding resumes: the snapshot after an unfolded stretch.
  let resume: { seq: number; state: KState } | null = null;
  let seq = from;
  const lose = (fromSeq: number, missing: Gap | null, reason: string, after: number) => {
    st = null;
    resume = fold ? src.loadSnapshotFrom(after) : null;
    const u: Unfolded = { fromSeq, knownAfter: resume ? resume.seq : null, missing, reason };
    hooks.unfolded?.(u);
  };
  /** Event q did not fold (x): its stretch is lost. */
  const failed = (q: number, x: ReplayError) =>
    lose(Math.max(q, from), null, x.message.replace(/^the trace does not replay: /, ""), q);
  if (fold && opts.state !== undefined) {
    st = opts.state;
    if (st === null) {
      resume = src.loadSnapshotFrom(from - 1);
      if (resume !== null && resume.seq === from - 1) {
        st = resume.state;
        resume = null;
      }
    }
  } else if (fold) {
    try {
      const base = src.loadSnapshot(from - 1);
      st = base.state;
      seq = base.seq + 1;
    } catch (e) {
      if (!(e instanceof TraceCorruptError)) throw e;
      lose(from, null, e.detail, from - 1);
    }
  }
  while (seq <= last) {
    const ci = src.chunkOf(seq);
    const first = src.chunkFirstSeqs[ci]!;
    let cols: EventColumns | null = null;
    let evs: readonly KEvent[] | null = null;
    try {
      if (src.readColumns) cols = src.readColumns(ci);
      else evs = src.readChunk(ci);
    } catch (e) {
      if (!(e instanceof TraceCorruptError) || !e.gap) throw e;
      const g = e.gap;
      const fromSeq = Math.max(g.fromSeq, from);
      if (g.toSeq >= from || st !== null) lose(fromSeq, g, g.reason, g.toSeq);
      else st = null;
      seq = g.toSeq + 1;
      if (resume !== null && (resume as { seq: number }).seq < seq) {
        st = (resume as { state: KState }).state;
        resume = null;
      }
      continue;
    }
    const n = cols ? cols.n : evs!.length;
    const stop = Math.min(last, first + n - 1);
    try {
      for (let q = seq; q <= stop; q++) {
        let e: KEvent;
        if (span !== undefined && st !== null && cols !== null && q >= from) {
          // The rest of the chunk in the caller's loop.
          try {
            const k = span(cols, q - first, stop - first + 1, st);
            if (k >= 0) return first + k;
            break;
          } catch (x) {
            if (!(x instanceof ReplayError && x.seq >= q && x.seq <= stop)) throw x;
            q = x.seq;
            e = fillEvent(cols, q - first, ev);
            failed(q, x);
          }
        } else {
          e = cols ? fillEvent(cols, q - first, ev) : evs![q - first]!;
          if (st !== null) {
            const s: KState = st;
            try {
              if (q >= from) hooks.before?.(e, s);
              foldEvent(s, e);
            } catch (x) {
              if (!(x instanceof ReplayError)) throw x;
              failed(q, x);
            }
          }
        }
        if (q >= from && hooks.event(e, st) === true) return q;
        if (st === null && resume !== null && (resume as { seq: number }).seq === q) {
          st = (resume as { state: KState }).state;
          resume = null;
        }
      }
    } catch (x) {
      // A format 3 chunk read core-only whose side body does not decode, met when an event
      // of a side kind needed it (fillEvent): the events from that one to the chunk's end are a gap.
      if (!(x instanceof TraceCorruptError && x.gap && x.gap.fromSeq >= first && x.gap.fromSeq <= stop)) throw x;
      const g = x.gap;
      lose(Math.max(g.fromSeq, from), g, g.reason, g.toSeq);
      seq = g.toSeq + 1;
      if (resume !== null && (resume as { seq: number }).seq < seq) {
        st = (resume as { state: KState }).state;
        resume = null;
      }
      continue;
    }
    seq = stop + 1;
  }
  hooks.end?.(st);
  return -1;
}

/**
 * Calls visit(ev) for every event with from <= seq <= to that the trace
 * holds, in order (events in gaps are skipped; onGap, when given, hears of
 * each). The event object may be reused between calls (copy it to keep it).
 * Stops early when visit returns true; returns the seq it stopped at, or -1.
 */
export function forEachEvent(
  src: ReplaySource,
  from: number,
  to: number,
  visit: (ev: KEvent) => boolean | undefined,
  onGap?: (g: Gap) => void,
): number {
  return walk(
    src,
    from,
    to,
    {
      event: (ev) => visit(ev),
      unfolded: (u) => {
        if (u.missing) onGap?.(u.missing);
      },
    },
    { fold: false },
  );
}

export interface ScanResult {
  violation: Violation | null;
  /** Events checked: up to and including the violation, or all of them, less those in unfolded stretches. */
  scanned: number;
  /** The state after the last event scanned (after the violating event, if any); null when it is unknown. */
  state: KState;
  /** Stretches that could not be checked (damage), in order. */
  unchecked: Unfolded[];
}

/**
 * The first event that breaks one of the invariants (all of them: the
 * built-in ones and the source's own; or those named, where a name that does
 * not exist throws InvariantNameError), folding the whole source from its
 * initial state. Damage does not stop it: each stretch it cannot fold is
 * listed in `unchecked`, and checking resumes at the next usable snapshot.
 * (`ktrace check` splits this scan over threads: parallel-scan.ts.)
 */
export function firstViolation(src: ReplaySource, invariants?: readonly string[] | readonly Invariant[]): ScanResult {
  const invs =
    invariants && invariants.length > 0 && typeof invariants[0] !== "string"
      ? (invariants as readonly Invariant[])
      : selectFor(src, invariants as readonly string[] | undefined);
  const r = checkWhole(invs, (some, opts) => checkRange(src, some, 0, src.eventCount - 1, opts));
  return { violation: r.violation, scanned: r.scanned, state: finalState(src, r.last), unchecked: r.unchecked };
}

/**
 * A check of a whole run, `check(invs, opts)` (from its first event), with
 * each invariant that keeps a history (a monitor: data-race, lock-order)
 * left out until the first event it can report at (planFor): the answer is
 * the same, and a run with none of those events (stress: no memory
 * accesses) is checked without its work. When there is one, the run is
 * checked again from the start with the monitors that can report at that
 * event's kind (the events before it twice), the others still left out
 * until theirs: at most one pass more per monitor.
 */
export function checkWhole<R extends { firstWatched: number; firstWatchedKind?: number }>(
  invs: readonly Invariant[],
  check: (invs: readonly Invariant[], opts: RangeOptions) => R,
): R {
  const plan = planFor(invs);
  if (plan.reports === null || plan.split.length === invs.length) return check(invs, {});
  const off = new Set(invs.filter((i) => !splittable(i)));
  for (;;) {
    const watch = new Uint8Array(plan.reports.length);
    for (const i of off) for (const k of i.reports!) watch[k] = 1;
    const r = check(
      invs.filter((i) => !off.has(i)),
      { watch, stopAtWatched: true },
    );
    if (r.firstWatched < 0) return r;
    const kind = r.firstWatchedKind ?? -1;
    for (const i of off) if (kind < 0 || i.reports!.includes(kind)) off.delete(i);
    if (off.size === 0) return check(invs, {});
  }
}

/** What checking events from..to found: a ScanResult's parts, and the state at the end. */
export interface RangeCheck {
  /** The first violation (the walk stopped there), or null. */
  violation: Violation | null;
  /** Events checked (up to and including the violation). */
  scanned: number;
  /** The state after the last event checked (the violating one, if any); null when a stretch that could not be folded came after it, or none was checked. */
  last: KState | null;
  /** Stretches that could not be checked, in order. */
  unchecked: Unfolded[];
  /** The state after `to` when there was no violation (null: unknown there); undefined after a violation. */
  end?: KState | null;
  /** With opts.watch: the seq of the first event the walk visited whose kind is in it, or -1. */
  firstWatched: number;
  /** That event's kind, or -1. */
  firstWatchedKind: number;
}

export interface RangeOptions extends WalkOptions {
  /** The checker to run (default: a new one of the invariants): a scan cut into ranges passes one, so that invariants with a history see one run. */
  checker?: Checker;
  /** Kinds (mask by kind code) whose first occurrence to note in firstWatched. */
  watch?: ArrayLike<number>;
  /** Stop at that first occurrence (before checking it): the check is then incomplete. */
  stopAtWatched?: boolean;
}

/**
 * firstViolation over the events from..to: the walk from opts.state (the
 * state at from-1) or from the nearest usable snapshot, the invariants around
 * every event, stopping at the first violation.
 */
export function checkRange(
  src: ReplaySource,
  invs: readonly Invariant[],
  from: number,
  to: number,
  opts: RangeOptions = {},
): RangeCheck {
  const ck = opts.checker ?? new Checker(invs);
  const watch = opts.watch;
  const stopAtWatched = opts.stopAtWatched === true;
  let firstWatched = -1;
  let firstWatchedKind = -1;
  let found: Violation | null = null;
  let scanned = 0;
  let lastState: KState | null = null;
  let end: KState | null | undefined;
  const unchecked: Unfolded[] = [];
  const ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
  walk(
    src,
    from,
    to,
    {
      before: (ev, st) => {
        found = ck.before(st, ev);
      },
      event: (ev, st) => {
        if (watch !== undefined && firstWatched < 0 && watch[ev.kind] === 1) {
          firstWatched = ev.seq;
          firstWatchedKind = ev.kind;
          if (stopAtWatched) return true;
        }
        if (st === null) {
          found = null;
          return false;
        }
        scanned++;
        lastState = st;
        if (found === null) found = ck.after(st, ev);
        return found !== null;
      },
      // The same for a run of events on a known state, in one loop; the checker's quiet events are folded here.
      span: (cols, i, j, st) => {
        lastState = st;
        const first = cols.firstSeq;
        const kinds = cols.kind;
        let watching = watch !== undefined && firstWatched < 0;
        let quiet = ck.quietOn(st);
        for (let k = i; k < j; k++) {
          const kind = kinds[k]!;
          if (watching && watch![kind] === 1) {
            firstWatched = first + k;
            firstWatchedKind = kind;
            watching = false;
            if (stopAtWatched) {
              scanned += k - i;
              return k;
            }
          }
          const q = quiet[kind];
          if (q === 1) {
            // The run of quiet inert events from here (to a watched kind, at most), folded as one.
            let m = k + 1;
            while (m < j && quiet[kinds[m]!] === 1 && !(watching && watch![kinds[m]!] === 1)) m++;
            if (applyInertRun(st, first + k, first + m - 1, cols.time[m - 1]!)) {
              ck.folded += m - k;
              k = m - 1;
              continue;
            }
          }
          const e = fillEvent(cols, k, ev);
          if (q >= 2) {
            // It arms nothing, and no hook inspects it (2) or only pre-hooks do (3): those and the fold.
            const v = q === 3 ? ck.preOnly(st, e) : null;
            try {
              applyEvent(st, e);
            } catch (x) {
              scanned += k - i;
              throw foldError(x, e);
            }
            if (v !== null) {
              found = v;
              scanned += k - i + 1;
              return k;
            }
            ck.folded++;
            continue;
          }
          let v = ck.before(st, e);
          try {
            applyEvent(st, e); // foldEvent, one call less
          } catch (x) {
            scanned += k - i;
            throw foldError(x, e);
          }
          if (v === null) v = ck.after(st, e);
          if (v !== null) {
            found = v;
            scanned += k - i + 1;
            return k;
          }
          quiet = ck.quietOn(st);
        }
        scanned += j - i;
        return -1;
      },
      unfolded: (u) => {
        found = null;
        lastState = null;
        unchecked.push(u);
      },
      end: (st) => {
        end = st;
      },
    },
    opts,
  );
  return {
    violation: found as Violation | null,
    scanned,
    last: lastState as KState | null,
    unchecked,
    end,
    firstWatched,
    firstWatchedKind,
  };
}

/** A scan's state: the state after the last event checked, else the last snapshot's, else the first usable one's, else an empty one. */
export function finalState(src: ReplaySource, last: KState | null): KState {
  let state = last;
  if (state === null) {
    try {
      state = src.loadSnapshot(src.eventCount - 1).state;
    } catch (e) {
      if (!(e instanceof TraceCorruptError)) throw e;
      state = src.loadSnapshotFrom(-1)?.state ?? null;
    }
  }
  return state ?? emptyState(src);
}

/** A state with nothing in it (idle cpus), for a trace where no state is known at all. */
function emptyState(src: ReplaySource): KState {
  return initState(src.meta.config);
}

/** Seq of the first event whose kind is set in mask (indexed by kind code), or -1. */
export function firstOfKinds(src: ReplaySource, mask: ArrayLike<number>): number {
  return forEachEvent(src, 0, src.eventCount - 1, (ev) => mask[ev.kind] === 1);
}
