// `perf script` text.
//
// Default fields for a tracepoint recorded with -a:
//   <comm> <tid> [<cpu>] <secs>.<frac>: <system>:<event>: <payload>
// Common -F variations: `-F +pid` or `-F comm,pid,tid,...` print `<pid>/<tid>`; without
// -a (or -F without cpu) there is no `[<cpu>]`; `-F tid,...` without comm starts with
// the number; a sample of a counting event prints its period before the event name
// (`250000 cycles:`). Call-chain lines under a sample (indented `address symbol`) and
// blank lines are skipped. The payload is the tracepoint's print format, as in ftrace.
// A task perf has already forgotten (its last events, after its exit: the
// runtime stats and the switch away from it) prints as `:-1    -1`: tid -1, and
// the mapper takes the task from the payload (prev_pid) or the cpu.

import type { Clock } from "./clock.ts";
import { parsePayload } from "./fields.ts";
import type { LineResult } from "./ftrace.ts";
import { newRecord } from "./record.ts";

const LINE_RE =
  /^\s*(?:(.*?)\s+)?(-1|\d+)(?:\/(-1|\d+))?\s+(?:\[(\d+)\]\s+)?(\d+)\.(\d+):\s+(?:\d+\s+)?(?:([\w-]+):)?([\w-]+):\s*(.*)$/;
const SKIP_RE = /^(?:\s*$|\s+[0-9a-f]+ \S)/;

/** Parses one perf script line: a record, "skip" for a call-chain or blank line, null when unparseable. */
export function parsePerfLine(text: string, line: number, clock: Clock): LineResult {
  const m = LINE_RE.exec(text);
  if (m === null) return SKIP_RE.test(text) ? "skip" : null;
  const ts = clock.seconds(m[5]!, m[6]!);
  if (Number.isNaN(ts)) return null;
  const name = m[8]!;
  return newRecord(
    line,
    ts,
    m[4] === undefined ? -1 : Number(m[4]),
    m[1] ?? "",
    Number(m[3] ?? m[2]),
    m[3] !== undefined ? Number(m[2]) : undefined,
    name,
    m[7],
    parsePayload(name, m[9]!),
    undefined,
  );
}
