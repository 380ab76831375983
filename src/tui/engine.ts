// The replay engine as the UI uses it: one object over the replay cursor that
// the reducer (use-replay-state.ts) calls for every key that needs the trace
// (seek, continue, find the violation, search, watch, explain), answering with
// what the views draw (Frame, Overview, list items, messages). It owns the
// cursor, the watchpoints, the search index and the background scan behind the
// timeline. The only file of src/tui that calls src/replay (frame.ts passes
// on one function of it to the views: the density's bucket arithmetic).
//
// Cost per key: one cursor move (nearest checkpoint, then fold), one window of
// 2*WINDOW events described, and the state panes' rows. Whole-trace work (the
// timeline's scan) runs in slices through scan(), never inside a key.

import fuzzysort, { type SnapshotKey } from "fuzzysort";
import { EVENT_KINDS, type KEvent, KIND, type KState, OUTCOME_KINDS, type OutcomeKind } from "../kernel/types.ts";
import { checkDataflow } from "../replay/dataflow.ts";
import { DensityScan } from "../replay/density.ts";
import {
  Cursor,
  describe,
  describedAt,
  displaySafe,
  eventOrNull,
  futexWaitersOf,
  kindName,
  objectTitle,
  openSource,
  parseWatch,
  type Stop,
  spaceShort,
  type Violation,
  valueText,
  violationReport,
  type Watchpoint,
  type WhyEntry,
  type ObjectRef as WhyRef,
  walk,
  withStates,
} from "../replay/index.ts";
import { safeText } from "../util/safe-text.ts";
import type {
  Density,
  EventRow,
  Explanation,
  Frame,
  ListItem,
  Marks,
  ObjectRef,
  Overview,
  Pane,
  PaneId,
  Status,
  Tone,
  TraceInfo,
  WatchView,
} from "./frame.ts";
import { isFailure, MISSING_KIND } from "./frame.ts";
import { CLASS_OF, KIND_CLASSES } from "./kinds.ts";
import { ownerProblem, refAt, statePanes } from "./rows.ts";

export type { Explanation, ListItem, Status, Tone, WatchView } from "./frame.ts";

/** Events described on each side of the cursor (the event list shows a slice of them). */
export const WINDOW = 40;
/** Traces up to this many events are scanned whole at once (timeline, violations, every hit of a watchpoint); bigger ones in the background. */
export const FULL_SCAN_EVENTS = 250_000;
/** Events searched by `/`: all of them up to this, else this many around the cursor. */
export const SEARCH_SPAN = 50_000;
/** Most event row texts kept between frames (engine.rowTexts). */
const ROW_TEXTS = 4096;
/** Results listed in the search and watch dialogs. */
export const LIST_LIMIT = 100;
/** fuzzysort's minimum score for an event to count as a match (0..1). */
export const SEARCH_THRESHOLD = 0.3;

/** Where the replay opens: an event number or a named point (the CLI's --at). */
export type OpenAt = number | "start" | "end" | "panic" | "violation";

/** A violation as the UI names it. */
export interface ViolationView {
  readonly seq: number;
  /** "lock-owner-alive at seq 41: ..." */
  readonly line: string;
}

/** The panic, fatal error or hang a run ended in. */
export interface Failure {
  readonly kind: string;
  readonly seq: number;
  readonly message: string;
}

/** Search results for a typed text. */
export interface SearchResult {
  readonly items: readonly ListItem[];
  /** Seqs of every match, increasing. */
  readonly all: readonly number[];
  /** What was searched, e.g. "all 89 events" or "events 0..49999 of 10000000". */
  readonly scope: string;
}

/** Whole-trace work a key may start; see Engine.slow. */
export type SlowWork = "continue" | "reverseContinue" | "violation";

/**
 * What the reducer asks of the replay engine. ReplayEngine is the real one;
 * the reducer's tests use a fake that records the calls.
 */
export interface Engine {
  readonly info: TraceInfo;
  /** The run's panic, fatal error or hang, or null. */
  readonly failure: Failure | null;
  /** The frame at the cursor. */
  frame(): Frame;
  /** Moves the cursor to seq (-1..total-1); `via` says it is a single step. Returns the frame there. */
  seek(seq: number, via?: "step" | "stepBack"): Frame;
  /** Runs forward (1) or back (-1) to the next watchpoint hit or invariant break, or the end. */
  continue(dir: 1 | -1): { frame: Frame; status: Status };
  /** The first violation if known without searching; undefined when not known yet. */
  knownViolation(): ViolationView | null | undefined;
  /** The first violation, searching the whole trace when not known yet. */
  findViolation(): ViolationView | null;
  search(text: string): SearchResult;
  /** Watchable things at the cursor matching text (all, for empty text). */
  watchables(text: string): readonly ListItem[];
  /** Adds the watchpoint with this spec (an id from watchables). */
  addWatch(spec: string): { watches: readonly WatchView[]; status: Status };
  removeWatch(id: number): { watches: readonly WatchView[]; status: Status } | null;
  /** Explains row `row` of a pane at the cursor (for the events pane: the event with seq `row`). */
  explain(pane: PaneId, row: number): Explanation | null;
  /** The timeline's data now. */
  overview(): Overview;
  /** What the screen says while this work runs, when it is slow on this trace; undefined when quick. */
  slow(work: SlowWork): string | undefined;
  /** Runs background work (the timeline's scan) for about budgetMs; returns whether any remains. */
  scan(budgetMs: number): boolean;
  /** What-if (absent without an explorer): branches at seq and makes the branch the run shown, or says why not. */
  branch?(seq: number): BranchView | { readonly error: string };
  /** Switches between the original run and the branch: which one is shown now; null when there is no branch. */
  switchRun?(): "original" | "branch" | null;
}

