// A scenario's own invariants, interpreted: InvariantDecl (plain data, from
// the scenario or a trace header) → Invariant (the registry's interface), so
// check, explore, replay and report treat them exactly like the built-in
// ones. Nothing here runs code from the trace: the check is an expression
// tree evaluated over the kernel state.
//
// Binding: a variable or lock an invariant names is looked up in one address
// space at a time. The invariant is checked once per process that has every
// user variable / lock it names (its user memory, then its kernel struct),
// with kernel ones shared; with none, once on the kernel's. `on: "exit"`
// checks only the exiting process, at its proc-exit.

import { fieldsOf, kindsMatching } from "../kernel/events.ts";
import { binOp } from "../kernel/mem.ts";
import type { Expr, InvariantDecl } from "../kernel/program.ts";
import {
  EVENT_KINDS,
  type KEvent,
  KIND,
  type KState,
  LOCK_STATE_KINDS,
  type Lock,
  VAR_STATE_KINDS,
  VAR_WRITE_KINDS,
  type Var,
} from "../kernel/types.ts";
import { spaceText, valueText } from "./describe.ts";
import type { Cause, Finding, Invariant } from "./invariants.ts";

/** What an expression reads. */
export interface Reads {
  vars: Set<string>;
  /** Registers (a program's conditions: an invariant names none). */
  regs: Set<string>;
  locks: Set<string>;
  event: boolean;
  before: Expr[];
}

/** What expression e reads (the one walk: the invariants' compiler, and dataflow.ts for a program's checks). */
export function exprReads(e: Expr): Reads {
  const r: Reads = { vars: new Set(), regs: new Set(), locks: new Set(), event: false, before: [] };
  reads(e, r, false);
  return r;
}

function reads(e: Expr, r: Reads, inBefore: boolean): void {
  switch (e.e) {
    case "reg":
      r.regs.add(e.name);
      break;
    case "var":
      r.vars.add(e.name);
      if (e.of) reads(e.of, r, inBefore);
      break;
    case "held":
    case "owner":
      r.locks.add(e.lock);
      break;
    case "evIs":
    case "evTid":
    case "evField":
      r.event = true;
      break;
    case "bin":
      reads(e.l, r, inBefore);
      reads(e.r, r, inBefore);
      break;
    case "not":
    case "isNone":
      reads(e.x, r, inBefore);
      break;
    case "before":
      if (!inBefore) r.before.push(e.x);
      reads(e.x, r, true);
      break;
    default:
      break;
  }
}

const VAR_WRITES = new Set<number>(VAR_WRITE_KINDS);

/** A binding: the process whose memory names resolve in (0: the kernel only). */
type Pid = number;

/** The variable `name` as pid's code names it: its own memory, then its kernel struct's field, then the kernel's. */
export function findVar(s: KState, name: string, pid: Pid): Var | undefined {
  let kernel: Var | undefined;
  let field: Var | undefined;
  for (const v of s.vars.values()) {
    if (v.name !== name) continue;
    if (pid > 0 && v.space === pid) return v;
    if (pid > 0 && v.space === -pid) field = v;
    if (v.space === 0) kernel = v;
  }
  return field ?? kernel;
}

function findLock(s: KState, name: string, pid: Pid): Lock | undefined {
  let other: Lock | undefined;
  for (const l of s.locks.values()) {
    if (l.name !== name) continue;
    if (pid > 0 && l.space === pid) return l;
    if ((pid > 0 && l.space === -pid) || l.space === 0) other = l;
  }
  return other;
}

/** The value could not be had (a name missing in this binding): the check does not apply. */
const MISSING = Symbol("missing");

class Eval {
  /** Values of the before() subexpressions, by index, when checking the post state. */
  beforeVals: number[] | null = null;
  constructor(
    readonly s: KState,
    readonly ev: KEvent,
    readonly pid: Pid,
    readonly masks: Map<string, Uint8Array>,
    readonly befores: Expr[],
  ) {}

  value(e: Expr): number {
    switch (e.e) {
      case "int":
        return e.v;
      case "none":
        return 0;
      case "var": {
        if (e.of !== undefined) {
          const p = this.value(e.of);
          for (const v of this.s.vars.values())
            if (v.name === e.name && (v.space === -p || v.space === p)) return v.value;
          throw MISSING;
        }
        const v = findVar(this.s, e.name, this.pid);
        if (!v) throw MISSING;
        return v.value;
      }
      case "held": {
        const l = findLock(this.s, e.lock, this.pid);
        if (!l) throw MISSING;
        return l.owner >= 0 ? 1 : 0;
      }
      case "owner": {
        const l = findLock(this.s, e.lock, this.pid);
        if (!l) throw MISSING;
        return l.owner;
      }
      case "evIs":
        return this.masks.get(e.kinds)![this.ev.kind] ? 1 : 0;
      case "evTid":
        return this.ev.tid;
      case "evField": {
        const f = fieldsOf(this.ev)[e.name];
        return typeof f === "number" ? f : 0;
      }
      case "before": {
        const i = this.befores.indexOf(e.x);
        if (this.beforeVals === null || i < 0) return this.value(e.x);
        return this.beforeVals[i]!;
      }
      case "not":
      case "isNone":
        return this.value(e.x) === 0 ? 1 : 0;
      case "bin":
        return binOp(e.op, this.value(e.l), this.value(e.r)) ?? 0;
      default:
        throw MISSING;
    }
  }
}

