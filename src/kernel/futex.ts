// Futexes, sleeps and the virtual clock's timers.
//
// A futex is a wait queue keyed by a shared variable (the futex word):
// futex_wait(var, value) blocks only if var still holds value (checked and
// queued in one step, so a wake that changes the word first cannot be lost),
// and futex_wake(var, n) wakes up to n waiters in the order they queued.
// Condition variables, semaphores and read-write locks (sync.ts) are built on
// it, as glibc builds them. A wait may have a timeout; sleep(ns) is a wait on
// nothing but the clock.
//
// Timers: a timed wait arms a timer at its deadline (virtual ns). The run
// loop (sim.ts) fires the earliest one as soon as the cpu about to act has
// reached its deadline, as an interrupt on that cpu (a wake event, how
// `timer`); when no cpu can act, the idle cpu's clock jumps to the next
// deadline instead of spinning (no busy loop).
//
// Waking: every wakeup of these waits is a wake event (who, how); the op of a
// woken thread resumes (TCtx.blockedAt) and returns how it was woken: 0 for a
// futex_wake, ETIMEDOUT for its timer, EINTR for a signal.

import { AGAIN, DONE, type Frame, KEEP, type R, type TCtx } from "./ctx.ts";
import { ev } from "./events.ts";
import { setRet, value, varId } from "./mem.ts";
import { COST } from "./params.ts";
import type { Op } from "./program.ts";
import type { Simulator } from "./sim.ts";
import { ERRNO, HOW, type Thread } from "./types.ts";

/** A timer armed by a timed wait: it fires at `until` unless the wait (begun at seq) ended first. */
export interface Timer {
  until: number;
  tid: number;
  seq: number;
}

/** Arms a timer for thread tid's wait begun at seq (timers stay sorted by deadline, then seq). */
export function arm(k: Simulator, tid: number, until: number, seq: number): void {
  const ts = k.timers;
  let i = ts.length;
  while (i > 0 && (ts[i - 1]!.until > until || (ts[i - 1]!.until === until && ts[i - 1]!.seq > seq))) i--;
  ts.splice(i, 0, { until, tid, seq });
}

/** Whether the timer still stands for a wait in progress (the thread may have been woken, or exited). */
function live(k: Simulator, x: Timer): boolean {
  const w = k.state.threads.get(x.tid)?.waitOn;
  return w !== undefined && w.since === x.seq && w.until === x.until;
}

/** Drops timers whose waits are over; the earliest live one, or undefined. */
export function nextTimer(k: Simulator): Timer | undefined {
  const ts = k.timers;
  while (ts.length > 0 && !live(k, ts[0]!)) ts.shift();
  return ts[0];
}

/**
 * Fires the earliest timer on `cpu` if the cpu's clock has reached it: a wake
 * event (by -1, how timer) on that cpu. True when it fired (or dropped a
 * stale one): the run loop goes round again.
 */
export function fireTimer(k: Simulator, cpu: number): boolean {
  const ts = k.timers;
  if (ts.length === 0) return false;
  const x = ts[0]!;
  // Not due yet: nothing to do (a stale entry waits until it is due to be dropped).
  if (x.until > k.clock[cpu]!) return false;
  ts.shift();
  if (!live(k, x)) return true;
  k.emit(cpu, -1, ev.wake({ tid: x.tid, by: -1, how: HOW.timer, context: "irq:timer" }));
  return true;
}

/** Waiters of futex word `id`, in the order they queued. */
export function futexWaiters(k: Simulator, id: number): number[] {
  const ws: Thread[] = [];
  for (const th of k.state.threads.values()) {
    if (th.state === "blocked" && th.waitOn?.what === "futex" && th.waitOn.id === id) ws.push(th);
  }
  ws.sort((a, b) => a.waitOn!.since - b.waitOn!.since);
  return ws.map((th) => th.tid);
}

/**
 * futex_wait's first half: if variable `id` holds `expected`, blocks t on it
 * (futex-wait; a timer when `ns` is given) and returns -1: the caller keeps
 * the op and calls futexResume when t runs again. Otherwise emits errno
 * EAGAIN and returns EAGAIN.
 */
export function futexBlock(
  k: Simulator,
  t: TCtx,
  c: number,
  id: number,
  expected: number,
  ns: number | undefined,
): number {
  const v = k.state.vars.get(id)!;
  if (v.value !== expected) {
    k.emit(c, t.tid, ev.errno({ errno: ERRNO.EAGAIN, obj: id, call: `futex_wait(${v.name} == ${expected})` }));
    k.cost(COST.kernel, c);
    return ERRNO.EAGAIN;
  }
  const until = t.restartUntil >= 0 ? t.restartUntil : ns === undefined ? -1 : k.now(c) + Math.max(1, ns);
  t.restartUntil = -1;
  k.emit(c, t.tid, ev.futexWait({ var: id, value: expected, until }));
  k.cost(COST.kernel, c);
  t.blockedAt = k.state.seq;
  t.blockedUntil = until;
  if (until >= 0) arm(k, t.tid, until, t.blockedAt);
  return -1;
}

