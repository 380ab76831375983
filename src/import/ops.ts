// Abstract kernel operations: what the mapping layer (map.ts) makes of the records.
//
// An op says what happened to kernel objects (tasks, CPUs, locks) in the terms of
// ktrace's model, not of the input's format: one op per thing that happened, task
// ids already resolved (idle is IDLE, not tid 0), the acting task known even when
// the format does not print it, processes resolved as far as the input allows.
// Turning ops into ktrace events is meant to be a thin layer: one op, one event (see
// docs/IMPORT.md for the table).

import type { FieldValue } from "./record.ts";

/** The idle task (tid 0 in the input; -1 in ktrace, like an idle CPU). */
export const IDLE = -1;

/**
 * A task's state as sched_switch's prev_state (or LTTng's task state) gives it.
 * `runnable`: R (preempted, still wants the CPU); `sleeping`: S; `blocked`: D
 * (uninterruptible); `idle`: I (a kernel thread waiting, D|N before v4.14);
 * `dead`/`zombie`: X and x / Z (exiting); `unknown`: a value no kernel version uses.
 */
export type TaskState =
  | "runnable"
  | "sleeping"
  | "blocked"
  | "stopped"
  | "traced"
  | "dead"
  | "zombie"
  | "parked"
  | "idle"
  | "unknown";

/**
 * How a task's process (its tgid) was learned:
 * `tgid`: printed with the event (ftrace's tgid column, perf's pid/tid, LTTng's pid context);
 * `clone`: task_newtask's clone_flags (CLONE_THREAD or not);
 * `fork`: LTTng's sched_process_fork child_pid;
 * `statedump`: LTTng's lttng_statedump_process_state;
 * `assumed`: nothing says: the task is taken as its own process (pid = tid).
 */
export type PidSource = "tgid" | "clone" | "fork" | "statedump" | "assumed";

/** What a CPU is doing when an op happens on it. */
export type CpuContext = "task" | "hardirq" | "softirq";

/** Fields every op has. */
export interface OpBase {
  /** Input line of the record that produced the op. */
  line: number;
  /** Time, as TraceRecord.ts. */
  ts: number;
  /** CPU, -1 when unknown. */
  cpu: number;
  /** Acting task: the task the event happened in, IDLE for the idle task or when unknown. */
  tid: number;
}

export type OpBody =
  /** First sight of a task (before any op that names it). `state` when the input says (statedump). */
  | {
      op: "task";
      task: number;
      pid: number;
      ppid: number;
      comm: string;
      source: PidSource;
      kthread?: boolean;
      state?: TaskState;
    }
  /** A task's process learned after its first sight (or changed): move it to process pid. */
  | { op: "join"; task: number; pid: number; source: PidSource }
  /** The CPU stops running `prev` (now in prevState) and runs `next`; IDLE for the idle task. */
  | { op: "switch"; prev: number; prevState: TaskState; prevStateText: string; next: number }
  /**
   * A wakeup of `task`. `waking` (sched_waking): requested, in the waker's context;
   * `wakeup`: the task is runnable (on targetCpu); `new`: a new task is runnable for the
   * first time. `by` is who woke it (the waker of the matching sched_waking when there
   * was one), `ctx` the CPU context it happened in (a hardirq or softirq, not `by`, did
   * it when not `task`). `success` false (old kernels) means the task was already awake.
   */
  | {
      op: "wake";
      task: number;
      stage: "waking" | "wakeup" | "new";
      by: number;
      ctx: CpuContext;
      ctxName: string;
      targetCpu: number;
      success: boolean;
    }
  /** `parent` creates `child`: a thread of the parent's process (`thread` true), a new process (false), or unknown (null). childPid is its process. */
  | { op: "fork"; parent: number; child: number; childPid: number; thread: boolean | null; comm: string }
  /** `task` runs a new program; oldTid differs when a non-leader thread exec'd and took the leader's tid. */
  | { op: "exec"; task: number; oldTid: number; filename: string; comm: string }
  | { op: "rename"; task: number; comm: string; oldComm: string }
  /** `task` exits; groupDead: it was the last thread of its process (null: the kernel did not say). */
  | { op: "exit"; task: number; groupDead: boolean | null }
  /** `task`'s task_struct is freed (after its parent reaped it, or at release for a thread). */
  | { op: "free"; task: number }
  /** The acting task waits for a child: pid, or 0/-1 for any. */
  | { op: "wait"; pid: number }
  | { op: "migrate"; task: number; from: number; to: number }
  | { op: "irqEnter"; irq: number; name: string }
  | { op: "irqExit"; irq: number; handled: boolean }
  | { op: "softirqEnter"; vec: number; action: string }
  | { op: "softirqExit"; vec: number; action: string }
  /**
   * The acting task holds `lock` (its address, or its name when the input has no
   * address) from now on. `inferred`: no event said so, the task's first event after
   * the owner released it did (lockdep without lock_acquired).
   */
  | { op: "lockAcquire"; lock: string; name: string; read: boolean; try: boolean; inferred: boolean }
  /**
   * The acting task waits for `lock`, held by `owner` (IDLE when unknown: lock:contention_begin
   * does not say). `source`: lockdep (lock_acquire of a held lock, lock_contended) or contention.
   */
  | { op: "lockWait"; lock: string; name: string; owner: number; source: "lockdep" | "contention"; flags: string }
  /** lock:contention_end: the wait is over (ret 0: the lock was taken; else the error). */
  | { op: "lockWaitEnd"; lock: string; ret: number }
  /** The acting task releases `lock`; `held` false: the mapper never saw it hold it (a read lock, or taken before the trace began). */
  | { op: "lockRelease"; lock: string; name: string; held: boolean }
  /** The tracer lost `count` events on this CPU here: state after it may be wrong. */
  | { op: "lost"; count: number }
  /** An event that folds into no state: kept with its name and fields. */
  | { op: "generic"; name: string; system: string; fields: Record<string, FieldValue> };

/** One abstract kernel operation. */
export type Op = OpBase & OpBody;
export type OpName = OpBody["op"];

/** Every op name, in the order of OpBody (the mapper counts ops by these). */
export const OP_NAMES = [
  "task",
  "join",
  "switch",
  "wake",
  "fork",
  "exec",
  "rename",
  "exit",
  "free",
  "wait",
  "migrate",
  "irqEnter",
  "irqExit",
  "softirqEnter",
  "softirqExit",
  "lockAcquire",
  "lockWait",
  "lockWaitEnd",
  "lockRelease",
  "lost",
  "generic",
] as const satisfies readonly OpName[];
// Every OpName is listed (a compile error here names the missing one).
const _allListed: Exclude<OpName, (typeof OP_NAMES)[number]> extends never ? true : never = true;
void _allListed;
