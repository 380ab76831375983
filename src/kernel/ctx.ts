// The simulator's own bookkeeping, shared by the subsystem files: per-thread
// interpreter frames, per-process user-space context, and the result codes
// of a step. None of this is kernel state (that is KState, changed only by
// applyEvent); it only decides which event comes next.

import type { LoweredWhile } from "./lower.ts";
import type { Expr, Op } from "./program.ts";
import type { Thread } from "./types.ts";

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
/** What a frame runs: ops, or (a kernel path pushed by pushKernel) the steps themselves. */
export type FrameOp = XOp | Micro;

export interface Frame {
  ops: readonly FrameOp[];
  /** The op code (OPC) of each op of `ops` (at least as long): what the interpreter switches on. */
  codes: Uint8Array;
  pc: number;
  /** Iterations left after this one (repeat frames). */
  left: number;
  /** Kernel path: no preemption inside, and a kill waits until it returns. */
  kernel: boolean;
}

export interface TCtx {
  tid: number;
  pid: number;
  /** Its process's context (procs.get(pid), kept: a thread does not outlive its process's). */
  proc: PCtx;
  /**
   * Its kernel Thread (state.threads.get(tid), kept from its creation on);
   * undefined once the state dropped it (thread-release, reap: the simulator
   * clears it there), as the lookup would then answer.
   */
  th: Thread | undefined;
  /** Call stack; the last frame runs. */
  frames: Frame[];
  /** exit_group or exec killed this thread: it exits at its next return to user mode. */
  killed: boolean;
  /** Objects in this thread's tcmalloc cache, per size class. */
  tc: number[];
  /**
   * True once malloc found the thread's cache in its process's tcaches (it
   * stays there while the thread lives, until exec empties them; exec clears this).
   */
  cached: boolean;
  /** seq of the futex-wait (or sleep) it is blocked in or was woken from, -1 when none: the op resumes and reads how it was woken. */
  blockedAt: number;
  /** The virtual-time deadline of the wait at blockedAt (a sleep's, a timed futex wait's), -1 when none. */
  blockedUntil: number;
  /** The blockedAt of the last call a signal handler interrupted and returned to (its EINTR is due), -1 when none. */
  handledAt: number;
  /** Bytes the pipe write in progress wrote so far (a write of more than fits goes on in pieces: fd.ts), -1 when none. */
  wrote: number;
  /**
   * The deadline a restarted call keeps (-1: none): a call restarted after a
   * signal (signal.ts, restartCall) sleeps until its first deadline, not for
   * its whole duration again (Linux's restart_block).
   */
  restartUntil: number;
  /** The signals of the sigwait it is blocked in or was woken from (a bit per signal), 0 when none (signal.ts, inCall). */
  sigwaitSet: number;
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
  /** The thread that forked or spawned it (its real_parent; -1: a process of the world). */
  parentTid: number;
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
    parentTid: -1,
  };
}

// ---- op codes ----------------------------------------------------------------------

/**
 * The interpreter's code for each op, by its name: runThread (and step, for
 * the ops it leaves to it) switch on a small integer read from the frame (a
 * jump table), not on the op object's `op` string (ops come in many shapes:
 * reading their `op` is a megamorphic load, and a switch over strings a
 * chain of compares). OTHER: the rarer ops, which stepProc and stepOs still
 * switch on by name.
 */
export const OPC = {
  other: 0,
  run: 1,
  test: 2,
  repeat: 3,
  if: 4,
  while: 5,
  user: 6,
  lock: 7,
  unlock: 8,
  malloc: 9,
  free: 10,
  load: 11,
  store: 12,
  cas: 13,
  fetchAdd: 14,
  xchg: 15,
  set: 16,
  assert: 17,
  bugOn: 18,
  unwrap: 19,
  alloc: 20,
  dealloc: 21,
  use: 22,
  progress: 23,
  /** The op is a kernel step itself (a Micro: pushKernel's frames). */
  micro: 24,
} as const;

