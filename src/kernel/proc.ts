// Process lifecycle: fork, posix_spawn, execve, pthread_create, exit and
// exit_group, the last thread's teardown, waitpid and reaping, and abort.
//
// Each system call is a kernel path: a kernel frame of steps (Micro) pushed on
// the calling thread, one event per step, not preempted (other cpus run
// between its steps). A thread killed by exit_group or exec while in a kernel
// path exits at its next return to user mode (interp.ts).

import { emptyCache } from "./alloc.ts";
import { childrenOf, locksIn, varsIn } from "./apply.ts";
import {
  AGAIN,
  DONE,
  type Frame,
  KEEP,
  type Micro,
  newPCtx,
  pushKernel,
  type R,
  STALL,
  type TCtx,
  userFrame,
  withExit,
} from "./ctx.ts";
import { ev } from "./events.ts";
import { closeAll } from "./fd.ts";
import { acquire, release, robustDeath } from "./locks.ts";
import { setRet, value } from "./mem.ts";
import { COST, FIRST_PID } from "./params.ts";
import type { Op } from "./program.ts";
import { send } from "./signal.ts";
import type { Simulator } from "./sim.ts";
import {
  ERRNO,
  HOW,
  KIND,
  type KState,
  OUTCOME_KINDS,
  type Proc,
  SCHED_POLICIES,
  SIG,
  SIG_ACTIONS,
  SIGNALS,
} from "./types.ts";
import { afterDeath, allocKstack, freeKstack } from "./vm.ts";

/** True while thread tid is some cpu's current thread. */
export function onCpu(k: Simulator, tid: number): boolean {
  for (const c of k.state.cpus) if (c.tid === tid) return true;
  return false;
}

/** Maps a kernel stack for a thread just created and queues it. Emits kstack-alloc. */
export function startThread(k: Simulator, t: TCtx, c: number, ntid: number): R {
  allocKstack(k, c, t.tid, ntid);
  k.rq.push(ntid);
  return DONE;
}

// ---- fork -------------------------------------------------------------------------

/**
 * fork() by t (op in frame f). Runs the atfork prepare handlers (in reverse
 * order of registration, user mode), then the kernel path: sys_fork (kwork),
 * the copy (fork; forkCopy), the child's stack and queueing, and the return
 * in the parent, which runs the parent handlers. The child's thread starts
 * with the child handlers, then `child`, then exit(0).
 */
export function fork(k: Simulator, t: TCtx, c: number, child: Op[], f: Frame, pidReg?: string): R {
  f.pc++;
  const handlers = k.procs.get(t.pid)!.atfork;
  let ctid = -1;
  // This fork's child: another thread of the process may fork before this one returns (lastChild is the process's).
  let cpid = -1;
  pushKernel(t, [
    (t2, c2) => {
      k.emitInert(c2, t2.tid, KIND.kwork, 0, 0, "sys_fork");
      k.cost(COST.kernel, c2);
      return DONE;
    },
    (t2, c2) => {
      ctid = forkCopy(k, t2, c2, child);
      cpid = k.procs.get(t2.pid)!.lastChild;
      return DONE;
    },
    (t2, c2) => startThread(k, t2, c2, ctid),
    (t2, c2) => {
      k.emitInert(c2, t2.tid, KIND.user, 0, 0, "fork() returns child pid");
      if (pidReg !== undefined) k.emit(c2, t2.tid, ev.regSet({ value: cpid, type: 0, reg: pidReg }));
      t2.frames[t2.frames.length - 1]!.pc++;
      if (handlers.length > 0) {
        const parent = handlers.flatMap((h) => h.parent);
        if (parent.length > 0) t2.frames.push(userFrame(parent, true));
      }
      return KEEP;
    },
  ]);
  if (handlers.length > 0) {
    const prepare = handlers
      .slice()
      .reverse()
      .flatMap((h) => h.prepare);
    if (prepare.length > 0) t.frames.push(userFrame(prepare, true));
  }
  k.emitInert(c, t.tid, KIND.user, 0, 0, "fork()");
  k.cost(COST.user, c);
  return KEEP;
}

/**
 * The copy: emits fork (applyEvent copies the address space's locks and the
 * forker's thread cache). The child gets the parent's atfork handlers and
 * lock names, and the forker's cache contents. Returns the child's tid.
 */
