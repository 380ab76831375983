// Synchronization built on futexes, as glibc builds it: condition variables,
// semaphores, read-write locks; and trylock on the kernel-modelled locks.
//
// Each object is a declared int variable (its word; VarDecl.sync says what
// it is) and each operation is user-space library code: a user frame whose
// one op is a small state machine that emits one step per call, every step an
// access of the word (atomic-load, cas, fetch-add) or a futex call, so other
// threads, preemption and signals can come between its steps, the race
// detector sees its atomics, and a watchpoint on the word sees every change.
//
//   condvar    word = a sequence number. wait: load seq; unlock the mutex;
//              futex_wait(word, seq) (EAGAIN when a signal came in between:
//              return); lock the mutex (a robust one taken from a dead owner:
//              the wait returns EOWNERDEAD; one not recoverable: ENOTRECOVERABLE,
//              not held). signal: seq += 1; futex_wake 1 (all for broadcast). A
//              signal before the wait is lost, as in POSIX: the waiter must
//              check its predicate in a loop.
//   semaphore  word = the count. wait: load; if > 0, cas(v, v - 1), else
//              futex_wait(word, 0) and retry (EINTR when a signal handler ran
//              meanwhile, as sem_wait). post: count += 1; futex_wake 1 when a
//              thread waits.
//   rwlock     word = 0 free, n > 0 readers, -1 a writer. rdlock: cas(v, v+1)
//              when v >= 0; wrlock: cas(0, -1); otherwise futex_wait(word, v)
//              and retry. unlock: cas back; futex_wake all when a thread waits.

import { DONE, type Frame, KEEP, library, type R, STALL, type TCtx } from "./ctx.ts";
import { ev } from "./events.ts";
import { futexBlock, futexResume, futexWaiters, futexWakeN } from "./futex.ts";
import { acquire, lockId, lockOp, notRecoverable, tookDead, unlockOp } from "./locks.ts";
import { setRet, value, varId } from "./mem.ts";
import { COST } from "./params.ts";
import type { Expr, Op } from "./program.ts";
import type { Simulator } from "./sim.ts";
import { ERRNO, TRYLOCK_ACQUIRE } from "./types.ts";

/** futex_wake's n for "everyone". */
const ALL = 2 ** 31 - 1;

/** The word of `name` for t (creating it: -1, the caller retries next step). */
function word(k: Simulator, t: TCtx, c: number, name: string): number {
  return varId(k, t, c, false, { name });
}

/** An atomic read of the word into the internal register $name; returns the value. */
function loadWord(k: Simulator, t: TCtx, c: number, id: number): number {
  const v = k.state.vars.get(id)!;
  k.emit(c, t.tid, ev.atomicLoad({ var: id, value: v.value, reg: `$${v.name}` }));
  k.cost(COST.user, c);
  return v.value;
}

/** An atomic fetch-add of 1 on the word (a condvar's sequence, a semaphore's count). */
function bumpWord(k: Simulator, t: TCtx, c: number, id: number): void {
  const v = k.state.vars.get(id)!;
  k.emit(c, t.tid, ev.fetchAdd({ var: id, old: v.value, new: (v.value + 1) | 0, reg: "" }));
  k.cost(COST.user, c);
}

/** cas(word, old, new) into $name; true when it swapped. */
function casWord(k: Simulator, t: TCtx, c: number, id: number, old: number, nv: number): boolean {
  const v = k.state.vars.get(id)!;
  const seen = v.value;
  k.emit(c, t.tid, ev.cas({ var: id, old: seen, new: seen === old ? nv : seen, reg: `$${v.name}` }));
  k.cost(COST.user, c);
  return seen === old;
}

/** A timeout in ns from now as an absolute deadline, or undefined (none); null when evaluating it failed the step. */
function deadline(k: Simulator, t: TCtx, c: number, timeout: Expr | undefined): number | undefined | null {
  if (timeout === undefined) return undefined;
  const ns = value(k, t, c, false, timeout);
  return ns === null ? null : k.now(c) + Math.max(1, ns);
}

