// Shrinking a failing schedule (ktrace shrink), the Hypothesis way: shrink
// the run's decisions, not the program. A candidate is the current failing
// run with some decisions changed towards the calm answer (no preemption,
// first come first served, base cost), every other decision followed as
// recorded (guided.ts), and the calm answer wherever there is none. A
// candidate is kept when it fails the same way (the same invariant at the
// same kind of event, or the same outcome) and is smaller: fewer
// preemptions first, then fewer events. Every candidate is a schedule the
// kernel itself ran, so the result always replays.
//
// Passes, repeated until none helps (or the run budget is spent):
//   1. everything after the failure calm (a shorter choice sequence);
//   2. all preemptions removed at once, then each one alone (latest first);
//   3. each timing draw before the failure lowered to 1.
// Deterministic: the candidates and their order depend only on the trace.

import { type Failure, type RunResult, rerun, sameFailure, type TraceRun } from "./branch.ts";
import { fewestPreemptions } from "./search.ts";
import { type Change, calmChooser, changeOf, type Decision, GuidedChooser } from "./strategies/index.ts";

/** Re-simulations a shrink may run by default. */
export const DEFAULT_SHRINK_RUNS = 20_000;

export interface ShrinkResult {
  failure: Failure;
  before: RunResult;
  after: RunResult;
  /** Candidates run (the bounded search's schedules included). */
  runs: number;
  /** The run budget ran out before the passes stopped finding smaller runs. */
  budgetHit: boolean;
  /**
   * On one cpu: the highest preemption bound searched exhaustively without
   * finding this failure (so `after`'s preemptions are the fewest it needs
   * when this is after.preemptions - 1); null when not searched (several
   * cpus), or when the world sleeps or waits with a timeout (`timed`).
   */
  provenBelow: number | null;
  /** The bounded search met a timer: it runs steps at base cost, so its bounds prove nothing about other timings. */
  timed: boolean;
}

/** a is smaller than b: fewer preemptions, then fewer events. */
export function smaller(a: RunResult, b: RunResult): boolean {
  return a.preemptions < b.preemptions || (a.preemptions === b.preemptions && a.events < b.events);
}

/** Shrinks base (a failing, annotated run of tr). */
export function shrink(tr: TraceRun, base: RunResult, maxRuns = DEFAULT_SHRINK_RUNS): ShrinkResult {
  const f = base.failure!;
  let cur = base;
  let runs = 0;
  let budgetHit = false;
  /** Runs the candidate; keeps it when it is smaller and fails the same way. */
  const attempt = (changes: Change[], keep: (d: Decision) => boolean = () => true): boolean => {
    if (runs >= maxRuns) {
      budgetHit = true;
      return false;
    }
    runs++;
    const ds = (cur.decisions ?? []).filter(keep);
    const r = rerun(tr, new GuidedChooser(ds, changes, calmChooser()), { annotate: true });
    if (!sameFailure(f, r.failure) || !smaller(r, cur)) return false;
    cur = r;
    return true;
  };
  const passes = () => {
    for (let progress = true; progress && !budgetHit; ) {
      progress = false;
      const fail = cur.failure!;
      // 1. Calm after the failure.
      if (attempt([], (d) => d.seq <= fail.seq)) progress = true;
      // 2. Preemptions: all at once, then one at a time, latest first.
      const yes = () => (cur.decisions ?? []).filter((d) => d.kind === "preempt" && d.value === 1);
      if (yes().length > 1 && attempt(yes().map((d) => changeOf(d, 0)))) progress = true;
      for (let i = yes().length - 1; i >= 0 && !budgetHit; i--) {
        const list = yes();
        const d = list[Math.min(i, list.length - 1)];
        if (d && attempt([changeOf(d, 0)])) progress = true;
      }
      // 3. Timing towards 1, latest first.
      const draws = (cur.decisions ?? []).filter((d) => d.kind === "timing" && d.value > 1 && d.seq < cur.failure!.seq);
      for (let i = draws.length - 1; i >= 0 && !budgetHit; i--) {
        const d = draws[i]!;
        const now = (cur.decisions ?? []).find(
          (x) => x.kind === "timing" && x.cpu === d.cpu && x.tid === d.tid && x.nth === d.nth,
        );
        if (now && now.value > 1 && attempt([changeOf(now, 1)])) progress = true;
      }
    }
  };
  passes();
  // 4. On one cpu: search bounds 0 .. p-1 exhaustively (smallest first) for
  // the same failure; the first bound with one is the fewest the failure
  // needs, and the bounds searched before it are the proof.
  let provenBelow: number | null = null;
  let timed = false;
  if (tr.world.config.cpus === 1 && cur.preemptions > 0 && !budgetHit) {
    const s = fewestPreemptions(tr, cur.preemptions - 1, (x) => sameFailure(f, x), maxRuns - runs);
    runs += s.runs;
    timed = s.timed;
    provenBelow = s.timed ? null : s.proven;
    if (s.found && smaller(s.found, cur)) {
      cur = s.found;
      passes();
    } else if (!s.found && s.proven < cur.preemptions - 1) budgetHit = true;
  }
  return { failure: f, before: base, after: cur, runs, budgetHit, provenBelow, timed };
}
