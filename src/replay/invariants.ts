// Invariants: predicates over (state before, event, state after) that name the
// earliest event that is wrong, not the crash that follows it.
//
// applyEvent mutates the state in place, so each invariant is written as a
// pre-hook (sees the state before the event) and/or a post-hook (the state
// after). Each declares the event kinds that can break it; the checker calls
// it for those only, so a whole-trace scan never walks every lock on every
// event.

import { INERT_KINDS, liveThreads } from "../kernel/apply.ts";
import { ownerClause, ownerStatus } from "../kernel/locks.ts";
import type { InvariantDecl } from "../kernel/program.ts";
import {
  type Cpu,
  EVENT_KINDS,
  IMPORTED_KINDS,
  type KConfig,
  type KEvent,
  KIND,
  type KStack,
  type KState,
  type Lock,
  MISUSES,
  OUTCOME_KINDS,
  type Thread,
} from "../kernel/types.ts";
import { exitStrandsNone, otherWaits, surelyNotStuck } from "../kernel/wait.ts";
import { atomicSleep } from "./atomic-sleep.ts";
import { CONSISTENCY_INVARIANTS } from "./consistency.ts";
import { actorText as actor, misuseText, waitVerb } from "./describe.ts";
import { lockOrder } from "./lock-order.ts";
import { handlerDeadlock, priorityInversion, signalSafety, zombieLeak } from "./os-invariants.ts";
import { dataRace } from "./race.ts";
import type { ReplaySource } from "./source.ts";
import { noStarvation } from "./starvation.ts";
import { compileInvariant } from "./user-invariants.ts";
import { hangCauses, ownerCause, stuckFinding, stuckSet, took } from "./waits.ts";
import { wakeupInversion } from "./wakeup-inversion.ts";

export { atomicSleep, lockOrder, noStarvation, priorityInversion, signalSafety, wakeupInversion, zombieLeak };

export const INVARIANT_NAMES = [
  "recursive-mutex-owner",
  "lock-owner-alive",
  "no-deadlock",
  "kstack-in-use",
  "vmar-live",
  "no-panic",
  "lock-misuse",
  "use-after-free",
  "assertions",
  "no-livelock",
  "data-race",
  "signal-safety",
  "priority-inversion",
  "wakeup-inversion",
  "zombie-leak",
  "no-starvation",
  "atomic-sleep",
  "lock-order",
  "one-cpu-at-a-time",
  "switch-from-current",
  "no-run-after-exit",
] as const;
export type InvariantName = (typeof INVARIANT_NAMES)[number];

/** An earlier event that led to a violation, and its part in it. */
export interface Cause {
  seq: number;
  why: string;
}

/** What an invariant reports about one event. */
export interface Finding {
  /** One line in kernel terms. */
  message: string;
  /** Earlier events that set it up (seq >= 0 only), oldest first. */
  causes: Cause[];
}

export interface Invariant {
  readonly name: string;
  /** The predicate, in one or two sentences. */
  readonly doc: string;
  /** Kind codes of the events it inspects; null for every event. */
  readonly kinds: readonly number[] | null;
  /** Inspects `before` (the state before ev is applied). */
  pre?(before: KState, ev: KEvent): Finding | null;
  /** Inspects `after` (the state after ev is applied). */
  post?(after: KState, ev: KEvent): Finding | null;
  /**
   * For an invariant that needs the run's history (data-race): makes the
   * state of one run. A Checker makes one and feeds it every event of `kinds`
   * in seq order, with the state before it; `pre` and `post` are unused. A
   * run starts at seq 0; a gap in the seqs (a recovered trace) starts a fresh
   * one, which may miss what the gap hid but reports nothing that did not
   * happen. The cursor, which moves in both directions, answers such an
   * invariant from a forward scan (history.ts).
   */
  monitor?(): Monitor;
  /**
   * For an invariant with a monitor: kinds such that before the first event
   * of one of them it cannot report, and its history cannot change an
   * answer (absent: none such). Usually the kinds it reports at; wakeup-
   * inversion names sched-set, without which no thread has a priority. The
   * scan split at snapshots (parallel-scan.ts) leaves it out up to there, and
   * a run that emits none of them never needs it (reportingIn).
   */
  readonly reports?: readonly number[];
  /**
   * For an invariant that inspects every event (kinds null), or kinds that
   * are frequent, but can find something only in some states: test(s) says
   * whether s is one, and `by` lists the kinds whose events can make it one.
   * While test is false, an event of any kind not in `by` breaks the
   * invariant nowhere and leaves test false, so the Checker skips it there
   * (kstack-in-use: a cpu on a freed kernel stack; recursive-mutex-owner: a
   * recursive mutex). Its hooks always run at the kinds in `by` (or `at`).
   */
  readonly armed?: Armed;
  /**
   * An opt-in invariant: the rule (a KConfig flag) a world sets to put it in
   * its default set. Out of the default set otherwise, it runs whenever it
   * is named (inDefaultSet is the one rule).
   */
  readonly optIn?: OptInRule;
}

/** The KConfig flags that opt a world in to an invariant. */
export type OptInRule = "zombieCheck" | "lockOrder" | "starvationCheck";

/** The one rule for opt-in invariants: in a world's default set when its config sets the flag (or it has none); run whenever named. */
export function inDefaultSet(inv: Invariant, config?: Partial<KConfig>): boolean {
  return inv.optIn === undefined || config?.[inv.optIn] === true;
}

/**
 * See Invariant.armed. Optional refinements, for speed: `at`, the kinds of
 * `by` at which its hooks can find something while test is false (default:
 * all of them; at the others the Checker skips it too), and since(s, ev),
 * which must equal test(s) for s the state after ev, an event of `by`, when
 * test was false before it (default: test(s)).
 */
export interface Armed {
  readonly by: readonly number[];
  readonly at?: readonly number[];
  test(s: KState): boolean;
  since?(s: KState, ev: KEvent): boolean;
}