function forkCopy(k: Simulator, t: TCtx, c: number, child: Op[]): number {
  const pid = k.nextPid++;
  const ctid = k.nextTid++;
  k.emitSlots(c, t.tid, KIND.fork, t.pid, pid, ctid, ""); // pid, child, childTid
  k.cost(COST.kernel * 4, c);
  const parent = k.procs.get(t.pid)!;
  parent.lastChild = pid;
  const lockIds = new Map<string, number>();
  for (const l of locksIn(k.state, pid)) lockIds.set(l.name, l.id);
  const varIds = new Map<string, number>();
  for (const v of varsIn(k.state, pid)) varIds.set(v.name, v.id);
  const pc = newPCtx(pid, lockIds, varIds, parent.handlers.size > 0 ? new Map(parent.handlers) : undefined);
  pc.atfork = parent.atfork.slice();
  pc.parentTid = t.tid;
  k.procs.set(pid, pc);
  const frames: Frame[] = [userFrame(withExit(child))];
  if (parent.atfork.length > 0) {
    const childHandlers = parent.atfork.flatMap((h) => h.child);
    if (childHandlers.length > 0) frames.push(userFrame(childHandlers, true));
  }
  k.newCtx(ctid, pid, frames, t.tc.slice());
  return ctid;
}

// ---- spawn, exec, thread ---------------------------------------------------------------

/** posix_spawn(program): kwork, then spawn (a fresh address space) and the child's stack. */
export function spawn(k: Simulator, t: TCtx, c: number, program: string, child: Op[], f: Frame, pidReg?: string): R {
  f.pc++;
  k.emit(c, t.tid, ev.kwork({ label: "posix_spawn" }));
  let ctid = -1;
  let pid = -1;
  pushKernel(t, [
    (t2, c2) => {
      pid = k.nextPid++;
      ctid = k.nextTid++;
      k.emit(c2, t2.tid, ev.spawn({ pid: t2.pid, child: pid, childTid: ctid, program }));
      const pc = newPCtx(pid);
      pc.parentTid = t2.tid;
      k.procs.set(pid, pc);
      k.procs.get(t2.pid)!.lastChild = pid;
      k.newCtx(ctid, pid, [userFrame(withExit(child))], emptyCache());
      return DONE;
    },
    (t2, c2) => {
      const r = startThread(k, t2, c2, ctid);
      setRet(k, t2, c2, pidReg, pid);
      return r;
    },
  ]);
  return KEEP;
}

/**
 * execve(program): emits exec (applyEvent drops the user locks, thread
 * caches, and gives a new VMAR); the atfork handlers go; t runs `body` then
 * exit(0); every other thread of the process is killed.
 */
export function exec(k: Simulator, t: TCtx, c: number, program: string, body: Op[]): R {
  // Linux's exec walks the robust list as an exit does (exec_mm_release): kernel-memory ones stay behind, owner-died.
  robustDeath(k, c, t.tid, t.tid);
  k.emit(c, t.tid, ev.exec({ pid: t.pid, program }));
  const p = k.procs.get(t.pid)!;
  p.atfork = [];
  // Most are empty (a child execs before it takes a lock): clear() of an empty Map still costs.
  if (p.lockIds.size > 0) p.lockIds.clear();
  if (p.varIds.size > 0) p.varIds.clear();
  if (p.handlers.size > 0) p.handlers.clear();
  t.tc = emptyCache();
  t.cached = false;
  t.frames = [userFrame(withExit(body))];
  const steps = [...closeAll(k, t.pid, true), ...killOthers(k, t)];
  if (steps.length > 0) pushKernel(t, steps);
  return KEEP;
}

/**
 * pthread_create(body): thread-new, then the new thread's stack (and its
 * handle in `tid`, detach when asked); it runs body then pthread_exit.
 */
export function thread(k: Simulator, t: TCtx, op: Extract<Op, { op: "thread" }>, f: Frame): R {
  f.pc++;
  let ntid = -1;
  pushKernel(t, [
    (t2, c2) => {
      ntid = k.nextTid++;
      k.emitSlots(c2, t2.tid, KIND.threadNew, ntid, t2.pid, ntid, ""); // tid, pid, ident
      k.newCtx(ntid, t2.pid, [userFrame(k.threadProgram(op.body))], emptyCache());
      k.handles.set(ntid, {
        pid: t2.pid,
        detached: op.detached === true,
        joined: false,
        exited: false,
        code: 0,
        joiner: -1,
      });
      return DONE;
    },
    (t2, c2) => {
      if (op.prio !== undefined || op.policy !== undefined) {
        k.emit(
          c2,
          t2.tid,
          ev.schedSet({ tid: ntid, prio: op.prio ?? 0, policy: SCHED_POLICIES.indexOf(op.policy ?? "other") }),
        );
      }
      const r = startThread(k, t2, c2, ntid);
      if (op.detached) k.emit(c2, t2.tid, ev.detach({ tid: ntid }));
      setRet(k, t2, c2, op.tid, ntid);
      return r;
    },
  ]);
  return AGAIN;
}