/** A what-if branch: where, what changed, how it went, where its trace is. */
export interface BranchView {
  readonly at: number;
  readonly change: string;
  readonly outcome: string;
  readonly path: string;
}

/**
 * What the exploration commands do for the replay UI: src/explore/, wired in
 * by the CLI (cmd/replay.ts), since the UI itself only reads traces.
 */
export interface Explorer {
  /** Seqs of the decisions the failure hinges on (ktrace pivots), or null when not known (a passing run, a trace too large). */
  pivots(): readonly number[] | null;
  /** The what-if branch at seq (ktrace whatif --at seq: the natural flip there), written to a trace file; or one line saying why not. */
  branch(
    seq: number,
  ): { readonly path: string; readonly change: string; readonly outcome: string } | { readonly error: string };
}

export interface EngineOptions {
  /** --at; default: the failure for a failed run (post-mortem), else the start. */
  readonly at?: OpenAt;
  /** Traces with more events than this are scanned in the background and get busy messages; default FULL_SCAN_EVENTS. */
  readonly slowAbove?: number;
  /** Decisions the failure hinges on, marked on the timeline. */
  readonly pivots?: readonly number[];
}

interface ActiveWatch {
  readonly id: number;
  readonly spec: string;
  readonly label: string;
  readonly wp: Watchpoint;
}

interface SearchTarget {
  readonly seq: number;
  readonly label: string;
}

/** One line naming a violation: "lock-owner-alive at seq 41: ...". */
export function violationLine(v: Pick<Violation, "invariant" | "seq" | "message">): string {
  return `${v.invariant} at seq ${v.seq}: ${v.message}`;
}

/** The trace facts the header and timeline show, from a cursor and the file name. */
export function traceInfo(cursor: Cursor, file: string): TraceInfo {
  const src = cursor.source;
  const r = src.recovery;
  return {
    file: safeText(file),
    scenario: src.meta.scenario,
    fix: src.meta.fix,
    seed: src.meta.seed,
    cpus: src.meta.config.cpus,
    total: src.eventCount,
    outcome:
      src.outcome === null ? null : { kind: src.outcome.kind, seq: src.outcome.seq, message: src.outcome.message },
    snapshotSeqs: src.snapshotSeqs,
    recovery: r === null ? null : `${r.events} events; ${r.reason}`,
    imported: src.meta.imported ? src.meta.imported.format : null,
  };
}

/**
 * Opens a trace file for the UI: a cursor at the start, and its facts. Every
 * string the UI shows comes through displaySafe (safe-text.ts). Throws
 * TraceError (exitCode 2).
 */
export function openCursor(path: string): { cursor: Cursor; info: TraceInfo } {
  const cursor = new Cursor(displaySafe(openSource(path)));
  return { cursor, info: traceInfo(cursor, path) };
}

/**
 * The failure (panic, fatal error, hang) of a run: its outcome, or for a
 * recovered trace whose outcome is unknown, the first such event in it.
 */
export function failureOf(cursor: Cursor, info: TraceInfo): Failure | null {
  if (info.outcome !== null) return isFailure(info.outcome.kind) ? info.outcome : null;
  let seq: number;
  try {
    seq = cursor.resolve("panic");
  } catch {
    return null;
  }
  const ev = eventOrNull(cursor.source, seq);
  return { kind: ev ? kindName(ev.kind) : "failure", seq, message: ev ? ev.s : "" };
}

/** Whether two panes show the same rows. */
function samePane(a: Pane, b: Pane): boolean {
  if (a.id !== b.id || a.rows.length !== b.rows.length) return false;
  for (let i = 0; i < a.rows.length; i++) {
    const x = a.rows[i]!;
    const y = b.rows[i]!;
    if (x.mark !== y.mark || x.note !== y.note || x.ref.id !== y.ref.id || x.cells.length !== y.cells.length)
      return false;
    for (let j = 0; j < x.cells.length; j++) if (x.cells[j] !== y.cells[j]) return false;
  }
  return true;
}

const tone = (text: string, t: Tone): Status => ({ text, tone: t });

/** The event list's row for an event missing from a damaged trace (at the time of the state before it). */
function missingRow(seq: number, time: number): EventRow {
  return {
    seq,
    time,
    cpu: -1,
    tid: -1,
    kind: MISSING_KIND,
    kindName: "missing",
    text: "missing: the trace is damaged here",
  };
}

const byNumber = (a: number, b: number) => a - b;

