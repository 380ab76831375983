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

const INT_RE = /^-?(?:0|[1-9]\d{0,14})$/;

/** The value as a field: a number for a plain decimal integer, else the text. */
export function fieldValue(text: string): FieldValue {
  return INT_RE.test(text) ? Number(text) : text;
}

// A key starts the payload or follows a space (or `[` for `[action=RCU]`).
const KEY_RE = /(^|\s)(\[?)([A-Za-z_][\w.]*)=/g;

/** Parses `key=value ...`; null when the payload has no `key=`. */
export function parseKeyValues(payload: string): Record<string, FieldValue> | null {
  const fields: Record<string, FieldValue> = {};
  KEY_RE.lastIndex = 0;
  let m = KEY_RE.exec(payload);
  if (m === null) return null;
  for (;;) {
    const key = m[3]!;
    const bracket = m[2] === "[";
    const vstart = KEY_RE.lastIndex;
    const next = KEY_RE.exec(payload);
    const vend = next === null ? payload.length : next.index;
    let v = payload.slice(vstart, vend).trimEnd();
    if (bracket && v.endsWith("]")) v = v.slice(0, -1);
    else if (v.endsWith(" ==>")) v = v.slice(0, -4).trimEnd();
    fields[key] = fieldValue(v);
    if (next === null) return fields;
    m = next;
  }
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

/** The fields of an event's payload (see the table at the top of this file). */
export function parsePayload(name: string, payload: string): Record<string, FieldValue> {
  let m: RegExpExecArray | null;
  switch (name) {
    case "sched_switch":
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
      if (!payload.includes("comm=") && (m = PLUGIN_WAKEUP_RE.exec(payload)) !== null) {
        const f: Record<string, FieldValue> = { comm: m[1]!, pid: Number(m[2]), prio: Number(m[3]) };
        if (m[4] !== undefined) f["success"] = Number(m[4]);
        f["target_cpu"] = m[5]!;
        return f;
      }
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