/** How t's wait (begun at t.blockedAt) ended: 0 woken, ETIMEDOUT by its timer, EINTR by a signal. Clears blockedAt. */
export function futexResume(k: Simulator, t: TCtx): number {
  const w = k.state.threads.get(t.tid)?.woken;
  const at = t.blockedAt;
  t.blockedAt = -1;
  if (w === undefined || w.seq < at) return 0;
  return w.how === HOW.timer ? ERRNO.ETIMEDOUT : w.how === HOW.signal || w.how === HOW.kill ? ERRNO.EINTR : 0;
}

/** futex_wake(id, n) by t: futex-wake, then a wake event per waiter woken (first queued first). Returns how many. */
export function futexWakeN(k: Simulator, t: TCtx, c: number, id: number, n: number): number {
  const ws = futexWaiters(k, id);
  const woken = Math.max(0, Math.min(n, ws.length));
  k.emit(c, t.tid, ev.futexWake({ var: id, n, woken }));
  const name = k.state.vars.get(id)!.name;
  for (let i = 0; i < woken; i++) k.emit(c, t.tid, ev.wake({ tid: ws[i]!, by: t.tid, how: HOW.futex, context: name }));
  k.cost(COST.kernel, c);
  return woken;
}

/** Ends an op that resumed without an event: the pc moves on, the thread goes on at once. */
function next(f: Frame): R {
  f.pc++;
  return AGAIN;
}

/**
 * The futexWait op. First run: creates the variable if needed (KEEP), then
 * futexBlock: EAGAIN into `ret` (DONE), or blocked (KEEP). Run again after
 * the wakeup: the result into `ret`.
 */
export function futexWaitOp(
  k: Simulator,
  t: TCtx,
  c: number,
  kernel: boolean,
  op: Extract<Op, { op: "futexWait" }>,
  f: Frame,
): R {
  if (t.blockedAt >= 0) {
    const r = futexResume(k, t);
    if (op.ret === undefined) return next(f);
    setRet(k, t, c, op.ret, r);
    return DONE;
  }
  const id = varId(k, t, c, kernel, op.var);
  if (id < 0) return KEEP;
  const expected = value(k, t, c, kernel, op.value);
  const ns = op.timeout === undefined ? undefined : value(k, t, c, kernel, op.timeout);
  if (expected === null || ns === null) return KEEP;
  const r = futexBlock(k, t, c, id, expected, ns);
  if (r < 0) return KEEP;
  setRet(k, t, c, op.ret, r);
  return DONE;
}

/** The futexWake op: futexWakeN; `ret` gets how many were woken. */
export function futexWakeOp(
  k: Simulator,
  t: TCtx,
  c: number,
  kernel: boolean,
  op: Extract<Op, { op: "futexWake" }>,
): R {
  const id = varId(k, t, c, kernel, op.var);
  if (id < 0) return KEEP;
  const n = value(k, t, c, kernel, op.n);
  if (n === null) return KEEP;
  const woken = futexWakeN(k, t, c, id, n);
  setRet(k, t, c, op.ret, woken);
  return DONE;
}

/**
 * sleep(ns): sleep (blocked, a timer at now + ns); when it runs again, the
 * sleep is over (`ret`: 0, or EINTR when a signal cut it short).
 */
export function sleepOp(
  k: Simulator,
  t: TCtx,
  c: number,
  kernel: boolean,
  op: Extract<Op, { op: "sleep" }>,
  f: Frame,
): R {
  if (t.blockedAt >= 0) {
    const r = futexResume(k, t);
    if (op.ret === undefined) return next(f);
    setRet(k, t, c, op.ret, r === ERRNO.ETIMEDOUT ? 0 : r);
    return DONE;
  }
  const ns = value(k, t, c, kernel, op.ns);
  if (ns === null) return KEEP;
  const until = t.restartUntil >= 0 ? t.restartUntil : k.now(c) + Math.max(1, ns);
  t.restartUntil = -1;
  k.emit(c, t.tid, ev.sleep({ until }));
  k.cost(COST.kernel, c);
  t.blockedAt = k.state.seq;
  t.blockedUntil = until;
  arm(k, t.tid, until, t.blockedAt);
  return KEEP;
}
