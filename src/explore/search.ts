// The bounded systematic search (strategies/dfs.ts) over a world: every
// schedule on one cpu with at most k preemptions, each run once and judged
// as check does. Used by `explore --strategy dfs` (all failing schedules,
// or the proof that there is none) and by shrink (the fewest preemptions a
// failure needs, by searching bounds 0, 1, 2, ... in turn).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { buffersStores, OUTCOME_KINDS, type Outcome } from "../kernel/index.ts";
import { type Prepared, prepare, record } from "../record/index.ts";
import { INVARIANT_NAMES } from "../replay/invariants.ts";
import { scheduleText } from "../trace/schedule.ts";
import { BranchError, type Failure, type RunResult, rerun, type WorldRun } from "./branch.ts";
import { type ExploreDoc, ordered } from "./doc.ts";
import { BoundedSearch, calmChooser, ReplayChooser, strategyLabel } from "./strategies/index.ts";

/** Schedules a search runs by default before it stops incomplete. */
export const DEFAULT_SEARCH_RUNS = 100_000;

export interface SearchResult {
  bound: number;
  /** Schedules run. */
  runs: number;
  /** Every schedule within the bound was run (the search was not cut by maxRuns or stopped at a match). */
  complete: boolean;
  /** The failing schedules kept (the first `keep`, in search order), with their 1-based number in the search. */
  failing: { n: number; result: RunResult }[];
  /** All failing schedules found. */
  failingCount: number;
  /** Schedules per outcome kind. */
  outcomes: Record<string, number>;
  /** Failing schedules per first-violated invariant. */
  violations: Record<string, number>;
  /** Fewest preemptions of a failing schedule (-1: none failed). */
  fewest: number;
  /**
   * Some run armed a timer (a sleep, a timed wait): the search runs every
   * step at its base cost, and other costs could wake a sleeper at another
   * point, so "every schedule" means every schedule at base step costs.
   */
  timed: boolean;
}

export interface SearchOptions {
  maxRuns?: number;
  /** Failing schedules to keep (default 10). */
  keep?: number;
  /** Stop at the first failing schedule for which this holds. */
  stopAt?: (f: Failure) => boolean;
}

/**
 * Runs every schedule of `w` (a one-cpu world) with at most `bound`
 * preemptions; a tso world (two or more cpus) with every answer to its drain
 * questions too, at base step costs (each run `timed`).
 */
export function search(w: WorldRun, bound: number, opts: SearchOptions = {}): SearchResult {
  // One cpu, except under tso, where one cpu is sc (a switch drains the store buffer): there two or more, timing fixed.
  const tso = buffersStores(w.world.config);
  const cpus = w.world.config.cpus;
  if (!tso && cpus !== 1)
    throw new BranchError(
      `the bounded search runs on one cpu; this run has ${cpus} (use --cpus 1): on more, timing also decides the interleaving, and it enumerates timing only under the tso and pso memory models`,
    );
  if (tso && cpus < 2)
    throw new BranchError(
      `on one cpu the ${w.world.config.memory} memory model is sc (a switch drains the store buffer), so the bounded search of a ${w.world.config.memory} world runs on two or more cpus (use --cpus 2)`,
    );
  const maxRuns = opts.maxRuns ?? DEFAULT_SEARCH_RUNS;
  const keep = opts.keep ?? 10;
  const s = new BoundedSearch(bound, tso);
  const out: SearchResult = {
    bound,
    runs: 0,
    complete: false,
    failing: [],
    failingCount: 0,
    outcomes: {},
    violations: {},
    fewest: -1,
    timed: false,
  };
  for (;;) {
    if (out.runs >= maxRuns) return out;
    const ch = s.next();
    if (ch === null) break;
    out.runs++;
    const r = rerun(w, ch);
    // tso: the bound counts the delays too (a step at 4x its base cost: the search's only timing draws above 1).
    if (tso) for (const j of r.schedule.jitter) if (j > 1) r.preemptions++;
    out.outcomes[r.outcome.kind] = (out.outcomes[r.outcome.kind] ?? 0) + 1;
    if (r.timed) out.timed = true;
    if (r.failure === null) continue;
    out.failingCount++;
    if (out.fewest < 0 || r.preemptions < out.fewest) out.fewest = r.preemptions;
    if (r.violation) out.violations[r.violation.invariant] = (out.violations[r.violation.invariant] ?? 0) + 1;
    if (out.failing.length < keep) out.failing.push({ n: out.runs, result: r });
    if (opts.stopAt?.(r.failure)) {
      if (out.failing[out.failing.length - 1]?.result !== r) out.failing.push({ n: out.runs, result: r });
      return out;
    }
  }
  out.complete = true;
  return out;
}

/**
 * The fewest preemptions with which w fails as `match` says, searching
 * bounds 0 .. max in turn (each exhaustively, so the first bound with a
 * match is the minimum, and the bounds below it are proof). Null `found`
 * when no bound up to max has one; `proven` is the highest bound searched
 * completely without a match (-1: none).
 */
