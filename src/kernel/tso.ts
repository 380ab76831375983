// The tso memory model (KConfig.memory "tso"): x86's total store order, as
// store buffers. Under "sc" (the default) none of this runs: every access
// reaches memory at its own event, in one order.
//
// The unit is one FIFO buffer per thread (Thread.stores, in the state: the
// fold keeps it, so replay shows it). A hardware store buffer belongs to a
// cpu, but the simulator drains a thread's buffer before the thread leaves
// its cpu (the switch is a full barrier, as a kernel's context switch is), so
// while a thread runs its cpu's buffer holds only its stores: per thread and
// per cpu are the same thing here, and the thread's is what replay can show.
// On one cpu tso is therefore sc: store buffering needs two cpus.
//
// The rules:
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
//   - nothing else reorders: a buffer is FIFO (store→store order kept) and a
//     load is one event (load→load order kept). Only store→load reorders.
//
// When a buffered store reaches memory is the scheduler's choice: before each
// step of a running thread whose buffer is not empty, the Chooser is asked
// drain(cpu, tid); yes: the step is the commit of the oldest entry (one
// store-commit event: var, old, new), the thread's op runs at its next step.
// A drain forced by an op or a switch emits one store-commit per entry, then
// the op (or switch) goes on. Under sc the question is never asked.

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

/** The fold's part of a store-commit: t's oldest buffered store, taken off its buffer, when it is `value` to `id`; else null (nothing changes). */
export function commitOldest(t: Thread, id: number, value: number): PendingStore | null {
  const q = t.stores;
  const e = q?.[0];
  if (q === undefined || e === undefined || e.var !== id || e.value !== value) return null;
  q.shift();
  if (q.length === 0) t.stores = undefined;
  return e;
}

// ---- the simulator's side ----------------------------------------------------

/** Emits the store-commit of th's oldest buffered store (th has one), on cpu c. */
export function commitOne(k: Simulator, c: number, th: Thread): void {
  const e = th.stores![0]!;
  const v = k.state.vars.get(e.var);
  k.emit(c, th.tid, ev.storeCommit({ var: e.var, old: v !== undefined ? v.value : 0, new: e.value }));
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
