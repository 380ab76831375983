// The replay UI's view state and its reducer: every rule of the UI, in one place.
//
// A key's whole path is two files:
//   keymap.ts             which command a keypress is on this screen (data: command -> bindings)
//   use-replay-state.ts   what the command does: reduce(state, intent, engine) calls the
//                         replay engine (engine.ts) for anything that needs the trace and
//                         returns the next view state, which the views draw.
// use-replay.ts is the thin hook between Ink and this (keys in, state out), and
// store.ts holds the state (and lets slow work put its message on screen first).
//
// Given the engine's answers, reduce is pure: no clock, no terminal, no React.
// Every rule (what `n` does after a search, where `←` stops, what Esc closes) is
// unit-tested with a fake engine that records what it was asked.

import type { Engine, Failure, SlowWork, ViolationView } from "./engine.ts";
import {
  type Frame,
  type ListItem,
  type Overview,
  PANES,
  type PaneId,
  type PerPane,
  type Status,
  type WatchView,
  ZERO_ROWS,
} from "./frame.ts";
import type { Command } from "./keymap.ts";

export { type ListItem, PANES, type PaneId, type PerPane, type Status, type Tone, type WatchView } from "./frame.ts";

/** The dialog on top of the replay screen, if any. */
export type Dialog =
  | { readonly kind: "help"; readonly scroll: number }
  | { readonly kind: "goto"; readonly text: string; readonly error: string | null }
  | {
      readonly kind: "search";
      readonly text: string;
      readonly index: number;
      readonly items: readonly ListItem[];
      /** Seqs of every match of `text`, increasing (n/N walk these after Enter). */
      readonly all: readonly number[];
      /** What was searched, e.g. "all 89 events" or "events 0..19999 of 10,000,000". */
      readonly scope: string;
    }
  | { readonly kind: "watch-pick"; readonly text: string; readonly index: number; readonly items: readonly ListItem[] }
  | { readonly kind: "watch-list"; readonly index: number }
  | {
      readonly kind: "explain";
      readonly title: string;
      readonly lines: readonly string[];
      /** The event the explanation points at (Enter jumps there), or null. */
      readonly seq: number | null;
      readonly scroll: number;
    };

export type DialogKind = Dialog["kind"];

export interface ViewState {
  /** Cursor position: -1 is the initial state, else the state after event `seq`. */
  readonly seq: number;
  /** Events in the trace. */
  readonly total: number;
  /** What the event list and the state panes draw (from the engine, at seq). */
  readonly frame: Frame;
  /** What the timeline draws (from the engine; grows while the background scan runs). */
  readonly overview: Overview;
  readonly dialog: Dialog | null;
  readonly focus: PaneId;
  /** Selected row per state pane (the event list's selection is the cursor). */
  readonly selected: PerPane;
  /** Rows per pane at the current position. */
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
  /** seq of the first invariant violation; null: none; undefined: not known yet. */
  readonly violationSeq: number | null | undefined;
  /** The what-if branch (x), once taken: where, what it changed and how it went, and which run is shown (X switches). */
  readonly branch: { readonly at: number; readonly text: string; readonly showing: "original" | "branch" } | null;
  /** Slow work whose message is on screen; the store sends `resume` to run it. */
  readonly busy: SlowWork | null;
  /** Set by quit: the app unmounts. */
  readonly quit: boolean;
}

export type Intent =
  /** A key-map command (use-replay.ts resolves keys to these). */
  | { readonly type: "command"; readonly command: Command }
  /** Printable text typed into the open prompt. */
  | { readonly type: "type"; readonly text: string }
  /** The event list's height changed. */
  | { readonly type: "page"; readonly rows: number }
  /** From the store: the message of the slow work in `busy` is on screen; run it now. */
  | { readonly type: "resume" }
  /** From the store: the background scan went on; take the engine's overview. */
  | { readonly type: "scanned" };

export const EMPTY_FRAME: Frame = { seq: -1, time: 0, events: [], panes: [] };
export const EMPTY_OVERVIEW: Overview = {
  density: null,
  marks: { watchHits: [], violation: undefined, violations: [], failure: null },
};

export interface InitOptions {
  seq: number;
  total: number;
  frame?: Frame;
  overview?: Overview;
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
    frame: o.frame ?? EMPTY_FRAME,
    overview: o.overview ?? EMPTY_OVERVIEW,
    dialog: null,
    focus: "events",
    selected: ZERO_ROWS,
    rows: o.rows ?? (o.frame !== undefined ? rowsOf(o.frame, o.total) : ZERO_ROWS),
    page: o.page ?? 10,
    search: null,
    watches: [],
    status: o.status ?? null,
    banner: o.banner ?? null,
    failureSeq: o.failureSeq ?? null,
    violationSeq: o.violationSeq,
    branch: null,
    busy: null,
    quit: false,
  };
}

