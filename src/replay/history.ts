// Invariants that need the run's history (a monitor: data-race), answered at
// any position of a recorded run.
//
// A monitor must see every event from the first, in order; the cursor moves
// in both directions and folds from snapshots, so it cannot feed one. Instead
// each such invariant gets an index of its findings by seq, made by its own
// forward walk of the source (the state folded from the initial one, damage
// stepped over, a Checker around it: what `check` does), extended as far as
// the cursor asks and kept for the source's lifetime. The cursor's Checker then sees a
// stateless invariant whose pre-hook looks the event's seq up: the same
// findings, with the same messages, as check, explore and report give.

import type { KState } from "../kernel/types.ts";
import { Checker, type Finding, type Invariant } from "./invariants.ts";
import { walk } from "./scan.ts";
import type { ReplaySource } from "./source.ts";

/** Events an index folds at least each time it is extended. */
const STRIDE = 65_536;
/** Findings kept with their message; past that, only their seqs (a finding is then found again by a scan from the start). */
const KEEP = 100_000;

/**
 * One history invariant's findings over one source, by seq, computed forward
 * as far as asked: the walk `check` does (damage stepped over, the monitor
 * started afresh after it by the Checker's own rule), in stretches.
 */
class HistoryIndex {
  /** The state after the last seq scanned; undefined before the first stretch, null when unknown (damage). */
  private st: KState | null | undefined = undefined;
  private readonly ck: Checker;
  /** Last seq scanned (-1: none). */
  private scanned = -1;
  private readonly kept = new Map<number, Finding>();
  /** Seqs of the findings past KEEP, increasing. */
  private readonly more: number[] = [];

  constructor(
    private readonly src: ReplaySource,
    private readonly inv: Invariant,
  ) {
    this.ck = new Checker([inv]);
  }

  /** The finding at event seq, or null. */
  at(seq: number): Finding | null {
    if (seq > this.scanned) this.extend(Math.min(this.src.eventCount - 1, Math.max(seq, this.scanned + STRIDE)));
    const f = this.kept.get(seq);
    if (f !== undefined) return f;
    if (this.more.length === 0 || !binaryHas(this.more, seq)) return null;
    return findAt(this.src, this.inv, seq);
  }

  private extend(to: number): void {
    scanFindings(
      this.src,
      this.ck,
      this.scanned + 1,
      to,
      this.st,
      (q, f) => {
        if (this.kept.size < KEEP) this.kept.set(q, f);
        else this.more.push(q);
      },
      (st) => (this.st = st),
    );
    this.scanned = to;
  }
}

/**
 * Walks from..to with ck around each event (from the state `st` at from-1
 * when given), calling found(seq, finding) for each event ck flags and
 * last(state) with the state after each event (null: unknown).
 */
function scanFindings(
  src: ReplaySource,
  ck: Checker,
  from: number,
  to: number,
  st: KState | null | undefined,
  found: (seq: number, f: Finding) => void,
  last: (st: KState | null) => void,
): void {
  let v: ReturnType<Checker["before"]> = null;
  walk(
    src,
    from,
    to,
    {
      before: (ev, s) => {
        v = ck.before(s, ev);
      },
      event: (ev, s) => {
        last(s);
        if (s !== null && v !== null) found(ev.seq, { message: v.message, causes: v.causes });
        v = null;
      },
      unfolded: () => {
        v = null;
      },
    },
    st === undefined ? {} : { state: st },
  );
}

/** The finding at seq, by a fresh scan from the start (for a finding past KEEP). */
function findAt(src: ReplaySource, inv: Invariant, seq: number): Finding | null {
  let out: Finding | null = null;
  scanFindings(
    src,
    new Checker([inv]),
    0,
    seq,
    undefined,
    (q, f) => {
      if (q === seq) out = f;
    },
    () => {},
  );
  return out;
}

function binaryHas(xs: readonly number[], x: number): boolean {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = xs[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

const indexes = new WeakMap<ReplaySource, Map<Invariant, Invariant>>();

/**
 * The invariants as a Checker fed from any position (the cursor's) must see
 * them: each one with a monitor replaced by a stateless one answered from its
 * index over `src` (made once per source and invariant); the others as they are.
 */
export function atAnyPosition(invs: readonly Invariant[], src: ReplaySource): Invariant[] {
  if (!invs.some((i) => i.monitor)) return [...invs];
  let bySrc = indexes.get(src);
  if (bySrc === undefined) indexes.set(src, (bySrc = new Map()));
  const m = bySrc;
  return invs.map((inv) => {
    if (!inv.monitor) return inv;
    let w = m.get(inv);
    if (w === undefined) {
      let idx: HistoryIndex | null = null;
      w = {
        name: inv.name,
        doc: inv.doc,
        kinds: inv.kinds,
        pre: (_s, ev) => (idx ??= new HistoryIndex(src, inv)).at(ev.seq),
      };
      m.set(inv, w);
    }
    return w;
  });
}