export class ReplayEngine implements Engine {
  readonly info: TraceInfo;
  readonly cursor: Cursor;
  readonly failure: Failure | null;
  private readonly slowAbove: number;
  private watches: ActiveWatch[] = [];
  private nextWatchId = 1;
  /** The first violation: undefined until known. */
  private violation: Violation | null | undefined;
  /** Hits and violations found by continue / reverse-continue / v (marked even before the scan gets there). */
  private readonly seenHits = new Set<number>();
  private readonly seenViolations = new Set<number>();
  /** The timeline's scan: kind classes and invariant violations over the whole trace. */
  private readonly base: DensityScan;
  /** Hits of the current watchpoints over the whole trace; null when nothing is watched. */
  private hitScan: DensityScan | null = null;
  /** Counts hit scans started (the overview's cache key). */
  private hitScans = 0;
  private lastFrame: Frame | null = null;
  private lastOverview: { key: string; value: Overview } | null = null;
  private searchCache: { from: number; to: number; snap: SnapshotKey<SearchTarget> } | null = null;
  /**
   * Event rows' texts by seq: each event described with the state just after
   * it (as `ktrace events` describes it), not with the cursor's, so a row
   * reads the same wherever the cursor is. Bounded: cleared when it outgrows
   * ROW_TEXTS.
   */
  private readonly rowTexts = new Map<number, string>();

  private pivots: readonly number[];

  constructor(cursor: Cursor, info: TraceInfo, opts: EngineOptions = {}) {
    this.cursor = cursor;
    this.info = info;
    this.pivots = opts.pivots ?? [];
    this.slowAbove = opts.slowAbove ?? FULL_SCAN_EVENTS;
    this.failure = failureOf(cursor, info);
    this.base = new DensityScan(cursor.source, {
      classOf: CLASS_OF,
      classes: KIND_CLASSES.length,
      invariants: cursor.invariants,
    });
    // Small traces: scanned whole now, so every violation is marked and `v` needs no search.
    if (this.small) this.scanBase(() => false);
    const at = opts.at ?? (this.failure !== null ? "panic" : "start");
    const v = at === "violation" ? this.findViolation() : null;
    // (With no violation, the cursor's own seek says so: NoSuchPointError.)
    cursor.seek(v !== null ? v.seq : at);
  }

  private get small(): boolean {
    return this.info.total <= this.slowAbove;
  }

  /** Marks the decisions the failure hinges on (found by the explorer, in the background). */
  markPivots(seqs: readonly number[]): void {
    this.pivots = seqs;
    this.lastOverview = null;
  }

  // ---- moving ----

  frame(): Frame {
    return (this.lastFrame ??= this.buildFrame());
  }

  seek(seq: number, via?: "step" | "stepBack"): Frame {
    const c = this.cursor;
    if (via === "step" && seq === c.seq + 1) c.step();
    else if (via === "stepBack" && seq === c.seq - 1) c.stepBack();
    else c.seek(seq);
    return this.moved();
  }

  continue(dir: 1 | -1): { frame: Frame; status: Status } {
    const stop = dir === 1 ? this.cursor.continue() : this.cursor.reverseContinue();
    const status = this.stopStatus(stop, dir);
    return { frame: this.moved(), status };
  }

  private moved(): Frame {
    this.lastFrame = this.buildFrame();
    return this.lastFrame;
  }

  private stopStatus(stop: Stop, dir: 1 | -1): Status {
    if (stop.reason === "hit") {
      for (const h of stop.hits) this.seenHits.add(h.seq);
      if (stop.violation !== null) this.seenViolations.add(stop.violation.seq);
      const parts = stop.hits.map((h) => h.message);
      if (stop.violation !== null) parts.push(`violation: ${violationLine(stop.violation)}`);
      return tone(parts.join("; "), stop.violation !== null && stop.hits.length === 0 ? "error" : "hit");
    }
    const none =
      this.watches.length === 0 ? "no watchpoints (w adds one) and no violation" : "no watchpoint hit or violation";
    return tone(dir === 1 ? `${none} after here: at the end` : `${none} before here: at the start`, "info");
  }

  // ---- violations ----

  knownViolation(): ViolationView | null | undefined {
    if (this.violation === undefined) {
      if (this.base.firstViolation !== null) this.violation = this.base.firstViolation;
      else if (this.base.done && this.base.error === null) this.violation = null;
    }
    return this.violation === undefined
      ? undefined
      : this.violation === null
        ? null
        : { seq: this.violation.seq, line: violationLine(this.violation) };
  }

  findViolation(): ViolationView | null {
    if (this.knownViolation() === undefined) this.violation = this.cursor.firstViolation();
    const v = this.knownViolation()!;
    if (v !== null) this.seenViolations.add(v.seq);
    return v;
  }

  slow(work: SlowWork): string | undefined {
    if (this.small) return undefined;
    const events = `${this.info.total.toLocaleString("en-US")} events`;
    if (work === "violation")
      return this.knownViolation() === undefined ? `searching ${events} for the first invariant violation…` : undefined;
    return `${work === "continue" ? "continuing" : "reverse-continuing"}: checking watchpoints and invariants (up to ${events})…`;
  }

  // ---- the timeline ----

