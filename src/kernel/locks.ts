// Locks: creation on first use, acquire, release, and the one rule for
// whether a lock's owner is alive.
//
// A lock lives in an address space (0 = the kernel, else a pid). User-space
// locks are created the first time a process names them and copied by fork
// with their owner word as it was (locks are memory). Waiting is by blocking
// (mutex, recursive) or spinning (spin): a spinner stays on its cpu and
// retries each step; a blocked thread is woken by the release.
//
// Robust mutexes (a declaration's `robust`: PTHREAD_MUTEX_ROBUST), as
// Linux's robust futex list and glibc make them:
//   death       a thread that dies holding one (its exit, a kill, exec) in
//               its own address space or kernel memory: the kernel marks it
//               owner-died (lock-robust), which frees it and wakes its
//               waiters (robustDeath).
//   lock        of an owner-died one takes it and returns EOWNERDEAD; it is
//               then inconsistent (lock-robust) until its holder calls
//               consistent().
//   unlock      of an inconsistent one: lock-misuse (unlock-inconsistent),
//               the release, then not-recoverable (lock-robust): every later
//               lock or trylock fails with ENOTRECOVERABLE, and the waiters
//               wake to fail. An unlock when not held, or by a non-owner,
//               returns EPERM (glibc checks a robust mutex's owner).
// A held robust lock copied by fork is not the dead thread's (its robust
// list names the parent's memory): it stays held, as a plain mutex's.

import { DONE, KEEP, pushKernel, type R, SimError, STALL, type TCtx } from "./ctx.ts";
import { ev } from "./events.ts";
import { evalExpr, fail, setRet } from "./mem.ts";
import { COST } from "./params.ts";
import { abort } from "./proc.ts";
import type { Expr, LockDecl } from "./program.ts";
import type { Simulator } from "./sim.ts";
import { ERRNO, KIND, type KState, LOCK_TYPES, type Lock, MISUSES, ROBUST } from "./types.ts";
import { declOf } from "./validate.ts";

// ---- the owner rule ---------------------------------------------------------

/**
 * Where a lock's owner stands. `free`: no owner. `alive`: a live thread of
 * the lock's address space (any process's for a kernel lock). `gone`: no such
 * thread any more (reaped or released). `absent`: the thread exists, but in
 * another process (a lock copied by fork while another thread held it).
 * `exited`: the thread has exited and will never release it.
 */
export type OwnerStatus = "free" | "alive" | "gone" | "absent" | "exited";

/** The one definition of "a lock's owner is alive" (see OwnerStatus). */
export function ownerStatus(s: KState, l: Lock): OwnerStatus {
  if (l.owner < 0) return "free";
  const o = s.threads.get(l.owner);
  if (o === undefined) return "gone";
  if (l.space > 0 && o.pid !== l.space) return "absent";
  if (o.state === "exited") return "exited";
  return "alive";
}

/** True when the owner is a live thread of the lock's space, false when it is not, null when the lock is free. */
export function ownerAlive(s: KState, l: Lock): boolean | null {
  const st = ownerStatus(s, l);
  return st === "free" ? null : st === "alive";
}

/**
 * Why the owner can never release the lock, as a clause after "held by tid
 * N": ", which does not exist in pid 2", ", which has exited"; "" when the
 * owner is alive or the lock free.
 */
export function ownerClause(s: KState, l: Lock): string {
  switch (ownerStatus(s, l)) {
    case "gone":
      return l.space > 0 ? `, which does not exist in pid ${l.space}` : ", which no longer exists";
    case "absent":
      return `, which does not exist in pid ${l.space}`;
    case "exited":
      return ", which has exited";
    default:
      return "";
  }
}

// ---- kernel paths -------------------------------------------------------------

/**
 * The id of the lock `name` as t sees it, creating it on first use: a "user"
 * lock in t's address space, a "kernel" lock once, a "proc" lock in the
 * kernel struct of t's process (or of process `of`). Creating emits lock-new
 * and returns -1 (the caller retries next step); -2 when `of` names no
 * process (the step failed). The declaration's type applies; an undeclared
 * lock is a user mutex (a tcmalloc.* lock a spinlock).
 */
