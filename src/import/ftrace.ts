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
import { newRecord, type TraceRecord } from "./record.ts";

// comm is lazy so the last `-digits` before the columns ends it ("memfd:sealed-91-7779").
const LINE_RE =
  /^\s*(.+?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?(?:\[(\d+)\]\s+(?:([^\s\d][^\s]{3,5})\s+)?|(\d+)([^\s\d][^\s]{3,5})\s+)(\d+)(?:\.(\d+))?:\s+(?:([\w-]+):)?([\w-]+):\s*(.*)$/;
const LOST_RE = /^CPU:\s*(\d+) \[LOST (\d+) EVENTS\]$/;
const HEADER_RE = /^(?:#|cpus=\d+$|version = |CPU \d+ is empty$|\s*$)/;

/** What a reader makes of one line. */
export type LineResult = TraceRecord | "skip" | null;

/** True for '0'..'9'. */
const digit = (c: number) => c >= 48 && c <= 57;

/** Integer value of text[a, b) when it is all digits (at most 15), else NaN. */
function digits(text: string, a: number, b: number): number {
  if (b <= a || b - a > 15) return NaN;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
    n = n * 10 + (c - 48);
  }
  return n;
}

/**
 * The common line shapes, read by hand (twice as fast as LINE_RE, the hottest code of
 * an import): `comm-tid [(tgid)] [cpu] [flags] secs.frac: [system:]name: payload` and
 * the latency form `comm-tid cpuFLAGS secs.frac: ...`. Returns null for anything else;
 * parseFtraceLine then tries LINE_RE, which gives the same record for every line this
 * reads (a test checks both on every fixture line).
 */
function scan(text: string, line: number, clock: Clock): TraceRecord | null {
  // The timestamp ends at the first ": " whose preceding token is secs.frac.
  let colon = text.indexOf(": ");
  let tsStart = -1;
  let dot = -1;
  while (colon > 0) {
    let i = colon - 1;
    dot = -1;
    while (i >= 0) {
      const c = text.charCodeAt(i);
      if (c === 46 && dot < 0) dot = i;
      else if (!digit(c)) break;
      i--;
    }
    if (i >= 0 && text.charCodeAt(i) === 32 && dot > i + 1 && dot < colon - 1) {
      tsStart = i + 1;
      break;
    }
    colon = text.indexOf(": ", colon + 2);
  }
  if (tsStart < 0) return null;
  // Right to left before the timestamp: [flags], [cpu] or cpuFLAGS, [(tgid)], comm-tid.
  let end = tsStart - 1;
  while (end > 0 && text.charCodeAt(end - 1) === 32) end--;
  const tokStart = text.lastIndexOf(" ", end - 1) + 1;
  let flags: string | undefined;
  let cpu = NaN;
  if (text.charCodeAt(end - 1) !== 93) {
    // flags, or the latency form's cpuFLAGS
    let k = tokStart;
    while (k < end && digit(text.charCodeAt(k))) k++;
    const len = end - k;
    if (len < 4 || len > 6) return null;
    flags = text.slice(k, end);
    if (k > tokStart) cpu = digits(text, tokStart, k);
    end = tokStart;
    while (end > 0 && text.charCodeAt(end - 1) === 32) end--;
  }
  if (Number.isNaN(cpu)) {
    if (text.charCodeAt(end - 1) !== 93) return null;
    const open = text.lastIndexOf("[", end - 1);
    if (open < 0) return null;
    cpu = digits(text, open + 1, end - 1);
    if (Number.isNaN(cpu)) return null;
    end = open;
    while (end > 0 && text.charCodeAt(end - 1) === 32) end--;
  }
  let pid: number | undefined;
  if (text.charCodeAt(end - 1) === 41) {
    // (tgid) or (-------)
    const open = text.lastIndexOf("(", end - 1);
    if (open < 0) return null;
    let a = open + 1;
    while (text.charCodeAt(a) === 32) a++;
    if (text.charCodeAt(a) !== 45) {
      pid = digits(text, a, end - 1);
      if (Number.isNaN(pid)) return null;
    }
    end = open;
    while (end > 0 && text.charCodeAt(end - 1) === 32) end--;
  }
  // comm-tid
  const dash = text.lastIndexOf("-", end - 1);
  if (dash < 0) return null;
  const tid = digits(text, dash + 1, end);
  if (Number.isNaN(tid)) return null;
  let cs = 0;
  while (cs < dash && text.charCodeAt(cs) === 32) cs++;
  if (cs === dash) return null;
  // [system:]name: payload
  let ns = colon + 2;
  while (text.charCodeAt(ns) === 32) ns++;
  let ne = ns;
  let system: string | undefined;
  for (;;) {
    while (ne < text.length) {
      const c = text.charCodeAt(ne);
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || digit(c) || c === 95 || c === 45) ne++;
      else break;
    }
    if (ne === ns || text.charCodeAt(ne) !== 58) return null;
    const after = text.charCodeAt(ne + 1);
    if (after === 32 || Number.isNaN(after)) break;
    if (system !== undefined) return null;
    system = text.slice(ns, ne);
    ns = ne + 1;
    ne = ns;
  }
  const ts = clock.secondsIn(text, tsStart, dot, colon);
  if (Number.isNaN(ts)) return null;
  const name = text.slice(ns, ne);
  let ps = ne + 1;
  while (text.charCodeAt(ps) === 32) ps++;
  return newRecord(line, ts, cpu, text.slice(cs, dash), tid, pid, name, system, parsePayload(name, text.slice(ps)), flags);
}

/** Parses one ftrace line: a record, "skip" for a header or blank line, null when unparseable. */
export function parseFtraceLine(text: string, line: number, clock: Clock): LineResult {
  return scan(text, line, clock) ?? parseFtraceLineRe(text, line, clock);
}

/** The regex reading of a line (every shape this file documents). */
export function parseFtraceLineRe(text: string, line: number, clock: Clock): LineResult {
  const m = LINE_RE.exec(text);
  if (m === null) {
    if (HEADER_RE.test(text)) return "skip";
    const lost = LOST_RE.exec(text);
    if (lost !== null) {
      const cpu = Number(lost[1]);
      return newRecord(line, NaN, cpu, "", -1, undefined, "lost_events", undefined, { cpu, count: Number(lost[2]) }, undefined);
    }
    return null;
  }
  const ts = m[9] === undefined ? clock.counter(m[8]!) : clock.seconds(m[8]!, m[9]);
  if (Number.isNaN(ts)) return null;
  const name = m[11]!;
  const tgid = m[3];
  return newRecord(line, ts, Number(m[4] ?? m[6]), m[1]!, Number(m[2]), tgid !== undefined && tgid[0] !== "-" ? Number(tgid) : undefined,
    name, m[10], parsePayload(name, m[12]!), m[5] ?? m[7]);
}
