// ktrace whatif <trace> --at SEQ [--run TID | --preempt | --no-preempt | --cost N | --drain | --no-drain] [-o FILE] [--json]
//
// One decision of the trace changed, the run simulated again following the
// original decisions elsewhere (src/explore/whatif.ts). Prints whether the
// failure still happens and writes the branch's trace. Exit 0 when the branch
// does not fail, 1 when it does, 2 for a SEQ where the change cannot be made.

import { BranchError, failureText, openRun, type RunResult, reopen, sameFailure } from "../../explore/branch.ts";
import { besideTrace } from "../../explore/trace-out.ts";
import { branchAt, outcomeWords, resolveChange } from "../../explore/whatif.ts";
import { eventAt, recoveryNote } from "../../replay/index.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, printJson, println } from "../io.ts";

const n = (x: number) => x.toLocaleString("en-US");

/** The original's outcome line. */
function originalText(r: RunResult): string {
  return r.failure
    ? `fails: ${failureText(r.failure)}; outcome ${r.outcome.kind} at ${r.outcome.seq} (${n(r.events)} events)`
    : `passes (${r.outcome.kind}, ${n(r.events)} events)`;
}

export async function run(args: ParsedArgs<"whatif">): Promise<number> {
  const f = args.flags;
  const path = args.positionals[0]!;
  if (f.preempt && f["no-preempt"]) throw new UsageError("give one of --preempt and --no-preempt");
  if (f.drain && f["no-drain"]) throw new UsageError("give one of --drain and --no-drain");
  const { src, tr } = openRun(path);
  let base: RunResult;
  let cpu = -1;
  let kind = -1;
  try {
    const note = recoveryNote(src, path);
    if (note) eprintln(safeText(note));
    if (f.at >= src.eventCount) throw new BranchError(`--at ${f.at}: the trace has events 0..${src.eventCount - 1}`);
    ({ cpu, kind } = eventAt(src, f.at));
    base = reopen(src, tr).base;
  } finally {
    src.close();
  }
  const change = resolveChange(
    base,
    {
      at: f.at,
      ...(f.run !== undefined ? { run: f.run } : {}),
      ...(f.cost !== undefined ? { cost: f.cost } : {}),
      ...(f.preempt ? { preempt: true } : f["no-preempt"] ? { preempt: false } : {}),
      ...(f.drain ? { drain: true } : f["no-drain"] ? { drain: false } : {}),
    },
    cpu,
    kind,
  );
  const out = f.output ?? besideTrace(path, `.whatif-${f.at}`);
  const { branch, guided: g } = branchAt(tr, base, change, f.at, out, `whatif ${path} --at ${f.at}`);
  const fails = branch.failure !== null;
  const same = base.failure !== null && sameFailure(base.failure, branch.failure);
  const followed = base.decisions?.length ?? 0;
  if (f.json) {
    printJson({
      at: f.at,
      change: change.text,
      original: { outcome: base.outcome, failure: base.failure, events: base.events },
      branch: {
        outcome: branch.outcome,
        failure: branch.failure,
        events: branch.events,
        violation: branch.violation
          ? { seq: branch.violation.seq, invariant: branch.violation.invariant, message: branch.violation.message }
          : null,
      },
      fails,
      sameFailure: same,
      fallbackAnswers: g.unmatched,
      firstUnapplied: g.firstMiss,
      path: out,
    });
    return fails ? 1 : 0;
  }
  println(`${color.bold("whatif")} ${safeText(path)} at seq ${f.at}: ${safeText(change.text)}`);
  println(`  original  ${safeText(originalText(base))}`);
  const words = outcomeWords(base, branch);
  const verdict = !fails ? color.green(words) : same ? color.red(words) : color.yellow(words);
  println(`  branch    ${safeText(verdict)}`);
  println(
    color.dim(
      `  the branch followed the original's ${n(followed)} decisions where they applied; ${n(g.unmatched)} question${g.unmatched === 1 ? "" : "s"} answered by the ${tr.strategy.name} strategy (seed ${tr.seed})${g.firstMiss ? `; first not applied: ${safeText(g.firstMiss)}` : ""}`,
    ),
  );
  println(`  trace     ${safeText(out)}`);
  println(
    color.dim(safeText(`next: ktrace diff ${path} ${out}   ktrace replay ${out}${fails ? " --at violation" : ""}`)),
  );
  return fails ? 1 : 0;
}
