// Event payloads of the ftrace/perf text formats (the part after `name: `) as fields.
//
// Most tracepoints print `key=value key=value ...` (their TP_printk). A value runs to
// the next ` key=`, so command names with spaces survive. Some events print otherwise,
// and the same event prints differently across tools and kernel versions; each such
// form is parsed into the field names of the kernel's own format, so the mapping layer
// reads one set of names:
//   sched_switch   kernel:  prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120
//                  trace-cmd's sched plugin: a:1 [120] S ==> b:2 [120]
//   sched_wakeup*  kernel:  comm=a pid=1 prio=120 [success=1] target_cpu=001
//                  plugin:  a:1 [120] [success=1] CPU:001
//   contention_begin  0xffff888100a8c0e0 (flags=SPIN|READ)     → addr, flags
//   contention_end    0xffff888100a8c0e0 (ret=0)               → addr, ret
//   lock_acquire      [ADDR ][try ][read ]NAME                 → addr?, name, try?, read?
//   lock_release, lock_acquired, lock_contended  [ADDR ]NAME   → addr?, name
//   softirq_*         vec=9 [action=RCU]                       → vec, action
//   anything else without `=`                                  → text
// Values: a plain decimal integer (no leading zero, at most 15 digits) becomes a
// number; everything else stays text as written (hex addresses, `000`, `R+`).
//
// Two entry points: `parsePayload(name, string)` (perf, babeltrace2 and ftrace's regex
// path) and `parsePayloadAt(name, bytes, a, b)` (the ftrace byte scanner). The general
// `key=value` scan has one definition, on bytes; the string entry encodes its text.
// The kernel's own forms of the frequent events have a byte fast path that takes only
// the payloads on which it gives what the regexes below give (a test checks both on
// every fixture line); any other payload goes through the string path.

import { ascii, type Bytes, decode, digitsAt, indexOfByte, isDigit, startsWithAt, text, utf8Bytes } from "./bytes.ts";
import type { FieldValue } from "./record.ts";

/** The value as a field: a number for a plain decimal integer (no leading zero, ≤ 15 digits), else the text. */
export function fieldValue(text: string): FieldValue {
  const n = text.length;
  if (n === 0 || n > 16) return text;
  let i = text.charCodeAt(0) === 45 ? 1 : 0; // '-'
  if (i === n) return text;
  if (text.charCodeAt(i) === 48 && n > i + 1) return text; // leading zero
  if (n - i > 15) return text;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return text;
  }
  return Number(text);
}

/** fieldValue of the bytes buf[a, b). */
function fieldValueAt(buf: Bytes, a: number, b: number): FieldValue {
  const n = b - a;
  if (n === 0 || n > 16) return text(buf, a, b);
  const neg = buf[a] === 45;
  const i = neg ? a + 1 : a;
  if (i === b || (buf[i] === 48 && b > i + 1) || b - i > 15) return text(buf, a, b);
  const v = digitsAt(buf, i, b);
  if (Number.isNaN(v)) return text(buf, a, b);
  return neg ? -v : v;
}

/** fieldValue for text a regex already matched as `-?\d+`. */
function int(text: string): FieldValue {
  const n = text.length;
  const neg = text.charCodeAt(0) === 45;
  let i = neg ? 1 : 0;
  if (n > 15 || (n > i + 1 && text.charCodeAt(i) === 48)) return text;
  let v = 0;
  for (; i < n; i++) v = v * 10 + (text.charCodeAt(i) - 48);
  return neg ? -v : v;
}

const isKeyChar = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46;

/**
 * Parses `key=value ...`; null when the payload has no `key=`. A key is letters,
 * digits, `_` and `.` (not starting with a digit or `.`) at the start, after a space,
 * or after a `[` that follows a space (`[action=RCU]`, whose `]` is dropped). A value
 * runs to the space before the next key; a trailing ` ==>` is dropped.
 * (Lone surrogates, which no decoded input holds, read as U+FFFD.)
 */
export function parseKeyValues(payload: string): Record<string, FieldValue> | null {
  const { buf, end } = utf8Bytes(payload);
  return parseKeyValuesAt(buf, 0, end);
}