/** What is left of a deadline now, at least 1 ns (undefined: none). */
function left(k: Simulator, c: number, until: number | undefined): number | undefined {
  return until === undefined ? undefined : Math.max(1, until - k.now(c));
}

// ---- condition variables ----------------------------------------------------------------

/** What a condvar wait returns other than 0: its timeout, and a robust mutex's relock (EOWNERDEAD, ENOTRECOVERABLE). */
const RELOCK_CODES: readonly number[] = [ERRNO.ETIMEDOUT, ERRNO.EOWNERDEAD, ERRNO.ENOTRECOVERABLE];

/** pthread_cond_wait / timedwait (see the file comment). */
export function cvWait(k: Simulator, t: TCtx, f: Frame, op: Extract<Op, { op: "cvWait" }>): R {
  let phase = 0;
  let id = -1;
  let seq = 0;
  let result = 0;
  let until: number | undefined | null;
  const failed = (t2: TCtx, c2: number, errno: number) =>
    k.emit(
      c2,
      t2.tid,
      ev.errno({ errno, obj: id, call: `pthread_cond_${op.timeout !== undefined ? "timedwait" : "wait"}(${op.cv})` }),
    );
  return library(t, f, (t2, c2) => {
    for (;;) {
      switch (phase) {
        case 0: {
          id = word(k, t2, c2, op.cv);
          if (id < 0) return KEEP;
          until = deadline(k, t2, c2, op.timeout);
          if (until === null) return KEEP;
          seq = loadWord(k, t2, c2, id);
          phase = 1;
          return KEEP;
        }
        case 1: {
          const m = lockId(k, t2, c2, op.mutex);
          if (m < 0) return KEEP;
          const l = k.state.locks.get(m)!;
          const mine = l.owner === t2.tid;
          const r = unlockOp(k, t2, c2, l);
          if (r !== DONE) return r;
          if (!mine && l.type === "errorcheck") {
            // POSIX: EPERM, and no wait, when the caller does not own an error-checking mutex.
            failed(t2, c2, ERRNO.EPERM);
            setRet(k, t2, c2, op.ret, ERRNO.EPERM);
            return DONE;
          }
          phase = 2;
          return KEEP;
        }
        case 2: {
          if (t2.blockedAt >= 0) {
            result = futexResume(k, t2);
            phase = 3;
            continue;
          }
          const r = futexBlock(k, t2, c2, id, seq, left(k, c2, until ?? undefined));
          if (r < 0) return KEEP;
          phase = 3; // EAGAIN: a signal came between the load and the wait
          return KEEP;
        }
        case 3: {
          const m = lockId(k, t2, c2, op.mutex);
          if (m < 0) return KEEP;
          // A robust mutex's relock returns what pthread_cond_wait does: EOWNERDEAD, ENOTRECOVERABLE (lockOp's codes).
          const r = lockOp(k, t2, c2, m, undefined, (code) => {
            if (code === ERRNO.EOWNERDEAD || code === ERRNO.ENOTRECOVERABLE) result = code;
          });
          if (r !== DONE) return r;
          if (op.ret === undefined && result !== ERRNO.ETIMEDOUT) return DONE;
          phase = 4;
          return KEEP;
        }
        default:
          // The timer ended the wait: the call fails with ETIMEDOUT (the mutex held again), as every failed call says.
          if (result === ERRNO.ETIMEDOUT) failed(t2, c2, ERRNO.ETIMEDOUT);
          setRet(k, t2, c2, op.ret, RELOCK_CODES.includes(result) ? result : 0);
          return DONE;
      }
    }
  });
}

/** pthread_cond_signal / broadcast: the sequence number goes up, then futex_wake 1 (all). */
export function cvSignal(k: Simulator, t: TCtx, f: Frame, op: Extract<Op, { op: "cvSignal" }>): R {
  let id = -1;
  let phase = 0;
  return library(t, f, (t2, c2) => {
    if (phase === 0) {
      id = word(k, t2, c2, op.cv);
      if (id < 0) return KEEP;
      bumpWord(k, t2, c2, id);
      phase = 1;
      return KEEP;
    }
    futexWakeN(k, t2, c2, id, op.all ? ALL : 1);
    return DONE;
  });
}

