// ktrace events <trace> [--from N] [--to N] [--kind PATTERN] [--json]: the
// (PATTERN: kind names and globs; generic:GLOB for an imported trace's generic
// events by their name)
// events of a trace, one per line, described in kernel terms (folded from the
// nearest snapshot, so descriptions name locks and processes). In a damaged
// trace, a line marks each missing range and the events go on after it
// (described by ids only until the next snapshot, where the state is known
// again); with --json that line is {"missing": {fromSeq, toSeq, reason}}.

import {
  describe,
  displaySafe,
  eventJson,
  eventMatcher,
  eventOrNull,
  kindName,
  openSource,
  type ReplaySource,
  recoveryNote,
  walk,
} from "../../replay/index.ts";
import { safeText } from "../../util/safe-text.ts";
import { type Column, row } from "../../util/text-table.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, isStdoutClosed, printJsonLine, println } from "../io.ts";

/** A cpu or tid, "-" for none. */
const id = (n: number) => (n < 0 ? "-" : String(n));

/** Width of the time column: the time of the last readable event at or before `last` (times only grow). */
function timeWidth(src: ReplaySource, from: number, last: number): number {
  for (let ci = src.chunkOf(last); ci >= 0; ci--) {
    const seq = Math.min(last, (src.chunkFirstSeqs[ci + 1] ?? src.eventCount) - 1);
    if (seq < from) break;
    const ev = eventOrNull(src, seq);
    if (ev) return String(ev.time).length;
  }
  return 1;
}

export async function run(args: ParsedArgs<"events">): Promise<number> {
  const { from = 0, to, kind, json } = args.flags;
  if (to !== undefined && from > to) throw new UsageError(`--from ${from} is after --to ${to}`, "give --from <= --to");
  const match = kind !== undefined ? eventMatcher(kind) : null;
  const path = args.positionals[0]!;
  const raw = openSource(path);
  const src = json ? raw : displaySafe(raw);
  try {
    const last = Math.min(to ?? src.eventCount - 1, src.eventCount - 1);
    if (from > last) return 0;
    // seq, time, cpu, tid, kind, description (widths are minimums: nothing is cut).
    const columns: Column[] = [
      { width: String(last).length, align: "right" },
      { width: json ? 0 : timeWidth(src, from, last), align: "right" },
      { width: 3, align: "right" },
      { width: 4, align: "right" },
      { width: 16 },
    ];
    walk(src, from, last, {
      event: (ev, st) => {
        if (match !== null && !match(ev)) return isStdoutClosed();
        if (json) printJsonLine(eventJson(ev, st ?? undefined));
        else
          println(
            row(
              [
                String(ev.seq),
                String(ev.time),
                id(ev.cpu),
                id(ev.tid),
                kindName(ev.kind),
                describe(ev, st ?? undefined),
              ],
              columns,
            ),
          );
        return isStdoutClosed();
      },
      unfolded: (u) => {
        const g = u.missing;
        if (g) {
          const lo = Math.max(g.fromSeq, from);
          const hi = Math.min(g.toSeq, last);
          if (lo > hi) return;
          if (json) printJsonLine({ missing: { fromSeq: lo, toSeq: hi, reason: g.reason } });
          else
            println(
              color.yellow(`-- ${lo === hi ? `event ${lo} is` : `events ${lo}..${hi} are`} missing: ${g.reason} --`),
            );
        } else if (!json) {
          println(
            color.yellow(
              `-- the state from seq ${u.fromSeq} on is unknown (${u.reason}); events are described by ids --`,
            ),
          );
        }
      },
    });
    if (!json) {
      const note = recoveryNote(src, safeText(path));
      if (note) eprintln(note);
    }
    return 0;
  } finally {
    src.close();
  }
}
