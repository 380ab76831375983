// The report's schedule section: the decisions the failure depends on
// (ktrace pivots) and, when shrinking helps, a smaller failing schedule
// (ktrace shrink) with the decision list that replays it. The exploration
// itself runs in src/explore/; the CLI hands its results here as plain data.

import { mdText as mdEscape } from "../util/safe-text.ts";

/** What the exploration found about a failing trace's schedule. */
export interface ScheduleFindings {
  /** Why nothing was explored (no world in the trace, too large, ...); the rest is then empty. */
  skipped?: string;
  /** The trace's own decision list, when its run is not its seed's (a shrunk or what-if trace): Reproduce replays it. */
  replay?: string;
  /** Decisions whose flip avoids the failure, in seq order. */
  pivots: { seq: number; decision: string; event: string; instead: string; passes: boolean }[];
  /** Decisions before the failure, and how many of them were flipped. */
  before: number;
  considered: number;
  /** The shrunk run, when it is smaller than the trace's. */
  shrunk: {
    before: { preemptions: number; switches: number; events: number };
    after: { preemptions: number; switches: number; events: number };
    /** The compact decision list (ks1.…) that replays it. */
    schedule: string;
    /** Why its preemptions are the fewest, when that is proven. */
    minimal: string | null;
  } | null;
}

/** Longest decision list shown inline. */
const SHOW_SCHEDULE = 2000;

/** The section; `record(list)` is the record command that replays a decision list. */
export function scheduleSection(f: ScheduleFindings | undefined, record: (list: string) => string): string[] {
  if (f === undefined) return [];
  const L: string[] = ["## Schedule", ""];
  if (f.skipped !== undefined) {
    L.push(`Not explored: ${mdEscape(f.skipped)}.`, "");
    return L;
  }
  L.push("### Decisions that matter", "");
  const scope =
    f.considered < f.before
      ? `the latest ${f.considered} of the ${f.before} scheduling decisions before the failure`
      : `each of the ${f.before} scheduling decisions before the failure`;
  if (f.pivots.length === 0) {
    L.push(
      `Flipping ${scope}, one at a time, never avoids it: the failure does not hinge on any one decision (\`ktrace pivots\`).`,
      "",
    );
  } else {
    // A flip that avoids this failure may fail another way (a race in every interleaving): say so.
    const passing = f.pivots.filter((p) => p.passes).length;
    const then =
      passing === f.pivots.length
        ? ""
        : passing === 0
          ? "; none makes the run pass: each then fails another way"
          : `; ${passing} of them make the run pass, the others then fail another way`;
    L.push(
      `Flipping one of these decisions, and following the rest of the run as recorded, avoids this failure${then} (\`ktrace pivots\`, which flipped ${scope}):`,
      "",
    );
    L.push("| seq | decision | event | instead |", "|---:|---|---|---|");
    for (const p of f.pivots)
      L.push(`| ${p.seq} | ${mdEscape(p.decision)} | ${mdEscape(p.event)} | ${mdEscape(p.instead)} |`);
    L.push("");
  }
  if (f.shrunk) {
    const s = f.shrunk;
    const cmp = (k: "preemptions" | "switches" | "events", name: string) =>
      `${s.after[k]} ${name}${s.after[k] === s.before[k] ? "" : ` (was ${s.before[k]})`}`;
    L.push("### A smaller failing schedule", "");
    L.push(
      `\`ktrace shrink\` finds the same failure with ${cmp("preemptions", "preemptions")}, ${cmp("switches", "context switches")} and ${cmp("events", "events")}.${s.minimal ? ` ${mdEscape(s.minimal)}.` : ""}`,
      "",
    );
    if (s.schedule.length <= SHOW_SCHEDULE) {
      L.push("Replay it:", "", "```sh", record(s.schedule), "```", "");
    } else {
      L.push(
        `Its decision list is ${s.schedule.length} characters long: \`ktrace shrink\` writes the shrunk trace.`,
        "",
      );
    }
  }
  return L;
}
