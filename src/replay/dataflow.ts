// Where the values a failed check read came from: the dataflow behind an
// `assertions` violation (an assert, BUG_ON or unwrap of None in the
// scenario's own program), in the spirit of Pernosco's "where did this value
// come from".
//
// The assert-fail event names the check only by its message; the trace
// header's world holds the programs, so the check is found there by the
// message the kernel would print for it (mem.ts's failText: one rule). Its
// condition names registers and variables (a variable is read into a
// register `$name` by a load just before the check). Walking back from the
// violation over the failing thread's events (a bounded window, no fold):
//   - each register's last writer (reg-set, or a load, cas, fetch-add, xchg
//     into it);
//   - for a value a call returned, the call's failure (the errno event
//     before it), and for ECHILD the reap that took the child first (and the
//     signal handler it ran in), for EINTR the signal's delivery;
//   - for a value loaded from a variable, the write it read;
//   - for a value another thread changed after the failing thread's
//     futex wakeup (a condvar's signal) and before its read of it, the
//     wakeup (a stolen wakeup: `if` where a `while` was needed);
//   - for a value loaded from a variable no thread had written yet, its
//     creation (the initial value), and the other thread's write that came
//     only after the read, found past the violation (a sleep orders nothing);
//   - the thread's last failed call after the last of those writes (a value
//     short because the thread stopped early: a read loop ended by EINTR),
//     with what is behind it (the delivery, the reap), and each other thread
//     of the process's last failed call after them (a thread that gave up: a
//     timed wait's ETIMEDOUT, with the wake that found no waiter because that
//     wait had just timed out);
//   - for a write another thread made, that thread's death after it (its
//     process's exit() by another thread, a fatal signal): it was killed
//     before it finished what the write began.

import { failText } from "../kernel/mem.ts";
import type { Expr } from "../kernel/program.ts";
import { actionOf, bit, mergedInto, SIGWAIT_TAKES } from "../kernel/signal.ts";
import type { World } from "../kernel/sim.ts";
import { committing } from "../kernel/tso.ts";
import {
  buffersStores,
  ERRNO,
  ERRNO_NAMES,
  HOW,
  type KEvent,
  KIND,
  type KState,
  reordersStores,
  SIG,
  sigName,
  type Thread,
  VAR_WRITE_KINDS,
} from "../kernel/types.ts";
import { varText } from "./describe.ts";
import type { Cause, Violation } from "./invariants.ts";
import { walk } from "./scan.ts";
import type { ReplaySource } from "./source.ts";
import { exprReads } from "./user-invariants.ts";

/** A cause of a failed check; `root`: where a value came from (a write another access read, the reap that took a child first). */
export interface FlowCause extends Cause {
  root?: true;
}

/** How far back (events) the writers of a check's registers are looked for. */
export const DATAFLOW_WINDOW = 65_536;

/** The kinds that set a register (named in the event's s). */
const REG_WRITERS = new Set<number>([KIND.regSet, KIND.load, KIND.atomicLoad, KIND.cas, KIND.fetchAdd, KIND.xchg]);
const LOADS = new Set<number>([KIND.load, KIND.atomicLoad]);
const WRITES = new Set<number>(VAR_WRITE_KINDS);

type FailOp = Parameters<typeof failText>[0];

/** The registers and variables the conditions of the checks in `world` that print `message` read. */
export function checkReads(world: World, message: string, kernel: boolean): { regs: Set<string>; vars: Set<string> } {
  const regs = new Set<string>();
  const vars = new Set<string>();
  const expr = (e: unknown): void => {
    if (e === null || typeof e !== "object") return;
    const r = exprReads(e as Expr);
    for (const x of r.regs) regs.add(x);
    for (const x of r.vars) vars.add(x);
  };
  // Every op, at any depth (bodies, branches, handlers, forked and spawned programs): the world is validated and bounded.
  const seen = new Set<object>();
  const visit = (x: unknown): void => {
    if (x === null || typeof x !== "object" || seen.has(x)) return;
    seen.add(x);
    if (Array.isArray(x)) {
      for (const y of x) visit(y);
      return;
    }
    const o = x as Record<string, unknown>;
    // The world is validated: an assert has its message, a BUG_ON its where, an unwrap its optional at.
    if ((o.op === "assert" || o.op === "bugOn" || o.op === "unwrap") && failText(o as FailOp, kernel) === message)
      expr(o.op === "unwrap" ? o.value : o.cond);
    for (const k in o) if (k !== "cond" && k !== "value") visit(o[k]);
  };
  visit(world.procs);
  return { regs, vars };
}

/**
 * The causes of an `assertions` violation v: for each register its check
 * read, the event that set it, and where that value came from (see the top
 * of this file). Empty when the trace has no world or the check is not
 * found in it.
 */
export function checkCauses(src: ReplaySource, v: Violation, state?: KState): FlowCause[] {
  const handler = state ? [...unarmedPdeath(src, v.event, state), ...signalTarget(src, v.event, state)] : [];
  const stale = state && buffersStores(state.config) ? staleLoads(src, v.event, state) : [];
  if (v.invariant === "assertions") return [...handler, ...checkDataflow(src, v.event, state), ...stale];
  if (v.invariant === "no-deadlock" && state)
    return [
      ...handler,
      ...rwlockHolders(src, v.event, state),
      ...signalsBeforePause(src, v.event, state),
      ...signalsElsewhere(src, v.event, state),
      ...deadOwners(src, v.event, state),
      ...stale,
    ];
  // lock-owner-alive's own cause is the owner's acquire: add what ended the owner.
  if (v.invariant === "lock-owner-alive" && state) return [...handler, ...deadOwners(src, v.event, state, false)];
  const decl = src.meta.invariants?.find((d) => d.name === v.invariant);
  return decl && state
    ? [...handler, ...invariantCauses(src, v.event, exprReads(decl.check).vars, state), ...stale]
    : [...handler, ...stale];
}

