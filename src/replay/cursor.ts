// The replay cursor: a position in a recorded run and the kernel state there.
//
// Position seq means "the state after event seq"; -1 is the initial state.
// Every move is "nearest known state at or before the target, then fold
// forward": known states are the trace's snapshots (every K events), the
// cursor's own position, and in-memory checkpoints the cursor clones every
// `checkpointEvery` events while it folds (an LRU), so stepping backwards
// folds at most checkpointEvery - 1 events.

import { applyInert, INERT_KINDS } from "../kernel/apply.ts";
import { cloneState } from "../kernel/state.ts";
import { type KEvent, KIND, type KState } from "../kernel/types.ts";
import { TraceCorruptError } from "../trace/errors.ts";
import { fillEvent } from "../trace/event-codec.ts";
import { atAnyPosition } from "./history.ts";
import { Checker, type Invariant, invariantsOf, type Violation } from "./invariants.ts";
import { firstOfKinds, firstViolation, foldEvent, ReplayError, type Unfolded, unfoldedText } from "./scan.ts";
import { eventAt, lastAtOrBefore, type ReplaySource } from "./source.ts";
import { SKIP, type WatchHit, type Watchpoint } from "./watch.ts";
import { type ObjectRef, type WhyEntry, why } from "./why.ts";

/** Where to go: an event number, or a named point. */
export type SeekTarget = number | "start" | "end" | "panic" | "violation";

/** A named point the trace does not have (`--at panic` on a clean run). exitCode 2. */
export class NoSuchPointError extends Error {
  readonly exitCode = 2;
}

/**
 * The state asked for cannot be known: the trace is damaged between the
 * nearest usable snapshot and the target (events missing, or not applying).
 * exitCode 2. The cursor stays where it was.
 */
export class StateUnknownError extends ReplayError {
  /** The seq whose state was asked for. */
  readonly target: number;
  readonly unfolded: Unfolded;
  constructor(target: number, u: Unfolded) {
    super(target, `the state at seq ${target} is unknown: ${unfoldedText(u)}`);
    this.target = target;
    this.unfolded = u;
  }
}

export interface CursorOptions {
  /** Clone a checkpoint every this many events while folding; default 256. */
  checkpointEvery?: number;
  /** Checkpoints kept (LRU); default 512. */
  maxCheckpoints?: number;
  /** Invariants continue / reverseContinue stop on, and seek("violation") looks for; default all (built-in and the source's own). */
  invariants?: readonly Invariant[];
}

/** Why continue / reverseContinue stopped. */
export interface Stop {
  /** hit: a watchpoint hit or an invariant broke at `seq`; end / start: ran off the trace. */
  reason: "hit" | "end" | "start";
  /** The cursor's position now. */
  seq: number;
  hits: WatchHit[];
  violation: Violation | null;
}

interface Found {
  seq: number;
  hits: WatchHit[];
  violation: Violation | null;
}

/** Objects checkpoints may hold in all: with a few hundred each, maxCheckpoints of them; with a leak's 100,000, a handful. */
const CHECKPOINT_OBJECTS = 2_000_000;

/** A state's objects (processes, threads, locks, variables, heap objects, kernel stacks, pipes): what cloning it costs. */
function stateObjects(s: KState): number {
  return s.procs.size + s.threads.size + s.locks.size + s.vars.size + s.objs.size + s.kstacks.size + s.pipes.size;
}

