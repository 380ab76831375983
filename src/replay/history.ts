// Invariants that need the run's history (a monitor: data-race), answered at
// any position of a recorded run.
//
// A monitor must see every event from the first, in order; the cursor moves
// in both directions and folds from snapshots, so it cannot feed one. Instead
// each such invariant gets an index of its findings by seq, made by its own
// forward scan of the source (the state folded from the initial one, the
// monitor around it: what `check` does), extended as far as the cursor asks
// and kept for the source's lifetime. The cursor's Checker then sees a
// stateless invariant whose pre-hook looks the event's seq up: the same
// findings, with the same messages, as check, explore and report give.

import { applyEvent } from "../kernel/apply.ts";
import type { KEvent, KState } from "../kernel/types.ts";
import type { Finding, Invariant, Monitor } from "./invariants.ts";
import { forEachEvent, replayError } from "./scan.ts";
import type { ReplaySource } from "./source.ts";

/** Events an index folds at least each time it is extended. */
const STRIDE = 65_536;
/** Findings kept with their message; past that, only their seqs (a finding is then found again by a scan from the start). */
const KEEP = 100_000;

/** One history invariant's findings over one source, by seq, computed forward as far as asked. */
class HistoryIndex {
  private readonly mask: Uint8Array;
  private st: KState;
  private monitor: Monitor;
  /** Last seq scanned (-1: none). */
  private scanned = -1;
  private readonly kept = new Map<number, Finding>();
  /** Seqs of the findings past KEEP, increasing. */
  private readonly more: number[] = [];

  constructor(private readonly src: ReplaySource, private readonly inv: Invariant) {
    this.mask = kindsOf(inv);
    this.st = src.loadSnapshot(-1).state;
    this.monitor = inv.monitor!();
  }

  /** The finding at event seq, or null. */
  at(seq: number): Finding | null {
    if (seq > this.scanned) this.extend(Math.min(this.src.eventCount - 1, Math.max(seq, this.scanned + STRIDE)));
    const f = this.kept.get(seq);
    if (f !== undefined) return f;
    if (this.more.length === 0 || !binaryHas(this.more, seq)) return null;
    return this.rescan(seq);
  }

  private extend(to: number): void {
    const st = this.st;
    const m = this.monitor;
    const mask = this.mask;
    try {
      forEachEvent(this.src, this.scanned + 1, to, (ev) => {
        const f = mask[ev.kind] === 1 ? m.pre(st, ev) : null;
        applyEvent(st, ev);
        if (f !== null) {
          if (this.kept.size < KEEP) this.kept.set(ev.seq, f);
          else this.more.push(ev.seq);
        }
      });
    } catch (e) {
      throw replayError(e);
    }
    this.scanned = to;
  }

  /** The finding at seq, by a fresh scan from the start (for a finding past KEEP). */
  private rescan(seq: number): Finding | null {
    const st = this.src.loadSnapshot(-1).state;
    const m = this.inv.monitor!();
    let found: Finding | null = null;
    try {
      forEachEvent(this.src, 0, seq, (ev: KEvent) => {
        const f = this.mask[ev.kind] === 1 ? m.pre(st, ev) : null;
        if (ev.seq === seq) found = f;
        applyEvent(st, ev);
      });
    } catch (e) {
      throw replayError(e);
    }
    return found;
  }
}

function kindsOf(inv: Invariant): Uint8Array {
  const m = new Uint8Array(256);
  if (inv.kinds === null) m.fill(1);
  else for (const k of inv.kinds) if (k >= 0 && k < m.length) m[k] = 1;
  return m;
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
      w = { name: inv.name, doc: inv.doc, kinds: inv.kinds, pre: (_s, ev) => (idx ??= new HistoryIndex(src, inv)).at(ev.seq) };
      m.set(inv, w);
    }
    return w;
  });
}
