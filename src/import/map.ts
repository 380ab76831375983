// The mapping layer: neutral records in, abstract kernel operations out. Pure: no
// I/O, no clock, no randomness; the same records give the same ops.
//
// Contract: feed records in time order with `map(rec, out)`; ops are appended to
// `out` in the order they happened. Before the first op naming a task, a `task` op
// introduces it. The mapper keeps, and only keeps, what it needs to resolve later
// records: tasks (bounded by the kernel's pid_max: freed tasks are dropped), per-CPU
// current task and interrupt context, lock owners and waiters, pending sched_waking
// and task_newtask records. `stats` counts what was mapped, kept generic, merged into
// another op, or malformed.
//
// Field names differ between formats (the kernel's `pid` is LTTng's `tid`); every
// event reads both (see docs/IMPORT.md for the tables).

import { commOf } from "../kernel/imported.ts";
import { MAX_TRACE_CPUS } from "../trace/format.ts";
import { CPU_END } from "./cpu-end.ts";
import {
  type CpuContext,
  IDLE,
  OP_NAMES,
  type Op,
  type OpBody,
  type OpName,
  type PidSource,
  type TaskState,
} from "./ops.ts";
import type { FieldValue, ImportFormat, TraceRecord } from "./record.ts";

const CLONE_THREAD = 0x10000;
/** CPUs and tasks beyond the kernel's limits (NR_CPUS, PID_MAX_LIMIT) are not tracked; NR_CPUS is also what a trace may hold. */
export const MAX_CPUS = MAX_TRACE_CPUS;
const PID_MAX_LIMIT = 1 << 22;
/** Event names counted one by one; further names are counted together under OTHER_NAMES. */
export const MAX_EVENT_NAMES = 4096;
export const OTHER_NAMES = "(other event names)";
/** Locks with a known owner at once (lockdep allows 48 per task). */
export const MAX_HELD_LOCKS = 1 << 16;

/** Softirq names by vector (include/linux/interrupt.h), for inputs that print only the number (LTTng). */
const SOFTIRQ = ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];

/** prev_state letters (fs/proc/array.c task_state_array; x K W N of v4.13 and before). */
const STATE_LETTER: Record<string, TaskState> = {
  R: "runnable",
  S: "sleeping",
  D: "blocked",
  T: "stopped",
  t: "traced",
  X: "dead",
  x: "dead",
  Z: "zombie",
  P: "parked",
  I: "idle",
  W: "runnable",
  K: "blocked",
  N: "blocked",
};

/**
 * A prev_state as text (`S`, `R+`, `D|K`, `S|W`) or number. Numbers: ftrace prints
 * TASK_REPORT bits (1 S, 2 D, 4 T, 8 t, 16 X, 32 Z, 64 P, 128 I, 256 = preempted R+);
 * LTTng prints the raw task state (the same low bits, 128 TASK_DEAD, 1024 NOLOAD with
 * 2 = idle).
 */
export function taskState(v: FieldValue | undefined, raw: boolean): TaskState {
  if (v === undefined) return "unknown";
  if (typeof v === "string" && Number.isNaN(intText(v))) {
    const first = STATE_LETTER[v[0] ?? ""];
    if (first === undefined) return "unknown";
    if (first === "blocked" && /\bN\b|\|N/.test(v)) return "idle"; // D|N: TASK_IDLE before v4.14
    return first;
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) return "unknown";
  if (n === 0) return "runnable";
  if (n & 1) return "sleeping";
  if (n & 2) return raw && n & 1024 ? "idle" : "blocked";
  if (n & 4) return "stopped";
  if (n & 8) return "traced";
  if (n & 16) return "dead";
  if (n & 32) return "zombie";
  if (n & 64) return "parked";
  if (n & 128) return raw ? "dead" : "idle";
  if (n & 256) return raw ? "blocked" : "runnable";
  return "unknown";
}

/**
 * What each event the mapper knows becomes in the .ktrace (the kernel events its
 * ops are written as, src/import/convert.ts), for reports and docs. Every other
 * event is kept as a generic event. One definition: the import report follows it,
 * and docs/IMPORT.md's tables name every event (a test checks the doc).
 */