  scan(budgetMs: number): boolean {
    const t0 = performance.now();
    const stop = () => performance.now() - t0 >= budgetMs;
    // The watchpoints just asked for first, then the rest of the trace's overview.
    if (this.hitScan !== null && !this.hitScan.done) this.hitScan.run(stop);
    if (!stop() && !this.base.done) this.scanBase(stop);
    return !this.base.done || (this.hitScan !== null && !this.hitScan.done);
  }

  private scanBase(stop: () => boolean): void {
    this.base.run(stop);
    this.knownViolation();
  }

  overview(): Overview {
    const b = this.base;
    const h = this.hitScan;
    const gaps = this.cursor.source.gaps;
    const key = `${b.scanned}/${b.error}/${this.hitScans}:${h?.scanned ?? "-"}/${this.seenHits.size}/${this.seenViolations.size}/${this.violation === undefined ? "u" : (this.violation?.seq ?? "n")}/${gaps.length}`;
    if (this.lastOverview?.key === key) return this.lastOverview.value;
    const density: Density = {
      total: b.total,
      buckets: b.buckets,
      classes: b.classes,
      scanned: b.scanned,
      kinds: b.kinds.slice(),
      violationEnds: b.violationEnds.slice(),
      hitEnds: h === null ? new Float64Array(2 * b.buckets).fill(-1) : h.hitEnds.slice(),
      hitsScanned: h === null ? null : h.scanned,
      error: b.error ?? h?.error ?? null,
    };
    const hits = new Set(this.seenHits);
    for (const s of h?.hitSeqs ?? []) hits.add(s);
    const violations = new Set(this.seenViolations);
    for (const s of b.violationSeqs) violations.add(s);
    const marks: Marks = {
      watchHits: [...hits].sort(byNumber),
      violation: this.violation === undefined ? undefined : (this.violation?.seq ?? null),
      violations: [...violations].sort(byNumber),
      failure: this.failure?.seq ?? null,
      gaps,
      pivots: this.pivots,
    };
    this.lastOverview = { key, value: { density, marks } };
    return this.lastOverview.value;
  }

  // ---- frames ----

  private buildFrame(): Frame {
    const c = this.cursor;
    const st = c.state;
    const seq = c.seq;
    const from = Math.max(0, seq - WINDOW);
    const to = Math.min(this.info.total - 1, seq + WINDOW);
    const texts = this.rowTexts;
    let missing = false;
    for (let q = from; q <= to && !missing; q++) missing = !texts.has(q);
    if (missing) {
      // A fold from the snapshot costs more than the rows: describe two windows more on each side,
      // so that holding a key finds the next rows ready.
      const wanted: number[] = [];
      const lo = Math.max(0, from - 2 * WINDOW);
      const hi = Math.min(this.info.total - 1, to + 2 * WINDOW);
      if (texts.size + (hi - lo + 1) > ROW_TEXTS) texts.clear();
      for (let q = lo; q <= hi; q++) if (!texts.has(q)) wanted.push(q);
      withStates(c.source, wanted, (e, s) => texts.set(e.seq, describe(e, s ?? undefined)));
      // Events the trace lost have no text (their rows say so): noted, so they are not looked for again.
      for (const q of wanted) if (!texts.has(q)) texts.set(q, "");
    }
    const events: EventRow[] = [];
    for (let q = from; q <= to; q++) {
      const ev = eventOrNull(c.source, q);
      // An event in a gap of a damaged trace: a row that says so.
      events.push(ev ? this.eventRow(ev, texts.get(q) || describe(ev)) : missingRow(q, st.time));
    }
    return { seq, time: st.time, events, panes: this.samePanes(statePanes(st)) };
  }

  /**
   * The new panes, reusing the previous frame's Pane object for each pane whose
   * rows did not change (most events change none), so React skips redrawing it.
   */
  private samePanes(panes: Pane[]): Pane[] {
    const prev = this.lastFrame?.panes;
    if (prev === undefined) return panes;
    return panes.map((p, i) => (prev[i] !== undefined && samePane(prev[i]!, p) ? prev[i]! : p));
  }

  private eventRow(ev: KEvent, text: string): EventRow {
    return {
      seq: ev.seq,
      time: ev.time,
      cpu: ev.cpu,
      tid: ev.tid,
      kind: ev.kind,
      kindName: kindName(ev.kind),
      text,
    };
  }

  // ---- search ----

  /** Search targets for the scope around the cursor (cached while the scope holds). */
  private searchScope(): { snap: SnapshotKey<SearchTarget>; scope: string } {
    const total = this.info.total;
    const seq = this.cursor.seq;
    let from = 0;
    let to = total - 1;
    if (total > SEARCH_SPAN) {
      from = Math.max(0, Math.min(seq - SEARCH_SPAN / 2, total - SEARCH_SPAN));
      to = from + SEARCH_SPAN - 1;
    }
    const cached = this.searchCache;
    const reuse =
      cached !== null &&
      (total <= SEARCH_SPAN ||
        (seq - cached.from >= SEARCH_SPAN / 8 && cached.to - seq >= SEARCH_SPAN / 8) ||
        (cached.from === from && cached.to === to));
    if (!reuse) {
      // Each event as its row reads (described with the state just after it).
      const targets: SearchTarget[] = [];
      walk(this.cursor.source, from, to, {
        event: (ev, st) => {
          targets.push({ seq: ev.seq, label: `${kindName(ev.kind)} ${describe(ev, st ?? undefined)}` });
        },
      });
      this.searchCache = { from, to, snap: fuzzysort.snapshot(targets, { key: "label" }) };
    }
    const sc = this.searchCache!;
    const scope = total <= SEARCH_SPAN ? `all ${total} events` : `events ${sc.from}..${sc.to} of ${total}`;
    return { snap: sc.snap, scope };
  }

