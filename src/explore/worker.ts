// Worker thread of `ktrace explore` (node:worker_threads; Bun and Deno run it
// too). Loads the scenario once, then runs the seed batches the main thread
// posts, one at a time, and posts each batch's result back.
//
// Messages in:  {type: "batch", from, to}
// Messages out: {type: "ready"} | {type: "batch", result: BatchResult}
//               | {type: "error", message, exitCode}

import { parentPort, workerData } from "node:worker_threads";
import { resolveScenario, type Scenario } from "../scenarios/index.ts";
import { newChecker, runBatch, type VariantRequest } from "./seed.ts";

export interface WorkerInit {
  target: string;
  req: VariantRequest;
}

export type ToWorker = { type: "batch"; from: number; to: number };
export type FromWorker =
  | { type: "ready" }
  | { type: "batch"; result: import("./seed.ts").BatchResult }
  | { type: "error"; message: string; exitCode: number };

const port = parentPort!;
const init = workerData as WorkerInit;

function fail(e: unknown): void {
  const exitCode = typeof e === "object" && e !== null && typeof (e as { exitCode?: unknown }).exitCode === "number" ? (e as { exitCode: number }).exitCode : 3;
  const message = e instanceof Error ? e.message : String(e);
  port.postMessage({ type: "error", message, exitCode } satisfies FromWorker);
}

let scenario: Scenario | null = null;
const checker = newChecker();
const queue: ToWorker[] = [];

function drain(): void {
  if (scenario === null) return;
  while (queue.length > 0) {
    const m = queue.shift()!;
    try {
      port.postMessage({ type: "batch", result: runBatch(scenario, init.req, m.from, m.to, checker) } satisfies FromWorker);
    } catch (e) {
      fail(e);
      return;
    }
  }
}

port.on("message", (m: ToWorker) => {
  queue.push(m);
  drain();
});

try {
  scenario = await resolveScenario(init.target);
  port.postMessage({ type: "ready" } satisfies FromWorker);
  drain();
} catch (e) {
  fail(e);
}
