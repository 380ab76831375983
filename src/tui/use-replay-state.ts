// The replay UI's view state and its pure reducer (no Ink, no engine).
//
// Like ink-ui's use-select-state.ts: `update(state, intent)` is a pure function
// from the view state and one intent (a command from the key map, typed text,
// or a result reported back by the controller) to the next view state and at
// most one Effect. Effects are requests for work the reducer cannot do itself
// (seek the cursor, run a search, add a watchpoint); the controller
// (controller.ts) performs them against the replay engine and reports the
// outcome back as another intent (`moved`, `items`, `watches`, ...). So every
// rule of the UI (what `n` does after a search, where `←` stops, what Esc
// closes) is here and unit-testable without a terminal or a trace.

import { useSyncExternalStore } from 'react';
import type { Command } from './keymap.ts';

/** The panes Tab cycles through, in order. */
export const PANES = ['events', 'cpus', 'threads', 'locks', 'kstacks', 'procs'] as const;
export type PaneId = (typeof PANES)[number];

/** Row counts (or selections) per pane. */
export type PerPane = { readonly [P in PaneId]: number };

export const ZERO_ROWS: PerPane = { events: 0, cpus: 0, threads: 0, locks: 0, kstacks: 0, procs: 0 };

/** One row of a dialog list (search results, watchable things). */
export interface ListItem {
  /** Stable key: for search results `ev:<seq>`, for watchables e.g. `lock:3`. */
  readonly id: string;
  readonly label: string;
  /** Event seq to jump to (search results). */
  readonly seq?: number;
  /** Indexes of label characters that matched the query (for highlighting). */
  readonly hit?: readonly number[];
  /** Dimmed text after the label (the kind of thing, a seq). */
  readonly detail?: string;
}

/** An active watchpoint as the UI shows it. */
export interface WatchView {
  readonly id: number;
  readonly label: string;
}

export type Tone = 'info' | 'hit' | 'warn' | 'error';

/** The one-line message under the panes. */
export interface Status {
  readonly text: string;
  readonly tone: Tone;
}

/** The dialog on top of the replay screen, if any. */
export type Dialog =
  | { readonly kind: 'help'; readonly scroll: number }
  | { readonly kind: 'goto'; readonly text: string; readonly error: string | null }
  | {
      readonly kind: 'search';
      readonly text: string;
      readonly index: number;
      readonly items: readonly ListItem[];
      /** Seqs of every match of `text`, increasing (n/N walk these after Enter). */
      readonly all: readonly number[];
      /** What was searched, e.g. "all 89 events" or "events 0..19999 of 10,000,000". */
      readonly scope: string;
    }
  | { readonly kind: 'watch-pick'; readonly text: string; readonly index: number; readonly items: readonly ListItem[] }
  | { readonly kind: 'watch-list'; readonly index: number }
  | {
      readonly kind: 'explain';
      readonly title: string;
      readonly lines: readonly string[];
      /** The event the explanation points at (Enter jumps there), or null. */
      readonly seq: number | null;
      readonly scroll: number;
    };

export type DialogKind = Dialog['kind'];

export interface ViewState {
  /** Cursor position: -1 is the initial state, else the state after event `seq`. */
  readonly seq: number;
  /** Events in the trace. */
  readonly total: number;
  readonly dialog: Dialog | null;
  readonly focus: PaneId;
  /** Selected row per state pane (the event list's selection is the cursor). */
  readonly selected: PerPane;
  /** Rows per pane at the current position (reported by the controller with each move). */
  readonly rows: PerPane;
  /** Event rows the event list shows (set from the window size); PgUp/PgDn move by this. */
  readonly page: number;
  /** The last search committed with Enter: n/N walk its matches. */
  readonly search: { readonly query: string; readonly matches: readonly number[] } | null;
  readonly watches: readonly WatchView[];
  readonly status: Status | null;
  /** The post-mortem banner (failure and first violation); Esc hides it. */
  readonly banner: string | null;
  /** seq of the panic/fatal/hang event, null when the run did not fail. */
  readonly failureSeq: number | null;
  /** seq of the first invariant violation; null: none; undefined: not searched yet. */
  readonly violationSeq: number | null | undefined;
  /** Set by quit: the app unmounts. */
  readonly quit: boolean;
}