  search(text: string): SearchResult {
    const { snap, scope } = this.searchScope();
    if (text.trim() === "") return { items: [], all: [], scope };
    const res = fuzzysort.go(text, snap, { limit: 0, threshold: SEARCH_THRESHOLD });
    const items: ListItem[] = [];
    const all: number[] = [];
    for (const r of res) {
      const t = r.obj;
      all.push(t.seq);
      if (items.length < LIST_LIMIT)
        items.push({ id: `ev:${t.seq}`, label: t.label, seq: t.seq, hit: r.indexes, detail: `seq ${t.seq}` });
    }
    all.sort(byNumber);
    return { items, all, scope };
  }

  // ---- watchpoints ----

  /** Everything that can be watched at the cursor, as picker items (the watch spec as id). */
  allWatchables(): ListItem[] {
    const st = this.cursor.state;
    const out: ListItem[] = [];
    const ids = <T>(m: ReadonlyMap<number, T>) => [...m.keys()].sort(byNumber);
    for (const id of ids(st.locks)) {
      const l = st.locks.get(id)!;
      const where = spaceShort(l.space);
      out.push({ id: `lock:${id}`, label: `lock ${l.name} (${where})`, detail: `${l.type}, id ${id}` });
    }
    const stackTids = new Set<number>();
    for (const id of ids(st.kstacks)) stackTids.add(st.kstacks.get(id)!.tid);
    out.push({ id: "kstack-free", label: "kernel stack freed (any)", detail: "kstack-free" });
    for (const tid of [...stackTids].sort(byNumber)) {
      out.push({ id: `kstack-free:${tid}`, label: `kernel stack of tid ${tid} freed`, detail: `kstack-free:${tid}` });
    }
    for (const tid of ids(st.threads)) {
      const t = st.threads.get(tid)!;
      out.push({
        id: `thread:${tid}`,
        label: `thread tid ${tid}${t.comm !== undefined ? ` (${t.comm})` : ""} state`,
        detail: `pid ${t.pid}, ${t.state}`,
      });
    }
    for (const c of st.cpus)
      out.push({ id: `cpu:${c.id}`, label: `cpu ${c.id}: what it runs`, detail: c.tid < 0 ? "idle" : `tid ${c.tid}` });
    for (const pid of ids(st.procs)) {
      const p = st.procs.get(pid)!;
      if (p.vmarLock < 0) continue; // an imported process: no VMAR modelled
      out.push({
        id: `vmar:${pid}`,
        label: `VMAR of pid ${pid} (${p.name})`,
        detail: p.vmar === null ? "None" : `vmar ${p.vmar}`,
      });
    }
    for (const id of ids(st.vars)) {
      const v = st.vars.get(id)!;
      const where = spaceShort(v.space);
      if (v.sync === undefined && futexWaitersOf(st, id).length === 0) {
        const value = valueText(st, v.type, v.value);
        out.push({ id: `var:${id}`, label: `variable ${v.name} (${where}): its value`, detail: `= ${value}` });
        out.push({
          id: `access:${id}`,
          label: `variable ${v.name} (${where}): every access, reads too`,
          detail: `access:${id}`,
        });
        continue;
      }
      out.push({
        id: `futex:${id}`,
        label: `${v.sync ?? "futex"} ${v.name} (${where}): waits, wakes, value`,
        detail: `futex:${id}`,
      });
    }
    for (const id of ids(st.pipes))
      out.push({ id: `pipe:${id}`, label: `pipe ${id}: ends, writes, reads, waits`, detail: `pipe:${id}` });
    for (const pid of ids(st.procs))
      out.push({
        id: `signal:${pid}`,
        label: `signals of pid ${pid} (${st.procs.get(pid)!.name})`,
        detail: `signal:${pid}`,
      });
    for (const k of EVENT_KINDS) out.push({ id: `kind:${k.name}`, label: `event kind ${k.name}`, detail: "kind" });
    return out;
  }

  watchables(text: string): readonly ListItem[] {
    const all = this.allWatchables();
    if (text.trim() === "") return all.slice(0, LIST_LIMIT);
    const res = fuzzysort.go(text, all, { keys: ["label", "id"], limit: LIST_LIMIT, threshold: 0.2 });
    return res.map((r) => ({ ...r.obj, hit: r[0]?.indexes ?? [] }));
  }

  private watchViews(): WatchView[] {
    return this.watches.map((w) => ({ id: w.id, label: w.label }));
  }

