// Ops to ktrace events: the thin layer between the mapper (map.ts) and the
// kernel's reducer (src/kernel/imported.ts). One op becomes one event, or a few
// (a lock's first sight adds its lock-new; an exit that ends a process adds
// proc-exit; a free that empties one adds reap).
//
// Contract: feed ops in order with `op(o)`; every event made is applied to
// `state` (applyEvent) and handed to the sink with the state after it, in seq
// order from 0. The converter holds only the kernel state and the lock table
// (address → lock id, bounded by MAX_IMPORT_LOCKS); it trusts the mapper's
// order (a task is introduced before an op names it) but checks the state
// before each event that needs an object, so an op that does not fit is kept as
// a generic event and counted, never a failed import.

import { applyEvent } from "../kernel/apply.ts";
import { stateCode } from "../kernel/imported.ts";
import { initState } from "../kernel/state.ts";
import {
  EVENT_KINDS,
  HOW,
  type KConfig,
  type KEvent,
  KIND,
  type KState,
  type ThreadState,
  TRYLOCK_ACQUIRE,
} from "../kernel/types.ts";
import { Mapper } from "./map.ts";
import { type CpuContext, IDLE, type Op, type TaskState } from "./ops.ts";
import type { FieldValue } from "./record.ts";

/** Locks an import tracks at once; events of further locks are kept as generic events (counted). */
export const MAX_IMPORT_LOCKS = 16_384;
/**
 * Threads the state keeps before dead ones are released (inputs without
 * sched_process_free): about 226 bytes each in a snapshot, so snapshots stay
 * well under the reader's 4 MiB (MAX_SNAPSHOT_BODY).
 */
export const MAX_KEPT_THREADS = 8192;
/** Longest text of a generic event (the rest is cut, marked with …). */
export const MAX_GENERIC_TEXT = 2048;

/** The kernel config of an imported trace: the rules are the simulator's and unused; only cpus matters. */
export function importedConfig(cpus: number): KConfig {
  return {
    cpus,
    tidAfterFork: "new",
    kstackFree: "deferred",
    stackCheck: "silent",
    procfsVmar: "check",
    imported: true,
  };
}

/** The state an imported trace starts from: its cpus, what they run unknown until their first switch. */
export function importedInitialState(cpus: number): KState {
  return initState(importedConfig(cpus));
}

/** An op's task state as a kernel thread state: a task that is dead or a zombie has exited. */
const THREAD_STATE: Record<TaskState, ThreadState> = {
  runnable: "runnable",
  sleeping: "sleeping",
  blocked: "blocked",
  stopped: "stopped",
  traced: "traced",
  dead: "exited",
  zombie: "exited",
  parked: "parked",
  idle: "idle",
  unknown: "unknown",
};

/**
 * A wake event's context: where the waker ran. "" in a task; "irq:NAME" in a
 * hardirq handler (its line when it has no name: "irq:19"), "softirq:NAME"
 * in a softirq (the mapper's context names are "irq 19 eth0", "softirq NET_RX").
 */
export function wakeContext(ctx: CpuContext, name: string): string {
  if (ctx === "task") return "";
  // A machine has a few interrupt lines and softirq vectors, woken from thousands of times: each name's text is made once.
  const memo = ctx === "hardirq" ? HARD_CONTEXTS : SOFT_CONTEXTS;
  let t = memo.get(name);
  if (t === undefined) {
    if (ctx === "hardirq") {
      const m = /^irq (\S+)(?: (.+))?$/.exec(name);
      t = `irq:${m ? (m[2] ?? m[1]) : name}`;
    } else t = `softirq:${name.replace(/^softirq /, "")}`;
    if (memo.size >= MAX_CONTEXT_NAMES) memo.clear();
    memo.set(name, t);
  }
  return t;
}
/** wakeContext's texts by context name (bounded: cleared when full). */
const HARD_CONTEXTS = new Map<string, string>();
const SOFT_CONTEXTS = new Map<string, string>();
const MAX_CONTEXT_NAMES = 1024;

