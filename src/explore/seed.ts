// One seed of an exploration: run the scenario in memory and judge the run.
// Shared by the in-process path (--jobs 1) and the job processes.
//
// A run fails when its outcome is fatal, panic or hang, or when an event
// breaks an invariant (the replay engine's, checked while the run goes: the
// same hooks `ktrace check` uses on a trace, so explore and check agree).

import process from "node:process";
import { ACCESS_KINDS, DESCRIPTOR_ACCESS_KINDS, mayAccess, type Outcome, type World } from "../kernel/index.ts";
import { type Prepared, prepareWith, type RunRequest, reseed, run } from "../record/index.ts";
import { Checker, defaultChecker, INVARIANTS, optInSet, reportingIn, type Violation } from "../replay/invariants.ts";
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

/** Outcome kinds that are failures by themselves (budget is not: the run was cut, not wrong; livelock is). */
export function isFailure(r: Pick<SeedResult, "outcome" | "violation">): boolean {
  const k = r.outcome.kind;
  return r.violation !== null || k === "fatal" || k === "panic" || k === "hang" || k === "livelock";
}

/** A checker over every invariant (one per thread; what its monitors remember of a run is dropped when the next run starts at seq 0). */
export function newChecker(): Checker {
  return new Checker(INVARIANTS);
}

/**
 * Runs `seed` without writing anything; the invariants see each event with
 * the simulator's own state just before and just after it is applied.
 * Throws RunError (exitCode 2) when the scenario cannot run.
 */
export function runSeed(scenario: Scenario, req: VariantRequest, seed: number, checker: Checker): SeedResult {
  return runPrepared(prepareWith(scenario, { ...req, seed }), checker);
}

/** Whether each world seen can emit an access event (mayAccess: one walk of its declarations per world). */
const accesses = new WeakMap<World, boolean>();
/** By checker: the one without the invariants that report only at accesses (itself when it has none). */
const accessFree = new WeakMap<Checker, Checker>();
const ACCESS_KIND_LIST: readonly number[] = [
  ...ACCESS_KINDS.plainRead,
  ...ACCESS_KINDS.plainWrite,
  ...ACCESS_KINDS.atomic,
  ...DESCRIPTOR_ACCESS_KINDS,
];

/**
 * The checker a run of p's world needs: `full`, less the invariants that can
 * report only at an access event when the world declares no variable and makes
 * no pipe (data-race on tcmalloc-fork: a third of the checking per event, for
 * nothing). Same answers.
 */
function checkerFor(p: Prepared, full: Checker): Checker {
  let a = accesses.get(p.world);
  if (a === undefined) {
    a = mayAccess(p.world);
    accesses.set(p.world, a);
  }
  if (a) return full;
  let c = accessFree.get(full);
  if (c === undefined) {
    const kept = reportingIn(full.invariants, ACCESS_KIND_LIST);
    c = kept === full.invariants ? full : new Checker(kept);
    accessFree.set(full, c);
  }
  return c;
}

/**
 * As runSeed, for a prepared variant (its seed is the one run). A scenario
 * with its own invariants is checked against those too, and one whose rules
 * opt in to an invariant (lockOrder, zombieCheck) against that one.
 */
