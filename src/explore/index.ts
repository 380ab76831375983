// ktrace explore's engine: run a scenario variant under every seed of a range
// and collect the failing ones, in parallel across job processes (worker.ts).
//
// The range is cut into contiguous batches handed out on demand (a worker gets
// its next batch when it posts a result), so uneven run lengths do not leave a
// worker idle. A run is a pure function of (scenario, variant, seed), and the
// results are put back in seed order, so the answer does not depend on the
// number of jobs, the runtime, or the timing.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type MemoryModel, OUTCOME_KINDS } from "../kernel/index.ts";
import { contextOf, defaultTracePath, prepareWith, record } from "../record/index.ts";
import { INVARIANT_NAMES } from "../replay/invariants.ts";
import { resolveScenario, type Scenario } from "../scenarios/index.ts";
import { ordered, outcomeOrder } from "./doc.ts";
import {
  type BatchResult,
  newChecker,
  PASSING_KEEP,
  runBatch,
  type SeedError,
  type SeedResult,
  type VariantRequest,
} from "./seed.ts";
import type { StrategySpec } from "./strategies/index.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./worker.ts";

export { ERROR_OUTCOME, isFailure, runSeed, type SeedError, type SeedResult, type VariantRequest } from "./seed.ts";

export interface ExploreRequest {
  /** Scenario name or scenario file. */
  target: string;
  req: VariantRequest;
  from: number;
  to: number;
  /** Job processes; 1 runs everything in this process. Default: the number of cores. */
  jobs?: number;
  /** Seeds per batch; default from the range and the jobs. */
  batch?: number;
  /** Called after each batch. */
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  done: number;
  total: number;
  failing: number;
  /** Seeds whose run threw. */
  errors: number;
  elapsedMs: number;
}

/** The batches' tallies over the whole range (failing seeds in seed order), and how it ran. */
export interface ExploreResult extends BatchResult {
  scenario: Scenario;
  scanned: number;
  /** The variant as resolved (defaults filled in). */
  variant: { fix: string; cpus: number; options: Record<string, string> };
  /** The memory model the world ran under (KConfig.memory; sc when absent). */
  memory: MemoryModel;
  maxEvents: number;
  /** The scheduling strategy. */
  strategy: StrategySpec;
  /** Jobs actually used. */
  jobs: number;
  elapsedMs: number;
}

/** The default --jobs: the number of cores. */
export function defaultJobs(): number {
  try {
    return Math.max(1, availableParallelism());
  } catch {
    return 1;
  }
}

/**
 * The command line that starts a job process (`script`, relative to this
 * folder, started with `flag`) on this runtime, or null where the runtime
 * cannot run our .ts files itself (Node: jobs then run in-process).
 */
export function workerCommand(script = "./worker.ts", flag = "--ktrace-explore-worker"): [string, string[]] | null {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const file = fileURLToPath(new URL(script, import.meta.url));
  if (g.Bun !== undefined) return [process.execPath, [file, flag]];
  if (g.Deno !== undefined) {
    const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
    return [process.execPath, ["run", "--quiet", "--allow-all", `--config=${config}`, file, flag]];
  }
  return null;
}