/** parseKeyValues of the bytes buf[a, b). Hand-written (not a regex loop): it is the hottest code of an import. */
export function parseKeyValuesAt(buf: Bytes, a: number, b: number): Record<string, FieldValue> | null {
  let fields: Record<string, FieldValue> | null = null;
  // the key being read: its name and where its value starts
  let key = "";
  let bracket = false;
  let vstart = -1;
  for (let e = indexOfByte(buf, 61, a, b); e >= 0; e = indexOfByte(buf, 61, e + 1, b)) {
    let ks = e;
    while (ks > a && isKeyChar(buf[ks - 1]!)) ks--;
    if (ks === e) continue;
    const c0 = buf[ks]!;
    if ((c0 >= 48 && c0 <= 57) || c0 === 46) continue;
    let br = false;
    let sep = ks; // where the previous value ends
    if (ks > a) {
      const p = buf[ks - 1];
      if (p === 91 && (ks === a + 1 || buf[ks - 2] === 32)) {
        br = true;
        sep = ks - 1;
      } else if (p !== 32) continue;
    }
    if (vstart >= 0) (fields ??= {})[key] = valueAt(buf, vstart, sep, bracket);
    key = text(buf, ks, e);
    bracket = br;
    vstart = e + 1;
  }
  if (vstart < 0) return null;
  (fields ??= {})[key] = valueAt(buf, vstart, b, bracket);
  return fields;
}

const ARROW = ascii(" ==>");

function valueAt(buf: Bytes, start: number, end: number, bracket: boolean): FieldValue {
  while (end > start && buf[end - 1] === 32) end--;
  if (bracket && end > start && buf[end - 1] === 93) end--;
  else if (end - start >= 4 && startsWithAt(buf, end - 4, end, ARROW)) {
    end -= 4;
    while (end > start && buf[end - 1] === 32) end--;
  }
  return fieldValueAt(buf, start, end);
}

// trace-cmd's sched plugin forms. A comm may hold ':' and spaces: the last
// `:digits [prio]` ends it.
const PLUGIN_SWITCH_RE = /^(.*):(-?\d+) \[(-?\d+)\] (\S+) ==> (.*):(-?\d+) \[(-?\d+)\]$/;
const PLUGIN_WAKEUP_RE = /^(.*):(-?\d+) \[(-?\d+)\](?: success=(\d+))? CPU:(\d+)$/;
const CONTENTION_BEGIN_RE = /^(\S+) \(flags=([^)]*)\)$/;
const CONTENTION_END_RE = /^(\S+) \(ret=(-?\d+)\)$/;
// Lockdep prints the lockdep_map address with %p (hashed: 16 hex digits, or 0x...)
// since v5.x; before that only the name.
const LOCKDEP_ACQUIRE_RE = /^(?:(0x[0-9a-fA-F]+|[0-9a-fA-F]{8,16}) )?(try )?(read )?(.*)$/;
const LOCKDEP_RE = /^(?:(0x[0-9a-fA-F]+|[0-9a-fA-F]{8,16}) )?(.*)$/;

// The kernel's own formats of the most frequent events, read with one regex into an
// object literal (3x faster than the general key=value scan, which builds objects key
// by key); anything else falls through to it, with the same result.
const SWITCH_RE =
  /^prev_comm=(.*) prev_pid=(\d+) prev_prio=(-?\d+) prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+) next_prio=(-?\d+)$/;
const WAKEUP_RE = /^comm=(.*) pid=(\d+) prio=(-?\d+) target_cpu=(\d+)$/;
const RUNTIME_RE = /^comm=(.*) pid=(\d+) runtime=(\d+ \[ns\])$/;
const IRQ_ENTRY_RE = /^irq=(\d+) name=(.*)$/;
const IRQ_EXIT_RE = /^irq=(\d+) ret=(\S+)$/;
const SOFTIRQ_RE = /^vec=(\d+) \[action=(\w+)\]$/;

