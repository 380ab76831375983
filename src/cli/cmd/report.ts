// ktrace report <trace> [-o FILE]: a Markdown bug report of the trace, ready
// to paste into an issue (with the trace embedded when it is small), with the
// decisions its failure depends on and a smaller failing schedule when
// shrinking finds one (src/explore/).

import { BranchError, type RunResult, reopen, storedSchedule, traceRun } from "../../explore/branch.ts";
import { alternativeText, decisionText, flipText, pivotLimit, pivots } from "../../explore/pivots.ts";
import { shrink } from "../../explore/shrink.ts";
import { writeTextFile } from "../../export/out-file.ts";
import { describe, eventAt, openSource } from "../../replay/index.ts";
import type { TraceSource } from "../../replay/source.ts";
import { buildReport } from "../../report/index.ts";
import type { ScheduleFindings } from "../../report/schedule.ts";
import { scheduleText } from "../../trace/schedule.ts";
import type { ParsedArgs } from "../args.ts";
import { VERSION } from "../help.ts";
import { eprintln, out } from "../io.ts";

/** Events above which the report does not explore the schedule (each flip and candidate re-runs the whole trace). */
const EXPLORE_EVENTS = 200_000;
/** Events re-simulated at most for the pivots, and for the shrink (a few seconds at most), and their caps. */
const EXPLORE_BUDGET = 5_000_000;
const PIVOT_LIMIT = 512;
const SHRINK_RUNS = 4000;

const counts = (r: RunResult) => ({ preemptions: r.preemptions, switches: r.switches, events: r.events });

/** The exploration of a failing trace's schedule for the report; undefined for a run that does not fail. */
export function findings(src: TraceSource, path: string): ScheduleFindings | undefined {
  const empty = { pivots: [], before: 0, considered: 0, shrunk: null };
  if (src.eventCount > EXPLORE_EVENTS)
    return {
      ...empty,
      skipped: `the trace has ${src.eventCount} events, more than the report re-runs (${EXPLORE_EVENTS}); run ktrace pivots and ktrace shrink on it`,
    };
  let tr: ReturnType<typeof traceRun>;
  let base: ReturnType<typeof reopen>["base"] | undefined;
  try {
    tr = traceRun(src, path, storedSchedule(src, path));
    base = reopen(src, tr).base;
  } catch (e) {
    if (e instanceof BranchError)
      return base === undefined && src.outcome?.kind === "ok" ? undefined : { ...empty, skipped: e.message };
    throw e;
  }
  if (!base?.failure) return undefined;
  const pv = pivots(tr, base, pivotLimit(base.events, EXPLORE_BUDGET, PIVOT_LIMIT));
  const sh = shrink(
    tr,
    base,
    Math.max(1, Math.min(SHRINK_RUNS, Math.floor(EXPLORE_BUDGET / Math.max(1, base.events)))),
  );
  const a = sh.after;
  const proven = a.preemptions > 0 && sh.provenBelow !== null && sh.provenBelow >= a.preemptions - 1;
  const schedule = scheduleText(a.schedule);
  return {
    ...(src.reader.meta.origin !== undefined ? { replay: scheduleText(tr.schedule) } : {}),
    pivots: pv.pivots.map((p) => ({
      seq: p.decision.seq,
      decision: decisionText(p.decision).replace(/^seq \d+: /, ""),
      event: p.decision.seq < src.eventCount ? describe(eventAt(src, p.decision.seq)) : "",
      instead: p.avoid.map((f) => `${alternativeText(p.decision, f.value)}: ${flipText(f)}`).join("; "),
      passes: p.avoid.some((f) => f.result === "passes"),
    })),
    before: pv.before,
    considered: pv.considered,
    shrunk:
      a === base
        ? null
        : {
            before: counts(base),
            after: counts(a),
            schedule,
            minimal:
              a.preemptions === 0
                ? null
                : proven
                  ? `${a.preemptions} preemptions are the fewest it needs: no schedule with fewer fails this way on one cpu (bounded search)`
                  : null,
          },
  };
}

export async function run(args: ParsedArgs<"report">): Promise<number> {
  const path = args.positionals[0]!;
  const src = openSource(path);
  try {
    const rep = buildReport({
      path,
      reader: src.reader,
      source: src,
      version: VERSION,
      output: args.flags.output,
      schedule: findings(src, path),
    });
    if (args.flags.output !== undefined) {
      writeTextFile(args.flags.output, rep.markdown);
      const emb = rep.embedded
        ? `, trace embedded (${rep.gzipBytes.toLocaleString("en-US")} bytes gzip'd)`
        : rep.gzipBytes > 0
          ? ", trace too large to embed"
          : "";
      eprintln(`wrote ${args.flags.output}${emb}`);
    } else {
      out(rep.markdown);
    }
  } finally {
    src.close();
  }
  return 0;
}
