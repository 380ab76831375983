// ftrace text: /sys/kernel/tracing/trace (and trace_pipe) and `trace-cmd report`.
//
// One event per line:
//   <comm>-<tid> [(<tgid>)] [<cpu>] [<irq-info>] <secs>.<frac>: <event>: <payload>
// where
//   (<tgid>)    `(  1234)` or `(-------)`, present with options/record-tgid;
//   <irq-info>  4 to 6 flag characters (`d..2.`), present with options/irq-info
//               (the default) in tracefs, absent in trace-cmd report;
//   <secs>      seconds.fraction (6 digits by default, 9 with `trace-cmd report -t`),
//               or a bare integer under a counter trace_clock.
// `trace-cmd report -l` (latency format) prints `<comm8>-<tid>  <cpu><irq-info>` instead
// of `[<cpu>] <irq-info>`. Header lines (`# ...`, `cpus=2`, `version = 6`, `CPU 1 is
// empty`, `##### CPU 1 buffer started ####`) are skipped; `CPU:1 [LOST 12 EVENTS]`
// becomes a record named `lost_events` with fields cpu, count.

import type { Clock } from "./clock.ts";
import { parsePayload } from "./fields.ts";
import type { TraceRecord } from "./record.ts";

// comm is lazy so the last `-digits` before the columns ends it ("memfd:sealed-91-7779").
const LINE_RE =
  /^\s*(.+?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?(?:\[(\d+)\]\s+(?:([^\s\d][^\s]{3,5})\s+)?|(\d+)([^\s\d][^\s]{3,5})\s+)(\d+)(?:\.(\d+))?:\s+(?:([\w-]+):)?([\w-]+):\s*(.*)$/;
const LOST_RE = /^CPU:\s*(\d+) \[LOST (\d+) EVENTS\]$/;
const HEADER_RE = /^(?:#|cpus=\d+$|version = |CPU \d+ is empty$|\s*$)/;

/** What a reader makes of one line. */
export type LineResult = TraceRecord | "skip" | null;

/** Parses one ftrace line: a record, "skip" for a header or blank line, null when unparseable. */
export function parseFtraceLine(text: string, line: number, clock: Clock): LineResult {
  const m = LINE_RE.exec(text);
  if (m === null) {
    if (HEADER_RE.test(text)) return "skip";
    const lost = LOST_RE.exec(text);
    if (lost !== null) {
      return { line, ts: NaN, cpu: Number(lost[1]), comm: "", tid: -1, name: "lost_events", fields: { cpu: Number(lost[1]), count: Number(lost[2]) } };
    }
    return null;
  }
  const ts = m[9] === undefined ? clock.counter(m[8]!) : clock.seconds(m[8]!, m[9]);
  if (Number.isNaN(ts)) return null;
  const name = m[11]!;
  const rec: TraceRecord = {
    line,
    ts,
    cpu: Number(m[4] ?? m[6]),
    comm: m[1]!,
    tid: Number(m[2]),
    name,
    fields: parsePayload(name, m[12]!),
  };
  const tgid = m[3];
  if (tgid !== undefined && tgid[0] !== "-") rec.pid = Number(tgid);
  const flags = m[5] ?? m[7];
  if (flags !== undefined) rec.flags = flags;
  if (m[10] !== undefined) rec.system = m[10];
  return rec;
}