/** The code of each op name (`$`, `$test`, and the program ops that have one of their own). */
const CODE_BY_NAME = new Map<string, number>([
  ["$", OPC.run],
  ["$test", OPC.test],
  ...Object.entries(OPC).filter(([name]) => !["other", "run", "test", "micro"].includes(name)),
]);

const CODES = new WeakMap<readonly XOp[], Uint8Array>();

/** The codes of ops (cached per array: programs and kernel paths reuse theirs; `fresh`: an array made for one frame, not kept). */
export function codesOf(ops: readonly XOp[], fresh = false): Uint8Array {
  let codes = fresh ? undefined : CODES.get(ops);
  if (codes === undefined) {
    codes = new Uint8Array(ops.length);
    for (let i = 0; i < ops.length; i++) codes[i] = CODE_BY_NAME.get(ops[i]!.op) ?? OPC.other;
    if (!fresh) CODES.set(ops, codes);
  }
  return codes;
}

/** Codes for a frame of n kernel steps (pushKernel): one shared array, longer than most paths. */
let microCodes = new Uint8Array(64).fill(OPC.micro);
function microCodesFor(n: number): Uint8Array {
  if (n > microCodes.length) microCodes = new Uint8Array(2 * n).fill(OPC.micro);
  return microCodes;
}

/** A frame running `ops` once (then `left` more times); `fresh` as codesOf's. */
export function newFrame(ops: readonly XOp[], left: number, kernel: boolean, fresh = false): Frame {
  return { ops, codes: codesOf(ops, fresh), pc: 0, left, kernel };
}

/**
 * Runs `step` as the one op of a user frame pushed over the op in frame f
 * (library code: sync.ts's objects, sigsuspend): each call of step emits one
 * step's events and returns KEEP (more to do), DONE (finished), STALL
 * (spinning); AGAIN is not allowed (step loops itself until it emits).
 */
export function library(t: TCtx, f: Frame, step: (t2: TCtx, c2: number) => R): R {
  f.pc++;
  t.frames.push(userFrame([{ op: "$", run: step }], true));
  return AGAIN;
}

/** A user-mode frame running `ops` once; `fresh` as codesOf's. */
export function userFrame(ops: readonly XOp[], fresh = false): Frame {
  return newFrame(ops, 0, false, fresh);
}

/** A frame running `ops` once (then `left` more times) in the mode of the frame that pushed it. */
export function frameIn(f: Frame, ops: readonly XOp[], left = 0, fresh = false): Frame {
  return newFrame(ops, left, f.kernel, fresh);
}

/** A kernel frame running `steps` in order (the frame holds the steps themselves: no op object per step). */
export function kernelFrame(steps: readonly Micro[]): Frame {
  return { ops: steps, codes: microCodesFor(steps.length), pc: 0, left: 0, kernel: true };
}

/** Appended to every process's main program: exit(0). */
export const EXIT0: Op[] = [{ op: "exit", code: 0 }];

/**
 * ops followed by tail, one array per ops kept in `cache` (a program runs as
 * the same array each time, so its op codes are made once): a process's
 * program and exit(0) (withExit), a thread's body and pthread_exit
 * (Simulator.threadProgram).
 */
export function followedBy(cache: WeakMap<readonly Op[], XOp[]>, ops: readonly Op[], tail: readonly XOp[]): XOp[] {
  let out = cache.get(ops);
  if (out === undefined) {
    out = [...ops, ...tail];
    cache.set(ops, out);
  }
  return out;
}

const EXITING = new WeakMap<readonly Op[], XOp[]>();

/** A process's program followed by exit(0) (followedBy). */
export function withExit(ops: readonly Op[]): XOp[] {
  return followedBy(EXITING, ops, EXIT0);
}

/** Pushes a kernel path: its steps run in order, without preemption (the array is the frame's: not changed after). */
export function pushKernel(t: TCtx, steps: Micro[]): void {
  t.frames.push(kernelFrame(steps));
}

/** Skips the rest of the current kernel frame (an early return from a kernel path). */
export function leaveFrame(t: TCtx): R {
  const f = t.frames[t.frames.length - 1]!;
  f.pc = f.ops.length;
  return KEEP;
}

/** A scenario program that cannot run (bad op at run time). */
export class SimError extends Error {}
