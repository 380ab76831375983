// atomic-sleep: a thread that holds a kernel spinlock calls something that may
// sleep. Linux's CONFIG_DEBUG_ATOMIC_SLEEP reports it at the call, on every run
// that takes the path, contended or not ("BUG: sleeping function called from
// invalid context at kernel/locking/mutex.c:... in_atomic(): 1"): might_sleep()
// at the top of mutex_lock and of every blocking wait. Without it the bug shows
// only on the runs where the sleep really happens and another cpu then spins
// on the lock the sleeper holds (a hang, or no-deadlock at best). Named after
// the kernel's option and its report, which a kernel developer searches for.
// Registered in invariants.ts.
//
// Which locks make a thread atomic, and who holds them, is the fold's
// (src/kernel/apply.ts: atomicLock, spinlocksHeld: a count by tid, so the
// check is O(1) and a scan pays one lookup per lock-acquire).

import { atomicLock, spinlocksHeld } from "../kernel/apply.ts";
import { isImportedState, type KEvent, KIND, type KState, type Lock, type LockType } from "../kernel/types.ts";
import { actorText, syncText, waitVerb } from "./describe.ts";
import type { Cause, Invariant } from "./invariants.ts";

/** A sleeping lock's type as the kernel's report names it. */
const SLEEPING: Readonly<Record<Exclude<LockType, "spin">, string>> = {
  mutex: "mutex",
  errorcheck: "errorcheck mutex",
  recursive: "recursive mutex",
};

/** What ev (an event of atomicSleep's kinds) does that may sleep, as a phrase after "tid N (pid P) "; null when it does not (a spinlock's acquire or spin). */
function mightSleep(s: KState, ev: KEvent): string | null {
  switch (ev.kind) {
    case KIND.lockAcquire:
    case KIND.lockWait: {
      const l = s.locks.get(ev.a);
      if (l === undefined || l.type === "spin") return null;
      const what = `${SLEEPING[l.type] ?? l.type} ${l.name}`;
      return ev.kind === KIND.lockAcquire ? `takes ${what}` : `${waitVerb(ev.b)} ${what}`;
    }
    case KIND.futexWait:
      return `waits on ${syncText(s, ev.a)}${ev.c >= 0 ? " (timed)" : ""}`;
    case KIND.sleep:
      return "sleeps (nanosleep)";
    case KIND.pipeWait:
      return `blocks ${ev.b ? "writing" : "reading"} pipe ${ev.a}`;
    // A read or write that does not block still sleeps on the pipe's mutex when another thread holds it (pipe_read and pipe_write begin with __pipe_lock, a mutex_lock).
    case KIND.pipeRead:
      return `reads pipe ${ev.a} (pipe_read takes the pipe's mutex)`;
    case KIND.pipeWrite:
      return `writes pipe ${ev.a} (pipe_write takes the pipe's mutex)`;
    case KIND.joinWait:
      return `blocks in pthread_join(tid ${ev.a})`;
    case KIND.waitBlock:
      return `blocks in waitpid(${ev.a < 0 ? "any child" : ev.a})`;
    case KIND.pause:
      return "waits for a signal (pause)";
    case KIND.sigwait:
      return "waits in sigwait";
    default:
      return null;
  }
}

/** The atomic locks tid holds in s, in the order it took them. */
function heldBy(s: KState, tid: number): Lock[] {
  const out: Lock[] = [];
  for (const l of s.locks.values()) if (l.owner === tid && atomicLock(l)) out.push(l);
  return out.sort((a, b) => a.since - b.since || a.id - b.id);
}

export const atomicSleep: Invariant = {
  name: "atomic-sleep",
  doc: "A thread holding a spinlock of the kernel or of a process's kernel struct never calls something that may sleep (Linux's CONFIG_DEBUG_ATOMIC_SLEEP, might_sleep()): a lock-acquire or lock-wait of a mutex (errorcheck, recursive), uncontended too, a blocking wait (futex, sleep, pipe, pthread_join, waitpid, pause, sigwait), or a pipe read or write that does not block (it takes the pipe's mutex) by such a thread breaks it. Nested spinlocks are fine; a user-space spinlock does not count.",
  kinds: [
    KIND.lockAcquire,
    KIND.lockWait,
    KIND.futexWait,
    KIND.sleep,
    KIND.pipeWait,
    KIND.pipeRead,
    KIND.pipeWrite,
    KIND.joinWait,
    KIND.waitBlock,
    KIND.pause,
    KIND.sigwait,
  ],
  pre(s, ev) {
    // The common case, at every lock-acquire of a scan: nobody holds a kernel spinlock.
    const held = spinlocksHeld(s);
    if (held.size === 0 || !held.has(ev.tid)) return null;
    // An imported trace's lock types are guesses (lockdep does not say one; listed as not evaluated there).
    if (isImportedState(s)) return null;
    const what = mightSleep(s, ev);
    if (what === null) return null;
    const locks = heldBy(s, ev.tid);
    const list = locks.map((l) => `${l.name} (taken at seq ${l.since})`);
    const named = list.length === 1 ? list[0]! : `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]!}`;
    return {
      message: `BUG: sleeping function called from invalid context: ${actorText(s, ev.tid)} ${what} while holding spinlock${locks.length === 1 ? "" : "s"} ${named}`,
      causes: locks
        .filter((l) => l.since >= 0)
        .map((l): Cause => ({ seq: l.since, why: `tid ${ev.tid} took spinlock ${l.name}: atomic from here on` })),
    };
  },
};
