// Signals: per-process actions (default, ignore, a handler program), per-
// thread masks, pending sets, delivery at return to user mode.
//
// kill(pid, sig) makes a signal pending on the process, pthread_kill on one
// thread (a signal event; the kernel sends SIGCHLD at a child's exit and
// SIGPIPE at a write to a pipe nobody reads). A signal whose action is to
// ignore it (explicitly, or by default as SIGCHLD's) is dropped when sent,
// unless the target blocks it (Linux's sig_ignored). A pending signal is
// delivered to a thread that does not block it the next time that thread is
// about to run a user-mode step (the interpreter's check, runThread): the
// thread's own pending signals first, then the process's. A process-directed
// signal is sent for one thread (Linux's complete_signal), one that can take
// it soon (canTakeSoon): that thread takes it, another only when that one can
// no longer (takenBy). A thread asleep in
// an interruptible wait (a futex, a sleep, a pipe, waitpid) is woken for it
// (wake, how signal) and its call returns EINTR after the handler, or is
// restarted when the handler has SA_RESTART and the call is one Linux
// restarts (restartable); a call woken for a signal no handler on its thread
// took restarts (restartCall): only handlers make EINTR. A join or a wait
// for a user-space mutex is woken too, and waits again after the handler (as
// glibc's futex loops do); a wait for a kernel lock is not interrupted.
//
// Delivery (signal-deliver) runs the action: the default kills the process
// (exit code 128 + sig) or does nothing; a handler is a program pushed as a
// user frame on the interrupted thread, with the signal blocked while it
// runs, followed by sigreturn. So a handler runs on the interrupted thread's
// stack with whatever that thread holds: a handler that calls malloc while
// the code it interrupted is inside the allocator waits for a lock its own
// thread holds, for ever (the signal-safety invariant).
//
// sigwait(set) (sigtimedwait with a timeout) takes a pending signal of set
// off the pending set without running its action (signal-deliver, action
// sigwait), the thread's own first, then its process's; with none pending it
// waits (sigwait), and a signal of set sent to it or its process wakes it, as
// Linux's do_sigtimedwait unblocks set while it sleeps: for the choice of the
// thread a process-directed signal is for, a thread waiting in sigwait wants
// the signals it waits for (wants). The signals must be blocked in every
// thread: one a thread does not block may be chosen for that thread instead
// (the main thread first), whose action then runs there, and the sigwait
// waits on (the bug of a mask set after the threads were created).
//
// The rules both the simulator and the reducer apply are the first functions
// below (bit, actionOf, discarded).

import { DONE, type Frame, KEEP, library, pushKernel, type R, type TCtx, userFrame } from "./ctx.ts";
import { ev } from "./events.ts";
import { arm } from "./futex.ts";
import { setRet, value } from "./mem.ts";
import { COST, FIRST_PID } from "./params.ts";
import { exitGroup } from "./proc.ts";
import type { Op } from "./program.ts";
import type { Simulator } from "./sim.ts";
import {
  ERRNO,
  HOW,
  type KState,
  type PendingSignal,
  type Proc,
  SA_RESTART_HANDLER,
  SIG,
  SIG_ACTIONS,
  SIGNALS,
  type SigAction,
  sigActionOf,
  sigName,
  type Thread,
} from "./types.ts";

// ---- the rules ------------------------------------------------------------------------

/** A signal's bit in a mask. */
export function bit(sig: number): number {
  return sig >= 1 && sig <= 31 ? 1 << (sig - 1) : 0;
}

/** What process p does with sig now. */
export function actionOf(p: Proc, sig: number): SigAction {
  const a = p.sigActions?.find((x) => x[0] === sig);
  return a === undefined ? "default" : (sigActionOf(a[1]) ?? "default");
}

/** Whether p's handler for sig was installed with SA_RESTART. */
export function restarts(p: Proc, sig: number): boolean {
  return p.sigActions?.some((x) => x[0] === sig && x[1] === SA_RESTART_HANDLER) === true;
}