  addWatch(spec: string): { watches: readonly WatchView[]; status: Status } {
    if (this.watches.some((w) => w.spec === spec))
      return { watches: this.watchViews(), status: tone(`already watching ${spec}`, "info") };
    const wp = parseWatch(spec);
    const label = this.allWatchables().find((w) => w.id === spec)?.label ?? spec;
    this.watches.push({ id: this.nextWatchId++, spec, label, wp });
    this.cursor.watchpoints.push(wp);
    this.restartHitScan();
    let n = "";
    if (this.small) {
      const count = this.hitScan!.hitsPerWatch.at(-1)!;
      n = ` (${count} hit${count === 1 ? "" : "s"} in the trace)`;
    }
    return {
      watches: this.watchViews(),
      status: tone(`watching ${label}${n}: c / C run to its next / previous change`, "info"),
    };
  }

  removeWatch(id: number): { watches: readonly WatchView[]; status: Status } | null {
    const w = this.watches.find((x) => x.id === id);
    if (w === undefined) return null;
    this.watches = this.watches.filter((x) => x !== w);
    const i = this.cursor.watchpoints.indexOf(w.wp);
    if (i >= 0) this.cursor.watchpoints.splice(i, 1);
    this.restartHitScan();
    return { watches: this.watchViews(), status: tone(`removed watchpoint ${w.label}`, "info") };
  }

  /** A new scan for the hits of the watchpoints of now (whole at once on a small trace). */
  private restartHitScan(): void {
    this.hitScans++;
    this.hitScan =
      this.watches.length === 0
        ? null
        : new DensityScan(this.cursor.source, { watchpoints: this.watches.map((w) => w.wp) });
    if (this.small) this.hitScan?.run();
  }

  // ---- explain ----

  explain(pane: PaneId, row: number): Explanation | null {
    if (pane === "events") {
      this.knownViolation();
      return explainEvent(this.cursor, row, this.violation?.seq === row ? this.violation : undefined);
    }
    const ref = refAt(this.cursor.state, pane, row);
    return ref === undefined ? null : explainObject(this.cursor, ref);
  }
}

// ---- explanations ----

/** What an outcome means, in words (`e` on the `end` event). */
export const OUTCOME_WORDS: { readonly [K in OutcomeKind]: string } = {
  ok: "The run finished: every thread ran to its end.",
  fatal: "The run ended in a fatal error: a user-space check aborted a process.",
  panic: "The run ended in a kernel panic: the machine stopped.",
  hang: "The run hung: no thread could ever run again.",
  budget: "The run was cut short: the event budget (--max-events) ran out first.",
  livelock:
    "The run livelocked: threads kept running but made no progress (no progress mark in the last window) until the event budget ran out.",
};

/** Roles of why() entries, most telling first: the one Enter jumps to. */
const JUMP_ROLES = [
  "owner",
  "lost-wake",
  "waits-on-lost-wake",
  "woken",
  "signal-sent",
  "waits-on-holds-write",
  "holds-write",
  "freed",
  "cleared",
  "waits-on-owner",
  "copied",
  "released",
  "exiting",
  "allocated",
  "created",
];

function entryLines(entries: readonly WhyEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    out.push(`seq ${e.seq}  ${e.role}: ${e.explanation}`);
    if (e.desc !== undefined && !e.explanation.includes(e.desc)) out.push(`    event: ${e.desc}`);
  }
  return out;
}

function jumpOf(entries: readonly WhyEntry[]): number | null {
  for (const role of JUMP_ROLES) {
    const e = entries.find((x) => x.role === role);
    if (e !== undefined) return e.seq;
  }
  return entries.length > 0 ? entries[entries.length - 1]!.seq : null;
}

function whyOf(cursor: Cursor, ref: WhyRef): WhyEntry[] {
  try {
    return cursor.why(ref);
  } catch {
    return [];
  }
}

/** The objects an event acts on, for explaining the event. */
function eventRefs(ev: KEvent): ObjectRef[] {
  const out: ObjectRef[] = [];
  switch (ev.kind) {
    case KIND.lockNew:
    case KIND.lockAcquire:
    case KIND.lockWait:
    case KIND.lockRelease:
    case KIND.unlockNotOwner:
    case KIND.lockRestamp:
    case KIND.lockRobust:
    case KIND.lockWaitEnd:
      out.push({ kind: "lock", id: ev.a });
      break;
    // Imported traces: the task an event is about, the cpu whose state it changes.
    case KIND.taskNew:
    case KIND.taskFork:
    case KIND.threadState:
    case KIND.migrate:
    case KIND.taskJoin:
    case KIND.taskRename:
    case KIND.taskExec:
      if (ev.a !== ev.tid) out.push({ kind: "thread", id: ev.a });
      break;
    case KIND.cpuCtx:
    case KIND.lost:
      if (ev.cpu >= 0) out.push({ kind: "cpu", id: ev.cpu });
      break;
    case KIND.kstackAlloc:
    case KIND.kstackFree:
    case KIND.pageFault:
      out.push({ kind: "kstack", id: ev.a });
      break;
    case KIND.fork:
    case KIND.spawn:
      out.push({ kind: "proc", id: ev.b });
      break;
    case KIND.exec:
    case KIND.procExit:
    case KIND.vmarClear:
    case KIND.reap:
    case KIND.procfsOpen:
    case KIND.procfsRead:
      out.push({ kind: "proc", id: ev.a });
      break;
    case KIND.futexWait:
    case KIND.futexWake:
    case KIND.varNew:
    case KIND.load:
    case KIND.store:
    case KIND.atomicLoad:
    case KIND.atomicStore:
    case KIND.cas:
    case KIND.fetchAdd:
    case KIND.xchg:
    case KIND.storeCommit:
      out.push({ kind: "var", id: ev.a });
      break;
    case KIND.wake:
    case KIND.joinWait:
    case KIND.join:
    case KIND.schedSet:
      out.push({ kind: "thread", id: ev.a });
      break;
    case KIND.pipeNew:
    case KIND.pipeWrite:
    case KIND.pipeRead:
    case KIND.pipeWait:
      out.push({ kind: "pipe", id: ev.a });
      break;
    case KIND.fdOpen:
    case KIND.fdClose:
      out.push({ kind: "pipe", id: ev.b });
      break;
    case KIND.signal:
      out.push(ev.c >= 0 ? { kind: "thread", id: ev.c } : { kind: "proc", id: ev.a });
      break;
  }
  if (ev.tid >= 0) out.push({ kind: "thread", id: ev.tid });
  return out;
}

