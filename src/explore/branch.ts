// Re-simulation from a trace alone: the world, the scenario's own invariants,
// the budget and the strategy are in its header, the decisions in its
// schedule chunk (or, for a trace written before the chunk existed, from
// re-running its seed). shrink, whatif, pivots and diff start here: they run
// the trace's world again under a chooser that follows, changes or replays
// the recorded decisions, and judge each run as `ktrace check` would.

import {
  ApplyError,
  buffersStores,
  type Chooser,
  EVENT_KINDS,
  type InvariantDecl,
  type KEvent,
  KIND,
  type KState,
  type Outcome,
  params,
  SimError,
  simulate,
  type World,
} from "../kernel/index.ts";
import type { ReplaySource } from "../replay/index.ts";
import { defaultChecker, type Violation } from "../replay/invariants.ts";
import { openSource, type TraceSource } from "../replay/source.ts";
import { TraceCorruptError } from "../trace/errors.ts";
import { decodeSchedule, type Schedule, ScheduleError } from "../trace/schedule.ts";
import {
  type Decision,
  DecisionRecorder,
  isStrategyName,
  type Mismatch,
  ReplayChooser,
  type StrategySpec,
  seedChooserOf,
  strategyContext,
} from "./strategies/index.ts";

/** A trace that cannot be re-simulated (no world in its header, a bad strategy or schedule): one line, exit 2. */
export class BranchError extends Error {
  readonly exitCode = 2;
}

/** A world to run: what rerun needs (a trace's run, or a prepared scenario variant). */
export type WorldRun = Pick<TraceRun, "file" | "world" | "invariants" | "maxEvents" | "seed">;

/** Everything needed to run a trace's world again. */
export interface TraceRun {
  /** The trace's file name, for messages. */
  file: string;
  scenario: string;
  fix: string;
  seed: number;
  options: Record<string, string>;
  world: World;
  invariants: InvariantDecl[];
  maxEvents: number;
  snapshotEvery: number;
  strategy: StrategySpec;
  /** The recorded run's decisions. */
  schedule: Schedule;
  /** Where they came from: the trace's schedule chunk, or its seed run again (a trace written before format 2.1). */
  decisionsFrom: "trace" | "seed";
  /** The trace's own run: its event count and outcome, to check a re-simulation against. */
  events: number;
  outcome: Outcome | null;
}

/** The strategy a trace header names (absent: random). Untrusted. */
export function strategyOfMeta(x: unknown): StrategySpec {
  if (x === undefined || x === null) return { name: "random" };
  if (typeof x !== "object" || Array.isArray(x)) throw new BranchError("the trace header's strategy is not a map");
  const o = x as Record<string, unknown>;
  const name = o["name"];
  if (typeof name !== "string" || !isStrategyName(name))
    throw new BranchError(
      `the trace header names an unknown strategy (${typeof name === "string" ? name.slice(0, 40) : typeof name})`,
    );
  const int = (v: unknown, lo: number, hi: number) =>
    typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi ? v : undefined;
  if (name === "pct") return { name, depth: int(o["depth"], 1, 16) ?? 3 };
  if (name === "dfs") return { name, preemptions: int(o["preemptions"], 0, 8) ?? 2 };
  return { name };
}

/**
 * The run of a trace, ready to simulate again. Throws BranchError when the
 * trace has no usable world (a trace written before format 1.1, or one whose
 * world does not validate) or its decisions cannot be had.
 */
export function traceRun(src: TraceSource, file: string, stored: Schedule | null): TraceRun {
  const m = src.meta;
  const hm = src.reader.meta;
  if (!m.world) {
    throw new BranchError(
      m.worldError
        ? `${file}: its world does not validate (${m.worldError}); it cannot be run again`
        : `${file}: the trace holds no world (written before format 1.1); record it again with this ktrace`,
    );
  }
  if (m.invariantError) throw new BranchError(`${file}: its own invariants do not validate (${m.invariantError})`);
  const strategy = strategyOfMeta(hm.strategy);
  const maxEvents = Number.isSafeInteger(hm.maxEvents) && hm.maxEvents >= 2 ? hm.maxEvents : params.DEFAULT_MAX_EVENTS;
  const base = {
    file,
    scenario: m.scenario,
    fix: m.fix,
    seed: m.seed,
    options: hm.options ?? {},
    world: m.world,
    invariants: m.invariants ?? [],
    maxEvents,
    snapshotEvery: m.snapshotEvery,
    strategy,
    events: src.eventCount,
    outcome: src.outcome,
  };
  if (stored) {
    if (stored.cpus !== m.world.config.cpus)
      throw new BranchError(
        `${file}: its decisions were made on ${stored.cpus} cpus, its world has ${m.world.config.cpus}`,
      );
    return { ...base, schedule: stored, decisionsFrom: "trace" };
  }
  if (hm.origin !== undefined)
    throw new BranchError(
      `${file}: its run was made by ${String(hm.origin).slice(0, 80)}, not by its seed, and its schedule chunk is missing or unreadable: it cannot be run again`,
    );
  if (strategy.name === "dfs")
    throw new BranchError(`${file}: a bounded-search trace without its schedule chunk cannot be run again`);
  const rec = new DecisionRecorder(
    seedChooserOf(strategy, m.seed, strategyContext(strategy, m.world, maxEvents)),
    m.world.config.cpus,
  );
  try {
    simulate(m.world, { seed: m.seed, maxEvents, chooser: rec });
  } catch (e) {
    throw simFailure(file, e);
  }
  return { ...base, schedule: rec.schedule(), decisionsFrom: "seed" };
}

