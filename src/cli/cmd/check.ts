// ktrace check <trace> [--invariant NAME]... [--json]: the first invariant
// violation in a trace. Exit 1 when one is found, 0 when none.

import { checkInvariantNames, firstViolation, openSource, recoveryNote, selectFor, violationReport, type ViolationReport } from "../../replay/index.ts";
import { table } from "../../util/text-table.ts";
import type { ParsedArgs } from "../args.ts";
import { color, eprintln, printJson, println } from "../io.ts";

export async function run(args: ParsedArgs<"check">): Promise<number> {
  const path = args.positionals[0]!;
  const src = openSource(path);
  try {
    // Names are checked against the trace's invariants (the built-ins and the scenario's own, from its header), so after opening it.
    checkInvariantNames(args.flags.invariant ?? [], src);
    const invs = selectFor(src, args.flags.invariant);
    const res = firstViolation(src, invs);
    const report = res.violation ? violationReport(src, res.violation, res.state) : null;
    if (args.flags.json) {
      printJson({
        violation: report,
        scanned: res.scanned,
        events: src.eventCount,
        invariants: invs.map((i) => i.name),
        recovery: src.recovery,
      });
      return report ? 1 : 0;
    }
    const note = recoveryNote(src, path);
    if (note) eprintln(note);
    if (!report) {
      println(`no invariant violation in ${src.eventCount} events (checked: ${invs.map((i) => i.name).join(", ")})`);
      return 0;
    }
    printReport(report, res.scanned, src.eventCount, path);
    return 1;
  } finally {
    src.close();
  }
}

function printReport(r: ViolationReport, scanned: number, total: number, path: string): void {
  println(`${color.red(color.bold("VIOLATION"))} ${color.bold(r.invariant)} at seq ${r.seq} (${r.kind}, cpu ${r.cpu}, tid ${r.tid}, t=${r.time} ns)`);
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
  for (const e of led) push(e.seq, e.kind, e.desc, e.note);
  push(r.seq, r.kind, r.desc, "here");
  println();
  println("events that led to it:");
  for (const line of table(["seq", "kind", "event"], rows)) println(`  ${line}`);
  println();
  println(color.dim(`scanned ${scanned} of ${total} events; the state there: ktrace state ${path} --at violation`));
}