/** Work for the controller. Results come back as intents. */
export type Effect =
  /** Move the cursor to seq (clamped by the reducer to -1..total-1). `via` names a single step, so the engine can use step/stepBack. */
  | { readonly kind: 'seek'; readonly seq: number; readonly via?: 'step' | 'stepBack'; readonly note?: Status }
  /** Continue (dir 1) or reverse-continue (dir -1) to the next watchpoint hit. */
  | { readonly kind: 'continue'; readonly dir: 1 | -1 }
  /** Find the first invariant violation, report it (`violation`), and go there. */
  | { readonly kind: 'find-violation' }
  /** Fill a dialog list for the typed text (`items`). */
  | { readonly kind: 'query'; readonly list: 'search' | 'watch-pick'; readonly text: string }
  | { readonly kind: 'add-watch'; readonly id: string }
  | { readonly kind: 'remove-watch'; readonly id: number }
  /** Explain the object in row `row` of `pane` at the current position (`explained`). */
  | { readonly kind: 'explain'; readonly pane: PaneId; readonly row: number }
  | { readonly kind: 'quit' };

export type Intent =
  /** A key-map command (use-replay.ts resolves keys to these). */
  | { readonly type: 'command'; readonly command: Command }
  /** Printable text typed into the open prompt. */
  | { readonly type: 'type'; readonly text: string }
  /** The event list's height changed. */
  | { readonly type: 'page'; readonly rows: number }
  // ---- reported by the controller ----
  /** The cursor is now at seq; rows per pane there; an optional message. */
  | { readonly type: 'moved'; readonly seq: number; readonly rows: PerPane; readonly status?: Status }
  | {
      readonly type: 'items';
      readonly list: 'search' | 'watch-pick';
      readonly text: string;
      readonly items: readonly ListItem[];
      readonly all?: readonly number[];
      readonly scope?: string;
    }
  | { readonly type: 'watches'; readonly watches: readonly WatchView[]; readonly status?: Status }
  | { readonly type: 'explained'; readonly title: string; readonly lines: readonly string[]; readonly seq: number | null }
  | { readonly type: 'violation'; readonly seq: number | null }
  | { readonly type: 'status'; readonly status: Status | null };

export interface Update {
  readonly state: ViewState;
  readonly effect?: Effect;
}

export interface InitOptions {
  seq: number;
  total: number;
  rows?: PerPane;
  failureSeq?: number | null;
  violationSeq?: number | null | undefined;
  banner?: string | null;
  status?: Status | null;
  page?: number;
}

export function initialViewState(o: InitOptions): ViewState {
  return {
    seq: o.seq,
    total: o.total,
    dialog: null,
    focus: 'events',
    selected: ZERO_ROWS,
    rows: o.rows ?? ZERO_ROWS,
    page: o.page ?? 10,
    search: null,
    watches: [],
    status: o.status ?? null,
    banner: o.banner ?? null,
    failureSeq: o.failureSeq ?? null,
    violationSeq: o.violationSeq,
    quit: false,
  };
}

/** The key-map contexts searched, in order, on each screen (see keymap.ts KeyContext). */
export const MODE_CONTEXTS = {
  main: ['main'],
  help: ['dialog', 'viewer', 'list'],
  goto: ['dialog', 'prompt'],
  search: ['dialog', 'list', 'prompt'],
  'watch-pick': ['dialog', 'list', 'prompt'],
  'watch-list': ['dialog', 'watch-list', 'viewer', 'list'],
  explain: ['dialog', 'viewer', 'list'],
} as const;

export type Screen = keyof typeof MODE_CONTEXTS;

export function screenOf(s: ViewState): Screen {
  return s.dialog === null ? 'main' : s.dialog.kind;
}

/** Whether the open dialog takes typed text. */
export function isPrompt(s: ViewState): boolean {
  const k = s.dialog?.kind;
  return k === 'goto' || k === 'search' || k === 'watch-pick';
}

// ---- helpers ----

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

function info(text: string): Status {
  return { text, tone: 'info' };
}
function warn(text: string): Status {
  return { text, tone: 'warn' };
}

