// A job of `ktrace explore`: a child process of the same runtime (Bun or
// Deno) that loads the scenario once, then runs the seed batches it is sent,
// one at a time, and answers each with the batch's result.
//
// Processes, not worker threads: on this project's 2-core machine two worker
// threads in one process gave 1.2-1.4x (each seed cost a third more CPU: the
// threads contend inside the runtime), two processes 1.8x.
//
// Protocol: JSON lines. In: first line WorkerInit, then {type: "batch", from, to}.
// Out: {type: "ready"} | {type: "batch", result: BatchResult} | {type: "error", message, exitCode}.

import process from "node:process";
import { createInterface } from "node:readline";
import { resolveScenario, type Scenario } from "../scenarios/index.ts";
import { type BatchResult, exitCodeOf, messageOf, newChecker, runBatch, type VariantRequest } from "./seed.ts";

export interface WorkerInit {
  target: string;
  req: VariantRequest;
}

export type ToWorker = { type: "batch"; from: number; to: number };
export type FromWorker =
  | { type: "ready" }
  | { type: "batch"; result: BatchResult }
  | { type: "error"; message: string; exitCode: number };

function send(m: FromWorker): void {
  process.stdout.write(JSON.stringify(m) + "\n");
}

function fail(e: unknown): void {
  send({ type: "error", message: messageOf(e), exitCode: exitCodeOf(e) });
}

/** Serves batches read from stdin until it closes. */
async function serve(): Promise<void> {
  let init: WorkerInit | null = null;
  let scenario: Scenario | null = null;
  const checker = newChecker();
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line) continue;
    try {
      if (init === null) {
        init = JSON.parse(line) as WorkerInit;
        scenario = await resolveScenario(init.target);
        send({ type: "ready" });
        continue;
      }
      const m = JSON.parse(line) as ToWorker;
      send({ type: "batch", result: runBatch(scenario!, init.req, m.from, m.to, checker) });
    } catch (e) {
      fail(e);
      return;
    }
  }
}

if (process.argv.includes("--ktrace-explore-worker")) await serve();