// ---- join, detach -------------------------------------------------------------------------

/** Joined threads remembered to answer a second pthread_join with EINVAL (the oldest forgotten first: then ESRCH). */
export const JOINED_KEPT = 256;

/** What a thread handle of a process (from pthread_create) says: the simulator's pthread structs. */
export interface ThreadHandle {
  pid: number;
  detached: boolean;
  joined: boolean;
  exited: boolean;
  code: number;
  /** The thread blocked joining it, -1 for none. */
  joiner: number;
}

/** pthread_join / detach's check of a handle: 0 when usable, else the error POSIX gives. */
function handleError(k: Simulator, t: TCtx, tid: number, join: boolean): number {
  if (join && tid === t.tid) return ERRNO.EDEADLK;
  const h = k.handles.get(tid);
  if (h === undefined && k.joined.has(tid)) return ERRNO.EINVAL;
  if (h === undefined || h.pid !== t.pid) return ERRNO.ESRCH;
  if (h.detached || h.joined) return ERRNO.EINVAL;
  return 0;
}

/**
 * pthread_join(tid): the thread has exited: join (its handle is used up),
 * `ret` 0 and `status` its code. Still running: join-wait (blocked; its exit
 * wakes the joiner, which checks again). A bad handle: errno and `ret`.
 */
export function join(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "join" }>): R {
  const tid = value(k, t, c, false, op.tid);
  if (tid === null) return KEEP;
  const waiting = k.state.threads.get(t.tid)?.waitOn;
  const again = waiting?.what === "join" && waiting.id === tid;
  const bad = again ? 0 : handleError(k, t, tid, true);
  const h = k.handles.get(tid);
  // A second thread joining the same one: EINVAL (POSIX leaves it undefined; glibc may hang).
  const j = h !== undefined && h.joiner >= 0 && h.joiner !== t.tid ? k.state.threads.get(h.joiner) : undefined;
  const other = !again && j !== undefined && j.state === "blocked" && j.waitOn?.what === "join" && j.waitOn.id === tid;
  if (bad !== 0 || other) {
    const code = bad || ERRNO.EINVAL;
    k.emit(c, t.tid, ev.errno({ errno: code, obj: tid, call: `pthread_join(tid ${tid})` }));
    k.cost(COST.kernel, c);
    setRet(k, t, c, op.ret, code);
    return DONE;
  }
  if (!h!.exited) {
    k.emit(c, t.tid, ev.joinWait({ tid }));
    k.cost(COST.kernel, c);
    h!.joiner = t.tid;
    return KEEP;
  }
  // Its pthread struct is gone: remembered only to answer a second join (EINVAL), for the last JOINED_KEPT.
  k.handles.delete(tid);
  k.joined.add(tid);
  if (k.joined.size > JOINED_KEPT) k.joined.delete(k.joined.values().next().value!);
  k.emit(c, t.tid, ev.join({ tid, code: h!.code }));
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.ret, 0);
  setRet(k, t, c, op.status, h!.code);
  return DONE;
}

/** pthread_detach(tid): detach, or errno (ESRCH, EINVAL). An exited thread's handle is freed. */
export function detach(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "detach" }>): R {
  const tid = value(k, t, c, false, op.tid);
  if (tid === null) return KEEP;
  const bad = handleError(k, t, tid, false);
  if (bad !== 0) {
    k.emit(c, t.tid, ev.errno({ errno: bad, obj: tid, call: `pthread_detach(tid ${tid})` }));
    setRet(k, t, c, op.ret, bad);
    return DONE;
  }
  k.handles.get(tid)!.detached = true;
  k.emit(c, t.tid, ev.detach({ tid }));
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.ret, 0);
  return DONE;
}