/**
 * The invariant a declaration describes (validated: see validateInvariants).
 * Its kinds are the events that can change what it reads (or per `on`).
 */
export function compileInvariant(d: InvariantDecl): Invariant {
  const r = exprReads(d.check);
  const masks = new Map<string, Uint8Array>();
  const collect = (e: Expr): void => {
    if (e.e === "evIs" && !masks.has(e.kinds)) {
      const m = new Uint8Array(EVENT_KINDS.length);
      for (const c of kindsMatching(e.kinds) ?? []) m[c] = 1;
      masks.set(e.kinds, m);
    }
    if (e.e === "bin") {
      collect(e.l);
      collect(e.r);
    }
    if (e.e === "not" || e.e === "isNone" || e.e === "before") collect(e.x);
    if (e.e === "var" && e.of) collect(e.of);
  };
  collect(d.check);
  const on = d.on ?? "change";
  let kinds: number[] | null;
  if (on === "end") kinds = [KIND.end];
  else if (on === "exit") kinds = [KIND.procExit];
  else if (on === "every" || r.event) kinds = null;
  else kinds = [...new Set([...(r.vars.size ? VAR_STATE_KINDS : []), ...(r.locks.size ? LOCK_STATE_KINDS : [])])];

  /** The processes to check in (pid 0: the kernel's names only). */
  const bindings = (s: KState, ev: KEvent): Pid[] => {
    if (on === "exit") return [ev.a];
    const pids = new Set<number>();
    for (const v of s.vars.values()) if (v.space !== 0 && r.vars.has(v.name)) pids.add(Math.abs(v.space));
    for (const l of s.locks.values()) if (l.space !== 0 && r.locks.has(l.name)) pids.add(Math.abs(l.space));
    return pids.size === 0 ? [0] : [...pids].sort((a, b) => a - b);
  };
  /** An access to a variable it does not read cannot change it. */
  const irrelevant = (s: KState, ev: KEvent): boolean => {
    if (on !== "change" || r.event || !VAR_WRITES.has(ev.kind)) return false;
    const v = s.vars.get(ev.a);
    return v !== undefined && !r.vars.has(v.name);
  };
  let stash: Map<Pid, number[]> | null = null;

  const inv: Invariant = {
    name: d.name,
    doc: `${d.message} (the scenario's own invariant${on !== "change" ? `, checked at ${on === "every" ? "every event" : on === "exit" ? "each process's exit" : "the end of the run"}` : ""})`,
    kinds,
    pre(s, ev) {
      stash = null;
      if (r.before.length === 0 || irrelevant(s, ev)) return null;
      stash = new Map();
      for (const pid of bindings(s, ev)) {
        const e = new Eval(s, ev, pid, masks, r.before);
        try {
          stash.set(
            pid,
            r.before.map((x) => e.value(x)),
          );
        } catch (err) {
          if (err !== MISSING) throw err;
        }
      }
      return null;
    },
    post(s, ev) {
      if (irrelevant(s, ev)) return null;
      const befores = stash;
      stash = null;
      for (const pid of bindings(s, ev)) {
        const e = new Eval(s, ev, pid, masks, r.before);
        if (r.before.length > 0) {
          const b = befores?.get(pid);
          if (b === undefined) continue;
          e.beforeVals = b;
        }
        let ok: number;
        try {
          ok = e.value(d.check);
        } catch (err) {
          if (err !== MISSING) throw err;
          continue;
        }
        if (ok !== 0) continue;
        return finding(s, d, r, pid, ev.seq);
      }
      return null;
    },
  };
  return inv;
}

/** The finding: the message with the values read, and the last writes (earlier than the event) of what it read as causes. */
function finding(s: KState, d: InvariantDecl, r: Reads, pid: Pid, seq: number): Finding {
  const vals: string[] = [];
  const causes: Cause[] = [];
  for (const name of r.vars) {
    const v = findVar(s, name, pid);
    if (!v) continue;
    vals.push(`${name} = ${valueText(s, v.type, v.value)}`);
    if (v.writer >= 0 && v.since >= 0 && v.since < seq)
      causes.push({ seq: v.since, why: `tid ${v.writer} wrote ${name} = ${valueText(s, v.type, v.value)}` });
  }
  for (const name of r.locks) {
    const l = findLock(s, name, pid);
    if (!l) continue;
    vals.push(`${name} ${l.owner >= 0 ? `held by tid ${l.owner}` : "free"}`);
    if (l.since >= 0 && l.since < seq)
      causes.push({ seq: l.since, why: l.owner >= 0 ? `tid ${l.owner} took ${name}` : `${name} released` });
  }
  const where = pid > 0 ? ` in ${spaceText(pid)}` : "";
  causes.sort((a, b) => a.seq - b.seq);
  return { message: `${d.message}${vals.length ? ` (${vals.join(", ")}${where})` : ""}`, causes };
}