// ---- semaphores -------------------------------------------------------------------------

/** sem_wait / trywait / timedwait (see the file comment). */
export function semWait(k: Simulator, t: TCtx, f: Frame, op: Extract<Op, { op: "semWait" }>): R {
  let phase = 0;
  let id = -1;
  let seen = 0;
  let until: number | undefined | null;
  let started = false;
  const finish = (t2: TCtx, c2: number, code: number): R => {
    if (code !== 0)
      k.emit(
        c2,
        t2.tid,
        ev.errno({
          errno: code,
          obj: id,
          call: `sem_${op.try ? "trywait" : op.timeout !== undefined ? "timedwait" : "wait"}(${op.sem})`,
        }),
      );
    setRet(k, t2, c2, op.ret, code);
    return DONE;
  };
  return library(t, f, (t2, c2) => {
    for (;;) {
      switch (phase) {
        case 0: {
          id = word(k, t2, c2, op.sem);
          if (id < 0) return KEEP;
          if (!started) {
            until = deadline(k, t2, c2, op.timeout);
            if (until === null) return KEEP;
            started = true;
          }
          seen = loadWord(k, t2, c2, id);
          phase = seen > 0 ? 1 : 2;
          if (seen <= 0 && op.try) phase = 3;
          return KEEP;
        }
        case 1:
          if (casWord(k, t2, c2, id, seen, seen - 1)) {
            if (op.ret !== undefined) setRet(k, t2, c2, op.ret, 0);
            return DONE;
          }
          phase = 0;
          return KEEP;
        case 2: {
          if (t2.blockedAt >= 0) {
            // ETIMEDOUT; EINTR after a signal handler ran on this thread (sem_wait is never restarted, whatever
            // SA_RESTART says: signal(7)); a futex wake: try again.
            const r = futexResume(k, t2);
            if (r === ERRNO.ETIMEDOUT || r === ERRNO.EINTR) return finish(t2, c2, r);
            phase = 0;
            continue;
          }
          if (until !== undefined && until !== null && k.now(c2) >= until) return finish(t2, c2, ERRNO.ETIMEDOUT);
          const r = futexBlock(k, t2, c2, id, seen, left(k, c2, until ?? undefined));
          if (r >= 0) phase = 0;
          return KEEP;
        }
        default:
          return finish(t2, c2, ERRNO.EAGAIN);
      }
    }
  });
}

/** sem_post: count += 1, then futex_wake 1 if a thread waits. */
export function semPost(k: Simulator, t: TCtx, f: Frame, op: Extract<Op, { op: "semPost" }>): R {
  let id = -1;
  let phase = 0;
  return library(t, f, (t2, c2) => {
    if (phase === 0) {
      id = word(k, t2, c2, op.sem);
      if (id < 0) return KEEP;
      bumpWord(k, t2, c2, id);
      if (futexWaiters(k, id).length === 0) return DONE;
      phase = 1;
      return KEEP;
    }
    futexWakeN(k, t2, c2, id, 1);
    return DONE;
  });
}

// ---- read-write locks ---------------------------------------------------------------------

