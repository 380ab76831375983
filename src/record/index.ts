// The recorder: runs a scenario variant through the simulator and writes
// every event (and periodic snapshots) to a trace file. The one place where
// scenarios meet the trace format; record, explore, the example traces and
// the benchmarks all go through here.

import { basename } from "node:path";
import {
  DecisionRecorder,
  type StrategyContext,
  type StrategySpec,
  seedChooser,
  seedChooserOf,
  strategyContext,
} from "../explore/strategies/index.ts";
import {
  ApplyError,
  type Chooser,
  type InvariantDecl,
  initState,
  type KState,
  params,
  SimError,
  type Sink,
  simulate,
  type World,
} from "../kernel/index.ts";
import { INVARIANT_NAMES } from "../replay/invariants.ts";
import { buildWorldOf, resolveScenario, resolveVariant, type Scenario, type Variant } from "../scenarios/index.ts";
import { THREAD_MIN_EVENTS, type TraceMeta, TraceWriter, type WriteResult } from "../trace/index.ts";
import { encodeSchedule, type Schedule } from "../trace/schedule.ts";

export const WRITER = "ktrace 0.1.0";

/** What to run: a scenario name or file, and the variant. Unset fields take the scenario's defaults. */
export interface RunRequest {
  target: string;
  fix?: string;
  seed?: number;
  cpus?: number;
  /** KEY=VALUE scenario options. */
  opts?: string[];
  maxEvents?: number;
  /** The scheduling strategy (default random). */
  strategy?: StrategySpec;
}

/** A request resolved against its scenario: ready to run any number of times. */
export interface Prepared {
  scenario: Scenario;
  variant: Variant;
  world: World;
  maxEvents: number;
  /** build() read the seed: the world is only good for this seed. */
  readsSeed: boolean;
  /** The scenario's own invariants (checked like the built-in ones; stored in the trace header). */
  invariants: InvariantDecl[];
  /** The scheduling strategy of its runs. */
  strategy: StrategySpec;
}

/** What a recording needs of a run: a Prepared, or a trace's run (shrink, whatif) that has no scenario file behind it. */
export type Runnable = Pick<Prepared, "world" | "maxEvents" | "invariants" | "strategy"> & {
  scenario: Pick<Scenario, "name">;
  variant: Pick<Variant, "fix" | "seed" | "options">;
};

/** A run that broke in the simulator (a bad scenario program, or a kernel bug). exitCode 2. */
export class RunError extends Error {
  readonly exitCode = 2;
}

export async function prepare(req: RunRequest): Promise<Prepared> {
  const scenario = await resolveScenario(req.target);
  return prepareWith(scenario, req);
}

/** As prepare(), for an already loaded scenario (explore prepares once per seed). */
export function prepareWith(scenario: Scenario, req: Omit<RunRequest, "target">): Prepared {
  const variant = resolveVariant(scenario, req);
  const { world, readsSeed, invariants } = buildWorldOf(scenario, variant, INVARIANT_NAMES);
  const maxEvents = req.maxEvents ?? scenario.defaults?.maxEvents ?? params.DEFAULT_MAX_EVENTS;
  if (!Number.isInteger(maxEvents) || maxEvents < 2)
    throw new RunError(`--max-events must be at least 2, got ${maxEvents}`);
  return { scenario, variant, world, maxEvents, readsSeed, invariants, strategy: req.strategy ?? { name: "random" } };
}

const contexts = new WeakMap<World, StrategyContext>();

/** What the strategy needs of p's world (PCT's step count: one pilot run per world, cached). */
export function contextOf(p: Runnable): StrategyContext {
  let c = contexts.get(p.world);
  if (c === undefined) {
    try {
      c = strategyContext(p.strategy, p.world, p.maxEvents);
    } catch (e) {
      throw runError(p, e);
    }
    contexts.set(p.world, c);
  }
  return c;
}

/** The chooser of p's run under its strategy and seed, never undefined (the fallback of a replayed decision list). */
export function strategyChooser(p: Runnable): Chooser {
  return seedChooserOf(p.strategy, p.variant.seed, contextOf(p));
}

/** The chooser of p's run under its strategy and seed (undefined: the kernel's random default). */
export function chooserOf(p: Runnable): Chooser | undefined {
  return seedChooser(p.strategy, p.variant.seed, contextOf(p));
}

/** The same variant under another seed; reuses the world when build() did not read the seed. */
export function reseed(p: Prepared, seed: number): Prepared {
  if (p.readsSeed)
    return prepareWith(p.scenario, {
      fix: p.variant.fix,
      seed,
      cpus: p.variant.cpus,
      opts: Object.entries(p.variant.options).map(([k, v]) => `${k}=${v}`),
      maxEvents: p.maxEvents,
      strategy: p.strategy,
    });
  // Field by field (every field of Prepared): a spread of p cost ~1.5% of a short scenario's runs seed after seed.
  const v = p.variant;
  return {
    scenario: p.scenario,
    variant: { fix: v.fix, seed, cpus: v.cpus, options: v.options },
    world: p.world,
    maxEvents: p.maxEvents,
    readsSeed: p.readsSeed,
    invariants: p.invariants,
    strategy: p.strategy,
  };
}

/**
 * Runs without writing anything; `before` sees each event with the state
 * before it, `sink` with the state after. `chooser` replaces the strategy's.
 * `transientEvents`: the sinks keep no event past their call (SimOptions).
 */
export function run(p: Prepared, sink?: Sink, before?: Sink, chooser?: Chooser, transientEvents = false): KState {
  try {
    return simulate(
      p.world,
      { seed: p.variant.seed, maxEvents: p.maxEvents, before, chooser: chooser ?? chooserOf(p), transientEvents },
      sink,
    );
  } catch (e) {
    throw runError(p, e);
  }
}