/** The fields of an event's payload (see the table at the top of this file). */
export function parsePayload(name: string, payload: string): Record<string, FieldValue> {
  let m: RegExpExecArray | null;
  const v = int;
  switch (name) {
    case "sched_switch":
      if ((m = SWITCH_RE.exec(payload)) !== null) {
        return {
          prev_comm: m[1]!,
          prev_pid: v(m[2]!),
          prev_prio: v(m[3]!),
          prev_state: m[4]!,
          next_comm: m[5]!,
          next_pid: v(m[6]!),
          next_prio: v(m[7]!),
        };
      }
      if (!payload.includes("prev_comm=") && (m = PLUGIN_SWITCH_RE.exec(payload)) !== null) {
        return {
          prev_comm: m[1]!,
          prev_pid: Number(m[2]),
          prev_prio: Number(m[3]),
          prev_state: m[4]!,
          next_comm: m[5]!,
          next_pid: Number(m[6]),
          next_prio: Number(m[7]),
        };
      }
      break;
    case "sched_wakeup":
    case "sched_wakeup_new":
    case "sched_waking":
      if ((m = WAKEUP_RE.exec(payload)) !== null)
        return { comm: m[1]!, pid: v(m[2]!), prio: v(m[3]!), target_cpu: v(m[4]!) };
      if (!payload.includes("comm=") && (m = PLUGIN_WAKEUP_RE.exec(payload)) !== null) {
        const f: Record<string, FieldValue> = { comm: m[1]!, pid: Number(m[2]), prio: Number(m[3]) };
        if (m[4] !== undefined) f["success"] = Number(m[4]);
        f["target_cpu"] = m[5]!;
        return f;
      }
      break;
    case "sched_stat_runtime":
      if ((m = RUNTIME_RE.exec(payload)) !== null) return { comm: m[1]!, pid: v(m[2]!), runtime: m[3]! };
      break;
    case "irq_handler_entry":
      if ((m = IRQ_ENTRY_RE.exec(payload)) !== null) return { irq: v(m[1]!), name: m[2]! };
      break;
    case "irq_handler_exit":
      if ((m = IRQ_EXIT_RE.exec(payload)) !== null) return { irq: v(m[1]!), ret: m[2]! };
      break;
    case "softirq_entry":
    case "softirq_exit":
    case "softirq_raise":
      if ((m = SOFTIRQ_RE.exec(payload)) !== null) return { vec: v(m[1]!), action: m[2]! };
      break;
    case "contention_begin":
      if ((m = CONTENTION_BEGIN_RE.exec(payload)) !== null) return { addr: m[1]!, flags: m[2]! };
      break;
    case "contention_end":
      if ((m = CONTENTION_END_RE.exec(payload)) !== null) return { addr: m[1]!, ret: Number(m[2]) };
      break;
    case "lock_acquire":
      if (!payload.includes("=") && (m = LOCKDEP_ACQUIRE_RE.exec(payload)) !== null && m[4] !== "") {
        const f: Record<string, FieldValue> = {};
        if (m[1] !== undefined) f["addr"] = m[1];
        f["name"] = m[4]!;
        if (m[2] !== undefined) f["try"] = 1;
        if (m[3] !== undefined) f["read"] = 1;
        return f;
      }
      break;
    case "lock_release":
    case "lock_acquired":
    case "lock_contended":
      if (!payload.includes("=") && (m = LOCKDEP_RE.exec(payload)) !== null && m[2] !== "") {
        return m[1] !== undefined ? { addr: m[1], name: m[2]! } : { name: m[2]! };
      }
      break;
  }
  return parseKeyValues(payload) ?? (payload === "" ? {} : { text: payload });
}

// --- The byte fast path (the ftrace scanner's) ---

/**
 * The fields of the payload buf[a, b) of event `name`: what parsePayload gives for its
 * text. The kernel's forms of the frequent events are read here without regexes
 * (payloads they would not read as written take the string path); everything else
 * through the byte key=value scan.
 */
export function parsePayloadAt(name: string, buf: Bytes, a: number, b: number): Record<string, FieldValue> {
  const form = FORMS.get(name);
  if (form === undefined) return parseKeyValuesAt(buf, a, b) ?? (a === b ? {} : { text: decode(buf, a, b) });
  const f = form === LOCKDEP ? lockdepAt(name, buf, a, b) : readForm(form, buf, a, b);
  return f ?? parsePayload(name, decode(buf, a, b));
}

// The forms are templates read by one small interpreter (readForm), not a function
// each: the JIT compiles one loop instead of a dozen inlined matchers. A template is
// the regex above it written as literals and typed holes; it takes a payload only when
// the regex would read it the same way:
//   {text}   the regex's `(.*)` followed by a literal ending in '=': the text up to the
//            first '=' (so the greedy group cannot end elsewhere), without '\r' or
//            U+2028/U+2029 (which `.` does not match)
//   {rest}   `(.*)$`, with the same exclusions
//   {token}  `(\S+)`, in printable ASCII
//   {uint} {int}  `(\d+)`, `(-?\d+)` read as `int` does; {num} `(-?\d+)` read by Number
//   {word}   `(\w+)`;  {notparen} `([^)]*)`;  {ns} `(\d+ \[ns\])`
// Anything else returns null and the payload takes the string path.

