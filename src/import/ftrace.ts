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

import { type Bytes, decode, isDigit, text, uintAt, utf8Bytes } from "./bytes.ts";
import type { Clock } from "./clock.ts";
import { parsePayload, parsePayloadAt } from "./fields.ts";
import { newRecord, type TraceRecord } from "./record.ts";

// comm is lazy so the last `-digits` before the columns ends it ("memfd:sealed-91-7779").
const LINE_RE =
  /^\s*(.+?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?(?:\[(\d+)\]\s+(?:([^\s\d][^\s]{3,5})\s+)?|(\d+)([^\s\d][^\s]{3,5})\s+)(\d+)(?:\.(\d+))?:\s+(?:([\w-]+):)?([\w-]+):\s*(.*)$/;
const LOST_RE = /^CPU:\s*(\d+) \[LOST (\d+) EVENTS\]$/;
const HEADER_RE = /^(?:#|cpus=\d+$|version = |CPU \d+ is empty$|\s*$)/;

/** What a reader makes of one line. */
export type LineResult = TraceRecord | "skip" | null;

/**
 * Where scanFtraceHead found a line's parts: byte ranges of the line's buffer
 * ([start, end); start -1 for a part the line does not have) and the numbers.
 */
export interface FtraceHead {
  ts: number;
  cpu: number;
  tid: number;
  /** The tgid column, -1 when absent or `(-------)` (an integer either way: a NaN here made the JIT's code for ftraceRecord exit to a slower tier thousands of times per 1M lines). */
  pid: number;
  commStart: number;
  commEnd: number;
  nameStart: number;
  nameEnd: number;
  systemStart: number;
  systemEnd: number;
  flagsStart: number;
  flagsEnd: number;
  /** Where the payload starts (it ends with the line). */
  payload: number;
}

/** A FtraceHead to fill. */
export function ftraceHead(): FtraceHead {
  return {
    ts: 0,
    cpu: 0,
    tid: 0,
    pid: -1,
    commStart: -1,
    commEnd: -1,
    nameStart: -1,
    nameEnd: -1,
    systemStart: -1,
    systemEnd: -1,
    flagsStart: -1,
    flagsEnd: -1,
    payload: -1,
  };
}

/**
 * The common line shapes, read from the line's bytes by hand (no regex, no string for
 * the line; the hottest code of an import): `comm-tid [(tgid)] [cpu] [flags]
 * secs.frac: [system:]name: payload` and the latency form `comm-tid cpuFLAGS
 * secs.frac: ...`, in buf[s, e). Fills `h` and returns true (the line's time read
 * into the clock, last), or returns false for anything else; the caller then tries
 * LINE_RE on the line's text, which gives the same record for every line this reads
 * (a test checks both on every fixture line). scanFtrace makes the record;
 * the parse thread (record-codec.ts) sends the parts without making one.
 */
export function scanFtraceHead(buf: Bytes, s: number, e: number, clock: Clock, h: FtraceHead): boolean {
  // The timestamp ends at the first ": " whose preceding token is secs.frac.
  let colon = colonSpace(buf, s, e);
  let tsStart = -1;
  let dot = -1;
  while (colon > s) {
    let i = colon - 1;
    dot = -1;
    while (i >= s) {
      const c = buf[i]!;
      if (c === 46 && dot < 0) dot = i;
      else if (!isDigit(c)) break;
      i--;
    }
    if (i >= s && buf[i] === 32 && dot > i + 1 && dot < colon - 1) {
      tsStart = i + 1;
      break;
    }
    colon = colonSpace(buf, colon + 2, e);
  }
  if (tsStart < 0) return false;
  // Right to left before the timestamp: [flags], [cpu] or cpuFLAGS, [(tgid)], comm-tid.
  let end = skipSpacesBack(buf, s, tsStart - 1);
  let flagsStart = -1; // flags: buf[flagsStart, flagsEnd)
  let flagsEnd = -1;
  // -1 until read, not NaN: a NaN in the variable makes the compilers keep every cpu as a double, and each
  // consumer of the record (mapper, converter, reducer, encoder) then exits its int32 code and is compiled again.
  let cpu = -1;
  if (end === s || buf[end - 1] !== 93) {
    // flags, or the latency form's cpuFLAGS
    const tokStart = lastIndexOfByte(buf, s, 32, end - 1) + 1;
    let k = tokStart;
    while (k < end && isDigit(buf[k]!)) k++;
    const len = asciiAt(buf, k, end) ? end - k : decode(buf, k, end).length;
    if (len < 4 || len > 6) return false;
    flagsStart = k;
    flagsEnd = end;
    if (k > tokStart) cpu = uintAt(buf, tokStart, k);
    end = skipSpacesBack(buf, s, tokStart);
  }
  if (cpu < 0) {
    if (end === s || buf[end - 1] !== 93) return false;
    const open = lastIndexOfByte(buf, s, 91, end - 1);
    if (open < s) return false;
    cpu = uintAt(buf, open + 1, end - 1);
    if (cpu < 0) return false;
    end = skipSpacesBack(buf, s, open);
  }
  let pid = -1;
  if (end > s && buf[end - 1] === 41) {
    // (tgid) or (-------)
    const open = lastIndexOfByte(buf, s, 40, end - 1);
    if (open < s) return false;
    let a = open + 1;
    while (a < e && buf[a] === 32) a++;
    if (buf[a] !== 45 || a >= e) {
      pid = uintAt(buf, a, end - 1);
      if (pid < 0) return false;
    }
    end = skipSpacesBack(buf, s, open);
  }
  // comm-tid
  const dash = lastIndexOfByte(buf, s, 45, end - 1);
  if (dash < s) return false;
  const tid = uintAt(buf, dash + 1, end);
  if (tid < 0) return false;
  let cs = s;
  while (cs < dash && buf[cs] === 32) cs++;
  if (cs === dash) return false;
  // [system:]name: payload
  let ns = colon + 2;
  while (ns < e && buf[ns] === 32) ns++;
  let ne = ns;
  let systemStart = -1;
  let systemEnd = -1;
  for (;;) {
    while (ne < e && isNameChar(buf[ne]!)) ne++;
    if (ne === ns || ne >= e || buf[ne] !== 58) return false;
    if (ne + 1 >= e || buf[ne + 1] === 32) break;
    if (systemStart >= 0) return false;
    systemStart = ns;
    systemEnd = ne;
    ns = ne + 1;
    ne = ns;
  }
  const ts = clock.secondsAt(buf, tsStart, dot, colon);
  if (Number.isNaN(ts)) return false;
  let ps = ne + 1;
  while (ps < e && buf[ps] === 32) ps++;
  h.ts = ts;
  h.cpu = cpu;
  h.tid = tid;
  h.pid = pid;
  h.commStart = cs;
  h.commEnd = dash;
  h.nameStart = ns;
  h.nameEnd = ne;
  h.systemStart = systemStart;
  h.systemEnd = systemEnd;
  h.flagsStart = flagsStart;
  h.flagsEnd = flagsEnd;
  h.payload = ps;
  return true;
}

const HEAD = ftraceHead();

/** scanFtraceHead's line as a record, or null. */
export function scanFtrace(buf: Bytes, s: number, e: number, line: number, clock: Clock): TraceRecord | null {
  return scanFtraceHead(buf, s, e, clock, HEAD) ? ftraceRecord(buf, e, line, HEAD) : null;
}

/** The record of the line scanFtraceHead read into `h` (the line ends at e). */
export function ftraceRecord(buf: Bytes, e: number, line: number, h: FtraceHead): TraceRecord {
  const system = h.systemStart < 0 ? undefined : text(buf, h.systemStart, h.systemEnd);
  const name = text(buf, h.nameStart, h.nameEnd);
  const flags = h.flagsStart < 0 ? undefined : text(buf, h.flagsStart, h.flagsEnd);
  const pid = h.pid < 0 ? undefined : h.pid;
  const comm = text(buf, h.commStart, h.commEnd);
  return newRecord(line, h.ts, h.cpu, comm, h.tid, pid, name, system, parsePayloadAt(name, buf, h.payload, e), flags);
}

/** True when buf[a, b) is all ASCII. */
function asciiAt(buf: Bytes, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

const isNameChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === 95 || c === 45;

/** Index of the first ": " in buf[from, e), or -1. */
function colonSpace(buf: Bytes, from: number, e: number): number {
  // The runtime's native search for ':' (Uint8Array's own: Buffer's is a slow polyfill on Deno).
  for (let i = u8IndexOf.call(buf, 58, from); i >= 0 && i + 1 < e; i = u8IndexOf.call(buf, 58, i + 1))
    if (buf[i + 1] === 32) return i;
  return -1;
}
const u8IndexOf = Uint8Array.prototype.indexOf;

/** Last index of byte c in buf[s, from] (String.lastIndexOf's clamping: from < s reads as s), or s - 1. */
function lastIndexOfByte(buf: Bytes, s: number, c: number, from: number): number {
  for (let i = Math.max(from, s); i >= s; i--) if (buf[i] === c) return i;
  return s - 1;
}

/** `end` moved left over spaces, not past s. */
function skipSpacesBack(buf: Bytes, s: number, end: number): number {
  while (end > s && buf[end - 1] === 32) end--;
  return end;
}

/** Parses one ftrace line: a record, "skip" for a header or blank line, null when unparseable. */
export function parseFtraceLine(text: string, line: number, clock: Clock): LineResult {
  if (!SURROGATE_RE.test(text)) {
    const { buf, end } = utf8Bytes(text);
    const r = scanFtrace(buf, 0, end, line, clock);
    if (r !== null) return r;
  }
  return parseFtraceLineRe(text, line, clock);
}

/** A lone surrogate (no decoded input holds one; its UTF-8 would read as U+FFFD). */
const SURROGATE_RE = /\p{Cs}/u;

/** The regex reading of a line (every shape this file documents). */
export function parseFtraceLineRe(text: string, line: number, clock: Clock): LineResult {
  const m = LINE_RE.exec(text);
  if (m === null) {
    if (HEADER_RE.test(text)) return "skip";
    const lost = LOST_RE.exec(text);
    if (lost !== null) {
      const cpu = Number(lost[1]);
      return newRecord(
        line,
        NaN,
        cpu,
        "",
        -1,
        undefined,
        "lost_events",
        undefined,
        { cpu, count: Number(lost[2]) },
        undefined,
      );
    }
    return null;
  }
  const ts = m[9] === undefined ? clock.counter(m[8]!) : clock.seconds(m[8]!, m[9]);
  if (Number.isNaN(ts)) return null;
  const name = m[11]!;
  const tgid = m[3];
  return newRecord(
    line,
    ts,
    Number(m[4] ?? m[6]),
    m[1]!,
    Number(m[2]),
    tgid !== undefined && tgid[0] !== "-" ? Number(tgid) : undefined,
    name,
    m[10],
    parsePayload(name, m[12]!),
    m[5] ?? m[7],
  );
}
