// ktrace pivots <trace> [--limit N] [--jobs N] [--json]
//
// The decisions a trace's failure depends on: each decision before the
// failure flipped in turn, the rest followed as recorded; those whose change
// avoids the failure are listed (src/explore/pivots.ts).

import { BranchError, failureText, openRun, reopen } from "../../explore/branch.ts";
import {
  alternativeText,
  DEFAULT_PIVOT_LIMIT,
  decisionText,
  flipText,
  type PivotsResult,
} from "../../explore/pivots.ts";
import { runPivots } from "../../explore/pivots-jobs.ts";
import { decisionJson } from "../../explore/strategies/index.ts";
import { describe, recoveryNote, withStates } from "../../replay/index.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, printJson, println } from "../io.ts";

const n = (x: number) => x.toLocaleString("en-US");

export function pivotsJson(r: PivotsResult) {
  return {
    failure: r.failure,
    before: r.before,
    considered: r.considered,
    runs: r.runs,
    pivots: r.pivots.map((p) => ({
      decision: decisionJson(p.decision),
      avoid: p.avoid.map((a) => ({ value: a.value, result: a.result, failure: a.failure })),
    })),
  };
}

export async function run(args: ParsedArgs<"pivots">): Promise<number> {
  const f = args.flags;
  const path = args.positionals[0]!;
  const limit = f.limit ?? DEFAULT_PIVOT_LIMIT;
  if (limit < 1) throw new UsageError(`--limit must be at least 1, got ${limit}`);
  if (f.jobs !== undefined && f.jobs < 1) throw new UsageError(`--jobs must be at least 1, got ${f.jobs}`);
  const t0 = performance.now();
  const { src, tr } = openRun(path);
  let r: PivotsResult;
  const events = new Map<number, string>();
  try {
    const note = recoveryNote(src, path);
    if (note) eprintln(safeText(note));
    const base = reopen(src, tr).base;
    if (!base.failure)
      throw new BranchError(
        `${path}: the run does not fail (outcome ${base.outcome.kind}, no invariant broken): no decision to blame`,
      );
    r = await runPivots(path, tr, base, limit, f.jobs);
    // Each pivot's event as events describes it; nearby pivots share one fold (withStates).
    withStates(
      src,
      r.pivots.map((p) => p.decision.seq),
      (e, st) => events.set(e.seq, describe(e, st ?? undefined)),
    );
    for (const p of r.pivots)
      if (p.decision.seq >= 0 && p.decision.seq < src.eventCount && !events.has(p.decision.seq))
        events.set(p.decision.seq, "(the event is missing: the trace is damaged there)");
  } finally {
    src.close();
  }
  if (f.json) {
    printJson(pivotsJson(r));
    return 0;
  }
  const ms = performance.now() - t0;
  println(`${color.bold("pivots")} ${safeText(path)}: ${safeText(failureText(r.failure))}`);
  const scope =
    r.considered < r.before
      ? `the latest ${n(r.considered)} of the ${n(r.before)} decisions before it (--limit)`
      : `all ${n(r.before)} decisions before it`;
  if (r.pivots.length === 0) {
    println(
      `  no single decision avoids it: flipped ${scope} (${n(r.runs)} runs, ${(ms / 1000).toFixed(2)} s); it does not depend on any one of them`,
    );
    return 0;
  }
  // A flip that avoids this failure may still fail another way (the same bug, met elsewhere): say how many make the run pass.
  const passing = r.pivots.filter((p) => p.avoid.some((a) => a.result === "passes")).length;
  const many = r.pivots.length > 1;
  const outcome =
    passing === r.pivots.length
      ? `flipping ${many ? "one of them" : "it"} avoids the failure`
      : passing > 0
        ? `flipping one of them avoids this failure; ${n(passing)} of them make the run pass, the others fail another way`
        : `flipping ${many ? "one of them" : "it"} avoids this failure, but the run then fails another way (no single flip makes it pass)`;
  println(
    `  ${color.red(`${r.pivots.length} decision${many ? "s" : ""} matter`)}: ${outcome} (flipped ${scope}; ${n(r.runs)} runs, ${(ms / 1000).toFixed(2)} s)`,
  );
  for (const p of r.pivots) {
    const alts = p.avoid.map((a) => `${alternativeText(p.decision, a.value)}: ${flipText(a)}`).join("; ");
    const ev = events.get(p.decision.seq);
    println(`  ${safeText(decisionText(p.decision))}${ev ? color.dim(safeText(`   [${ev}]`)) : ""}`);
    println(color.dim(`      ${safeText(alts)}`));
  }
  const first = r.pivots[0]!.decision;
  const flag =
    first.kind === "timing"
      ? ` --cost ${r.pivots[0]!.avoid[0]!.value}`
      : first.kind === "pick"
        ? ` --run ${r.pivots[0]!.avoid[0]!.value}`
        : first.value === 1
          ? " --no-preempt"
          : " --preempt";
  println(color.dim(safeText(`next: ktrace whatif ${path} --at ${first.seq}${flag}`)));
  return 0;
}
