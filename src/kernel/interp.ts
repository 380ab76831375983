// The op interpreter: runs a thread until it emits one step's events (or
// stalls). Control ops (repeat, if, while and its test, an empty user, a
// passing assert) are free; every other op is a step: it emits its event(s)
// and either completes (DONE: the pc advances), stays to retry or hands over
// to a frame it pushed (KEEP), pushes a frame or was free and the thread goes
// on at once (AGAIN), or finds nothing to do (STALL). Frames a frame pushes
// run in its mode (user, or kernel inside a system call). Under the tso
// memory model an op that is not a plain access, a register or a control op
// first drains the thread's store buffer, as a step of its own (tso.ts).

import * as alloc from "./alloc.ts";
import {
  AGAIN,
  DONE,
  type Frame,
  frameIn,
  KEEP,
  type Micro,
  newFrame,
  OPC,
  pushKernel,
  type R,
  SimError,
  type TCtx,
  type XOp,
} from "./ctx.ts";
import { ev } from "./events.ts";
import * as fd from "./fd.ts";
import * as futex from "./futex.ts";
import { consistentOp, lockId, lockOp, unlockOp } from "./locks.ts";
import type { LoweredWhile } from "./lower.ts";
import * as mem from "./mem.ts";
import { COST } from "./params.ts";
import * as proc from "./proc.ts";
import type { Op } from "./program.ts";
import * as signal from "./signal.ts";
import type { Simulator } from "./sim.ts";
import * as sync from "./sync.ts";
import { drainAll } from "./tso.ts";
import { KIND, SCHED_POLICIES } from "./types.ts";
import { procfsRead } from "./vm.ts";

/**
 * Runs thread t on cpu c for one step. A killed thread (exit_group, exec)
 * exits at the first op it reaches in user mode. Returns what the step did;
 * SimError when the thread runs out of program or loops without a step.
 */
export function runThread(k: Simulator, t: TCtx, c: number): R {
  for (let guard = 0; guard < 100_000; guard++) {
    const f = t.frames[t.frames.length - 1];
    if (!f) throw new SimError(`thread ${t.tid} ran out of program`);
    if (f.pc >= f.ops.length) {
      if (f.left > 0) {
        f.left--;
        f.pc = 0;
      } else t.frames.pop();
      continue;
    }
    // Killed by exit_group/exec: exit at the first return to user mode.
    if (t.killed && !f.kernel) {
      t.killed = false;
      t.frames = [newFrame(k.threadEnd, 0, true)];
      continue;
    }
    // tso: an op that is not a plain access, a register or a control op (and a signal's delivery) drains the store buffer first: that is the step.
    if (k.storeBuffers && t.th?.stores !== undefined && drainsFirst(f, k.sigPending > 0 || t.blockedAt >= 0)) {
      drainAll(k, c, t.th);
      k.cost(COST.user, c);
      return KEEP;
    }
    // A pending signal it does not block is delivered at its return to user mode (not while it retries a blocking call it was woken from).
    if (!f.kernel && (k.sigPending > 0 || t.blockedAt >= 0) && !signal.inCall(k.state, t)) {
      if (k.sigPending > 0 && signal.deliver(k, t, c)) return KEEP;
      // Woken from a call for a signal that no handler on this thread took: the call restarts (no EINTR).
      if (t.blockedAt >= 0 && t.handledAt !== t.blockedAt) signal.restartCall(t);
    }
    const op = f.ops[f.pc]!;
    let r: R;
    // On the op's code (ctx.ts's OPC), not its name: see there.
    switch (f.codes[f.pc]) {
      case OPC.micro:
        r = (op as Micro)(t, c);
        break;
      case OPC.run:
        r = (op as Extract<XOp, { op: "$" }>).run(t, c);
        break;
      case OPC.repeat: {
        const o = op as OpOf<"repeat">;
        f.pc++;
        if (o.n > 0 && o.body.length > 0) t.frames.push(frameIn(f, o.body, o.n - 1));
        continue;
      }
      case OPC.user:
        if ((op as OpOf<"user">).n === 0) {
          f.pc++;
          continue;
        }
        r = user(k, t, c, op as OpOf<"user">, f);
        break;
      // The other ops of a typical loop body, dispatched here once (not again in step's switch).
      case OPC.malloc:
        r = alloc.malloc(k, t, c, (op as OpOf<"malloc">).size, f);
        break;
      case OPC.free:
        r = alloc.free(k, t, c, (op as OpOf<"free">).size);
        break;
      case OPC.lock:
        r = lock(k, t, c, op as OpOf<"lock">);
        break;
      case OPC.unlock:
        r = unlock(k, t, c, op as OpOf<"unlock">);
        break;
      case OPC.if: {
        const o = op as OpOf<"if">;
        const yes = mem.test(k, t, c, f.kernel, o.cond);
        if (yes === null) return KEEP;
        f.pc++;
        const branch = yes ? o.then : o.else;
        if (branch.length > 0) t.frames.push(frameIn(f, branch));
        continue;
      }
      case OPC.while: {
        // One frame per loop: the condition's loads, the test, the body; `left` counts the iterations the bound still allows.
        f.pc++;
        const w = op as LoweredWhile;
        t.frames.push(frameIn(f, [...w.pre, { op: "$test", cond: w.cond }, ...w.body], w.max - 1, true));
        continue;
      }
      case OPC.test: {
        const yes = mem.test(k, t, c, f.kernel, (op as Extract<XOp, { op: "$test" }>).cond);
        if (yes === null) return KEEP;
        if (yes) f.pc++;
        else {
          f.pc = f.ops.length;
          f.left = 0;
        }
        continue;
      }
      default:
        r = step(k, t, c, op as Op, f);
    }
    if (r === AGAIN) continue;
    if (r === DONE) f.pc++;
    else if (k.sigPending > 0 && r === KEEP) signal.wakeForPending(k, t, c);
    return r;
  }
  throw new SimError(`thread ${t.tid} loops without doing anything (an empty repeat?)`);
}

