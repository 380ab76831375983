// Which decisions matter (ktrace pivots): flip each scheduling decision made
// before a trace's failure, one at a time, follow the original decisions
// everywhere else (guided.ts), and keep those whose change avoids the
// failure: the few moments where the bug becomes inevitable.
//
// A pick is flipped to each other thread it could have taken, a preemption
// question to the other answer, a timing draw to each other multiplier.
// Bounded: at most `limit` decisions, the latest before the failure (those
// are the ones left to change once the rest happened). Each flip is one
// re-simulation of the trace's world, independent of the others: the work
// splits over job processes (pivots-worker.ts) when there is enough of it.

import { type Failure, failureText, fallbackOf, type RunResult, rerun, sameFailure, type TraceRun } from "./branch.ts";
import { changeOf, type Decision, GuidedChooser, toVar } from "./strategies/index.ts";

/** Decisions looked at by default. */
export const DEFAULT_PIVOT_LIMIT = 4096;

/**
 * How many decisions to flip so that the re-simulations stay within about
 * `budget` events in all (each flip runs the whole trace again, three times
 * for a timing draw): for callers that must stay quick (the replay UI, the
 * report). At least 1, at most `max`.
 */
export function pivotLimit(events: number, budget: number, max = DEFAULT_PIVOT_LIMIT): number {
  return Math.max(1, Math.min(max, Math.floor(budget / (3 * Math.max(1, events)))));
}

/** One alternative answer to a decision, and how the run then went. */
export interface Flip {
  /** The new answer: pick: a tid; preempt: 0 or 1; timing: 1..4. */
  value: number;
  /** passes: no failure at all; other: it fails, but not the same way; same: the same failure. */
  result: "passes" | "other" | "same";
  /** The failure it had instead, for "other". */
  failure: Failure | null;
  events: number;
}

export interface Pivot {
  decision: Decision;
  /** The alternatives that avoid the failure. */
  avoid: Flip[];
  /** Alternatives tried. */
  tried: number;
}

export interface PivotsResult {
  failure: Failure;
  /** Decisions made before the failure. */
  before: number;
  /** Of those, the ones flipped (the latest `limit`). */
  considered: number;
  /** Re-simulations run. */
  runs: number;
  pivots: Pivot[];
}

/** The alternatives of a decision: every other thread of a pick, the other answer of a preemption or drain question (tso, pso), the other timing multipliers. */
export function alternatives(d: Decision): number[] {
  if (d.kind === "pick") return (d.options ?? []).filter((t) => t !== d.value);
  if (d.kind === "preempt" || d.kind === "drain") return [1 - d.value];
  return [1, 2, 3, 4].filter((v) => v !== d.value);
}

/** The decisions made before (or at) the failure, oldest first. */
export function decisionsBefore(base: RunResult, f: Failure): Decision[] {
  const out: Decision[] = [];
  for (const d of base.decisions ?? []) {
    // A timing draw times the step it follows: the step at the failure's seq counts (its own draw comes after it).
    if (d.kind === "timing" ? d.seq < f.seq : d.seq <= f.seq) out.push(d);
  }
  return out;
}

/** Flips one decision to each alternative. */
export function flipOne(tr: TraceRun, all: readonly Decision[], d: Decision, f: Failure): Pivot {
  const avoid: Flip[] = [];
  const alts = alternatives(d);
  for (const value of alts) {
    const r = rerun(tr, new GuidedChooser(all, [changeOf(d, value)], fallbackOf(tr)));
    if (sameFailure(f, r.failure)) continue;
    avoid.push({ value, result: r.failure ? "other" : "passes", failure: r.failure, events: r.events });
  }
  return { decision: d, avoid, tried: alts.length };
}

/** Which of `ds` to flip: the latest `limit`. */
export function toConsider(ds: readonly Decision[], limit: number): Decision[] {
  return ds.slice(Math.max(0, ds.length - limit));
}

/**
 * The decisions before base's failure whose flip avoids it, in seq order
 * (in-process; cmd/pivots.ts splits the same work over jobs).
 */
export function pivots(tr: TraceRun, base: RunResult, limit = DEFAULT_PIVOT_LIMIT): PivotsResult {
  const f = base.failure!;
  const all = base.decisions ?? [];
  const before = decisionsBefore(base, f);
  const pick = toConsider(before, limit);
  const out: Pivot[] = [];
  let runs = 0;
  for (const d of pick) {
    const p = flipOne(tr, all, d, f);
    runs += p.tried;
    if (p.avoid.length > 0) out.push(p);
  }
  return { failure: f, before: before.length, considered: pick.length, runs, pivots: out };
}

/** One line describing a decision as it was made: "seq 29: the step of tid 1 on cpu 0 took 4× its base cost". */
export function decisionText(d: Decision): string {
  if (d.kind === "pick")
    return `seq ${d.seq}: cpu ${d.cpu} took tid ${d.value} (ready: ${(d.options ?? []).join(", ")})`;
  if (d.kind === "preempt")
    return d.value === 1
      ? `seq ${d.seq}: tid ${d.tid} preempted on cpu ${d.cpu}`
      : `seq ${d.seq}: tid ${d.tid} not preempted on cpu ${d.cpu}`;
  if (d.kind === "drain")
    return d.value === 1
      ? `seq ${d.seq}: tid ${d.tid}'s oldest buffered store${toVar(d)} reached memory (cpu ${d.cpu})`
      : `seq ${d.seq}: tid ${d.tid}'s buffered stores${toVar(d)} stayed in its store buffer (cpu ${d.cpu})`;
  return `seq ${d.seq}: the step of ${d.tid >= 0 ? `tid ${d.tid}` : "the idle cpu"} on cpu ${d.cpu} took ${d.value}× its base cost`;
}

/** What an alternative is, in words: "tid 3 instead", "not preempted", "1×". */
export function alternativeText(d: Decision, value: number): string {
  if (d.kind === "pick") return `tid ${value} instead`;
  if (d.kind === "preempt") return value === 1 ? "preempted" : "not preempted";
  if (d.kind === "drain")
    return value === 1 ? `its oldest buffered store${toVar(d)} reaches memory` : `its stores${toVar(d)} stay buffered`;
  return `${value}×`;
}

/** How a flip went, in words. */
export function flipText(f: Flip): string {
  return f.result === "passes" ? "passes" : `fails otherwise: ${f.failure ? failureText(f.failure) : "?"}`;
}
