// Watchpoints: what the cursor's continue / reverse-continue stop on.
//
// A watchpoint reads what it watches before an event (before()) and compares
// after it (after()); a change is a hit that reports the event and the old and
// new value. Each declares the event kinds that can change what it watches, so
// the others cost nothing.
//
// String syntax (parseWatch):
//   lock:NAME | lock:NAME@PID | lock:ID   a lock's owner (and owner ident) changes
//   kstack-free | kstack-free:TID         a kernel stack is freed (of thread TID)
//   thread:TID                            a thread's state changes
//   cpu:N                                 what cpu N runs changes (a switch), or its interrupt context (imported traces)
//   vmar:PID                              a process's root VMAR changes (cleared, replaced)
//   var:NAME | var:NAME@PID | var:ID      a variable's value changes (a write, its creation or copy, its end)
//   access:NAME | access:NAME@PID | access:ID   every access to a variable, reads included
//   futex:NAME | futex:NAME@PID | futex:ID   a futex word (condvar, semaphore, rwlock): every wait, wake, and change of its value
//   pipe:ID                               a pipe: every end opened or closed, write, read, blocked wait
//   signal:PID                            the signals of a process: sent to it, delivered, handlers returning
//   kind:PATTERN                          any event whose kind matches (glob, comma list)
// and through the API: watchCondition (a predicate on the state after an
// event becomes true) and watchValue (any value read from the state changes).

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
import { describe, kindMask, kindName, spaceShort, spaceText, taskText, valueText } from "./describe.ts";
import { isImportedState } from "./state-view.ts";

/** A JSON value watched: null means "does not exist". */
export type WatchValue = null | boolean | number | string | { [k: string]: WatchValue } | WatchValue[];

export interface WatchHit {
  /** The watchpoint's spec, e.g. "lock:import_lock". */
  watch: string;
  seq: number;
  event: KEvent;
  /** What changed, e.g. "lock tcmalloc.SlowTLS (id 13, pid 2)". */
  what: string;
  old: WatchValue;
  new: WatchValue;
  /** One line: what changed, from what to what, and the event that did it. */
  message: string;
}

/** Returned by before() when the event cannot concern the watchpoint. */
export const SKIP: unique symbol = Symbol("skip");

export interface Watchpoint {
  /** As written (or a label for API-built ones). */
  readonly spec: string;
  /** Kind codes that may hit, as a mask indexed by kind code; null for every event. */
  readonly kinds: Uint8Array | null;
  /** Reads what is watched from the state before ev (or SKIP). */
  before(s: KState, ev: KEvent): unknown;
  /** The hit, given the state after ev and what before() returned; null when nothing changed. */
  after(s: KState, ev: KEvent, old: unknown): WatchHit | null;
}

function mask(kinds: readonly number[]): Uint8Array {
  const m = new Uint8Array(Math.max(64, EVENT_KINDS.length));
  for (const k of kinds) m[k] = 1;
  return m;
}

function hit(
  w: Watchpoint,
  ev: KEvent,
  what: string,
  old: WatchValue,
  now: WatchValue,
  show: (v: WatchValue) => string,
): WatchHit {
  return {
    watch: w.spec,
    seq: ev.seq,
    event: { ...ev },
    what,
    old,
    new: now,
    message: `${what}: ${show(old)} → ${show(now)} at seq ${ev.seq} (${kindName(ev.kind)})`,
  };
}

// ---- lock ---------------------------------------------------------------------------

type LockRow = [id: number, owner: number, ident: number];

const LOCK_KINDS = mask(LOCK_STATE_KINDS);
const ONE_LOCK = mask([KIND.lockAcquire, KIND.lockRelease, KIND.lockRestamp]);

export interface LockSelector {
  id?: number;
  name?: string;
  /** With name: only the copy in this address space (0 = kernel, else pid). */
  space?: number;
}

function lockLabel(l: Lock | undefined, id: number): string {
  if (!l) return `lock ${id}`;
  return `lock ${l.name} (id ${l.id}, ${spaceShort(l.space)})`;
}