/** The op of kind N. */
type OpOf<N extends Op["op"]> = Extract<Op, { op: N }>;

/** By op code (OPC), 1 for the ops that leave a tso store buffer as it is (tso.ts's rules): plain accesses, register, control and user steps. */
const KEEPS_BUFFER = new Uint8Array(32);
for (const c of [
  OPC.test,
  OPC.repeat,
  OPC.if,
  OPC.while,
  OPC.user,
  OPC.load,
  OPC.store,
  OPC.set,
  OPC.assert,
  OPC.bugOn,
  OPC.unwrap,
  OPC.use,
  OPC.progress,
])
  KEEPS_BUFFER[c] = 1;

/** Whether the op at f's pc drains the thread's store buffer before it runs (tso); `signal`: a signal may be delivered first (a kernel path). */
function drainsFirst(f: Frame, signal: boolean): boolean {
  if (signal && !f.kernel) return true;
  const code = f.codes[f.pc]!;
  // An atomic load or store is a plain mov on x86 (OPC.load, OPC.store): it keeps the buffer; a call is a user
  // step; a store fence (smp_wmb) orders the buffer without draining it.
  if (KEEPS_BUFFER[code] === 1) return false;
  if (code !== OPC.other) return true;
  const op = f.ops[f.pc] as Op;
  return op.op !== "call" && !(op.op === "fence" && op.kind === "store");
}

/** The ops step's own switch takes: the ones a loop body runs (the others go to stepProc, then stepOs). */
type HotOp =
  | "user"
  | "lock"
  | "unlock"
  | "malloc"
  | "free"
  | "load"
  | "store"
  | "cas"
  | "fetchAdd"
  | "xchg"
  | "set"
  | "assert"
  | "bugOn"
  | "unwrap"
  | "alloc"
  | "dealloc"
  | "use"
  | "progress"
  | "repeat"
  | "if"
  | "while";
/** The older ops stepProc's switch takes (process life, calls, procfs): run a few times per process. */
type ProcOp =
  | "call"
  | "restamp"
  | "atfork"
  | "fork"
  | "spawn"
  | "exec"
  | "thread"
  | "exit"
  | "waitpid"
  | "procfs"
  | "syscall";

/**
 * One op of a program (not repeat): what it emits and how the pc moves.
 * Kept to the ops a loop body runs: this function is compiled (and, as new
 * cases get taken, recompiled) by the optimizing JIT early in every run, and
 * its size is what each compile costs; the rarer ops are in stepProc and stepOs.
 */