const TEXT = 0,
  REST = 1,
  TOKEN = 2,
  UINT = 3,
  INT = 4,
  NUM = 5,
  WORD = 6,
  NOTPAREN = 7,
  NS = 8;
const HOLES: Record<string, number> = {
  text: TEXT,
  rest: REST,
  token: TOKEN,
  uint: UINT,
  int: INT,
  num: NUM,
  word: WORD,
  notparen: NOTPAREN,
  ns: NS,
};

interface Form {
  /** lits[k] comes before hole k; tail after the last hole, at the payload's end. */
  lits: Uint8Array[];
  holes: number[];
  tail: Uint8Array;
  make: (v: FieldValue[]) => Record<string, FieldValue>;
}

function form(template: string, make: (v: FieldValue[]) => Record<string, FieldValue>): Form {
  const parts = template.split(/\{(\w+)\}/);
  const lits: Uint8Array[] = [];
  const holes: number[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    lits.push(ascii(parts[i]!));
    holes.push(HOLES[parts[i + 1]!]!);
  }
  const tail = ascii(parts[parts.length - 1]!);
  if (holes.length > 16) throw new Error(`a form has at most 16 holes: ${template}`);
  holes.forEach((h, k) => {
    const next = k + 1 < holes.length ? lits[k + 1]! : tail;
    if (h === TEXT && next[next.length - 1] !== 61)
      throw new Error(`{text} must be followed by a literal ending in '=': ${template}`);
  });
  return { lits, holes, tail, make };
}

const WAKEUP = form("comm={text} pid={uint} prio={int} target_cpu={uint}", (v) => ({
  comm: v[0]!,
  pid: v[1]!,
  prio: v[2]!,
  target_cpu: v[3]!,
}));
const SOFTIRQ = form("vec={uint} [action={word}]", (v) => ({ vec: v[0]!, action: v[1]! }));
/** Lockdep's forms (optional groups) have their own reader, lockdepAt. */
const LOCKDEP = form("", () => ({}));

const FORMS = new Map<string, Form>([
  // SWITCH_RE
  [
    "sched_switch",
    form(
      "prev_comm={text} prev_pid={uint} prev_prio={int} prev_state={token} ==> next_comm={text} next_pid={uint} next_prio={int}",
      (v) => ({
        prev_comm: v[0]!,
        prev_pid: v[1]!,
        prev_prio: v[2]!,
        prev_state: v[3]!,
        next_comm: v[4]!,
        next_pid: v[5]!,
        next_prio: v[6]!,
      }),
    ),
  ],
  // WAKEUP_RE
  ["sched_wakeup", WAKEUP],
  ["sched_wakeup_new", WAKEUP],
  ["sched_waking", WAKEUP],
  // RUNTIME_RE
  [
    "sched_stat_runtime",
    form("comm={text} pid={uint} runtime={ns}", (v) => ({ comm: v[0]!, pid: v[1]!, runtime: v[2]! })),
  ],
  // IRQ_ENTRY_RE, IRQ_EXIT_RE, SOFTIRQ_RE
  ["irq_handler_entry", form("irq={uint} name={rest}", (v) => ({ irq: v[0]!, name: v[1]! }))],
  ["irq_handler_exit", form("irq={uint} ret={token}", (v) => ({ irq: v[0]!, ret: v[1]! }))],
  ["softirq_entry", SOFTIRQ],
  ["softirq_exit", SOFTIRQ],
  ["softirq_raise", SOFTIRQ],
  // CONTENTION_BEGIN_RE, CONTENTION_END_RE
  ["contention_begin", form("{token} (flags={notparen})", (v) => ({ addr: v[0]!, flags: v[1]! }))],
  ["contention_end", form("{token} (ret={num})", (v) => ({ addr: v[0]!, ret: v[1]! }))],
  // LOCKDEP_ACQUIRE_RE, LOCKDEP_RE
  ["lock_acquire", LOCKDEP],
  ["lock_release", LOCKDEP],
  ["lock_acquired", LOCKDEP],
  ["lock_contended", LOCKDEP],
]);

/**
 * The field layouts of the payload forms: an event name's fields in the order its
 * form makes them, and the maker, which builds the same object from the values in
 * that order (record-codec.ts sends such a record's values without their names).
 */
