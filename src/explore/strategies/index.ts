// Scheduling strategies, one small file each behind the kernel's one Chooser
// interface (as shuttle's random.rs, pct.rs, dfs.rs):
//   random.ts   the default: seeded random preemption and timing
//   pct.ts      PCT: random priorities and d - 1 priority change points
//   dfs.ts      every schedule on one cpu with at most k preemptions
//   calm.ts     no preemption, first come first served, base costs
//   recorder.ts records any chooser's answers (the schedule as data)
//   replay.ts   replays a recorded decision list, then the fallback
//   guided.ts   follows an original run's decisions with some changed
// docs/EXPLORE.md states each strategy's guarantee.

import type { Chooser, World } from "../../kernel/index.ts";
import { pctChooser, pilotSteps } from "./pct.ts";
import { randomChooser } from "./random.ts";

export { calmChooser } from "./calm.ts";
export { BoundedSearch } from "./dfs.ts";
export { type Change, changeOf, GuidedChooser } from "./guided.ts";
export { pctChooser, pilotSteps } from "./pct.ts";
export { randomChooser } from "./random.ts";
export {
  type Decision,
  type DecisionJson,
  type DecisionKind,
  DecisionRecorder,
  decisionJson,
  keyOf,
  toVar,
} from "./recorder.ts";
export { type Mismatch, ReplayChooser } from "./replay.ts";

export const STRATEGY_NAMES = ["random", "pct", "dfs"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** PCT's default depth (bugs of up to 3 ordering constraints). */
export const DEFAULT_DEPTH = 3;
/** Most PCT depth accepted. */
export const MAX_DEPTH = 16;
/** The bounded search's default preemption bound. */
export const DEFAULT_PREEMPTIONS = 2;
/** Most preemptions the bounded search accepts. */
export const MAX_PREEMPTIONS = 8;

/** A strategy and its parameters, as the command line gives them and a trace header stores them. */
export interface StrategySpec {
  name: StrategyName;
  /** pct: the bug depth d (d - 1 priority change points). */
  depth?: number;
  /** dfs: the preemption bound. */
  preemptions?: number;
}

/** A strategy choice that cannot work (exitCode 2). */
export class StrategyError extends Error {
  readonly exitCode = 2;
}

export function isStrategyName(s: string): s is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(s);
}

/** The spec for --strategy NAME [--depth d] [--preemptions k], checked; defaults filled in. */
export function strategySpec(
  name: string | undefined,
  depth: number | undefined,
  preemptions: number | undefined,
): StrategySpec {
  const n = name ?? "random";
  if (!isStrategyName(n)) throw new StrategyError(`unknown strategy '${n}': one of ${STRATEGY_NAMES.join(", ")}`);
  if (depth !== undefined && n !== "pct") throw new StrategyError(`--depth is PCT's (--strategy pct), not ${n}'s`);
  if (preemptions !== undefined && n !== "dfs")
    throw new StrategyError(`--preemptions is the bounded search's (--strategy dfs), not ${n}'s`);
  if (n === "pct") {
    const d = depth ?? DEFAULT_DEPTH;
    if (d < 1 || d > MAX_DEPTH) throw new StrategyError(`--depth must be 1..${MAX_DEPTH}, got ${d}`);
    return { name: n, depth: d };
  }
  if (n === "dfs") {
    const k = preemptions ?? DEFAULT_PREEMPTIONS;
    if (k > MAX_PREEMPTIONS) throw new StrategyError(`--preemptions must be 0..${MAX_PREEMPTIONS}, got ${k}`);
    return { name: n, preemptions: k };
  }
  return { name: n };
}

/** How the strategy is named in text and JSON: "random", "pct depth 3", "dfs preemptions 2". */
export function strategyLabel(s: StrategySpec): string {
  if (s.name === "pct") return `pct depth ${s.depth ?? DEFAULT_DEPTH}`;
  if (s.name === "dfs") return `dfs preemptions ${s.preemptions ?? DEFAULT_PREEMPTIONS}`;
  return s.name;
}

/** What a per-seed strategy needs of the world besides the seed, computed once per variant (PCT: the steps k). */
export interface StrategyContext {
  steps: number;
}

export function strategyContext(s: StrategySpec, world: World, maxEvents: number): StrategyContext {
  return { steps: s.name === "pct" ? pilotSteps(world, maxEvents) : 0 };
}

/**
 * The chooser of one seed's run: undefined for random (the kernel's own
 * default, so the run is the one record has always made), PCT's otherwise.
 * The bounded search has no per-seed runs (BoundedSearch).
 */
export function seedChooser(s: StrategySpec, seed: number, ctx: StrategyContext): Chooser | undefined {
  if (s.name === "pct") return pctChooser(seed, s.depth ?? DEFAULT_DEPTH, ctx.steps);
  if (s.name === "dfs")
    throw new StrategyError("the bounded search (dfs) does not run seeds: use ktrace explore --strategy dfs");
  return undefined;
}

/** The chooser a seed's run uses, never undefined (random made explicit). */
export function seedChooserOf(s: StrategySpec, seed: number, ctx: StrategyContext): Chooser {
  return seedChooser(s, seed, ctx) ?? randomChooser(seed);
}