export function lockId(k: Simulator, t: TCtx, c: number, name: string, of?: Expr): number {
  if (of === undefined) {
    // The common case: a user lock this process already has.
    const known = t.proc.lockIds.get(name);
    if (known !== undefined) return known;
  }
  const decl = declOf(k.world.locks, name) ?? (name.startsWith("tcmalloc.") ? SPIN : MUTEX);
  const scope = decl.scope ?? "user";
  let pid = t.pid;
  if (of !== undefined) {
    pid = evalExpr(of, k.state.threads.get(t.tid)!);
    if (!k.procs.has(pid) || !k.state.procs.has(pid)) {
      fail(k, t, c, kernelMode(t), `${name} of pid ${pid}: no such process (its struct was freed)`, 11);
      return -2;
    }
  }
  const p = k.procs.get(pid)!;
  const ids = scope === "kernel" ? k.kernelLocks : scope === "proc" ? p.fieldLocks : p.lockIds;
  const id = ids.get(name);
  if (id !== undefined) return id;
  const nid = k.state.nextLock;
  const space = scope === "kernel" ? 0 : scope === "proc" ? -pid : pid;
  const pi = "protocol" in decl && decl.protocol === "inherit" ? 16 : 0;
  const robust = "robust" in decl && decl.robust === true ? 32 : 0;
  k.emitSlots(c, t.tid, KIND.lockNew, nid, space, LOCK_TYPES.indexOf(decl.type) + pi + robust, name); // lock, space, type, name
  ids.set(name, nid);
  return -1;
}

/** What an undeclared lock is: a user mutex, or (a tcmalloc.* lock) a spinlock. */
const MUTEX: LockDecl = { type: "mutex" };
const SPIN: LockDecl = { type: "spin" };

/** Whether t runs in kernel mode (its current frame is a kernel path). */
export function kernelMode(t: TCtx): boolean {
  return t.frames[t.frames.length - 1]?.kernel ?? false;
}

/**
 * Tries to take lock `id` (SimError if it does not exist). Emits lock-acquire and
 * returns DONE when it is taken (free, or a recursive mutex whose recorded
 * ident is the caller's); emits lock-wait and returns KEEP when it must wait
 * (blocked threads are woken by the release; spinners retry); returns STALL
 * while a spinner finds it still held. `how`: the acquire's `inferred` slot
 * (TRYLOCK_ACQUIRE for a trylock's, which only calls it when it cannot wait).
 */
export function acquire(k: Simulator, t: TCtx, c: number, id: number, how = 0): R {
  const l = k.state.locks.get(id);
  if (!l) throw new SimError(`lock ${id} is gone`);
  return take(k, t, c, l, how);
}

/** acquire() of the lock l. */
function take(k: Simulator, t: TCtx, c: number, l: Lock, how = 0): R {
  const id = l.id;
  const th = k.state.threads.get(t.tid)!;
  if (l.owner < 0) {
    k.emitAcquire(c, t.tid, l, th, 1, how); // lock-acquire: lock, level, inferred
    k.cost(COST.lock, c);
    return DONE;
  }
  if (l.type === "recursive" && l.ident === th.ident && l.owner >= 0) {
    k.emit(c, t.tid, ev.lockAcquire({ lock: id, level: l.level + 1, inferred: how }));
    k.cost(COST.lock, c);
    return DONE;
  }
  if (th.waitLock === id && th.state === "spinning") return STALL;
  k.emitSlots(c, t.tid, KIND.lockWait, id, l.type === "spin" ? 1 : 0, 0, ""); // lock, spin
  k.cost(COST.lock, c);
  return KEEP;
}

/**
 * Releases l, held by t. A recursive mutex checks the caller's ident against
 * the recorded one: on a mismatch it emits unlock-not-owner and the process
 * aborts with the declaration's message (CPython's fatal error). Otherwise
 * emits lock-release (level after; 0 frees it and wakes blocked waiters).
 */