export const MAPPED_EVENTS: Readonly<Record<string, string>> = {
  sched_switch: "switch (prev's state from prev_state)",
  sched_waking: "wake (how waking: who woke it, in which CPU context; no state change)",
  sched_wakeup: "wake (how wakeup: the task becomes runnable unless running; the waker of its sched_waking)",
  sched_wakeup_new: "wake (how wakeup-new: the new task becomes runnable)",
  task_newtask: "task-fork (thread or process from clone_flags)",
  sched_process_fork: "task-fork (merged when task_newtask came first)",
  sched_process_exec: "task-exec",
  task_rename: "task-rename",
  sched_process_exit: "thread-exit (and proc-exit for a process's last thread)",
  sched_process_free: "thread-release (and reap for a process's last thread)",
  sched_process_wait: "generic (the switches say when it sleeps)",
  sched_migrate_task: "migrate",
  irq_handler_entry: "cpu-ctx: enters hardirq",
  irq_handler_exit: "cpu-ctx: leaves hardirq",
  softirq_entry: "cpu-ctx: enters softirq",
  softirq_exit: "cpu-ctx: leaves softirq",
  contention_begin: "lock-wait (owner unknown)",
  contention_end: "lock-wait-end",
  lock_acquire: "lock-acquire, or lock-wait when another task holds it (a read lock: generic)",
  lock_contended: "lock-wait (merged after lock_acquire's)",
  lock_acquired: "lock-acquire (after a wait)",
  lock_release: "lock-release (generic when the import never saw it taken)",
  lttng_statedump_process_state: "task-new (with process, parent and state)",
  lost_events: "lost",
  [CPU_END]: "lost, count -1 (ktrace's marker, not an input line: after a cpu's last event, what it runs is not known)",
};

/**
 * A field as an integer (plain or zero-padded decimal text too), undefined when
 * absent or not one. Fields are read by name at the call site (`f["pid"] ??
 * f["tid"]`): one property access the JIT can cache there. Not NaN: a value that
 * may be NaN is compiled as a double, and the integers it holds then reach the
 * ops, the converter, the reducer and the encoder as doubles, whose int32 code
 * exits on them (~100 times in each of a dozen functions) and is compiled again.
 */
function num(v: FieldValue | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (v === undefined) return undefined;
  const n = intText(v);
  return Number.isNaN(n) ? undefined : n;
}

/** The integer a text of decimal digits (with an optional '-') stands for, else NaN. Leading zeros allowed ("001"). */
function intText(t: string): number {
  const n = t.length;
  let i = n > 0 && t.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n || n - i > 15) return NaN;
  let v = 0;
  for (; i < n; i++) {
    const c = t.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return t.charCodeAt(0) === 45 ? -v : v;
}

/** A field as text, undefined when absent. */
function str(v: FieldValue | undefined): string | undefined {
  return typeof v === "number" ? String(v) : v;
}

const isTid = (n: number | undefined): n is number =>
  n !== undefined && Number.isInteger(n) && n >= 0 && n <= PID_MAX_LIMIT;
/** tid 0 is the idle task. */
const task = (n: number) => (n === 0 ? IDLE : n);

interface TaskInfo {
  pid: number;
  comm: string;
  source: PidSource;
}

interface CpuInfo {
  /** Task running here, as the last sched_switch said; undefined before one. */
  current: number | undefined;
  /** Interrupt context stack: "irq 19 eth0", "softirq NET_RX". */
  ctx: CtxEntry[];
}

/** How a record was used: mapped to ops, kept generic, merged into another record's op, or malformed (kept generic). */
type Use = "mapped" | "merged" | "malformed" | "generic";

/** An event name's handler (undefined: kept generic) and counts [mapped, generic, merged, malformed]. */
interface NameEntry {
  h: ((m: Mapper, r: TraceRecord, c: CpuInfo | undefined) => Use) | undefined;
  n: [number, number, number, number];
}

/** Who woke a task (its sched_waking), until its sched_wakeup. */
interface Waker {
  by: number;
  ctx: CpuContext;
  ctxName: string;
}
/** Spare Waker records kept (a machine has a few wakings in flight at once). */
const MAX_SPARE_WAKERS = 256;

/** A CPU's interrupt context (shared, never changed: one per interrupt line or softirq name). */
interface CtxEntry {
  readonly kind: CpuContext;
  readonly name: string;
}
/** Context entries made so far, by hardirq line and name or softirq action (bounded: cleared when full). */
const HARD_CTX = new Map<number, Map<string, CtxEntry>>();
const SOFT_CTX = new Map<string, CtxEntry>();
const MAX_CTX_ENTRIES = 1024;
let ctxEntries = 0;

/** The context entry of hardirq `irq` named `name` ("irq 19 eth0"), made once. */
function hardCtx(irq: number, name: string): CtxEntry {
  let byName = HARD_CTX.get(irq);
  let e = byName?.get(name);
  if (e === undefined) {
    if (++ctxEntries > MAX_CTX_ENTRIES) {
      HARD_CTX.clear();
      SOFT_CTX.clear();
      ctxEntries = 1;
      byName = undefined;
    }
    if (byName === undefined) HARD_CTX.set(irq, (byName = new Map()));
    e = { kind: "hardirq", name: `irq ${irq}${name ? " " + name : ""}` };
    byName.set(name, e);
  }
  return e;
}