/** A job process, with the slice of the Worker API the scheduler uses. */
class Job {
  private readonly child: ChildProcess;
  /** Batches posted and not yet answered, oldest first (a job answers in order). */
  readonly inFlight: [number, number][] = [];
  constructor(
    cmd: [string, string[]],
    init: WorkerInit,
    onMessage: (m: FromWorker) => void,
    onExit: (code: number | string | null, err?: Error) => void,
  ) {
    this.child = spawn(cmd[0], cmd[1], { stdio: ["pipe", "pipe", "inherit"] });
    this.child.on("error", (e) => onExit(null, e));
    this.child.on("exit", (code, signal) => onExit(code === null && signal !== null ? signal : code));
    createInterface({ input: this.child.stdout!, crlfDelay: Infinity }).on("line", (line) => {
      if (line) onMessage(JSON.parse(line) as FromWorker);
    });
    this.child.stdin!.on("error", () => {});
    this.post(init);
  }
  post(m: WorkerInit | ToWorker): void {
    this.child.stdin!.write(JSON.stringify(m) + "\n");
  }
  stop(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}

function merge(into: Omit<BatchResult, "from" | "to">, b: BatchResult): void {
  for (const r of b.failing) into.failing.push(r);
  for (const e of b.errors) into.errors.push(e);
  for (const s of b.passing) into.passing.push(s);
  for (const [k, n] of Object.entries(b.outcomes)) into.outcomes[k] = (into.outcomes[k] ?? 0) + n;
  for (const [k, n] of Object.entries(b.violations)) into.violations[k] = (into.violations[k] ?? 0) + n;
  into.events += b.events;
}

/**
 * Seeds per batch: enough batches for balance (about 16 per job), small
 * enough that this thread, which also runs batches, answers its workers
 * quickly (100 seeds of a seed scenario take a few ms), and large enough that
 * messages cost nothing next to the runs.
 */
function batchSize(total: number, jobs: number): number {
  return Math.max(1, Math.min(1000, Math.ceil(total / (jobs * 16))));
}

/**
 * Runs every seed from..to (none when to < from: an empty shard) and returns
 * the failing ones in seed order. A seed whose run throws is listed in
 * `errors` and the others still run.
 * Throws ScenarioError / RunError (exitCode 2) for a bad scenario, fix or
 * option.
 */
export async function explore(x: ExploreRequest): Promise<ExploreResult> {
  const t0 = performance.now();
  const scenario = await resolveScenario(x.target);
  // Fail fast, in this thread, on a bad fix, option, cpu count, budget or strategy.
  const p = prepareWith(scenario, { ...x.req, seed: x.from });
  contextOf(p);
  const total = Math.max(0, x.to - x.from + 1);
  const wanted = Math.max(1, x.jobs ?? defaultJobs());
  const size = x.batch ?? batchSize(total, wanted);
  const batches: [number, number][] = [];
  for (let s = x.from; s <= x.to; s += size) batches.push([s, Math.min(x.to, s + size - 1)]);
  const jobs = workerCommand() !== null ? Math.max(1, Math.min(wanted, batches.length)) : 1;
  const acc = {
    failing: [] as SeedResult[],
    errors: [] as SeedError[],
    passing: [] as number[],
    outcomes: {} as Record<string, number>,
    violations: {} as Record<string, number>,
    events: 0,
  };
  let done = 0;
  const progress = (b: BatchResult) => {
    merge(acc, b);
    done += b.to - b.from + 1;
    x.onProgress?.({
      done,
      total,
      failing: acc.failing.length,
      errors: acc.errors.length,
      elapsedMs: performance.now() - t0,
    });
  };

  await runParallel(scenario, x, batches, jobs, progress);
  acc.failing.sort((a, b) => a.seed - b.seed);
  acc.errors.sort((a, b) => a.seed - b.seed);
  acc.passing.sort((a, b) => a - b);
  return {
    scenario,
    from: x.from,
    to: x.to,
    scanned: total,
    variant: { fix: p.variant.fix, cpus: p.variant.cpus, options: p.variant.options },
    memory: p.world.config.memory ?? "sc",
    maxEvents: p.maxEvents,
    strategy: p.strategy,
    failing: acc.failing,
    errors: acc.errors,
    passing: acc.passing.slice(0, PASSING_KEEP),
    outcomes: ordered(acc.outcomes, outcomeOrder(OUTCOME_KINDS)),
    violations: ordered(acc.violations, INVARIANT_NAMES),
    events: acc.events,
    jobs,
    elapsedMs: performance.now() - t0,
  };
}

/** An error a worker reported: keeps its exit code (2 for bad input, 3 for a bug). */
class WorkerError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * Runs the batches on `jobs` job processes, all taking the next batch from
 * one queue (two in flight per job, so a job never waits for this thread). While the workers load their modules this thread runs batches
 * itself, so work starts at once and a short range may be done before any
 * worker is ready; once every worker is ready it only hands out batches and
 * collects results. With one job there is no worker: this thread runs all.
 */
async function runParallel(
  scenario: Scenario,
  x: ExploreRequest,
  batches: [number, number][],
  jobs: number,
  onBatch: (b: BatchResult) => void,
): Promise<void> {
  let next = 0;
  let pending = batches.length;
  let ready = 0;
  let failure: unknown;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const workers: Job[] = [];
  let closing = false;
  const feed = (w: Job) => {
    if (next >= batches.length || failure !== undefined) return;
    const [from, to] = batches[next++]!;
    w.inFlight.push([from, to]);
    w.post({ type: "batch", from, to });
  };
  const fail = (e: unknown) => {
    if (failure === undefined) failure = e;
    poke();
  };
  const init: WorkerInit = { target: x.target, req: x.req };
  const cmd = jobs > 1 ? workerCommand() : null;
  for (let i = 0; cmd !== null && i < jobs; i++) {
    const w: Job = new Job(
      cmd,
      init,
      (m) => {
        if (m.type === "error") return fail(new WorkerError(m.message, m.exitCode));
        if (failure !== undefined) return;
        if (m.type === "ready") {
          ready++;
          feed(w);
          feed(w);
          poke();
          return;
        }
        w.inFlight.shift();
        onBatch(m.result);
        pending--;
        feed(w);
        poke();
      },
      (code, err) => {
        if (closing || pending === 0) return;
        const seeds = w.inFlight.map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`)).join(", ");
        const where = seeds ? ` while running seeds ${seeds} (run them with --jobs 1 to name the seed)` : "";
        fail(
          err ??
            new WorkerError(
              `explore job stopped unexpectedly (${typeof code === "string" ? `killed by ${code}` : `exit code ${code}`})${where}`,
              3,
            ),
        );
      },
    );
    workers.push(w);
  }
  const checker = newChecker();
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      if (next < batches.length && (workers.length === 0 || ready < workers.length)) {
        const [from, to] = batches[next++]!;
        onBatch(runBatch(scenario, x.req, from, to, checker));
        pending--;
        // Let worker messages and progress output through. (A timer, not
        // setImmediate: on Deno, setImmediate alone does not deliver them.)
        if (workers.length > 0) await new Promise<void>((r) => setTimeout(r, 0));
        else if (x.onProgress) await new Promise<void>((r) => setImmediate(r));
      } else if (pending > 0) {
        await new Promise<void>((r) => (wake = r));
      } else break;
    }
  } finally {
    closing = true;
    for (const w of workers) w.stop();
  }
}

/**
 * Records the traces of `seeds` into dir (created if needed), named as
 * `ktrace record` names them. Returns the paths, in seed order.
 */
export function saveTraces(scenario: Scenario, req: VariantRequest, seeds: readonly number[], dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (const seed of seeds) {
    const p = prepareWith(scenario, { ...req, seed });
    const path = join(dir, defaultTracePath(p));
    record(p, path);
    out.push(path);
  }
  return out;
}