/**
 * Whether SA_RESTART restarts the call op (the op t was blocked in) after a
 * handler: as Linux, whose pipe read and write, wait4 and an untimed
 * futex_wait return -ERESTARTSYS; nanosleep, pause, a timed futex wait
 * (-ERESTART_RESTARTBLOCK, -ERESTARTNOHAND) and sem_wait return EINTR
 * whatever the flags (signal(7)).
 */
function restartable(op: unknown): boolean {
  if (typeof op !== "object" || op === null) return false;
  const o = op as { op?: string; timeout?: unknown };
  return o.op === "read" || o.op === "write" || o.op === "waitpid" || (o.op === "futexWait" && o.timeout === undefined);
}

/**
 * Whether sig's action in p ignores it: explicitly, or a default of "ign",
 * or any default in init (pid 1). Linux marks init SIGNAL_UNKILLABLE: a
 * signal it has no handler for is ignored (sig_task_ignored at the send,
 * get_signal at the delivery), SIGKILL included from inside its namespace,
 * so kill(1, SIGTERM) or a SIGPIPE at init's write to a pipe nobody reads
 * (EPIPE still) leaves it running. What kills init is its own exit, or a
 * fatal error (abort: the exit of 128 + signal).
 */
export function ignores(p: Proc, sig: number): boolean {
  const a = actionOf(p, sig);
  return a === "ignore" || (a === "default" && (SIGNALS[sig]?.default === "ign" || p.pid === FIRST_PID));
}

/** Why a signal is dropped at its send (dropOf). */
export type Drop = "not running" | "not modelled" | "init" | "ignored";

/**
 * Why a signal sent to p (to its thread th, or to the process) is dropped at
 * once, or null when it is not: the process is not running, the signal is
 * not modelled, or its action ignores it (by init's rule: "init") and the
 * target does not block it (the main thread for a process-directed one).
 */
export function dropOf(s: KState, p: Proc, th: Thread | undefined, sig: number): Drop | null {
  if (p.state !== "running") return "not running";
  if (SIGNALS[sig] === undefined) return "not modelled";
  if (!ignores(p, sig)) return null;
  const target = th ?? s.threads.get(p.threads[0] ?? -1);
  if (target && ((target.sigMask ?? 0) & bit(sig)) !== 0) return null;
  return actionOf(p, sig) === "default" && SIGNALS[sig]!.default !== "ign" ? "init" : "ignored";
}

/**
 * The pending signal a signal event (a: pid, b: sig, c: tid or -1) merged
 * into: one of its kind already pending on its target (the thread, or the
 * process) when it was sent, since a signal does not queue. Read in the
 * state just before or after the event; undefined when it did not merge
 * (or was dropped: dropOf).
 */
export function mergedInto(s: KState, e: { seq: number; a: number; b: number; c: number }): PendingSignal | undefined {
  const p = s.procs.get(e.a);
  if (p === undefined) return undefined;
  const th = e.c >= 0 ? s.threads.get(e.c) : undefined;
  if (dropOf(s, p, th, e.b) !== null) return undefined;
  return (th ? th.sigPending : p.sigPending)?.find((x) => x.sig === e.b && x.seq < e.seq);
}

/** Whether a signal sent to p (to its thread th, or to the process) is dropped at once (dropOf). */
export function discarded(s: KState, p: Proc, th: Thread | undefined, sig: number): boolean {
  return dropOf(s, p, th, sig) !== null;
}

/**
 * Whether a signal `by` sent to process pid is its parent-death signal
 * (prctl PR_SET_PDEATHSIG; proc.ts sends it): `by` has exited (the kernel
 * sends it from that thread's exit, after its thread-exit), a live thread of
 * pid set sig as its parent-death signal, and pid is not by's process's
 * parent (an exited thread's other signal: its process's SIGCHLD). Read in
 * any state from the send on, while pid's thread keeps the setting.
 */
