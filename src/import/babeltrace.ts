// babeltrace2 text (sink.text.pretty, babeltrace 1's text format) of LTTng kernel traces.
//
// Default form, one event per line:
//   [16:25:45.000020000] (+0.000006000) host sched_switch: { cpu_id = 1 }, { pid = 0, tid = 0, procname = "swapper/1" }, { prev_comm = "swapper/1", prev_tid = 0, ... }
// Time: `hh:mm:ss.nnnnnnnnn` (default), `ssss.nnnnnnnnn` (--clock-seconds),
// `YYYY-MM-DD hh:mm:ss.nnnnnnnnn` (--clock-date), or a cycle count (--clock-cycles).
// `(+delta)` is absent with --no-delta. The `{ ... }` groups are, in order, the
// stream packet context (LTTng: cpu_id), contexts added with `lttng add-context`
// (tid, pid, procname, ...), and last the payload. With `--names all` every item is
// `name = value` (`timestamp = ...`, `name = sched_switch`, `stream.packet.context = { ... }`,
// `event.fields = { ... }`).
// Values: integers, reals, "strings" (C escapes), enums `( "LABEL" : container = 1 )`,
// arrays `[ [0] = 1, [1] = 2 ]`, structs `{ a = 1 }`. Payload struct members become
// `outer.inner` fields; an enum becomes its integer, with its label(s) in `<name>.label`;
// an array stays as its text.
// LTTng names a few events differently from the kernel: irq_softirq_entry/exit/raise are
// normalized to softirq_entry/exit/raise. Contexts: cpu_id gives the record's cpu,
// tid/vtid its tid, pid/vpid its pid, procname its comm; other context fields are kept
// as `context.<name>`.

import type { Clock } from "./clock.ts";
import { fieldValue } from "./fields.ts";
import type { LineResult } from "./ftrace.ts";
import { type FieldValue, newRecord, type TraceRecord } from "./record.ts";

const LINE_RE = /^\[([^\]]+)\](?: \(([^)]*)\))? (?:(.*?) )?([\w.:-]+): (\{.*)$/;
const TOD_RE = /^(\d\d):(\d\d):(\d\d)\.(\d+)$/;
const DATE_RE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d+)$/;
const SECS_RE = /^(\d+)\.(\d+)$/;
const CYCLES_RE = /^\d+$/;

const LTTNG_NAMES: Record<string, string> = {
  irq_softirq_entry: "softirq_entry",
  irq_softirq_exit: "softirq_exit",
  irq_softirq_raise: "softirq_raise",
};

/** A parsed value: scalar, struct (ordered pairs), or an array/enum kept with its text. */
type Value =
  | { t: "scalar"; v: FieldValue }
  | { t: "struct"; items: [string, Value][] }
  | { t: "enum"; v: FieldValue; labels: string }
  | { t: "array"; text: string };

/** A small cursor parser over one line. Throws BadValue on malformed text. */
class BadValue extends Error {}

class Cursor {
  i = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.s.charCodeAt(this.i) === 32) this.i++;
  }
  eat(ch: string): boolean {
    this.ws();
    if (this.s[this.i] === ch) {
      this.i++;
      return true;
    }
    return false;
  }
  expect(ch: string): void {
    if (!this.eat(ch)) throw new BadValue(`expected '${ch}' at ${this.i}`);
  }
  /** A name up to ` = ` (struct member, `[3]` array index, or names-mode key). */
  name(): string {
    this.ws();
    const eq = this.s.indexOf(" = ", this.i);
    if (eq < 0) throw new BadValue("expected ' = '");
    const n = this.s.slice(this.i, eq);
    this.i = eq + 3;
    return n;
  }
  string(): string {
    // at the opening quote
    this.i++;
    let out = "";
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) throw new BadValue("unterminated string");
      if (c === '"') return out;
      if (c === "\\") {
        const e = this.s[this.i++];
        out += e === "n" ? "\n" : e === "t" ? "\t" : e === "r" ? "\r" : e === "0" ? "\0" : (e ?? "");
      } else out += c;
    }
  }
  value(): Value {
    this.ws();
    const c = this.s[this.i];
    if (c === "{") return this.struct();
    if (c === '"') return { t: "scalar", v: this.string() };
    if (c === "(") return this.enumValue();
    if (c === "[") {
      const start = this.i;
      this.skipBalanced("[", "]");
      return { t: "array", text: this.s.slice(start, this.i) };
    }
    const start = this.i;
    while (this.i < this.s.length && this.s[this.i] !== "," && this.s[this.i] !== "}" && this.s[this.i] !== " ")
      this.i++;
    if (this.i === start) throw new BadValue(`expected a value at ${start}`);
    return { t: "scalar", v: fieldValue(this.s.slice(start, this.i)) };
  }
  struct(): Value {
    this.expect("{");
    const items: [string, Value][] = [];
    if (this.eat("}")) return { t: "struct", items };
    do {
      const n = this.name();
      items.push([n, this.value()]);
    } while (this.eat(","));
    this.expect("}");
    return { t: "struct", items };
  }
  enumValue(): Value {
    this.expect("(");
    const colon = this.s.indexOf(" : container = ", this.i);
    if (colon < 0) throw new BadValue("expected ': container ='");
    const labels = this.s
      .slice(this.i, colon)
      .trim()
      .replace(/^\{ ?| ?\}$/g, "")
      .split(", ")
      .map((l) => l.replace(/^"|"$/g, ""))
      .join("|");
    this.i = colon + " : container = ".length;
    const v = this.value();
    this.expect(")");
    return { t: "enum", v: v.t === "scalar" ? v.v : 0, labels };
  }
  skipBalanced(open: string, close: string): void {
    let depth = 0;
    let inStr = false;
    for (; this.i < this.s.length; this.i++) {
      const c = this.s[this.i];
      if (inStr) {
        if (c === "\\") this.i++;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === open) depth++;
      else if (c === close && --depth === 0) {
        this.i++;
        return;
      }
    }
    throw new BadValue("unbalanced brackets");
  }
}