/** The post-mortem banner: the failure, then the first violation (or that it is not known yet). */
export function bannerText(f: Failure, v: ViolationView | null | undefined): string {
  const second =
    v === undefined
      ? "first violation: not known yet (the timeline scan is looking; v searches now)"
      : v === null
        ? "no invariant violation before it"
        : `first violation: ${v.line}`;
  return `✖ ${f.kind.toUpperCase()} at seq ${f.seq}: ${f.message}\n${second}`;
}

/**
 * The view state the replay opens in, from an engine already at its opening
 * position. postMortem: it opened at the failure by default (not by --at), so
 * the status line says how to get around.
 */
export function openingState(engine: Engine, postMortem: boolean): ViewState {
  const f = engine.failure;
  const v = engine.knownViolation();
  const frame = engine.frame();
  return initialViewState({
    seq: frame.seq,
    total: engine.info.total,
    frame,
    overview: engine.overview(),
    failureSeq: f?.seq ?? null,
    violationSeq: v === undefined ? undefined : (v?.seq ?? null),
    banner: f === null ? null : bannerText(f, v),
    status:
      f !== null && postMortem
        ? info(`post-mortem: at the ${f.kind} (p); v: first violation; ←: step back; ?: keys`)
        : null,
  });
}

/** The key-map contexts searched, in order, on each screen (see keymap.ts KeyContext). */
export const MODE_CONTEXTS = {
  main: ["main"],
  help: ["dialog", "viewer", "list"],
  goto: ["dialog", "prompt"],
  search: ["dialog", "list", "prompt"],
  "watch-pick": ["dialog", "list", "prompt"],
  "watch-list": ["dialog", "watch-list", "viewer", "list"],
  explain: ["dialog", "viewer", "list"],
} as const;

export type Screen = keyof typeof MODE_CONTEXTS;

export function screenOf(s: ViewState): Screen {
  return s.dialog === null ? "main" : s.dialog.kind;
}

/** Whether the open dialog takes typed text. */
export function isPrompt(s: ViewState): boolean {
  const k = s.dialog?.kind;
  return k === "goto" || k === "search" || k === "watch-pick";
}

/** Row counts per pane in a frame (the event list's count is the trace length). */
export function rowsOf(frame: Frame, total: number): PerPane {
  const out: Record<PaneId, number> = { ...ZERO_ROWS, events: total };
  for (const p of frame.panes) out[p.id] = p.rows.length;
  return out;
}

// ---- helpers ----

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

function info(text: string): Status {
  return { text, tone: "info" };
}
function warn(text: string): Status {
  return { text, tone: "warn" };
}

function clampSelections(sel: PerPane, rows: PerPane): PerPane {
  const out: Record<PaneId, number> = { ...sel };
  for (const p of PANES) out[p] = clamp(sel[p], 0, Math.max(0, rows[p] - 1));
  return out;
}

/** The state once the engine's cursor is at `frame` (and the overview may have grown). */
function moved(s: ViewState, e: Engine, frame: Frame, status: Status | null = null): ViewState {
  const rows = rowsOf(frame, s.total);
  return {
    ...s,
    seq: frame.seq,
    frame,
    rows,
    selected: clampSelections(s.selected, rows),
    overview: e.overview(),
    status,
  };
}

/** Moves the cursor to target (clamped to the trace); a message instead when it would not move. */
function seekTo(s: ViewState, e: Engine, target: number, edge: string, note?: Status): ViewState {
  const seq = clamp(target, -1, s.total - 1);
  if (seq === s.seq) return { ...s, status: info(edge) };
  const via = seq === s.seq + 1 ? "step" : seq === s.seq - 1 ? "stepBack" : undefined;
  return moved(s, e, e.seek(seq, via), note ?? null);
}

function atEnd(s: ViewState): string {
  return s.total === 0 ? "the trace has no events" : `at the last event (seq ${s.total - 1})`;
}
const AT_START = "at the start (before event 0)";