export function release(k: Simulator, t: TCtx, c: number, l: Lock): R {
  if (l.type === "recursive" && l.ident !== k.state.threads.get(t.tid)!.ident) {
    const th = k.state.threads.get(t.tid)!;
    k.emit(c, t.tid, ev.unlockNotOwner({ lock: l.id, owner: l.ident, ident: th.ident }));
    pushKernel(t, [(t2, c2) => abort(k, t2, c2, badUnlock(k, l))]);
    return KEEP;
  }
  k.emitRelease(c, t.tid, l, l.level > 0 ? l.level - 1 : 0); // lock-release: lock, level
  k.cost(COST.lock, c);
  return DONE;
}

function badUnlock(k: Simulator, l: Lock): string {
  return (
    declOf(k.world.locks, l.name)?.badUnlock ??
    `unlocking recursive mutex ${l.name} that is not owned by the current thread`
  );
}

/**
 * A program's lock(): acquire(), except that relocking a non-recursive lock
 * one holds is misuse: emits lock-misuse (relock), then an errorcheck mutex
 * returns EDEADLK (DONE), a default mutex or spinlock waits on itself for
 * ever (lock-wait: the self-deadlock). `ret` gets the return code, and
 * `heard` hears it when the call completes (a condvar wait's relock returns
 * a robust mutex's EOWNERDEAD or ENOTRECOVERABLE as its own).
 */
export function lockOp(k: Simulator, t: TCtx, c: number, id: number, reg?: string, heard?: (code: number) => void): R {
  const ret = (code: number) => {
    setRet(k, t, c, reg, code);
    heard?.(code);
  };
  const l = k.state.locks.get(id)!;
  if (l.robust === "not-recoverable") {
    notRecoverable(k, t, c, l, "pthread_mutex_lock");
    ret(ERRNO.ENOTRECOVERABLE);
    return DONE;
  }
  if (l.owner === t.tid && l.type !== "recursive") {
    const th = k.state.threads.get(t.tid)!;
    if (th.waitLock === id) return acquire(k, t, c, id); // already waiting on itself
    const errno = l.type === "errorcheck" ? ERRNO.EDEADLK : 0;
    misused(k, t, c, id, "relock", errno);
    if (errno !== 0) {
      ret(errno);
      k.cost(COST.lock, c);
      return DONE;
    }
    return acquire(k, t, c, id);
  }
  const died = l.robust === "owner-died";
  const r = take(k, t, c, l);
  if (r === DONE) ret(died ? tookDead(k, t, c, l) : 0);
  return r;
}

/** Emits lock-misuse. */
function misused(k: Simulator, t: TCtx, c: number, lock: number, what: (typeof MISUSES)[number], errno: number): void {
  k.emit(c, t.tid, ev.lockMisuse({ lock, what: MISUSES.indexOf(what), errno }));
}

/**
 * A program's unlock() of l. Misuse, by the lock's type:
 *   not held:     errorcheck returns EPERM; recursive is fatal (CPython: the
 *                 level would go below zero); a default mutex or spinlock is
 *                 undefined behaviour, recorded, and nothing changes.
 *   not the owner: errorcheck returns EPERM; a default mutex or spinlock is
 *                 undefined behaviour, recorded, and glibc unlocks it anyway
 *                 (lock-release); recursive is release()'s ident check.
 * Each emits lock-misuse first. `ret` gets 0 or the errno.
 */