/** Seek effect clamped to the trace; a status instead when it would not move. */
function seekTo(s: ViewState, target: number, edge: string, note?: Status): Update {
  const seq = clamp(target, -1, s.total - 1);
  if (seq === s.seq) return { state: { ...s, status: info(edge) } };
  const via = seq === s.seq + 1 ? 'step' : seq === s.seq - 1 ? 'stepBack' : undefined;
  const effect: Effect = { kind: 'seek', seq, ...(via ? { via } : {}), ...(note ? { note } : {}) };
  return { state: s, effect };
}

function atEnd(s: ViewState): string {
  return s.total === 0 ? 'the trace has no events' : `at the last event (seq ${s.total - 1})`;
}
const AT_START = 'at the start (before event 0)';

/** Next (dir 1) or previous (dir -1) match of the committed search, relative to the cursor. */
function nextMatch(s: ViewState, dir: 1 | -1): Update {
  const sr = s.search;
  if (sr === null) return { state: { ...s, status: info('no search yet: press / to search') } };
  const m = sr.matches;
  if (m.length === 0) return { state: { ...s, status: warn(`no match for '${sr.query}'`) } };
  let target: number | undefined;
  if (dir === 1) target = m.find((x) => x > s.seq);
  else for (let i = m.length - 1; i >= 0; i--) if (m[i]! < s.seq) { target = m[i]; break; }
  if (target === undefined) {
    return { state: { ...s, status: info(`no ${dir === 1 ? 'later' : 'earlier'} match for '${sr.query}' (${m.length} in all)`) } };
  }
  const n = m.indexOf(target) + 1;
  return seekTo(s, target, '', info(`match ${n}/${m.length} for '${sr.query}'`));
}

function moveSelection(s: ViewState, delta: number): Update {
  if (s.focus === 'events') {
    return delta < 0 ? seekTo(s, s.seq + delta, AT_START) : seekTo(s, s.seq + delta, atEnd(s));
  }
  const n = s.rows[s.focus];
  const cur = s.selected[s.focus];
  const next = clamp(cur + delta, 0, Math.max(0, n - 1));
  return { state: { ...s, selected: { ...s.selected, [s.focus]: next }, status: null } };
}

function clampSelections(sel: PerPane, rows: PerPane): PerPane {
  const out: Record<PaneId, number> = { ...sel };
  for (const p of PANES) out[p] = clamp(sel[p], 0, Math.max(0, rows[p] - 1));
  return out;
}

function openDialog(s: ViewState, dialog: Dialog, effect?: Effect): Update {
  return effect ? { state: { ...s, dialog, status: null }, effect } : { state: { ...s, dialog, status: null } };
}

// ---- the reducer ----

/** The next view state (and work to do) for one intent. Pure. */
export function update(s: ViewState, intent: Intent): Update {
  switch (intent.type) {
    case 'command':
      return s.dialog === null ? mainCommand(s, intent.command) : dialogCommand(s, s.dialog, intent.command);
    case 'type':
      return typed(s, intent.text);
    case 'page':
      return { state: { ...s, page: Math.max(1, intent.rows) } };
    case 'moved':
      return {
        state: {
          ...s,
          seq: intent.seq,
          rows: intent.rows,
          selected: clampSelections(s.selected, intent.rows),
          status: intent.status ?? null,
        },
      };
    case 'items': {
      const d = s.dialog;
      if (d === null || d.kind !== intent.list || d.text !== intent.text) return { state: s };
      if (d.kind === 'search') {
        return {
          state: {
            ...s,
            dialog: { ...d, items: intent.items, all: intent.all ?? [], scope: intent.scope ?? d.scope, index: 0 },
          },
        };
      }
      if (d.kind === 'watch-pick') return { state: { ...s, dialog: { ...d, items: intent.items, index: 0 } } };
      return { state: s };
    }
    case 'watches': {
      let dialog = s.dialog;
      if (dialog?.kind === 'watch-list') {
        dialog = { ...dialog, index: clamp(dialog.index, 0, Math.max(0, intent.watches.length - 1)) };
      }
      return { state: { ...s, watches: intent.watches, dialog, status: intent.status ?? s.status } };
    }
    case 'explained':
      return {
        state: { ...s, dialog: { kind: 'explain', title: intent.title, lines: intent.lines, seq: intent.seq, scroll: 0 } },
      };
    case 'violation':
      return { state: { ...s, violationSeq: intent.seq } };
    case 'status':
      return { state: { ...s, status: intent.status } };
  }
}