/** Flattens a payload struct into fields: nested members as `a.b`, enums as number + `.label`. */
function flatten(items: [string, Value][], prefix: string, out: Record<string, FieldValue>): void {
  for (const [k, v] of items) {
    const key = prefix + k;
    switch (v.t) {
      case "scalar":
        out[key] = v.v;
        break;
      case "enum":
        out[key] = v.v;
        out[key + ".label"] = v.labels;
        break;
      case "array":
        out[key] = v.text;
        break;
      case "struct":
        flatten(v.items, key + ".", out);
        break;
    }
  }
}

/** Applies a context group: cpu_id, tid, pid, procname to the record, the rest as `context.<name>`. */
function applyContext(rec: TraceRecord, items: [string, Value][]): void {
  for (const [k, v] of items) {
    const x = v.t === "scalar" || v.t === "enum" ? v.v : undefined;
    if (k === "cpu_id" && typeof x === "number") rec.cpu = x;
    else if ((k === "tid" || (k === "vtid" && rec.tid < 0)) && typeof x === "number") rec.tid = x;
    else if ((k === "pid" || (k === "vpid" && rec.pid === undefined)) && typeof x === "number") rec.pid = x;
    else if (k === "procname" && typeof x === "string") rec.comm = x;
    else flatten([[k, v]], "context.", rec.fields);
  }
}

function timeOf(text: string, clock: Clock): number {
  let m: RegExpExecArray | null;
  if ((m = TOD_RE.exec(text)) !== null) return clock.timeOfDay(Number(m[1]), Number(m[2]), Number(m[3]), m[4]!);
  if ((m = SECS_RE.exec(text)) !== null) return clock.seconds(m[1]!, m[2]!);
  if ((m = DATE_RE.exec(text)) !== null) {
    return clock.date(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), m[7]!);
  }
  if (CYCLES_RE.test(text)) return clock.counter(text);
  return NaN;
}

function record(line: number, ts: number, rawName: string): TraceRecord {
  return newRecord(line, ts, -1, "", -1, undefined, LTTNG_NAMES[rawName] ?? rawName, undefined, {}, undefined);
}

/** `--names all`: `timestamp = ..., delta = ..., name = ..., stream.packet.context = { ... }, event.fields = { ... }`. */
function parseNamed(text: string, line: number, clock: Clock): LineResult {
  const c = new Cursor(text);
  const top: [string, Value | string][] = [];
  while (c.i < text.length) {
    c.ws();
    if (text.startsWith(", ", c.i) || text[c.i] === ",") {
      c.i += text[c.i + 1] === " " ? 2 : 1; // babeltrace2 prints an empty item (`, ,`) after `trace = host`
      continue;
    }
    const key = c.name();
    c.ws();
    if (text[c.i] === "{") top.push([key, c.value()]);
    else {
      const end = text.indexOf(", ", c.i);
      const stop = end < 0 ? text.length : end;
      top.push([key, text.slice(c.i, stop)]);
      c.i = stop;
    }
    if (!c.eat(",")) break;
  }
  const get = (k: string) => top.find(([n]) => n === k)?.[1];
  const ts = get("timestamp");
  const name = get("name");
  if (typeof ts !== "string" || typeof name !== "string") return null;
  const t = timeOf(ts, clock);
  if (Number.isNaN(t)) return null;
  const rec = record(line, t, name);
  for (const [k, v] of top) {
    if (typeof v === "string" || v.t !== "struct") continue;
    if (k === "event.fields") flatten(v.items, "", rec.fields);
    else if (k.endsWith("context")) applyContext(rec, v.items);
  }
  return rec;
}

/** Parses one babeltrace2 line: a record, "skip" for a blank line, null when unparseable. */
export function parseBabeltraceLine(text: string, line: number, clock: Clock): LineResult {
  if (text.trim() === "") return "skip";
  try {
    if (text.startsWith("timestamp = ")) return parseNamed(text, line, clock);
    const m = LINE_RE.exec(text);
    if (m === null) return null;
    const ts = timeOf(m[1]!, clock);
    if (Number.isNaN(ts)) return null;
    const rec = record(line, ts, m[4]!);
    const c = new Cursor(m[5]!);
    const groups: [string, Value][][] = [];
    do {
      const g = c.struct();
      if (g.t === "struct") groups.push(g.items);
    } while (c.eat(","));
    c.ws();
    if (c.i !== c.s.length) return null;
    for (let i = 0; i < groups.length - 1; i++) applyContext(rec, groups[i]!);
    flatten(groups[groups.length - 1]!, "", rec.fields);
    return rec;
  } catch (e) {
    if (e instanceof BadValue) return null;
    throw e;
  }
}