function ownerText(v: WatchValue): string {
  if (v === null) return "(none)";
  const o = v as { owner: number; ident: number; type?: string };
  if (o.owner < 0) return "free";
  return o.type === "recursive" ? `tid ${o.owner} (ident ${o.ident})` : `tid ${o.owner}`;
}

/** Watches the owner of the locks selected (by id, or by name in any or one space). */
export function watchLock(sel: LockSelector, spec?: string): Watchpoint {
  const matches = (l: Lock) =>
    sel.id !== undefined ? l.id === sel.id : l.name === sel.name && (sel.space === undefined || l.space === sel.space);
  const rows = (s: KState, ev: KEvent): LockRow[] | typeof SKIP => {
    if (ONE_LOCK[ev.kind]) {
      const l = s.locks.get(ev.a);
      return l && matches(l) ? [[l.id, l.owner, l.ident]] : SKIP;
    }
    if (sel.id !== undefined) {
      const l = s.locks.get(sel.id);
      return l ? [[l.id, l.owner, l.ident]] : [];
    }
    const out: LockRow[] = [];
    for (const l of s.locks.values()) if (matches(l)) out.push([l.id, l.owner, l.ident]);
    return out;
  };
  const w: Watchpoint = {
    spec:
      spec ??
      (sel.id !== undefined ? `lock:${sel.id}` : `lock:${sel.name}${sel.space !== undefined ? `@${sel.space}` : ""}`),
    kinds: LOCK_KINDS,
    before: rows,
    after(s, ev, old) {
      if (old === SKIP) return null;
      const before = new Map((old as LockRow[]).map((r) => [r[0], r]));
      const now = rows(s, ev);
      const after = new Map(now === SKIP ? [] : now.map((r) => [r[0], r]));
      const ids = [...new Set([...before.keys(), ...after.keys()])].sort((x, y) => x - y);
      for (const id of ids) {
        const o = before.get(id);
        const n = after.get(id);
        if (o && n && o[1] === n[1] && o[2] === n[2]) continue;
        const l = s.locks.get(id);
        const type = l?.type ?? "mutex";
        const val = (r: LockRow | undefined): WatchValue => (r ? { owner: r[1], ident: r[2], type } : null);
        return hit(w, ev, lockLabel(l, id), val(o), val(n), ownerText);
      }
      return null;
    },
  };
  return w;
}

// ---- variables ------------------------------------------------------------------------------

/** Which variables a var/access watchpoint follows: by id, or by name in any or one space. */
export interface VarSelector {
  id?: number;
  name?: string;
  /** With name: only the copy in this space (0 = kernel, p = pid p's memory, -p = pid p's kernel struct). */
  space?: number;
}

const ACCESS_KINDS = [KIND.load, KIND.atomicLoad, ...VAR_WRITE_KINDS];
const VAR_KINDS = mask(VAR_STATE_KINDS);
const ONE_VAR = mask(VAR_WRITE_KINDS);

function varLabel(v: Var | undefined, id: number): string {
  return v ? `${v.name} (var ${v.id}, ${spaceText(v.space)})` : `var ${id}`;
}

function matcher(sel: VarSelector): (v: Var) => boolean {
  return (v) =>
    sel.id !== undefined ? v.id === sel.id : v.name === sel.name && (sel.space === undefined || v.space === sel.space);
}

function varSpec(kind: string, sel: VarSelector): string {
  return sel.id !== undefined
    ? `${kind}:${sel.id}`
    : `${kind}:${sel.name}${sel.space !== undefined ? `@${sel.space}` : ""}`;
}

/**
 * Watches the value of the variables selected: hits when a write changes it,
 * and when a copy appears (var-new, fork) or goes (exec, reap). A write that
 * leaves the value as it was (a failed cas) is not a hit.
 */
