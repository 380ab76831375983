// What the views draw, as data. The engine (engine.ts) builds it, the reducer
// (use-replay-state.ts) keeps it in the view state, and the views are pure
// functions of (view state, size):
// - TraceInfo: facts about the trace that never change;
// - Frame: what depends on the cursor (the events around it, the state panes);
// - Overview: what covers the whole trace (the timeline's density and marks),
//   growing while the background scan runs.
// Types and formatting only; imports no other file of src/tui.

import type { OutcomeKind } from "../kernel/types.ts";
import type { Align } from "../util/text-table.ts";

/** The density's bucket arithmetic, for the views (one definition, in src/replay/density.ts). */
export { bucketStart } from "../replay/density.ts";

/** The panes Tab cycles through, in order. */
export const PANES = ["events", "cpus", "threads", "locks", "kstacks", "sync", "procs"] as const;
export type PaneId = (typeof PANES)[number];
/** The panes that show kernel state (all but the event list). */
export type StatePaneId = Exclude<PaneId, "events">;

/** Row counts (or selections) per pane. */
export type PerPane = { readonly [P in PaneId]: number };

export const ZERO_ROWS: PerPane = { events: 0, cpus: 0, threads: 0, locks: 0, kstacks: 0, sync: 0, procs: 0 };

/** Facts about the trace that do not change while replaying. */
export interface TraceInfo {
  /** The trace file as given on the command line. */
  readonly file: string;
  readonly scenario: string;
  /** Fix name, "" for the buggy original. */
  readonly fix: string;
  readonly seed: number;
  readonly cpus: number;
  /** Number of events. */
  readonly total: number;
  /** How the run ended; null when unknown (a recovered trace). */
  readonly outcome: { readonly kind: OutcomeKind; readonly seq: number; readonly message: string } | null;
  /** Seqs of the snapshots (-1 is the initial state). */
  readonly snapshotSeqs: readonly number[];
  /** Set when the trace was cut short: what was recovered. */
  readonly recovery: string | null;
  /** Set for a trace imported from a real kernel trace: its format ("ftrace", "perf", "babeltrace2"). */
  readonly imported?: string | null;
}

/** An object in the kernel state a pane row stands for. */
export type ObjectRef =
  | { readonly kind: "cpu"; readonly id: number }
  | { readonly kind: "thread"; readonly id: number }
  | { readonly kind: "lock"; readonly id: number }
  | { readonly kind: "kstack"; readonly id: number }
  | { readonly kind: "proc"; readonly id: number }
  /** A futex word (a condvar, semaphore, rwlock) by variable id. */
  | { readonly kind: "var"; readonly id: number }
  | { readonly kind: "pipe"; readonly id: number };

/** How a row is marked: `bad` is a broken invariant you should look at. */
export type RowMark = "bad" | "warn" | "dim" | null;

export interface Row {
  readonly ref: ObjectRef;
  /** Cell texts, in the pane's column order. */
  readonly cells: readonly string[];
  readonly mark: RowMark;
  /** Why the row is marked (shown when it is selected), e.g. "owner tid 2 is not in pid 2". */
  readonly note?: string;
}

export interface Pane {
  readonly id: StatePaneId;
  readonly title: string;
  /** Column headers. */
  readonly columns: readonly string[];
  /** Column widths in cells; column `flex` grows to take what is left. */
  readonly widths: readonly number[];
  /** Which side each column's cells keep to. */
  readonly align: readonly Align[];
  readonly flex: number;
  readonly rows: readonly Row[];
}

/** One line of the event list. */
export interface EventRow {
  readonly seq: number;
  readonly time: number;
  readonly cpu: number;
  readonly tid: number;
  /** The event's kind; MISSING_KIND for an event missing from a damaged trace. */
  readonly kind: number;
  readonly kindName: string;
  /** describe(ev, state): one readable line. */
  readonly text: string;
}

/** EventRow.kind of an event in a gap of a damaged trace (its row says it is missing). */
export const MISSING_KIND = -1;

/** What depends on the cursor's position. */
export interface Frame {
  /** Cursor position (-1: initial state). */
  readonly seq: number;
  /** Virtual time at the cursor, ns. */
  readonly time: number;
  /** Events around the cursor, consecutive and increasing. */
  readonly events: readonly EventRow[];
  /** The state panes at the cursor, in display order: cpus, threads, locks, kstacks, sync, procs. */
  readonly panes: readonly Pane[];
}

/** Positions marked on the timeline and in the event list. */
export interface Marks {
  /** Watchpoint hits known so far, increasing. */
  readonly watchHits: readonly number[];
  /** First invariant violation; null none, undefined not known yet. */
  readonly violation: number | null | undefined;
  /** Every event known to break an invariant (all of them once scanned, else those found so far), increasing. */
  readonly violations?: readonly number[];
  /** The panic/fatal/hang event, null when the run did not fail. */
  readonly failure: number | null;
  /** Seq ranges whose events are missing (a damaged trace), as known so far, increasing. */
  readonly gaps?: readonly { readonly fromSeq: number; readonly toSeq: number; readonly reason: string }[];
  /** Scheduling decisions the failure hinges on (ktrace pivots: flipping one avoids it), increasing. */
  readonly pivots?: readonly number[];
}

/**
 * Where things happen across the whole trace, per bucket of consecutive
 * events (see src/replay/density.ts): a snapshot of the background scan.
 */
export interface Density {
  readonly total: number;
  readonly buckets: number;
  /** Kind classes counted (KIND_CLASSES order). */
  readonly classes: number;
  /** Events scanned for kinds and violations: seqs 0..scanned-1. */
  readonly scanned: number;
  /** Events per bucket and class: kinds[b * classes + c]. */
  readonly kinds: Uint32Array;
  /** First and last violating seq per bucket ([2b], [2b+1]; -1 none). */
  readonly violationEnds: Float64Array;
  /** First and last watchpoint-hit seq per bucket ([2b], [2b+1]; -1 none). */
  readonly hitEnds: Float64Array;
  /** Events scanned for watchpoint hits (the watchpoints of now), or null when nothing is watched. */
  readonly hitsScanned: number | null;
  /** Set when the scan stopped early (a trace that does not replay from some event). */
  readonly error: string | null;
}

/** What covers the whole trace: the timeline's density (null before any scan) and marks. */
export interface Overview {
  readonly density: Density | null;
  readonly marks: Marks;
}

// ---- messages, lists, explanations ----

export type Tone = "info" | "hit" | "warn" | "error";

/** A one-line message for the status line. */
export interface Status {
  readonly text: string;
  readonly tone: Tone;
}

/** One row of a dialog list (search results, watchable things). */
export interface ListItem {
  /** Stable key: for search results `ev:<seq>`, for watchables the watch spec, e.g. `lock:3`. */
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

/** The explanation dialog's content. */
export interface Explanation {
  readonly title: string;
  readonly lines: readonly string[];
  /** The event Enter jumps to: who last set the owner, who freed the stack; null when none. */
  readonly seq: number | null;
}

// ---- formatting shared by the views ----

/** A virtual time in ns, readable: 850 ns, 12.345 µs, 3.210 ms, 1.500 s. */
export function formatTime(ns: number): string {
  if (ns < 1_000) return `${ns} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(3)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(3)} ms`;
  return `${(ns / 1_000_000_000).toFixed(3)} s`;
}

/** 10000000 -> "10,000,000". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Outcome kinds that make a trace open post-mortem. */
export function isFailure(kind: OutcomeKind | undefined): boolean {
  return kind === "panic" || kind === "fatal" || kind === "hang";
}