export function pdeathSent(s: KState, by: number, pid: number, sig: number): boolean {
  const sender = by >= 0 ? s.threads.get(by) : undefined;
  const p = s.procs.get(pid);
  if (sender === undefined || sender.state !== "exited" || p === undefined) return false;
  if (s.procs.get(sender.pid)?.ppid === pid) return false;
  return p.threads.some((x) => {
    const t = s.threads.get(x);
    return t !== undefined && t.state !== "exited" && t.pdeathSig === sig;
  });
}

/** Signals pending anywhere (the interpreter checks for delivery only when some are). */
export function countPending(s: KState): number {
  let n = 0;
  for (const p of s.procs.values()) n += p.sigPending?.length ?? 0;
  for (const t of s.threads.values()) n += t.sigPending?.length ?? 0;
  return n;
}

/** The handler currently running on `tid` that began after it took lock `lockId`, when it holds it: a handler about to wait for its own thread. */
export function handlerRelock(s: KState, tid: number, lockId: number) {
  const t = s.threads.get(tid);
  const l = s.locks.get(lockId);
  if (!t?.handling?.length || !l || l.owner !== tid) return undefined;
  const h = t.handling[t.handling.length - 1]!;
  return l.since < h.at ? h : undefined;
}

// ---- sending -------------------------------------------------------------------------

/**
 * Waits a signal ends: a futex, a sleep, a pipe, waitpid (EINTR after a
 * handler, or restarted), and a join or a wait for a mutex in user memory:
 * glibc's futex wait under pthread_join and pthread_mutex_lock is woken for
 * the handler and waits again after it (neither call fails with EINTR: the
 * op runs again and waits again, lock-wait or join-wait). A wait for a
 * kernel lock goes on (mutex_lock sleeps TASK_UNINTERRUPTIBLE).
 */
export function interruptible(s: KState, th: Thread): boolean {
  if (th.state !== "blocked") return false;
  if (th.waitOn !== undefined) return true;
  if (th.waitLock >= 0) return (s.locks.get(th.waitLock)?.space ?? 0) > 0;
  return th.waitPid >= -1;
}

/**
 * Sends sig to process pid (thread tid, or -1 for the process) on behalf of
 * `actor` (-1: the kernel): a signal event, and a wake (how signal) of the
 * thread that will take it when it sleeps interruptibly. `quiet`: a signal
 * the kernel sends (SIGCHLD) is not even an event when it would be dropped.
 */
export function send(
  k: Simulator,
  c: number,
  actor: number,
  pid: number,
  tid: number,
  sig: number,
  quiet = false,
): void {
  const s = k.state;
  const p = s.procs.get(pid);
  if (!p) return;
  const th = tid >= 0 ? s.threads.get(tid) : undefined;
  const drop = discarded(s, p, th, sig);
  if (drop && quiet) return;
  k.emit(c, actor, ev.signal({ pid, sig, tid }));
  if (drop) return;
  const sent = s.seq;
  k.sigPending = countPending(s);
  let target = th;
  if (target === undefined) {
    // The first thread that can take it soon, else the first that does not block it.
    const live = p.threads.map((x) => s.threads.get(x)).filter((x) => x !== undefined && x.state !== "exited");
    const open = live.filter((x) => wants(x!, sig));
    target = open.find((x) => canTakeSoon(s, x!, sig)) ?? open[0];
  }
  // A process-directed signal newly pending is for `target` (takenBy).
  if (th === undefined && target !== undefined && p.sigPending?.some((x) => x.seq === sent)) {
    // Entries of signals no longer pending (their process exited with them) go now and then.
    if (k.sigTargets.size >= 4096) {
      const pending = new Set<number>();
      for (const q of s.procs.values()) for (const x of q.sigPending ?? []) pending.add(x.seq);
      for (const seq of [...k.sigTargets.keys()]) if (!pending.has(seq)) k.sigTargets.delete(seq);
    }
    k.sigTargets.set(sent, target.tid);
  }
  if (target && wants(target, sig) && interruptible(s, target)) {
    k.emit(c, actor, ev.wake({ tid: target.tid, by: actor, how: HOW.signal, context: sigName(sig) }));
  }
}