export function watchVar(sel: VarSelector, spec?: string): Watchpoint {
  const matches = matcher(sel);
  type Row = [id: number, value: number];
  const rows = (s: KState, ev: KEvent): Row[] | typeof SKIP => {
    if (ONE_VAR[ev.kind]) {
      const v = s.vars.get(ev.a);
      return v && matches(v) ? [[v.id, v.value]] : SKIP;
    }
    const out: Row[] = [];
    for (const v of s.vars.values()) if (matches(v)) out.push([v.id, v.value]);
    return out;
  };
  const w: Watchpoint = {
    spec: spec ?? varSpec("var", sel),
    kinds: VAR_KINDS,
    before: rows,
    after(s, ev, old) {
      if (old === SKIP) return null;
      const before = new Map((old as Row[]).map((r) => [r[0], r[1]]));
      const now = rows(s, ev);
      const after = new Map(now === SKIP ? [] : now.map((r) => [r[0], r[1]]));
      const ids = [...new Set([...before.keys(), ...after.keys()])].sort((x, y) => x - y);
      for (const id of ids) {
        const o = before.get(id);
        const n = after.get(id);
        if (o === n) continue;
        const v = s.vars.get(id);
        const show = (x: WatchValue) => (x === null ? "(none)" : valueText(s, v?.type, x as number));
        const h = hit(w, ev, varLabel(v, id), o ?? null, n ?? null, show);
        if (ev.tid >= 0 && ONE_VAR[ev.kind]) h.message += ` by tid ${ev.tid}`;
        return h;
      }
      return null;
    },
  };
  return w;
}

/** Hits on every access (load, store, atomic, cas, fetch-add, xchg) to the variables selected, reads included. */
export function watchAccess(sel: VarSelector, spec?: string): Watchpoint {
  const matches = matcher(sel);
  const w: Watchpoint = {
    spec: spec ?? varSpec("access", sel),
    kinds: mask(ACCESS_KINDS),
    before(s, ev) {
      const v = s.vars.get(ev.a);
      return v && matches(v) ? v.value : SKIP;
    },
    after(s, ev, old) {
      if (old === SKIP) return null;
      const v = s.vars.get(ev.a);
      const now = v ? v.value : null;
      const show = (x: WatchValue) => (x === null ? "(none)" : valueText(s, v?.type, x as number));
      const read = ev.kind === KIND.load || ev.kind === KIND.atomicLoad;
      const h = hit(w, ev, varLabel(v, ev.a), old as number, now, show);
      h.message = read
        ? `${varLabel(v, ev.a)}: read ${show(old as number)} by tid ${ev.tid} at seq ${ev.seq} (${kindName(ev.kind)})`
        : `${h.message} by tid ${ev.tid}`;
      return h;
    },
  };
  return w;
}

// ---- futex words (condvars, semaphores, rwlocks), pipes, signals ------------------------------

const FUTEX_KINDS = mask([
  KIND.futexWait,
  KIND.futexWake,
  ...VAR_WRITE_KINDS,
  KIND.varNew,
  KIND.fork,
  KIND.exec,
  KIND.reap,
]);

/**
 * Watches a futex word and what is built on it: hits at every futex-wait
 * and futex-wake on it (a wake nobody receives says so) and at every change
 * of its value (a signal's sequence number, a semaphore's count).
 */
export function watchFutex(sel: VarSelector, spec?: string): Watchpoint {
  const matches = matcher(sel);
  const values = watchVar(sel);
  const w: Watchpoint = {
    spec: spec ?? varSpec("futex", sel),
    kinds: FUTEX_KINDS,
    before(s, ev) {
      if (ev.kind === KIND.futexWait || ev.kind === KIND.futexWake) {
        const v = s.vars.get(ev.a);
        return v && matches(v) ? "futex" : SKIP;
      }
      return values.before(s, ev);
    },
    after(s, ev, old) {
      if (old === SKIP) return null;
      if (old !== "futex") {
        const h = values.after(s, ev, old);
        return h ? { ...h, watch: w.spec } : null;
      }
      const v = s.vars.get(ev.a);
      const what = v ? `${v.sync ?? "futex"} ${v.name} (${spaceText(v.space)})` : `var ${ev.a}`;
      if (ev.kind === KIND.futexWait) {
        return {
          watch: w.spec,
          seq: ev.seq,
          event: { ...ev },
          what,
          old: null,
          new: null,
          message: `${what}: tid ${ev.tid} waits (word ${ev.b}) at seq ${ev.seq}`,
        };
      }
      const lost = ev.c === 0 ? "nobody waits, lost" : `${ev.c} woken`;
      return {
        watch: w.spec,
        seq: ev.seq,
        event: { ...ev },
        what,
        old: null,
        new: ev.c,
        message: `${what}: tid ${ev.tid} wakes ${ev.b >= 2 ** 31 - 1 ? "all" : `up to ${ev.b}`}: ${lost} at seq ${ev.seq}`,
      };
    },
  };
  return w;
}