/** The per-run state of an invariant that needs history: sees the events in order. */
export interface Monitor {
  /** ev breaks the invariant, judged on the history so far and the state before ev. */
  pre(before: KState, ev: KEvent): Finding | null;
}

/** A broken invariant at one event. */
export interface Violation {
  seq: number;
  invariant: string;
  message: string;
  event: KEvent;
  causes: Cause[];
}

function causes(...cs: (Cause | null)[]): Cause[] {
  const out = cs.filter((c): c is Cause => c !== null && c.seq >= 0);
  out.sort((x, y) => x.seq - y.seq);
  return out;
}

function copied(l: Lock): string {
  return l.copiedSeq >= 0 ? ` (copied at fork, seq ${l.copiedSeq})` : "";
}

function copyCause(l: Lock): Cause | null {
  if (l.copiedSeq < 0) return null;
  const by = l.owner >= 0 && l.since < l.copiedSeq ? `tid ${l.owner} held it` : "it was held";
  return { seq: l.copiedSeq, why: `fork copied ${l.name} into pid ${l.space} while ${by}` };
}

// ---- recursive-mutex-owner ------------------------------------------------------

function recursiveRelease(s: KState, ev: KEvent, lockId: number, recorded: number, caller: number): Finding {
  const l = s.locks.get(lockId);
  const t = s.threads.get(ev.tid);
  const name = l ? l.name : `lock ${lockId}`;
  const pid = t ? ` in pid ${t.pid}` : "";
  return {
    message: `tid ${ev.tid}${pid} unlocks ${name} (recursive), owned by ident ${recorded}, but its own ident is ${caller}${l ? copied(l) : ""}`,
    causes: l ? causes(ownerCause(l, `owner ident ${recorded} recorded in ${name}`), copyCause(l)) : [],
  };
}

export const recursiveMutexOwner: Invariant = {
  name: "recursive-mutex-owner",
  doc: "A recursive mutex is released only by the thread whose ident it recorded as owner: an unlock-not-owner event, or a lock-release of a recursive mutex by a thread whose pthread_self() differs from the recorded ident, breaks it.",
  kinds: [KIND.unlockNotOwner, KIND.lockRelease],
  // A release can break it only while some lock is a recursive mutex: only a lock-new makes one where none is
  // (a fork copies those there are; a lock's type never changes). An unlock-not-owner breaks it whatever the lock.
  armed: {
    by: [KIND.lockNew, KIND.unlockNotOwner, ...IMPORTED_KINDS],
    at: [KIND.unlockNotOwner],
    test(s) {
      for (const l of s.locks.values()) if (l.type === "recursive") return true;
      return false;
    },
    since(s, ev) {
      return ev.kind === KIND.lockNew ? s.locks.get(ev.a)?.type === "recursive" : this.test(s);
    },
  },
  pre(s, ev) {
    if (ev.kind === KIND.unlockNotOwner) return recursiveRelease(s, ev, ev.a, ev.b, ev.c);
    const l = s.locks.get(ev.a);
    if (l?.type !== "recursive") return null;
    const t = s.threads.get(ev.tid);
    if (!t || l.ident === t.ident) return null;
    return recursiveRelease(s, ev, l.id, l.ident, t.ident);
  },
};

// ---- lock-owner-alive ---------------------------------------------------------

export const lockOwnerAlive: Invariant = {
  name: "lock-owner-alive",
  doc: "A thread uses (waits on, spins on, or takes by recursion) only a lock whose owner is alive in the lock's address space: a lock-wait, or a lock-acquire of a held lock, on a lock held by a thread that does not exist there, has exited, or is gone, breaks it. A held lock copied into a fork child, or held by a thread that exits, is only a hazard until someone uses it; the explanation names the fork that copied it.",
  kinds: [KIND.lockWait, KIND.lockAcquire],
  pre(s, ev) {
    const l = s.locks.get(ev.a);
    if (!l || l.owner < 0 || l.owner === ev.tid) return null;
    const st = ownerStatus(s, l);
    if (st === "alive" || st === "free") return null;
    const how = ev.kind === KIND.lockAcquire ? "takes (recursively)" : waitVerb(ev.b);
    return {
      message: `${actor(s, ev.tid)} ${how} ${l.name} held by tid ${l.owner}${ownerClause(s, l)}${st === "exited" ? "" : copied(l)}`,
      causes: causes(
        ownerCause(
          l,
          `tid ${l.owner} took ${l.name}${l.copiedSeq >= 0 && l.since < l.copiedSeq && l.space > 0 ? " in the parent" : ""}`,
        ),
        copyCause(l),
      ),
    };
  },
};

// ---- no-deadlock ----------------------------------------------------------------

/** Why the owner of l can never release it for `waiter`, or null if it may. */
export function cannotRelease(s: KState, l: Lock, waiter: number): string | null {
  return blocked(s, l, waiter)?.why ?? null;
}

/**
 * Why the owner of l can never release it for `waiter`, with the events that
 * made it so: the owner gone or absent (its acquire, and the fork that copied
 * the lock), or a wait-for cycle back to the waiter: every lock of the cycle's
 * acquire and every thread of it's lock-wait, so the whole cycle is shown.
 */
function blocked(s: KState, l: Lock, waiter: number): { why: string; causes: Cause[] } | null {
  if (l.owner < 0) return null;
  if (l.owner === waiter)
    return { why: `held by tid ${waiter} itself (${l.type} lock taken twice)`, causes: causes(took(l)) };
  const st = ownerStatus(s, l);
  if (st !== "alive")
    return {
      why: `held by tid ${l.owner}${ownerClause(s, l)}${st === "exited" ? "" : copied(l)}`,
      causes: causes(took(l), copyCause(l)),
    };
  const o = s.threads.get(l.owner)!;
  // A wait-for cycle: owner waits on a lock whose owner waits ... on one the waiter holds.
  // Followed once without words (most waits have none), and again to say it.
  const steps = cycleSteps(s, o, waiter);
  if (steps < 0) return null;
  const path = [`tid ${o.tid}`];
  const found: (Cause | null)[] = [took(l)];
  let cur = o;
  for (let i = 0; i < steps; i++) {
    const l2 = s.locks.get(cur.waitLock)!;
    path.push(`waits on ${l2.name} held by tid ${l2.owner}`);
    found.push(
      cur.waitSince !== undefined ? { seq: cur.waitSince, why: `tid ${cur.tid} waits on ${l2.name}` } : null,
      took(l2),
    );
    if (i < steps - 1) cur = s.threads.get(l2.owner)!;
  }
  return { why: `held by tid ${l.owner}, in a wait-for cycle: ${path.join(" ")}`, causes: causes(...found) };
}