function mainCommand(s: ViewState, c: Command): Update {
  switch (c) {
    case 'step':
      return seekTo(s, s.seq + 1, atEnd(s));
    case 'stepBack':
      return seekTo(s, s.seq - 1, AT_START);
    case 'pageDown':
      return seekTo(s, s.seq + s.page, atEnd(s));
    case 'pageUp':
      return seekTo(s, s.seq - s.page, AT_START);
    case 'start':
      return seekTo(s, -1, AT_START);
    case 'end':
      return seekTo(s, s.total - 1, atEnd(s));
    case 'continue':
      return { state: s, effect: { kind: 'continue', dir: 1 } };
    case 'reverseContinue':
      return { state: s, effect: { kind: 'continue', dir: -1 } };
    case 'goTo':
      return openDialog(s, { kind: 'goto', text: '', error: null });
    case 'failure':
      if (s.failureSeq === null) return { state: { ...s, status: info('this run did not fail: no panic, fatal error or hang') } };
      return seekTo(s, s.failureSeq, `at the failure (seq ${s.failureSeq})`);
    case 'violation':
      if (s.violationSeq === undefined) return { state: s, effect: { kind: 'find-violation' } };
      if (s.violationSeq === null) return { state: { ...s, status: info('no invariant is violated in this trace') } };
      return seekTo(s, s.violationSeq, `at the first violation (seq ${s.violationSeq})`);
    case 'search':
      return openDialog(s, { kind: 'search', text: '', index: 0, items: [], all: [], scope: '' }, {
        kind: 'query',
        list: 'search',
        text: '',
      });
    case 'nextMatch':
      return nextMatch(s, 1);
    case 'prevMatch':
      return nextMatch(s, -1);
    case 'watch':
      return openDialog(s, { kind: 'watch-pick', text: '', index: 0, items: [] }, { kind: 'query', list: 'watch-pick', text: '' });
    case 'watchList':
      return openDialog(s, { kind: 'watch-list', index: 0 });
    case 'explain': {
      const row = s.focus === 'events' ? s.seq : s.selected[s.focus];
      if (s.focus !== 'events' && s.rows[s.focus] === 0) return { state: { ...s, status: info(`nothing to explain: the ${s.focus} pane is empty`) } };
      if (s.focus === 'events' && s.seq < 0) return { state: { ...s, status: info('no event yet: step forward first') } };
      return { state: s, effect: { kind: 'explain', pane: s.focus, row } };
    }
    case 'focusNext':
    case 'focusPrev': {
      const i = PANES.indexOf(s.focus);
      const d = c === 'focusNext' ? 1 : PANES.length - 1;
      // The status line then shows what is marked about the selected row.
      return { state: { ...s, focus: PANES[(i + d) % PANES.length]!, status: null } };
    }
    case 'selectUp':
      return moveSelection(s, -1);
    case 'selectDown':
      return moveSelection(s, 1);
    case 'help':
      return openDialog(s, { kind: 'help', scroll: 0 });
    case 'dismiss':
      // Esc on the main screen: clear the message, then the banner.
      if (s.status !== null) return { state: { ...s, status: null } };
      return { state: { ...s, banner: null } };
    case 'quit':
    case 'interrupt':
      return { state: { ...s, quit: true }, effect: { kind: 'quit' } };
    default:
      return { state: s };
  }
}