export function runPrepared(p: Prepared, builtIn: Checker): SeedResult {
  const own = p.invariants.length > 0 || optInSet(p.world.config) !== 0;
  const full = own ? defaultChecker(p.invariants, p.world.config) : builtIn;
  const checker = checkerFor(p, full);
  const seed = p.variant.seed;
  let v: Violation | null = null;
  let events = 0;
  const final = run(
    p,
    (ev, after) => {
      events++;
      if (v === null) v = checker.after(after, ev);
    },
    (ev, before) => {
      if (v === null) v = checker.before(before, ev);
    },
    undefined,
    // The checker keeps no event past its call (a violation copies its event).
    true,
  );
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

/**
 * A seed whose run threw instead of ending with an outcome: a bug in ktrace
 * (exitCode 3) or a scenario that cannot run under that seed (exitCode 2, e.g.
 * a build() that throws for it). Explore records it and goes on with the
 * other seeds.
 */
export interface SeedError {
  seed: number;
  message: string;
  exitCode: number;
}

/** The outcome class of an errored seed in BatchResult.outcomes (after the kernel's outcome kinds). */
export const ERROR_OUTCOME = "error";

/** How many passing seeds a batch, a run and a shard list (the first, in seed order): a run to diff a failing one against. */
export const PASSING_KEEP = 10;

/** A seed that passed: the run ended `ok` and broke no invariant (a run cut by the event budget is not one). */
export function isPass(r: Pick<SeedResult, "outcome" | "violation">): boolean {
  return r.violation === null && r.outcome.kind === "ok";
}

/** Tallies of a batch of seeds: failing and errored ones in full, the first passing ones, the rest counted. */
export interface BatchResult {
  from: number;
  to: number;
  failing: SeedResult[];
  errors: SeedError[];
  /** The first PASSING_KEEP passing seeds of the batch, in seed order. */
  passing: number[];
  /** Seeds per outcome kind, and ERROR_OUTCOME for seeds whose run threw. */
  outcomes: Record<string, number>;
  /** Failing seeds per first-violated invariant. */
  violations: Record<string, number>;
  events: number;
}

/** The exit code an exception stands for: its own numeric exitCode (a user-facing error), else 3 (a bug). */
export function exitCodeOf(e: unknown): number {
  const c = typeof e === "object" && e !== null ? (e as { exitCode?: unknown }).exitCode : undefined;
  return typeof c === "number" && Number.isInteger(c) ? c : 3;
}

/** The one-line message of an exception. */
export function messageOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s*\n\s*/g, " ").trim();
}

/**
 * Test hook: KTRACE_TEST_FAULT_SEEDS=7,19 makes runBatch throw an internal
 * error (as a bug in the simulator would) at those seeds, so the tests can
 * check that explore names the seed and carries on, through the job
 * processes too. Read once; unset in normal use.
 */
const FAULT_SEEDS: ReadonlySet<number> = new Set(
  (process.env["KTRACE_TEST_FAULT_SEEDS"] ?? "")
    .split(",")
    .filter((w) => /^[0-9]+$/.test(w))
    .map(Number),
);

/** The error KTRACE_TEST_FAULT_SEEDS injects. */
export class InjectedFault extends Error {}

/**
 * Runs seeds from..to (inclusive). A seed whose run throws is recorded in
 * `errors` (with the exception's exit code) and the batch goes on (the
 * checker's monitors start afresh at the next run's seq 0, so it starts clean).
 */
export function runBatch(
  scenario: Scenario,
  req: VariantRequest,
  from: number,
  to: number,
  checker: Checker,
): BatchResult {
  const out: BatchResult = { from, to, failing: [], errors: [], passing: [], outcomes: {}, violations: {}, events: 0 };
  let base: Prepared | null = null;
  for (let seed = from; seed <= to; seed++) {
    let r: SeedResult;
    try {
      if (FAULT_SEEDS.size > 0 && FAULT_SEEDS.has(seed))
        throw new InjectedFault(`injected fault at seed ${seed} (KTRACE_TEST_FAULT_SEEDS)`);
      const p: Prepared = base === null ? (base = prepareWith(scenario, { ...req, seed })) : reseed(base, seed);
      r = runPrepared(p, checker);
    } catch (e) {
      out.errors.push({ seed, message: messageOf(e), exitCode: exitCodeOf(e) });
      out.outcomes[ERROR_OUTCOME] = (out.outcomes[ERROR_OUTCOME] ?? 0) + 1;
      continue;
    }
    out.events += r.events;
    out.outcomes[r.outcome.kind] = (out.outcomes[r.outcome.kind] ?? 0) + 1;
    if (r.violation) out.violations[r.violation.invariant] = (out.violations[r.violation.invariant] ?? 0) + 1;
    if (isFailure(r)) out.failing.push(r);
    else if (out.passing.length < PASSING_KEEP && isPass(r)) out.passing.push(seed);
  }
  return out;
}