/** kill(pid, sig) or pthread_kill(tid, sig) (tkill: tid; the caller itself when absent). `ret` gets 0, ESRCH or EINVAL. */
export function killOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "kill" | "tkill" }>): R {
  const n =
    op.op === "kill" ? value(k, t, c, false, op.pid) : op.tid === undefined ? t.tid : value(k, t, c, false, op.tid);
  if (n === null) return KEEP;
  const sig = op.sig as number;
  const call = `${op.op === "kill" ? "kill" : "pthread_kill"}(${n}, ${sigName(sig)})`;
  const fail = (errno: number): R => {
    k.emit(c, t.tid, ev.errno({ errno, obj: n, call }));
    k.cost(COST.kernel, c);
    setRet(k, t, c, op.ret, errno);
    return DONE;
  };
  if (SIGNALS[sig] === undefined) return fail(ERRNO.EINVAL);
  let pid = n;
  let tid = -1;
  if (op.op === "tkill") {
    const th = k.state.threads.get(n);
    if (!th || th.state === "exited") return fail(ERRNO.ESRCH);
    pid = th.pid;
    tid = n;
  }
  const p = k.state.procs.get(pid);
  if (!p || p.state === "reaped") return fail(ERRNO.ESRCH);
  send(k, c, t.tid, pid, tid, sig);
  k.cost(COST.kernel, c);
  setRet(k, t, c, op.ret, 0);
  return DONE;
}

/** sigaction(sig, action): sigaction event; the handler program is kept for deliveries. SIGKILL, or a signal not modelled: EINVAL. */
export function sigactionOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "sigaction" }>): R {
  const sig = op.sig as number;
  if (SIGNALS[sig] === undefined || sig === SIG.SIGKILL) {
    k.emit(c, t.tid, ev.errno({ errno: ERRNO.EINVAL, obj: sig, call: `sigaction(${sigName(sig)})` }));
    setRet(k, t, c, op.ret, ERRNO.EINVAL);
    return DONE;
  }
  const pc = k.procs.get(t.pid)!;
  if (op.action === "handler")
    pc.handlers.set(sig, op.handler ?? []); // lowered with the program
  else pc.handlers.delete(sig);
  k.emit(
    c,
    t.tid,
    ev.sigaction({
      sig,
      action: op.action === "handler" && op.restart === true ? SA_RESTART_HANDLER : SIG_ACTIONS.indexOf(op.action),
      handler: op.action === "handler" ? (op.name ?? `${sigName(sig).toLowerCase()}_handler`) : "",
    }),
  );
  k.cost(COST.kernel, c);
  k.sigPending = countPending(k.state);
  setRet(k, t, c, op.ret, 0);
  return DONE;
}

/** sigprocmask / pthread_sigmask(how, sigs): sigmask with the new mask (SIGKILL cannot be blocked). */
export function sigmaskOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "sigmask" }>): R {
  const th = k.state.threads.get(t.tid)!;
  const set = maskOf(op.sigs);
  const old = th.sigMask ?? 0;
  const mask = op.how === "block" ? old | set : op.how === "unblock" ? old & ~set : set;
  k.emit(c, t.tid, ev.sigmask({ mask }));
  k.cost(COST.kernel, c);
  return DONE;
}

/** The mask of a list of signals (SIGKILL cannot be blocked). */
function maskOf(sigs: readonly (number | string)[]): number {
  let set = 0;
  for (const sig of sigs) set |= bit(sig as number);
  return set & ~bit(SIG.SIGKILL);
}