/** After thread tid's thread-exit: its handle records the code, and a thread blocked joining it wakes (wake, how join). */
export function exited(k: Simulator, cpu: number, actor: number, tid: number, code: number): void {
  const h = k.handles.get(tid);
  if (h === undefined) return;
  h.exited = true;
  h.code = code;
  if (h.detached) k.handles.delete(tid);
  const th = h.joiner >= 0 ? k.state.threads.get(h.joiner) : undefined;
  if (th !== undefined && th.state === "blocked" && th.waitOn?.what === "join" && th.waitOn.id === tid) {
    k.emit(cpu, actor, ev.wake({ tid: th.tid, by: tid, how: HOW.join, context: "" }));
  }
}

/** The handles of pid's threads go with the process (nobody can join them any more). */
export function dropHandles(k: Simulator, pid: number): void {
  if (k.handles.size === 0) return;
  for (const [tid, h] of k.handles) if (h.pid === pid) k.handles.delete(tid);
}

// ---- exit ---------------------------------------------------------------------------

/**
 * exit_group / exec kill every other thread of t's process. Each victim in
 * user mode (running, runnable, or waiting on a user lock or in waitpid:
 * killable waits) exits at once, by the steps returned here; one inside a
 * kernel path is flagged and exits at its next return to user mode (the
 * check in runThread). A victim still on a cpu leaves it at that cpu's next
 * turn, which frees its stack (afterDeath via switchAway); one off the cpus
 * has its stack freed here.
 */
export function killOthers(k: Simulator, t: TCtx): Micro[] {
  const p = k.state.procs.get(t.pid)!;
  const steps: Micro[] = [];
  for (const tid of p.threads) {
    const o = k.threads.get(tid);
    const th = k.state.threads.get(tid);
    if (tid === t.tid || !o || !th || th.state === "exited") continue;
    o.killed = true;
    steps.push((t2, c2) => {
      const v = k.state.threads.get(tid);
      const vo = k.threads.get(tid);
      const top = vo?.frames[vo.frames.length - 1];
      if (!v || !vo || v.state === "exited" || !vo.killed || top?.kernel) {
        k.emit(
          c2,
          t2.tid,
          ev.kwork({
            label: `kill tid ${tid}: ${!v || v.state === "exited" ? "already gone" : "exits on return to user mode"}`,
          }),
        );
        return DONE;
      }
      threadExits(k, c2, t2.tid, tid, k.procs.get(t2.pid)?.groupCode ?? 0);
      vo.killed = false;
      vo.frames = [];
      k.blocked.delete(tid);
      if (k.rq.includes(tid)) k.rq = k.rq.filter((x) => x !== tid);
      if (!onCpu(k, tid)) afterDeath(k, c2, v);
      return DONE;
    });
  }
  return steps;
}

/**
 * Thread tid dies with `code`, by `actor` on cpu c (itself, or the thread
 * that kills it): the robust mutexes it holds are marked owner-died
 * (robustDeath), then thread-exit; then the parent-death signals of the
 * processes it was the parent thread of (`armed`: orphans, read before the
 * exit, or before the last thread's reparent), sent by tid. Every
 * thread-exit of the simulator is this one.
 */
function threadExits(
  k: Simulator,
  c: number,
  actor: number,
  tid: number,
  code: number,
  armed: readonly [number, number][] = orphans(k, tid),
): void {
  robustDeath(k, c, actor, tid);
  k.emitSlots(c, actor, KIND.threadExit, tid, code, 0, ""); // tid, code
  parentDied(k, c, tid, armed);
}

// ---- PR_SET_PDEATHSIG ---------------------------------------------------------------------

/**
 * The thread a process's parent-death signal is tied to (Linux's
 * real_parent): the thread that forked it while that thread lives; after
 * its exit, the first live thread of the parent process (forget_original_parent
 * hands the children to find_alive_thread's pick, which stays the first
 * live one until it exits: new threads are added last); -1 when the parent
 * process has none (it is exiting, or gone).
 */
function parentThread(k: Simulator, p: Proc): number {
  const forker = k.procs.get(p.pid)?.parentTid ?? -1;
  const ft = forker >= 0 ? k.state.threads.get(forker) : undefined;
  if (ft !== undefined && ft.state !== "exited") return forker;
  const parent = k.state.procs.get(p.ppid);
  if (parent === undefined || parent.state !== "running") return -1;
  for (const x of parent.threads) if (k.state.threads.get(x)?.state !== "exited") return x;
  return -1;
}

