// ktrace shrink <trace> [-o FILE] [--max-runs N] [--json]
//
// A smaller failing schedule for the trace's failure: the fewest
// preemptions, then the fewest events (src/explore/shrink.ts). Works from
// the trace alone: the world is in its header. Writes the shrunk trace.

import { BranchError, failureText, openRun, type RunResult, reopen } from "../../explore/branch.ts";
import { DEFAULT_SHRINK_RUNS, shrink } from "../../explore/shrink.ts";
import { calmChooser, ReplayChooser } from "../../explore/strategies/index.ts";
import { besideTrace, runnableOf } from "../../explore/trace-out.ts";
import { record } from "../../record/index.ts";
import { recoveryNote } from "../../replay/index.ts";
import { scheduleText } from "../../trace/schedule.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, printJson, println } from "../io.ts";

/** Longest decision list printed in the text (a longer one is in the trace). */
const PRINT_SCHEDULE = 400;

const n = (x: number) => x.toLocaleString("en-US");

function counts(r: RunResult) {
  return { preemptions: r.preemptions, switches: r.switches, events: r.events };
}

export async function run(args: ParsedArgs<"shrink">): Promise<number> {
  const f = args.flags;
  const path = args.positionals[0]!;
  const maxRuns = f["max-runs"] ?? DEFAULT_SHRINK_RUNS;
  if (maxRuns < 1) throw new UsageError(`--max-runs must be at least 1, got ${maxRuns}`);
  const { src, tr } = openRun(path);
  const note = recoveryNote(src, path);
  if (note) eprintln(safeText(note));
  let opened: ReturnType<typeof reopen>;
  try {
    opened = reopen(src, tr);
  } finally {
    src.close();
  }
  const base = opened.base;
  if (!base.failure)
    throw new BranchError(
      `${path}: the run does not fail (outcome ${base.outcome.kind}, no invariant broken): nothing to shrink`,
    );
  const res = shrink(tr, base, maxRuns);
  const after = res.after;
  const improved = after !== base;
  const out = f.output ?? besideTrace(path, ".shrunk");
  let written: string | null = null;
  if (improved) {
    record(
      runnableOf(tr),
      out,
      tr.snapshotEvery,
      new ReplayChooser(after.schedule, calmChooser()),
      `shrink of ${path}`,
    );
    written = out;
  }
  const cpus = tr.world.config.cpus;
  // The fewest preemptions are proven when the bounded search covered every bound below (one cpu), or trivially at 0.
  const proven = after.preemptions === 0 || (res.provenBelow !== null && res.provenBelow >= after.preemptions - 1);
  const text = scheduleText(after.schedule);
  if (f.json) {
    printJson({
      failure: res.failure,
      before: counts(base),
      after: counts(after),
      shrunk: improved,
      minimal: {
        preemptions: proven,
        proof: proven
          ? after.preemptions === 0
            ? "no preemption"
            : `bounded search: no schedule with at most ${after.preemptions - 1} preemption${after.preemptions === 2 ? "" : "s"} fails this way`
          : null,
      },
      runs: res.runs,
      budgetHit: res.budgetHit,
      cpus,
      schedule: text,
      path: written,
    });
    return 0;
  }
  println(`${color.bold("shrink")} ${safeText(path)}: ${safeText(failureText(res.failure))}`);
  const row = (label: string, r: RunResult) =>
    `  ${label.padEnd(7)}${String(r.preemptions).padStart(4)} preemption${r.preemptions === 1 ? " " : "s"}  ${String(r.switches).padStart(4)} context switches  ${n(r.events).padStart(7)} events`;
  println(row("before", base));
  println(row("after", after));
  if (!improved) {
    println(
      color.green(
        `  already minimal: no smaller schedule fails this way (${n(res.runs)} candidates tried${res.budgetHit ? `; stopped at --max-runs ${n(maxRuns)}` : ""})`,
      ),
    );
  }
  if (proven && after.preemptions > 0)
    println(
      `  ${after.preemptions} preemption${after.preemptions === 1 ? " is" : "s are"} the fewest this failure needs: the bounded search ran every schedule with at most ${after.preemptions - 1} on ${cpus} cpu and none fails this way`,
    );
  else if (after.preemptions > 0 && res.timed)
    println(
      color.dim(
        `  fewer preemptions cannot be ruled out: the run sleeps or waits with a timeout, so step timing decides when a thread wakes (the bounded search runs steps at their base cost)`,
      ),
    );
  else if (after.preemptions > 0 && cpus > 1)
    println(
      color.dim(
        `  on ${cpus} cpus fewer preemptions cannot be ruled out (timing also decides there); record with --cpus 1 for a proof`,
      ),
    );
  else if (after.preemptions > 0 && !proven)
    println(color.yellow(`  the bounded search stopped before it could rule out fewer preemptions (--max-runs)`));
  if (improved) {
    println(`  ${n(res.runs)} candidates tried${res.budgetHit ? ` (stopped at --max-runs ${n(maxRuns)})` : ""}`);
    println(
      `  schedule ${text.length <= PRINT_SCHEDULE ? text : `${text.slice(0, 60)}… (${n(text.length)} characters; in the trace)`}`,
    );
    println(`  trace    ${safeText(written!)}`);
    println(color.dim(safeText(`next: ktrace check ${written}   ktrace replay ${written} --at violation`)));
  }
  return 0;
}