function simFailure(file: string, e: unknown): Error {
  if (e instanceof SimError || e instanceof ApplyError)
    return new BranchError(`${file}: its world cannot run in this ktrace: ${e.message}`);
  return e instanceof Error ? e : new Error(String(e));
}

/** How a failing run failed: the invariant and the kind of event it broke at, or (none broken) the outcome. */
export interface Failure {
  /** The first invariant broken, null when the failure is the outcome alone. */
  invariant: string | null;
  /** The event kind the invariant broke at; for an outcome failure, the outcome kind. */
  kind: string;
  /** Where: the violation's seq, or the outcome's. */
  seq: number;
  message: string;
}

/** The result of one re-simulation. */
export interface RunResult {
  outcome: Outcome;
  violation: Violation | null;
  /** null when the run passed. */
  failure: Failure | null;
  events: number;
  /** Its decisions (what a trace of it stores). */
  schedule: Schedule;
  /** Where each decision was made, when asked for (annotate). */
  decisions: Decision[] | null;
  /** Preemptions the scheduler chose (the kernel's own switches of a spinning thread are not counted). */
  preemptions: number;
  /** Switch events that took a thread off a cpu. */
  switches: number;
  /**
   * A thread slept or waited with a timeout (a timer was armed): then step
   * timing decides when it wakes, so it can change which threads are ready
   * even on one cpu (isTimed).
   */
  timed: boolean;
}

/** Whether e arms a timer: a sleep, or a futex wait with a timeout (every timed wait is one). */
export function isTimed(e: KEvent): boolean {
  return e.kind === KIND.sleep || (e.kind === KIND.futexWait && e.c >= 0);
}

const FAILING_OUTCOMES = new Set(["fatal", "panic", "hang", "livelock"]);

export function failureOf(outcome: Outcome, v: Violation | null): Failure | null {
  if (v)
    return {
      invariant: v.invariant,
      kind: EVENT_KINDS[v.event.kind]?.name ?? `kind#${v.event.kind}`,
      seq: v.seq,
      message: v.message,
    };
  if (FAILING_OUTCOMES.has(outcome.kind))
    return { invariant: null, kind: outcome.kind, seq: outcome.seq, message: outcome.message };
  return null;
}

/** b fails as a does: the same invariant at the same kind of event, or (a broke none) the same outcome. */
export function sameFailure(a: Failure, b: Failure | null): boolean {
  return b !== null && a.invariant === b.invariant && a.kind === b.kind;
}

/** One line: "lock-owner-alive at seq 59 (lock-wait)", "hang at seq 87". */
export function failureText(f: Failure): string {
  return f.invariant ? `${f.invariant} at seq ${f.seq} (${f.kind})` : `${f.kind} at seq ${f.seq}`;
}

/**
 * Runs the trace's world under `chooser` (recorded, so the result carries its
 * own decisions), judging every event as check does. `sink` sees each event
 * with the state after it (a trace writer).
 */
export function rerun(
  tr: WorldRun,
  chooser: Chooser,
  opts: { annotate?: boolean; sink?: (e: KEvent, s: KState) => void } = {},
): RunResult {
  const rec = new DecisionRecorder(chooser, tr.world.config.cpus, opts.annotate ?? false);
  const ck = defaultChecker(tr.invariants, tr.world.config);
  let v: Violation | null = null;
  let events = 0;
  let switches = 0;
  // A tso world on several cpus: the interleaving depends on timing from the first step (a search fixes it: base costs).
  let timed = buffersStores(tr.world.config) && tr.world.config.cpus > 1;
  let final: ReturnType<typeof simulate>;
  try {
    final = simulate(
      tr.world,
      {
        seed: tr.seed,
        maxEvents: tr.maxEvents,
        chooser: rec,
        before: (e, s) => {
          if (v === null) v = ck.before(s, e);
        },
      },
      (e, s) => {
        events++;
        if (e.kind === KIND.switch && e.a >= 0) switches++;
        else if (!timed && isTimed(e)) timed = true;
        if (v === null) v = ck.after(s, e);
        opts.sink?.(e, s);
      },
    );
  } catch (e) {
    throw simFailure(tr.file, e);
  }
  const found = v as Violation | null;
  const outcome: Outcome = final.outcome
    ? { kind: final.outcome.kind, seq: final.outcome.seq, message: final.outcome.message }
    : { kind: "ok", seq: events - 1, message: "" };
  const schedule = rec.schedule();
  return {
    outcome,
    violation: found,
    failure: failureOf(outcome, found),
    events,
    schedule,
    decisions: rec.decisions,
    preemptions: schedule.preempts.yes.length,
    switches,
    timed,
  };
}