/** No parent-death signal to send (shared: a thread's exit allocates nothing when none is armed). */
const NO_ORPHANS: readonly [number, number][] = [];

/**
 * What thread tid's exit sends: for each running process whose parent
 * thread is tid, each of its live threads' parent-death signal, as
 * [pid, sig] (forget_original_parent: group_send_sig_info of every child
 * thread's pdeath_signal, in thread order). Read before the exit; empty
 * when no thread ever set one.
 */
function orphans(k: Simulator, tid: number): readonly [number, number][] {
  if (!k.pdeathArmed) return NO_ORPHANS;
  const th = k.state.threads.get(tid);
  if (th === undefined) return NO_ORPHANS;
  const out: [number, number][] = [];
  for (const p of childrenOf(k.state, th.pid)) {
    if (p.state !== "running" || parentThread(k, p) !== tid) continue;
    for (const x of p.threads) {
      const ct = k.state.threads.get(x);
      if (ct !== undefined && ct.state !== "exited" && ct.pdeathSig !== undefined) out.push([p.pid, ct.pdeathSig]);
    }
  }
  return out;
}

/** After parent thread tid's exit: its children's parent-death signals (orphans), sent by tid (send: a signal event). */
function parentDied(k: Simulator, c: number, tid: number, armed: readonly [number, number][]): void {
  for (const [pid, sig] of armed) send(k, c, tid, pid, -1, sig);
}

/** exit(code): emits exit-group; every other thread is killed, then t exits (the last one tears down). */
export function exitGroup(k: Simulator, t: TCtx, c: number, code: number): R {
  const label = k.state.config.kstackFree === "deferred" ? "do_exit" : "exit_current_and_run_next";
  k.emitSlots(c, t.tid, KIND.exitGroup, t.pid, code, 0, label); // pid, code, label
  k.cost(COST.kernel, c);
  k.procs.get(t.pid)!.groupCode = code;
  const steps = killOthers(k, t);
  steps.push((t2, c2) => exitThread(k, t2, c2, code, true));
  t.frames = [];
  pushKernel(t, steps);
  return KEEP;
}

/**
 * The calling thread exits (thread-exit); if it is the last live thread of
 * its process, it runs the process teardown instead (a pthread_exit of the
 * last thread first says so with a kwork).
 */
export function exitThread(k: Simulator, t: TCtx, c: number, code: number, group: boolean): R {
  const p = k.state.procs.get(t.pid)!;
  let others = false;
  for (const x of p.threads) {
    if (x !== t.tid && k.state.threads.get(x)?.state !== "exited") {
      others = true;
      break;
    }
  }
  t.frames = [];
  if (others) {
    threadExits(k, c, t.tid, t.tid, code);
    return KEEP;
  }
  if (!group) {
    k.emitInert(c, t.tid, KIND.kwork, 0, 0, "last thread exits");
    k.cost(COST.kernel, c);
  }
  pushKernel(t, teardown(k, p.pid, code, t.tid));
  return group ? AGAIN : KEEP;
}

/**
 * The last thread's exit path, as kernel steps: take the VMAR lock, clear the
 * VMAR (vmar-clear), release; hand children to init (reparent); thread-exit;
 * proc-exit (zombie; waitpid wakes). With rCore's kstackFree rules it then
 * frees the process's threads' stacks and control blocks in the exit path
 * itself: `in-exit` every one, including the stack this exit runs on (the
 * bug); `at-reap` all but the main thread's and the runner's (PR 146).
 */