/**
 * A parent-death signal that can never come: the violation's thread's
 * process was handed to init (its parent exited: reparent) before one of
 * its threads set PR_SET_PDEATHSIG (a pdeathsig after the reparent). Its
 * parent is init now, which does not exit, and nothing re-arms the setting
 * (man 2 prctl; the fix: compare getppid() with the parent's pid saved
 * before the fork, after the prctl). The reparent, and each such pdeathsig
 * (the root); nothing when the reparent is outside the window. No fold: the
 * state (any after the reparent) says whether the process was adopted and a
 * thread of it has the setting.
 */
function unarmedPdeath(src: ReplaySource, ev: KEvent, state: KState): FlowCause[] {
  const p = ev.tid >= 0 ? state.procs.get(state.threads.get(ev.tid)?.pid ?? -1) : undefined;
  const adopted = p?.adoptedSeq;
  if (p === undefined || adopted === undefined || adopted < ev.seq - DATAFLOW_WINDOW) return [];
  if (!p.threads.some((x) => state.threads.get(x)?.pdeathSig !== undefined)) return [];
  const sets: KEvent[] = [];
  walk(
    src,
    adopted,
    ev.seq,
    {
      event: (e) => {
        if (e.kind === KIND.pdeathsig && e.a !== 0 && p.threads.includes(e.tid)) sets.push({ ...e });
      },
    },
    { fold: false },
  );
  if (sets.length === 0) return [];
  return [
    {
      seq: adopted,
      why: `pid ${p.pid}'s parent exited and init adopted it, before it asked for a parent-death signal: nothing was sent`,
    },
    ...sets.map((e) => ({
      seq: e.seq,
      root: true as const,
      why: `tid ${e.tid} asks for ${sigName(e.a)} at its parent's death after init adopted pid ${p.pid} (at ${adopted}): its parent is init now, which does not exit, so the signal never comes (compare getppid() with the parent's pid after the prctl)`,
    })),
  ];
}

/** How far back (events) a tso run's stale loads are looked for, and how many are named at most. */
const STALE_WINDOW = 4096;
const STALE_MOST = 4;

/**
 * Under tso and pso: the loads before ev (a bounded window, folded) that
 * read a variable while another thread's store to it sat in that thread's
 * store buffer (the fold's Thread.stores, in the state before the load):
 * they read the old value, the store buffering behind a lost wakeup or two
 * threads both entering (a fence after the store orders them). Under pso,
 * when a later store of that thread (to another variable) had reached memory
 * first (its store-commit overtook the missed store: tso.ts's committing
 * says which store a commit takes), that commit too: a message published
 * before its data (a store barrier between the stores orders them). The
 * latest STALE_MOST, each with the store it missed.
 */
function staleLoads(src: ReplaySource, ev: KEvent, state: KState): FlowCause[] {
  const model = state.config.memory ?? "sc";
  const pso = reordersStores(state.config);
  const found: { load: KEvent; store: { tid: number; seq: number; value: number } }[] = [];
  // pso: by the seq of a buffered store, the commit (seq, variable, its store's seq) of a later store that overtook it.
  const overtaken = new Map<number, { seq: number; var: number; store: number }>();
  walk(src, Math.max(0, ev.seq - STALE_WINDOW), ev.seq, {
    before: (e, st) => {
      if (pso && e.kind === KIND.storeCommit) {
        const q = st.threads.get(e.tid)?.stores;
        const i = committing(q, e.a, true);
        for (let j = 0; j < i; j++) overtaken.set(q![j]!.seq, { seq: e.seq, var: e.a, store: q![i]!.seq });
        return;
      }
      if (!LOADS.has(e.kind) || e.tid < 0) return;
      for (const t of st.threads.values()) {
        if (t.tid === e.tid || t.stores === undefined) continue;
        const p = t.stores.findLast((x) => x.var === e.a);
        if (p !== undefined) found.push({ load: { ...e }, store: { tid: t.tid, seq: p.seq, value: p.value } });
      }
    },
    event: () => false,
  });
  const out: FlowCause[] = [];
  for (const { load, store } of found.slice(-STALE_MOST)) {
    const v = varText(state, load.a);
    const o = overtaken.get(store.seq);
    out.push({ seq: store.seq, why: `tid ${store.tid} stored ${v} = ${store.value} into its store buffer (${model})` });
    if (o !== undefined && o.seq < load.seq)
      out.push({
        seq: o.seq,
        why: `tid ${store.tid}'s later store to ${varText(state, o.var)} (seq ${o.store}) reached memory before its store of ${v} (seq ${store.seq}): pso lets stores to different variables reorder`,
      });
    out.push({
      seq: load.seq,
      root: true,
      why:
        o !== undefined && o.seq < load.seq
          ? `tid ${load.tid} read ${v} = ${load.b} while tid ${store.tid}'s store of ${store.value} (seq ${store.seq}) was still in its store buffer, after its later store to ${varText(state, o.var)} had reached memory: it read the old value (a store barrier, smp_wmb, between the two stores orders them)`
          : `tid ${load.tid} read ${v} = ${load.b} while tid ${store.tid}'s store of ${store.value} (seq ${store.seq}) was still in its store buffer: it read the old value (store buffering; a fence after the store orders them)`,
    });
  }
  return out;
}

/**
 * Why a signal handler runs on the thread it runs on, when the violation is
 * that thread's event inside it and the signal was sent to the process: the
 * kernel gives a process-directed signal to a thread that does not block it
 * (signal.ts), so the threads of the process that blocked it are why it went
 * to this one (a handler a program blocks around its own update in one
 * thread runs on another, beside it). The delivery, and per thread that
 * blocked the signal, the event that set its mask (its sigmask, or its
 * creator's: a thread starts with its creator's mask). Nothing for a signal
 * sent to the thread itself, or when the send is outside the window.
 */
