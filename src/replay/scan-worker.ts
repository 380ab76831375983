// A worker thread of the parallel first-violation scan (parallel-scan.ts):
// opens the trace itself, claims segments from the shared counter, checks
// each and posts its result, until none is left before the first violation.
// Everything it sends is plain data; it writes nothing.

import { parentPort, workerData } from "node:worker_threads";
import { selectFor } from "./invariants.ts";
import {
  checkTimed,
  claim,
  planFor,
  stopAfter,
  threadCpuMs,
  type WorkerInput,
  type WorkerMessage,
  wallMs,
} from "./parallel-scan.ts";
import { displaySafe, openSource } from "./source.ts";

const ready = wallMs();
const readyCpu = threadCpuMs();
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
const input = workerData as WorkerInput;
const shared = new Int32Array(input.shared);
try {
  const raw = openSource(input.path);
  try {
    const src = input.display ? displaySafe(raw) : raw;
    const plan = planFor(selectFor(src, input.names));
    for (;;) {
      const k = claim(shared, input.bounds.length);
      if (k < 0) break;
      const r = checkTimed(src, plan, input.bounds, input.last, k, input.by, input.stretch);
      if (r.violation || r.firstReport >= 0) stopAfter(shared, k);
      post({ type: "result", r });
    }
  } finally {
    raw.close();
  }
  post({ type: "done", timing: { ready, readyCpu, done: wallMs(), doneCpu: threadCpuMs() } });
} catch (e) {
  // The main thread checks the segment this one held, and meets the same error there.
  post({ type: "error", message: e instanceof Error ? e.message : String(e) });
}