function teardown(k: Simulator, pid: number, code: number, runner: number): Micro[] {
  const cfg = k.state.config;
  const vmarLock = k.state.procs.get(pid)!.vmarLock;
  const kw =
    (label: string): Micro =>
    (t2, c2) => {
      k.emitInert(c2, t2.tid, KIND.kwork, 0, 0, label);
      k.cost(COST.kernel, c2);
      return DONE;
    };
  const steps: Micro[] = [];
  // Linux: init may not exit while the machine has other processes.
  if (pid === FIRST_PID) steps.push((t2, c2) => killInit(k, t2, c2, code));
  steps.push(
    (t2, c2) => acquire(k, t2, c2, vmarLock),
    (t2, c2) => {
      k.emitSlots(c2, t2.tid, KIND.vmarClear, pid, 0, 0, ""); // pid
      k.cost(COST.kernel, c2);
      return DONE;
    },
    (t2, c2) => release(k, t2, c2, k.state.locks.get(vmarLock)!),
  );
  // The descriptors are closed (waking readers of the pipes it held open).
  steps.push(...closeAll(k, pid, false));
  const hasChildren = () => childrenOf(k.state, pid).length > 0;
  // The last thread's children's parent-death signals (forget_original_parent), read before the reparent, sent after its thread-exit.
  let armed = NO_ORPHANS;
  steps.push((t2, c2) => {
    if (hasChildren() && pid !== FIRST_PID) {
      armed = orphans(k, t2.tid);
      k.emit(c2, t2.tid, ev.reparent({ pid, to: FIRST_PID }));
      // init reaps the zombies it adopted.
      reapOrphans(k, c2);
    } else k.emitInert(c2, t2.tid, KIND.kwork, 0, 0, "fd_table.clear()");
    return DONE;
  });
  steps.push((t2, c2) => {
    threadExits(k, c2, t2.tid, t2.tid, code, armed);
    return DONE;
  });
  steps.push((t2, c2) => {
    k.emitSlots(c2, t2.tid, KIND.procExit, pid, code, 0, ""); // pid, code
    dropHandles(k, pid);
    // SIGCHLD to the parent (dropped without an event when it ignores it, the default).
    const parent = k.state.procs.get(pid)?.ppid ?? 0;
    if (parent > 0) send(k, c2, t2.tid, parent, -1, SIG.SIGCHLD, true);
    return DONE;
  });
  if (cfg.kstackFree !== "deferred") {
    // rCore: process.tasks.clear() drops the control blocks; in-exit drops the running one too.
    const p = k.state.procs.get(pid)!;
    for (const tid of p.threads) {
      const main = tid === p.threads[0];
      // PR 146: the main thread's stack, and the stack this exit runs on, go at reap.
      if ((main || tid === runner) && cfg.kstackFree === "at-reap") continue;
      // PR 146 on a multiprocessor: a killed thread still leaving another cpu keeps its
      // stack and control block until reap, like the main thread (waitpid waits for it).
      const later = (x: number) => cfg.kstackFree === "at-reap" && x !== runner && onCpu(k, x);
      steps.push((t2, c2) => {
        const th = k.state.threads.get(tid);
        const s = th ? k.state.kstacks.get(th.kstack) : undefined;
        if (later(tid)) k.emit(c2, t2.tid, ev.kwork({ label: `task ${tid} still on a cpu: its stack goes at reap` }));
        else if (s && s.state === "mapped" && s.tid === tid) freeKstack(k, c2, t2.tid, s.id);
        else k.emit(c2, t2.tid, ev.kwork({ label: `drop(task ${tid})` }));
        return DONE;
      });
      // The explicit sfence.vma after unmapping (upstream: it made the bug hang).
      if (cfg.stackCheck === "flush")
        steps.push((t2, c2) => {
          k.emit(c2, t2.tid, ev.tlbFlush());
          return DONE;
        });
      if (!main) {
        steps.push((t2, c2) => {
          if (later(tid) || !k.state.threads.has(tid))
            k.emit(c2, t2.tid, ev.kwork({ label: `task ${tid} released at reap` }));
          else k.emit(c2, t2.tid, ev.threadRelease({ tid }));
          return DONE;
        });
      }
    }
    steps.push(kw("drop(process)"));
    steps.push(kw("TaskContext::zero_init() on the kernel stack"));
  }
  return steps;
}

/**
 * init (pid 1) exits: when other processes remain, the kernel panics as
 * Linux does ("Attempted to kill init!", with the exit status as
 * exitcode: code << 8, or the signal that killed it) and the run ends; when
 * it is the last process, the machine simply stops (the run's end).
 */
function killInit(k: Simulator, t: TCtx, c: number, code: number): R {
  const others = [...k.state.procs.values()].some((p) => p.pid !== FIRST_PID && p.state !== "reaped");
  if (!others) {
    t.frames[t.frames.length - 1]!.pc++;
    return AGAIN;
  }
  const status = code >= 128 ? code - 128 : code << 8;
  const msg = `Attempted to kill init! exitcode=0x${status.toString(16).padStart(8, "0")}`;
  k.emit(c, t.tid, ev.panic({ message: msg }));
  k.emit(c, -1, ev.end({ outcome: OUTCOME_KINDS.indexOf("panic"), message: msg }));
  return KEEP;
}

