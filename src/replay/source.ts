// Where replay reads a run from: events in chunks, snapshots, outcome, meta.
//
// Two implementations: MemorySource (an events array and snapshots taken while
// a simulation ran; for tests and scratch work) and TraceSource (a thin
// adapter over the trace reader of src/trace). The cursor, the watchpoints and
// the first-violation search see only this interface.

import { applyEvent } from "../kernel/apply.ts";
import { simulate, type World } from "../kernel/sim.ts";
import type { InvariantDecl } from "../kernel/program.ts";
import { validateInvariants, validateWorld } from "../kernel/validate.ts";
import { INVARIANT_NAMES } from "./invariants.ts";
import { fromPlain, initState, toPlain, type PlainState } from "../kernel/state.ts";
import type { KConfig, KEvent, KState, Outcome } from "../kernel/types.ts";
import { fillEvent, openTrace, type EventColumns, type OpenOptions, type Recovery, type TraceReader } from "../trace/index.ts";

/** What a source knows about the run it holds. */
export interface SourceMeta {
  scenario: string;
  /** Fix (variant) name, "" for the buggy original. */
  fix: string;
  seed: number;
  config: KConfig;
  /** Events between two snapshots. */
  snapshotEvery: number;
  /**
   * The world the run started from (rules, declarations, programs), read from
   * the trace header and validated; null when the trace has none (written
   * before format 1.1) or it does not validate (worldError says where).
   */
  world?: World | null;
  worldError?: string | null;
  /** The scenario's own invariants, validated; invariantError says where they are bad. */
  invariants?: InvariantDecl[];
  invariantError?: string | null;
}

/**
 * A recorded run, read by seq. Seq -1 is the initial state; a "position"
 * seq means the state after event seq.
 */
export interface ReplaySource {
  readonly meta: SourceMeta;
  /** Number of events (seqs 0 .. eventCount-1). */
  readonly eventCount: number;
  /** Seqs of the snapshots, increasing; the first is -1 (the initial state). */
  readonly snapshotSeqs: readonly number[];
  /** First seq of each event chunk, increasing; chunk i holds seqs chunkFirstSeqs[i] .. chunkFirstSeqs[i+1]-1. */
  readonly chunkFirstSeqs: readonly number[];
  /** How the run ended; null when unknown (a trace recovered without its index). */
  readonly outcome: Outcome | null;
  /** Null for a complete trace; what could be recovered otherwise. */
  readonly recovery: Recovery | null;
  /** The state at the nearest snapshot with seq <= seqAtOrBefore; a fresh copy the caller owns. */
  loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState };
  /** Index of the chunk holding seq (0 <= seq < eventCount). */
  chunkOf(seq: number): number;
  /** Events of chunk i (shared, cached: do not mutate). */
  readChunk(i: number): readonly KEvent[];
  /** Decoded columns of chunk i, uncached (bulk scans); absent when the source has only event objects. */
  readColumns?(i: number): EventColumns;
  /** Decoded columns of chunk i from a small LRU (shared: do not mutate); the cursor folds from these when present. */
  columns?(i: number): EventColumns;
  /** Releases files. */
  close(): void;
}

/** Binary search: index of the last element <= x in an increasing array, -1 if none. */
export function lastAtOrBefore(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  if (hi < 0 || xs[0]! > x) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The event with this seq (a fresh object, or a shared one from an object source). Throws RangeError outside the source. */
export function eventAt(src: ReplaySource, seq: number): KEvent {
  if (!(seq >= 0 && seq < src.eventCount)) throw new RangeError(`event ${seq} outside the trace (0..${src.eventCount - 1})`);
  const i = src.chunkOf(seq);
  if (src.columns) {
    return fillEvent(src.columns(i), seq - src.chunkFirstSeqs[i]!, { seq: 0, time: 0, cpu: 0, tid: 0, kind: 0, a: 0, b: 0, c: 0, s: "" });
  }
  return src.readChunk(i)[seq - src.chunkFirstSeqs[i]!]!;
}

export interface MemorySourceOptions {
  /** Snapshot every K events (a snapshot after each event whose seq+1 is a multiple of K); default 4096. */
  snapshotEvery?: number;
  /** Events per chunk; default 4096. */
  chunkEvents?: number;
  meta?: Partial<SourceMeta>;
}

/**
 * A run held in memory: every event, and plain snapshots. Built by
 * MemorySource.record (which simulates) or from an events array (which it folds
 * to take the snapshots).
 */
export class MemorySource implements ReplaySource {
  readonly meta: SourceMeta;
  readonly eventCount: number;
  readonly snapshotSeqs: number[] = [];
  readonly chunkFirstSeqs: number[] = [];
  readonly outcome: Outcome | null;
  readonly recovery: Recovery | null = null;
  private readonly chunks: KEvent[][] = [];
  private readonly snaps: PlainState[] = [];
  private readonly chunkEvents: number;

  private constructor(config: KConfig, events: readonly KEvent[], snapshots: { seq: number; plain: PlainState }[], outcome: Outcome | null, opts: MemorySourceOptions) {
    this.chunkEvents = opts.chunkEvents ?? 4096;
    this.meta = { scenario: "", fix: "", seed: 0, config, snapshotEvery: opts.snapshotEvery ?? 4096, world: null, invariants: [], ...opts.meta };
    this.eventCount = events.length;
    for (let i = 0; i < events.length; i += this.chunkEvents) {
      this.chunkFirstSeqs.push(i);
      this.chunks.push(events.slice(i, i + this.chunkEvents));
    }
    for (const s of snapshots) {
      this.snapshotSeqs.push(s.seq);
      this.snaps.push(s.plain);
    }
    this.outcome = outcome;
  }

  /** Simulates `world` and keeps every event and a snapshot every K events. */
  static record(world: World, sim: { seed: number; maxEvents: number }, opts: MemorySourceOptions = {}): MemorySource {
    const every = opts.snapshotEvery ?? 4096;
    const events: KEvent[] = [];
    const snaps = [{ seq: -1, plain: plainCopy(initState(world.config)) }];
    const final = simulate(world, sim, (ev, st) => {
      events.push(ev);
      if ((ev.seq + 1) % every === 0) snaps.push({ seq: ev.seq, plain: plainCopy(st) });
    });
    return new MemorySource(world.config, events, snaps, final.outcome, { ...opts, snapshotEvery: every });
  }

  /** A source over given events (folded once here to take the snapshots). Throws ApplyError on a bad event. */
  static fromEvents(config: KConfig, events: readonly KEvent[], opts: MemorySourceOptions = {}): MemorySource {
    const every = opts.snapshotEvery ?? 4096;
    const st = initState(config);
    const snaps = [{ seq: -1, plain: plainCopy(st) }];
    for (const ev of events) {
      applyEvent(st, ev);
      if ((ev.seq + 1) % every === 0) snaps.push({ seq: ev.seq, plain: plainCopy(st) });
    }
    return new MemorySource(config, events, snaps, st.outcome, { ...opts, snapshotEvery: every });
  }

  loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState } {
    const i = Math.max(0, lastAtOrBefore(this.snapshotSeqs, seqAtOrBefore));
    return { seq: this.snapshotSeqs[i]!, state: fromPlain(this.snaps[i]!) };
  }

  chunkOf(seq: number): number {
    if (!(seq >= 0 && seq < this.eventCount)) throw new RangeError(`seq ${seq} outside the trace (0..${this.eventCount - 1})`);
    return Math.floor(seq / this.chunkEvents);
  }

  readChunk(i: number): readonly KEvent[] {
    const c = this.chunks[i];
    if (!c) throw new RangeError(`chunk ${i} outside 0..${this.chunks.length - 1}`);
    return c;
  }

  close(): void {}
}

