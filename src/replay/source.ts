// Where replay reads a run from: events in chunks, snapshots, outcome, meta.
//
// Two implementations: MemorySource (an events array and snapshots taken while
// a simulation ran; for tests and scratch work) and TraceSource (a thin
// adapter over the trace reader of src/trace). The cursor, the watchpoints and
// the first-violation search see only this interface. displaySafe() wraps
// either so that every string in it is safe to show (src/util/safe-text.ts).
//
// A damaged trace has gaps: seq ranges whose events are missing (`gaps`,
// growing as damaged chunks are found; reading one throws TraceCorruptError
// with its gap). Replay steps over them: scan.ts's walk() resumes folding at
// the next usable snapshot (loadSnapshotFrom).

import { applyEvent } from "../kernel/apply.ts";
import type { InvariantDecl } from "../kernel/program.ts";
import { simulate, type World } from "../kernel/sim.ts";
import { fromPlain, initState, type PlainState, toPlain } from "../kernel/state.ts";
import type { KConfig, KEvent, KState, Outcome } from "../kernel/types.ts";
import { validateInvariants, validateWorld } from "../kernel/validate.ts";
// The trace layer's reading modules, not its index.ts (which loads the writer too).
import { type Gap, TraceCorruptError } from "../trace/errors.ts";
import { type EventColumns, fillEvent, Scratch } from "../trace/event-codec.ts";
import type { ImportedMeta } from "../trace/format.ts";
import { type OpenOptions, openTrace, type Recovery, type TraceReader } from "../trace/reader.ts";
import { hasUnsafe, safeText } from "../util/safe-text.ts";
import { INVARIANT_NAMES } from "./invariants.ts";
import { WrappedSource } from "./wrapped-source.ts";

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
  /** The program that wrote the trace (e.g. "ktrace 0.1.0"), when the source is a file. */
  writer?: string;
  /** Where an imported trace came from (ktrace import); null or absent for a recorded run. */
  imported?: ImportedMeta | null;
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
  /**
   * Seq ranges whose events are missing (a damaged trace), increasing: those
   * known so far (a trace source finds a damaged chunk when it reads it).
   */
  readonly gaps: readonly Gap[];
  /**
   * The state at the nearest usable snapshot with seq <= seqAtOrBefore; a
   * fresh copy the caller owns. Throws TraceCorruptError when there is none.
   */
  loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState };
  /** The state at the first usable snapshot with seq >= seqAtOrAfter (fresh copy), or null: where folding resumes after a gap. */
  loadSnapshotFrom(seqAtOrAfter: number): { seq: number; state: KState } | null;
  /** Index of the chunk holding seq (0 <= seq < eventCount). */
  chunkOf(seq: number): number;
  /** Events of chunk i (shared, cached: do not mutate). */
  readChunk(i: number): readonly KEvent[];
  /**
   * Decoded columns of chunk i, uncached, for bulk scans: they may be decoded
   * into buffers the source reuses, so they are valid until the next
   * readColumns call (read them, then move on). Absent when the source has
   * only event objects. In a format 3 trace the side kinds' cpu, tid, a, b,
   * c, s may wait for the side body (EventColumns.pending): read an event's
   * fields through fillEvent, or call needSide before reading those columns.
   */
  readColumns?(i: number): EventColumns;
  /**
   * Decoded columns of chunk i from a small LRU (shared: do not mutate); the
   * cursor folds from these when present. Valid while cached: an entry's
   * buffers are reused once it is evicted, so use them before asking for
   * many other chunks.
   */
  columns?(i: number): EventColumns;
  /**
   * As columns(i), but the columns may hold only the chunk's first `need`
   * events (cols.n >= need): for a fold that stops there (a seek folds to
   * the middle of a chunk on average). Same caching; a later columns(i), or
   * a columnsTo(i) past what is held, decodes the chunk whole.
   */
  columnsTo?(i: number, need: number): EventColumns;
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
  if (!(seq >= 0 && seq < src.eventCount))
    throw new RangeError(`event ${seq} outside the trace (0..${src.eventCount - 1})`);
  const i = src.chunkOf(seq);
  if (src.columns) {
    const at = seq - src.chunkFirstSeqs[i]!;
    return fillEvent(src.columnsTo ? src.columnsTo(i, at + 1) : src.columns(i), at, {
      seq: 0,
      time: 0,
      cpu: 0,
      tid: 0,
      kind: 0,
      a: 0,
      b: 0,
      c: 0,
      s: "",
    });
  }
  return src.readChunk(i)[seq - src.chunkFirstSeqs[i]!]!;
}