export function unlockOp(k: Simulator, t: TCtx, c: number, l: Lock, reg?: string): R {
  const checks = l.type === "errorcheck" || l.robust !== undefined;
  if (l.owner < 0) {
    if (l.type === "recursive") {
      misused(k, t, c, l.id, "level-underflow", 0);
      pushKernel(t, [(t2, c2) => abort(k, t2, c2, badUnlock(k, l))]);
      return KEEP;
    }
    const errno = checks ? ERRNO.EPERM : 0;
    misused(k, t, c, l.id, "unlock-not-held", errno);
    setRet(k, t, c, reg, errno);
    k.cost(COST.lock, c);
    return DONE;
  }
  if (l.owner !== t.tid && (l.type !== "recursive" || l.robust !== undefined)) {
    if (checks) {
      misused(k, t, c, l.id, "unlock-not-owner", ERRNO.EPERM);
      setRet(k, t, c, reg, ERRNO.EPERM);
      k.cost(COST.lock, c);
      return DONE;
    }
    misused(k, t, c, l.id, "unlock-not-owner", 0);
  }
  const lost = l.robust === "inconsistent" && l.level <= 1;
  if (lost) misused(k, t, c, l.id, "unlock-inconsistent", 0);
  const r = release(k, t, c, l);
  if (r === DONE && lost) k.emit(c, t.tid, ev.lockRobust({ lock: l.id, state: ROBUST["not-recoverable"], tid: t.tid }));
  if (r === DONE) setRet(k, t, c, reg, 0);
  return r;
}

// ---- robust mutexes (see the file comment) --------------------------------------------

/** The calls on a robust mutex that fail once it is not recoverable. */
type RobustCall = "pthread_mutex_lock" | "pthread_mutex_trylock";

/** A lock or trylock of a not-recoverable robust mutex: errno ENOTRECOVERABLE, `reg` gets it, nothing is taken. */
export function notRecoverable(k: Simulator, t: TCtx, c: number, l: Lock, call: RobustCall, reg?: string): R {
  k.emit(c, t.tid, ev.errno({ errno: ERRNO.ENOTRECOVERABLE, obj: l.id, call: `${call}(${l.name})` }));
  k.cost(COST.lock, c);
  setRet(k, t, c, reg, ERRNO.ENOTRECOVERABLE);
  return DONE;
}

/** t has just taken l, which was owner-died (a lock or trylock): it is now inconsistent (lock-robust). Returns EOWNERDEAD. */
export function tookDead(k: Simulator, t: TCtx, c: number, l: Lock): number {
  k.emit(c, t.tid, ev.lockRobust({ lock: l.id, state: ROBUST.inconsistent, tid: t.tid }));
  return ERRNO.EOWNERDEAD;
}

/**
 * pthread_mutex_consistent(l) by t: lock-robust (consistent) when t holds l
 * inconsistent; else errno EINVAL and nothing changes. `reg` gets 0 or EINVAL.
 */
export function consistentOp(k: Simulator, t: TCtx, c: number, l: Lock, reg?: string): R {
  k.cost(COST.lock, c);
  if (l.robust === "inconsistent" && l.owner === t.tid) {
    k.emit(c, t.tid, ev.lockRobust({ lock: l.id, state: ROBUST.consistent, tid: t.tid }));
    setRet(k, t, c, reg, 0);
    return DONE;
  }
  const why =
    l.robust === undefined
      ? "not a robust mutex"
      : l.robust !== "inconsistent"
        ? `it is ${l.robust}`
        : `held by tid ${l.owner}, not the caller`;
  k.emit(c, t.tid, ev.errno({ errno: ERRNO.EINVAL, obj: l.id, call: `pthread_mutex_consistent(${l.name}): ${why}` }));
  setRet(k, t, c, reg, ERRNO.EINVAL);
  return DONE;
}

/**
 * Thread tid dies (its thread-exit is next, or it execs): the kernel walks
 * its robust list, marking owner-died (lock-robust, emitted by `actor` on
 * cpu c) every robust mutex tid holds in its own address space or kernel
 * memory. The world must declare a robust mutex for there to be any.
 */
export function robustDeath(k: Simulator, c: number, actor: number, tid: number): void {
  if (!k.robustLocks) return;
  const th = k.state.threads.get(tid);
  if (th === undefined) return;
  for (const l of k.state.locks.values())
    if (l.robust !== undefined && l.owner === tid && (l.space === 0 || l.space === th.pid))
      k.emit(c, actor, ev.lockRobust({ lock: l.id, state: ROBUST["owner-died"], tid }));
}
