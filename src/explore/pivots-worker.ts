// A job of `ktrace pivots` (pivots-jobs.ts): opens the trace once, runs it
// again from its decisions, then flips the batches of decisions it is sent.
// Protocol: JSON lines (ToPivotWorker in, FromPivotWorker out).

import process from "node:process";
import { createInterface } from "node:readline";
import { openRun, type RunResult, reopen, type TraceRun } from "./branch.ts";
import { decisionsBefore, toConsider } from "./pivots.ts";
import { type FromPivotWorker, flipRange, type ToPivotWorker } from "./pivots-jobs.ts";
import { exitCodeOf, messageOf } from "./seed.ts";
import type { Decision } from "./strategies/index.ts";

function send(m: FromPivotWorker): void {
  process.stdout.write(JSON.stringify(m) + "\n");
}

async function serve(): Promise<void> {
  let ctx: { tr: TraceRun; base: RunResult; considered: Decision[] } | null = null;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line) continue;
    try {
      const m = JSON.parse(line) as ToPivotWorker;
      if ("path" in m) {
        const { src, tr } = openRun(m.path);
        const base = reopen(src, tr).base;
        src.close();
        ctx = { tr, base, considered: toConsider(decisionsBefore(base, base.failure!), m.limit) };
        send({ type: "ready" });
        continue;
      }
      const r = flipRange(ctx!.tr, ctx!.base, ctx!.considered, m.from, m.to);
      send({ type: "flips", from: m.from, pivots: r.pivots, runs: r.runs });
    } catch (e) {
      send({ type: "error", message: messageOf(e), exitCode: exitCodeOf(e) });
      return;
    }
  }
}

if (process.argv.includes("--ktrace-pivots-worker")) await serve();
