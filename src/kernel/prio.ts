// Priorities: the scheduling policy, and priority inheritance.
//
// A thread is in the default time-shared class (`other`) or in a strict
// priority class (`fifo`, like SCHED_FIFO) with a priority 0..MAX_PRIO. Its
// rank orders who may run: every fifo thread is above every other thread, a
// higher fifo priority above a lower one, and the other class is one rank
// (0). The policy decides the set of threads that may run before the
// Chooser picks among them (sched.ts asks this file first), so a strategy can
// never break it:
//   - a free cpu takes a ready thread of the highest rank ready;
//   - a thread of a lower rank than a ready one is preempted at its next
//     user-mode step (kernel paths are not preempted in this model);
//   - a fifo thread is never time-sliced: only a higher rank preempts it (a
//     fifo spinner too: it does not give way to its lock's lower-ranked
//     owner, sched.ts's preemptRule; a default-class spinner does).
// With no thread above rank 0 the policy does nothing (the default class
// alone: the chooser's own order and preemption, as before priorities).
//
// Priority inheritance (a mutex declared protocol: "inherit",
// PTHREAD_PRIO_INHERIT): the owner of such a lock runs at the rank of its
// highest-ranked waiter while it holds it, transitively along a chain of
// such locks (Thread.boost, kept by the reducer at each lock-wait, acquire
// and release of a PI lock). A priority inversion is a thread running while
// a higher-ranked one waits on a lock held by a lower-ranked thread that is
// ready but not running (inversion() below; the priority-inversion
// invariant, the events and the TUI use it).

import type { KState, Lock, Thread } from "./types.ts";

/** The base rank of a thread: 0 in the other class, 1 + prio in the fifo class. */
export function baseRank(th: Thread): number {
  return th.policy === "fifo" ? 1 + (th.prio ?? 0) : 0;
}

/** The rank a thread runs at: its boost while priority inheritance lends it one, else its base rank. */
export function rank(th: Thread): number {
  return th.boost ?? baseRank(th);
}

/** A rank in words: "fifo 30", "other". */
export function rankText(r: number): string {
  return r > 0 ? `fifo ${r - 1}` : "other";
}

/** A thread's scheduling in words: "fifo 30", "fifo 10, boosted to fifo 30", "other". */
export function prioText(th: Thread): string {
  const base = rankText(baseRank(th));
  return th.boost !== undefined && th.boost !== baseRank(th) ? `${base}, boosted to ${rankText(th.boost)}` : base;
}

/** Threads waiting on lock l (blocked or spinning on it). */
function waitersOf(s: KState, l: Lock): Thread[] {
  const out: Thread[] = [];
  for (const t of s.threads.values())
    if (t.waitLock === l.id && (t.state === "blocked" || t.state === "spinning")) out.push(t);
  return out;
}

/**
 * Recomputes the boost of thread tid from the PI locks it holds (the highest
 * rank among their waiters, if above its own), then of the owner of the PI
 * lock it waits on, and so on up the chain. Pure state: the reducer calls it.
 */
export function reboost(s: KState, tid: number): void {
  for (let i = 0, cur: number = tid; i <= s.threads.size && cur >= 0; i++) {
    const th = s.threads.get(cur);
    if (!th) return;
    let r = baseRank(th);
    for (const l of s.locks.values()) {
      if (!l.pi || l.owner !== th.tid) continue;
      for (const w of waitersOf(s, l)) r = Math.max(r, rank(w));
    }
    const before = rank(th);
    th.boost = r !== baseRank(th) ? r : undefined;
    if (rank(th) === before && i > 0) return;
    const next = th.waitLock >= 0 ? s.locks.get(th.waitLock) : undefined;
    cur = next?.pi && next.owner >= 0 && next.owner !== th.tid ? next.owner : -1;
  }
}

/** The live threads that rank above 0 (the policy has something to do while there are any), into out. */
export function rankedThreads(s: KState, out: number[]): void {
  out.length = 0;
  for (const t of s.threads.values()) if (t.state !== "exited" && rank(t) > 0) out.push(t.tid);
}

/** A priority inversion around a running thread. */
export interface Inversion {
  /** The waiting high-ranked thread, the lock it waits on, and the lock's lower-ranked owner (ready, not running). */
  high: Thread;
  lock: Lock;
  owner: Thread;
}

/**
 * The priority inversion `tid` runs in, if any: a thread of a higher rank
 * than tid waits on a lock whose owner ranks below tid and is ready but not
 * on a cpu (so tid runs in its place). The one definition: the
 * priority-inversion invariant, describe and the TUI use it.
 */
export function inversion(s: KState, tid: number): Inversion | undefined {
  const me = s.threads.get(tid);
  if (!me) return undefined;
  const mine = rank(me);
  for (const h of s.threads.values()) {
    if (h.state !== "blocked" || h.waitLock < 0 || rank(h) <= mine) continue;
    const l = s.locks.get(h.waitLock);
    if (!l || l.owner < 0 || l.owner === tid) continue;
    const o = s.threads.get(l.owner);
    if (!o || rank(o) >= mine || o.state !== "runnable") continue;
    return { high: h, lock: l, owner: o };
  }
  return undefined;
}

// ---- the policy, as the scheduler asks it (sched.ts) ------------------------------------

/** Whether thread tid could take a cpu now (runnable, or spinning: it retries its lock). */
function ready(s: KState, tid: number): boolean {
  const t = s.threads.get(tid);
  return t !== undefined && (t.state === "runnable" || t.state === "spinning");
}

/**
 * Narrows `cands` (ready tids, run-queue order) in place to those of the
 * highest rank among them (`ranked`: the threads ranked above 0); unchanged
 * when that rank is 0 (the default class: the chooser picks among all).
 */
export function eligible(s: KState, cands: number[], ranked: readonly number[]): void {
  // Only the ranked threads (a few) can be above 0: the best rank among those that are candidates.
  let best = 0;
  for (const tid of ranked) if (cands.includes(tid)) best = Math.max(best, rank(s.threads.get(tid)!));
  if (best === 0) return;
  let j = 0;
  for (const tid of cands) if (rank(s.threads.get(tid)!) === best) cands[j++] = tid;
  cands.length = j;
}

/**
 * For the thread th about to run a user-mode step while threads wait in the
 * run queue (`ranked`: the threads ranked above 0, rankedThreads): true when
 * a ready one off the cpus ranks above it (it must yield), false when th is
 * in the fifo class and none does (never time-sliced), null when the chooser
 * decides (the default class against the default class).
 */
export function mustYield(s: KState, ranked: readonly number[], th: Thread): boolean | null {
  const mine = rank(th);
  // Only a ranked thread can outrank anyone: look at those (a few), not the whole run queue.
  for (const tid of ranked) {
    if (tid === th.tid || !ready(s, tid) || rank(s.threads.get(tid)!) <= mine) continue;
    if (!s.cpus.some((c) => c.tid === tid)) return true; // ready and not on a cpu: in the run queue
  }
  return mine > 0 ? false : null;
}