function dialogCommand(s: ViewState, d: Dialog, c: Command): Update {
  if (c === 'interrupt') return { state: { ...s, quit: true }, effect: { kind: 'quit' } };
  if (c === 'cancel' || c === 'close') return { state: { ...s, dialog: null } };
  switch (d.kind) {
    case 'help':
    case 'explain': {
      if (c === 'listUp' || c === 'listDown') {
        const scroll = Math.max(0, d.scroll + (c === 'listUp' ? -1 : 1));
        return { state: { ...s, dialog: { ...d, scroll } } };
      }
      if (c === 'accept') {
        if (d.kind === 'explain' && d.seq !== null) return seekTo({ ...s, dialog: null }, d.seq, `at seq ${d.seq}`);
        return { state: { ...s, dialog: null } };
      }
      return { state: s };
    }
    case 'goto': {
      if (c === 'deleteChar') return { state: { ...s, dialog: { ...d, text: d.text.slice(0, -1), error: null } } };
      if (c !== 'accept') return { state: s };
      const t = d.text.trim();
      if (t === '') return { state: { ...s, dialog: { ...d, error: 'type an event number' } } };
      const n = Number(t);
      if (!(s.total > 0 && n >= 0 && n <= s.total - 1)) {
        const range = s.total === 0 ? 'the trace has no events' : `events are 0..${s.total - 1}`;
        return { state: { ...s, dialog: { ...d, error: `no event ${t}: ${range}` } } };
      }
      return seekTo({ ...s, dialog: null }, n, `at seq ${n}`);
    }
    case 'search':
    case 'watch-pick': {
      if (c === 'deleteChar') return typedText(s, d, d.text.slice(0, -1));
      if (c === 'listUp' || c === 'listDown') {
        const n = d.items.length;
        if (n === 0) return { state: s };
        const index = (d.index + (c === 'listUp' ? n - 1 : 1)) % n;
        return { state: { ...s, dialog: { ...d, index } } };
      }
      if (c !== 'accept') return { state: s };
      const item = d.items[d.index];
      if (d.kind === 'watch-pick') {
        if (item === undefined) return { state: { ...s, status: warn(`nothing to watch matches '${d.text}'`) } };
        return { state: { ...s, dialog: null }, effect: { kind: 'add-watch', id: item.id } };
      }
      if (item === undefined || item.seq === undefined) {
        return { state: { ...s, status: warn(d.text === '' ? 'type what to search for' : `no event matches '${d.text}'`) } };
      }
      const search = { query: d.text, matches: d.all };
      const n = d.all.indexOf(item.seq) + 1;
      const note = info(n > 0 ? `match ${n}/${d.all.length} for '${d.text}' (n/N: next/previous)` : `match for '${d.text}'`);
      return seekTo({ ...s, dialog: null, search }, item.seq, `at seq ${item.seq}`, note);
    }
    case 'watch-list': {
      const n = s.watches.length;
      if (c === 'listUp' || c === 'listDown') {
        if (n === 0) return { state: s };
        const index = clamp(d.index + (c === 'listUp' ? -1 : 1), 0, n - 1);
        return { state: { ...s, dialog: { ...d, index } } };
      }
      if (c === 'removeWatch') {
        const w = s.watches[d.index];
        if (w === undefined) return { state: s };
        return { state: s, effect: { kind: 'remove-watch', id: w.id } };
      }
      if (c === 'accept') return { state: { ...s, dialog: null } };
      return { state: s };
    }
  }
}

function typedText(s: ViewState, d: Extract<Dialog, { kind: 'search' | 'watch-pick' }>, text: string): Update {
  return { state: { ...s, dialog: { ...d, text } }, effect: { kind: 'query', list: d.kind, text } };
}

function typed(s: ViewState, text: string): Update {
  const d = s.dialog;
  // Control characters never reach a prompt.
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '');
  if (d === null || clean === '') return { state: s };
  switch (d.kind) {
    case 'goto': {
      const digits = clean.replace(/[^0-9]/g, '');
      if (digits === '') return { state: { ...s, dialog: { ...d, error: 'digits only: an event number' } } };
      return { state: { ...s, dialog: { ...d, text: (d.text + digits).slice(0, 15), error: null } } };
    }
    case 'search':
    case 'watch-pick':
      return typedText(s, d, d.text + clean);
    default:
      return { state: s };
  }
}

// ---- the React binding ----

/** What useReplayState reads: a store of view states (the controller implements it). */
export interface ViewStore {
  subscribe(listener: () => void): () => void;
  getState(): ViewState;
}

/** The current view state of a store; re-renders when it changes. */
export function useReplayState(store: ViewStore): ViewState {
  return useSyncExternalStore(
    (l) => store.subscribe(l),
    () => store.getState(),
  );
}