function runError(p: Runnable, e: unknown): Error {
  if (e instanceof SimError || e instanceof ApplyError) {
    return new RunError(`scenario ${p.scenario.name} (seed ${p.variant.seed}) cannot run: ${e.message}`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

export function metaOf(p: Runnable, snapshotEvery: number, origin?: string): TraceMeta {
  return {
    scenario: p.scenario.name,
    fix: p.variant.fix,
    seed: p.variant.seed,
    options: p.variant.options,
    config: p.world.config,
    writer: WRITER,
    snapshotEvery,
    maxEvents: p.maxEvents,
    // The world (programs, declarations, rules) and the scenario's own
    // invariants, as data: `check` evaluates them and issue 12's whatif /
    // shrink re-simulate from the trace alone, without the scenario file.
    world: p.world,
    invariants: p.invariants,
    ...(p.strategy.name !== "random" ? { strategy: { ...p.strategy } } : {}),
    ...(origin !== undefined ? { origin } : {}),
  };
}

export interface Recorded extends WriteResult {
  path: string;
  state: KState;
  /** The run's decisions, as stored in the trace's schedule chunk. */
  schedule: Schedule;
}

/**
 * Runs and writes the trace to `path` (a temporary file renamed into place at
 * the end: an existing file is replaced only by a complete trace), with the
 * run's decisions in its schedule chunk. `chooser` replaces the strategy's
 * (a replayed decision list, a what-if branch); `origin` then says how the
 * run was made (a header key). On this thread alone; recordAsync compresses
 * and writes on a second one.
 */
export function record(
  p: Runnable,
  path: string,
  snapshotEvery = params.DEFAULT_SNAPSHOT_EVERY,
  chooser?: Chooser,
  origin?: string,
): Recorded {
  return runInto(p, path, open(p, path, snapshotEvery, origin), chooser);
}

export interface RecordOptions {
  snapshotEvery?: number;
  /**
   * Compress and write on a worker thread (TraceWriter.useThread): true,
   * false, or "auto" (default): when the run may reach THREAD_MIN_EVENTS
   * events. The trace is the same either way.
   */
  thread?: boolean | "auto";
  /** Hears how the recording ran (the writer thread, or why not): for --verbose. */
  note?(line: string): void;
  /** Replaces the strategy's chooser (a replayed decision list); `origin` then says how the run was made. */
  chooser?: Chooser;
  origin?: string;
}

/**
 * record(), with the chunks encoded, compressed and written on a worker
 * thread when the run is long (opts.thread): this thread then only simulates,
 * stores each event as a row and takes the snapshots (docs/BENCHMARKS.md,
 * "Phase 10: recording"). Falls back to this thread when no worker can start.
 */
export async function recordAsync(p: Runnable, path: string, opts: RecordOptions = {}): Promise<Recorded> {
  const writer = open(p, path, opts.snapshotEvery ?? params.DEFAULT_SNAPSHOT_EVERY, opts.origin);
  const want = opts.thread ?? "auto";
  if (want === true || (want === "auto" && p.maxEvents >= THREAD_MIN_EVENTS)) {
    let why: string | null;
    try {
      // The thread encodes the event chunks too (EventRows): this one simulates, stores rows and takes snapshots.
      why = await writer.useThread(undefined, { encode: true });
    } catch (e) {
      writer.abort();
      throw e;
    }
    opts.note?.(
      why === null
        ? "record: compressing and writing on a second thread"
        : `record: no writer thread (${why}); writing on this one`,
    );
  } else
    opts.note?.(`record: writing on this thread (${want === false ? "as asked" : `at most ${p.maxEvents} events`})`);
  return runInto(p, path, writer, opts.chooser);
}

function open(p: Runnable, path: string, snapshotEvery: number, origin: string | undefined): TraceWriter {
  if (!Number.isInteger(snapshotEvery) || snapshotEvery < 1)
    throw new RunError(`--snapshot-every must be at least 1, got ${snapshotEvery}`);
  return TraceWriter.create(path, metaOf(p, snapshotEvery, origin), initState(p.world.config), { snapshotEvery });
}

/** Simulates into the writer, recording the run's decisions, and finishes the trace (aborting it when the run breaks). */
function runInto(p: Runnable, path: string, writer: TraceWriter, chooser: Chooser | undefined): Recorded {
  let rec: DecisionRecorder;
  try {
    rec = new DecisionRecorder(chooser ?? strategyChooser(p), p.world.config.cpus);
  } catch (e) {
    writer.abort();
    throw e;
  }
  let state: KState;
  try {
    // The writer copies each event into its columns: events may be transient.
    state = simulate(
      p.world,
      { seed: p.variant.seed, maxEvents: p.maxEvents, transientEvents: true, chooser: rec },
      (ev, s) => writer.append(ev, s),
    );
  } catch (e) {
    writer.abort();
    throw runError(p, e);
  }
  const schedule = rec.schedule();
  const res = writer.finish({ outcome: state.outcome, schedule: encodeSchedule(schedule) });
  return { ...res, path, state, schedule };
}

/** Default trace name: <scenario>[-<fix>]-s<seed>.ktrace in the current directory. */
export function defaultTracePath(p: Prepared): string {
  const name = basename(p.scenario.name).replace(/[^A-Za-z0-9_.-]/g, "_");
  return `${name}${p.variant.fix ? `-${p.variant.fix}` : ""}-s${p.variant.seed}.ktrace`;
}
