// ktrace diff <traceA> <traceB> [--json]: where two runs part ways (the first
// event that differs, both described), the state difference there, and what
// differs afterwards (outcome, first violation, events per kind).
// Exit 0 when the runs are the same event for event, 1 when they differ; 2
// when no difference was found but a trace is damaged, so some events could
// not be compared (as `check` does).

import { BranchError, reopen, storedSchedule, traceRun } from "../../explore/branch.ts";
import { type DiffResult, diffRuns, type ObjectDiff, type RunMeta, type RunSummary } from "../../explore/diff.ts";
import type { Decision } from "../../explore/strategies/index.ts";
import { type EventJson, openSource, recoveryNote } from "../../replay/index.ts";
import type { TraceSource } from "../../replay/source.ts";
import { safeText } from "../../util/safe-text.ts";
import { table } from "../../util/text-table.ts";
import type { ParsedArgs } from "../args.ts";
import { color, eprintln, printJson, println } from "../io.ts";

const n = (x: number) => x.toLocaleString("en-US");

function runLine(m: RunMeta, s: RunSummary): string {
  const o = s.outcome;
  const end = o === null ? "outcome unknown (cut short)" : o.kind === "ok" ? "ok" : `${o.kind} at ${o.seq}`;
  return `${m.scenario} (${m.fix ? `--fix ${m.fix}` : "buggy"}) seed ${m.seed}, ${m.cpus} cpu${m.cpus === 1 ? "" : "s"}: ${n(m.events)} events, ${end}`;
}

function eventRow(side: string, e: EventJson | null, ended: boolean): string[] {
  if (e === null) return [side, "", "", "", ended ? "(ended)" : "(missing)", ""];
  return [side, String(e.seq), e.cpu < 0 ? "-" : `c${e.cpu}`, e.tid < 0 ? "-" : `t${e.tid}`, e.kind, e.desc];
}

/** A table whose cells come from the traces: each cell through safeText before it is measured. */
function safeTable(head: string[], rows: (string | number)[][]): string[] {
  return table(
    head,
    rows.map((r) => r.map((c) => safeText(String(c)))),
  );
}

const show = (v: unknown): string =>
  v === null || v === undefined ? "-" : Array.isArray(v) ? (v.length ? v.join(",") : "-") : String(v);

function stateRows(diffs: ObjectDiff[]): string[][] {
  const rows: string[][] = [];
  for (const d of diffs) {
    if (d.onlyIn) rows.push([d.label, "", d.onlyIn === "a" ? "exists" : "-", d.onlyIn === "b" ? "exists" : "-"]);
    else
      d.changes.forEach((c, i) => {
        rows.push([i === 0 ? d.label : "", c.field, show(c.a), show(c.b)]);
      });
  }
  return rows;
}

function printDiff(r: DiffResult, pathA: string, pathB: string): void {
  const safe = safeText;
  println(`${color.bold("A")}  ${safe(pathA)}: ${safe(runLine(r.a, r.after.a))}`);
  println(`${color.bold("B")}  ${safe(pathB)}: ${safe(runLine(r.b, r.after.b))}`);
  for (const note of r.notes) println(color.yellow(`note: ${safe(note)}`));
  println();
  const d = r.divergence;
  if (d.seq === null) {
    println(color.green(safe(d.why)));
    return;
  }
  println(`${color.bold(`first divergence at seq ${d.seq}`)}: ${safe(d.why)}`);
  if (d.decision)
    println(
      `  ${color.bold("first divergent decision")} (after ${n(d.decision.same)} the same): ${safe(d.decision.why)}`,
    );
  const rows = [
    ...d.common.map((e) => eventRow("=", e, false)),
    eventRow("A", d.a, d.seq >= r.a.events),
    eventRow("B", d.b, d.seq >= r.b.events),
  ];
  for (const line of safeTable(["", "seq", "cpu", "tid", "kind", "event"], rows)) println(`  ${line}`);
  const holes = [...r.gaps.a, ...r.gaps.b].some((g) => g.fromSeq < d.seq!)
    ? " (where both hold them: see the note above)"
    : "";
  const same = d.seq === 0 ? "no event before it is shared" : `events 0..${d.seq - 1} are the same in both${holes}`;
  println(
    color.dim(
      `  ${same}${d.timeFrom === null ? "" : ` (at other virtual times from seq ${d.timeFrom}: the steps took other times)`}`,
    ),
  );
  println();
  const at = r.stateAt;
  if (at === null) {
    println(color.yellow("state: not compared (see the note above)"));
  } else {
    printState(r, at);
  }
  printAfter(r);
}