/** Next (dir 1) or previous (dir -1) match of the committed search, relative to the cursor. */
function nextMatch(s: ViewState, e: Engine, dir: 1 | -1): ViewState {
  const sr = s.search;
  if (sr === null) return { ...s, status: info("no search yet: press / to search") };
  const m = sr.matches;
  if (m.length === 0) return { ...s, status: warn(`no match for '${sr.query}'`) };
  let target: number | undefined;
  if (dir === 1) target = m.find((x) => x > s.seq);
  else
    for (let i = m.length - 1; i >= 0; i--)
      if (m[i]! < s.seq) {
        target = m[i];
        break;
      }
  if (target === undefined)
    return { ...s, status: info(`no ${dir === 1 ? "later" : "earlier"} match for '${sr.query}' (${m.length} in all)`) };
  const n = m.indexOf(target) + 1;
  return seekTo(s, e, target, "", info(`match ${n}/${m.length} for '${sr.query}'`));
}

function moveSelection(s: ViewState, e: Engine, delta: number): ViewState {
  if (s.focus === "events") return seekTo(s, e, s.seq + delta, delta < 0 ? AT_START : atEnd(s));
  const n = s.rows[s.focus];
  const next = clamp(s.selected[s.focus] + delta, 0, Math.max(0, n - 1));
  return { ...s, selected: { ...s.selected, [s.focus]: next }, status: null };
}

function openDialog(s: ViewState, dialog: Dialog): ViewState {
  return { ...s, dialog, status: null };
}

/** Slow work: put its message on screen first (the store resumes it), or do it now when it is quick. */
function slow(s: ViewState, e: Engine, work: SlowWork): ViewState {
  const text = e.slow(work);
  return text === undefined ? doSlow(s, e, work) : { ...s, busy: work, status: info(text) };
}

function doSlow(s: ViewState, e: Engine, work: SlowWork): ViewState {
  if (work === "violation") {
    const v = e.findViolation();
    if (v === null)
      return {
        ...s,
        violationSeq: null,
        overview: e.overview(),
        status: info("no invariant is violated in this trace"),
      };
    return moved({ ...s, violationSeq: v.seq }, e, e.seek(v.seq), { text: v.line, tone: "error" });
  }
  const r = e.continue(work === "continue" ? 1 : -1);
  return moved(s, e, r.frame, r.status);
}

/** The background scan went on: the new overview, and the first violation once it is known. */
function scanned(s: ViewState, e: Engine): ViewState {
  const overview = e.overview();
  if (s.violationSeq !== undefined) return overview === s.overview ? s : { ...s, overview };
  const v = e.knownViolation();
  if (v === undefined) return overview === s.overview ? s : { ...s, overview };
  const banner = s.banner !== null && e.failure !== null ? bannerText(e.failure, v) : s.banner;
  return { ...s, overview, violationSeq: v?.seq ?? null, banner };
}

/**
 * The engine now shows another run (a branch just taken, or X): the view
 * state of that run at its cursor. Dialog, search and selections belong to
 * the run left behind; focus and page stay.
 */
function runShown(s: ViewState, e: Engine, branch: ViewState["branch"], status: Status): ViewState {
  const f = e.failure;
  const v = e.knownViolation();
  const frame = e.frame();
  const failure = f === null ? null : bannerText(f, v);
  const where =
    branch === null
      ? null
      : branch.showing === "branch"
        ? `WHAT-IF branch at seq ${branch.at}: ${branch.text} (X: the original)`
        : `the original run (X: the what-if branch at seq ${branch.at})`;
  return {
    ...initialViewState({
      seq: frame.seq,
      total: e.info.total,
      frame,
      overview: e.overview(),
      failureSeq: f?.seq ?? null,
      violationSeq: v === undefined ? undefined : (v?.seq ?? null),
      banner: where === null ? failure : failure === null ? where : `${where}\n${failure}`,
      status,
      page: s.page,
    }),
    focus: s.focus,
    branch,
  };
}

function whatIf(s: ViewState, e: Engine): ViewState {
  if (e.branch === undefined)
    return { ...s, status: info("what-if needs the trace's world: this replay has no explorer") };
  if (s.seq < 0) return { ...s, status: info("no event yet: step to a scheduling point first") };
  const r = e.branch(s.seq);
  if ("error" in r) return { ...s, status: warn(r.error) };
  const branch = { at: r.at, text: `${r.change}: ${r.outcome}`, showing: "branch" as const };
  return runShown(s, e, branch, info(`what-if at seq ${r.at}: ${r.outcome}; trace ${r.path}; X switches runs`));
}

function switchRun(s: ViewState, e: Engine): ViewState {
  const now = e.switchRun?.() ?? null;
  if (now === null || s.branch === null)
    return { ...s, status: info("no what-if branch yet: x branches at a scheduling point") };
  const branch = { ...s.branch, showing: now };
  return runShown(
    s,
    e,
    branch,
    info(now === "branch" ? `the what-if branch (at seq ${branch.at})` : "the original run"),
  );
}