/**
 * Whether zombie p is reaped without its parent's waitpid: an orphan init
 * adopted (init reaps it), or the child of a parent that explicitly ignores
 * SIGCHLD (POSIX: its children are not turned into zombies).
 */
export function autoReaped(s: KState, p: Proc): boolean {
  if (p.state !== "zombie") return false;
  if (p.ppid === FIRST_PID && p.adoptedSeq !== undefined) return true;
  const parent = s.procs.get(p.ppid);
  return (
    parent !== undefined &&
    parent.sigActions?.some(([sig, a]) => sig === SIG.SIGCHLD && SIG_ACTIONS[a] === "ignore") === true
  );
}

/**
 * Queues on cpu c the reaping of the zombies reaped without a waitpid
 * (autoReaped) whose threads have left the cpus: reap events by no thread
 * (init's wait, or the kernel's own), each after freeing the stacks left
 * under rCore's at-reap rule.
 */
export function reapOrphans(k: Simulator, c: number): void {
  k.pending[c]!.push(() => {
    for (const p of [...k.state.procs.values()]) {
      if (!autoReaped(k.state, p)) continue;
      if (p.threads.some((tid) => onCpu(k, tid))) continue;
      if (k.state.config.kstackFree === "at-reap") {
        for (const tid of p.threads) {
          const th = k.state.threads.get(tid);
          const s = th ? k.state.kstacks.get(th.kstack) : undefined;
          if (s && s.state === "mapped" && s.tid === tid) freeKstack(k, c, -1, s.id);
        }
      }
      reap(k, c, -1, p.pid);
    }
  });
}

/** A fatal error: emits fatal (SIGABRT unless told), then the whole process exits with 128 + signal. */
export function abort(k: Simulator, t: TCtx, c: number, msg: string, signal = 6): R {
  k.emit(c, t.tid, ev.fatal({ pid: t.pid, signal, message: msg }));
  t.frames = [];
  pushKernel(t, [(t2, c2) => exitGroup(k, t2, c2, 128 + signal)]);
  return KEEP;
}

/**
 * prctl(PR_SET_PDEATHSIG, sig): the calling thread's parent-death signal
 * (pdeathsig; 0 clears it); a signal not modelled: EINVAL (errno).
 */
export function pdeathsigOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "setPdeathsig" }>): R {
  const sig = op.sig as number;
  if (sig !== 0 && SIGNALS[sig] === undefined) {
    k.emit(c, t.tid, ev.errno({ errno: ERRNO.EINVAL, obj: sig, call: `prctl(PR_SET_PDEATHSIG, ${sig})` }));
    k.cost(COST.kernel, c);
    setRet(k, t, c, op.ret, ERRNO.EINVAL);
    return DONE;
  }
  if (sig !== 0) k.pdeathArmed = true;
  k.emit(c, t.tid, ev.pdeathsig({ sig }));
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.ret, 0);
  return DONE;
}

/** getpid() / getppid(): the process's pid or its parent's (the state's ppid: init's once adopted) into reg (reg-set). */
export function getpidOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "getpid" }>): R {
  const v = op.parent ? (k.state.procs.get(t.pid)?.ppid ?? 0) : t.pid;
  k.emit(c, t.tid, ev.regSet({ value: v, type: 0, reg: op.reg }));
  k.cost(COST.kernel, c);
  return DONE;
}

// ---- wait ------------------------------------------------------------------------------

/**
 * waitpid for the last child (`child`), any child (`any`) or the child with
 * the pid `op.pid` evaluates to (`pid`). No such child: ECHILD (a user event
 * for the old forms, as traces before issue 11 have it; errno and -ECHILD in
 * `ret` for the others), DONE. The child not yet a zombie: with WNOHANG, 0
 * in `ret`, DONE; else wait-block, the op stays (proc-exit wakes the thread
 * and it retries). A zombie: STALL while its last thread is still leaving a
 * cpu; under rCore's at-reap rule first free the stacks left (one kstack-free
 * per step); then reap, `ret` its pid and `status` its code, DONE.
 */