/** The number of lock waits from thread o to a lock `waiter` holds (each owner waiting on the next lock), or -1 when the chain ends or loops without reaching it. */
function cycleSteps(s: KState, o: Thread, waiter: number): number {
  let cur = o;
  for (let i = 0; i <= s.threads.size; i++) {
    if (cur.waitLock < 0) return -1;
    const l2 = s.locks.get(cur.waitLock);
    if (!l2 || l2.owner < 0) return -1;
    if (l2.owner === waiter) return i + 1;
    const next = s.threads.get(l2.owner);
    if (!next || next === cur) return -1;
    cur = next;
  }
  return -1;
}

/** The finding without the event it is reported at among its causes. */
function notAt(f: Finding, seq: number): Finding {
  return { message: f.message, causes: f.causes.filter((c) => c.seq !== seq) };
}

/** Wait events: the waiter may have just become a thread that can never run again. */
const WAITS: readonly number[] = [
  KIND.lockWait,
  KIND.futexWait,
  KIND.waitBlock,
  KIND.joinWait,
  KIND.pipeWait,
  KIND.pause,
  KIND.sigwait,
];
/** The threads stuck before a thread-exit (set by the pre-hook for its post-hook; the pair runs for one event at a time; one record, rewritten: no allocation per exit). */
const stuckBefore: { seq: number; time: number; set: Set<number> | null; none: boolean } = {
  seq: -1,
  time: -1,
  set: null,
  none: false,
};

/** Whether a thread waits to read or write pipe id (a close of one of its descriptors may leave that wait nobody to end it). */
function pipeWaited(s: KState, id: number): boolean {
  for (const t of liveThreads(s))
    if (t.state === "blocked" && t.waitOn !== undefined && t.waitOn.id === id && t.waitOn.what.startsWith("pipe-"))
      return true;
  return false;
}

/**
 * no-deadlock at a thread-exit or an fd-close (apart from post: its closure would make the engine allocate post's
 * scope at every wait): the threads stuck after it and not before. A close strands a pipe's waiter when the process
 * it closes in was the last one, besides the waiter's own, holding the other end.
 */
function strandedBy(s: KState, ev: KEvent): Finding | null {
  const was = stuckBefore.seq === ev.seq && stuckBefore.time === ev.time ? stuckBefore : null;
  if (was === null || was.none || !otherWaits(s)) return null;
  const now = stuckSet(s);
  if (now === null) return null;
  const fresh = [...now].filter((t) => !was.set?.has(t)).sort((a, b) => a - b);
  return fresh.length === 0 ? null : notAt(stuckFinding(s, fresh[0]!, now), ev.seq);
}

export const noDeadlock: Invariant = {
  name: "no-deadlock",
  doc: "A thread waits only for what can still happen: a lock-wait on a lock whose owner is gone, exited, absent from the lock's address space, or in a wait-for cycle with the waiter breaks it; so does any wait nothing can end any more (a futex or condition variable no thread left can wake, a join or waitpid whose target can never exit, a pipe read whose write end only such threads hold), at the wait, at the exit of the last thread that could have ended it, or at the close of the last descriptor of the pipe's other end that such a thread held; and a hang. The causes are every wait and acquire in the cycle, a lost wakeup of the futex word, a wakeup a waiter slept again after (and the writes, since it, of the values it read), the delivery of a signal whose handler a thread waits in, the fork that passed a pipe end on.",
  kinds: [...WAITS, KIND.hang, KIND.threadExit, KIND.fdClose],
  pre(s, ev) {
    if (ev.kind === KIND.threadExit || ev.kind === KIND.fdClose) {
      // none: no thread can be newly stuck after it (exitStrandsNone; a close: nobody waits on its pipe), so the
      // post-hook has nothing to compare.
      const none = ev.kind === KIND.threadExit ? exitStrandsNone(s, ev.a) : !pipeWaited(s, ev.b);
      stuckBefore.seq = ev.seq;
      stuckBefore.time = ev.time;
      stuckBefore.set = none || !otherWaits(s) ? null : stuckSet(s);
      stuckBefore.none = none;
    }
    return null;
  },
  post(s, ev) {
    if (ev.kind === KIND.hang) return { message: `no thread can ever run again: ${ev.s}`, causes: hangCauses(s) };
    if (ev.kind === KIND.threadExit || ev.kind === KIND.fdClose) return strandedBy(s, ev);
    if (ev.kind === KIND.lockWait) {
      const l = s.locks.get(ev.a);
      if (!l || handlerDeadlock(s, ev) !== undefined) return null; // signal-safety's
      const b = blocked(s, l, ev.tid);
      if (b !== null) {
        return {
          message: `${actor(s, ev.tid)} ${waitVerb(ev.b)} ${l.name}, ${b.why}: it can never be released`,
          causes: b.causes.filter((c) => c.seq !== ev.seq),
        };
      }
    }
    if (surelyNotStuck(s, ev.tid)) return null;
    // Without a cycle, a lock waiter is stuck only through another kind of wait (otherWaits walks every thread: last).
    if (ev.kind === KIND.lockWait && !otherWaits(s)) return null;
    const now = stuckSet(s);
    if (now === null || !now.has(ev.tid)) return null;
    return notAt(stuckFinding(s, ev.tid, now), ev.seq);
  },
};

