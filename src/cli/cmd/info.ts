// ktrace info <trace> [--json]: what a trace holds: its header, footer and
// index, and whether anything in it is damaged. It reads every chunk to say
// so (checksums, bodies, snapshots: TraceReader.verify), so "nothing is
// wrong" is only said when nothing is; it does not fold the events (that is
// `ktrace check`).

import type { Outcome } from "../../kernel/index.ts";
import { gapsText, TraceSource, walk } from "../../replay/index.ts";
import { clockText, openTrace, type TraceReader } from "../../trace/index.ts";
import { safeText } from "../../util/safe-text.ts";
import { table } from "../../util/text-table.ts";
import type { ParsedArgs } from "../args.ts";
import { color, eprintln, printJson, println } from "../io.ts";
import { workProgress } from "../progress.ts";

const n = (x: number) => x.toLocaleString("en-US");
const count = (x: number, what: string) => `${n(x)} ${what}${x === 1 ? "" : "s"}`;

/**
 * The outcome to show: the recorded one; a complete trace without one ended ok.
 * A trace cut short lost its index and with it the recorded outcome: fold the
 * recovered events from the last snapshot (at most one snapshot interval) and
 * take the outcome they reached (a panic, fatal error or hang they contain).
 */
function outcomeOf(r: TraceReader): { outcome: Outcome | null; recovered: boolean } {
  if (r.outcome) return { outcome: r.outcome, recovered: false };
  if (!r.recovery) return { outcome: { kind: "ok", seq: r.eventCount - 1, message: "" }, recovered: false };
  const last = r.recovery.lastSeq;
  if (last < 0) return { outcome: null, recovered: true };
  let outcome: Outcome | null = null;
  walk(new TraceSource(r), last, last, { event: (_ev, st) => void (outcome = st?.outcome ?? null) });
  return { outcome, recovered: true };
}

/** What is wrong with the trace, one item per problem; empty when nothing is. */
function problems(r: TraceReader): string[] {
  const out: string[] = [];
  if (r.gaps.length) out.push(gapsText(r.gaps));
  const lost = r.lostSnapshots;
  if (lost.length)
    out.push(
      `${count(lost.length, "snapshot")} damaged (seq ${lost
        .slice(0, 3)
        .map((s) => s.seq)
        .join(", ")}${lost.length > 3 ? ", …" : ""}: ${lost[0]!.reason})`,
    );
  out.push(...r.warnings);
  return out;
}

export async function run(args: ParsedArgs<"info">): Promise<number> {
  const file = args.positionals[0]!;
  const name = safeText(file);
  const r = openTrace(file);
  try {
    const opened = r.bytesRead;
    // Every chunk is read (a 100M-event trace: seconds): a terminal sees how far it is.
    const chunks = r.snapshotSeqs.length + r.chunkCount;
    const bar = chunks > 2048 ? workProgress(`verifying ${file}`, chunks, "chunks") : null;
    r.verify(bar ? (done) => bar.to(done) : undefined);
    bar?.clear();
    const m = r.meta;
    const rec = r.recovery;
    const bad = problems(r);
    if (rec) {
      eprintln(
        `ktrace: warning: ${name} is incomplete (${rec.reason}); recovered ${rec.events} events and ${rec.snapshots} snapshots up to seq ${rec.lastSeq}`,
      );
    }
    if (bad.length) eprintln(`ktrace: warning: ${name} is damaged: ${bad.join("; ")}`);
    const { outcome: o, recovered } = outcomeOf(r);
    if (args.flags.json) {
      printJson({
        file,
        formatVersion: r.formatVersion,
        writer: m.writer,
        scenario: m.scenario,
        fix: m.fix,
        seed: m.seed,
        cpus: m.config.cpus,
        options: m.options,
        config: m.config,
        events: r.eventCount,
        snapshots: r.snapshotSeqs.length,
        snapshotEvery: m.snapshotEvery,
        maxEvents: m.maxEvents,
        chunks: r.chunkCount,
        endTime: r.endTime,
        bytes: r.fileBytes,
        gzip: r.gzipped,
        outcome: o ? { kind: o.kind, seq: o.seq, message: o.message } : null,
        imported: m.imported ?? null,
        ...(recovered ? { outcomeFrom: "recovered events" } : {}),
        ...(rec
          ? { recovered: { events: rec.events, snapshots: rec.snapshots, lastSeq: rec.lastSeq, reason: rec.reason } }
          : {}),
        damaged: r.damaged,
        ...(r.damaged ? { gaps: r.gaps, lostSnapshots: r.lostSnapshots, warnings: r.warnings } : {}),
        bytesRead: opened,
        bytesVerified: r.bytesRead - opened,
      });
      return 0;
    }
    const opts = Object.entries(m.options)
      .map(([k, v]) => `${safeText(k)}=${safeText(v)}`)
      .join(" ");
    const rows: [string, string][] = [
      [
        "trace",
        `${name}  ${color.dim(`${n(r.fileBytes)} bytes${r.gzipped ? ", gzip" : ""}, format ${r.formatVersion}, ${safeText(m.writer)}`)}`,
      ],
      m.imported
        ? [
            "imported",
            `${color.bold(safeText(m.imported.format))} text from ${safeText(m.imported.file)}${m.imported.gzip ? " (gzip)" : ""}  ${m.config.cpus} cpus`,
          ]
        : [
            "scenario",
            `${color.bold(safeText(m.scenario))}  ${m.fix ? `--fix ${safeText(m.fix)}` : "no fix"}  seed ${m.seed}  ${m.config.cpus} cpus${m.config.memory === "tso" || m.config.memory === "pso" ? `  memory ${m.config.memory}` : ""}${opts ? `  ${opts}` : ""}`,
          ],
      [
        "events",
        `${n(r.eventCount)}${r.endTime !== null && r.eventCount > 0 ? ` over ${n(r.endTime)} ns` : ""}  ${color.dim(`(${count(r.chunkCount, "chunk")}, ${count(r.snapshotSeqs.length, "snapshot")} every ${n(m.snapshotEvery)} events, ${(r.fileBytes / Math.max(1, r.eventCount)).toFixed(2)} bytes/event)`)}`,
      ],
    ];
    if (m.imported?.clock) rows.push(["clock", safeText(clockText(m.imported.clock))]);
    if (o && m.imported && o.kind === "ok") {
      rows.push(["outcome", `none: an imported trace (it ends at seq ${o.seq})`]);
    } else if (o) {
      const paint = o.kind === "ok" ? color.green : o.kind === "budget" ? color.yellow : color.red;
      const from = recovered ? color.dim(" (read from the recovered events)") : "";
      rows.push(["outcome", `${paint(o.kind)} at seq ${o.seq}${o.message ? `: ${safeText(o.message)}` : ""}${from}`]);
    } else {
      rows.push([
        "outcome",
        color.yellow(
          `unknown: nothing failed in the ${n(r.recovery?.events ?? 0)} recovered events (the trace is incomplete)`,
        ),
      ]);
    }
    if (rec)
      rows.push([
        "recovered",
        `${count(rec.events, "event")}, ${count(rec.snapshots, "snapshot")}, up to seq ${rec.lastSeq}`,
      ]);
    for (const b of bad) rows.push(["damaged", color.yellow(b)]);
    for (const line of table(null, rows, { align: ["left", "left"] })) println(line);
    return 0;
  } finally {
    r.close();
  }
}
