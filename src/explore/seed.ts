// One seed of an exploration: run the scenario in memory and judge the run.
// Shared by the in-process path (--jobs 1) and the worker threads.
//
// A run fails when its outcome is fatal, panic or hang, or when an event
// breaks an invariant (the replay engine's, checked while the run goes: the
// same hooks `ktrace check` uses on a trace, so explore and check agree).

import { applyEvent, initState, type Outcome } from "../kernel/index.ts";
import { prepareWith, run, type RunRequest } from "../record/index.ts";
import { Checker, INVARIANTS, type Violation } from "../replay/invariants.ts";
import type { Scenario } from "../scenarios/index.ts";

/** Everything of a run request but the target and the seed. */
export type VariantRequest = Omit<RunRequest, "target" | "seed">;

/** How one seed went. */
export interface SeedResult {
  seed: number;
  outcome: Outcome;
  violation: { seq: number; invariant: string; message: string } | null;
  events: number;
}

/** Outcome kinds that are failures by themselves (budget is not: the run was cut, not wrong). */
export function isFailure(r: Pick<SeedResult, "outcome" | "violation">): boolean {
  const k = r.outcome.kind;
  return r.violation !== null || k === "fatal" || k === "panic" || k === "hang";
}

/** A checker over every invariant (one per thread; it holds no state between runs). */
export function newChecker(): Checker {
  return new Checker(INVARIANTS);
}

/**
 * Runs `seed` without writing anything, folding a shadow state alongside the
 * simulator so the invariants see each event with the state before and after
 * it. Throws RunError (exitCode 2) when the scenario cannot run.
 */
export function runSeed(scenario: Scenario, req: VariantRequest, seed: number, checker: Checker): SeedResult {
  const p = prepareWith(scenario, { ...req, seed });
  const shadow = initState(p.world.config);
  let v: Violation | null = null;
  let events = 0;
  const final = run(p, (ev) => {
    events++;
    if (v !== null) return;
    v = checker.before(shadow, ev);
    applyEvent(shadow, ev);
    if (v === null) v = checker.after(shadow, ev);
  });
  const found = v as Violation | null;
  const outcome: Outcome = final.outcome
    ? { kind: final.outcome.kind, seq: final.outcome.seq, message: final.outcome.message }
    : { kind: "ok", seq: events - 1, message: "" };
  return {
    seed,
    outcome,
    violation: found ? { seq: found.seq, invariant: found.invariant, message: found.message } : null,
    events,
  };
}

/** Tallies of a batch of seeds: failing ones in full, the rest counted. */
export interface BatchResult {
  from: number;
  to: number;
  failing: SeedResult[];
  /** Seeds per outcome kind. */
  outcomes: Record<string, number>;
  /** Failing seeds per first-violated invariant. */
  violations: Record<string, number>;
  events: number;
}

/** Runs seeds from..to (inclusive). */
export function runBatch(scenario: Scenario, req: VariantRequest, from: number, to: number, checker: Checker): BatchResult {
  const out: BatchResult = { from, to, failing: [], outcomes: {}, violations: {}, events: 0 };
  for (let seed = from; seed <= to; seed++) {
    const r = runSeed(scenario, req, seed, checker);
    out.events += r.events;
    out.outcomes[r.outcome.kind] = (out.outcomes[r.outcome.kind] ?? 0) + 1;
    if (r.violation) out.violations[r.violation.invariant] = (out.violations[r.violation.invariant] ?? 0) + 1;
    if (isFailure(r)) out.failing.push(r);
  }
  return out;
}
