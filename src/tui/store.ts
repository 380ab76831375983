// The replay UI's store: the view state, the engine it is reduced against, and
// the two things that happen between keys.
// - Slow work: when reduce() leaves `busy` set, its message is already in the
//   state; the store lets the screen draw it, then (through `defer`, a frame
//   later) sends `resume` to do the work, queueing keys pressed meanwhile.
// - The background scan behind the timeline: while the engine has scanning to
//   do, the store runs it in slices of SCAN_SLICE_MS between frames and sends
//   `scanned` a few times a second. It pauses while keys arrive, so holding ←
//   never waits for it.
// No rules live here: every decision is in use-replay-state.ts.

import type { Cursor } from "../replay/index.ts";
import { BranchingEngine, type Engine, type EngineOptions, type Explorer, ReplayEngine } from "./engine.ts";
import type { TraceInfo } from "./frame.ts";
import { type Intent, openingState, reduce, type ViewState } from "./use-replay-state.ts";

/** Background work per slice, ms (a key pressed during a slice waits at most about this). */
export const SCAN_SLICE_MS = 8;
/** No background work until this long after the last key, ms. */
export const KEY_QUIET_MS = 150;
/** The timeline is redrawn from the scan at most this often, ms. */
export const SCAN_REDRAW_MS = 100;

/** What the views read: the view state (and its changes), the trace's facts; and where intents go. */
export interface ReplayStore {
  readonly info: TraceInfo;
  subscribe(listener: () => void): () => void;
  getState(): ViewState;
  dispatch(intent: Intent): void;
}

export interface StoreOptions {
  /**
   * Runs slow work later, so the screen can first say what is happening (run.tsx:
   * a 40 ms timer). Absent: slow work runs at once.
   */
  readonly defer?: (work: () => void) => void;
  /** Runs a background slice after `ms` (run.tsx: setTimeout). Absent: no background scan (tests call engine.scan). */
  readonly schedule?: (work: () => void, ms: number) => void;
  /** Milliseconds, increasing (default performance.now). */
  readonly now?: () => number;
}

export class Store<E extends Engine = Engine> implements ReplayStore {
  readonly engine: E;
  private state: ViewState;
  private readonly listeners = new Set<() => void>();
  private readonly queue: Intent[] = [];
  private busy = false;
  private readonly defer: StoreOptions["defer"];
  private readonly schedule: StoreOptions["schedule"];
  private readonly now: () => number;
  private lastKey = -Infinity;
  private lastRedraw = -Infinity;
  private scanning = false;
  private stopped = false;

  constructor(engine: E, initial: ViewState, opts: StoreOptions = {}) {
    this.engine = engine;
    this.state = initial;
    this.defer = opts.defer;
    this.schedule = opts.schedule;
    this.now = opts.now ?? (() => performance.now());
    this.startScan();
  }

  get info(): TraceInfo {
    return this.engine.info;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getState(): ViewState {
    return this.state;
  }

  /** Whether slow work is under way (intents are queued meanwhile). */
  isBusy(): boolean {
    return this.busy;
  }

  /** Reduces one intent (queued while slow work is under way), then notifies once. */
  dispatch(intent: Intent): void {
    if (this.busy) {
      this.queue.push(intent);
      return;
    }
    if (intent.type === "command" || intent.type === "type") this.lastKey = this.now();
    const before = this.state;
    this.state = reduce(this.state, intent, this.engine);
    if (this.state.busy !== null) {
      if (this.defer === undefined) {
        this.state = reduce(this.state, { type: "resume" }, this.engine);
      } else {
        this.busy = true;
        this.notify();
        this.defer(() => {
          this.busy = false;
          const at = this.state;
          this.state = reduce(this.state, { type: "resume" }, this.engine);
          if (this.state !== at) this.notify();
          for (const q of this.queue.splice(0)) this.dispatch(q);
          this.startScan();
        });
        return;
      }
    }
    if (this.state !== before) this.notify();
    // Work a key added (a watchpoint's hits) starts the scan again.
    if (intent.type === "command") this.startScan();
  }

  /** Stops the background scan (the app is closing). */
  stop(): void {
    this.stopped = true;
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private startScan(): void {
    if (this.schedule === undefined || this.scanning || this.stopped) return;
    this.scanning = true;
    this.schedule(this.slice, 0);
  }

  /** One background slice, then the next (later while keys arrive); stops when the engine has nothing left. */
  private readonly slice = (): void => {
    if (this.stopped) return;
    const quiet = this.now() - this.lastKey;
    if (this.busy || quiet < KEY_QUIET_MS) {
      this.schedule!(this.slice, this.busy ? SCAN_REDRAW_MS : KEY_QUIET_MS - quiet);
      return;
    }
    const more = this.engine.scan(SCAN_SLICE_MS);
    if (!more || this.now() - this.lastRedraw >= SCAN_REDRAW_MS) {
      this.lastRedraw = this.now();
      this.dispatch({ type: "scanned" });
    }
    if (more) this.schedule!(this.slice, 0);
    else this.scanning = false;
  };
}

/**
 * The store `ktrace replay` runs: an engine over the cursor, at --at or (for a
 * failed run) post-mortem at the failure, and the view state there.
 */
export function openReplay(
  cursor: Cursor,
  info: TraceInfo,
  opts: EngineOptions & StoreOptions = {},
): Store<ReplayEngine> {
  const engine = new ReplayEngine(cursor, info, opts);
  return new Store(engine, openingState(engine, opts.at === undefined), opts);
}

/** As openReplay, with what-if branches and the decisions that matter (the CLI's explorer). */
export function openExploring(
  cursor: Cursor,
  info: TraceInfo,
  explorer: Explorer,
  opts: EngineOptions & StoreOptions = {},
): Store<BranchingEngine> {
  const engine = new BranchingEngine(cursor, info, explorer, opts);
  return new Store(engine, openingState(engine, opts.at === undefined), opts);
}
