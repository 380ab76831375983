// ktrace pivots over job processes: the flips are independent re-simulations,
// so the decisions to flip are cut into contiguous batches handed to job
// processes (pivots-worker.ts; the runtime's own processes, as explore's
// jobs) and the answers put back in decision order: the result does not
// depend on the number of jobs. Small traces flip in this process (starting
// a job costs more than their whole work).

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { RunResult, TraceRun } from "./branch.ts";
import { defaultJobs, workerCommand } from "./index.ts";
import { decisionsBefore, flipOne, type Pivot, type PivotsResult, toConsider } from "./pivots.ts";
import type { Decision } from "./strategies/index.ts";

/** Re-simulations below which the flips run in this process. */
export const PIVOT_JOBS_FROM = 4000;

/** A job's messages: in, {path, limit} then {from, to}; out, {type: "ready"} | {type: "flips", from, pivots, runs} | {type: "error", message, exitCode}. */
export type ToPivotWorker = { path: string; limit: number } | { from: number; to: number };
export type FromPivotWorker =
  | { type: "ready" }
  | { type: "flips"; from: number; pivots: Pivot[]; runs: number }
  | { type: "error"; message: string; exitCode: number };

/** Flips decisions [from, to) of the considered list. */
export function flipRange(
  tr: TraceRun,
  base: RunResult,
  considered: readonly Decision[],
  from: number,
  to: number,
): { pivots: Pivot[]; runs: number } {
  const out: Pivot[] = [];
  let runs = 0;
  for (let i = from; i < to; i++) {
    const p = flipOne(tr, base.decisions ?? [], considered[i]!, base.failure!);
    runs += p.tried;
    if (p.avoid.length > 0) out.push(p);
  }
  return { pivots: out, runs };
}

class JobError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * The pivots of base (a failing run of the trace at `path`), flipping the
 * latest `limit` decisions before the failure on `jobs` processes (default:
 * the cores, when there are at least PIVOT_JOBS_FROM flips).
 */
export async function runPivots(
  path: string,
  tr: TraceRun,
  base: RunResult,
  limit: number,
  jobs?: number,
): Promise<PivotsResult> {
  const f = base.failure!;
  const before = decisionsBefore(base, f);
  const considered = toConsider(before, limit);
  const flips = considered.reduce(
    (a, d) => a + (d.kind === "pick" ? Math.max(0, (d.options?.length ?? 1) - 1) : d.kind === "timing" ? 3 : 1),
    0,
  );
  const want = jobs ?? (flips >= PIVOT_JOBS_FROM ? defaultJobs() : 1);
  const cmd = want > 1 ? workerCommand("./pivots-worker.ts", "--ktrace-pivots-worker") : null;
  if (cmd === null || considered.length < 2) {
    const r = flipRange(tr, base, considered, 0, considered.length);
    return { failure: f, before: before.length, considered: considered.length, runs: r.runs, pivots: r.pivots };
  }
  const size = Math.max(1, Math.ceil(considered.length / (want * 8)));
  const batches: [number, number][] = [];
  for (let i = 0; i < considered.length; i += size) batches.push([i, Math.min(considered.length, i + size)]);
  const results = new Map<number, { pivots: Pivot[]; runs: number }>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    let live = 0;
    let failed = false;
    const n = Math.min(want, batches.length);
    for (let j = 0; j < n; j++) {
      const child = spawn(cmd[0], cmd[1], { stdio: ["pipe", "pipe", "inherit"] });
      live++;
      const post = (m: ToPivotWorker) => child.stdin!.write(JSON.stringify(m) + "\n");
      const feed = () => {
        if (failed || next >= batches.length) {
          child.stdin!.end();
          return;
        }
        const [a, b] = batches[next++]!;
        post({ from: a, to: b });
      };
      child.stdin!.on("error", () => {});
      child.on("error", (e) => {
        failed = true;
        reject(e);
      });
      child.on("exit", (code) => {
        live--;
        if (!failed && code !== 0 && code !== null) {
          failed = true;
          reject(new JobError(`pivots job stopped unexpectedly (exit code ${code}); run with --jobs 1`, 3));
        } else if (live === 0 && !failed) resolve();
      });
      createInterface({ input: child.stdout!, crlfDelay: Infinity }).on("line", (line) => {
        if (!line || failed) return;
        const m = JSON.parse(line) as FromPivotWorker;
        if (m.type === "error") {
          failed = true;
          child.kill();
          reject(new JobError(m.message, m.exitCode));
          return;
        }
        if (m.type === "flips") results.set(m.from, { pivots: m.pivots, runs: m.runs });
        feed();
      });
      post({ path, limit });
    }
  });
  const pivots: Pivot[] = [];
  let runs = 0;
  for (const [a] of batches) {
    const r = results.get(a)!;
    runs += r.runs;
    pivots.push(...r.pivots);
  }
  return { failure: f, before: before.length, considered: considered.length, runs, pivots };
}