export function fewestPreemptions(
  w: WorldRun,
  max: number,
  match: (f: Failure) => boolean,
  maxRuns = DEFAULT_SEARCH_RUNS,
): { found: RunResult | null; proven: number; runs: number; searched: number[]; timed: boolean } {
  let runs = 0;
  let timed = false;
  let proven = -1;
  const searched: number[] = [];
  for (let b = 0; b <= max; b++) {
    const r = search(w, b, { maxRuns: maxRuns - runs, keep: 0, stopAt: match });
    runs += r.runs;
    searched.push(r.runs);
    timed ||= r.timed;
    const hit = r.failing.find((x) => x.result.failure !== null && match(x.result.failure));
    if (hit) return { found: rerun(w, replayOf(hit.result), { annotate: true }), proven, runs, searched, timed };
    if (!r.complete) break;
    proven = b;
  }
  return { found: null, proven, runs, searched, timed };
}

/** A chooser that runs r's schedule again. */
function replayOf(r: RunResult): ReplayChooser {
  return new ReplayChooser(r.schedule, calmChooser());
}

// ---- explore --strategy dfs ----

export interface SearchRequest {
  target: string;
  fix?: string;
  opts?: string[];
  maxEvents?: number;
  /** cpus (--cpus): 1 unless the world runs under tso, whose default is the scenario's (at least 2). */
  cpus?: number;
  bound: number;
  maxSchedules?: number;
  /** Write the traces of the first 10 failing schedules (all with saveAll) into this directory. */
  save?: string;
  saveAll?: boolean;
}

export interface ExploreSearchResult extends SearchResult {
  prepared: Prepared;
  saved: string[];
}

/** Failing schedules listed (and saved without saveAll). */
export const SEARCH_LIST = 10;

/** Runs the bounded search over a scenario variant on one cpu (a tso world: on its own cpus, or x.cpus). */
export async function exploreSearch(x: SearchRequest): Promise<ExploreSearchResult> {
  const prep = (cpus: number | undefined) =>
    prepare({
      target: x.target,
      fix: x.fix,
      opts: x.opts,
      maxEvents: x.maxEvents,
      cpus,
      seed: 0,
      strategy: { name: "dfs", preemptions: x.bound },
    });
  let p = await prep(x.cpus ?? 1);
  if (x.cpus === undefined && buffersStores(p.world.config)) p = await prep(undefined);
  const w: WorldRun = {
    file: p.scenario.name,
    world: p.world,
    invariants: p.invariants,
    maxEvents: p.maxEvents,
    seed: 0,
  };
  const all = x.save !== undefined && x.saveAll === true;
  const res = search(w, x.bound, {
    maxRuns: x.maxSchedules ?? DEFAULT_SEARCH_RUNS,
    keep: all ? Number.MAX_SAFE_INTEGER : SEARCH_LIST,
  });
  const saved: string[] = [];
  if (x.save !== undefined && res.failing.length > 0) {
    mkdirSync(x.save, { recursive: true });
    const base = p.scenario.name.replace(/[^A-Za-z0-9_.-]/g, "_");
    for (const f of all ? res.failing : res.failing.slice(0, SEARCH_LIST)) {
      const path = join(x.save, `${base}${p.variant.fix ? `-${p.variant.fix}` : ""}-dfs-${f.n}.ktrace`);
      record(
        p,
        path,
        undefined,
        replayOf(f.result),
        `explore --strategy dfs --preemptions ${x.bound}, schedule ${f.n}`,
      );
      saved.push(path);
    }
  }
  return { ...res, failing: res.failing.slice(0, SEARCH_LIST), prepared: p, saved };
}

/** explore --strategy dfs --json. */
export interface SearchDoc
  extends Pick<ExploreDoc, "scenario" | "fix" | "options" | "cpus" | "memory" | "maxEvents" | "strategy"> {
  preemptions: number;
  /** Every schedule within the bound ran. */
  complete: boolean;
  /** Some schedule armed a timer: `complete` covers the schedules at base step costs only (SearchResult.timed). */
  timed: boolean;
  scanned: number;
  /** The first failing schedules: their number in the search, preemptions, outcome, first violation, and the decision list that replays them. */
  failing: {
    schedule: number;
    preemptions: number;
    outcome: Outcome;
    violation: { seq: number; invariant: string; message: string } | null;
    decisions: string;
  }[];
  failingCount: number;
  /** Fewest preemptions of a failing schedule, -1 when none failed. */
  fewest: number;
  outcomes: Record<string, number>;
  violations: Record<string, number>;
  saved: string[];
}

export function searchDoc(r: ExploreSearchResult): SearchDoc {
  const p = r.prepared;
  return {
    scenario: p.scenario.name,
    fix: p.variant.fix,
    options: p.variant.options,
    cpus: p.variant.cpus,
    ...(p.world.config.memory !== undefined && p.world.config.memory !== "sc" ? { memory: p.world.config.memory } : {}),
    maxEvents: p.maxEvents,
    strategy: strategyLabel(p.strategy),
    preemptions: r.bound,
    complete: r.complete,
    timed: r.timed,
    scanned: r.runs,
    failing: r.failing.map((f) => ({
      schedule: f.n,
      preemptions: f.result.preemptions,
      outcome: f.result.outcome,
      violation: f.result.violation
        ? { seq: f.result.violation.seq, invariant: f.result.violation.invariant, message: f.result.violation.message }
        : null,
      decisions: scheduleText(f.result.schedule),
    })),
    failingCount: r.failingCount,
    fewest: r.fewest,
    outcomes: ordered(r.outcomes, OUTCOME_KINDS),
    violations: ordered(r.violations, INVARIANT_NAMES),
    saved: r.saved,
  };
}
