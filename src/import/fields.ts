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
 * Hand-written (not a regex loop): it is the hottest code of an import.
 */
export function parseKeyValues(payload: string): Record<string, FieldValue> | null {
  const s = payload;
  const n = s.length;
  let fields: Record<string, FieldValue> | null = null;
  // the key being read: its name and where its value starts
  let key = "";
  let bracket = false;
  let vstart = -1;
  for (let e = s.indexOf("="); e >= 0; e = s.indexOf("=", e + 1)) {
    let ks = e;
    while (ks > 0 && isKeyChar(s.charCodeAt(ks - 1))) ks--;
    if (ks === e) continue;
    const c0 = s.charCodeAt(ks);
    if ((c0 >= 48 && c0 <= 57) || c0 === 46) continue;
    let br = false;
    let sep = ks; // where the previous value ends
    if (ks > 0) {
      const p = s.charCodeAt(ks - 1);
      if (p === 91 && (ks === 1 || s.charCodeAt(ks - 2) === 32)) {
        br = true;
        sep = ks - 1;
      } else if (p !== 32) continue;
    }
    if (vstart >= 0) (fields ??= {})[key] = value(s, vstart, sep, bracket);
    key = s.slice(ks, e);
    bracket = br;
    vstart = e + 1;
  }
  if (vstart < 0) return null;
  (fields ??= {})[key] = value(s, vstart, n, bracket);
  return fields;
}

function value(s: string, start: number, end: number, bracket: boolean): FieldValue {
  while (end > start && s.charCodeAt(end - 1) === 32) end--;
  if (bracket && s.charCodeAt(end - 1) === 93) end--;
  else if (end - start >= 4 && s.startsWith(" ==>", end - 4)) {
    end -= 4;
    while (end > start && s.charCodeAt(end - 1) === 32) end--;
  }
  return fieldValue(s.slice(start, end));
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
const SWITCH_RE = /^prev_comm=(.*) prev_pid=(\d+) prev_prio=(-?\d+) prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+) next_prio=(-?\d+)$/;
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
        return { prev_comm: m[1]!, prev_pid: v(m[2]!), prev_prio: v(m[3]!), prev_state: m[4]!, next_comm: m[5]!, next_pid: v(m[6]!), next_prio: v(m[7]!) };
      }
      if (!payload.includes("prev_comm=") && (m = PLUGIN_SWITCH_RE.exec(payload)) !== null) {
        return {
          prev_comm: m[1]!, prev_pid: Number(m[2]), prev_prio: Number(m[3]), prev_state: m[4]!,
          next_comm: m[5]!, next_pid: Number(m[6]), next_prio: Number(m[7]),
        };
      }
      break;
    case "sched_wakeup":
    case "sched_wakeup_new":
    case "sched_waking":
      if ((m = WAKEUP_RE.exec(payload)) !== null) return { comm: m[1]!, pid: v(m[2]!), prio: v(m[3]!), target_cpu: v(m[4]!) };
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
