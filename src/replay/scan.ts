// Whole-trace scans: the first invariant violation, the first event of some kinds.
//
// A scan folds every event from the initial state, with the invariants' hooks
// around applyEvent. It reads decoded columns (no event objects) when the
// source has them and fills one reused event record, so it runs at the speed
// of the reducer.

import { ApplyError, applyEvent } from "../kernel/apply.ts";
import type { KEvent, KState } from "../kernel/types.ts";
import { Checker, invariantsOf, selectInvariants, type Invariant, type Violation } from "./invariants.ts";
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
    return new ReplayError(e.seq, `the trace does not replay: ${e.message} (the file is damaged or was written by an incompatible ktrace)`);
  }
  return e;
}

/**
 * Calls visit(ev) for every event with from <= seq <= to, in order, from the
 * source's chunks. The event object may be reused between calls (copy it to
 * keep it). Stops early when visit returns true; returns the seq it stopped at,
 * or -1.
 */
export function forEachEvent(src: ReplaySource, from: number, to: number, visit: (ev: KEvent) => boolean | void): number {
  const last = Math.min(to, src.eventCount - 1);
  if (from > last) return -1;
  const ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
  for (let ci = src.chunkOf(Math.max(0, from)); ci < src.chunkFirstSeqs.length; ci++) {
    const first = src.chunkFirstSeqs[ci]!;
    if (first > last) break;
    if (src.readColumns) {
      const c = src.readColumns(ci);
      const lo = Math.max(from - first, 0);
      const hi = Math.min(last - first, c.n - 1);
      const { kind, cpu, tid, time, a, b, c: cc, sIdx, strings } = c;
      for (let j = lo; j <= hi; j++) {
        ev.seq = first + j;
        ev.time = time[j]!;
        ev.cpu = cpu[j]!;
        ev.tid = tid[j]!;
        ev.kind = kind[j]!;
        ev.a = a[j]!;
        ev.b = b[j]!;
        ev.c = cc[j]!;
        ev.s = strings[sIdx[j]!]!;
        if (visit(ev) === true) return ev.seq;
      }
    } else {
      const evs = src.readChunk(ci);
      const lo = Math.max(from - first, 0);
      const hi = Math.min(last - first, evs.length - 1);
      for (let j = lo; j <= hi; j++) if (visit(evs[j]!) === true) return first + j;
    }
  }
  return -1;
}

export interface ScanResult {
  violation: Violation | null;
  /** Events looked at: up to and including the violation, or all of them. */
  scanned: number;
  /** The state after the last event scanned (after the violating event, if any). */
  state: KState;
}

/**
 * The first event that breaks one of the invariants (all of them: the
 * built-in ones and the source's own; or those named, where a name that does
 * not exist throws InvariantNameError), folding the whole source from its
 * initial state.
 */
export function firstViolation(src: ReplaySource, invariants?: readonly string[] | readonly Invariant[]): ScanResult {
  const invs = invariants && invariants.length > 0 && typeof invariants[0] !== "string"
    ? (invariants as readonly Invariant[])
    : selectInvariants(invariants as readonly string[] | undefined, invariantsOf(src));
  const ck = new Checker(invs);
  const st = src.loadSnapshot(-1).state;
  let found: Violation | null = null;
  try {
    forEachEvent(src, 0, src.eventCount - 1, (ev) => {
      found = ck.before(st, ev);
      applyEvent(st, ev);
      if (found === null) found = ck.after(st, ev);
      return found !== null;
    });
  } catch (e) {
    throw replayError(e);
  }
  const v = found as Violation | null;
  return { violation: v, scanned: v ? v.seq + 1 : src.eventCount, state: st };
}

/** Seq of the first event whose kind is set in mask (indexed by kind code), or -1. */
export function firstOfKinds(src: ReplaySource, mask: ArrayLike<number>): number {
  return forEachEvent(src, 0, src.eventCount - 1, (ev) => mask[ev.kind] === 1);
}