/** pthread_rwlock_rdlock / wrlock / try (see the file comment). */
export function rwLock(k: Simulator, t: TCtx, f: Frame, op: Extract<Op, { op: "rwLock" }>): R {
  let phase = 0;
  let id = -1;
  let seen = 0;
  const free = (v: number) => (op.write ? v === 0 : v >= 0);
  return library(t, f, (t2, c2) => {
    for (;;) {
      switch (phase) {
        case 0:
          id = word(k, t2, c2, op.rw);
          if (id < 0) return KEEP;
          seen = loadWord(k, t2, c2, id);
          phase = free(seen) ? 1 : op.try ? 3 : 2;
          return KEEP;
        case 1:
          if (casWord(k, t2, c2, id, seen, op.write ? -1 : seen + 1)) {
            if (op.ret !== undefined) setRet(k, t2, c2, op.ret, 0);
            return DONE;
          }
          phase = 0;
          return KEEP;
        case 2:
          if (t2.blockedAt >= 0) {
            futexResume(k, t2);
            phase = 0;
            continue;
          }
          if (futexBlock(k, t2, c2, id, seen, undefined) >= 0) phase = 0;
          return KEEP;
        default:
          k.emit(
            c2,
            t2.tid,
            ev.errno({
              errno: ERRNO.EBUSY,
              obj: id,
              call: `pthread_rwlock_try${op.write ? "wr" : "rd"}lock(${op.rw})`,
            }),
          );
          setRet(k, t2, c2, op.ret, ERRNO.EBUSY);
          return DONE;
      }
    }
  });
}

/** pthread_rwlock_unlock: a writer's -1 or one reader's count goes back; then futex_wake all if a thread waits. EPERM when not held. */
export function rwUnlock(k: Simulator, t: TCtx, f: Frame, op: Extract<Op, { op: "rwUnlock" }>): R {
  let phase = 0;
  let id = -1;
  let seen = 0;
  return library(t, f, (t2, c2) => {
    switch (phase) {
      case 0:
        id = word(k, t2, c2, op.rw);
        if (id < 0) return KEEP;
        seen = loadWord(k, t2, c2, id);
        phase = 1;
        return KEEP;
      case 1: {
        if (seen === 0) {
          k.emit(
            c2,
            t2.tid,
            ev.errno({ errno: ERRNO.EPERM, obj: id, call: `pthread_rwlock_unlock(${op.rw}): not held` }),
          );
          setRet(k, t2, c2, op.ret, ERRNO.EPERM);
          return DONE;
        }
        if (!casWord(k, t2, c2, id, seen, seen < 0 ? 0 : seen - 1)) {
          phase = 0;
          return KEEP;
        }
        const now = k.state.vars.get(id)!.value;
        if (now !== 0 || futexWaiters(k, id).length === 0) {
          if (op.ret !== undefined) setRet(k, t2, c2, op.ret, 0);
          return DONE;
        }
        phase = 2;
        return KEEP;
      }
      default:
        futexWakeN(k, t2, c2, id, ALL);
        setRet(k, t2, c2, op.ret, 0);
        return DONE;
    }
  });
}

// ---- trylock -------------------------------------------------------------------------------

/**
 * pthread_mutex_trylock: lock-acquire when the lock is free (or a recursive
 * mutex the caller owns), else errno EBUSY. A robust mutex as lock():
 * EOWNERDEAD when its owner died, ENOTRECOVERABLE (not taken) when it is not
 * recoverable.
 */
export function trylock(k: Simulator, t: TCtx, c: number, op: Extract<Op, { op: "trylock" }>): R {
  const id = lockId(k, t, c, op.lock);
  if (id < 0) return KEEP;
  const l = k.state.locks.get(id)!;
  if (l.robust === "not-recoverable") return notRecoverable(k, t, c, l, "pthread_mutex_trylock", op.ret);
  const th = k.state.threads.get(t.tid)!;
  if (l.owner < 0 || (l.type === "recursive" && l.ident === th.ident)) {
    const died = l.robust === "owner-died";
    const r = acquire(k, t, c, id, TRYLOCK_ACQUIRE);
    if (r === DONE) setRet(k, t, c, op.ret, died ? tookDead(k, t, c, l) : 0);
    return r === STALL ? KEEP : r;
  }
  k.emit(
    c,
    t.tid,
    ev.errno({ errno: ERRNO.EBUSY, obj: id, call: `pthread_mutex_trylock(${l.name}): held by tid ${l.owner}` }),
  );
  k.cost(COST.lock, c);
  setRet(k, t, c, op.ret, ERRNO.EBUSY);
  return DONE;
}
