// The controller: owns the replay cursor and the view state, performs the
// reducer's effects against the cursor, and builds one Frame per move.
//
// It is the only part of the UI that talks to the replay engine, and it does
// so once per intent, never per rendered frame: a move costs one cursor move
// (the engine's nearest-checkpoint-then-fold), one window of ~2*WINDOW events
// described, and the state panes' rows. Holding ← on a 10M-event trace is
// therefore one stepBack and a few hundred microseconds of view work per key.

import fuzzysort, { type SnapshotKey } from 'fuzzysort';
import {
  Cursor,
  describe,
  EVENT_KINDS,
  eventOrNull,
  explain,
  kindName,
  parseWatch,
  type KEvent,
  type KState,
  type Stop,
  type Violation,
  type Watchpoint,
} from './engine.ts';
import { isFailure, type EventRow, type Frame, type TraceInfo } from './frame.ts';
import { refAt, rowCounts, statePanes, type ObjectRef, type Pane } from './rows.ts';
import {
  initialViewState,
  update,
  type Effect,
  type Intent,
  type ListItem,
  type PaneId,
  type Status,
  type ViewState,
  type WatchView,
} from './use-replay-state.ts';
import type { AppStore } from './app.tsx';

/** Events described on each side of the cursor (the event list shows a slice of them). */
export const WINDOW = 40;
/** Traces up to this many events get whole-trace scans for timeline marks (every hit of a watchpoint). */
export const FULL_SCAN_EVENTS = 250_000;
/** Events searched by `/`: all of them up to this, else this many around the cursor. */
export const SEARCH_SPAN = 50_000;
/** Results listed in the search and watch dialogs. */
export const LIST_LIMIT = 100;

/** Where the replay opens: an event number or a named point (the CLI's --at). */
export type OpenAt = number | 'start' | 'end' | 'panic' | 'violation';

export interface ControllerOptions {
  /** --at; default: the failure for a failed run (post-mortem), else the start. */
  readonly at?: OpenAt;
  /**
   * Runs slow work (a whole-trace continue or violation search) later, so the
   * screen can first say what is happening; keys pressed meanwhile are queued.
   * run.tsx passes a short timer. Absent: everything runs at once (tests).
   */
  readonly defer?: (work: () => void) => void;
  /** Traces with more events than this get deferred slow work; default FULL_SCAN_EVENTS. */
  readonly slowAbove?: number;
}

interface ActiveWatch {
  readonly id: number;
  readonly spec: string;
  readonly label: string;
  readonly wp: Watchpoint;
  /** Every hit in the trace (small traces), or null when not scanned. */
  readonly hits: readonly number[] | null;
}

interface SearchTarget {
  readonly seq: number;
  readonly label: string;
}

type SearchSnapshot = SnapshotKey<SearchTarget>;

/** fuzzysort's minimum score for an event to count as a match (0..1). */
export const SEARCH_THRESHOLD = 0.3;

/** Whether two panes show the same rows. */
function samePane(a: Pane, b: Pane): boolean {
  if (a.id !== b.id || a.rows.length !== b.rows.length) return false;
  for (let i = 0; i < a.rows.length; i++) {
    const x = a.rows[i]!;
    const y = b.rows[i]!;
    if (x.mark !== y.mark || x.note !== y.note || x.ref.id !== y.ref.id || x.cells.length !== y.cells.length) return false;
    for (let j = 0; j < x.cells.length; j++) if (x.cells[j] !== y.cells[j]) return false;
  }
  return true;
}

function tone(text: string, t: Status['tone']): Status {
  return { text, tone: t };
}

/**
 * The failure (panic, fatal error, hang) of a run: its outcome, or for a
 * recovered trace whose outcome is unknown, the first such event in it.
 */
export function failureOf(cursor: Cursor, info: TraceInfo): { kind: string; seq: number; message: string } | null {
  if (info.outcome !== null) return isFailure(info.outcome.kind) ? info.outcome : null;
  let seq: number;
  try {
    seq = cursor.resolve('panic');
  } catch {
    return null;
  }
  const ev = eventOrNull(cursor.source, seq);
  return { kind: ev ? kindName(ev.kind) : 'failure', seq, message: ev ? ev.s : '' };
}