export interface FieldShape {
  keys: readonly string[];
  make: (v: FieldValue[]) => Record<string, FieldValue>;
}
const SHAPED = [...new Set(FORMS.values())].filter((f) => f !== LOCKDEP);
export const FIELD_SHAPES: readonly FieldShape[] = SHAPED.map((f) => {
  // make() puts value k in the k-th field (the codec relies on it)
  const keys = Object.keys(f.make(f.holes.map((_, k) => k)));
  const got = Object.values(f.make(f.holes.map((_, k) => k)));
  if (keys.length !== f.holes.length || got.some((v, k) => v !== k))
    throw new Error(`a form's make is out of order: ${keys}`);
  return { keys, make: f.make };
});
const SHAPE_OF_FORM = new Map(SHAPED.map((f, k) => [f, k]));
const SHAPE_HOLES = SHAPED.map((f) => f.holes);
/** The shape of each name's form, by index in FIELD_SHAPES. */
export const SHAPE_OF_NAME: ReadonlyMap<string, number> = new Map(
  [...FORMS].flatMap(([name, f]) => {
    const k = SHAPE_OF_FORM.get(f);
    return k === undefined ? [] : [[name, k] as const];
  }),
);

const NS_UNIT = ascii(" [ns]");
/** The holes being read: where each starts and ends (reused; values are made once the whole payload matched). */
const holeStart = new Int32Array(16);
const holeEnd = new Int32Array(16);
/** Their values (reused: make() copies them into the fields). */
const vals: FieldValue[] = [];

/** The fields of payload buf[a, b) in `form`, or null when it does not take it. */
function readForm(form: Form, buf: Bytes, a: number, b: number): Record<string, FieldValue> | null {
  if (!matchForm(form, buf, a, b)) return null;
  const holes = form.holes;
  for (let k = 0; k < holes.length; k++) {
    const h = holes[k]!;
    const s = holeStart[k]!;
    const e = holeEnd[k]!;
    const v = holeNumber(h, buf, s, e);
    if (!Number.isNaN(v)) vals[k] = v;
    else if (h === NS)
      vals[k] = decode(buf, s, e); // a runtime: seldom seen twice, not worth caching
    else vals[k] = text(buf, s, e);
  }
  return form.make(vals);
}

/** Whether payload buf[a, b) takes `form`: then holeStart/holeEnd hold its holes. */
function matchForm(form: Form, buf: Bytes, a: number, b: number): boolean {
  const { lits, holes, tail } = form;
  const n = holes.length;
  let p = a;
  for (let k = 0; k < n; k++) {
    const lit = lits[k]!;
    if (!startsWithAt(buf, p, b, lit)) return false;
    const s = p + lit.length;
    switch (holes[k]) {
      case TEXT: {
        // up to the first '=', which ends the next literal (checked next)
        const eq = indexOfByte(buf, 61, s, b);
        if (eq < 0) return false;
        p = eq + 1 - (k + 1 < n ? lits[k + 1]! : tail).length;
        if (p < s || !plain(buf, s, p, false)) return false;
        break;
      }
      case REST:
        if (!plain(buf, s, b, false)) return false;
        p = b;
        break;
      case TOKEN:
        p = tokenEnd(buf, s, b);
        break;
      case UINT:
        p = intEnd(buf, s, b, false);
        break;
      case INT:
        p = intEnd(buf, s, b, true);
        break;
      case NUM:
        p = intEnd(buf, s, b, true);
        if (p - s > 15) return false; // Number() of more digits is not exact: the string path says
        break;
      case WORD:
        p = s;
        while (p < b && isWordChar(buf[p]!)) p++;
        if (p === s) return false;
        break;
      case NOTPAREN:
        p = s;
        while (p < b && buf[p] !== 41) p++;
        break;
      default: // NS
        p = intEnd(buf, s, b, false);
        if (p < 0 || !startsWithAt(buf, p, b, NS_UNIT)) return false;
        p += NS_UNIT.length;
    }
    if (p < 0) return false;
    holeStart[k] = s;
    holeEnd[k] = p;
  }
  return p + tail.length === b && startsWithAt(buf, p, b, tail);
}

/** A matched hole's value when it is a number, NaN when it is text (what readForm makes of it). */
function holeNumber(h: number, buf: Bytes, s: number, e: number): number {
  if (h === UINT || h === INT) {
    const neg = buf[s] === 45;
    const i = neg ? s + 1 : s;
    if (e - s > 15 || (e > i + 1 && buf[i] === 48)) return NaN; // intAt's text
    const v = digitsAt(buf, i, e);
    return neg ? -v : v;
  }
  if (h === NUM) {
    const neg = buf[s] === 45;
    const v = digitsAt(buf, neg ? s + 1 : s, e);
    return neg ? -v : v;
  }
  return NaN;
}