// ---- the reducer ----

/**
 * The next view state for one intent, calling the engine for what needs the
 * trace. An error from the engine (a trace that does not replay past some
 * event) becomes the status line's message.
 */
export function reduce(s: ViewState, intent: Intent, e: Engine): ViewState {
  try {
    return reduceOrThrow(s, intent, e);
  } catch (err) {
    return { ...s, busy: null, status: { text: err instanceof Error ? err.message : String(err), tone: "error" } };
  }
}

function reduceOrThrow(s: ViewState, intent: Intent, e: Engine): ViewState {
  switch (intent.type) {
    case "command":
      return s.dialog === null ? mainCommand(s, e, intent.command) : dialogCommand(s, e, s.dialog, intent.command);
    case "type":
      return typed(s, e, intent.text);
    case "page":
      return { ...s, page: Math.max(1, intent.rows) };
    case "resume":
      return s.busy === null ? s : doSlow({ ...s, busy: null }, e, s.busy);
    case "scanned":
      return scanned(s, e);
  }
}

function mainCommand(s: ViewState, e: Engine, c: Command): ViewState {
  switch (c) {
    case "step":
      return seekTo(s, e, s.seq + 1, atEnd(s));
    case "stepBack":
      return seekTo(s, e, s.seq - 1, AT_START);
    case "pageDown":
      return seekTo(s, e, s.seq + s.page, atEnd(s));
    case "pageUp":
      return seekTo(s, e, s.seq - s.page, AT_START);
    case "start":
      return seekTo(s, e, -1, AT_START);
    case "end":
      return seekTo(s, e, s.total - 1, atEnd(s));
    case "continue":
      return slow(s, e, "continue");
    case "reverseContinue":
      return slow(s, e, "reverseContinue");
    case "goTo":
      return openDialog(s, { kind: "goto", text: "", error: null });
    case "failure":
      if (s.failureSeq === null) return { ...s, status: info("this run did not fail: no panic, fatal error or hang") };
      return seekTo(s, e, s.failureSeq, `at the failure (seq ${s.failureSeq})`);
    case "violation":
      if (s.violationSeq === undefined) return slow(s, e, "violation");
      if (s.violationSeq === null) return { ...s, status: info("no invariant is violated in this trace") };
      return seekTo(s, e, s.violationSeq, `at the first violation (seq ${s.violationSeq})`);
    case "search": {
      const r = e.search("");
      return openDialog(s, { kind: "search", text: "", index: 0, items: r.items, all: r.all, scope: r.scope });
    }
    case "nextMatch":
      return nextMatch(s, e, 1);
    case "prevMatch":
      return nextMatch(s, e, -1);
    case "watch":
      return openDialog(s, { kind: "watch-pick", text: "", index: 0, items: e.watchables("") });
    case "watchList":
      return openDialog(s, { kind: "watch-list", index: 0 });
    case "branch":
      return whatIf(s, e);
    case "switchRun":
      return switchRun(s, e);
    case "explain": {
      if (s.focus !== "events" && s.rows[s.focus] === 0)
        return { ...s, status: info(`nothing to explain: the ${s.focus} pane is empty`) };
      if (s.focus === "events" && s.seq < 0) return { ...s, status: info("no event yet: step forward first") };
      const x = e.explain(s.focus, s.focus === "events" ? s.seq : s.selected[s.focus]);
      if (x === null) return { ...s, status: info("nothing selected") };
      return { ...s, dialog: { kind: "explain", title: x.title, lines: x.lines, seq: x.seq, scroll: 0 } };
    }
    case "focusNext":
    case "focusPrev": {
      const d = c === "focusNext" ? 1 : PANES.length - 1;
      // The vars pane (id sync) is shown (and focused) only when the state has variables, futex words or pipes;
      // the kernel stacks pane only on a recorded trace (layout).
      let i = PANES.indexOf(s.focus);
      do i = (i + d) % PANES.length;
      while ((PANES[i] === "sync" && s.rows.sync === 0) || (PANES[i] === "kstacks" && e.info.imported));
      // The status line then shows what is marked about the selected row.
      return { ...s, focus: PANES[i]!, status: null };
    }
    case "selectUp":
      return moveSelection(s, e, -1);
    case "selectDown":
      return moveSelection(s, e, 1);
    case "help":
      return openDialog(s, { kind: "help", scroll: 0 });
    case "dismiss":
      // Esc on the main screen: clear the message, then the banner.
      if (s.status !== null) return { ...s, status: null };
      return { ...s, banner: null };
    case "quit":
    case "interrupt":
      return { ...s, quit: true };
    default:
      return s;
  }
}