/**
 * sigsuspend(sigs): in one step the mask becomes sigs (sigmask) and the
 * thread waits for a signal (pause), so no signal can be taken between the
 * two; a pending one the new mask lets in ends the wait at once
 * (wakeForPending). The handler runs with that mask; back from it, the
 * thread's mask is what it was before the call (sigmask) and the call
 * fails with EINTR. Woken for a signal no handler on it took, it waits again
 * (restartCall), as Linux's sigsuspend returns only after a handler.
 */
export function sigsuspendOp(k: Simulator, t: TCtx, f: Frame, op: Extract<Op, { op: "sigsuspend" }>): R {
  let old = -1;
  return library(t, f, (t2, c2) => {
    if (old >= 0 && t2.blockedAt >= 0) {
      // Back from the handler that ended the wait.
      t2.blockedAt = -1;
      k.emit(c2, t2.tid, ev.sigmask({ mask: old }));
      k.cost(COST.kernel, c2);
      setRet(k, t2, c2, op.ret, ERRNO.EINTR);
      return DONE;
    }
    if (old < 0) {
      old = k.state.threads.get(t2.tid)?.sigMask ?? 0;
      k.emit(c2, t2.tid, ev.sigmask({ mask: maskOf(op.sigs) }));
    }
    k.emit(c2, t2.tid, ev.pause());
    k.cost(COST.kernel, c2);
    t2.blockedAt = k.state.seq;
    t2.blockedUntil = -1;
    return KEEP;
  });
}

/**
 * sigwait(sigs) / sigtimedwait (see the file comment). A pending signal of
 * sigs: signal-deliver (action sigwait), its number into `ret`. None: the
 * thread waits (sigwait; a timer at the timeout), and runs the op again when
 * woken: by a signal of sigs (send), which it takes whether or not it blocks
 * it (inCall: no handler runs first); by another signal it does not block,
 * whose handler runs first (the wait goes on after it, as glibc's sigwait
 * retries EINTR); or by its timer (errno EAGAIN, -EAGAIN into `ret`).
 */
export function sigwaitOp(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "sigwait" }>): R {
  const th = k.state.threads.get(t.tid)!;
  const set = maskOf(op.sigs);
  const timedOut =
    t.blockedAt >= 0 && th.woken !== undefined && th.woken.seq > t.blockedAt && th.woken.how === HOW.timer;
  t.blockedAt = -1;
  t.sigwaitSet = 0;
  const inSet = (x: PendingSignal) => (set & bit(x.sig)) !== 0;
  const pend = th.sigPending?.find(inSet) ?? k.state.procs.get(th.pid)?.sigPending?.find(inSet);
  if (pend !== undefined) {
    k.sigTargets.delete(pend.seq);
    k.emit(c, t.tid, ev.signalDeliver({ sig: pend.sig, action: SIGWAIT_TAKES, sent: pend.seq }));
    k.cost(COST.kernel, c);
    k.sigPending = countPending(k.state);
    t.restartUntil = -1;
    setRet(k, t, c, op.ret, pend.sig);
    return DONE;
  }
  if (timedOut) {
    k.emit(c, t.tid, ev.errno({ errno: ERRNO.EAGAIN, obj: set, call: `sigtimedwait(${sigList(set)})` }));
    k.cost(COST.kernel, c);
    setRet(k, t, c, op.ret, -ERRNO.EAGAIN);
    return DONE;
  }
  let until = t.restartUntil;
  t.restartUntil = -1;
  if (until < 0 && op.timeout !== undefined) {
    const ns = value(k, t, c, false, op.timeout);
    if (ns === null) return KEEP;
    until = k.now(c) + Math.max(1, ns);
  }
  k.emit(c, t.tid, ev.sigwait({ mask: set, until }));
  k.cost(COST.kernel, c);
  t.sigwaitSet = set;
  t.blockedAt = k.state.seq;
  t.blockedUntil = until;
  if (until >= 0) arm(k, t.tid, until, t.blockedAt);
  return KEEP;
}