/**
 * For the parse thread (record-codec.ts), which sends a form's values without
 * making the fields: the FIELD_SHAPES number of `name`'s payload form when payload
 * buf[a, b) takes it (its holes are then in formHoles), else -1 (parsePayloadAt
 * makes those fields).
 */
export function matchPayloadForm(name: string, buf: Bytes, a: number, b: number): number {
  const form = FORMS.get(name);
  if (form === undefined || form === LOCKDEP || !matchForm(form, buf, a, b)) return -1;
  return SHAPE_OF_FORM.get(form)!;
}

/** Hole k of the form matchPayloadForm matched: [start, end) and its value as a number, NaN when it is text (`decoded`: text not worth caching). */
export const formHoles = {
  start: (k: number) => holeStart[k]!,
  end: (k: number) => holeEnd[k]!,
  number: (shape: number, k: number, buf: Bytes) =>
    holeNumber(SHAPE_HOLES[shape]![k]!, buf, holeStart[k]!, holeEnd[k]!),
  decoded: (shape: number, k: number) => SHAPE_HOLES[shape]![k] === NS,
};

/** True when buf[a, b) may stand for a regex's `.*`: no '\r', no U+2028/U+2029 (E2 80 A8/A9), and (with noEq) no '='. */
function plain(buf: Bytes, a: number, b: number, noEq: boolean): boolean {
  for (let i = a; i < b; i++) {
    const c = buf[i]!;
    if (
      c === 13 ||
      (noEq && c === 61) ||
      (c === 0xe2 && buf[i + 1] === 0x80 && (buf[i + 2] === 0xa8 || buf[i + 2] === 0xa9))
    )
      return false;
  }
  return true;
}

/** End of a run of printable ASCII (the regexes' \S+) from a, stopping at a space or b; -1 when empty or another byte comes first. */
function tokenEnd(buf: Bytes, a: number, b: number): number {
  let i = a;
  while (i < b) {
    const c = buf[i]!;
    if (c === 32) break;
    if (c < 33 || c > 126) return -1;
    i++;
  }
  return i > a ? i : -1;
}

/** End of a run of digits from a (with a leading '-' when neg): -1 when there are none. */
function intEnd(buf: Bytes, a: number, b: number, neg: boolean): number {
  let i = neg && buf[a] === 45 ? a + 1 : a;
  const d = i;
  while (i < b && isDigit(buf[i]!)) i++;
  return i > d ? i : -1;
}

const isWordChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const TRY = ascii("try ");
const READ = ascii("read ");

/** LOCKDEP_ACQUIRE_RE's and LOCKDEP_RE's forms: `[ADDR ][try ][read ]NAME` (try and read for lock_acquire only), no '='. */
function lockdepAt(name: string, buf: Bytes, a: number, b: number): Record<string, FieldValue> | null {
  if (!plain(buf, a, b, true)) return null;
  // ADDR: 0x and hex digits, or 8 to 16 hex digits; then a space.
  let p = a;
  let addrEnd = -1;
  if (buf[a] === 48 && buf[a + 1] === 120) {
    let i = a + 2;
    while (i < b && isHex(buf[i]!)) i++;
    if (i > a + 2 && buf[i] === 32 && i < b) addrEnd = i;
  } else {
    let i = a;
    while (i < b && isHex(buf[i]!)) i++;
    if (i - a >= 8 && i - a <= 16 && buf[i] === 32 && i < b) addrEnd = i;
  }
  if (addrEnd >= 0) p = addrEnd + 1;
  const f: Record<string, FieldValue> = {};
  if (addrEnd >= 0) f["addr"] = text(buf, a, addrEnd);
  let tryLock = false;
  let read = false;
  if (name === "lock_acquire") {
    if (startsWithAt(buf, p, b, TRY)) {
      tryLock = true;
      p += TRY.length;
    }
    if (startsWithAt(buf, p, b, READ)) {
      read = true;
      p += READ.length;
    }
  }
  if (p === b) return null;
  f["name"] = text(buf, p, b);
  if (tryLock) f["try"] = 1;
  if (read) f["read"] = 1;
  return f;
}