const PIPE_KINDS = mask([KIND.pipeNew, KIND.fdOpen, KIND.fdClose, KIND.pipeWrite, KIND.pipeRead, KIND.pipeWait]);

/** Watches a pipe: its creation, every end opened or closed, every write, read and blocked wait. */
export function watchPipe(id: number, spec?: string): Watchpoint {
  const pipeOf = (ev: KEvent) => (ev.kind === KIND.fdOpen || ev.kind === KIND.fdClose ? ev.b : ev.a);
  const w: Watchpoint = {
    spec: spec ?? `pipe:${id}`,
    kinds: PIPE_KINDS,
    before: (s, ev) => (pipeOf(ev) === id ? (s.pipes.get(id)?.used ?? null) : SKIP),
    after(s, ev, old) {
      if (old === SKIP) return null;
      const p = s.pipes.get(id);
      return {
        watch: w.spec,
        seq: ev.seq,
        event: { ...ev },
        what: `pipe ${id}`,
        old: old as WatchValue,
        new: p ? p.used : null,
        message: `pipe ${id}: ${describe(ev, s)} at seq ${ev.seq}`,
      };
    },
  };
  return w;
}

const SIGNAL_KINDS = mask([KIND.signal, KIND.signalDeliver, KIND.sigreturn]);

/** Watches the signals of process pid: each one sent to it (or one of its threads), each delivery and handler return in it. */
export function watchSignals(pid: number, spec?: string): Watchpoint {
  const w: Watchpoint = {
    spec: spec ?? `signal:${pid}`,
    kinds: SIGNAL_KINDS,
    before(s, ev) {
      if (ev.kind === KIND.signal) return ev.a === pid ? true : SKIP;
      return s.threads.get(ev.tid)?.pid === pid ? true : SKIP;
    },
    after(s, ev, old) {
      if (old === SKIP) return null;
      return {
        watch: w.spec,
        seq: ev.seq,
        event: { ...ev },
        what: `signals of pid ${pid}`,
        old: null,
        new: null,
        message: `${describe(ev, s)} at seq ${ev.seq}`,
      };
    },
  };
  return w;
}

// ---- kernel stacks ----------------------------------------------------------------------

/** Watches kernel stacks being freed (of one thread, when tid is given). */
export function watchKstackFree(tid?: number, spec?: string): Watchpoint {
  const w: Watchpoint = {
    spec: spec ?? (tid === undefined ? "kstack-free" : `kstack-free:${tid}`),
    kinds: mask([KIND.kstackFree]),
    before(s, ev) {
      const k = s.kstacks.get(ev.a);
      if (!k || (tid !== undefined && k.tid !== tid)) return SKIP;
      return k.state;
    },
    after(s, ev, old) {
      if (old === SKIP) return null;
      const k = s.kstacks.get(ev.a);
      const running = s.cpus.filter((c) => c.kstack === ev.a).map((c) => `cpu ${c.id}`);
      const h = hit(
        w,
        ev,
        `kernel stack ${ev.a}${k ? ` of tid ${k.tid}` : ""}`,
        old as string,
        k ? k.state : null,
        (v) => String(v ?? "(none)"),
      );
      if (running.length) h.message += `; ${running.join(", ")} still runs on it`;
      return h;
    },
  };
  return w;
}