const PLAIN_VALUE = /^[^\s"\\=\x00-\x1f\x7f-\x9f]+$/;
const KIND_NAMES = EVENT_KINDS.map((k) => k.name);

/**
 * The text of a generic event: `[system:]name k=v ...`, a value with spaces,
 * quotes, `=` or backslashes (or empty) as a JSON string; cut at
 * MAX_GENERIC_TEXT characters with a trailing " …". One definition: every
 * generic event is written by it.
 */
export function genericText(name: string, system: string, fields: Record<string, FieldValue>): string {
  let out = system ? `${system}:${name}` : name;
  for (const k in fields) {
    const v = fields[k]!;
    const t = typeof v !== "string" ? String(v) : PLAIN_VALUE.test(v) ? v : JSON.stringify(v);
    out += ` ${k}=${t}`;
    if (out.length > MAX_GENERIC_TEXT) return `${out.slice(0, MAX_GENERIC_TEXT - 2)} …`;
  }
  return out;
}

/** What the converter made, for the import's report. */
export interface ConvertStats {
  /** Events written, by kind name. */
  kinds: Record<string, number>;
  /** Ops kept as generic events because they did not fit: why → count (and the first input line). */
  kept: Record<string, { count: number; firstLine: number }>;
  /** Locks seen (lock-new events). */
  locks: number;
}

export class Converter {
  readonly state: KState;
  private seq = 0;
  private readonly locks = new Map<string, number>();
  /** Events made, by kind code (every code of the table, so the array has no holes). */
  private readonly kindCounts: number[] = EVENT_KINDS.map(() => 0);
  private readonly keptWhy = new Map<string, { count: number; firstLine: number }>();
  /** One event record, refilled for every event (the sink copies what it keeps). */
  private readonly ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
  private o!: Op;

  /**
   * For inputs without sched_process_free, whose tasks would otherwise stay in the
   * state (and in every snapshot) forever: tasks that left a cpu dead (X, Z) are
   * queued, and once the state holds more than MAX_KEPT_THREADS threads the oldest
   * are released (thread-release, and reap for a process's last thread). Off from
   * the first `free` op on.
   */
  private releaseDead: boolean;
  private readonly dead: number[] = [];
  private deadHead = 0;

  /** `sink` gets each event with the state after it (both reused: copy what you keep). */
  private readonly onRelease: ((tid: number) => void) | undefined;

  /**
   * `sink` gets each event with the state after it (both reused: copy what you keep).
   * `onRelease` hears of each task released at a dead switch (the mapper forgets it).
   */
  private readonly keepThreads: number;

  constructor(
    cpus: number,
    private readonly sink: (ev: KEvent, after: KState) => void,
    opts: { releaseDead?: boolean; onRelease?: (tid: number) => void; keepThreads?: number } = {},
  ) {
    this.state = importedInitialState(cpus);
    this.releaseDead = opts.releaseDead ?? false;
    this.onRelease = opts.onRelease;
    this.keepThreads = opts.keepThreads ?? MAX_KEPT_THREADS;
  }

  /** Events made so far. */
  get events(): number {
    return this.seq;
  }

  get stats(): ConvertStats {
    const kinds: Record<string, number> = {};
    this.kindCounts.forEach((n, k) => {
      if (n > 0) kinds[KIND_NAMES[k] ?? `kind#${k}`] = n;
    });
    return {
      kinds,
      kept: Object.fromEntries([...this.keptWhy].map(([k, v]) => [k, { ...v }])),
      locks: this.locks.size,
    };
  }

  /** Converts one op (see the file comment). */
  op(o: Op): void {
    this.o = o;
    const s = this.state;
    switch (o.op) {
      case "task": {
        const t = s.threads.get(o.task);
        if (t === undefined) {
          this.emit(KIND.taskNew, o.tid, o.task, o.pid, o.ppid, o.comm);
          if (o.state !== undefined)
            this.emit(KIND.threadState, o.tid, o.task, stateCode(THREAD_STATE[o.state]), 0, "");
        } else {
          // Known already (the mapper forgot it, the kernel did not): take what the op says.
          if (t.pid !== o.pid) this.emit(KIND.taskJoin, o.tid, o.task, o.pid, 0, "");
          if (o.comm && t.comm !== o.comm) this.emit(KIND.taskRename, o.tid, o.task, 0, 0, o.comm);
        }
        return;
      }
      case "join":
        if (s.threads.has(o.task)) this.emit(KIND.taskJoin, o.tid, o.task, o.pid, 0, "");
        else this.keep("a join of a task not known");
        return;
      case "switch": {
        if (o.next !== IDLE && !s.threads.has(o.next)) {
          this.keep("a switch to a task not known");
          return;
        }
        const code = stateCode(THREAD_STATE[o.prevState]);
        if (o.cpu >= 0) {
          this.emit(KIND.switch, o.tid, o.prev, o.next, code, "");
          if (this.releaseDead && THREAD_STATE[o.prevState] === "exited" && s.threads.has(o.prev))
            this.evictDead(o.prev);
          return;
        }
        // No cpu column (perf script without it): the states without a cpu.
        if (o.prev !== IDLE && s.threads.has(o.prev)) this.emit(KIND.threadState, o.tid, o.prev, code, 0, "");
        if (o.next !== IDLE) this.emit(KIND.threadState, o.tid, o.next, stateCode("running"), 0, "");
        return;
      }
      case "wake": {
        const t = s.threads.get(o.task);
        if (t === undefined) {
          this.keep("a wakeup of a task not known");
          return;
        }
        if (!o.success) {
          // Old kernels' success=0: the task was awake already, nothing was woken. Kept as text.
          const what =
            o.stage === "waking" ? "sched_waking" : o.stage === "wakeup" ? "sched_wakeup" : "sched_wakeup_new";
          this.emitGeneric(what, "", {
            pid: o.task,
            by: o.by === IDLE ? "idle" : o.by,
            ...(o.ctx !== "task" ? { ctx: o.ctxName } : {}),
            success: 0,
          });
          return;
        }
        // The kernel's wake event; the reducer's rule (wokenState) says what it does to the task's state.
        // Woken from an interrupt, the waker is the interrupt (by -1, named in the context), not the task it interrupted.
        const how = o.stage === "waking" ? HOW.waking : o.stage === "wakeup" ? HOW.wakeup : HOW["wakeup-new"];
        const by = o.ctx !== "task" ? IDLE : o.by;
        this.emit(KIND.wake, o.tid, o.task, by, how, wakeContext(o.ctx, o.ctxName));
        return;
      }
      case "fork": {
        if (s.threads.has(o.child)) {
          const t = s.threads.get(o.child)!;
          if (t.pid !== o.childPid) this.emit(KIND.taskJoin, o.parent, o.child, o.childPid, 0, "");
          return;
        }
        const thread = o.thread === true && s.procs.has(o.childPid) && o.childPid !== o.child;
        const pid = thread ? o.childPid : o.child;
        if (!thread && s.procs.has(pid)) {
          this.keep("a fork of a process whose pid is in use");
          return;
        }
        this.emit(KIND.taskFork, o.parent, o.child, pid, thread ? 1 : 0, o.comm);
        return;
      }
      case "exec": {
        if (!s.threads.has(o.task)) {
          this.keep("an exec of a task not known");
          return;
        }
        const old = o.oldTid !== o.task && s.threads.has(o.oldTid) ? o.oldTid : o.task;
        this.emit(KIND.taskExec, o.tid, o.task, old, 0, o.filename);
        return;
      }
      case "rename":
        if (s.threads.has(o.task)) this.emit(KIND.taskRename, o.tid, o.task, 0, 0, o.comm);
        else this.keep("a rename of a task not known");
        return;
      case "exit": {
        const t = s.threads.get(o.task);
        if (t === undefined) {
          this.keep("an exit of a task not known");
          return;
        }
        this.emit(KIND.threadExit, o.tid, o.task, 0, 0, "");
        const p = s.procs.get(t.pid);
        if (p === undefined || p.state !== "running") return;
        const last = o.groupDead ?? p.threads.every((x) => s.threads.get(x)?.state === "exited");
        if (last) this.emit(KIND.procExit, o.tid, p.pid, 0, 0, "");
        return;
      }
      case "free": {
        this.releaseDead = false;
        this.dead.length = 0;
        this.deadHead = 0;
        if (!s.threads.has(o.task)) {
          this.keep("a free of a task not known");
          return;
        }
        this.release(o.task);
        return;
      }
      case "wait":
        // The model's waitpid blocks the thread; in a real trace its switches say that.
        this.emit(KIND.generic, o.tid, 0, 0, 0, genericText("sched_process_wait", "", { pid: o.pid }));
        return;
      case "migrate":
        if (s.threads.has(o.task)) this.emit(KIND.migrate, o.tid, o.task, o.from, o.to, "");
        else this.keep("a migration of a task not known");
        return;
      case "irqEnter":
      case "irqExit":
      case "softirqEnter":
      case "softirqExit": {
        if (o.cpu < 0) {
          this.keep("an interrupt without a cpu");
          return;
        }
        const hard = o.op === "irqEnter" || o.op === "irqExit";
        const enter = o.op === "irqEnter" || o.op === "softirqEnter" ? 1 : 0;
        const num = hard ? (o as { irq: number }).irq : (o as { vec: number }).vec;
        const name =
          o.op === "irqEnter"
            ? o.name
            : o.op === "irqExit"
              ? o.handled
                ? "handled"
                : "unhandled"
              : (o as { action: string }).action;
        this.emit(KIND.cpuCtx, o.tid, hard ? 1 : 2, enter, num, name);
        return;
      }
      case "lockAcquire": {
        if (o.read) {
          this.emitGeneric("lock_acquire", "", { addr: o.lock, name: o.name, read: 1, ...(o.try ? { try: 1 } : {}) });
          return;
        }
        const t = s.threads.get(o.tid);
        if (t === undefined) {
          this.keep("a lock event of the idle task or of a task not known");
          return;
        }
        const id = this.lock(o.lock, o.name, "");
        if (id < 0) return;
        const l = s.locks.get(id)!;
        this.emit(
          KIND.lockAcquire,
          o.tid,
          id,
          l.owner === o.tid ? l.level + 1 : 1,
          o.inferred ? 1 : o.try ? TRYLOCK_ACQUIRE : 0,
          "",
        );
        return;
      }
      case "lockWait": {
        if (!s.threads.has(o.tid)) {
          this.keep("a lock event of the idle task or of a task not known");
          return;
        }
        const id = this.lock(o.lock, o.name, o.flags);
        if (id >= 0) this.emit(KIND.lockWait, o.tid, id, 2, 0, "");
        return;
      }
      case "lockWaitEnd": {
        // As its begin: the idle task's (its contention_begin was kept, so this lock's type is not known from it).
        if (!s.threads.has(o.tid)) {
          this.keep("a lock event of the idle task or of a task not known");
          return;
        }
        const id = this.lock(o.lock, "", "");
        if (id >= 0) this.emit(KIND.lockWaitEnd, o.tid, id, o.ret, 0, "");
        return;
      }
      case "lockRelease": {
        const id = o.held ? this.locks.get(o.lock) : undefined;
        const l = id === undefined ? undefined : s.locks.get(id);
        if (l === undefined || l.owner !== o.tid) {
          this.emitGeneric("lock_release", "", { addr: o.lock, name: o.name, held: 0 });
          return;
        }
        this.emit(KIND.lockRelease, o.tid, l.id, Math.max(0, l.level - 1), 0, "");
        return;
      }
      case "lost":
        this.emit(KIND.lost, o.tid, o.count, 0, 0, "");
        return;
      case "generic":
        this.emit(KIND.generic, o.tid, 0, 0, 0, genericText(o.name, o.system, o.fields));
        return;
    }
  }

  /** Queues a dead thread; releases the oldest dead ones while the state holds too many threads. */
  private evictDead(tid: number): void {
    this.dead.push(tid);
    const s = this.state;
    while (s.threads.size > this.keepThreads && this.deadHead < this.dead.length) {
      const t = s.threads.get(this.dead[this.deadHead++]!);
      if (t === undefined || t.state !== "exited") continue; // gone, or the tid runs again (reused)
      this.release(t.tid);
      this.onRelease?.(t.tid);
    }
    if (this.dead.length - this.deadHead > 2 * this.keepThreads + 64) {
      // Only threads still dead in the state can be released: the queue stays as long as they are many.
      const still = this.dead.slice(this.deadHead).filter((x) => s.threads.get(x)?.state === "exited");
      this.dead.length = 0;
      this.dead.push(...new Set(still));
      this.deadHead = 0;
    }
  }

  /** Drops a thread (thread-release), and its process with its last thread (reap). */
  private release(tid: number): void {
    const pid = this.state.threads.get(tid)!.pid;
    this.emit(KIND.threadRelease, this.o.tid, tid, 0, 0, "");
    const p = this.state.procs.get(pid);
    if (p !== undefined && p.threads.length === 0) this.emit(KIND.reap, this.o.tid, pid, 0, 0, "");
  }

  /** The id of the lock at `key` (an address, or a name), made with lock-new at first sight (a spinlock when `flags` says SPIN); -1 past MAX_IMPORT_LOCKS (the op is kept as generic). */
  private lock(key: string, name: string, flags: string): number {
    const id = this.locks.get(key);
    if (id !== undefined) return id;
    if (this.locks.size >= MAX_IMPORT_LOCKS) {
      this.keep(`events of locks beyond the first ${MAX_IMPORT_LOCKS}`);
      return -1;
    }
    const nid = this.state.nextLock;
    this.locks.set(key, nid);
    this.emit(KIND.lockNew, this.o.tid, nid, 0, /SPIN/.test(flags) ? 0 : 1, name || key);
    return nid;
  }

  /** Keeps the current op as a generic event, counted under `why`. */
  private keep(why: string): void {
    const k = this.keptWhy.get(why);
    if (k === undefined) this.keptWhy.set(why, { count: 1, firstLine: this.o.line });
    else k.count++;
    const { line: _l, ts: _t, cpu: _c, tid: _d, op, ...rest } = this.o as Op & Record<string, unknown>;
    this.emit(
      KIND.generic,
      this.o.tid,
      0,
      0,
      0,
      genericText(`${op} (not applied: ${why})`, "", rest as Record<string, FieldValue>),
    );
  }

  private emitGeneric(name: string, system: string, fields: Record<string, FieldValue>): void {
    this.emit(KIND.generic, this.o.tid, 0, 0, 0, genericText(name, system, fields));
  }

  /** Makes event seq (of the current op's time and cpu), applies it, hands it on. */
  private emit(kind: number, tid: number, a: number, b: number, c: number, str: string): void {
    const e = this.ev;
    const o = this.o;
    e.seq = this.seq++;
    // biome-ignore lint/complexity/useMathMinMax: a NaN time becomes 0 here, as Math.max would not
    e.time = o.ts > 0 ? o.ts : 0;
    e.cpu = o.cpu;
    e.tid = tid;
    e.kind = kind;
    e.a = a;
    e.b = b;
    e.c = c;
    e.s = str;
    applyEvent(this.state, e);
    this.kindCounts[kind]!++;
    this.sink(e, this.state);
  }
}

/**
 * Input text bytes (TraceInput.textBytes) below which importTierHints keeps op out
 * of the top tier: about 2.5M ftrace lines. Warm, op's top-tier code is a little
 * faster (~0.05 s of main-thread CPU per 1M events); its compile (~0.15-0.2 CPU s
 * once) is what a short import cannot earn back.
 */
export const TIER_HINT_BYTES = 256 << 20;

let hinted = false;

/**
 * Bun only (JavaScriptCore), once per process, for an input of less than
 * TIER_HINT_BYTES of text: keeps Converter.op out of the top tier (FTL). op
 * inlines every case's events and, through emit, the reducer's and the trace
 * writer's per-event code; its FTL compile is the largest of the import (59 KB of
 * machine code, about a sixth of the compilers' time at 1M events), which a short
 * import does not earn back (docs/IMPORT.md, "Seventh pass"). Likewise the mapper's
 * handlers of a process's life (Mapper.rareHandlers: a few percent of the events,
 * ~80 ms of FTL compiles at 1M events; "Tenth pass"). Nothing else changes: the
 * same code runs, the same bytes come out.
 */
export async function importTierHints(textBytes: number): Promise<void> {
  if (hinted || textBytes >= TIER_HINT_BYTES || typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return;
  hinted = true;
  const name = "bun:jsc"; // (not a module tsc, Node or Deno knows)
  try {
    const jsc = (await import(name)) as { noFTL?: (f: unknown) => unknown };
    jsc.noFTL?.(Converter.prototype.op);
    for (const f of Mapper.rareHandlers()) jsc.noFTL?.(f);
  } catch {
    // another runtime, or a Bun without it: no hint
  }
}