function printState(r: DiffResult, at: { a: number; b: number }): void {
  const where = at.a === at.b ? `after seq ${at.a}` : `after seq ${at.a} in A, ${at.b} in B`;
  const head =
    r.stateSameUntil !== null
      ? `state: the same through seq ${r.stateSameUntil} (no object changed yet); after seq ${where.slice("after seq ".length)}, each run after its own events`
      : `state ${where}`;
  if (r.state.length === 0) println(`${head}: the same`);
  else {
    const count = r.state.length + r.stateMore;
    println(`${head}: ${count} object${count === 1 ? " differs" : "s differ"}`);
    for (const line of safeTable(["object", "field", "A", "B"], stateRows(r.state))) println(`  ${line}`);
    if (r.stateMore > 0) println(color.dim(`  … and ${r.stateMore} more (--json lists the first ${r.state.length})`));
  }
}

function printAfter(r: DiffResult): void {
  println();
  println("afterwards:");
  const { a, b } = r.after;
  const outcome = (s: RunSummary) =>
    s.outcome === null
      ? "unknown (cut short)"
      : s.outcome.kind === "ok"
        ? "ok"
        : `${s.outcome.kind} at ${s.outcome.seq}: ${s.outcome.message}`;
  const viol = (s: RunSummary) =>
    s.violation ? `${s.violation.invariant} at ${s.violation.seq}: ${s.violation.message}` : "none";
  const mark = (x: string, y: string) => (x === y ? "" : " ≠");
  const rowsAfter: string[][] = [
    ["outcome", "A", outcome(a)],
    ["", "B", outcome(b) + mark(outcome(a), outcome(b))],
    ["first violation", "A", viol(a)],
    ["", "B", viol(b) + mark(viol(a), viol(b))],
  ];
  for (const line of safeTable(["", "", ""], rowsAfter).slice(1)) println(`  ${line}`);
  const kinds = [...new Set([...Object.keys(a.byKind), ...Object.keys(b.byKind)])];
  const differ = kinds.filter((k) => (a.byKind[k] ?? 0) !== (b.byKind[k] ?? 0));
  println(
    `  events: ${n(a.events)} in A, ${n(b.events)} in B${differ.length === 0 ? "; the same count of every kind" : "; kinds whose counts differ:"}`,
  );
  if (differ.length > 0) {
    for (const line of safeTable(
      ["kind", "A", "B"],
      differ.map((k) => [k, a.byKind[k] ?? 0, b.byKind[k] ?? 0]),
    ))
      println(`    ${line}`);
  }
}

/** A run's decisions, re-simulated from its trace; a note instead when it cannot be. */
function decisionsOf(src: TraceSource, path: string): Decision[] | string {
  try {
    const tr = traceRun(src, path, storedSchedule(src, path));
    return reopen(src, tr).base.decisions ?? [];
  } catch (e) {
    if (e instanceof BranchError) return e.message;
    throw e;
  }
}

export async function run(args: ParsedArgs<"diff">): Promise<number> {
  const [pathA, pathB] = [args.positionals[0]!, args.positionals[1]!];
  const a = openSource(pathA);
  try {
    const b = openSource(pathB);
    try {
      const da = decisionsOf(a, pathA);
      const db = decisionsOf(b, pathB);
      const r = diffRuns(a, b, typeof da !== "string" && typeof db !== "string" ? { a: da, b: db } : undefined);
      for (const x of [da, db]) if (typeof x === "string") r.notes.push(`scheduling decisions not compared: ${x}`);
      if (args.flags.json) {
        printJson({ ...r, files: { a: pathA, b: pathB } });
      } else {
        for (const [src, p] of [
          [a, pathA],
          [b, pathB],
        ] as const) {
          const note = recoveryNote(src, safeText(p));
          if (note) eprintln(note);
        }
        printDiff(r, pathA, pathB);
      }
      if (r.divergence.seq !== null) return 1;
      if (r.gaps.a.length + r.gaps.b.length === 0) return 0;
      eprintln(
        `ktrace: no difference found in the events both runs hold, but ${r.gaps.a.length > 0 ? safeText(pathA) : safeText(pathB)} is damaged: its missing events could not be compared`,
      );
      return 2;
    } finally {
      b.close();
    }
  } finally {
    a.close();
  }
}