// ---- threads, VMARs, kinds ----------------------------------------------------------------

/** Watches a thread's state (runnable, running, blocked, spinning, exited; null once gone). */
export function watchThread(tid: number, spec?: string): Watchpoint {
  const w: Watchpoint = {
    spec: spec ?? `thread:${tid}`,
    kinds: null,
    before: (s) => s.threads.get(tid)?.state ?? null,
    after(s, ev, old) {
      const now = s.threads.get(tid)?.state ?? null;
      if (now === old) return null;
      return hit(w, ev, `thread tid ${tid}`, old as WatchValue, now, (v) => (v === null ? "(none)" : String(v)));
    },
  };
  return w;
}

// ---- cpus -------------------------------------------------------------------------------------

const CPU_KINDS = mask([KIND.switch, KIND.cpuCtx, KIND.lost, KIND.taskExec]);

/** What a cpu runs and the interrupt contexts it is in, as text: "bash-100", "idle in softirq NET_RX", "?" when unknown. */
function cpuText(s: KState, id: number): WatchValue {
  const c = s.cpus[id];
  if (c === undefined) return null;
  const runs = isImportedState(s) && c.switchSeq === undefined ? "?" : taskText(s, c.tid);
  const ctx = (c.ctx ?? []).map((x) =>
    x.kind === "hardirq" ? `hardirq ${x.num}${x.name ? ` ${x.name}` : ""}` : `softirq ${x.name || x.num}`,
  );
  return ctx.length ? `${runs} in ${ctx.join(" > ")}` : runs;
}

/** Watches what cpu N runs (a switch changes it) and its interrupt contexts (imported traces). */
export function watchCpu(id: number, spec?: string): Watchpoint {
  const w: Watchpoint = {
    spec: spec ?? `cpu:${id}`,
    kinds: CPU_KINDS,
    before: (s, ev) => (ev.cpu === id || ev.kind === KIND.taskExec ? cpuText(s, id) : SKIP),
    after(s, ev, old) {
      if (old === SKIP) return null;
      const now = cpuText(s, id);
      if (now === old) return null;
      return hit(w, ev, `cpu ${id}`, old as WatchValue, now, (v) => (v === null ? "(no such cpu)" : String(v)));
    },
  };
  return w;
}

const VMAR_KINDS = mask([KIND.vmarClear, KIND.exec, KIND.procNew, KIND.fork, KIND.spawn, KIND.reap]);

/** Watches a process's root VMAR: its id, "cleared" once exit set it to None, null when there is no such process. */
export function watchVmar(pid: number, spec?: string): Watchpoint {
  const read = (s: KState): WatchValue => {
    const p = s.procs.get(pid);
    return p ? (p.vmar === null ? "cleared" : p.vmar) : null;
  };
  const w: Watchpoint = {
    spec: spec ?? `vmar:${pid}`,
    kinds: VMAR_KINDS,
    before: read,
    after(s, ev, old) {
      const now = read(s);
      if (now === old) return null;
      const show = (v: WatchValue) => (v === null ? "(no process)" : v === "cleared" ? "None (cleared)" : `vmar ${v}`);
      return hit(w, ev, `pid ${pid}'s root VMAR`, old as WatchValue, now, show);
    },
  };
  return w;
}

/** Hits on every event whose kind matches the pattern (see kindMask). */
export function watchKind(pattern: string, spec?: string): Watchpoint {
  const w: Watchpoint = {
    spec: spec ?? `kind:${pattern}`,
    kinds: kindMask(pattern),
    before: () => true,
    after(s, ev) {
      return {
        watch: w.spec,
        seq: ev.seq,
        event: { ...ev },
        what: kindName(ev.kind),
        old: null,
        new: null,
        message: describe(ev, s),
      };
    },
  };
  return w;
}

/**
 * Hits at each event after which pred holds and before which it did not (it
 * becomes true). pred sees the state and the event; old/new are the booleans.
 */
