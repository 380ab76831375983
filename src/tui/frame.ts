// What the views draw: the trace's fixed facts (TraceInfo) and, per cursor
// position, a Frame (the events around the cursor, the state panes, the
// timeline marks). The controller builds one Frame per move; the views are
// pure functions of (ViewState, Frame, size) and do no work of their own
// beyond cutting these to the terminal's size.

import { KIND, type OutcomeKind } from './engine.ts';
import type { Pane } from './rows.ts';

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
}

/** One line of the event list. */
export interface EventRow {
  readonly seq: number;
  readonly time: number;
  readonly cpu: number;
  readonly tid: number;
  readonly kind: number;
  readonly kindName: string;
  /** describe(ev, state): one readable line. */
  readonly text: string;
}

/** Positions marked on the timeline. */
export interface Marks {
  /** Watchpoint hits known so far, increasing. */
  readonly watchHits: readonly number[];
  /** First invariant violation; null none, undefined not searched yet. */
  readonly violation: number | null | undefined;
  /** Every event known to break an invariant (all of them on small traces, else those found so far), increasing. */
  readonly violations?: readonly number[];
  /** The panic/fatal/hang event, null when the run did not fail. */
  readonly failure: number | null;
  /** Seq ranges whose events are missing (a damaged trace), as known so far. */
  readonly gaps?: readonly { readonly fromSeq: number; readonly toSeq: number }[];
}

export interface Frame {
  /** Cursor position (-1: initial state). */
  readonly seq: number;
  /** Virtual time at the cursor, ns. */
  readonly time: number;
  /** Events around the cursor, consecutive and increasing. */
  readonly events: readonly EventRow[];
  /** The state panes at the cursor, in display order: cpus, threads, locks, kstacks, procs. */
  readonly panes: readonly Pane[];
  readonly marks: Marks;
}

// ---- text helpers shared by the views ----

/** s cut or padded to exactly w cells (cut text ends in …). Assumes one cell per character. */
export function fit(s: string, w: number): string {
  if (w <= 0) return '';
  if (s.length > w) return w === 1 ? '…' : s.slice(0, w - 1) + '…';
  return s + ' '.repeat(w - s.length);
}

/** s cut to at most w cells (not padded). */
export function cut(s: string, w: number): string {
  if (w <= 0) return '';
  return s.length > w ? (w === 1 ? '…' : s.slice(0, w - 1) + '…') : s;
}

/** s right-aligned in w cells (cut from the left when too long). */
export function right(s: string, w: number): string {
  if (w <= 0) return '';
  return s.length >= w ? s.slice(s.length - w) : ' '.repeat(w - s.length) + s;
}

/** A virtual time in ns, readable: 850 ns, 12.345 µs, 3.210 ms, 1.500 s. */
export function formatTime(ns: number): string {
  if (ns < 1_000) return `${ns} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(3)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(3)} ms`;
  return `${(ns / 1_000_000_000).toFixed(3)} s`;
}

/** 10000000 -> "10,000,000". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** The colour of an event kind in the event list (Ink colour names). */
export function kindColor(kind: number): string | undefined {
  switch (kind) {
    case KIND.switch:
      return 'blue';
    case KIND.user:
    case KIND.kwork:
    case KIND.malloc:
    case KIND.free:
    case KIND.tcacheNew:
      return undefined;
    case KIND.procNew:
    case KIND.threadNew:
    case KIND.threadExit:
    case KIND.threadRelease:
    case KIND.procExit:
    case KIND.reparent:
    case KIND.reap:
    case KIND.waitBlock:
      return 'cyan';
    case KIND.fork:
    case KIND.spawn:
    case KIND.exec:
      return 'magenta';
    case KIND.lockNew:
    case KIND.lockAcquire:
    case KIND.lockWait:
    case KIND.lockRelease:
    case KIND.lockRestamp:
      return 'yellow';
    case KIND.kstackAlloc:
    case KIND.kstackFree:
    case KIND.vmarClear:
    case KIND.procfsOpen:
    case KIND.procfsRead:
      return 'green';
    case KIND.unlockNotOwner:
    case KIND.tlbFlush:
    case KIND.pageFault:
    case KIND.fatal:
    case KIND.panic:
    case KIND.hang:
      return 'red';
    default:
      return undefined;
  }
}

/** Kinds drawn dim (routine work that would drown the interesting events). */
export function kindDim(kind: number): boolean {
  return kind === KIND.user || kind === KIND.kwork || kind === KIND.malloc || kind === KIND.free;
}

/** Outcome kinds that make a trace open post-mortem. */
export function isFailure(kind: OutcomeKind | undefined): boolean {
  return kind === 'panic' || kind === 'fatal' || kind === 'hang';
}