function dialogCommand(s: ViewState, e: Engine, d: Dialog, c: Command): ViewState {
  if (c === "interrupt") return { ...s, quit: true };
  if (c === "cancel" || c === "close") return { ...s, dialog: null };
  switch (d.kind) {
    case "help":
    case "explain": {
      if (c === "listUp" || c === "listDown")
        return { ...s, dialog: { ...d, scroll: Math.max(0, d.scroll + (c === "listUp" ? -1 : 1)) } };
      if (c === "accept") {
        if (d.kind === "explain" && d.seq !== null) return seekTo({ ...s, dialog: null }, e, d.seq, `at seq ${d.seq}`);
        return { ...s, dialog: null };
      }
      return s;
    }
    case "goto": {
      if (c === "deleteChar") return { ...s, dialog: { ...d, text: d.text.slice(0, -1), error: null } };
      if (c !== "accept") return s;
      const t = d.text.trim();
      if (t === "") return { ...s, dialog: { ...d, error: "type an event number" } };
      const n = Number(t);
      if (!(s.total > 0 && n >= 0 && n <= s.total - 1)) {
        const range = s.total === 0 ? "the trace has no events" : `events are 0..${s.total - 1}`;
        return { ...s, dialog: { ...d, error: `no event ${t}: ${range}` } };
      }
      return seekTo({ ...s, dialog: null }, e, n, `at seq ${n}`);
    }
    case "search":
    case "watch-pick": {
      if (c === "deleteChar") return typedText(s, e, d, d.text.slice(0, -1));
      if (c === "listUp" || c === "listDown") {
        const n = d.items.length;
        if (n === 0) return s;
        return { ...s, dialog: { ...d, index: (d.index + (c === "listUp" ? n - 1 : 1)) % n } };
      }
      if (c !== "accept") return s;
      const item = d.items[d.index];
      if (d.kind === "watch-pick") {
        if (item === undefined) return { ...s, status: warn(`nothing to watch matches '${d.text}'`) };
        const r = e.addWatch(item.id);
        return { ...s, dialog: null, watches: r.watches, status: r.status, overview: e.overview() };
      }
      if (item === undefined || item.seq === undefined) {
        return { ...s, status: warn(d.text === "" ? "type what to search for" : `no event matches '${d.text}'`) };
      }
      const search = { query: d.text, matches: d.all };
      const n = d.all.indexOf(item.seq) + 1;
      const note = info(
        n > 0 ? `match ${n}/${d.all.length} for '${d.text}' (n/N: next/previous)` : `match for '${d.text}'`,
      );
      return seekTo({ ...s, dialog: null, search }, e, item.seq, `at seq ${item.seq}`, note);
    }
    case "watch-list": {
      const n = s.watches.length;
      if (c === "listUp" || c === "listDown") {
        if (n === 0) return s;
        return { ...s, dialog: { ...d, index: clamp(d.index + (c === "listUp" ? -1 : 1), 0, n - 1) } };
      }
      if (c === "removeWatch") {
        const w = s.watches[d.index];
        const r = w === undefined ? null : e.removeWatch(w.id);
        if (r === null) return s;
        const index = clamp(d.index, 0, Math.max(0, r.watches.length - 1));
        return { ...s, watches: r.watches, status: r.status, dialog: { ...d, index }, overview: e.overview() };
      }
      if (c === "accept") return { ...s, dialog: null };
      return s;
    }
  }
}

/** The prompt of a search or the watch picker now holds `text`: its results, first one chosen. */
function typedText(
  s: ViewState,
  e: Engine,
  d: Extract<Dialog, { kind: "search" | "watch-pick" }>,
  text: string,
): ViewState {
  if (d.kind === "watch-pick") return { ...s, dialog: { ...d, text, items: e.watchables(text), index: 0 } };
  const r = e.search(text);
  return { ...s, dialog: { ...d, text, items: r.items, all: r.all, scope: r.scope, index: 0 } };
}

function typed(s: ViewState, e: Engine, text: string): ViewState {
  const d = s.dialog;
  // Control characters never reach a prompt.
  const clean = text.replace(/\p{Cc}/gu, "");
  if (d === null || clean === "") return s;
  switch (d.kind) {
    case "goto": {
      const digits = clean.replace(/[^0-9]/g, "");
      if (digits === "") return { ...s, dialog: { ...d, error: "digits only: an event number" } };
      return { ...s, dialog: { ...d, text: (d.text + digits).slice(0, 15), error: null } };
    }
    case "search":
    case "watch-pick":
      return typedText(s, e, d, d.text + clean);
    default:
      return s;
  }
}