export function watchCondition(label: string, pred: (s: KState, ev: KEvent) => boolean): Watchpoint {
  const w: Watchpoint = {
    spec: label,
    kinds: null,
    before: (s, ev) => pred(s, ev),
    after(s, ev, old) {
      const now = pred(s, ev);
      if (!now || old) return null;
      return hit(w, ev, label, false, true, String);
    },
  };
  return w;
}

/** Hits whenever the value read from the state changes (compared as JSON). */
export function watchValue(label: string, read: (s: KState) => WatchValue): Watchpoint {
  const w: Watchpoint = {
    spec: label,
    kinds: null,
    before: (s) => JSON.stringify(read(s)) ?? "null",
    after(s, ev, old) {
      const now = read(s);
      const j = JSON.stringify(now) ?? "null";
      if (j === old) return null;
      return hit(w, ev, label, JSON.parse(old as string) as WatchValue, now, (v) => JSON.stringify(v));
    },
  };
  return w;
}

// ---- parsing -------------------------------------------------------------------------------

/** A watch spec that does not parse. exitCode 2. */
export class WatchSpecError extends Error {
  readonly exitCode = 2;
  readonly hint =
    "watchpoints: lock:NAME|NAME@PID|ID, var:NAME|NAME@PID|ID, access:NAME|NAME@PID|ID, futex:NAME|NAME@PID|ID (condvars, semaphores, rwlocks), pipe:ID, signal:PID, kstack-free[:TID], thread:TID, cpu:N, vmar:PID, kind:PATTERN";
}

function int(spec: string, v: string, what: string): number {
  if (!/^[0-9]+$/.test(v)) throw new WatchSpecError(`watchpoint '${spec}': ${what} must be a number, got '${v}'`);
  return Number(v);
}

/** Parses the string syntax above. Throws WatchSpecError. */
export function parseWatch(spec: string): Watchpoint {
  const i = spec.indexOf(":");
  const head = i < 0 ? spec : spec.slice(0, i);
  const arg = i < 0 ? undefined : spec.slice(i + 1);
  const need = (what: string): string => {
    if (arg === undefined || arg === "")
      throw new WatchSpecError(
        `watchpoint '${spec}' needs ${what}, e.g. ${head}:${what === "a lock" ? "import_lock" : what === "a variable" ? "counter" : "2"}`,
      );
    return arg;
  };
  switch (head) {
    case "lock": {
      const a = need("a lock");
      if (/^[0-9]+$/.test(a)) return watchLock({ id: Number(a) }, spec);
      const at = /^(.*)@([0-9]+)$/.exec(a);
      if (at) return watchLock({ name: at[1]!, space: Number(at[2]) }, spec);
      return watchLock({ name: a }, spec);
    }
    case "var":
    case "access":
    case "futex": {
      const a = need("a variable");
      const make = head === "var" ? watchVar : head === "futex" ? watchFutex : watchAccess;
      if (/^[0-9]+$/.test(a)) return make({ id: Number(a) }, spec);
      const at = /^(.*)@(-?[0-9]+)$/.exec(a);
      if (at) return make({ name: at[1]!, space: Number(at[2]) }, spec);
      return make({ name: a }, spec);
    }
    case "kstack-free":
      return watchKstackFree(arg === undefined || arg === "" ? undefined : int(spec, arg, "the thread id"), spec);
    case "thread":
      return watchThread(int(spec, need("a thread id"), "the thread id"), spec);
    case "vmar":
      return watchVmar(int(spec, need("a pid"), "the pid"), spec);
    case "cpu":
      return watchCpu(int(spec, need("a cpu number"), "the cpu number"), spec);
    case "pipe":
      return watchPipe(int(spec, need("a pipe id"), "the pipe id"), spec);
    case "signal":
      return watchSignals(int(spec, need("a pid"), "the pid"), spec);
    case "kind":
      return watchKind(need("a kind pattern"), spec);
    default:
      throw new WatchSpecError(`unknown watchpoint '${spec}'`);
  }
}
