// ktrace info <trace> [--json]: what a trace holds, read from its header,
// footer and index only (event chunks are not read).

import { openTrace, type TraceReader } from "../../trace/index.ts";
import type { Outcome } from "../../kernel/types.ts";
import type { ParsedArgs } from "../args.ts";
import { color, eprintln, printJson, println } from "../io.ts";

const n = (x: number) => x.toLocaleString("en-US");
const count = (x: number, what: string) => `${n(x)} ${what}${x === 1 ? "" : "s"}`;

/** The outcome to show: the recorded one; a complete trace without one ended ok. */
function outcomeOf(r: TraceReader): Outcome | null {
  if (r.outcome) return r.outcome;
  if (r.recovery) return null;
  return { kind: "ok", seq: r.eventCount - 1, message: "" };
}

export async function run(args: ParsedArgs<"info">): Promise<number> {
  const file = args.positionals[0]!;
  const r = openTrace(file);
  try {
    const m = r.meta;
    const rec = r.recovery;
    if (rec) {
      eprintln(`ktrace: warning: ${file} is incomplete (${rec.reason}); recovered ${rec.events} events and ${rec.snapshots} snapshots up to seq ${rec.lastSeq}`);
    }
    const o = outcomeOf(r);
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
        ...(rec ? { recovered: { events: rec.events, snapshots: rec.snapshots, lastSeq: rec.lastSeq, reason: rec.reason } } : {}),
        bytesRead: r.bytesRead,
      });
      return 0;
    }
    const opts = Object.entries(m.options).map(([k, v]) => `${k}=${v}`).join(" ");
    const rows: [string, string][] = [
      ["trace", `${file}  ${color.dim(`${n(r.fileBytes)} bytes${r.gzipped ? ", gzip" : ""}, format ${r.formatVersion}, ${m.writer}`)}`],
      ["scenario", `${color.bold(m.scenario)}  ${m.fix ? `--fix ${m.fix}` : "no fix"}  seed ${m.seed}  ${m.config.cpus} cpus${opts ? `  ${opts}` : ""}`],
      ["events", `${n(r.eventCount)}${r.endTime !== null && r.eventCount > 0 ? ` over ${n(r.endTime)} ns` : ""}  ${color.dim(`(${count(r.chunkCount, "chunk")}, ${count(r.snapshotSeqs.length, "snapshot")} every ${n(m.snapshotEvery)} events, ${(r.fileBytes / Math.max(1, r.eventCount)).toFixed(2)} bytes/event)`)}`],
    ];
    if (o) {
      const paint = o.kind === "ok" ? color.green : o.kind === "budget" ? color.yellow : color.red;
      rows.push(["outcome", `${paint(o.kind)} at seq ${o.seq}${o.message ? `: ${o.message}` : ""}`]);
    } else {
      rows.push(["outcome", color.yellow("unknown (the trace is incomplete)")]);
    }
    if (rec) rows.push(["recovered", `${n(rec.events)} events, ${n(rec.snapshots)} snapshots, up to seq ${rec.lastSeq}`]);
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) println(`${k.padEnd(w)}  ${v}`);
    return 0;
  } finally {
    r.close();
  }
}