/** "fork by tid 3 on cpu 1", "hang" (no cpu or thread: the kernel as a whole). */
function eventHeadline(ev: KEvent): string {
  const who = [ev.tid >= 0 ? `by tid ${ev.tid}` : "", ev.cpu >= 0 ? `on cpu ${ev.cpu}` : ""]
    .filter((x) => x !== "")
    .join(" ");
  return who === "" ? kindName(ev.kind) : `${kindName(ev.kind)} ${who}`;
}

/** The `end` event: how the run ended, in words, and where it was decided. */
function explainEnd(cursor: Cursor, ev: KEvent): Explanation {
  const kind = OUTCOME_KINDS[ev.a];
  const o = cursor.source.outcome;
  const lines = [
    kind === undefined ? `The run ended (outcome code ${ev.a}, unknown to this ktrace).` : OUTCOME_WORDS[kind],
  ];
  if (ev.s !== "") lines.push("", ev.s);
  const decided = o !== null && o.kind === kind && o.seq !== ev.seq ? o.seq : null;
  if (decided !== null) {
    const d = eventOrNull(cursor.source, decided);
    lines.push(
      "",
      `It was decided at seq ${decided} (${d ? kindName(d.kind) : "an event missing from the damaged trace"}); Enter goes there.`,
    );
  }
  if (kind !== undefined && isFailure(kind))
    lines.push("", "v goes to the first invariant violation, which is usually where it went wrong.");
  return { title: `event ${ev.seq}: end of the run`, lines, seq: decided };
}

/** An event: its description and the why of the objects it acts on. */
function explainEvent(cursor: Cursor, seq: number, v?: Violation): Explanation {
  const ev = cursor.eventAt(seq);
  if (ev.kind === KIND.end && v === undefined) return explainEnd(cursor, ev);
  const s = cursor.state;
  // As its row reads: with the state just after it, wherever the cursor is.
  const desc = describedAt(cursor.source, seq)?.desc ?? describe(ev);
  // A description that starts with the kind ("hang: ...") is not prefixed with it again.
  const head =
    desc.startsWith(`${kindName(ev.kind)}:`) && ev.tid < 0 && ev.cpu < 0 ? desc : `${eventHeadline(ev)}: ${desc}`;
  const lines = [head, `  (${EVENT_KINDS[ev.kind]?.doc ?? "an event kind this ktrace does not know"})`];
  const all: WhyEntry[] = [];
  for (const r of eventRefs(ev)) {
    const entries = whyOf(cursor, r).filter((e) => e.seq !== ev.seq);
    if (entries.length === 0) continue;
    lines.push("", `${objectTitle(s, r)}:`);
    lines.push(...entryLines(entries).map((l) => `  ${l}`));
    all.push(...entries);
  }
  // The first violation: what it breaks and the events that set it up, as `ktrace check` says them.
  if (v !== undefined) {
    let st: KState | undefined;
    withStates(cursor.source, [v.seq], (_e, x) => {
      st = x ?? undefined;
    });
    const rep = violationReport(cursor.source, v, st);
    const set: WhyEntry[] = rep.causes.map((c) => ({ seq: c.seq, role: c.kind, explanation: c.why, desc: c.desc }));
    lines.push("", `✗ it breaks ${v.invariant}: ${v.message}`);
    if (set.length > 0) {
      lines.push("set up by:", ...entryLines(set).map((l) => `  ${l}`));
      // Jump to where the newest bad value came from (a write, a reap, a lost update), else to the newest cause.
      const root = rep.causes.findLast((c) => c.root) ?? rep.causes[rep.causes.length - 1]!;
      return { title: `event ${ev.seq}`, lines, seq: root.seq };
    }
  }
  // A failed check of the program's own: where the values it read came from.
  const causes = checkDataflow(cursor.source, ev, s);
  const flow: WhyEntry[] = causes.map((c) => {
    const e = cursor.eventAt(c.seq);
    return { seq: c.seq, role: kindName(e.kind), explanation: c.why, desc: describedAt(cursor.source, c.seq)?.desc };
  });
  if (flow.length > 0) {
    lines.push("", "where the values the check read came from:");
    lines.push(...entryLines(flow).map((l) => `  ${l}`));
    all.push(...flow);
    // Jump to where the newest bad value came from (a write, a reap), else to the newest cause.
    const root = causes.findLast((c) => c.root) ?? causes[causes.length - 1]!;
    return { title: `event ${ev.seq}`, lines, seq: root.seq };
  }
  if (all.length === 0) lines.push("", "no earlier event set up the objects it acts on");
  return { title: `event ${ev.seq}`, lines, seq: jumpOf(all) };
}