/** The context entry of softirq `action` ("softirq NET_RX"), made once. */
function softCtx(action: string): CtxEntry {
  let e = SOFT_CTX.get(action);
  if (e === undefined) {
    if (++ctxEntries > MAX_CTX_ENTRIES) {
      HARD_CTX.clear();
      SOFT_CTX.clear();
      ctxEntries = 1;
    }
    e = { kind: "softirq", name: `softirq ${action}` };
    SOFT_CTX.set(action, e);
  }
  return e;
}

interface LockInfo {
  owner: number;
  name: string;
  level: number;
}

/** Counts of what happened to each input event name. */
export interface MapStats {
  /** Records read, by event name (the sum of the four tables below). */
  records: Record<string, number>;
  /** Records that produced one or more ops (by event name). */
  mapped: Record<string, number>;
  /** Records kept as generic events (no state they fold into). */
  generic: Record<string, number>;
  /** Records whose information another op already carried (e.g. sched_process_fork after task_newtask). */
  merged: Record<string, number>;
  /** Records of a known event whose fields were missing or invalid (kept as generic), with the first line. */
  malformed: Record<string, { count: number; firstLine: number }>;
  /** Tasks introduced (by a task or fork op). */
  tasks: number;
  /** How the process of each task was known when it was introduced (see PidSource). */
  pidSources: Record<PidSource, number>;
  /** Tasks whose process was learned after their introduction (join ops). */
  joins: number;
  /** Ops produced, by op name. */
  ops: Record<string, number>;
}

export interface MapOptions {
  /** The input's format: LTTng (babeltrace2) prints raw task states, ftrace/perf TASK_REPORT ones. */
  format: ImportFormat;
}

export class Mapper {
  // Counters for the hot path (one Map lookup per record); `stats` builds the records.
  /** Per event name: its handler and its records [mapped, generic, merged, malformed]. */
  private readonly names = new Map<string, NameEntry>();
  private readonly opCounts: Record<OpName, number> = Object.fromEntries(OP_NAMES.map((n) => [n, 0])) as Record<
    OpName,
    number
  >;
  private readonly bad = new Map<string, { count: number; firstLine: number }>();
  private taskCount = 0;
  private readonly sources: Record<PidSource, number> = { tgid: 0, clone: 0, fork: 0, statedump: 0, assumed: 0 };
  private joins = 0;
  private readonly raw: boolean;
  private readonly tasks = new Map<number, TaskInfo>();
  /** By CPU number (< MAX_CPUS). */
  private readonly cpus: (CpuInfo | undefined)[] = [];
  private readonly locks = new Map<string, LockInfo>();
  /** Lock each task waits for (lockdep), to infer its acquire. */
  private readonly waiting = new Map<number, string>();
  /** sched_waking seen, by woken task: who woke it, in which context. */
  private readonly wakers = new Map<number, Waker>();
  /** Waker records of wakeups done, for the next wakings (no object per waking). */
  private readonly spareWakers: Waker[] = [];
  /** Tasks created by task_newtask, whose sched_process_fork is merged. */
  private readonly newtasks = new Set<number>();

  // The record being mapped, for emit().
  private rec!: TraceRecord;
  private actor = IDLE;
  private out!: Op[];

  constructor(opts: MapOptions) {
    this.raw = opts.format === "babeltrace2";
  }

  /** CPUs that records named, sorted. */
  /** Whether cpu id runs a task (not idle) as far as its switches said. */
  runsTask(id: number): boolean {
    const c = this.cpus[id]?.current;
    return c !== undefined && c !== IDLE;
  }

  cpuIds(): number[] {
    const ids: number[] = [];
    this.cpus.forEach((c, i) => {
      if (c !== undefined) ids.push(i);
    });
    return ids;
  }

  /** Tasks still known (alive or not freed yet). */
  knownTasks(): number {
    return this.tasks.size;
  }