/** One line naming a violation: "lock-owner-alive at seq 41: ...". */
export function violationLine(v: Pick<Violation, 'invariant' | 'seq' | 'message'>): string {
  return `${v.invariant} at seq ${v.seq}: ${v.message}`;
}

export class ReplayController implements AppStore {
  readonly info: TraceInfo;
  readonly cursor: Cursor;
  private view: ViewState;
  private frame: Frame;
  private readonly listeners = new Set<() => void>();
  private watches: ActiveWatch[] = [];
  private nextWatchId = 1;
  /** Hits found by continue / reverse-continue (for the timeline on big traces). */
  private readonly seenHits = new Set<number>();
  /** Events known to break an invariant: all on small traces, else those found so far. */
  private readonly violationSeqs = new Set<number>();
  private searchCache: { from: number; to: number; snap: SearchSnapshot } | null = null;
  private violation: Violation | null | undefined;
  private readonly failureSeq: number | null;
  private busy = false;
  private readonly queue: Intent[] = [];
  private readonly slowAbove: number;
  /** See ControllerOptions.defer (run.tsx sets it once the screen is up). */
  defer: ((work: () => void) => void) | undefined;

  constructor(cursor: Cursor, info: TraceInfo, opts: ControllerOptions = {}) {
    this.cursor = cursor;
    this.info = info;
    this.defer = opts.defer;
    this.slowAbove = opts.slowAbove ?? FULL_SCAN_EVENTS;
    const failure = failureOf(cursor, info);
    this.failureSeq = failure?.seq ?? null;
    let banner: string | null = null;
    let status: Status | null = null;
    // Post-mortem: a failed run opens at the failure, with a banner naming it and the first violation.
    if (failure !== null) {
      this.violation = cursor.firstViolation();
      const v = this.violation;
      banner = `✖ ${failure.kind.toUpperCase()} at seq ${failure.seq}: ${failure.message}\n` +
        (v === null ? 'no invariant violation before it' : `first violation: ${violationLine(v)}`);
    }
    // Small traces: every violation is marked on the timeline, and `v` needs no search.
    if (info.total <= this.slowAbove) {
      for (const v of this.allViolations()) this.violationSeqs.add(v);
      if (this.violation === undefined) this.violation = cursor.firstViolation();
    }
    if (this.violation) this.violationSeqs.add(this.violation.seq);
    const at = opts.at ?? (failure !== null ? 'panic' : 'start');
    if (at === 'violation' && this.violation === undefined) this.violation = cursor.firstViolation();
    cursor.seek(at);
    if (failure !== null && opts.at === undefined) {
      status = tone(`post-mortem: at the ${failure.kind} (p); v: first violation; ←: step back; ?: keys`, 'info');
    }
    this.view = initialViewState({
      seq: cursor.seq,
      total: info.total,
      rows: rowCounts(cursor.state, info.total),
      failureSeq: failure?.seq ?? null,
      violationSeq: this.violation === undefined ? undefined : (this.violation?.seq ?? null),
      banner,
      status,
    });
    this.frame = this.buildFrame();
  }

  // ---- the store ----

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getState(): ViewState {
    return this.view;
  }

  getFrame(): Frame {
    return this.frame;
  }

  /** Applies an intent, performs the effects it leads to, then notifies once. */
  dispatch(intent: Intent): void {
    if (this.busy) this.queue.push(intent);
    else this.run([intent]);
  }