// ---- kstack-in-use ----------------------------------------------------------------

/** The kernel stack cpu c runs on when it is freed or another thread's (what kstack-in-use flags), else undefined. */
function badKstack(s: KState, c: Cpu): KStack | undefined {
  if (c.kstack < 0) return undefined;
  const k = s.kstacks.get(c.kstack);
  return k !== undefined && (k.state === "freed" || k.tid !== c.tid) ? k : undefined;
}

export const kstackInUse: Invariant = {
  name: "kstack-in-use",
  doc: "A kernel stack is not freed while a CPU runs on it, and no CPU runs on a freed (or reallocated) kernel stack: a kstack-free of a stack some CPU is on, or any event executed on a CPU whose current kernel stack is freed or now another thread's, breaks it.",
  kinds: null,
  // Only a switch, a kernel stack's allocation or free (and an imported trace's task events, which move tids) change which stack a cpu is on or whose it is.
  armed: {
    by: [KIND.switch, KIND.kstackAlloc, KIND.kstackFree, ...IMPORTED_KINDS],
    // With no cpu on a bad stack before it, only a kstack-free's own check can find something.
    at: [KIND.kstackFree],
    test(s) {
      for (const c of s.cpus) if (badKstack(s, c) !== undefined) return true;
      return false;
    },
    // A simulated switch moves one cpu; a stack's allocation or free changes the cpus on that stack.
    since(s, ev) {
      if (ev.kind === KIND.switch && ev.c === 0) {
        const c = s.cpus[ev.cpu];
        return c !== undefined && badKstack(s, c) !== undefined;
      }
      if (ev.kind !== KIND.kstackAlloc && ev.kind !== KIND.kstackFree) return this.test(s);
      for (const c of s.cpus) if (c.kstack === ev.a && badKstack(s, c) !== undefined) return true;
      return false;
    },
  },
  pre(s, ev) {
    if (ev.kind === KIND.kstackFree) {
      for (const c of s.cpus) {
        if (c.kstack !== ev.a) continue;
        const k = s.kstacks.get(ev.a);
        return {
          message: `kernel stack ${ev.a}${k ? ` of tid ${k.tid}` : ""} freed while cpu ${c.id} still runs on it (tid ${c.tid})`,
          causes: causes(k ? { seq: k.allocSeq, why: `kernel stack ${ev.a} allocated for tid ${k.tid}` } : null),
        };
      }
    }
    if (ev.cpu < 0) return null;
    const c = s.cpus[ev.cpu];
    if (c === undefined) return null;
    const k = badKstack(s, c);
    if (k === undefined) return null;
    if (k.state === "freed") {
      return {
        message: `cpu ${c.id} runs tid ${c.tid} on kernel stack ${k.id}, freed at seq ${k.freeSeq}`,
        causes: causes(
          { seq: k.allocSeq, why: `kernel stack ${k.id} allocated` },
          { seq: k.freeSeq, why: `kernel stack ${k.id} freed` },
        ),
      };
    }
    return {
      message: `cpu ${c.id} runs tid ${c.tid} on kernel stack ${k.id}, which now belongs to tid ${k.tid}`,
      causes: causes({ seq: k.allocSeq, why: `kernel stack ${k.id} reallocated for tid ${k.tid}` }),
    };
  },
};

// ---- vmar-live ------------------------------------------------------------------------

export const vmarLive: Invariant = {
  name: "vmar-live",
  doc: "A cleared VMAR is never dereferenced: a procfs-read that reads RSS from (rss 1) or unwraps (rss 2) the root VMAR of a process whose VMAR exit set to None breaks it.",
  kinds: [KIND.procfsRead],
  pre(s, ev) {
    if (ev.b === 0) return null;
    const p = s.procs.get(ev.a);
    if (!p || p.vmar !== null) return null;
    const how = ev.b === 2 ? "unwraps" : "reads VmRSS from";
    return {
      message: `tid ${ev.tid} reads /proc/${p.pid}/status and ${how} pid ${p.pid}'s root VMAR, which exit cleared at seq ${p.vmarClearedSeq} (pid ${p.pid} is ${p.state === "zombie" ? "a zombie, not yet reaped" : p.state === "reaped" ? "reaped, held only by the open procfs file" : "a process still exiting"})`,
      causes: causes({ seq: p.vmarClearedSeq, why: `exit of pid ${p.pid} set its root VMAR to None` }),
    };
  },
};

// ---- no-panic ----------------------------------------------------------------------------

export const noPanic: Invariant = {
  name: "no-panic",
  doc: "The kernel never panics: a panic event breaks it.",
  kinds: [KIND.panic],
  pre(_s, ev) {
    return { message: `kernel panic: ${ev.s}`, causes: [] };
  },
};

// ---- lock-misuse ------------------------------------------------------------------------------

const UNLOCK_INCONSISTENT = MISUSES.indexOf("unlock-inconsistent");

export const lockMisuse: Invariant = {
  name: "lock-misuse",
  doc: "Locks are used as their type allows: an unlock of a lock not held, an unlock by a thread that does not own it, a relock of a non-recursive lock by its owner, a recursive mutex's level going below zero, or an unlock of a robust mutex taken with EOWNERDEAD without pthread_mutex_consistent (it becomes not recoverable) (a lock-misuse event) breaks it, whatever the type makes of it (an error returned, undefined behaviour, a fatal error).",
  kinds: [KIND.lockMisuse],
  pre(s, ev) {
    if (handlerDeadlock(s, ev) !== undefined) return null; // signal-safety's
    const l = s.locks.get(ev.a);
    // An unlock of an inconsistent robust mutex: its owner's death is a cause too.
    const died =
      l?.diedSeq !== undefined && ev.b === UNLOCK_INCONSISTENT
        ? { seq: l.diedSeq, why: `its owner died holding ${l.name} (owner-died)` }
        : null;
    return {
      message: `${actor(s, ev.tid)} ${misuseText(s, ev)}`,
      causes: l
        ? causes(ownerCause(l, l.owner >= 0 ? `tid ${l.owner} took ${l.name}` : `${l.name} released`), died)
        : [],
    };
  },
};