/**
 * The strategy that answers where recorded decisions do not: the trace's own,
 * under its seed (random for a bounded-search trace, which has no seed run).
 */
export function fallbackOf(tr: TraceRun): Chooser {
  const s: StrategySpec = tr.strategy.name === "dfs" ? { name: "random" } : tr.strategy;
  return seedChooserOf(s, tr.seed, strategyContext(s, tr.world, tr.maxEvents));
}

/** The trace's run again, from its decisions (exactly, unless this ktrace's kernel differs from the writer's). */
export function replayTrace(tr: TraceRun, annotate = true): RunResult & { mismatch: Mismatch | null } {
  const ch = new ReplayChooser(tr.schedule, fallbackOf(tr));
  const r = rerun(tr, ch, { annotate });
  return { ...r, mismatch: ch.mismatch };
}

/** Events of a source read by seq, in order, one chunk at a time. */
class EventPuller {
  private chunk = -1;
  private events: readonly KEvent[] = [];
  private first = 0;
  constructor(private readonly src: ReplaySource) {}
  /** The event at seq; null past the end or where the trace is damaged (a gap: its events are not compared). */
  at(seq: number): KEvent | null {
    if (seq >= this.src.eventCount) return null;
    if (this.chunk < 0 || seq < this.first || seq >= this.first + this.events.length) {
      this.chunk = this.src.chunkOf(seq);
      this.first = this.src.chunkFirstSeqs[this.chunk]!;
      try {
        this.events = this.src.readChunk(this.chunk);
      } catch (e) {
        if (!(e instanceof TraceCorruptError && e.gap)) throw e;
        this.events = [];
        return null;
      }
    }
    return this.events[seq - this.first] ?? null;
  }
}

/** Same event: kind, cpu, thread, fields and time. */
function sameEvent(a: KEvent, b: KEvent): boolean {
  return (
    a.kind === b.kind &&
    a.cpu === b.cpu &&
    a.tid === b.tid &&
    a.a === b.a &&
    a.b === b.b &&
    a.c === b.c &&
    a.s === b.s &&
    a.time === b.time
  );
}

/** A trace opened for re-simulation: its run, and its run again from its decisions (annotated). */
export interface OpenedRun {
  tr: TraceRun;
  base: RunResult;
}

/**
 * Re-simulates the trace's run from its decisions and checks it against the
 * recorded events as it goes. Throws BranchError when they part (a trace
 * written by a ktrace whose kernel differs: its seqs would not mean the same
 * thing) or the decisions do not all apply.
 */
export function reopen(src: TraceSource, tr: TraceRun): OpenedRun {
  const pull = new EventPuller(src);
  let parted = -1;
  const ch = new ReplayChooser(tr.schedule, fallbackOf(tr));
  const base = rerun(tr, ch, {
    annotate: true,
    sink: (e) => {
      if (parted >= 0 || e.seq >= src.eventCount) return;
      const o = pull.at(e.seq);
      if (o !== null && !sameEvent(o, e)) parted = e.seq;
    },
  });
  const complete = src.recovery === null;
  if (parted < 0 && complete && base.events !== src.eventCount) parted = Math.min(base.events, src.eventCount);
  if (parted >= 0) {
    throw new BranchError(
      `${tr.file}: running its ${tr.decisionsFrom === "trace" ? "recorded decisions" : `seed ${tr.seed}`} again gives another run from seq ${parted} (it was written by a ktrace whose kernel differs from this one); record it again with this ktrace`,
    );
  }
  if (ch.mismatch)
    throw new BranchError(
      `${tr.file}: its recorded decisions do not fit its world (${ch.mismatch.what}, at seq ${ch.mismatch.seq})`,
    );
  return { tr, base };
}

/** A schedule error (untrusted decisions) as a BranchError naming the file. */
export function scheduleFailure(file: string, e: unknown): Error {
  if (e instanceof ScheduleError) return new BranchError(`${file}: its schedule chunk is damaged (${e.message})`);
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The decisions stored in a trace's schedule chunk, or null when it has none
 * (written before format 2.1). Throws BranchError for a damaged chunk.
 */
export function storedSchedule(src: TraceSource, file: string): Schedule | null {
  const bytes = src.reader.scheduleBytes();
  if (bytes === null) return null;
  try {
    return decodeSchedule(bytes, params.MAX_CPUS);
  } catch (e) {
    throw scheduleFailure(file, e);
  }
}

/** Opens a trace for re-simulation (BranchError / TraceError, exit 2, for a bad one). */
export function openRun(path: string): { src: TraceSource; tr: TraceRun } {
  const src = openSource(path);
  try {
    return { src, tr: traceRun(src, path, storedSchedule(src, path)) };
  } catch (e) {
    src.close();
    throw e;
  }
}

/** A trace's decisions (its schedule chunk, or its seed's run), for record --schedule-from. */
export function readStoredSchedule(path: string): Schedule {
  const { src, tr } = openRun(path);
  src.close();
  return tr.schedule;
}