function step(k: Simulator, t: TCtx, c: number, op: Op, f: Frame): R {
  switch (f.codes[f.pc]) {
    case OPC.load:
    case OPC.store:
    case OPC.cas:
    case OPC.fetchAdd:
    case OPC.xchg:
      return mem.access(k, t, c, f.kernel, op as OpOf<"load" | "store" | "cas" | "fetchAdd" | "xchg">);
    case OPC.set: {
      const o = op as OpOf<"set">;
      return mem.set(k, t, c, f.kernel, o.reg, o.value);
    }
    case OPC.assert:
    case OPC.bugOn: {
      const r =
        op.op === "assert"
          ? mem.assertOp(k, t, c, f.kernel, op.cond, op.message)
          : mem.bugOn(k, t, c, f.kernel, (op as OpOf<"bugOn">).cond, (op as OpOf<"bugOn">).where);
      if (r === AGAIN) f.pc++; // it held: no step
      return r;
    }
    case OPC.unwrap: {
      const o = op as OpOf<"unwrap">;
      return mem.unwrap(k, t, c, f.kernel, o.reg, o.value, o.at);
    }
    case OPC.alloc: {
      const o = op as OpOf<"alloc">;
      return mem.allocObj(k, t, c, f.kernel, o.reg, o.name);
    }
    case OPC.dealloc:
      return mem.deallocObj(k, t, c, f.kernel, (op as OpOf<"dealloc">).value);
    case OPC.use: {
      const o = op as OpOf<"use">;
      return mem.useObj(k, t, c, f.kernel, o.value, o.label);
    }
    case OPC.progress:
      k.emit(c, t.tid, ev.progress({ label: (op as OpOf<"progress">).label }));
      k.cost(COST.user, c);
      return DONE;
    case OPC.other:
      return stepProc(k, t, c, op as Exclude<Op, { op: HotOp }>, f);
    default:
      throw new SimError(`${op.op} is handled by the interpreter loop`);
  }
}

/** lock(name): the lock's id (created on first use: lock-new, and the op retries), then lockOp. */
function lock(k: Simulator, t: TCtx, c: number, op: OpOf<"lock">): R {
  const id = lockId(k, t, c, op.lock, op.of);
  return id < 0 ? KEEP : lockOp(k, t, c, id, op.ret);
}

/** unlock(name), as lock(). */
function unlock(k: Simulator, t: TCtx, c: number, op: OpOf<"unlock">): R {
  const id = lockId(k, t, c, op.lock, op.of);
  if (id < 0) return KEEP;
  return unlockOp(k, t, c, k.state.locks.get(id)!, op.ret);
}

/** A user op of n ≥ 1 steps: its first step (user), the rest in a frame of their own. */
function user(k: Simulator, t: TCtx, c: number, op: OpOf<"user">, f: Frame): R {
  k.emitInert(c, t.tid, KIND.user, 0, 0, op.label);
  k.cost(COST.user, c);
  if (op.n > 1) {
    f.pc++;
    t.frames.push(frameIn(f, userOnce(op), op.n - 2));
    return KEEP;
  }
  return DONE;
}

const ONCE = new WeakMap<OpOf<"user">, XOp[]>();

/** The frame body that runs the rest of a user op of n steps (one step, n - 1 times): one array per op. */
function userOnce(op: OpOf<"user">): XOp[] {
  let ops = ONCE.get(op);
  if (ops === undefined) {
    ops = [{ op: "user", label: op.label, n: 1 }];
    ONCE.set(op, ops);
  }
  return ops;
}