function signalTarget(src: ReplaySource, ev: KEvent, state: KState): FlowCause[] {
  const h = state.threads.get(ev.tid)?.handling?.at(-1);
  if (h === undefined || h.sent < 0 || h.sent < ev.seq - DATAFLOW_WINDOW) return [];
  const name = sigName(h.sig);
  // Per thread: the event that set its mask (a sigmask, its creator's, or a handler's delivery: the signal is
  // blocked while its handler runs), with the masks its running handlers will restore.
  interface MaskSet {
    seq: number;
    handler: number;
  }
  const unknown: MaskSet = { seq: -1, handler: 0 };
  const maskSet = new Map<number, MaskSet>();
  const saved = new Map<number, MaskSet[]>();
  let blocked: { tid: number; set: MaskSet }[] | null = null;
  let pid = -1;
  walk(src, Math.max(0, h.sent - DATAFLOW_WINDOW), h.sent, {
    event: (e, st) => {
      if (e.kind === KIND.sigmask) maskSet.set(e.tid, { seq: e.seq, handler: 0 });
      else if (e.kind === KIND.threadNew && e.a !== e.tid) maskSet.set(e.a, maskSet.get(e.tid) ?? unknown);
      else if (e.kind === KIND.signalDeliver && e.b === 2) {
        const stack = saved.get(e.tid) ?? [];
        stack.push(maskSet.get(e.tid) ?? unknown);
        saved.set(e.tid, stack);
        maskSet.set(e.tid, { seq: e.seq, handler: e.a });
      } else if (e.kind === KIND.sigreturn) maskSet.set(e.tid, saved.get(e.tid)?.pop() ?? unknown);
      else if (e.seq === h.sent && e.kind === KIND.signal && e.c < 0 && st !== null) {
        pid = e.a;
        blocked = [];
        for (const t of st.threads.values())
          if (t.pid === e.a && t.tid !== ev.tid && t.state !== "exited" && ((t.sigMask ?? 0) & bit(h.sig)) !== 0)
            blocked.push({ tid: t.tid, set: maskSet.get(t.tid) ?? unknown });
      }
    },
  });
  const list = blocked as { tid: number; set: MaskSet }[] | null;
  if (list === null) return [];
  const out: FlowCause[] = [
    {
      seq: h.at,
      why: `tid ${ev.tid} runs its ${name} handler from here: the ${name} sent to pid ${pid} at ${h.sent} went to it${list.length > 0 ? ` (${list.map((b) => `tid ${b.tid}`).join(", ")} ${list.length > 1 ? "block" : "blocks"} it)` : ""}`,
    },
  ];
  const gave = `so the kernel gave the ${name} sent to pid ${pid} at ${h.sent} to tid ${ev.tid}`;
  for (const b of list)
    if (b.set.seq >= 0)
      out.push({
        seq: b.set.seq,
        why:
          b.set.handler !== 0
            ? `tid ${b.tid} runs its ${sigName(b.set.handler)} handler from here, with ${name} blocked while it runs, ${gave}`
            : `tid ${b.tid}'s mask blocks ${name} from here, ${gave}`,
      });
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * Who holds the read-write locks the threads of a deadlock wait for. A
 * rwlock is a futex word (0 free, n readers, -1 a writer: sync.ts), so the
 * kernel keeps no owner; the trace has every change of the word, a cas by the
 * thread that made it. One walk of the window before ev nets, per lock and
 * thread, the read locks taken (v -> v + 1) and given back (v -> v - 1), and
 * the write lock (0 -> -1, back -1 -> 0). A holder is named with the cas that
 * took the lock, and a waiter that holds the lock it waits for is said to
 * wait for itself (a read lock "upgraded" in place). Nothing when the counts
 * do not add up to the word's value (the window starts after an acquire, or
 * a thread unlocked what it did not hold): a guess is not a cause.
 */