/** An object at the cursor: who last set this lock's owner, who freed this stack, ... */
function explainObject(cursor: Cursor, ref: ObjectRef): Explanation {
  const s = cursor.state;
  const title = objectTitle(s, ref);
  const lines: string[] = [];
  if (ref.kind === "lock") {
    const p = ownerProblem(s, ref.id);
    if (p !== undefined) lines.push(`✗ ${p}`);
  }
  if (ref.kind === "cpu") {
    const c = s.cpus[ref.id];
    if (c !== undefined && c.kstack >= 0 && s.kstacks.get(c.kstack)?.state === "freed") {
      lines.push(`✗ cpu ${ref.id} runs on kernel stack ${c.kstack}, which is freed`);
    }
  }
  const entries = whyOf(cursor, ref);
  lines.push(...entryLines(entries));
  if (entries.length === 0) lines.push("no event has changed it yet (as created in the initial state)");
  return { title, lines, seq: jumpOf(entries) };
}

/**
 * The engine with a what-if branch: the original run's engine and, once a
 * branch is taken (x), the branch's, over its own trace; every question goes
 * to the run shown, and X switches. Each run keeps its own cursor,
 * watchpoints and scan. Built by openExploring (store.ts) when the CLI gives
 * an explorer.
 */
export class BranchingEngine implements Engine {
  private readonly original: ReplayEngine;
  private other: ReplayEngine | null = null;
  private showing: "original" | "branch" = "original";
  /** The branch taken, or null. */
  branchView: BranchView | null = null;

  /** Whether the explorer has been asked for the pivots (in the background, after the timeline's scan). */
  private pivotsAsked = false;

  constructor(
    cursor: Cursor,
    info: TraceInfo,
    private readonly explorer: Explorer,
    private readonly opts: EngineOptions = {},
  ) {
    this.original = new ReplayEngine(cursor, info, opts);
  }

  private get run(): ReplayEngine {
    return this.showing === "branch" && this.other !== null ? this.other : this.original;
  }
  get cursor(): Cursor {
    return this.run.cursor;
  }
  get info(): TraceInfo {
    return this.run.info;
  }
  get failure(): Failure | null {
    return this.run.failure;
  }
  frame(): Frame {
    return this.run.frame();
  }
  seek(seq: number, via?: "step" | "stepBack"): Frame {
    return this.run.seek(seq, via);
  }
  continue(dir: 1 | -1): { frame: Frame; status: Status } {
    return this.run.continue(dir);
  }
  knownViolation(): ViolationView | null | undefined {
    return this.run.knownViolation();
  }
  findViolation(): ViolationView | null {
    return this.run.findViolation();
  }
  search(text: string): SearchResult {
    return this.run.search(text);
  }
  watchables(text: string): readonly ListItem[] {
    return this.run.watchables(text);
  }
  addWatch(spec: string): { watches: readonly WatchView[]; status: Status } {
    return this.run.addWatch(spec);
  }
  removeWatch(id: number): { watches: readonly WatchView[]; status: Status } | null {
    return this.run.removeWatch(id);
  }
  explain(pane: PaneId, row: number): Explanation | null {
    return this.run.explain(pane, row);
  }
  overview(): Overview {
    return this.run.overview();
  }
  slow(work: SlowWork): string | undefined {
    return this.run.slow(work);
  }
  /** The run shown's scan; then, once, the original's pivots (one piece of work, bounded by the explorer). */
  scan(budgetMs: number): boolean {
    if (this.run.scan(budgetMs)) return true;
    if (this.pivotsAsked) return false;
    this.pivotsAsked = true;
    const p = this.explorer.pivots();
    if (p !== null) this.original.markPivots(p);
    return false;
  }

  branch(seq: number): BranchView | { readonly error: string } {
    const r = this.explorer.branch(seq);
    if ("error" in r) return r;
    const { cursor, info } = openCursor(r.path);
    this.other?.cursor.source.close();
    this.other = new ReplayEngine(cursor, info, { ...this.opts, at: Math.max(-1, Math.min(seq, info.total - 1)) });
    this.showing = "branch";
    this.branchView = { at: seq, change: r.change, outcome: r.outcome, path: r.path };
    return this.branchView;
  }

  switchRun(): "original" | "branch" | null {
    if (this.other === null) return null;
    this.showing = this.showing === "original" ? "branch" : "original";
    return this.showing;
  }

  /** Closes the branch's trace (the original's belongs to the caller). */
  close(): void {
    this.other?.cursor.source.close();
  }
}
