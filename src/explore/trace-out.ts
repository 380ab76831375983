// Where shrink and whatif write the run they made, and the runnable form of
// a trace's run for the recorder (record/index.ts's Runnable).

import { basename, dirname, join } from "node:path";
import type { Runnable } from "../record/index.ts";
import type { TraceRun } from "./branch.ts";

/** <dir>/<name without .ktrace[.gz]><suffix>.ktrace beside the input trace. */
export function besideTrace(path: string, suffix: string): string {
  const name = basename(path).replace(/\.ktrace(\.gz)?$|\.md$/, "");
  return join(dirname(path), `${name}${suffix}.ktrace`);
}

/** What the recorder needs to write a trace of tr's world (the header it gets is the original's, plus an origin). */
export function runnableOf(tr: TraceRun): Runnable {
  return {
    scenario: { name: tr.scenario },
    variant: { fix: tr.fix, seed: tr.seed, options: tr.options },
    world: tr.world,
    maxEvents: tr.maxEvents,
    invariants: tr.invariants,
    strategy: tr.strategy,
  };
}