// ---- use-after-free -------------------------------------------------------------------------

export const useAfterFree: Invariant = {
  name: "use-after-free",
  doc: "A heap object is used only while it is allocated, and freed once: an obj-use of a freed object, or an obj-free of an object already freed (a double free), breaks it.",
  kinds: [KIND.objUse, KIND.objFree],
  pre(s, ev) {
    const o = s.objs.get(ev.a);
    if (o?.state !== "freed") return null;
    const what = ev.kind === KIND.objFree ? "frees" : `dereferences (${ev.s})`;
    return {
      message: `${actor(s, ev.tid)} ${what} ${o.name}#${o.id}, freed at seq ${o.freeSeq}${ev.kind === KIND.objFree ? ": a double free" : ": a use after free"}`,
      causes: causes(
        { seq: o.allocSeq, why: `${o.name}#${o.id} allocated` },
        { seq: o.freeSeq, why: `${o.name}#${o.id} freed` },
      ),
    };
  },
};

// ---- assertions ----------------------------------------------------------------------------------

export const assertions: Invariant = {
  name: "assertions",
  doc: "Every check the scenario's programs make holds: an assert, BUG_ON, unwrap of None, NULL dereference or division by zero (an assert-fail event) breaks it.",
  kinds: [KIND.assertFail],
  pre(s, ev) {
    return { message: `${actor(s, ev.tid)}${ev.a ? " in kernel mode" : ""}: ${ev.s}`, causes: [] };
  },
};

// ---- no-livelock ----------------------------------------------------------------------------------

const LIVELOCK = OUTCOME_KINDS.indexOf("livelock");

export const noLivelock: Invariant = {
  name: "no-livelock",
  doc: "A scenario that marks progress (progress ops) keeps making it: a run cut by the event budget with no progress event in its last progress window (an end event with outcome livelock: its threads only spin or retry) breaks it.",
  kinds: [KIND.end],
  pre(_s, ev) {
    if (ev.a !== LIVELOCK) return null;
    return { message: ev.s, causes: causes(ev.b >= 0 ? { seq: ev.b, why: "the last progress" } : null) };
  },
};

/** Every built-in invariant, in INVARIANT_NAMES order (the opt-in ones too: see inDefaultSet). */
export const BUILT_IN: readonly Invariant[] = [
  recursiveMutexOwner,
  lockOwnerAlive,
  noDeadlock,
  kstackInUse,
  vmarLive,
  noPanic,
  lockMisuse,
  useAfterFree,
  assertions,
  noLivelock,
  dataRace,
  signalSafety,
  priorityInversion,
  wakeupInversion,
  zombieLeak,
  noStarvation,
  atomicSleep,
  lockOrder,
  ...CONSISTENCY_INVARIANTS,
];

/** The built-in invariants of the default set of a world that opts in to none (BUILT_IN less the opt-in ones). */
export const INVARIANTS: readonly Invariant[] = BUILT_IN.filter((i) => inDefaultSet(i));

/** The built-in invariants of the default set of a world with this config. */
export function builtInFor(config?: Partial<KConfig>): readonly Invariant[] {
  if (optInSet(config) === 0) return INVARIANTS;
  return BUILT_IN.filter((i) => inDefaultSet(i, config));
}

/** Unknown invariant name. exitCode 2. */
export class InvariantNameError extends Error {
  readonly exitCode = 2;
  readonly hint: string;
  constructor(name: string, available: readonly Invariant[] = BUILT_IN) {
    super(`unknown invariant '${name}'`);
    this.hint = `invariants: ${available.map((i) => i.name).join(", ")}`;
  }
}

/** A scenario's invariants that do not hold together (from a trace header: damaged or hostile). exitCode 2. */
export class InvariantDeclError extends Error {
  readonly exitCode = 2;
}

const compiled = new WeakMap<readonly InvariantDecl[], Invariant[]>();

/** A scenario's own invariants, compiled (once per declaration list). */
function ownInvariants(decls?: readonly InvariantDecl[]): Invariant[] {
  if (!decls || decls.length === 0) return [];
  let own = compiled.get(decls);
  if (own === undefined) {
    own = decls.map(compileInvariant);
    compiled.set(decls, own);
  }
  return own;
}

/**
 * The invariant registry of a run: its default set, the built-in invariants
 * (the opt-in ones its config sets: inDefaultSet), then the scenario's own
 * (declared in build(), or read from a trace header), in declaration order.
 * Every consumer (check, explore, replay, report) takes its invariants from
 * here, so a scenario's own go wherever built-in ones go.
 */
export function invariantsFor(decls?: readonly InvariantDecl[], config?: Partial<KConfig>): Invariant[] {
  return [...builtInFor(config), ...ownInvariants(decls)];
}

const checkers = new WeakMap<readonly InvariantDecl[], (Checker | undefined)[]>();
const NO_DECLS: readonly InvariantDecl[] = [];
/** The built-in opt-in invariants (those with a rule), in order: bit i of an opt-in set is the i-th. */
const OPT_INS = BUILT_IN.filter((i) => i.optIn !== undefined);

/** The opt-in invariants a config sets, by name, with their parameters ("no-starvation (window 4,000 events)"), for headers and reports. */
export function optedInText(config?: Partial<KConfig>): string[] {
  return OPT_INS.filter((i) => inDefaultSet(i, config)).map((i) =>
    i.name === "no-starvation" && config?.starvationWindow !== undefined
      ? `${i.name} (window ${config.starvationWindow.toLocaleString("en-US")} events)`
      : i.name,
  );
}

/** The opt-in invariants a config sets, as a set of bits (0: none; its default set is INVARIANTS). */
export function optInSet(config?: Partial<KConfig>): number {
  let set = 0;
  for (let i = 0; i < OPT_INS.length; i++) if (config?.[OPT_INS[i]!.optIn!] === true) set |= 1 << i;
  return set;
}

