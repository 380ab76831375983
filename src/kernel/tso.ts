// The tso and pso memory models (KConfig.memory "tso", "pso"): x86's total
// store order and SPARC's partial store order, as store buffers. Under "sc"
// (the default) none of this runs: every access reaches memory at its own
// event, in one order.
//
// The unit is one buffer per thread (Thread.stores, in the state: the fold
// keeps it, so replay shows it), oldest first. A hardware store buffer
// belongs to a cpu, but the simulator drains a thread's buffer before the
// thread leaves its cpu (the switch is a full barrier, as a kernel's context
// switch is), so while a thread runs its cpu's buffer holds only its stores:
// per thread and per cpu are the same thing here, and the thread's is what
// replay can show. On one cpu tso and pso are therefore sc: store buffering
// needs two cpus.
//
// The rules (both models):
//   - a store and an atomic-store (a release store is a plain mov on x86)
//     enter the thread's buffer (the store event; memory does not change);
//     the buffer holds at most STORE_BUFFER entries: a store into a full one
//     first commits the oldest;
//   - a load or atomic-load by the thread of a variable it has a buffered
//     store to reads its newest such store (store forwarding); every other
//     read (another thread's, the kernel's) reads memory;
//   - any op other than a plain access (load, store, their atomic forms), a
//     register op (set, assert, BUG_ON, unwrap), a user step, a progress mark
//     or a control op (repeat, if, while, call) drains the buffer first, in
//     order: a locked read-modify-write (cas, fetch-add, xchg), a fence
//     (k.fence(): smp_mb, mfence), every lock, futex, pipe, signal, process
//     or allocator op and any syscall (the kernel entry), a signal's delivery
//     and the thread's exit; so does a context switch away from the thread;
//   - a load is one event (load→load order kept);
//   - a store fence (k.fence("store"): smp_wmb) keeps the buffer as it is;
//     under pso it marks the newest buffered store (PendingStore.wmb: the
//     barrier follows it), and no store after the mark commits before the
//     stores up to it have (the mark moves to the newest of those left when
//     its own store commits first). Under tso it changes nothing: stores
//     are already in order.
// The one difference, which store a commit takes (committing, one definition
// for the simulator, the fold and the race detector):
//   - tso: the buffer is FIFO, the oldest store commits first (store→store
//     order kept): only store→load reorders;
//   - pso: the oldest store *to some variable* commits, so a store may reach
//     memory before an older one to another variable (store→store reorders
//     too), unless a store fence lies between them; stores to one variable
//     stay in order.
//
// When a buffered store reaches memory is the scheduler's choice: before each
// step of a running thread whose buffer is not empty, the Chooser is asked
// drain(cpu, tid, var); yes: the step is the commit of that store (one
// store-commit event: var, old, new), the thread's op runs at its next step.
// Under tso the question is asked once, about the oldest store. Under pso it
// is asked about each variable in the buffer in turn, by the age of its
// oldest store (the oldest first), until one is answered yes (that
// variable's oldest store commits) or none is (the thread's op runs; the
// questions stop at a store barrier, past which nothing may commit yet): the
// same yes/no decisions, so a schedule and its encoding are tso's. A drain
// forced by an op or a switch emits one store-commit per entry, oldest
// first, then the op (or switch) goes on. Under sc the question is never
// asked.

import { ev } from "./events.ts";
import { STORE_BUFFER } from "./params.ts";
import type { Simulator } from "./sim.ts";
import type { PendingStore, Thread } from "./types.ts";

/**
 * What a thread with buffered stores q reads from variable id: its newest
 * buffered store to it (store forwarding), else memory's value.
 */
export function viewOf(q: readonly PendingStore[], id: number, memory: number): number {
  for (let i = q.length - 1; i >= 0; i--) if (q[i]!.var === id) return q[i]!.value;
  return memory;
}

/** The fold's part of a buffered store: it joins the back of t's buffer. */
export function buffer(t: Thread, id: number, value: number, seq: number): void {
  (t.stores ??= []).push({ var: id, value, seq });
}

/**
 * Which entry of buffer q a store-commit of variable id takes: under tso
 * (`pso` false) the oldest, when it is to id; under pso the oldest to id,
 * when no store barrier comes before it. -1: none (a commit of id cannot
 * happen now).
 */
export function committing(q: readonly PendingStore[] | undefined, id: number, pso: boolean): number {
  if (q === undefined) return -1;
  if (!pso) return q[0]?.var === id ? 0 : -1;
  for (let i = 0; i < q.length; i++) {
    const e = q[i]!;
    if (e.var === id) return i;
    if (e.wmb === true) return -1;
  }
  return -1;
}

/** The fold's part of a store-commit: the store committing takes (tso: t's oldest; pso: its oldest to `id`), off its buffer, when it is `value` to `id`; else null (nothing changes). */
export function commitOldest(t: Thread, id: number, value: number, pso: boolean): PendingStore | null {
  const q = t.stores;
  const i = committing(q, id, pso);
  if (i < 0 || q![i]!.value !== value) return null;
  const e = i === 0 ? q!.shift()! : q!.splice(i, 1)[0]!;
  // pso: a barrier after a store that went first now follows the newest store before it still buffered.
  if (e.wmb === true && i > 0) q![i - 1]!.wmb = true;
  if (q!.length === 0) t.stores = undefined;
  return e;
}

/** The fold's part of a store fence (smp_wmb) under pso: the barrier follows t's newest buffered store (none: nothing to order). */
export function storeBarrier(t: Thread): void {
  const e = t.stores?.at(-1);
  if (e !== undefined) e.wmb = true;
}

// ---- the simulator's side ----------------------------------------------------

/** Emits the store-commit of th's buffered store i (default: the oldest; th has one), on cpu c. */
export function commitOne(k: Simulator, c: number, th: Thread, i = 0): void {
  const e = th.stores![i]!;
  const v = k.state.vars.get(e.var);
  k.emit(c, th.tid, ev.storeCommit({ var: e.var, old: v !== undefined ? v.value : 0, new: e.value }));
}

/**
 * The drain questions before a step of th (its buffer not empty), on cpu c:
 * the index in th's buffer of the store that commits now, or -1 (none: the
 * thread's op runs). tso: one question, about the oldest store; pso: one per
 * variable in the buffer, by the age of its oldest store, until a yes (none
 * about a store after a store barrier: committing's rule).
 */
export function drainChoice(k: Simulator, c: number, th: Thread): number {
  const q = th.stores!;
  if (!k.pso) return k.drainNow(c, th.tid, -1) ? 0 : -1;
  for (let i = 0; i < q.length; i++) {
    const id = q[i]!.var;
    let first = true;
    for (let j = 0; j < i && first; j++) first = q[j]!.var !== id;
    if (first && k.drainNow(c, th.tid, id)) return i;
    // A store barrier: the stores after it wait for every store up to it.
    if (q[i]!.wmb === true) break;
  }
  return -1;
}

/** Drains th's whole buffer into memory, oldest first (a store-commit each); false when it was empty. */
export function drainAll(k: Simulator, c: number, th: Thread): boolean {
  if (th.stores === undefined) return false;
  while (th.stores !== undefined) commitOne(k, c, th);
  return true;
}

/** Makes room for one more store in th's buffer: commits the oldest when it is full. */
export function makeRoom(k: Simulator, c: number, th: Thread): void {
  if (th.stores !== undefined && th.stores.length >= STORE_BUFFER) commitOne(k, c, th);
}
