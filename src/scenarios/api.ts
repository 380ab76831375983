// The scenario API: what a seed scenario or a user's scenario file exports.

import type { InvariantDecl, KConfig, LockDecl, ProcSpec, VarDecl } from "../kernel/index.ts";

/** Kernel rules a scenario may set; the rest default to Linux-like behaviour. */
export type Rules = Partial<Omit<KConfig, "cpus">>;

export const DEFAULT_RULES: Omit<KConfig, "cpus"> = {
  tidAfterFork: "inherit",
  kstackFree: "deferred",
  stackCheck: "silent",
  procfsVmar: "check",
};

/** What build() returns: the initial processes and the rules they run under. */
export interface WorldSpec {
  rules?: Rules;
  locks?: Record<string, LockDecl>;
  /** Shared variables by name. */
  vars?: Record<string, VarDecl>;
  procs: ProcSpec[];
  firstTid?: number;
  /** A run cut by the budget is a livelock when no progress op ran in this many last events (default 10,000, at most half the budget). */
  progressWindow?: number;
  /** The scenario's own invariants (invariant(name, check, message)). */
  invariants?: InvariantDecl[];
}

export interface ScenarioOption {
  values: readonly string[];
  default: string;
  doc: string;
}

export interface BuildContext {
  /** Fix name, "" for the buggy variant. */
  fix: string;
  /** Option values, every declared option present. */
  options: Record<string, string>;
  cpus: number;
  seed: number;
}

export interface Scenario {
  name: string;
  /** One line. */
  description: string;
  /** Where the bug comes from (issue, PR). */
  upstream?: string;
  /** Fix name → what it changes. The buggy variant is the default (no --fix). */
  fixes: Record<string, string>;
  options?: Record<string, ScenarioOption>;
  defaults?: { seed?: number; cpus?: number; maxEvents?: number };
  build(ctx: BuildContext): WorldSpec;
}

/** Identity with type checking, for scenario files: `export default defineScenario({...})`. */
export function defineScenario(s: Scenario): Scenario {
  return s;
}