export class Cursor {
  readonly source: ReplaySource;
  /** Active watchpoints (add or remove freely between moves). */
  readonly watchpoints: Watchpoint[] = [];
  private invs: readonly Invariant[];
  private checker: Checker;
  private st: KState;
  private readonly every: number;
  private readonly maxCps: number;
  private readonly cps = new Map<number, KState>();
  /** The objects the checkpoints hold (stateObjects), for their bound. */
  private cpObjects = 0;
  private violationCache: { invs: readonly Invariant[]; v: Violation | null } | null = null;
  /** The event record folds from columns reuse. */
  private readonly scratch: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };

  constructor(source: ReplaySource, opts: CursorOptions = {}) {
    this.source = source;
    this.every = Math.max(1, opts.checkpointEvery ?? 256);
    this.maxCps = Math.max(1, opts.maxCheckpoints ?? 512);
    this.invs = opts.invariants ?? invariantsOf(source);
    this.checker = new Checker(atAnyPosition(this.invs, source));
    this.st = this.firstState();
  }

  /** The initial state, or when it is lost, the first usable snapshot's. */
  private firstState(): KState {
    try {
      return this.source.loadSnapshot(-1).state;
    } catch (e) {
      if (!(e instanceof TraceCorruptError)) throw e;
      const s = this.source.loadSnapshotFrom(-1);
      if (s === null) throw e;
      return s.state;
    }
  }

  /** Current position: the state is the state after this event (-1: the initial state). */
  get seq(): number {
    return this.st.seq;
  }

  /**
   * The kernel state at the current position. Owned by the cursor and changed
   * in place by the next move: read it, or cloneState() it to keep it.
   */
  get state(): KState {
    return this.st;
  }

  /** Last position: the last event's seq (-1 for an empty trace). */
  get end(): number {
    return this.source.eventCount - 1;
  }

  /** The event at the current position (the one just applied), null at the start. */
  get event(): KEvent | null {
    return this.st.seq < 0 ? null : eventAt(this.source, this.st.seq);
  }

  /** The event with this seq. */
  eventAt(seq: number): KEvent {
    return eventAt(this.source, seq);
  }

  get invariants(): readonly Invariant[] {
    return this.invs;
  }
  set invariants(invs: readonly Invariant[]) {
    this.invs = invs;
    this.checker = new Checker(atAnyPosition(invs, this.source));
  }

  /** The first violation of the cursor's invariants in the whole trace (computed once). */
  firstViolation(): Violation | null {
    if (this.violationCache?.invs !== this.invs) {
      this.violationCache = {
        invs: this.invs,
        v: this.invs.length ? firstViolation(this.source, this.invs).violation : null,
      };
    }
    return this.violationCache.v;
  }

  /**
   * The seq a target names. `panic` is the event that decided a failed run
   * (its panic, fatal error or hang); `violation` the first invariant
   * violation. Throws NoSuchPointError when the trace has none, or for a
   * number outside -1..end.
   */
  resolve(target: SeekTarget): number {
    switch (target) {
      case "start":
        return -1;
      case "end":
        return this.end;
      case "panic": {
        const o = this.source.outcome;
        if (o && (o.kind === "panic" || o.kind === "fatal" || o.kind === "hang") && o.seq < this.source.eventCount)
          return o.seq;
        if (!o || this.source.recovery) {
          const m = new Uint8Array(64);
          m[KIND.panic] = m[KIND.fatal] = m[KIND.hang] = 1;
          const seq = firstOfKinds(this.source, m);
          if (seq >= 0) return seq;
        }
        throw new NoSuchPointError(`the trace has no panic, fatal error or hang (outcome: ${o ? o.kind : "unknown"})`);
      }
      case "violation": {
        const v = this.firstViolation();
        if (!v)
          throw new NoSuchPointError(
            `the trace has no invariant violation (checked: ${this.invs.map((i) => i.name).join(", ") || "none"})`,
          );
        return v.seq;
      }
      default:
        if (!Number.isInteger(target) || target < -1 || target > this.end) {
          throw new NoSuchPointError(
            `event ${target} is outside the trace (0..${this.end}; -1 or start is the initial state)`,
          );
        }
        return target;
    }
  }

  /** Moves to the target (see resolve) and returns the new position. */
  seek(target: SeekTarget): number {
    const to = this.resolve(target);
    // A jump keeps no checkpoint: a clone per jump was a fifth of a random
    // seek's allocation, and every one lived on in the LRU, so the young
    // collections came every ~375 seeks and each slowed ~3 seeks several-fold
    // (the random seek's p99; docs/BENCHMARKS.md, "Phase 10"). The first step
    // back after a jump folds again from the snapshot and keeps that interval's
    // checkpoints (see stepBack).
    this.moveTo(to, 0);
    return to;
  }

  private moveTo(to: number, window: number): void {
    if (to === this.st.seq) return;
    this.restoreBase(to);
    this.fold(to, window);
  }

  /** Applies the next event and returns it; null at the end. */
  step(): KEvent | null {
    if (this.st.seq >= this.end) return null;
    this.fold(this.st.seq + 1, this.every);
    return this.event;
  }

  /** Moves back one event; false at the start. */
  stepBack(): boolean {
    if (this.st.seq < 0) return false;
    // Going backwards, keep every checkpoint of the interval folded: the next
    // steps back then fold at most checkpointEvery - 1 events.
    this.moveTo(this.st.seq - 1, this.every * this.maxCps);
    return true;
  }

  /**
   * Runs forward from the next event until a watchpoint hits or an invariant
   * breaks; stops at that event (or the end).
   */
  continue(): Stop {
    const from = this.st.seq + 1;
    const f = from <= this.end ? this.scan(this.end, true) : null;
    if (f) return { reason: "hit", seq: f.seq, hits: f.hits, violation: f.violation };
    return { reason: "end", seq: this.st.seq, hits: [], violation: null };
  }

  /**
   * Runs backwards to the latest event before the current one at which a
   * watchpoint hits or an invariant breaks, and stops there (the state after
   * that event); at the start if there is none. Repeating it walks back
   * through the hits.
   */
  reverseContinue(): Stop {
    let hi = this.st.seq - 1;
    while (hi >= 0) {
      const snaps = this.source.snapshotSeqs;
      const base = snaps[Math.max(0, lastAtOrBefore(snaps, hi - 1))]!;
      const lo = Math.min(base, hi - 1);
      this.seek(lo);
      const f = this.scan(hi, false);
      if (f) {
        this.seek(f.seq);
        return { reason: "hit", seq: f.seq, hits: f.hits, violation: f.violation };
      }
      hi = lo;
    }
    this.seek(-1);
    return { reason: "start", seq: -1, hits: [], violation: null };
  }

  /** Why an object is as it is now: the events that set it up, with explanations. */
  why(ref: ObjectRef | string): WhyEntry[] {
    return why(this.st, ref, this.source);
  }

  // ---- internals ---------------------------------------------------------------

  /** Puts the nearest known state at or before `to` in this.st. */
  private restoreBase(to: number): void {
    const cur = this.st.seq <= to ? this.st.seq : -2;
    const snapIdx = lastAtOrBefore(this.source.snapshotSeqs, to);
    const snap = snapIdx >= 0 ? this.source.snapshotSeqs[snapIdx]! : -1;
    // The latest checkpoint in (cur, to] at or after the snapshot. Walk down from
    // `to` in steps of checkpointEvery, or over the checkpoints held when they
    // are fewer (the distance from a snapshot is unbounded in a damaged trace).
    let cp = -2;
    const steps = (to - Math.max(cur, snap)) / this.every;
    if (steps <= this.cps.size) {
      for (
        let a = Math.floor((to + 1) / this.every) * this.every - 1;
        a > cur && a >= snap && a >= 0;
        a -= this.every
      ) {
        if (this.cps.has(a)) {
          cp = a;
          break;
        }
      }
    } else {
      for (const a of this.cps.keys()) if (a <= to && a > cur && a >= snap && a > cp) cp = a;
    }
    if (cur >= cp && cur >= snap) return;
    if (cp >= snap) {
      const s = this.cps.get(cp)!;
      this.cps.delete(cp);
      this.cps.set(cp, s);
      this.st = cloneState(s);
    } else {
      this.st = this.snapshotFor(to);
    }
  }

  /** The nearest usable snapshot's state at or before `to`; StateUnknownError when there is none. */
  private snapshotFor(to: number): KState {
    try {
      return this.source.loadSnapshot(to).state;
    } catch (e) {
      if (!(e instanceof TraceCorruptError)) throw e;
      const next = this.source.loadSnapshotFrom(to);
      throw new StateUnknownError(to, {
        fromSeq: -1,
        knownAfter: next ? next.seq : null,
        missing: null,
        reason: e.detail,
      });
    }
  }

  private saveCheckpoint(seq: number): void {
    if (this.cps.has(seq)) return;
    this.cps.set(seq, cloneState(this.st));
    this.cpObjects += stateObjects(this.st);
    // At most maxCheckpoints of them, holding at most CHECKPOINT_OBJECTS objects in all (the oldest go first).
    while (this.cps.size > this.maxCps || (this.cps.size > 1 && this.cpObjects > CHECKPOINT_OBJECTS)) {
      const [k, old] = this.cps.entries().next().value!;
      this.cps.delete(k);
      this.cpObjects -= stateObjects(old);
    }
  }

  /**
   * Calls visit(ev) for events this.seq+1 .. to in order, from decoded columns
   * (one reused event object) or the source's event objects. visit must apply
   * the event to this.st; it returns true to stop after it. With `inert`, an
   * event of INERT_KINDS read from columns is folded here (applyInert: its
   * fold only moves the seq and time; two thirds of `stress`) without an
   * event record, and inert(seq) is called instead of visit.
   */
  private each(to: number, visit: (ev: KEvent) => boolean, inert?: (seq: number) => void): void {
    const src = this.source;
    const st = this.st;
    const ev = this.scratch;
    const start = st.seq;
    try {
      while (st.seq < to) {
        const from = st.seq + 1;
        const ci = src.chunkOf(from);
        const first = src.chunkFirstSeqs[ci]!;
        if (src.columns) {
          // Only as far as the target (a seek's fold stops mid-chunk): columnsTo may decode just that.
          const cols = src.columnsTo ? src.columnsTo(ci, to - first + 1) : src.columns(ci);
          const stop = Math.min(to, first + cols.n - 1);
          if (inert) {
            const kinds = cols.kind;
            const times = cols.time;
            for (let q = from; q <= stop; q++) {
              const i = q - first;
              if (INERT_KINDS[kinds[i]!] === 1 && applyInert(st, q, times[i]!)) inert(q);
              else if (visit(fillEvent(cols, i, ev))) return;
            }
          } else for (let q = from; q <= stop; q++) if (visit(fillEvent(cols, q - first, ev))) return;
        } else {
          const evs = src.readChunk(ci);
          const stop = Math.min(to, first + evs.length - 1);
          for (let q = from; q <= stop; q++) if (visit(evs[q - first]!)) return;
        }
      }
    } catch (e) {
      // The fold stopped part-way: go back to a clean state, and say why.
      const failed = this.st.seq + 1;
      const err = this.unknown(to, failed, e);
      this.st = this.firstState();
      this.cps.clear();
      this.cpObjects = 0;
      // Damage: back to where the move started (the cursor was there, so it is
      // reachable), as StateUnknownError promises.
      if (err instanceof StateUnknownError && start >= 0) {
        try {
          this.moveTo(start, this.every);
        } catch {
          // Stays at the first state.
        }
      }
      throw err;
    }
  }

  /** The error for a fold towards `to` that failed at seq `at` with e. */
  private unknown(to: number, at: number, e: unknown): unknown {
    if (e instanceof TraceCorruptError && e.gap) {
      const next = this.source.loadSnapshotFrom(e.gap.toSeq);
      return new StateUnknownError(to, {
        fromSeq: e.gap.fromSeq,
        knownAfter: next ? next.seq : null,
        missing: e.gap,
        reason: e.gap.reason,
      });
    }
    if (e instanceof ReplayError) {
      const next = this.source.loadSnapshotFrom(at);
      return new StateUnknownError(to, {
        fromSeq: at,
        knownAfter: next ? next.seq : null,
        missing: null,
        reason: e.message.replace(/^the trace does not replay: /, ""),
      });
    }
    return e;
  }

  /**
   * Folds this.st forward to `to`, saving the checkpoints within `window`
   * events of it. A checkpoint is a clone of the state, which costs about its
   * objects (processes, threads, locks, ...); so one is taken only at least
   * that many events after the last one this fold took: with a large state
   * (a leak of thousands of processes) checkpoints thin out, and cloning never
   * costs more than the folding between them (every checkpointEvery-th event
   * on a state of a few hundred objects, as before).
   */
  private fold(to: number, window: number): void {
    const st = this.st;
    const every = this.every;
    let last = Number.NEGATIVE_INFINITY;
    const kept = (q: number) => {
      if ((q + 1) % every === 0 && to - q < window && q - last >= stateObjects(st)) {
        this.saveCheckpoint(q);
        last = q;
      }
    };
    this.each(
      to,
      (ev) => {
        foldEvent(st, ev);
        kept(ev.seq);
        return false;
      },
      kept,
    );
  }

  /**
   * Folds this.seq + 1 .. to with the invariants and watchpoints around each
   * event. first: stop after the first event that hits, leaving the state
   * there. Otherwise scan all and return the last hit (the state ends at `to`).
   */
  private scan(to: number, first: boolean): Found | null {
    const st = this.st;
    const ck = this.checker;
    const ws = this.watchpoints;
    const toks: unknown[] = new Array(ws.length);
    let last: Found | null = null;
    this.each(to, (ev) => {
      let v = ck.before(st, ev);
      for (let i = 0; i < ws.length; i++) {
        const w = ws[i]!;
        toks[i] = w.kinds === null || w.kinds[ev.kind] ? w.before(st, ev) : SKIP;
      }
      foldEvent(st, ev);
      if (v === null) v = ck.after(st, ev);
      let hits: WatchHit[] | null = null;
      for (let i = 0; i < ws.length; i++) {
        if (toks[i] === SKIP) continue;
        const h = ws[i]!.after(st, ev, toks[i]);
        if (h) (hits ??= []).push(h);
      }
      const q = ev.seq;
      if ((q + 1) % this.every === 0) this.saveCheckpoint(q);
      if (v !== null || hits !== null) {
        last = { seq: q, hits: hits ?? [], violation: v };
        if (first) return true;
      }
      return false;
    });
    return last;
  }
}