export function waitpid(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "waitpid" }>): R {
  const which = op.which;
  if (t.blockedAt >= 0 && interrupted(k, t, c, op)) return DONE;
  const pc = k.procs.get(t.pid)!;
  let target = -1;
  let anyChild = false;
  let wanted = -1;
  if (which === "child" || which === "pid") {
    if (which === "pid") {
      const v = value(k, t, c, false, op.pid!);
      if (v === null) return KEEP;
      wanted = v;
    } else wanted = pc.lastChild;
    const p = k.state.procs.get(wanted);
    if (p && p.ppid === t.pid) {
      anyChild = true;
      target = p.pid;
    }
  } else {
    for (const p of k.state.procs.values()) {
      if (p.ppid !== t.pid) continue;
      anyChild = true;
      if (p.state === "zombie") {
        target = p.pid;
        break;
      }
    }
  }
  if (!anyChild) return noChild(k, t, c, op, wanted);
  const p = target >= 0 ? k.state.procs.get(target)! : undefined;
  if (p?.state !== "zombie") {
    if (op.nohang) return noZombie(k, t, c, op, target);
    k.emitSlots(c, t.tid, KIND.waitBlock, which === "any" ? -1 : target, 0, 0, ""); // pid
    t.blockedAt = k.state.seq;
    t.blockedUntil = -1;
    return KEEP;
  }
  // The zombie's last thread may still be finishing its exit on another cpu.
  for (const tid of p.threads) if (onCpu(k, tid)) return STALL;
  if (k.state.config.kstackFree === "at-reap") {
    for (const tid of p.threads) {
      const th = k.state.threads.get(tid);
      const s = th ? k.state.kstacks.get(th.kstack) : undefined;
      if (s && s.state === "mapped" && s.tid === tid) {
        freeKstack(k, c, t.tid, s.id);
        return KEEP;
      }
    }
  }
  const code = p.exitCode ?? 0;
  reap(k, c, t.tid, p.pid);
  setRet(k, t, c, op.ret, p.pid);
  setRet(k, t, c, op.status, code);
  return DONE;
}

// waitpid's rarer outcomes, out of its body (the optimizing JIT compiles waitpid once per run; these keep that compile small).

/** After a wait-block: true (EINTR, ret set) when a signal woke t and this form of waitpid reports it; clears blockedAt. */
function interrupted(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "waitpid" }>): boolean {
  // Woken: by a child's exit (look again), or by a signal (EINTR, after its handler).
  const w = k.state.threads.get(t.tid)?.woken;
  const at = t.blockedAt;
  t.blockedAt = -1;
  if (
    w !== undefined &&
    w.seq > at &&
    w.how === HOW.signal &&
    (op.ret !== undefined || op.status !== undefined || op.nohang !== undefined || op.which === "pid")
  ) {
    k.emit(c, t.tid, ev.errno({ errno: ERRNO.EINTR, obj: -1, call: "waitpid" }));
    setRet(k, t, c, op.ret, -ERRNO.EINTR);
    return true;
  }
  return false;
}

/** No such child: ECHILD (a user event for the old forms, errno and -ECHILD in ret for the others). */
function noChild(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "waitpid" }>, wanted: number): R {
  const which = op.which;
  const old = op.ret === undefined && op.status === undefined && op.nohang === undefined && which !== "pid";
  if (old) k.emit(c, t.tid, ev.user({ label: "waitpid: ECHILD" }));
  else {
    k.emit(c, t.tid, ev.errno({ errno: ERRNO.ECHILD, obj: wanted, call: `waitpid(${which === "any" ? -1 : wanted})` }));
    setRet(k, t, c, op.ret, -ERRNO.ECHILD);
  }
  return DONE;
}

/** WNOHANG and no zombie yet: 0 in ret. */
function noZombie(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "waitpid" }>, target: number): R {
  k.emit(c, t.tid, ev.kwork({ label: `waitpid(${op.which === "any" ? -1 : target}, WNOHANG): no child has exited` }));
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.ret, 0);
  return DONE;
}

/** Reaps zombie pid on behalf of tid (-1: init, for an orphan): reap; the simulator forgets its threads. */
export function reap(k: Simulator, c: number, tid: number, pid: number): void {
  const p = k.state.procs.get(pid)!;
  const main = p.threads[0];
  // The state drops its threads: a context still kept (the main thread's, forgotten below) no longer points at one.
  for (const x of p.threads) {
    const t = k.threads.get(x);
    if (t !== undefined) t.th = undefined;
  }
  k.emitSlots(c, tid, KIND.reap, pid, 0, 0, ""); // pid
  if (main !== undefined) k.threads.delete(main);
  k.procs.delete(pid);
}