/** signal-deliver's action when sigwait takes the signal (no action runs). */
export const SIGWAIT_TAKES = 3;

/** A set of signals by name: "SIGUSR1, SIGUSR2". */
export function sigList(mask: number): string {
  const names: string[] = [];
  for (let sig = 1; sig <= 31; sig++) if ((mask & bit(sig)) !== 0) names.push(sigName(sig));
  return names.join(", ");
}

// ---- delivery --------------------------------------------------------------------------

/**
 * Whether t is still inside a blocking call: woken from it by what it waited
 * for (a child's exit, a futex wake, a pipe's data, a timer), not by a
 * signal, it retries the call in the kernel before it returns to user mode.
 * A signal waits until then (Linux delivers at the return to user mode;
 * do_wait reaps the zombie that woke it before it looks at signal_pending).
 */
export function inCall(s: KState, t: TCtx): boolean {
  if (t.blockedAt < 0) return false;
  const th = s.threads.get(t.tid);
  const w = th?.woken;
  if (!(w !== undefined && w.seq > t.blockedAt && w.how === HOW.signal)) return true;
  // A sigwait woken by a signal of its set takes it itself, blocked or not, before any handler could run (Linux's
  // do_sigtimedwait unblocks the set while it sleeps and dequeues the signal on waking).
  return t.sigwaitSet !== 0 && th !== undefined && sigwaitPending(s, th, t.sigwaitSet);
}

/** Whether a signal of `set` is pending for th or its process. */
function sigwaitPending(s: KState, th: Thread, set: number): boolean {
  const mine = (x: PendingSignal) => (set & bit(x.sig)) !== 0;
  return th.sigPending?.some(mine) === true || s.procs.get(th.pid)?.sigPending?.some(mine) === true;
}

/**
 * After t's step: when the step put it to sleep interruptibly with a signal
 * it can take pending (a call retried after a wakeup that must wait again),
 * the signal ends the wait at once (wake, how signal), as Linux's check of
 * signal_pending before schedule() does; the call then returns EINTR after
 * the handler.
 */
export function wakeForPending(k: Simulator, t: TCtx, c: number): void {
  const th = k.state.threads.get(t.tid);
  if (th === undefined || !interruptible(k.state, th)) return;
  const pend = takenBy(k, th);
  if (pend !== undefined)
    k.emit(c, t.tid, ev.wake({ tid: t.tid, by: -1, how: HOW.signal, context: sigName(pend.sig) }));
}

/**
 * The pending signal th takes at its return to user mode, if any: its own
 * first, then its process's that it does not block and that were not sent
 * for another thread that can still take them. Linux's complete_signal picks
 * one thread for a process-directed signal and sets TIF_SIGPENDING on it
 * alone (signal_wake_up, which also wakes it from an interruptible wait):
 * that thread takes it, and a thread running elsewhere does not notice it;
 * only when the chosen one cannot (it exited, or blocked the signal since)
 * may another.
 */
function takenBy(k: Simulator, th: Thread): PendingSignal | undefined {
  const mask = th.sigMask ?? 0;
  const can = (x: PendingSignal) => (mask & bit(x.sig)) === 0 || x.sig === SIG.SIGKILL;
  const mine = th.sigPending?.find(can);
  if (mine) return mine;
  return k.state.procs.get(th.pid)?.sigPending?.find((x) => {
    if (!can(x)) return false;
    const tid = k.sigTargets.get(x.seq);
    if (tid === undefined || tid === th.tid) return true;
    const other = k.state.threads.get(tid);
    return other === undefined || !canTakeSoon(k.state, other, x.sig);
  });
}

/**
 * Whether thread x can take sig at its next return to user mode: it lives,
 * does not block sig, and is not asleep in a wait a signal does not end (a
 * kernel lock's), so that sending a signal for it, or leaving one to it,
 * does not hold the signal back for as long as that wait lasts.
 */