/**
 * A Checker of a run's default set (invariantsFor(decls, config)), made once
 * per declaration list and set of opt-ins and reused: runs one after another
 * (explore, shrink); its monitors start afresh at each run's seq 0.
 */
export function defaultChecker(decls: readonly InvariantDecl[] | undefined, config?: Partial<KConfig>): Checker {
  const key = decls && decls.length > 0 ? decls : NO_DECLS;
  const set = optInSet(config);
  let bySet = checkers.get(key);
  if (bySet === undefined) checkers.set(key, (bySet = []));
  return (bySet[set] ??= new Checker(invariantsFor(key, config)));
}

/**
 * The invariants of `invs` that can report in a run that emits none of the
 * kinds `absent`: an invariant whose `reports` are all absent finds nothing
 * there, and is left out (a checker without it gives the same answers, with
 * less work per event: explore's per-scenario setup).
 */
export function reportingIn(invs: readonly Invariant[], absent: readonly number[]): readonly Invariant[] {
  const kept = invs.filter((inv) => inv.reports === undefined || inv.reports.some((k) => !absent.includes(k)));
  return kept.length === invs.length ? invs : kept;
}

/**
 * The registry for a recorded run: the default set of its world (its
 * config's opt-ins) and the invariants its trace header (or memory source)
 * declares. Throws InvariantDeclError when the header's invariants do not
 * validate.
 */
export function invariantsOf(src: Pick<ReplaySource, "meta">): Invariant[] {
  return invariantsFor(declsOf(src), src.meta.config);
}

/** The scenario's own invariants of a recorded run; throws InvariantDeclError when they do not validate. */
function declsOf(src: Pick<ReplaySource, "meta">): readonly InvariantDecl[] | undefined {
  const err = src.meta.invariantError;
  if (err)
    throw new InvariantDeclError(
      `the trace's own invariants do not validate (${err}); check with --invariant NAME for the built-in ones`,
    );
  return src.meta.invariants;
}

/**
 * The invariants `names` selects for a recorded run: its default set
 * (invariantsOf) when none are named; else among the built-in ones alone
 * when every name is built-in (so a trace whose own invariants are damaged
 * can still be checked with them), else among the built-in ones and the
 * trace's own. Throws InvariantNameError, InvariantDeclError.
 */
export function selectFor(src: Pick<ReplaySource, "meta">, names?: readonly string[]): Invariant[] {
  if (!names || names.length === 0) return invariantsOf(src);
  const builtIn = names.every((n) => (INVARIANT_NAMES as readonly string[]).includes(n));
  return selectInvariants(names, builtIn ? BUILT_IN : [...BUILT_IN, ...ownInvariants(declsOf(src))]);
}

/**
 * The invariants with these names among `available` (default: the built-in
 * ones); when names is empty or undefined, those of `available` in the
 * default set of a world with `config` (inDefaultSet). Throws
 * InvariantNameError naming what is available.
 */
export function selectInvariants(
  names?: readonly string[],
  available: readonly Invariant[] = BUILT_IN,
  config?: Partial<KConfig>,
): Invariant[] {
  if (!names || names.length === 0) return available.filter((i) => inDefaultSet(i, config));
  const out: Invariant[] = [];
  for (const n of names) {
    const inv = available.find((i) => i.name === n);
    if (!inv) throw new InvariantNameError(n, available);
    if (!out.includes(inv)) out.push(inv);
  }
  return out;
}

/** The invariant keeps no history of its own (a predicate over one event and its states): a scan of it may start at any snapshot. */
export function splittable(inv: Invariant): boolean {
  return inv.monitor === undefined;
}

/**
 * How the invariants split: those checked in segments, and for those with a
 * history (a monitor) the kinds of the events they can report at (by kind
 * code), or null when there are none. Until the first such event an
 * invariant with a history cannot report, so the segments' answer is the
 * serial one if it comes first; if not, the whole scan is serial. An
 * invariant with a history that does not say where it reports cannot be left
 * out at all: `serial` says so. (parallel-scan.ts splits so; a serial scan
 * leaves each out until such an event of its own: scan.ts, checkWhole.)
 */
export interface Plan {
  split: Invariant[];
  reports: Uint8Array | null;
  /** Why the scan must be serial whatever the trace holds, or null. */
  serial: string | null;
}

export function planFor(invs: readonly Invariant[]): Plan {
  const split = invs.filter(splittable);
  const historic = invs.filter((i) => !splittable(i));
  if (historic.length === 0) return { split, reports: null, serial: null };
  const loose = historic.filter((i) => i.reports === undefined);
  if (loose.length > 0)
    return {
      split,
      reports: null,
      serial: `${loose.map((i) => i.name).join(", ")} keeps a history of the run and may report anywhere`,
    };
  const reports = new Uint8Array(Math.max(0, ...historic.flatMap((i) => i.reports!)) + 1);
  for (const i of historic) for (const k of i.reports!) reports[k] = 1;
  return { split, reports, serial: null };
}

/**
 * The invariant as a pure predicate over (before, ev, after): the finding of
 * its pre-hook on `before`, else of its post-hook on `after`. `after` must be
 * `before` with ev applied (two distinct states). An invariant that needs
 * history (a monitor) is no such predicate: null.
 */
export function checkEvent(inv: Invariant, before: KState, ev: KEvent, after: KState): Finding | null {
  if (inv.kinds !== null && !inv.kinds.includes(ev.kind)) return null;
  return inv.pre?.(before, ev) ?? inv.post?.(after, ev) ?? null;
}

/** No kind is quiet. */
const NONE_QUIET = new Uint8Array(0);
/** No state (a Checker's `last` before any, or after an event it did not see whole): an object, not null, so that the compiled comparisons see one type. */
const NO_STATE = {} as KState;