  /** Whether slow work is under way (intents are queued meanwhile). */
  isBusy(): boolean {
    return this.busy;
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Reduces intents in order; an effect's results are reduced before the rest. */
  private run(pending: Intent[]): void {
    const before = this.view;
    while (pending.length > 0) {
      const u = update(this.view, pending.shift()!);
      this.view = u.state;
      if (u.effect === undefined) continue;
      const busy = this.defer === undefined ? undefined : this.slowText(u.effect);
      if (busy !== undefined) {
        const effect = u.effect;
        const rest = pending;
        this.busy = true;
        this.view = { ...this.view, status: tone(busy, 'info') };
        this.notify();
        this.defer!(() => {
          this.busy = false;
          this.run([...this.perform(effect), ...rest]);
          for (const q of this.queue.splice(0)) this.dispatch(q);
        });
        return;
      }
      pending = [...this.perform(u.effect), ...pending];
    }
    if (this.view !== before) this.notify();
  }

  /** What the screen says while a slow effect runs; undefined when it is quick. */
  private slowText(e: Effect): string | undefined {
    const n = this.info.total;
    if (n <= this.slowAbove) return undefined;
    const events = `${n.toLocaleString('en-US')} events`;
    if (e.kind === 'continue') return `${e.dir === 1 ? 'continuing' : 'reverse-continuing'}: checking watchpoints and invariants (up to ${events})…`;
    if (e.kind === 'find-violation' && this.violation === undefined) return `searching ${events} for the first invariant violation…`;
    return undefined;
  }

  // ---- effects ----

  private perform(e: Effect): Intent[] {
    try {
      return this.performUnsafe(e);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return [{ type: 'status', status: tone(msg, 'error') }];
    }
  }

  private performUnsafe(e: Effect): Intent[] {
    const c = this.cursor;
    switch (e.kind) {
      case 'seek': {
        if (e.via === 'step') c.step();
        else if (e.via === 'stepBack') c.stepBack();
        else c.seek(e.seq);
        return [this.moved(e.note)];
      }
      case 'continue': {
        const stop = e.dir === 1 ? c.continue() : c.reverseContinue();
        return [this.moved(this.stopStatus(stop, e.dir))];
      }
      case 'find-violation': {
        if (this.violation === undefined) this.violation = c.firstViolation();
        const v = this.violation;
        if (v === null) return [{ type: 'violation', seq: null }, { type: 'status', status: tone('no invariant is violated in this trace', 'info') }];
        this.violationSeqs.add(v.seq);
        c.seek(v.seq);
        return [{ type: 'violation', seq: v.seq }, this.moved(tone(violationLine(v), 'error'))];
      }
      case 'query':
        return [e.list === 'search' ? this.searchItems(e.text) : this.watchItems(e.text)];
      case 'add-watch': {
        if (this.watches.some((w) => w.spec === e.id)) {
          return [{ type: 'status', status: tone(`already watching ${e.id}`, 'info') }];
        }
        const wp = parseWatch(e.id);
        const label = this.watchLabel(e.id);
        const hits = this.info.total <= FULL_SCAN_EVENTS ? this.allHits(wp) : null;
        this.watches.push({ id: this.nextWatchId++, spec: e.id, label, wp, hits });
        c.watchpoints.push(wp);
        const n = hits === null ? '' : ` (${hits.length} hit${hits.length === 1 ? '' : 's'} in the trace)`;
        this.frame = this.buildFrame();
        return [this.watchesIntent(tone(`watching ${label}${n}: c / C run to its next / previous change`, 'info'))];
      }
      case 'remove-watch': {
        const w = this.watches.find((x) => x.id === e.id);
        if (w === undefined) return [];
        this.watches = this.watches.filter((x) => x !== w);
        const i = c.watchpoints.indexOf(w.wp);
        if (i >= 0) c.watchpoints.splice(i, 1);
        this.frame = this.buildFrame();
        return [this.watchesIntent(tone(`removed watchpoint ${w.label}`, 'info'))];
      }
      case 'explain':
        return [this.explainIntent(e.pane, e.row)];
      case 'quit':
        return [];
    }
  }

  /** The `moved` intent for the cursor's position now (and a fresh frame). */
  private moved(status?: Status): Intent {
    this.frame = this.buildFrame();
    const rows = rowCounts(this.cursor.state, this.info.total);
    return status === undefined ? { type: 'moved', seq: this.cursor.seq, rows } : { type: 'moved', seq: this.cursor.seq, rows, status };
  }

  private stopStatus(stop: Stop, dir: 1 | -1): Status {
    if (stop.reason === 'hit') {
      for (const h of stop.hits) this.seenHits.add(h.seq);
      if (stop.violation !== null) this.violationSeqs.add(stop.violation.seq);
      const parts = stop.hits.map((h) => h.message);
      if (stop.violation !== null) parts.push(`violation: ${violationLine(stop.violation)}`);
      return tone(parts.join('; '), stop.violation !== null && stop.hits.length === 0 ? 'error' : 'hit');
    }
    const none = this.watches.length === 0 ? 'no watchpoints (w adds one) and no violation' : 'no watchpoint hit or violation';
    return tone(dir === 1 ? `${none} after here: at the end` : `${none} before here: at the start`, 'info');
  }

  // ---- frames ----

  private buildFrame(): Frame {
    const c = this.cursor;
    const st = c.state;
    const seq = c.seq;
    const from = Math.max(0, seq - WINDOW);
    const to = Math.min(this.info.total - 1, seq + WINDOW);
    const events: EventRow[] = [];
    for (let q = from; q <= to; q++) {
      const ev = eventOrNull(c.source, q);
      // An event in a gap of a damaged trace: a row that says so.
      events.push(ev ? this.eventRow(ev, st) : { seq: q, time: st.time, cpu: -1, tid: -1, kind: -1, kindName: 'missing', text: 'missing: the trace is damaged here' });
    }
    return {
      seq,
      time: st.time,
      events,
      panes: this.samePanes(statePanes(st)),
      marks: {
        watchHits: this.watchHits(),
        violation: this.violation === undefined ? undefined : (this.violation?.seq ?? null),
        violations: this.violationList(),
        failure: this.failureSeq,
        gaps: c.source.gaps,
      },
    };
  }

  /**
   * The new panes, reusing the previous frame's Pane object for each pane whose
   * rows did not change (most events change none), so React skips redrawing it.
   */
  private samePanes(panes: Pane[]): Pane[] {
    const prev = this.frame?.panes;
    if (prev === undefined) return panes;
    return panes.map((p, i) => (prev[i] !== undefined && samePane(prev[i]!, p) ? prev[i]! : p));
  }

  private eventRow(ev: KEvent, st: KState): EventRow {
    return { seq: ev.seq, time: ev.time, cpu: ev.cpu, tid: ev.tid, kind: ev.kind, kindName: kindName(ev.kind), text: describe(ev, st) };
  }

  private marksCache: { key: string; hits: number[]; violations: number[] } | null = null;

  /** The sorted mark lists, rebuilt only when something was added or removed. */
  private markLists(): { hits: number[]; violations: number[] } {
    const key = `${this.seenHits.size}/${this.violationSeqs.size}/${this.watches.map((w) => w.id).join(',')}`;
    if (this.marksCache?.key !== key) {
      const all = new Set(this.seenHits);
      for (const w of this.watches) for (const h of w.hits ?? []) all.add(h);
      this.marksCache = {
        key,
        hits: [...all].sort((a, b) => a - b),
        violations: [...this.violationSeqs].sort((a, b) => a - b),
      };
    }
    return this.marksCache;
  }

  private watchHits(): number[] {
    return this.markLists().hits;
  }

  private violationList(): number[] {
    return this.markLists().violations;
  }

  /** Every event that breaks an invariant, by a separate cursor (small traces only). */
  private allViolations(): number[] {
    const scan = new Cursor(this.cursor.source, { invariants: this.cursor.invariants });
    const out: number[] = [];
    try {
      for (;;) {
        const stop = scan.continue();
        if (stop.reason !== 'hit') break;
        out.push(stop.seq);
        if (out.length >= 10_000) break;
      }
    } catch {
      // A trace that does not replay: the cursor reports it when it gets there.
    }
    return out;
  }

  /** Every hit of one watchpoint in the trace, by a separate cursor (no invariants). */
  private allHits(wp: Watchpoint): number[] {
    const scan = new Cursor(this.cursor.source, { invariants: [] });
    scan.watchpoints.push(wp);
    const out: number[] = [];
    for (;;) {
      const stop = scan.continue();
      if (stop.reason !== 'hit') break;
      out.push(stop.seq);
      if (out.length >= 10_000) break;
    }
    return out;
  }

  // ---- dialogs ----

  private watchesIntent(status: Status): Intent {
    const watches: WatchView[] = this.watches.map((w) => ({ id: w.id, label: w.label }));
    return { type: 'watches', watches, status };
  }

  /** Search targets for the scope around the cursor (cached while the scope holds). */
  private searchScope(): { snap: SearchSnapshot; scope: string } {
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
      cached !== null && (total <= SEARCH_SPAN || (seq - cached.from >= SEARCH_SPAN / 8 && cached.to - seq >= SEARCH_SPAN / 8) || (cached.from === from && cached.to === to));
    if (!reuse) {
      const st = this.cursor.state;
      const targets: SearchTarget[] = [];
      for (let q = from; q <= to; q++) {
        const ev = eventOrNull(this.cursor.source, q);
        if (ev) targets.push({ seq: q, label: `${kindName(ev.kind)} ${describe(ev, st)}` });
      }
      this.searchCache = { from, to, snap: fuzzysort.snapshot(targets, { key: 'label' }) };
    }
    const sc = this.searchCache!;
    const scope = total <= SEARCH_SPAN ? `all ${total} events` : `events ${sc.from}..${sc.to} of ${total}`;
    return { snap: sc.snap, scope };
  }

  private searchItems(text: string): Intent {
    const { snap, scope } = this.searchScope();
    if (text.trim() === '') return { type: 'items', list: 'search', text, items: [], all: [], scope };
    const res = fuzzysort.go(text, snap, { limit: 0, threshold: SEARCH_THRESHOLD });
    const items: ListItem[] = [];
    const all: number[] = [];
    for (const r of res) {
      const t = r.obj;
      all.push(t.seq);
      if (items.length < LIST_LIMIT) items.push({ id: `ev:${t.seq}`, label: t.label, seq: t.seq, hit: r.indexes, detail: `seq ${t.seq}` });
    }
    all.sort((a, b) => a - b);
    return { type: 'items', list: 'search', text, items, all, scope };
  }

  /** Everything that can be watched at the cursor, as picker items (spec as id). */
  watchables(): ListItem[] {
    const st = this.cursor.state;
    const out: ListItem[] = [];
    const ids = <T>(m: ReadonlyMap<number, T>) => [...m.keys()].sort((a, b) => a - b);
    for (const id of ids(st.locks)) {
      const l = st.locks.get(id)!;
      const where = l.space === 0 ? 'kernel' : `pid ${l.space}`;
      out.push({ id: `lock:${id}`, label: `lock ${l.name} (${where})`, detail: `${l.type}, id ${id}` });
    }
    const stackTids = new Set<number>();
    for (const id of ids(st.kstacks)) stackTids.add(st.kstacks.get(id)!.tid);
    out.push({ id: 'kstack-free', label: 'kernel stack freed (any)', detail: 'kstack-free' });
    for (const tid of [...stackTids].sort((a, b) => a - b)) {
      out.push({ id: `kstack-free:${tid}`, label: `kernel stack of tid ${tid} freed`, detail: `kstack-free:${tid}` });
    }
    for (const tid of ids(st.threads)) {
      const t = st.threads.get(tid)!;
      out.push({ id: `thread:${tid}`, label: `thread tid ${tid} state`, detail: `pid ${t.pid}, ${t.state}` });
    }
    for (const pid of ids(st.procs)) {
      const p = st.procs.get(pid)!;
      out.push({ id: `vmar:${pid}`, label: `VMAR of pid ${pid} (${p.name})`, detail: p.vmar === null ? 'None' : `vmar ${p.vmar}` });
    }
    for (const k of EVENT_KINDS) out.push({ id: `kind:${k.name}`, label: `event kind ${k.name}`, detail: 'kind' });
    return out;
  }

  private watchItems(text: string): Intent {
    const all = this.watchables();
    if (text.trim() === '') return { type: 'items', list: 'watch-pick', text, items: all.slice(0, LIST_LIMIT) };
    const res = fuzzysort.go(text, all, { keys: ['label', 'id'], limit: LIST_LIMIT, threshold: 0.2 });
    const items = res.map((r) => ({ ...r.obj, hit: r[0]?.indexes ?? [] }));
    return { type: 'items', list: 'watch-pick', text, items };
  }

  private watchLabel(spec: string): string {
    return this.watchables().find((w) => w.id === spec)?.label ?? spec;
  }

  private explainIntent(pane: PaneId, row: number): Intent {
    let ref: ObjectRef | { kind: 'event'; id: number } | undefined;
    if (pane === 'events') ref = { kind: 'event', id: row };
    else ref = refAt(this.cursor.state, pane, row);
    if (ref === undefined) return { type: 'status', status: tone('nothing selected', 'info') };
    const x = explain(this.cursor, ref);
    return { type: 'explained', title: x.title, lines: x.lines, seq: x.seq };
  }
}