function canTakeSoon(s: KState, x: Thread, sig: number): boolean {
  return x.state !== "exited" && wants(x, sig) && (x.state !== "blocked" || interruptible(s, x));
}

/** Whether thread x takes sig when it comes: x does not block it, or x waits for it in sigwait. */
function wants(x: Thread, sig: number): boolean {
  return ((x.sigMask ?? 0) & bit(sig)) === 0 || sigwaits(x, sig);
}

/** Whether x waits in sigwait for sig. */
function sigwaits(x: Thread, sig: number): boolean {
  return x.state === "blocked" && x.waitOn?.what === "sigwait" && (x.waitOn.id & bit(sig)) !== 0;
}

/**
 * t was woken from an interruptible call for a signal and, back at its
 * return to user mode, has none to take (it went to another thread, or was
 * made ignored): no handler ran on t, so the call is restarted, as Linux
 * restarts a syscall that returned -ERESTARTSYS, -ERESTARTNOHAND or
 * -ERESTART_RESTARTBLOCK when no handler runs; a sleep or timed wait keeps
 * its deadline. Only handlers make EINTR. Not a pipe write that wrote part
 * of its bytes: it returns that count (Linux's pipe_write ends at a pending
 * signal with what it wrote), which writeOp does when it sees the wake.
 */
export function restartCall(t: TCtx): void {
  if (t.wrote > 0) return;
  t.restartUntil = t.blockedUntil;
  t.blockedAt = -1;
}

/**
 * At t's return to user mode: delivers one pending signal it does not block,
 * if any (signal-deliver), and runs its action; true when it did (the step
 * is taken). A handler runs as a user frame, then sigreturn; the interrupted
 * op resumes after it (a wait it was woken from returns EINTR).
 */
export function deliver(k: Simulator, t: TCtx, c: number): boolean {
  const s = k.state;
  const th = s.threads.get(t.tid);
  if (!th) return false;
  const pend = takenBy(k, th);
  if (pend === undefined) return false;
  k.sigTargets.delete(pend.seq);
  const p = s.procs.get(th.pid)!;
  const sig = pend.sig;
  const act = actionOf(p, sig);
  const handler = act === "handler" && sig !== SIG.SIGKILL ? k.procs.get(th.pid)?.handlers.get(sig) : undefined;
  const kills = handler === undefined && !ignores(p, sig);
  k.emit(c, t.tid, ev.signalDeliver({ sig, action: handler !== undefined ? 2 : kills ? 0 : 1, sent: pend.seq }));
  k.cost(COST.kernel, c);
  k.sigPending = countPending(s);
  if (handler !== undefined) {
    // A call the signal woke t from returns EINTR after the handler, or (SA_RESTART, a restartable call) runs again.
    const top = t.frames[t.frames.length - 1];
    // A pipe write that wrote part of its bytes is not restarted: it returns that count (pipe_write), after the handler.
    const saved =
      t.blockedAt >= 0 && restarts(p, sig) && t.wrote <= 0 && restartable(top?.ops[top.pc]) ? -1 : t.blockedAt;
    const wrote = t.wrote;
    t.blockedAt = -1;
    t.wrote = -1;
    t.frames.push(
      userFrame(
        [
          ...handler,
          {
            op: "$",
            run: (t2, c2) => {
              k.emit(c2, t2.tid, ev.sigreturn({ sig }));
              k.cost(COST.kernel, c2);
              t2.blockedAt = saved;
              t2.handledAt = saved;
              t2.wrote = wrote;
              return DONE;
            },
          },
        ],
        true,
      ),
    );
  } else if (kills) {
    t.frames = [];
    pushKernel(t, [(t2, c2) => exitGroup(k, t2, c2, 128 + sig)]);
  }
  return true;
}
