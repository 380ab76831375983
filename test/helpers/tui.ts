// Replay UI test helpers: a store over a scenario run held in memory, a fake
// engine for the reducer, fake Ink keys, and polling for screen content (no
// wall-clock limits: a generous cap on the number of polls).

import type { Key } from "ink";
import { prepare } from "../../src/record/index.ts";
import { Cursor, MemorySource } from "../../src/replay/index.ts";
import {
  type Engine,
  type EngineOptions,
  type OpenAt,
  type ReplayEngine,
  type SlowWork,
  traceInfo,
} from "../../src/tui/engine.ts";
import type { Frame, ObjectRef, Pane, PerPane, StatePaneId } from "../../src/tui/frame.ts";
import { openReplay, type Store, type StoreOptions } from "../../src/tui/store.ts";
import { EMPTY_OVERVIEW } from "../../src/tui/use-replay-state.ts";

export interface ScenarioReq {
  fix?: string;
  seed?: number;
  opts?: string[];
  maxEvents?: number;
}

/** A cursor over a scenario variant simulated into memory. */
export async function memoryCursor(target: string, req: ScenarioReq = {}, snapshotEvery = 16): Promise<Cursor> {
  const p = await prepare({ target, ...req });
  const src = MemorySource.record(
    p.world,
    { seed: p.variant.seed, maxEvents: p.maxEvents },
    {
      snapshotEvery,
      chunkEvents: 32,
      meta: { scenario: p.scenario.name, fix: p.variant.fix, seed: p.variant.seed, world: p.world },
    },
  );
  return new Cursor(src);
}

/** The store `ktrace replay <target>.ktrace [--at]` would build. */
export async function storeFor(
  target: string,
  req: ScenarioReq = {},
  at?: OpenAt,
  opts: EngineOptions & StoreOptions = {},
): Promise<Store<ReplayEngine>> {
  const cursor = await memoryCursor(target, req);
  return openReplay(cursor, traceInfo(cursor, `${target}.ktrace`), at === undefined ? opts : { ...opts, at });
}

/** What a fake engine was asked, in order (named as the reducer's work: seek, continue, query, ...). */
export type Call =
  | { kind: "seek"; seq: number; via?: "step" | "stepBack" }
  | { kind: "continue"; dir: 1 | -1 }
  | { kind: "find-violation" }
  | { kind: "query"; list: "search" | "watch-pick"; text: string }
  | { kind: "add-watch"; id: string }
  | { kind: "remove-watch"; id: number }
  | { kind: "explain"; pane: string; row: number };

/** A frame at seq whose panes have the given numbers of rows. */
export function fakeFrame(seq: number, rows: PerPane): Frame {
  const pane = (id: StatePaneId): Pane => ({
    id,
    title: id,
    columns: ["id"],
    widths: [3],
    align: ["right"],
    flex: 0,
    rows: Array.from({ length: rows[id] }, (_, i) => ({
      ref: { kind: "cpu", id: i } as ObjectRef,
      cells: [`${i}`],
      mark: null,
    })),
  });
  return {
    seq,
    time: 0,
    events: [],
    panes: (["cpus", "threads", "locks", "kstacks", "sync", "procs"] as const).map(pane),
  };
}

export interface FakeEngine extends Engine {
  readonly calls: Call[];
}

/**
 * An engine over nothing for the reducer's tests: records every call; seeks go
 * where asked; search finds `found` for any text; violation and slow answers as
 * given.
 */
export function fakeEngine(o: {
  total: number;
  rows: PerPane;
  found?: { items: { id: string; label: string; seq?: number }[]; all: number[]; scope: string };
  watchables?: { id: string; label: string }[];
  violation?: { seq: number; line: string } | null;
  slow?: SlowWork[];
}): FakeEngine {
  const calls: Call[] = [];
  let seq = -1;
  let watches: { id: number; label: string }[] = [];
  const frame = () => fakeFrame(seq, o.rows);
  return {
    calls,
    info: {
      file: "t.ktrace",
      scenario: "t",
      fix: "",
      seed: 1,
      cpus: 2,
      total: o.total,
      outcome: null,
      snapshotSeqs: [-1],
      recovery: null,
    },
    failure: null,
    frame,
    seek(to, via) {
      calls.push(via === undefined ? { kind: "seek", seq: to } : { kind: "seek", seq: to, via });
      seq = to;
      return frame();
    },
    continue(dir) {
      calls.push({ kind: "continue", dir });
      return { frame: frame(), status: { text: "stopped", tone: "hit" } };
    },
    knownViolation: () => o.violation,
    findViolation() {
      calls.push({ kind: "find-violation" });
      return o.violation ?? null;
    },
    search(text) {
      calls.push({ kind: "query", list: "search", text });
      return text === "" || o.found === undefined ? { items: [], all: [], scope: o.found?.scope ?? "" } : o.found;
    },
    watchables(text) {
      calls.push({ kind: "query", list: "watch-pick", text });
      return (o.watchables ?? []).filter(
        (w) => text === "" || w.label.toLowerCase().includes(text.toLowerCase()) || w.id.includes(text),
      );
    },
    addWatch(id) {
      calls.push({ kind: "add-watch", id });
      watches = [...watches, { id: watches.length + 1, label: id }];
      return { watches, status: { text: `watching ${id}`, tone: "info" } };
    },
    removeWatch(id) {
      calls.push({ kind: "remove-watch", id });
      watches = watches.filter((w) => w.id !== id);
      return { watches, status: { text: `removed ${id}`, tone: "info" } };
    },
    explain(pane, row) {
      calls.push({ kind: "explain", pane, row });
      return { title: `${pane} ${row}`, lines: ["why"], seq: null };
    },
    overview: () => EMPTY_OVERVIEW,
    slow: (work) => ((o.slow ?? []).includes(work) ? `${work}…` : undefined),
    scan: () => false,
  };
}

/** An Ink Key with every flag off except those given. */
export function key(flags: Partial<Key> = {}): Key {
  return {
    upArrow: false,
    downArrow: false,
    leftArrow: false,
    rightArrow: false,
    pageDown: false,
    pageUp: false,
    home: false,
    end: false,
    return: false,
    escape: false,
    ctrl: false,
    shift: false,
    tab: false,
    backspace: false,
    delete: false,
    meta: false,
    super: false,
    hyper: false,
    capsLock: false,
    numLock: false,
    ...flags,
  };
}

/** Terminal input for keys, as a terminal sends them. */
export const KEYS = {
  left: "\u001b[D",
  right: "\u001b[C",
  up: "\u001b[A",
  down: "\u001b[B",
  home: "\u001b[H",
  end: "\u001b[F",
  enter: "\r",
  escape: "\u001b",
  tab: "\t",
  shiftTab: "\u001b[Z",
  backspace: "\u007f",
  ctrlC: "\u0003",
} as const;

/** Yields to the event loop (timers included, so Ink's throttled renders run). */
export function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1));
}

/**
 * Polls until get() satisfies ok; returns the last value. Gives up after
 * `polls` polls (a cap on attempts, not a time limit) and returns what it has,
 * so the test's own assertion reports the mismatch.
 */
export async function waitFor<T>(get: () => T, ok: (v: T) => boolean, polls = 2000): Promise<T> {
  let v = get();
  for (let i = 0; i < polls && !ok(v); i++) {
    await tick();
    v = get();
  }
  return v;
}
