// ktrace events <trace> [--from N] [--to N] [--kind PATTERN] [--json]: the
// events of a trace, one per line, described in kernel terms (folded through
// the replay cursor, so descriptions name locks and processes).

import { Cursor, describe, eventJson, kindMask, kindName, openSource, recoveryNote } from "../../replay/index.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { eprintln, isStdoutClosed, printJsonLine, println } from "../io.ts";
import { row, type Column } from "../../util/text-table.ts";

/** A cpu or tid, "-" for none. */
const id = (n: number) => (n < 0 ? "-" : String(n));

export async function run(args: ParsedArgs<"events">): Promise<number> {
  const { from = 0, to, kind, json } = args.flags;
  if (to !== undefined && from > to) throw new UsageError(`--from ${from} is after --to ${to}`, "give --from <= --to");
  const mask = kind !== undefined ? kindMask(kind) : null;
  const path = args.positionals[0]!;
  const src = openSource(path);
  try {
    if (!json) {
      const note = recoveryNote(src, path);
      if (note) eprintln(note);
    }
    const last = Math.min(to ?? src.eventCount - 1, src.eventCount - 1);
    if (from > last) return 0;
    const cursor = new Cursor(src);
    cursor.seek(from - 1);
    // seq, time, cpu, tid, kind, description (widths are minimums: nothing is cut).
    const columns: Column[] = [
      { width: String(last).length, align: "right" },
      { width: String(cursor.eventAt(last).time).length, align: "right" },
      { width: 3, align: "right" },
      { width: 4, align: "right" },
      { width: 16 },
    ];
    for (let q = from; q <= last; q++) {
      const ev = cursor.step()!;
      if (mask !== null && mask[ev.kind] !== 1) continue;
      if (json) printJsonLine(eventJson(ev, cursor.state));
      else {
        println(row([String(ev.seq), String(ev.time), id(ev.cpu), id(ev.tid), kindName(ev.kind), describe(ev, cursor.state)], columns));
      }
      if (isStdoutClosed()) break;
    }
    return 0;
  } finally {
    src.close();
  }
}
