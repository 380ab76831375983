// A world of processes run in memory for the kernel tests: its events, final
// state, and the first violation; and small readers of the event list.

import { expect } from "vitest";
import {
  applyEvent,
  type Chooser,
  initState,
  type KConfig,
  type KEvent,
  KIND,
  type KState,
  type LockDecl,
  type Op,
  simulate,
  toPlain,
  type VarDecl,
  validateWorld,
  type World,
} from "../../src/kernel/index.ts";
import { firstViolation, MemorySource, type Violation } from "../../src/replay/index.ts";
import { DEFAULT_RULES } from "../../src/scenarios/index.ts";

export interface WorldRun {
  evs: KEvent[];
  st: KState;
  w: World;
}

export interface WorldOptions {
  vars?: Record<string, VarDecl>;
  locks?: Record<string, LockDecl>;
  rules?: Partial<KConfig>;
  cpus?: number;
  seed?: number;
  maxEvents?: number;
  chooser?: Chooser;
}

/** A world of one process per program (p0, p1, ...), validated (a bad one throws its one line). */
export function worldOf(procs: Op[][], o: WorldOptions = {}): World {
  return {
    config: { cpus: o.cpus ?? 2, ...DEFAULT_RULES, ...(o.rules ?? {}) },
    locks: o.locks ?? {},
    vars: o.vars ?? {},
    procs: procs.map((main, i) => ({ name: `p${i}`, main })),
  };
}

/** Runs the world of these programs; every event is kept. */
export function runWorld(procs: Op[][], o: WorldOptions = {}): WorldRun {
  return runOf(worldOf(procs, o), o);
}

/** Runs a world; every event is kept. */
export function runOf(w: World, o: WorldOptions = {}): WorldRun {
  const bad = validateWorld(w);
  if (bad) throw new Error(bad);
  const evs: KEvent[] = [];
  const st = simulate(
    w,
    { seed: o.seed ?? 1, maxEvents: o.maxEvents ?? 20_000, ...(o.chooser ? { chooser: o.chooser } : {}) },
    (e) => evs.push({ ...e }),
  );
  return { evs, st, w };
}

/** The values reg-set events gave register `reg`, in order. */
export const regs = (evs: KEvent[], reg: string): number[] =>
  evs.filter((e) => e.kind === KIND.regSet && e.s === reg).map((e) => e.a);
/** The events of one kind. */
export const ofKind = (evs: KEvent[], kind: number): KEvent[] => evs.filter((e) => e.kind === kind);
/** The run's first violation, every built-in invariant. */
export const violationOf = (r: Pick<WorldRun, "evs" | "w">): Violation | null =>
  firstViolation(MemorySource.fromEvents(r.w.config, r.evs)).violation;

/**
 * Simulates w with `seed` and folds its events from the initial state, checking the fold's
 * state equals the simulator's after every event; the events.
 */
export function foldEqualsSim(w: World, seed: number, maxEvents = 10_000): KEvent[] {
  const evs: KEvent[] = [];
  const states: unknown[] = [];
  simulate(w, { seed, maxEvents }, (e, s) => {
    evs.push({ ...e });
    states.push(structuredClone(toPlain(s)));
  });
  const f = initState(w.config);
  evs.forEach((e, i) => {
    applyEvent(f, e);
    expect(toPlain(f), `seed ${seed} seq ${e.seq}`).toEqual(states[i]);
  });
  return evs;
}