/** A Checker's dispatch lists for one set of armed invariants (see Checker). */
interface Dispatch {
  /** By kind code: the invariants (as run: a monitor's through its wrapper) whose pre-hook inspects it, in order; null for none. */
  pre: (Invariant[] | null)[];
  post: (Invariant[] | null)[];
  /**
   * By kind code, for the kinds no hook here inspects and no `armed` lists
   * in `by`: 1 for those in INERT_KINDS, 2 for the others; 3 for the kinds
   * that only pre-hooks inspect (no post-hook, no monitor) and no `armed`
   * lists in `by`; 0 for the rest.
   */
  idle: Uint8Array;
}

/**
 * Runs a set of invariants around applyEvent: call before(s, ev), then
 * applyEvent(s, ev), then after(s, ev), for every event in seq order. Dispatch
 * is by kind code through lists built once (per kind, the hooks that inspect
 * it, in INVARIANT order), so events no invariant cares about cost one array
 * lookup, and an event allocates nothing unless something breaks.
 * An invariant with a monitor gets a fresh one at the first event and
 * whenever the seqs jump (a new run starting at seq 0, a gap).
 *
 * An invariant with `armed` is left out of the lists while its test is
 * false: the Checker tests the state after each event of its `by` kinds, and
 * whenever it meets another state object or a jump in the seqs (until then,
 * from an event of its `by` kinds on, it counts as armed). `quietOn` marks the
 * kinds no hook inspects now and whose fold is only a seq and time
 * (INERT_KINDS) with 1, and those whose fold is more with 2: a scan may
 * fold those itself (applyInert for the first, applyEvent for the second)
 * without calling the Checker, counting them in `folded`, so that they are
 * no jump (checkRange). It marks with 3 the kinds that only pre-hooks
 * inspect now and that arm nothing (lock-acquire, ~10% of `stress`): a scan
 * may run those hooks itself (`preOnly`, the same hooks in the same order as
 * before() would), fold the event, and count it in `folded` too.
 */
export class Checker {
  readonly invariants: readonly Invariant[];
  /** The invariants as run (a monitor's through its wrapper), in order. */
  private readonly live: Invariant[];
  /** The invariants with a monitor, and their current monitors (same order). */
  private readonly historic: Invariant[] = [];
  private readonly monitors: Monitor[] = [];
  /** The invariants with `armed` (bit g of a set is the g-th), and by kind code the set whose `by` lists it, and whose `at`. */
  private readonly guarded: Invariant[] = [];
  private readonly touch: Int32Array;
  private readonly at: Int32Array;
  /** Kind codes below this have their own lists; above, every-event hooks only (and every invariant counts as armed). */
  private readonly top: number;
  /** The set of armed invariants now (-1: all of them, -2: none chosen yet), and the dispatch lists for it (built on first use, by set). */
  private armed = -2;
  /** The invariants whose `by` lists the kind of the event before() last saw, for after() to test. */
  private pending = 0;
  private d!: Dispatch;
  private readonly dispatch: (Dispatch | undefined)[] = [];
  /** For a kind code past the kind table: the hooks of the invariants that inspect every event. */
  private readonly preAll: Invariant[] | null;
  private readonly postAll: Invariant[] | null;
  /** The current dispatch's `idle` (see quietOn). */
  private quiet: Uint8Array = NONE_QUIET;
  /** Events folded so, since the Checker was made. */
  folded = 0;
  /** `folded` as the last before() saw it. */
  private foldedSeen = 0;
  /** The seq expected next, and the state it is expected on. */
  private next = -1;
  private last: KState = NO_STATE;

  constructor(invariants: readonly Invariant[]) {
    this.invariants = invariants;
    this.live = invariants.map((inv) => {
      if (!inv.monitor) return inv;
      const m = this.historic.push(inv) - 1;
      this.monitors.push(inv.monitor());
      return {
        name: inv.name,
        doc: inv.doc,
        kinds: inv.kinds,
        pre: (s: KState, ev: KEvent) => this.monitors[m]!.pre(s, ev),
      } satisfies Invariant;
    });
    let top = EVENT_KINDS.length;
    for (const inv of invariants)
      for (const k of [...(inv.kinds ?? []), ...(inv.armed?.by ?? [])])
        if (Number.isSafeInteger(k) && k >= 0 && k < 4096) top = Math.max(top, k + 1);
    this.top = top;
    this.touch = new Int32Array(top);
    this.at = new Int32Array(top);
    for (const inv of invariants) {
      if (inv.armed === undefined || this.guarded.length >= 30) continue;
      const bit = 1 << this.guarded.length;
      this.guarded.push(inv);
      for (const k of inv.armed.by) if (k >= 0 && k < top) this.touch[k]! |= bit;
      for (const k of inv.armed.at ?? inv.armed.by)
        if (k >= 0 && k < top && inv.armed.by.includes(k)) this.at[k]! |= bit;
    }
    this.preAll = this.list(-1, "pre", -1);
    this.postAll = this.list(-1, "post", -1);
    this.setArmed(-1);
  }

  /** The hooks that inspect kind k (-1: every event) with the armed set `armed`. */
  private list(k: number, hook: "pre" | "post", armed: number): Invariant[] | null {
    const out = this.live.filter((inv, i) => {
      if (inv[hook] === undefined || !(inv.kinds === null || inv.kinds.includes(k))) return false;
      const g = this.guarded.indexOf(this.invariants[i]!);
      return g < 0 || (armed & (1 << g)) !== 0 || (k >= 0 && (this.at[k]! & (1 << g)) !== 0);
    });
    return out.length > 0 ? out : null;
  }

  /** Makes `armed` the armed set (-1: every invariant): its dispatch lists, and `quiet`. */
  private setArmed(armed: number): Dispatch {
    if (armed !== -1) armed &= (1 << this.guarded.length) - 1;
    if (armed === this.armed) return this.d;
    return this.rearm(armed);
  }

