// Replay UI test helpers: a controller over a scenario run held in memory,
// fake Ink keys, and polling for screen content (no wall-clock limits: a
// generous cap on the number of polls).

import type { Key } from 'ink';
import { prepare } from '../../src/record/index.ts';
import { Cursor, MemorySource } from '../../src/replay/index.ts';
import { ReplayController, type OpenAt } from '../../src/tui/controller.ts';
import { traceInfo } from '../../src/tui/engine.ts';

export interface ScenarioReq {
  fix?: string;
  seed?: number;
  opts?: string[];
  maxEvents?: number;
}

/** A cursor over a scenario variant simulated into memory. */
export async function memoryCursor(target: string, req: ScenarioReq = {}, snapshotEvery = 16): Promise<Cursor> {
  const p = await prepare({ target, ...req });
  const src = MemorySource.record(p.world, { seed: p.variant.seed, maxEvents: p.maxEvents }, {
    snapshotEvery,
    chunkEvents: 32,
    meta: { scenario: p.scenario.name, fix: p.variant.fix, seed: p.variant.seed },
  });
  return new Cursor(src);
}

/** A controller as `ktrace replay <target>.ktrace [--at]` would build it. */
export async function controllerFor(target: string, req: ScenarioReq = {}, at?: OpenAt): Promise<ReplayController> {
  const cursor = await memoryCursor(target, req);
  return new ReplayController(cursor, traceInfo(cursor, `${target}.ktrace`), at === undefined ? {} : { at });
}

/** An Ink Key with every flag off except those given. */
export function key(flags: Partial<Key> = {}): Key {
  return {
    upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false,
    home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false,
    backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false,
    ...flags,
  };
}

/** Terminal input for keys, as a terminal sends them. */
export const KEYS = {
  left: '\u001b[D',
  right: '\u001b[C',
  up: '\u001b[A',
  down: '\u001b[B',
  home: '\u001b[H',
  end: '\u001b[F',
  enter: '\r',
  escape: '\u001b',
  tab: '\t',
  shiftTab: '\u001b[Z',
  backspace: '\u007f',
  ctrlC: '\u0003',
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