/** The ops of ProcOp: process life (fork, spawn, exec, thread, exit, waitpid), calls, restamp, procfs. */
function stepProc(k: Simulator, t: TCtx, c: number, op: Exclude<Op, { op: HotOp }>, f: Frame): R {
  const tid = t.tid;
  switch (op.op) {
    case "call":
      k.emitInert(c, tid, KIND.user, 0, 0, op.name);
      k.cost(COST.user, c);
      f.pc++;
      if (op.body.length > 0) t.frames.push(frameIn(f, op.body));
      return KEEP;
    case "restamp": {
      const id = lockId(k, t, c, op.lock, undefined);
      if (id < 0) return KEEP;
      if (k.state.locks.get(id)!.owner < 0) {
        k.emit(c, tid, ev.user({ label: `restamp: ${op.lock} is not held` }));
        return DONE;
      }
      k.emit(c, tid, ev.lockRestamp({ lock: id, ident: k.state.threads.get(tid)!.ident }));
      return DONE;
    }
    case "atfork":
      k.procs.get(t.pid)!.atfork.push({ prepare: op.prepare, parent: op.parent, child: op.child });
      k.emitInert(c, tid, KIND.user, 0, 0, "pthread_atfork");
      return DONE;
    case "fork":
      return proc.fork(k, t, c, op.child, f, op.pid);
    case "spawn":
      return proc.spawn(k, t, c, op.program, op.child, f, op.pid);
    case "exec":
      return proc.exec(k, t, c, op.program, op.body);
    case "thread":
      return proc.thread(k, t, op, f);
    case "exit":
      f.pc++;
      pushKernel(t, [(t2, c2) => proc.exitGroup(k, t2, c2, op.code)]);
      return AGAIN;
    case "waitpid":
      return proc.waitpid(k, t, c, op);
    case "procfs": {
      let pid = k.procs.get(t.pid)!.lastChild;
      if (op.pid !== undefined) {
        const v = mem.value(k, t, c, f.kernel, op.pid);
        if (v === null) return KEEP;
        pid = v;
      }
      f.pc++;
      pushKernel(t, procfsRead(k, pid, op.file));
      return AGAIN;
    }
    case "syscall":
      k.emit(c, tid, ev.kwork({ label: op.name }));
      k.cost(COST.kernel, c);
      f.pc++;
      if (op.body.length > 0) t.frames.push(newFrame(op.body, 0, true));
      return KEEP;
    default:
      return stepOs(k, t, c, op, f);
  }
}

/**
 * The ops of issue 11 (futexes and what is built on them, handles, signals,
 * descriptors, priorities), dispatched outside step's switch so that the
 * switch over the older, hotter ops stays as small as it was.
 */
function stepOs(k: Simulator, t: TCtx, c: number, op: Exclude<Op, { op: HotOp | ProcOp }>, f: Frame): R {
  const tid = t.tid;
  switch (op.op) {
    case "join":
      return proc.join(k, t, c, op);
    case "detach":
      return proc.detach(k, t, c, op);
    case "futexWait":
      return futex.futexWaitOp(k, t, c, f.kernel, op, f);
    case "futexWake":
      return futex.futexWakeOp(k, t, c, f.kernel, op);
    case "sleep":
      return futex.sleepOp(k, t, c, f.kernel, op, f);
    case "cvWait":
      return sync.cvWait(k, t, f, op);
    case "cvSignal":
      return sync.cvSignal(k, t, f, op);
    case "semWait":
      return sync.semWait(k, t, f, op);
    case "semPost":
      return sync.semPost(k, t, f, op);
    case "rwLock":
      return sync.rwLock(k, t, f, op);
    case "rwUnlock":
      return sync.rwUnlock(k, t, f, op);
    case "trylock":
      return sync.trylock(k, t, c, op);
    case "consistent": {
      const id = lockId(k, t, c, op.lock);
      return id < 0 ? KEEP : consistentOp(k, t, c, k.state.locks.get(id)!, op.ret);
    }
    case "kill":
    case "tkill":
      return signal.killOp(k, t, c, op);
    case "sigaction":
      return signal.sigactionOp(k, t, c, op);
    case "sigmask":
      return signal.sigmaskOp(k, t, c, op);
    case "pause":
      return fd.pauseOp(k, t, c, f);
    case "sigwait":
      return signal.sigwaitOp(k, t, c, op);
    case "sigsuspend":
      return signal.sigsuspendOp(k, t, f, op);
    case "setPdeathsig":
      return proc.pdeathsigOp(k, t, c, op);
    case "getpid":
      return proc.getpidOp(k, t, c, op);
    case "pipe":
      return fd.pipeOp(k, t, c, op);
    case "close":
      return fd.closeOp(k, t, c, op);
    case "dup":
      return fd.dupOp(k, t, c, op);
    case "fcntl":
      return fd.fcntlOp(k, t, c, op);
    case "write":
      return fd.writeOp(k, t, c, op, f);
    case "read":
      return fd.readOp(k, t, c, op);
    case "fence":
      // tso, pso: runThread drained the buffer before a full fence (drainsFirst); the fence is the step after.
      // A store fence keeps the buffer: the fold puts the barrier in it (tso.ts's storeBarrier).
      k.emit(c, tid, ev.fence({ store: op.kind === "store" ? 1 : 0 }));
      k.cost(COST.user, c);
      return DONE;
    case "setPriority":
      k.emit(c, tid, ev.schedSet({ tid, prio: op.prio, policy: SCHED_POLICIES.indexOf(op.policy) }));
      k.cost(COST.kernel, c);
      return DONE;
  }
}
