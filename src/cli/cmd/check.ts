// ktrace check <trace> [--invariant NAME]... [--skip NAME]... [--jobs N] [--json]: the first invariant
// violation in a trace. Exit 1 when one is found, 0 when none; 2 when none
// was found but the trace is damaged, so part of it could not be checked
// (each such stretch is listed, and checking went on after it). A long trace is
// scanned on every core (replay/parallel-scan.ts) with the same answer.
//
// What it loads is what the scan needs (the replay modules themselves, not
// replay/index.ts): the report of a violation (explain.ts: the cursor, the
// causes) and its table are loaded when there is one. Memory matters here:
// issue 14's `check` peak is ≤ 100 MB, and every module is parsed and
// compiled again by each scan thread (docs/BENCHMARKS.md, "Phase 6").

import {
  CONSISTENCY_INVARIANTS,
  importedApplicability,
  LockEvidence,
  type NotEvaluated,
} from "../../replay/consistency.ts";
import type { ViolationReport } from "../../replay/explain.ts";
import { chosenInvariantNames } from "../../replay/invariant-names.ts";
import { selectFor } from "../../replay/invariants.ts";
import { firstViolationParallel, SCAN_MODES, type ScanMode } from "../../replay/parallel-scan.ts";
import { firstViolation, type ScanResult, unfoldedText } from "../../replay/scan.ts";
import { displaySafe, openSource, recoveryNote } from "../../replay/source.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, printJson, println } from "../io.ts";
import { workProgress } from "../progress.ts";

/** Events above which check shows a progress line on a terminal (a scan of more takes a second or so). */
const PROGRESS_EVENTS = 8_000_000;

export async function run(args: ParsedArgs<"check">): Promise<number> {
  const path = args.positionals[0]!;
  if (args.flags.jobs !== undefined && args.flags.jobs < 1)
    throw new UsageError(`--jobs must be at least 1, got ${args.flags.jobs}`);
  const raw = openSource(path);
  // Text names things from the trace: through displaySafe, every string is safe to print.
  const src = args.flags.json ? raw : displaySafe(raw);
  try {
    // Names are checked against the trace's invariants (the built-ins and the scenario's own, from its header), so after opening it.
    const names = chosenInvariantNames(args.flags.invariant ?? [], args.flags.skip ?? [], src, args.flags.also ?? []);
    // An imported trace: the invariants it has the data for, and a count of the lock events the lock invariants need.
    const { run: invs, notEvaluated } = importedApplicability(src.meta, selectFor(src, names));
    const evidence = src.meta.imported ? new LockEvidence() : null;
    let res: ScanResult;
    if (evidence) {
      // The evidence counts over the whole scan: one thread.
      if (args.verbose)
        eprintln("check: one thread (an imported trace: the lock evidence is counted over the whole scan)");
      res = firstViolation(src, [...invs, evidence]);
      notEvaluated.push(...evidence.notes().filter((n) => invs.some((i) => i.name === n.invariant)));
    } else {
      // On every core (parallel-scan.ts), with the serial scan's answer; the display-safe view when printing text.
      const segment = segmentKnob();
      // A long scan (seconds at 100M events): a terminal sees how far it is.
      const bar = src.eventCount > PROGRESS_EVENTS ? workProgress(`checking ${path}`, src.eventCount, "events") : null;
      try {
        res = await firstViolationParallel(raw, {
          ...(bar ? { progress: (seq: number) => bar.to(seq + 1) } : {}),
          names,
          display: !args.flags.json,
          jobs: args.flags.jobs,
          note: args.verbose ? eprintln : undefined,
          ...(segment ? { segmentEvents: segment, minEvents: 3 * segment, stretchEvents: Math.ceil(segment / 4) } : {}),
          ...modeKnob(),
        });
      } finally {
        bar?.clear();
      }
    }
    const report = res.violation
      ? (await import("../../replay/explain.ts")).violationReport(src, res.violation, res.state)
      : null;
    const code = report ? 1 : res.unchecked.length > 0 ? 2 : 0;
    // Invariants with a history (a monitor) start over after a stretch not checked: what needs events from before it is not judged.
    const restarted = res.unchecked.length > 0 ? invs.filter((i) => i.monitor !== undefined).map((i) => i.name) : [];
    const damaged = () =>
      eprintln(
        `ktrace: ${safeText(path)} is damaged: ${res.unchecked.length} stretch${res.unchecked.length === 1 ? "" : "es"} could not be checked (${unfoldedText(res.unchecked[0]!)}${res.unchecked.length > 1 ? "; …" : ""})`,
      );
    if (args.flags.json) {
      printJson({
        violation: report,
        scanned: res.scanned,
        events: src.eventCount,
        invariants: invs.map((i) => i.name),
        notEvaluated,
        recovery: src.recovery,
        gaps: src.gaps,
        unchecked: res.unchecked.map((u) => ({
          fromSeq: u.fromSeq,
          knownAfter: u.knownAfter,
          reason: unfoldedText(u),
        })),
        restarted,
      });
      if (code === 2) damaged();
      return code;
    }
    const note = recoveryNote(src, safeText(path));
    if (note) eprintln(note);
    if (!report) {
      const of = res.unchecked.length
        ? `the ${res.scanned} of ${src.eventCount} events checked`
        : `${src.eventCount} events`;
      println(`no invariant violation in ${of} (checked: ${invs.map((i) => i.name).join(", ")})`);
    } else {
      await printReport(report, res.scanned, src.eventCount, safeText(path));
      if (src.meta.imported && CONSISTENCY_INVARIANTS.some((i) => i.name === report.invariant)) {
        // The input's fault, not the traced system's: say how to look past it for the other invariants.
        const skips = [...(args.flags.skip ?? []), report.invariant].map((n) => `--skip ${n}`).join(" ");
        println(
          color.dim(
            `to check the other invariants past such gaps in the input: ktrace check ${safeText(path)} ${skips}`,
          ),
        );
      }
    }
    for (const u of res.unchecked) println(`${color.yellow("not checked")}: ${unfoldedText(u)}`);
    if (restarted.length > 0)
      println(
        `${color.yellow("started over")}: ${restarted.join(", ")} keep${restarted.length === 1 ? "s" : ""} a history of the run and start${restarted.length === 1 ? "s" : ""} over after each stretch not checked: a violation that needs events from before it is not judged`,
      );
    printNotEvaluated(notEvaluated);
    if (code === 2) damaged();
    return code;
  } finally {
    src.close();
  }
}

