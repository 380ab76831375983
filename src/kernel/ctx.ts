// The simulator's own bookkeeping, shared by the subsystem files: per-thread
// interpreter frames, per-process user-space context, and the result codes
// of a step. None of this is kernel state (that is KState, changed only by
// applyEvent); it only decides which event comes next.

import type { LoweredWhile } from "./lower.ts";
import type { Expr, Op } from "./program.ts";

/** An event was emitted; the interpreter advances past the op. */
export const DONE = 0;
/** An event was emitted; the op stays (it retries) or moved the pc itself. */
export const KEEP = 1;
/** Nothing could happen (spinning on a held lock): the cpu's clock moves on. */
export const STALL = 2;
/** No event yet: the op pushed a frame or moved the pc; keep interpreting this thread. */
export const AGAIN = 3;
export type R = typeof DONE | typeof KEEP | typeof STALL | typeof AGAIN;

/** One step of a kernel path, run as an op of a kernel frame. */
export type Micro = (t: TCtx, cpu: number) => R;
/** What a frame holds: program ops, kernel steps ($), or a while loop's test ($test: leave the frame when cond is false). */
export type XOp = Op | { op: "$"; run: Micro } | { op: "$test"; cond: Expr } | LoweredWhile;

export interface Frame {
  ops: readonly XOp[];
  pc: number;
  /** Iterations left after this one (repeat frames). */
  left: number;
  /** Kernel path: no preemption inside, and a kill waits until it returns. */
  kernel: boolean;
}

export interface TCtx {
  tid: number;
  pid: number;
  /** Call stack; the last frame runs. */
  frames: Frame[];
  /** exit_group or exec killed this thread: it exits at its next return to user mode. */
  killed: boolean;
  /** Objects in this thread's tcmalloc cache, per size class. */
  tc: number[];
  /** seq of the futex-wait (or sleep) it is blocked in or was woken from, -1 when none: the op resumes and reads how it was woken. */
  blockedAt: number;
}

export interface PCtx {
  pid: number;
  /** pthread_atfork handlers, in registration order. */
  atfork: { prepare: Op[]; parent: Op[]; child: Op[] }[];
  /** Pid of the last child forked or spawned, -1 before any. */
  lastChild: number;
  /** User-space lock ids of this address space, by name. */
  lockIds: Map<string, number>;
  /** Ids of the "proc" locks in this process's kernel struct, by name. */
  fieldLocks: Map<string, number>;
  /** User variable ids of this address space, by name. */
  varIds: Map<string, number>;
  /** Ids of the "proc" variables (fields of this process's kernel struct), by name. */
  fieldIds: Map<string, number>;
  /** exit_group's code, for the thread that turns out to be the last. */
  groupCode: number;
  /** Signal handler programs (lowered), by signal number. */
  handlers: Map<number, Op[]>;
}

/** A process's context; fork hands the child copies of its parent's lock and variable names, and handlers. */
export function newPCtx(
  pid: number,
  lockIds = new Map<string, number>(),
  varIds = new Map<string, number>(),
  handlers = new Map<number, Op[]>(),
): PCtx {
  return {
    pid,
    atfork: [],
    lastChild: -1,
    lockIds,
    fieldLocks: new Map(),
    varIds,
    fieldIds: new Map(),
    groupCode: 0,
    handlers,
  };
}

/** A user-mode frame running `ops` once. */
export function userFrame(ops: readonly XOp[]): Frame {
  return { ops, pc: 0, left: 0, kernel: false };
}

/** A frame running `ops` once (then `left` more times) in the mode of the frame that pushed it. */
export function frameIn(f: Frame, ops: readonly XOp[], left = 0): Frame {
  return { ops, pc: 0, left, kernel: f.kernel };
}

/** Appended to every process's main program: exit(0). */
export const EXIT0: Op[] = [{ op: "exit", code: 0 }];

/** Pushes a kernel path: its steps run in order, without preemption. */
export function pushKernel(t: TCtx, steps: Micro[]): void {
  const ops: XOp[] = new Array(steps.length);
  for (let i = 0; i < steps.length; i++) ops[i] = { op: "$", run: steps[i]! };
  t.frames.push({ ops, pc: 0, left: 0, kernel: true });
}

/** Skips the rest of the current kernel frame (an early return from a kernel path). */
export function leaveFrame(t: TCtx): R {
  const f = t.frames[t.frames.length - 1]!;
  f.pc = f.ops.length;
  return KEEP;
}

/** A scenario program that cannot run (bad op at run time). */
export class SimError extends Error {}