/** A deep, frozen-in-time copy in plain form (toPlain shares objects with the live state). */
function plainCopy(s: KState): PlainState {
  return toPlain(fromPlain(toPlain(s)));
}

/** The trace reader seen as a ReplaySource, with an LRU of decoded columns for the cursor. */
export class TraceSource implements ReplaySource {
  readonly meta: SourceMeta;
  readonly reader: TraceReader;
  private readonly cols = new Map<number, EventColumns>();
  private readonly maxCols: number;

  constructor(reader: TraceReader, cacheColumns = 16) {
    this.reader = reader;
    this.maxCols = Math.max(1, cacheColumns);
    const m = reader.meta;
    this.meta = { scenario: m.scenario, fix: m.fix, seed: m.seed, config: m.config, snapshotEvery: m.snapshotEvery, ...worldMeta(m) };
  }

  get eventCount(): number {
    return this.reader.eventCount;
  }
  get snapshotSeqs(): readonly number[] {
    return this.reader.snapshotSeqs;
  }
  get chunkFirstSeqs(): readonly number[] {
    return this.reader.chunkFirstSeqs;
  }
  get outcome(): Outcome | null {
    return this.reader.outcome;
  }
  get recovery(): Recovery | null {
    return this.reader.recovery;
  }
  loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState } {
    return this.reader.loadSnapshot(seqAtOrBefore);
  }
  chunkOf(seq: number): number {
    return this.reader.chunkOf(seq);
  }
  readChunk(i: number): readonly KEvent[] {
    return this.reader.readChunk(i);
  }
  readColumns(i: number): EventColumns {
    return this.reader.readColumns(i);
  }
  columns(i: number): EventColumns {
    let c = this.cols.get(i);
    if (c !== undefined) {
      this.cols.delete(i);
      this.cols.set(i, c);
      return c;
    }
    c = this.reader.readColumns(i);
    this.cols.set(i, c);
    if (this.cols.size > this.maxCols) this.cols.delete(this.cols.keys().next().value!);
    return c;
  }
  close(): void {
    this.reader.close();
  }
}

/**
 * The world and invariants of a trace header, validated (bounded; a bad node
 * is named by its path). Absent keys (a trace before format 1.1) give a null
 * world and no invariants.
 */
export function worldMeta(m: { world?: unknown; invariants?: unknown }): Pick<SourceMeta, "world" | "worldError" | "invariants" | "invariantError"> {
  let world: World | null = null;
  let worldError: string | null = null;
  if (m.world !== undefined) {
    const w = m.world as World;
    worldError = typeof w === "object" && w !== null && !Array.isArray(w) ? validateWorld(w, "world.") : "world is not a map";
    if (worldError === null) world = w;
  }
  let invariants: InvariantDecl[] = [];
  let invariantError: string | null = null;
  if (m.invariants !== undefined) {
    invariantError = validateInvariants(m.invariants, { vars: world?.vars }, INVARIANT_NAMES);
    if (invariantError === null) invariants = m.invariants as InvariantDecl[];
  }
  return { world, worldError, invariants, invariantError };
}

/** Opens a trace file (or its bytes) as a ReplaySource. Throws TraceError (exitCode 2) for a bad file. */
export function openSource(input: string | Uint8Array, opts: OpenOptions = {}): TraceSource {
  return new TraceSource(openTrace(input, { cacheChunks: 4, ...opts }));
}

/** One line about a trace opened in recovery mode (for stderr), or null for a complete trace. */
export function recoveryNote(src: ReplaySource, name: string): string | null {
  const r = src.recovery;
  if (!r) return null;
  return `ktrace: note: ${name} is incomplete (${r.reason}); using the ${r.events} events recovered`;
}