/**
 * KTRACE_CHECK_SEGMENT=N: split the scan into segments of about N events
 * (and do so from 3N events on) instead of the default 2^20, each checked in
 * stretches of about N/4 (parallel-scan.ts, EDEN_EVENTS): for tests and
 * experiments that need several segments in a small trace.
 */
function segmentKnob(): number | undefined {
  const v = Number(process.env.KTRACE_CHECK_SEGMENT);
  return Number.isSafeInteger(v) && v >= 1 ? v : undefined;
}

/** KTRACE_CHECK_MODE=pipeline|range: how the threads share the scan (parallel-scan.ts, ScanMode; default pipeline), for experiments. */
function modeKnob(): { mode?: ScanMode } {
  const v = process.env.KTRACE_CHECK_MODE as ScanMode | undefined;
  return v !== undefined && SCAN_MODES.includes(v) ? { mode: v } : {};
}

/** What an imported trace could not be checked for, one line each. */
function printNotEvaluated(list: readonly NotEvaluated[]): void {
  for (const n of list)
    println(`${color.yellow(n.partly ? "partly checked" : "not evaluated")}: ${n.invariant}: ${n.reason}`);
}

async function printReport(r: ViolationReport, scanned: number, total: number, path: string): Promise<void> {
  const { table } = await import("../../util/text-table.ts");
  println(
    `${color.red(color.bold("VIOLATION"))} ${color.bold(r.invariant)} at seq ${r.seq} (${r.kind}, cpu ${r.cpu}, tid ${r.tid}, t=${r.time} ns)`,
  );
  println(`  ${r.message}`);
  const rows: string[][] = [];
  const seen = new Set<number>();
  const push = (seq: number, kind: string, desc: string, note: string) => {
    if (seen.has(seq)) return;
    seen.add(seq);
    rows.push([String(seq), kind, desc + (note ? color.dim(`  ← ${note}`) : "")]);
  };
  const led = [
    ...r.causes.map((c) => ({ seq: c.seq, kind: c.kind, desc: c.desc, note: c.why })),
    ...r.context.map((e) => ({ seq: e.seq, kind: e.kind, desc: e.desc, note: "" })),
  ].sort((a, b) => a.seq - b.seq);
  // In seq order, the violation's own event among them (a cause may come after it: the write that came too late).
  for (const e of led) if (e.seq <= r.seq) push(e.seq, e.kind, e.desc, e.note);
  push(r.seq, r.kind, r.desc, "here");
  for (const e of led) if (e.seq > r.seq) push(e.seq, e.kind, e.desc, e.note);
  println();
  println("events that led to it:");
  for (const line of table(["seq", "kind", "event"], rows)) println(`  ${line}`);
  println();
  println(color.dim(`scanned ${scanned} of ${total} events; the state there: ktrace state ${path} --at violation`));
}