  /** What was mapped so far (see MapStats). */
  get stats(): MapStats {
    const sorted = [...this.names].map(([k, e]) => [k, e.n] as const).sort(([a], [b]) => (a < b ? -1 : 1));
    const col = (i: number) => Object.fromEntries(sorted.filter(([, c]) => c[i]! > 0).map(([k, c]) => [k, c[i]!]));
    return {
      records: Object.fromEntries(sorted.map(([k, c]) => [k, c[0] + c[1] + c[2] + c[3]])),
      mapped: col(0),
      generic: col(1),
      merged: col(2),
      malformed: Object.fromEntries([...this.bad].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, { ...v }])),
      tasks: this.taskCount,
      pidSources: { ...this.sources },
      joins: this.joins,
      ops: Object.fromEntries(OP_NAMES.filter((n) => this.opCounts[n] > 0).map((n) => [n, this.opCounts[n]])),
    };
  }

  /** Completes `body` into an op of the current record (the base fields are set in place: one object per op). */
  private emit(body: OpBody): void {
    const r = this.rec;
    const op = body as Op;
    op.line = r.line;
    op.ts = r.ts;
    op.cpu = r.cpu;
    op.tid = this.actor;
    this.out.push(op);
    this.opCounts[body.op]++;
  }

  private cpu(id: number): CpuInfo {
    let c = this.cpus[id];
    if (c === undefined) {
      c = { current: undefined, ctx: [] };
      while (this.cpus.length < id) this.cpus.push(undefined); // dense: no holes
      this.cpus[id] = c;
    }
    return c;
  }

  /** Introduces task `tid` if unknown (idle needs none); with `pid` when the input gives it. */
  private see(
    tid: number,
    comm: string,
    pid?: number,
    source: PidSource = "tgid",
    extra?: { ppid?: number; kthread?: boolean; state?: TaskState },
  ): void {
    if (tid === IDLE) return;
    const t = this.tasks.get(tid);
    if (t === undefined) {
      const known = pid !== undefined && isTid(pid) && pid > 0;
      const info: TaskInfo = { pid: known ? pid : tid, comm: comm.slice(0, 64), source: known ? source : "assumed" };
      this.tasks.set(tid, info);
      this.taskCount++;
      this.sources[info.source]++;
      const body: OpBody = {
        op: "task",
        task: tid,
        pid: info.pid,
        ppid: extra?.ppid ?? -1,
        comm: info.comm,
        source: info.source,
      };
      if (extra?.kthread !== undefined) body.kthread = extra.kthread;
      if (extra?.state !== undefined) body.state = extra.state;
      this.emit(body);
      return;
    }
    if (pid !== undefined && isTid(pid) && pid > 0 && (pid !== t.pid || t.source === "assumed")) {
      const moved = pid !== t.pid;
      // pidSources counts where each task's process is known from in the end: an assumed one now is known.
      this.sources[t.source]--;
      this.sources[source]++;
      t.pid = pid;
      t.source = source;
      if (moved) {
        this.joins++;
        this.emit({ op: "join", task: tid, pid, source });
      }
    }
  }

  private generic(r: TraceRecord): void {
    this.emit({ op: "generic", name: r.name, system: r.system ?? "", fields: r.fields });
  }

  private malformed(r: TraceRecord): void {
    const key = this.bad.has(r.name) || this.bad.size < MAX_EVENT_NAMES ? r.name : OTHER_NAMES;
    const m = this.bad.get(key);
    if (m === undefined) this.bad.set(key, { count: 1, firstLine: r.line });
    else m.count++;
    this.emit({ op: "generic", name: r.name, system: r.system ?? "", fields: r.fields });
  }

  /** Maps one record; appends its ops to `out`. Records must come in time order. */
  map(r: TraceRecord, out: Op[]): void {
    this.rec = r;
    this.out = out;
    const e = this.names.get(r.name) ?? this.nameEntry(r.name);
    if (r.tid > PID_MAX_LIMIT || r.cpu >= MAX_CPUS) {
      // No kernel has such a task or CPU: keep the record, attributed to no one.
      this.actor = IDLE;
      this.tally(r, e, "malformed");
      return;
    }
    const c = r.cpu >= 0 ? this.cpu(r.cpu) : undefined;
    // The acting task: as printed; else what the CPU runs (formats without a tid column).
    // Before a CPU's first switch, the switch itself names who was running.
    const prev = r.tid < 0 && r.name === "sched_switch" ? num(r.fields["prev_pid"] ?? r.fields["prev_tid"]) : undefined;
    this.actor = r.tid >= 0 ? task(r.tid) : (c?.current ?? (isTid(prev) ? task(prev) : IDLE));
    // A statedump record introduces its task with more than the actor's context says: it goes first.
    const dump = r.name === "lttng_statedump_process_state";
    if (r.tid > 0 && !dump) this.see(r.tid, r.comm, r.pid, "tgid");
    if (this.waiting.size > 0 && this.actor !== IDLE && r.name !== "lock_acquired") this.inferAcquire(this.actor);
    const ok = e.h === undefined ? "generic" : e.h(this, r, c);
    if (r.tid > 0 && dump) this.see(r.tid, r.comm, r.pid, "tgid");
    this.tally(r, e, ok);
  }

  /** The entry of an event name not seen yet; past MAX_EVENT_NAMES names, they share one count (OTHER_NAMES). */
  private nameEntry(name: string): NameEntry {
    const h = Mapper.HANDLERS.get(name);
    if (this.names.size < MAX_EVENT_NAMES) {
      const e: NameEntry = { h, n: [0, 0, 0, 0] };
      this.names.set(name, e);
      return e;
    }
    let other = this.names.get(OTHER_NAMES);
    if (other === undefined) {
      other = { h: undefined, n: [0, 0, 0, 0] };
      this.names.set(OTHER_NAMES, other);
    }
    return { h, n: other.n };
  }

  /** Counts the record under its name, and keeps it as a generic op unless it mapped or merged. */
  private tally(r: TraceRecord, e: NameEntry, ok: Use): void {
    const n = e.n;
    if (ok === "mapped") n[0]++;
    else if (ok === "generic") {
      n[1]++;
      this.generic(r);
    } else if (ok === "merged") n[2]++;
    else {
      n[3]++;
      this.malformed(r);
    }
  }

  /**
   * The handlers of a process's life (task_newtask, fork, exec, exit, free):
   * a few percent of a trace's events, each compiled to the top tier at
   * 10-30 ms of a compiler thread's time (importTierHints keeps them below it).
   */
  static rareHandlers(): readonly unknown[] {
    const p = Mapper.prototype;
    return [p.onNewtask, p.onFork, p.onExec, p.onExit, p.onFree];
  }

  /** What each event name is mapped by (other names are kept as generic events). */
  private static readonly HANDLERS = new Map<string, (m: Mapper, r: TraceRecord, c: CpuInfo | undefined) => Use>([
    ["sched_switch", (m, r, c) => m.onSwitch(r, c)],
    ["sched_waking", (m, r, c) => m.onWake(r, c)],
    ["sched_wakeup", (m, r, c) => m.onWake(r, c)],
    ["sched_wakeup_new", (m, r, c) => m.onWake(r, c)],
    ["task_newtask", (m, r, c) => m.onNewtask(r, c)],
    ["sched_process_fork", (m, r, c) => m.onFork(r, c)],
    ["sched_process_exec", (m, r, c) => m.onExec(r, c)],
    ["task_rename", (m, r, c) => m.onRename(r, c)],
    ["sched_process_exit", (m, r, c) => m.onExit(r, c)],
    ["sched_process_free", (m, r, c) => m.onFree(r, c)],
    ["sched_process_wait", (m, r, c) => m.onWait(r, c)],
    ["sched_migrate_task", (m, r, c) => m.onMigrate(r, c)],
    ["irq_handler_entry", (m, r, c) => m.onIrqEntry(r, c)],
    ["irq_handler_exit", (m, r, c) => m.onIrqExit(r, c)],
    ["softirq_entry", (m, r, c) => m.onSoftirq(r, c)],
    ["softirq_exit", (m, r, c) => m.onSoftirq(r, c)],
    ["contention_begin", (m, r, c) => m.onContentionBegin(r, c)],
    ["contention_end", (m, r, c) => m.onContentionEnd(r, c)],
    ["lock_acquire", (m, r) => m.lockdep(r)],
    ["lock_contended", (m, r) => m.lockdep(r)],
    ["lock_acquired", (m, r) => m.lockdep(r)],
    ["lock_release", (m, r) => m.lockdep(r)],
    ["lttng_statedump_process_state", (m, r, c) => m.onStatedump(r, c)],
    ["lost_events", (m, r, c) => m.onLost(r, c)],
    [CPU_END, (m) => m.onCpuEnd()],
  ]);

  /** sched_switch */
  private onSwitch(r: TraceRecord, c: CpuInfo | undefined): Use {
    const f = r.fields;
    const prev = num(f["prev_pid"] ?? f["prev_tid"]);
    const next = num(f["next_pid"] ?? f["next_tid"]);
    if (!isTid(prev) || !isTid(next)) return "malformed";
    this.see(task(prev), str(f["prev_comm"]) ?? "");
    this.see(task(next), str(f["next_comm"]) ?? "");
    const st = f["prev_state"];
    this.emit({
      op: "switch",
      prev: task(prev),
      prevState: taskState(st, this.raw),
      prevStateText: str(f["prev_state.label"] ?? f["prev_state"]) ?? "",
      next: task(next),
    });
    if (c !== undefined) c.current = task(next);
    return "mapped";
  }

  /** sched_waking, sched_wakeup, sched_wakeup_new */
  private onWake(r: TraceRecord, c: CpuInfo | undefined): Use {
    const f = r.fields;
    const t = this.subject(f);
    if (t < 0) return "malformed";
    // (not ctx[length - 1] on an empty stack: the JIT's code exits on a negative index)
    const top = c !== undefined && c.ctx.length > 0 ? c.ctx[c.ctx.length - 1] : undefined;
    const stage = r.name === "sched_waking" ? "waking" : r.name === "sched_wakeup" ? "wakeup" : "new";
    // Who woke it: here (a waking; a wakeup without one), or the matching waking's waker.
    let by = this.actor;
    let ctx: CpuContext = top?.kind ?? "task";
    let ctxName = top?.name ?? "";
    if (stage === "waking") {
      const w = this.wakers.get(t) ?? this.spareWakers.pop() ?? { by, ctx, ctxName };
      w.by = by;
      w.ctx = ctx;
      w.ctxName = ctxName;
      this.wakers.set(t, w);
    } else {
      const w = this.wakers.get(t);
      if (w !== undefined) {
        ({ by, ctx, ctxName } = w);
        this.wakers.delete(t);
        if (this.spareWakers.length < MAX_SPARE_WAKERS) this.spareWakers.push(w);
      }
    }
    const target = num(f["target_cpu"]);
    const success = f["success"] === undefined ? true : num(f["success"]) !== 0;
    this.emit({ op: "wake", task: t, stage, by, ctx, ctxName, targetCpu: target ?? -1, success });
    return "mapped";
  }

  /** task_newtask */
  private onNewtask(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const child = num(f["pid"] ?? f["tid"]);
    const flags = parseInt(str(f["clone_flags"]) ?? "", 16);
    if (!isTid(child) || child === 0 || Number.isNaN(flags)) return "malformed";
    if (this.tasks.has(child)) return "merged";
    const thread = (flags & CLONE_THREAD) !== 0;
    this.fork(this.actor, child, thread, thread ? this.pidOf(this.actor) : child, str(f["comm"]) ?? "", "clone");
    this.newtasks.add(child);
    return "mapped";
  }

  /** sched_process_fork */
  private onFork(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const parent = num(f["parent_tid"] ?? f["pid"]);
    const child = num(f["child_tid"] ?? f["child_pid"]);
    if (!isTid(parent) || !isTid(child) || child === 0) return "malformed";
    if (this.newtasks.delete(child)) return "merged";
    if (this.tasks.has(child)) return "merged";
    this.see(task(parent), str(f["parent_comm"] ?? f["comm"]) ?? "");
    // LTTng gives the child's tgid (child_pid next to child_tid); ftrace only its tid.
    const lttngPid = f["child_tid"] !== undefined ? num(f["child_pid"]) : undefined;
    const parentPid = f["parent_pid"] !== undefined ? num(f["parent_pid"]) : this.pidOf(task(parent));
    if (isTid(lttngPid))
      this.fork(task(parent), child, lttngPid === parentPid, lttngPid, str(f["child_comm"]) ?? "", "fork");
    else this.fork(task(parent), child, null, child, str(f["child_comm"]) ?? "", "assumed");
    return "mapped";
  }

  /** sched_process_exec */
  private onExec(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const t = num(f["pid"] ?? f["tid"]);
    const old = num(f["old_pid"] ?? f["old_tid"]);
    const filename = str(f["filename"]) ?? "";
    if (!isTid(t) || t === 0) return "malformed";
    const oldTid = isTid(old) ? old : t;
    const comm = commOf(filename);
    if (oldTid !== t) {
      const info = this.tasks.get(oldTid);
      if (info !== undefined) {
        this.tasks.delete(oldTid);
        this.tasks.set(t, info);
      }
    }
    this.see(t, comm);
    const info = this.tasks.get(t);
    if (info !== undefined) info.comm = comm;
    this.emit({ op: "exec", task: t, oldTid, filename, comm });
    return "mapped";
  }

  /** task_rename */
  private onRename(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const t = f["pid"] !== undefined ? num(f["pid"]) : this.actor;
    const comm = str(f["newcomm"]);
    if (!isTid(t) || t === 0 || comm === undefined) return "malformed";
    const info = this.tasks.get(t);
    const oldComm = str(f["oldcomm"]) ?? info?.comm ?? "";
    this.see(t, oldComm);
    this.tasks.get(t)!.comm = comm;
    this.emit({ op: "rename", task: t, comm, oldComm });
    return "mapped";
  }

  /** sched_process_exit */
  private onExit(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const t = this.subject(f);
    if (t < 0) return "malformed";
    const gd = str(f["group_dead"]);
    this.emit({ op: "exit", task: t, groupDead: gd === undefined ? null : gd === "true" || gd === "1" });
    return "mapped";
  }

  /** sched_process_free */
  private onFree(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const t = this.subject(f);
    if (t < 0) return "malformed";
    this.emit({ op: "free", task: t });
    this.forget(t);
    return "mapped";
  }

  /** Forgets task `tid` (freed, or released by the writer): a later record naming the tid introduces a new task. */
  forget(tid: number): void {
    this.tasks.delete(tid);
    this.wakers.delete(tid);
    this.waiting.delete(tid);
    this.newtasks.delete(tid);
  }

  /** sched_process_wait */
  private onWait(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const p = num(f["pid"] ?? f["tid"]);
    if (p === undefined || !Number.isInteger(p)) return "malformed";
    this.emit({ op: "wait", pid: p });
    return "mapped";
  }

  /** sched_migrate_task */
  private onMigrate(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const t = num(f["pid"] ?? f["tid"]);
    const from = num(f["orig_cpu"]);
    const to = num(f["dest_cpu"]);
    if (!isTid(t) || t === 0 || !isTid(from) || !isTid(to)) return "malformed";
    this.see(t, str(f["comm"]) ?? "");
    this.emit({ op: "migrate", task: t, from, to });
    return "mapped";
  }

  /** irq_handler_entry */
  private onIrqEntry(r: TraceRecord, c: CpuInfo | undefined): Use {
    const f = r.fields;
    const irq = num(f["irq"]);
    if (irq === undefined || !Number.isInteger(irq)) return "malformed";
    const name = str(f["name"]) ?? "";
    c?.ctx.push(hardCtx(irq, name));
    this.emit({ op: "irqEnter", irq, name });
    return "mapped";
  }

  /** irq_handler_exit */
  private onIrqExit(r: TraceRecord, c: CpuInfo | undefined): Use {
    const f = r.fields;
    const irq = num(f["irq"]);
    if (irq === undefined || !Number.isInteger(irq)) return "malformed";
    this.popCtx(c, "hardirq");
    const ret = str(f["ret"]) ?? "";
    this.emit({ op: "irqExit", irq, handled: ret === "handled" || ret === "1" });
    return "mapped";
  }

  /** softirq_entry, softirq_exit */
  private onSoftirq(r: TraceRecord, c: CpuInfo | undefined): Use {
    const f = r.fields;
    const vec = num(f["vec"]);
    if (vec === undefined || !Number.isInteger(vec)) return "malformed";
    const action = str(f["action"]) ?? SOFTIRQ[vec] ?? String(vec);
    if (r.name === "softirq_entry") {
      c?.ctx.push(softCtx(action));
      this.emit({ op: "softirqEnter", vec, action });
    } else {
      this.popCtx(c, "softirq");
      this.emit({ op: "softirqExit", vec, action });
    }
    return "mapped";
  }

  /** contention_begin */
  private onContentionBegin(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const lock = str(f["addr"]);
    if (lock === undefined) return "malformed";
    this.emit({ op: "lockWait", lock, name: "", owner: IDLE, source: "contention", flags: str(f["flags"]) ?? "" });
    return "mapped";
  }

  /** contention_end */
  private onContentionEnd(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const lock = str(f["addr"]);
    if (lock === undefined) return "malformed";
    const ret = num(f["ret"]);
    this.emit({ op: "lockWaitEnd", lock, ret: ret ?? 0 });
    return "mapped";
  }

  /** lttng_statedump_process_state */
  private onStatedump(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const t = num(f["tid"]);
    const pid = num(f["pid"]);
    if (!isTid(t) || !isTid(pid)) return "malformed";
    if (t === 0) return "merged";
    const known = this.tasks.has(t);
    const status = num(f["status"]);
    // lttng_process_status: 2 WAIT_CPU, 5 WAIT, 6 RUN, 4 ZOMBIE, 7 DEAD
    const state: TaskState | undefined =
      status === 2 || status === 6
        ? "runnable"
        : status === 5
          ? "sleeping"
          : status === 4
            ? "zombie"
            : status === 7
              ? "dead"
              : undefined;
    const ppid = num(f["ppid"]);
    this.see(t, str(f["name"]) ?? "", pid, "statedump", {
      ppid: isTid(ppid) ? ppid : -1,
      kthread: num(f["type"]) === 1,
      ...(state ? { state } : {}),
    });
    return known ? "merged" : "mapped";
  }

  /** lost_events */
  private onLost(r: TraceRecord, _c: CpuInfo | undefined): Use {
    const f = r.fields;
    const n = num(f["count"]);
    this.emit({ op: "lost", count: n === undefined || n < 0 ? 0 : n });
    return "mapped";
  }

  /** The end of a cpu's events (cpu-end.ts): lost, count -1. */
  private onCpuEnd(): Use {
    this.emit({ op: "lost", count: -1 });
    return "mapped";
  }

  /** The task an event is about (its pid/tid field), introduced with its comm; -1 when the event names none. */
  private subject(f: Record<string, FieldValue>): number {
    const t = num(f["pid"] ?? f["tid"]);
    if (!isTid(t) || t === 0) return -1;
    this.see(t, str(f["comm"]) ?? "");
    return t;
  }

  private pidOf(tid: number): number {
    return this.tasks.get(tid)?.pid ?? tid;
  }

  private fork(
    parent: number,
    child: number,
    thread: boolean | null,
    childPid: number,
    comm: string,
    source: PidSource,
  ): void {
    this.emit({ op: "fork", parent, child, childPid, thread, comm });
    // The fork op introduces the child: no `task` op for it.
    this.tasks.set(child, { pid: childPid, comm, source });
    this.taskCount++;
    this.sources[source]++;
  }

  private popCtx(c: CpuInfo | undefined, kind: CpuContext): void {
    if (c === undefined) return;
    for (let i = c.ctx.length - 1; i >= 0; i--) {
      if (c.ctx[i]!.kind === kind) {
        c.ctx.length = i;
        return;
      }
    }
  }

  /** A task waiting (lockdep) for a lock its owner has released took it: its first event since says so. */
  private inferAcquire(tid: number): void {
    const lock = this.waiting.get(tid);
    if (lock === undefined) return;
    const l = this.locks.get(lock);
    if (l !== undefined && l.owner !== IDLE && l.owner !== tid) return;
    this.waiting.delete(tid);
    this.take(lock, l?.name ?? "", tid);
    this.emit({ op: "lockAcquire", lock, name: l?.name ?? "", read: false, try: false, inferred: true });
  }

  private take(lock: string, name: string, tid: number): void {
    const l = this.locks.get(lock);
    if (l === undefined) {
      // More locks held at once than any kernel holds: stop tracking owners of new ones.
      if (this.locks.size < MAX_HELD_LOCKS) this.locks.set(lock, { owner: tid, name, level: 1 });
    } else if (l.owner === tid) l.level++;
    else {
      l.owner = tid;
      l.level = 1;
      if (name) l.name = name;
    }
  }

  /**
   * lockdep's events: lock_acquire fires before the task may block; lock_contended when
   * it has to wait; lock_acquired when it got the lock after waiting (CONFIG_LOCK_STAT);
   * lock_release. Read (shared) acquisitions have no single owner and never wait here.
   */
  private lockdep(r: TraceRecord): Use {
    const f = r.fields;
    const name = str(f["name"]) ?? "";
    const lock = str(f["addr"]) ?? name;
    const tid = this.actor;
    if (lock === "" || tid === IDLE) return "malformed";
    const l = this.locks.get(lock);
    const read = f["read"] !== undefined && num(f["read"]) !== 0;
    switch (r.name) {
      case "lock_acquire": {
        const tryLock = f["try"] !== undefined && num(f["try"]) !== 0;
        if (read) {
          this.emit({ op: "lockAcquire", lock, name, read: true, try: tryLock, inferred: false });
          return "mapped";
        }
        if (l !== undefined && l.owner !== IDLE && l.owner !== tid && !tryLock) {
          this.waiting.set(tid, lock);
          this.emit({ op: "lockWait", lock, name, owner: l.owner, source: "lockdep", flags: "" });
          return "mapped";
        }
        this.take(lock, name, tid);
        this.emit({ op: "lockAcquire", lock, name, read: false, try: tryLock, inferred: false });
        return "mapped";
      }
      case "lock_contended":
        if (this.waiting.get(tid) === lock) return "merged";
        this.waiting.set(tid, lock);
        this.emit({ op: "lockWait", lock, name, owner: l?.owner ?? IDLE, source: "lockdep", flags: "" });
        return "mapped";
      case "lock_acquired":
        if (this.waiting.get(tid) !== lock) return "merged";
        this.waiting.delete(tid);
        this.take(lock, name, tid);
        this.emit({ op: "lockAcquire", lock, name, read: false, try: false, inferred: false });
        return "mapped";
      default: {
        // lock_release (of a read lock, or of one taken before the trace began: not held here)
        if (l !== undefined && l.owner === tid) {
          if (--l.level <= 0) this.locks.delete(lock);
        }
        this.emit({ op: "lockRelease", lock, name, held: l !== undefined && l.owner === tid });
        return "mapped";
      }
    }
  }
}