  /** setArmed for a set other than the current one (apart: the hot path above stays small for the compiler). */
  private rearm(armed: number): Dispatch {
    this.armed = armed;
    const slot = armed === -1 ? 1 << this.guarded.length : armed;
    let d = this.dispatch[slot];
    if (d === undefined) {
      const pre: (Invariant[] | null)[] = [];
      const post: (Invariant[] | null)[] = [];
      const idle = new Uint8Array(this.top);
      for (let k = 0; k < this.top; k++) {
        pre.push(this.list(k, "pre", armed));
        post.push(this.list(k, "post", armed));
        if (this.touch[k] === 0 && !pre[k] && !post[k])
          idle[k] = k < INERT_KINDS.length && INERT_KINDS[k] === 1 ? 1 : 2;
        else if (
          this.touch[k] === 0 &&
          !post[k] &&
          pre[k]!.every((inv) => !this.invariants[this.live.indexOf(inv)]?.monitor)
        )
          idle[k] = 3;
      }
      d = { pre, post, idle };
      this.dispatch[slot] = d;
    }
    this.d = d;
    this.quiet = d.idle;
    return d;
  }

  /**
   * The set of the guarded invariants (of those in `which`) whose test holds
   * on s, the state after ev (an event of their `by`); those not in `was`
   * were not armed before it (their `since` may say).
   */
  private tested(s: KState, which: number, ev: KEvent, was: number): number {
    let out = 0;
    for (let g = 0; g < this.guarded.length; g++) {
      const bit = 1 << g;
      if ((which & bit) === 0) continue;
      const a = this.guarded[g]!.armed!;
      if ((was & bit) === 0 && a.since !== undefined ? a.since(s, ev) : a.test(s)) out |= bit;
    }
    return out;
  }

  /** The set of the guarded invariants whose test holds on s (apart from tested: a state met afresh, no event; one argument type per call site for the compiler). */
  private testedAll(s: KState): number {
    let out = 0;
    for (let g = 0; g < this.guarded.length; g++) if (this.guarded[g]!.armed!.test(s)) out |= 1 << g;
    return out;
  }

  /**
   * By kind code, the events of s a scan may fold now without calling
   * before and after (see the class comment): 1 by applyInert, 2 by
   * applyEvent, 0 not; valid until the next before() or after(). Only for
   * the state the last before() and after() were called with, and for the
   * event after theirs: on another state (a scan resumed from a snapshot),
   * or after a before() without its after() (a violation), none is, until
   * before() has seen it.
   */
  quietOn(s: KState): Uint8Array {
    return s === this.last && this.pending === 0 ? this.quiet : NONE_QUIET;
  }

  /**
   * For an event whose kind quietOn marks 3: what before(s, ev) would give
   * (its kind's pre-hooks, every one run, the first finding in order), for
   * a scan that then folds ev itself and counts it in `folded`: after() has
   * nothing to do for such a kind.
   */
  preOnly(s: KState, ev: KEvent): Violation | null {
    return runPre(this.d.pre[ev.kind]!, s, ev);
  }

  /** Another state, or a jump in the seqs (`jump`: the monitors start again): the armed set tested afresh. */
  private restart(s: KState, jump: boolean): Dispatch {
    if (jump) for (let i = 0; i < this.historic.length; i++) this.monitors[i] = this.historic[i]!.monitor!();
    this.pending = 0;
    return this.setArmed(this.testedAll(s));
  }

  /** The first invariant ev breaks judged on the state before it (in INVARIANT order), or null. */
  before(s: KState, ev: KEvent): Violation | null {
    const skipped = this.folded - this.foldedSeen;
    this.foldedSeen = this.folded;
    const k = ev.kind;
    let d = this.d;
    if (ev.seq !== this.next + skipped || s !== this.last) d = this.restart(s, ev.seq !== this.next + skipped);
    this.next = ev.seq + 1;
    this.last = s;
    // An event of a `by` kind may arm (the lists have the invariant at that kind): after() tests the state.
    // When it did not (a caller that stops calling after() at a finding), the invariant counts as armed.
    if (this.pending !== 0) d = this.setArmed(this.armed | this.pending);
    if (k >= this.top) {
      this.pending = 0;
      d = this.setArmed(-1);
    } else this.pending = this.touch[k]!;
    const list = k < this.top ? d.pre[k]! : this.preAll;
    return list === null ? null : runPre(list, s, ev);
  }

  /** The first invariant ev breaks judged on the state after it, or null. */
  after(s: KState, ev: KEvent): Violation | null {
    const k = ev.kind;
    let d = this.d;
    if (s !== this.last || ev.seq + 1 !== this.next) {
      // Not the event before() saw: judge on every list, and look again at the next before().
      this.last = NO_STATE;
      this.pending = 0;
      d = this.setArmed(-1);
    } else if (this.pending !== 0) {
      const t = this.pending;
      this.pending = 0;
      d = this.setArmed((this.armed & ~t) | this.tested(s, t, ev, this.armed));
    }
    const list = k < this.top ? d.post[k]! : this.postAll;
    if (list === null) return null;
    for (let i = 0; i < list.length; i++) {
      const inv = list[i]!;
      const f = inv.post!(s, ev);
      if (f !== null) return violation(inv, f, ev);
    }
    return null;
  }
}

/** The pre-hooks of `list` on ev (before() and preOnly): every hook runs (a monitor must see every event of its kinds); the first finding in order is the answer. */
function runPre(list: readonly Invariant[], s: KState, ev: KEvent): Violation | null {
  let best: Finding | null = null;
  let bestInv: Invariant | null = null;
  for (let i = 0; i < list.length; i++) {
    const inv = list[i]!;
    const f = inv.pre!(s, ev);
    if (f !== null && best === null) {
      best = f;
      bestInv = inv;
    }
  }
  return best === null ? null : violation(bestInv!, best, ev);
}

function violation(inv: Invariant, f: Finding, ev: KEvent): Violation {
  return { seq: ev.seq, invariant: inv.name, message: f.message, event: { ...ev }, causes: f.causes };
}