function rwlockHolders(src: ReplaySource, ev: KEvent, state: KState): FlowCause[] {
  // The rwlock words some thread waits on, with the waiters.
  const waiters = new Map<number, number[]>();
  for (const t of state.threads.values()) {
    const w = t.waitOn;
    if (t.state !== "blocked" || w === undefined || w.what !== "futex") continue;
    if (state.vars.get(w.id)?.sync !== "rwlock") continue;
    const ws = waiters.get(w.id);
    if (ws === undefined) waiters.set(w.id, [t.tid]);
    else ws.push(t.tid);
  }
  if (waiters.size === 0) return [];
  // Per word, per thread: read locks held and the cas of the last one taken; the writer and its cas.
  const reads = new Map<number, Map<number, { n: number; seq: number }>>();
  const writer = new Map<number, { tid: number; seq: number }>();
  const from = Math.max(0, ev.seq - DATAFLOW_WINDOW);
  walk(
    src,
    from,
    ev.seq,
    {
      event: (e) => {
        if (e.kind !== KIND.cas || e.b === e.c || !waiters.has(e.a)) return;
        let byTid = reads.get(e.a);
        if (byTid === undefined) reads.set(e.a, (byTid = new Map()));
        const r = byTid.get(e.tid) ?? { n: 0, seq: -1 };
        if (e.b >= 0 && e.c === e.b + 1) byTid.set(e.tid, { n: r.n + 1, seq: e.seq });
        else if (e.b > 0 && e.c === e.b - 1) byTid.set(e.tid, { n: r.n - 1, seq: r.seq });
        else if (e.b === 0 && e.c === -1) writer.set(e.a, { tid: e.tid, seq: e.seq });
        else if (e.b === -1 && e.c === 0) writer.delete(e.a);
      },
    },
    { fold: false },
  );
  const out: FlowCause[] = [];
  for (const [id, ws] of waiters) {
    const v = state.vars.get(id)!;
    const mine = (tid: number) => (ws.includes(tid) ? ", and waits on it: for its own lock to go" : "");
    if (v.value === -1) {
      const w = writer.get(id);
      if (w !== undefined)
        out.push({ seq: w.seq, root: true, why: `tid ${w.tid} holds ${v.name} for writing${mine(w.tid)}` });
      continue;
    }
    const held = [...(reads.get(id) ?? new Map<number, { n: number; seq: number }>())].filter(([, r]) => r.n > 0);
    if (v.value <= 0 || from > 0 || held.reduce((a, [, r]) => a + r.n, 0) !== v.value) continue;
    for (const [tid, r] of held)
      out.push({
        seq: r.seq,
        root: true,
        why: `tid ${tid} holds ${v.name} for reading${r.n > 1 ? ` (${r.n} times)` : ""}${mine(tid)}`,
      });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * For each thread stuck in pause(): the signal it took just before its pause
 * (after its previous one), if any. A handler that ran between the program's
 * check of its flag and the pause has come and gone: pause() waits for the
 * next signal (the race sigsuspend exists for). And for every blocked
 * thread (a pause, a pipe read, a futex, a waitpid...): the signals its
 * process handles that merged into one already pending. A handler is how a
 * signal does what a waiter waits for (reaps a child, writes a byte to a
 * self-pipe, posts a semaphore), and a merged signal's handler runs once
 * for two.
 */
function signalsBeforePause(src: ReplaySource, ev: KEvent, state: KState): FlowCause[] {
  const paused = new Set<number>();
  const pids = new Set<number>();
  for (const t of state.threads.values())
    if (t.state === "blocked") {
      if (t.waitOn?.what === "signal") paused.add(t.tid);
      pids.add(t.pid);
    }
  if (pids.size === 0) return [];
  // Per thread: its last pause, and the last handler delivery before it (since the pause before).
  const last = new Map<number, { pause: number; took?: KEvent; before?: KEvent }>();
  // Signals to the paused threads' processes that merged into one pending (mergedInto: a signal does not queue, so
  // one handler run answers both), read in the state after each event (the walk folds).
  const merged: KEvent[] = [];
  walk(src, Math.max(0, ev.seq - DATAFLOW_WINDOW), ev.seq, {
    event: (e, st) => {
      if (e.kind === KIND.signal && pids.has(e.a) && st !== null && mergedInto(st, e) !== undefined) {
        const p = st.procs.get(e.a);
        if (p !== undefined && actionOf(p, e.b) === "handler") merged.push({ ...e });
      }
      if (!paused.has(e.tid)) return;
      const x = last.get(e.tid) ?? { pause: -1 };
      if (e.kind === KIND.signalDeliver && e.b === 2) x.took = { ...e };
      else if (e.kind === KIND.pause) {
        x.pause = e.seq;
        x.before = x.took;
        x.took = undefined;
      }
      last.set(e.tid, x);
    },
  });
  const out: FlowCause[] = [];
  for (const m of merged)
    out.push({
      seq: m.seq,
      root: true,
      why: `this ${sigName(m.b)} came while the one sent earlier was still pending, and merged with it: a signal does not queue, so its handler runs once for both${m.b === SIG.SIGCHLD ? " (a SIGCHLD handler must reap every child that has exited, in a loop)" : ""}`,
    });
  for (const [tid, x] of last)
    if (x.before !== undefined && x.pause >= 0)
      out.push({
        seq: x.before.seq,
        root: true,
        why: `tid ${tid} took ${sigName(x.before.a)} here, before its pause at ${x.pause}: the signal came before pause() and does not end it (sigsuspend waits with the signal blocked until then)`,
      });
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * For each thread stuck in sigwait: the signals it waits for that were
 * delivered to another thread of its process (a handler or the default
 * action ran there: that thread did not block the signal, and the kernel
 * gives a process-directed signal to a thread that does not block it), with
 * their sends. sigwait's signals must be blocked in every thread.
 */
function signalsElsewhere(src: ReplaySource, ev: KEvent, state: KState): FlowCause[] {
  const waiting = new Map<number, Thread[]>();
  for (const t of state.threads.values())
    if (t.state === "blocked" && t.waitOn?.what === "sigwait") waiting.set(t.pid, [...(waiting.get(t.pid) ?? []), t]);
  if (waiting.size === 0) return [];
  const out: FlowCause[] = [];
  walk(src, Math.max(0, ev.seq - DATAFLOW_WINDOW), ev.seq, {
    event: (e, st) => {
      if (e.kind !== KIND.signalDeliver || e.b === SIGWAIT_TAKES || st === null) return;
      const pid = st.threads.get(e.tid)?.pid ?? -1;
      const w = waiting.get(pid)?.find((t) => t.tid !== e.tid && (t.waitOn!.id & bit(e.a)) !== 0);
      if (w === undefined) return;
      const what =
        e.b === 2 ? "its handler ran there" : e.b === 0 ? "its default action killed the process" : "it was ignored";
      out.push({
        seq: e.seq,
        root: true,
        why: `the ${sigName(e.a)} tid ${w.tid} waits for in sigwait went to tid ${e.tid}, which does not block it: ${what} (block it in every thread, before creating them)`,
      });
      if (e.c >= 0 && e.c < e.seq) out.push({ seq: e.c, why: `${sigName(e.a)} sent here` });
    },
  });
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * For each lock a thread waits on whose owner has exited: the owner's
 * acquire (it never released the lock), and what ended the owner: a signal
 * whose default action killed its process (the delivery and the send), or
 * another thread's exit_group. A lock its owner took and then died with is
 * the cause of such a wait; what killed the owner is usually the bug (a
 * supervisor's SIGKILL, an exit() from another thread).
 */
function deadOwners(src: ReplaySource, ev: KEvent, state: KState, acquire = true): FlowCause[] {
  const dead = new Map<number, { lock: string; since: number }>();
  for (const t of state.threads.values()) {
    if (t.waitLock < 0) continue;
    const l = state.locks.get(t.waitLock);
    if (l === undefined || l.owner < 0 || l.owner === t.tid) continue;
    const o = state.threads.get(l.owner);
    if (o === undefined || o.state === "exited") dead.set(l.owner, { lock: l.name, since: l.since });
  }
  if (dead.size === 0) return [];
  const out: FlowCause[] = [];
  for (const [tid, d] of dead)
    if (acquire && d.since >= 0)
      out.push({ seq: d.since, why: `tid ${tid} took ${d.lock} here and never released it: it exited holding it` });
  // What ended each owner: the last fatal delivery to it, or an exit_group by another thread of its process.
  const ended = new Map<number, FlowCause[]>();
  // Each thread's pid: from the state, else from its creation in the window (a thread gone from the state).
  const pidOf = new Map<number, number>();
  for (const t of state.threads.values()) pidOf.set(t.tid, t.pid);
  walk(
    src,
    Math.max(0, ev.seq - DATAFLOW_WINDOW),
    ev.seq,
    {
      event: (e) => {
        if (e.kind === KIND.threadNew) pidOf.set(e.a, e.b);
        else if (e.kind === KIND.fork) pidOf.set(e.c, e.b);
        else if (e.kind === KIND.signalDeliver && e.b === 0 && dead.has(e.tid)) {
          const why = `tid ${e.tid} took ${sigName(e.a)} here, whose default action killed its process while it held ${dead.get(e.tid)!.lock}`;
          const send =
            e.c >= 0 && e.c < e.seq ? [{ seq: e.c, why: `the ${sigName(e.a)} that killed tid ${e.tid}` }] : [];
          ended.set(e.tid, [...send, { seq: e.seq, root: true, why }]);
        } else if (e.kind === KIND.exitGroup) {
          const pid = pidOf.get(e.tid);
          for (const tid of dead.keys())
            if (tid !== e.tid && pid !== undefined && pidOf.get(tid) === pid && !ended.has(tid))
              ended.set(tid, [
                {
                  seq: e.seq,
                  root: true,
                  why: `tid ${e.tid}'s exit() took every thread of pid ${pid} down, tid ${tid} with ${dead.get(tid)!.lock} held`,
                },
              ]);
        }
      },
    },
    { fold: false },
  );
  for (const c of ended.values()) out.push(...c);
  return out.sort((a, b) => a.seq - b.seq);
}

/** Lost updates reported per violation at most (the latest). */
const LOST_SHOWN = 3;

/**
 * The lost updates in a walk of events: a plain or atomic store whose
 * context's last read of the variable saw another value than the one it
 * overwrites, the write in between made by another context (its
 * load-compute-store had that write land in between, and wiped it out). A
 * context is a thread, or a signal handler running on it: a handler that
 * interrupts its own thread between the load and the store loses an update
 * as another thread does. Each is two causes: the write overwritten, and the
 * store (root).
 */
class LostUpdates {
  /** Per variable and context: the value and seq of its last read since its own last write. */
  private readonly lastRead = new Map<string, { value: number; seq: number }>();
  /** Per variable: its last write. */
  private readonly lastWrite = new Map<number, Access>();
  /** Per thread: the signals whose handlers it is running, innermost last. */
  private readonly handlers = new Map<number, number[]>();
  /** Per lost update: the variable, the write overwritten, the store, and the read the store's context made. */
  private readonly found: { id: number; before: Access; store: Access; read: { value: number; seq: number } }[] = [];

  /** Folds e in; true when e wrote a variable. */
  event(e: KEvent): boolean {
    if (e.kind === KIND.signalDeliver) {
      if (e.b === 2) {
        const hs = this.handlers.get(e.tid);
        if (hs === undefined) this.handlers.set(e.tid, [e.a]);
        else hs.push(e.a);
      }
      return false;
    }
    if (e.kind === KIND.sigreturn) {
      this.handlers.get(e.tid)?.pop();
      return false;
    }
    const hs = this.handlers.get(e.tid);
    const sig = hs !== undefined && hs.length > 0 ? hs[hs.length - 1]! : 0;
    const key = `${e.a}:${e.tid}:${hs === undefined ? 0 : hs.length}`;
    // A failed cas (nothing changed) is a read.
    if (LOADS.has(e.kind) || (e.kind === KIND.cas && e.b === e.c)) {
      this.lastRead.set(key, { value: e.b, seq: e.seq });
      return false;
    }
    if (!WRITES.has(e.kind)) return false;
    const r = this.lastRead.get(key);
    const before = this.lastWrite.get(e.a);
    const store = { seq: e.seq, tid: e.tid, sig };
    if (
      (e.kind === KIND.store || e.kind === KIND.atomicStore) &&
      r !== undefined &&
      r.value !== e.b &&
      before !== undefined &&
      before.seq > r.seq &&
      (before.tid !== e.tid || before.sig !== sig)
    )
      this.found.push({ id: e.a, before, store, read: r });
    this.lastRead.delete(key);
    this.lastWrite.set(e.a, store);
    return true;
  }

  /** The causes of the latest LOST_SHOWN lost updates of the variables `ids` (named by name), in order. */
  latest(ids: ReadonlySet<number>, name: (id: number) => string): FlowCause[] {
    return this.found
      .filter((f) => ids.has(f.id))
      .slice(-LOST_SHOWN)
      .flatMap(({ id, before, store, read }): FlowCause[] => {
        const v = name(id);
        const them = context(before.tid, before.sig);
        const me = context(store.tid, store.sig);
        return [
          { seq: before.seq, why: `${them}'s write of ${v}, which ${me} overwrote at ${store.seq}` },
          {
            seq: store.seq,
            root: true,
            why: `a lost update: ${me} read ${v} = ${read.value} at ${read.seq}, and ${them} wrote it at ${before.seq} before this store`,
          },
        ];
      });
  }
}

/** A write: its seq, its thread and the signal whose handler made it (0: none). */
interface Access {
  seq: number;
  tid: number;
  sig: number;
}

/** A thread, or the handler of signal sig running on it (sig 0: none). */
function context(tid: number, sig: number): string {
  return sig === 0 ? `tid ${tid}` : `tid ${tid}'s ${sigName(sig)} handler`;
}

/**
 * The causes behind a scenario's own invariant, broken at event ev, over the
 * variables `names` it reads, from one walk of the window before ev:
 *   - when ev writes one of them, the write before it by another thread (the
 *     value it changed: `inside` went 1 → 2, and tid 3 had made it 1), and
 *     each of the two threads' last failed call before its write, if it had
 *     one since its previous write of the variable (a sem_wait that returned
 *     EINTR, a trylock that returned EBUSY: the thread went on anyway). Two
 *     threads' writes meeting is what such an invariant is about (a count of
 *     threads inside, a flag);
 *   - the lost updates of the variables (LostUpdates: another thread's or a
 *     signal handler's write landed inside a load-compute-store), the latest
 *     LOST_SHOWN. A counter, a total, a flag the invariant reads went wrong
 *     there.
 */
function invariantCauses(src: ReplaySource, ev: KEvent, names: ReadonlySet<string>, state: KState): FlowCause[] {
  const ids = new Map<number, string>();
  for (const x of state.vars.values()) if (names.has(x.name)) ids.set(x.id, x.name);
  if (ids.size === 0) return [];
  // The variable ev writes, when the invariant reads it (-1: none).
  const target = WRITES.has(ev.kind) && ids.has(ev.a) ? ev.a : -1;
  const lost = new LostUpdates();
  // Per thread: its last failed call; its last write of target, and the failed call before that write.
  const failed = new Map<number, KEvent>();
  const wrote = new Map<number, number>();
  const failedBefore = new Map<number, KEvent | undefined>();
  let prev: KEvent | undefined;
  walk(
    src,
    Math.max(0, ev.seq - DATAFLOW_WINDOW),
    ev.seq,
    {
      event: (e) => {
        if (e.kind === KIND.errno) {
          if (e.tid >= 0) failed.set(e.tid, { ...e });
          return;
        }
        const handlers = e.kind === KIND.signalDeliver || e.kind === KIND.sigreturn;
        if (!handlers && !ids.has(e.a)) return;
        if (lost.event(e) && e.a === target && e.seq < ev.seq) {
          prev = { ...e };
          const f = failed.get(e.tid);
          failedBefore.set(e.tid, f !== undefined && f.seq > (wrote.get(e.tid) ?? -1) ? f : undefined);
          wrote.set(e.tid, e.seq);
        }
      },
    },
    { fold: false },
  );
  const out: FlowCause[] = [];
  if (prev !== undefined && prev.tid !== ev.tid) {
    const name = ids.get(target)!;
    const theirs = failedBefore.get(prev.tid);
    if (theirs !== undefined)
      out.push({
        seq: theirs.seq,
        why: `tid ${prev.tid}'s last call that failed before its write of ${name} at ${prev.seq}`,
      });
    out.push({
      seq: prev.seq,
      root: true,
      why: `tid ${prev.tid}'s write of ${name}: the value tid ${ev.tid}'s write at ${ev.seq} changed`,
    });
    const mine = failed.get(ev.tid);
    if (mine !== undefined && mine.seq > (wrote.get(ev.tid) ?? -1))
      out.push({ seq: mine.seq, why: `tid ${ev.tid}'s last call that failed before this write of ${name}` });
  }
  return [...out, ...lost.latest(new Set(ids.keys()), (id) => ids.get(id)!)];
}

/**
 * The same for an assert-fail event ev (a seq and the part each event played,
 * oldest first); `state` (any, the variables' names) names a variable in a
 * lost update.
 */
export function checkDataflow(src: ReplaySource, ev: KEvent, state?: KState): FlowCause[] {
  const world = src.meta.world;
  if (ev.kind !== KIND.assertFail || !world || ev.tid < 0) return [];
  const { regs, vars } = checkReads(world, ev.s, ev.a !== 0);
  if (regs.size === 0 && vars.size === 0) return [];
  // One pass over the window: the thread's events in order, and the variables' writes and the reaps.
  const own: KEvent[] = [];
  const sigs: KEvent[] = [];
  const writes: KEvent[] = [];
  const creates: KEvent[] = [];
  const reaps: KEvent[] = [];
  // Other threads' failed calls, the wakes that found no waiter, and the pid of each thread created in the window.
  const errs: KEvent[] = [];
  const lostWakes: KEvent[] = [];
  const pidOf = new Map<number, number>();
  // exit_group calls and deliveries of a signal whose default action kills: what can end a thread mid-update.
  const deaths: KEvent[] = [];
  // The futex wakeups of the failing thread (a condvar's signal): what it was told before it read.
  const wokeMe: KEvent[] = [];
  const lost = new LostUpdates();
  const from = Math.max(0, ev.seq - DATAFLOW_WINDOW);
  walk(
    src,
    from,
    ev.seq - 1,
    {
      event: (e) => {
        lost.event(e);
        if (e.tid === ev.tid) own.push({ ...e });
        if (e.kind === KIND.wake && e.a === ev.tid && e.c === HOW.futex) wokeMe.push({ ...e });
        if (e.kind === KIND.signalDeliver || e.kind === KIND.sigreturn) sigs.push({ ...e }); // the reaper may be another thread
        if (WRITES.has(e.kind)) writes.push({ ...e });
        else if (e.kind === KIND.varNew) creates.push({ ...e });
        if (e.kind === KIND.reap) reaps.push({ ...e });
        else if (e.kind === KIND.errno && e.tid !== ev.tid) errs.push({ ...e });
        else if (e.kind === KIND.futexWake && e.c === 0) lostWakes.push({ ...e });
        else if (e.kind === KIND.threadNew) pidOf.set(e.a, e.b);
        else if (e.kind === KIND.fork) pidOf.set(e.c, e.b);
        else if (e.kind === KIND.exitGroup || (e.kind === KIND.signalDeliver && e.b === 0)) deaths.push({ ...e });
      },
    },
    { fold: false },
  );
  const out: FlowCause[] = [];
  const add = (seq: number, why: string, root = false) => {
    if (!out.some((c) => c.seq === seq)) out.push(root ? { seq, why, root } : { seq, why });
  };
  // The variables whose values the check read (through a load).
  const read = new Set<number>();
  // Loads that read a variable's initial value (no write before them in the window, its creation in it).
  const unwritten: KEvent[] = [];
  // The loads the check's values came from.
  const loads: KEvent[] = [];
  const lastWrite = (load: KEvent) => {
    loads.push(load);
    if (!writtenBefore(writes, load, add, buffersStores(world.config))) {
      const c = creates.findLast((x) => x.a === load.a && x.seq < load.seq);
      if (c !== undefined) {
        add(
          c.seq,
          `${varName(state, c)} still held its initial value ${c.c} when the ${load.kind === KIND.atomicLoad ? "atomic load" : "load"} at ${load.seq} read it: no thread had written it`,
          true,
        );
        unwritten.push(load);
      }
    }
  };
  // Registers: the last writer of each.
  for (const reg of regs) {
    let i = own.length - 1;
    while (i >= 0 && !(REG_WRITERS.has(own[i]!.kind) && own[i]!.s === reg)) i--;
    if (i < 0) continue;
    const w = own[i]!;
    add(w.seq, `sets ${reg}, which the check reads`);
    if (w.kind === KIND.regSet) {
      callFailure(own, i, reg, reaps, sigs, add);
      killedBy(own, i, reg, deaths, pidOf, add);
    }
    if (LOADS.has(w.kind)) {
      lastWrite(w);
      read.add(w.a);
    }
  }
  // Variables: read into a register `$name` (`$name.2`, ... when one expression reads it twice) just before the check.
  for (const name of vars) {
    const reg = `$${name}`;
    let i = own.length - 1;
    while (i >= 0 && !(LOADS.has(own[i]!.kind) && (own[i]!.s === reg || own[i]!.s.startsWith(`${reg}.`)))) i--;
    if (i < 0) continue;
    add(own[i]!.seq, `reads ${name}, which the check tests`);
    lastWrite(own[i]!);
    read.add(own[i]!.a);
  }
  // A value still initial: the write the check expected, if another thread made it after the read (it came too late).
  if (unwritten.length > 0) {
    const ids = new Set(unwritten.map((l) => l.a));
    walk(
      src,
      ev.seq + 1,
      Math.min(src.eventCount - 1, ev.seq + DATAFLOW_WINDOW),
      {
        event: (e) => {
          if (!WRITES.has(e.kind) || !ids.has(e.a) || e.tid === ev.tid) return false;
          ids.delete(e.a);
          const load = unwritten.find((l) => l.a === e.a)!;
          add(
            e.seq,
            `tid ${e.tid} wrote ${varName(state, e)} (${e.b} → ${e.c}) only here, after the read at ${load.seq}: nothing made the read wait for this write (a sleep or a delay orders nothing)`,
          );
          return ids.size === 0;
        },
      },
      { fold: false },
    );
  }
  // A value another thread changed after the failing thread was woken and before it read it: the wakeup announced
  // a state (an item queued) that a thread running first changed again (took the item): a stolen wakeup, the
  // reason a woken waiter tests its condition again (while, not if).
  for (const load of loads) {
    const w = writes.findLast((x) => x.a === load.a && x.seq < load.seq);
    const k = wokeMe.findLast((x) => x.seq < load.seq);
    if (w === undefined || k === undefined || w.tid === ev.tid || w.seq < k.seq) continue;
    add(
      k.seq,
      `tid ${ev.tid} was woken here${k.b >= 0 ? ` by tid ${k.b}` : ""} (${k.s ? `futex_wake on ${k.s}` : "futex_wake"}); tid ${w.tid} changed ${varName(state, w)} (${w.b} → ${w.c}) at ${w.seq}, after this wakeup and before tid ${ev.tid} read it at ${load.seq}: what the wakeup announced no longer held when tid ${ev.tid} ran (a woken waiter tests its condition again: while, not if)`,
    );
  }
  // A value wrong because an update of it was lost (a counter short).
  for (const c of lost.latest(read, (id) => state?.vars.get(id)?.name ?? `variable ${id}`)) add(c.seq, c.why, c.root);
  // A value the check reads may be short because the thread stopped early: its last call that failed after the
  // last write of what the check read (a read loop ended by EINTR, say), with what is behind that failure.
  const sources = out.filter((c) => c.root === true).map((c) => c.seq);
  if (sources.length > 0) {
    const since = Math.max(...sources);
    let j = own.length - 1;
    while (j >= 0 && own[j]!.seq > since && own[j]!.kind !== KIND.errno) j--;
    const err = own[j];
    if (err !== undefined && err.seq > since && err.kind === KIND.errno && !out.some((c) => c.seq === err.seq)) {
      add(
        err.seq,
        `the thread's last call that failed after the values the check read were written: ${ERRNO_NAMES[err.a] ?? `errno ${err.a}`}`,
      );
      failureBehind(own, j, reaps, sigs, add);
    }
    // The other threads of the process that gave up after those writes: a value left as it was may be one such a
    // thread was to change (a timed wait that timed out, and then did not look at the value again). For a timed
    // wait, the wake on its word that found no waiter because the wait had just timed out.
    const pid = state?.threads.get(ev.tid)?.pid ?? pidOf.get(ev.tid);
    const gaveUp = new Map<number, KEvent>();
    for (const e of errs) if (e.seq > since && pid !== undefined && pidOf.get(e.tid) === pid) gaveUp.set(e.tid, e);
    for (const e of gaveUp.values()) {
      add(
        e.seq,
        `tid ${e.tid}'s last call that failed after the values the check read were written: ${ERRNO_NAMES[e.a] ?? `errno ${e.a}`}; a thread that gave up may have left a value as it was`,
      );
      if (e.a !== ERRNO.ETIMEDOUT || e.b < 0) continue;
      const w = lostWakes.findLast((x) => x.a === e.b && x.seq < e.seq && x.seq > since);
      if (w !== undefined)
        add(
          w.seq,
          `this wakeup found no waiter: tid ${e.tid}'s timed wait on the word had timed out (it returns ETIMEDOUT at ${e.seq})`,
        );
    }
  }
  // A thread that wrote a value the check read and was then killed before the check (its process's exit() by
  // another thread, a fatal signal): what it was to do after that write was not done (a count started, never
  // finished).
  for (const c of [...out]) {
    if (c.root !== true) continue;
    const w = writes.find((x) => x.seq === c.seq);
    if (w === undefined || w.tid === ev.tid) continue;
    const wpid = state?.threads.get(w.tid)?.pid ?? pidOf.get(w.tid);
    const d = deaths.find(
      (x) =>
        x.seq > w.seq &&
        ((x.kind === KIND.signalDeliver && x.tid === w.tid) ||
          (x.kind === KIND.exitGroup && x.tid !== w.tid && wpid !== undefined && pidOf.get(x.tid) === wpid)),
    );
    if (d === undefined) continue;
    add(
      d.seq,
      d.kind === KIND.exitGroup
        ? `tid ${d.tid}'s exit() took every thread of pid ${wpid} down here, tid ${w.tid} with it, after its write at ${w.seq}: what it was to do after that write was not done`
        : `tid ${w.tid} was killed here by ${sigName(d.a)}, after its write at ${w.seq}: what it was to do after that write was not done`,
    );
  }
  out.sort((a, b) => a.seq - b.seq);
  return out;
}

type Add = (seq: number, why: string, root?: boolean) => void;

/**
 * The write a load read its value from: the last write of the variable before
 * it; under tso (`tso`) the loading thread's own newest store to it while that
 * is still buffered, else the last write that reached memory (a store-commit,
 * a read-modify-write), never another thread's buffered store. False when
 * there is none in the window.
 */
function writtenBefore(writes: readonly KEvent[], load: KEvent, add: Add, tso: boolean): boolean {
  // tso: a store reaches memory at its store-commit; the load reads its own thread's newest store still buffered
  // (more of its stores to the variable than commits before the load), else memory's last write.
  let own = 0;
  for (const w of writes)
    if (w.seq < load.seq && w.a === load.a && w.tid === load.tid)
      own += w.kind === KIND.storeCommit ? -1 : w.kind === KIND.store || w.kind === KIND.atomicStore ? 1 : 0;
  for (let j = writes.length - 1; j >= 0; j--) {
    const w = writes[j]!;
    const buffered = tso && (w.kind === KIND.store || w.kind === KIND.atomicStore);
    if (buffered && (w.tid !== load.tid || own <= 0)) continue;
    if (tso && own > 0 && !buffered) continue;
    if (w.seq < load.seq && w.a === load.a) {
      add(
        w.seq,
        `wrote the value ${load.kind === KIND.atomicLoad ? "the atomic load" : "the load"} at ${load.seq} read`,
        true,
      );
      return true;
    }
  }
  return false;
}

/** A variable's name from the state, else from its var-new event (e.s: "type name ..."), else its id. */
function varName(state: KState | undefined, e: KEvent): string {
  const v = state?.vars.get(e.a)?.name;
  if (v !== undefined) return v;
  return e.kind === KIND.varNew ? (e.s.split(" ")[1] ?? `variable ${e.a}`) : `variable ${e.a}`;
}

/**
 * A register set by a call's return (a reg-set right after an errno event of
 * the same thread): the failure, and what caused it where the kernel knows
 * (ECHILD: the child was reaped first, by whom and in which handler; EINTR:
 * the signal delivered).
 */
function callFailure(
  own: readonly KEvent[],
  i: number,
  reg: string,
  reaps: readonly KEvent[],
  sigs: readonly KEvent[],
  add: Add,
): void {
  let j = i - 1;
  while (j >= 0 && own[j]!.kind === KIND.regSet) j--; // a call may set several registers (ret, status)
  const err = own[j];
  if (err === undefined || err.kind !== KIND.errno) return;
  add(err.seq, `the call that returned ${reg} failed: ${ERRNO_NAMES[err.a] ?? `errno ${err.a}`}`);
  failureBehind(own, j, reaps, sigs, add);
}

/**
 * A register set by a waitpid's status (a reg-set right after the thread's
 * reap) when the child was killed by a signal: the delivery whose default
 * action killed it (its status 128 + the signal), and the signal's send
 * (describe says who sent it: a kill, or a parent thread's exit for a
 * parent-death signal).
 */
function killedBy(
  own: readonly KEvent[],
  i: number,
  reg: string,
  deaths: readonly KEvent[],
  pidOf: ReadonlyMap<number, number>,
  add: Add,
): void {
  let j = i - 1;
  while (j >= 0 && own[j]!.kind === KIND.regSet) j--;
  const r = own[j];
  if (r === undefined || r.kind !== KIND.reap || own[i]!.a <= 128) return;
  const d = deaths.findLast(
    (x) => x.kind === KIND.signalDeliver && x.seq < r.seq && x.a === own[i]!.a - 128 && pidOf.get(x.tid) === r.a,
  );
  if (d === undefined) return;
  add(d.seq, `pid ${r.a} was killed here by ${sigName(d.a)} (its default action): ${reg} = 128 + ${d.a}`);
  if (d.c >= 0) add(d.c, `the ${sigName(d.a)} that killed pid ${r.a} was sent here`, true);
}

/** Behind the failed call own[j] (an errno event): for ECHILD the reap that took the child first (and its handler), for EINTR the signal's delivery. */
function failureBehind(
  own: readonly KEvent[],
  j: number,
  reaps: readonly KEvent[],
  sigs: readonly KEvent[],
  add: Add,
): void {
  const err = own[j]!;
  if (err.a === ERRNO.ECHILD && err.b >= 0) {
    let r: KEvent | undefined;
    for (let q = reaps.length - 1; q >= 0 && r === undefined; q--)
      if (reaps[q]!.a === err.b && reaps[q]!.seq < err.seq) r = reaps[q];
    if (r === undefined) return;
    const h = handlerAt(sigs, r);
    add(
      r.seq,
      `pid ${err.b} was reaped here, before the call${h ? ` (in tid ${r.tid}'s ${sigName(h.a)} handler)` : ""}`,
      true,
    );
    if (h) add(h.seq, `tid ${h.tid} took ${sigName(h.a)}: its handler reaped pid ${err.b}`);
  } else if (err.a === ERRNO.EINTR) {
    for (let q = j - 1; q >= 0; q--) {
      const d = own[q]!;
      if (d.kind === KIND.signalDeliver) {
        add(d.seq, `the ${sigName(d.a)} that interrupted the call`);
        break;
      }
    }
  }
}

/** The signal delivery whose handler thread r.tid was running at event r (no sigreturn of it between), if any. */
function handlerAt(sigs: readonly KEvent[], r: KEvent): KEvent | undefined {
  let depth = 0;
  for (let q = sigs.length - 1; q >= 0; q--) {
    const e = sigs[q]!;
    if (e.seq >= r.seq || e.tid !== r.tid) continue;
    if (e.kind === KIND.sigreturn) depth++;
    else if (e.kind === KIND.signalDeliver && e.b === 2) {
      if (depth === 0) return e;
      depth--;
    }
  }
  return undefined;
}