/** The event with this seq, or null when it is in a gap of a damaged trace. */
export function eventOrNull(src: ReplaySource, seq: number): KEvent | null {
  try {
    return eventAt(src, seq);
  } catch (e) {
    if (e instanceof TraceCorruptError && e.gap) return null;
    throw e;
  }
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
  readonly gaps: readonly Gap[] = [];
  private readonly chunks: KEvent[][] = [];
  private readonly snaps: PlainState[] = [];
  private readonly chunkEvents: number;

  private constructor(
    config: KConfig,
    events: readonly KEvent[],
    snapshots: { seq: number; plain: PlainState }[],
    outcome: Outcome | null,
    opts: MemorySourceOptions,
  ) {
    this.chunkEvents = opts.chunkEvents ?? 4096;
    this.meta = {
      scenario: "",
      fix: "",
      seed: 0,
      config,
      snapshotEvery: opts.snapshotEvery ?? 4096,
      world: null,
      invariants: [],
      ...opts.meta,
    };
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

  loadSnapshotFrom(seqAtOrAfter: number): { seq: number; state: KState } | null {
    const i = lastAtOrBefore(this.snapshotSeqs, seqAtOrAfter - 1) + 1;
    return i < this.snaps.length ? { seq: this.snapshotSeqs[i]!, state: fromPlain(this.snaps[i]!) } : null;
  }

  chunkOf(seq: number): number {
    if (!(seq >= 0 && seq < this.eventCount))
      throw new RangeError(`seq ${seq} outside the trace (0..${this.eventCount - 1})`);
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

/**
 * The trace reader seen as a ReplaySource, with an LRU of decoded columns for
 * the cursor (bounded in entries and bytes). Decoding allocates no columns:
 * bulk scans decode into one reused Scratch, and the LRU decodes into the
 * buffers of the entry it evicts (a seek then makes little garbage, so the
 * collector rarely interrupts one: docs/BENCHMARKS.md).
 */
export class TraceSource implements ReplaySource {
  readonly meta: SourceMeta;
  readonly reader: TraceReader;
  /** Decoded columns by chunk; `c` may be a prefix of the chunk (columnsTo). */
  private readonly cols = new Map<number, { c: EventColumns; sc: Scratch; w: number }>();
  private colsWeight = 0;
  private readonly maxCols: number;
  /** Buffers of evicted entries, for the next miss. */
  private readonly spare: Scratch[] = [];
  /** readColumns' buffers. */
  private readonly scan = new Scratch();

  constructor(reader: TraceReader, cacheColumns = 16) {
    this.reader = reader;
    this.maxCols = Math.max(1, cacheColumns);
    // The first entry's buffers (~300 KB for 4,096-event chunks) are made now, as the
    // reader makes its read and inflate buffers when it opens: the first seek then
    // allocates little, and a collection is rarely due in it (docs/BENCHMARKS.md).
    this.spare.push(new Scratch(Math.min(reader.meta.chunkEvents, reader.eventCount)));
    const m = reader.meta;
    this.meta = {
      scenario: m.scenario,
      fix: m.fix,
      seed: m.seed,
      config: m.config,
      snapshotEvery: m.snapshotEvery,
      writer: m.writer,
      ...worldMeta(m),
      imported: m.imported ?? null,
    };
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
  /** The file's format version, "major.minor". */
  get formatVersion(): string {
    return this.reader.formatVersion;
  }
  get recovery(): Recovery | null {
    return this.reader.recovery;
  }
  get gaps(): readonly Gap[] {
    return this.reader.gaps;
  }
  loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState } {
    return this.reader.loadSnapshot(seqAtOrBefore);
  }
  loadSnapshotFrom(seqAtOrAfter: number): { seq: number; state: KState } | null {
    return this.reader.loadSnapshotFrom(seqAtOrAfter);
  }
  chunkOf(seq: number): number {
    return this.reader.chunkOf(seq);
  }
  readChunk(i: number): readonly KEvent[] {
    return this.reader.readChunk(i);
  }
  /** For scans: a format 3 trace's core only, its side kinds' fields filled when read (TraceReader.readCore). */
  readColumns(i: number): EventColumns {
    return this.reader.readCore(i, this.scan);
  }
  columns(i: number): EventColumns {
    return this.columnsTo(i, Number.POSITIVE_INFINITY);
  }
  columnsTo(i: number, need: number): EventColumns {
    const hit = this.cols.get(i);
    if (hit !== undefined) {
      this.cols.delete(i);
      this.cols.set(i, hit);
      if (hit.c.n >= need || hit.c.n === this.reader.chunkCounts[i]) return hit.c;
      // A prefix, and more is wanted: the whole chunk, into the same buffers.
      this.cols.delete(i);
      this.colsWeight -= hit.w;
      this.spare.push(hit.sc);
    }
    const sc = this.spare.pop() ?? new Scratch(this.reader.meta.chunkEvents);
    let c: EventColumns;
    try {
      // A prefix only on a miss: a fold that goes on past it (steps forward) then decodes the chunk once more, whole.
      c = hit === undefined && need < PREFIX_LIMIT ? this.reader.readCoreTo(i, need, sc) : this.reader.readCore(i, sc);
    } catch (e) {
      this.spare.push(sc);
      throw e;
    }
    const w = sc.bytes + c.strings.reduce((s, x) => s + 2 * x.length, 0);
    this.cols.set(i, { c, sc, w });
    this.colsWeight += w;
    while (this.cols.size > 1 && (this.cols.size > this.maxCols || this.colsWeight > MAX_COLUMNS_BYTES)) {
      const k = this.cols.keys().next().value!;
      const old = this.cols.get(k)!;
      this.colsWeight -= old.w;
      this.cols.delete(k);
      if (this.spare.length < 2) this.spare.push(old.sc);
    }
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
export function worldMeta(m: {
  world?: unknown;
  invariants?: unknown;
}): Pick<SourceMeta, "world" | "worldError" | "invariants" | "invariantError"> {
  let world: World | null = null;
  let worldError: string | null = null;
  if (m.world !== undefined) {
    const w = m.world as World;
    worldError =
      typeof w === "object" && w !== null && !Array.isArray(w) ? validateWorld(w, "world.") : "world is not a map";
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

/**
 * columnsTo decodes a prefix for a need below this; past it (a fold to the
 * end of a chunk), checking the rest costs about what decoding it does.
 */
const PREFIX_LIMIT = 3584;

/** Most bytes of decoded columns a TraceSource keeps (about 140 chunks of 4096 events; fewer when chunks are large). */
const MAX_COLUMNS_BYTES = 32 << 20;

/**
 * The same run with every string safe to show on a terminal or in the TUI
 * (safeText): the scenario and fix names, the outcome message, the events'
 * strings and the names in states. For human-readable output only: `--json`
 * and exports read the source itself, whose strings are exact. Costs nothing
 * for a trace whose strings are all plain (the same objects are returned).
 */
export function displaySafe(src: ReplaySource): ReplaySource {
  return new SafeTextSource(src);
}

function safeColumns(c: EventColumns): EventColumns {
  return c.strings.some(hasUnsafe) ? { ...c, strings: c.strings.map(safeText) } : c;
}

/** Escapes the names in a state the caller owns, in place. */
function safeState<T extends { state: KState }>(x: T): T {
  const s = x.state;
  for (const p of s.procs.values()) p.name = safeText(p.name);
  for (const t of s.threads.values()) if (t.comm !== undefined) t.comm = safeText(t.comm);
  for (const c of s.cpus) if (c.ctx) for (const x of c.ctx) x.name = safeText(x.name);
  for (const l of s.locks.values()) l.name = safeText(l.name);
  for (const v of s.vars.values()) v.name = safeText(v.name);
  for (const o of s.objs.values()) o.name = safeText(o.name);
  for (const t of s.threads.values())
    if (t.regs && [...t.regs.keys()].some(hasUnsafe)) t.regs = new Map([...t.regs].map(([k, v]) => [safeText(k), v]));
  if ([...s.regTypes.keys()].some(hasUnsafe)) s.regTypes = new Map([...s.regTypes].map(([k, v]) => [safeText(k), v]));
  if (s.outcome) s.outcome.message = safeText(s.outcome.message);
  return x;
}

class SafeTextSource extends WrappedSource {
  readonly meta: SourceMeta;
  readonly outcome: Outcome | null;
  readColumns?: (i: number) => EventColumns;
  columns?: (i: number) => EventColumns;
  columnsTo?: (i: number, need: number) => EventColumns;
  private readonly chunkCache = new WeakMap<readonly KEvent[], readonly KEvent[]>();

  constructor(src: ReplaySource) {
    super(src);
    const m = src.meta;
    this.meta = {
      ...m,
      scenario: safeText(m.scenario),
      fix: safeText(m.fix),
      ...(m.imported
        ? {
            imported: {
              ...m.imported,
              file: safeText(m.imported.file),
              clock: m.imported.clock && { ...m.imported.clock, origin: safeText(m.imported.clock.origin) },
            },
          }
        : {}),
      // The scenario's own invariants name themselves and word their messages: user text too.
      invariants: m.invariants?.map((d) =>
        hasUnsafe(d.name) || hasUnsafe(d.message) ? { ...d, name: safeText(d.name), message: safeText(d.message) } : d,
      ),
    };
    const o = src.outcome;
    this.outcome = o ? { ...o, message: safeText(o.message) } : null;
    const cols = src.columns;
    const read = src.readColumns;
    const seen = new WeakMap<EventColumns, EventColumns>();
    const safeOf = (c: EventColumns) => {
      let safe = seen.get(c);
      if (safe === undefined) seen.set(c, (safe = safeColumns(c)));
      return safe;
    };
    if (cols) this.columns = (i) => safeOf(cols.call(src, i));
    const to = src.columnsTo;
    if (to) this.columnsTo = (i, need) => safeOf(to.call(src, i, need));
    if (read) this.readColumns = (i) => safeColumns(read.call(src, i));
  }

  override loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState } {
    return safeState(this.src.loadSnapshot(seqAtOrBefore));
  }
  override loadSnapshotFrom(seqAtOrAfter: number): { seq: number; state: KState } | null {
    const x = this.src.loadSnapshotFrom(seqAtOrAfter);
    return x && safeState(x);
  }
  override readChunk(i: number): readonly KEvent[] {
    const evs = this.src.readChunk(i);
    let safe = this.chunkCache.get(evs);
    if (safe === undefined) {
      safe = evs.some((e) => hasUnsafe(e.s)) ? evs.map((e) => ({ ...e, s: safeText(e.s) })) : evs;
      this.chunkCache.set(evs, safe);
    }
    return safe;
  }
}

/** Opens a trace file (or its bytes) as a ReplaySource. Throws TraceError (exitCode 2) for a bad file. */
export function openSource(input: string | Uint8Array, opts: OpenOptions = {}): TraceSource {
  return new TraceSource(openTrace(input, { cacheChunks: 4, ...opts }));
}

/**
 * One line about a trace opened in recovery mode or found damaged (for
 * stderr), or null when nothing is known to be wrong: what was recovered,
 * and which seqs are missing.
 */
export function recoveryNote(src: ReplaySource, name: string): string | null {
  const r = src.recovery;
  const gaps = src.gaps;
  if (!r && gaps.length === 0) return null;
  const missing = gaps.length ? `; ${gapsText(gaps)}` : "";
  if (r) return `ktrace: note: ${name} is incomplete (${r.reason}); using the ${r.events} events recovered${missing}`;
  return `ktrace: note: ${name} is damaged${missing}; the rest of it is usable`;
}

/** The missing ranges in a few words: "events 1024..1535 are missing (chunk 5 at byte offset 5366 is damaged: checksum mismatch)". */
export function gapsText(gaps: readonly Gap[]): string {
  const shown = gaps
    .slice(0, 3)
    .map(
      (g) =>
        `${g.fromSeq === g.toSeq ? `event ${g.fromSeq} is` : `events ${g.fromSeq}..${g.toSeq} are`} missing (${g.reason})`,
    );
  return shown.join("; ") + (gaps.length > 3 ? `; and ${gaps.length - 3} more gaps` : "");
}
