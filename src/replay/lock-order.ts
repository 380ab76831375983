// The lock-order invariant (opt-in): lockdep's rule. A thread that takes lock
// B while it holds lock A orders A before B; when the orders taken over a run
// close a cycle (A before B here, B before A there), two threads can each
// hold one lock of the cycle and wait for the next: a deadlock, whether or
// not this run's schedule made it happen. Reported at the attempt that closes
// the cycle, as Linux's lockdep ("possible circular locking dependency") and
// ThreadSanitizer ("lock-order-inversion (potential deadlock)") do: on the
// first run where both orders occur, hang or not.
//
// The graph is over lock classes: a lock's name (lockdep keys by class too),
// so a fork child's copy of a lock, and each process's "proc" lock of one
// name, are one class. The rules, as lockdep's:
//   - The edge is added at the attempt: a thread's lock-wait on a held lock,
//     or its lock-acquire of a free one (the acquire that ends a wait adds
//     what its wait added: nothing new). The attempt is the event a user wants
//     to stop at: it is where the thread commits to waiting in the bad order;
//     when the run deadlocks it is the last thing the thread does.
//   - A trylock that succeeds (lock-acquire with inferred = TRYLOCK_ACQUIRE)
//     adds no edge into the lock it took (it did not wait, so it cannot
//     deadlock), but the locks taken while holding it order after it.
//   - A recursive re-acquire (the caller owns the lock) adds none, nor does a
//     relock of a lock the caller holds (lock-misuse's); a class never orders
//     against itself (two instances of one class, nested).
//   - Locks taken in signal handlers count like any other (same thread).
//   - Only kernel-modelled locks (spinlocks, mutexes: s.locks) are ordered.
//     Read-write locks, condition variables and semaphores are futex words
//     with no owner (sync.ts), and futexes are no locks: out of scope.
//
// What a thread holds is the monitor's own list, fed by the acquires it sees
// and checked against the state when used (an entry whose lock the thread no
// longer owns is dropped), so releases need not be seen; a run that starts
// mid-way (a gap) starts from the owners its state records. Bounds, as
// lockdep's, so that no trace makes one event cost more than a bounded walk:
// MAX_HELD locks per thread (the most recent), MAX_CLASSES classes and
// MAX_EDGES edges; past them it may miss an inversion, never report a false one.

import { type KEvent, KIND, type KState, type Lock, TRYLOCK_ACQUIRE } from "../kernel/types.ts";
import { actorText } from "./describe.ts";
import type { Cause, Finding, Invariant, Monitor } from "./invariants.ts";

/** Locks a thread is taken to hold at most (lockdep's MAX_LOCK_DEPTH). */
export const MAX_HELD = 48;
/** Lock classes at most (lockdep's MAX_LOCKDEP_KEYS). */
export const MAX_CLASSES = 8192;
/** Order edges at most (lockdep's MAX_LOCKDEP_ENTRIES). */
export const MAX_EDGES = 32768;

/** A lock a thread holds: its id, and the seq of the acquire that took it. */
interface Held {
  id: number;
  seq: number;
}

/** An order edge: tid took `to` while holding `from` (classes), first at seq; holdSeq: the acquire of `from`. */
interface Edge {
  from: number;
  to: number;
  tid: number;
  pid: number;
  seq: number;
  holdSeq: number;
  /** The event at seq was a lock-wait (the thread waited for `to`), not an acquire. */
  waited: boolean;
}

class LockOrderMonitor implements Monitor {
  /** Class id by lock name, and names by class id. */
  private readonly classes = new Map<string, number>();
  private readonly names: string[] = [];
  /** Edges by from * MAX_CLASSES + to; out[c]: the classes c orders before (first seen first). */
  private readonly edges = new Map<number, Edge>();
  private readonly out: number[][] = [];
  /** What each thread holds, oldest first. */
  private readonly held = new Map<number, Held[]>();
  private started = false;

  pre(s: KState, ev: KEvent): Finding | null {
    if (!this.started) this.start(s);
    const l = s.locks.get(ev.a);
    if (l === undefined || l.owner === ev.tid) return null;
    const held = this.heldBy(s, ev.tid);
    const to = this.classOf(l.name);
    let found: Finding | null = null;
    if (!(ev.kind === KIND.lockAcquire && ev.c === TRYLOCK_ACQUIRE) && to >= 0) {
      for (let i = 0; i < held.length && found === null; i++) {
        const h = held[i]!;
        const hl = s.locks.get(h.id)!;
        const from = this.classOf(hl.name);
        if (from < 0 || from === to) continue;
        found = this.order(s, ev, from, to, h.seq);
      }
    }
    if (ev.kind === KIND.lockAcquire) {
      if (held.length >= MAX_HELD) held.shift();
      held.push({ id: l.id, seq: ev.seq });
    }
    return found;
  }

  /** A monitor that starts on a state mid-run: what its locks' owners hold. */
  private start(s: KState): void {
    this.started = true;
    for (const l of s.locks.values()) {
      if (l.owner < 0) continue;
      let h = this.held.get(l.owner);
      if (h === undefined) this.held.set(l.owner, (h = []));
      if (h.length < MAX_HELD) h.push({ id: l.id, seq: l.since });
    }
  }

  /** The locks tid holds (its list, less what it no longer owns), oldest first. */
  private heldBy(s: KState, tid: number): Held[] {
    let h = this.held.get(tid);
    if (h === undefined) {
      h = [];
      this.held.set(tid, h);
      return h;
    }
    let n = 0;
    for (let i = 0; i < h.length; i++) {
      const x = h[i]!;
      const l: Lock | undefined = s.locks.get(x.id);
      if (l !== undefined && l.owner === tid) h[n++] = x;
    }
    h.length = n;
    return h;
  }

  /** The class of a lock name (-1 past MAX_CLASSES). */
  private classOf(name: string): number {
    let c = this.classes.get(name);
    if (c === undefined) {
      if (this.names.length >= MAX_CLASSES) return -1;
      c = this.names.push(name) - 1;
      this.classes.set(name, c);
      this.out.push([]);
    }
    return c;
  }

  /** Adds the edge from -> to for ev (held since holdSeq); the finding when it is new and closes a cycle. */
  private order(s: KState, ev: KEvent, from: number, to: number, holdSeq: number): Finding | null {
    const key = from * MAX_CLASSES + to;
    if (this.edges.has(key) || this.edges.size >= MAX_EDGES) return null;
    const t = s.threads.get(ev.tid);
    const waited = ev.kind === KIND.lockWait;
    this.edges.set(key, { from, to, tid: ev.tid, pid: t?.pid ?? -1, seq: ev.seq, holdSeq, waited });
    this.out[from]!.push(to);
    const path = this.path(to, from);
    if (path === null) return null;
    const name = this.names;
    const parts = [`${actorText(s, ev.tid)} ${waited ? "waits for" : "takes"} ${name[to]} while holding ${name[from]}`];
    const causes: Cause[] = [{ seq: holdSeq, why: `tid ${ev.tid} took ${name[from]}` }];
    for (const e of path) {
      const who = `tid ${e.tid}${e.pid >= 0 ? ` (pid ${e.pid})` : ""}`;
      parts.push(`${who} took ${name[e.to]} while holding ${name[e.from]} (at seq ${e.seq})`);
      causes.push(
        { seq: e.holdSeq, why: `tid ${e.tid} took ${name[e.from]}` },
        {
          seq: e.seq,
          why: `tid ${e.tid} ${e.waited ? "waited for" : "took"} ${name[e.to]} while holding ${name[e.from]}: ${name[e.from]} before ${name[e.to]}`,
        },
      );
    }
    return {
      message: `lock order inversion (potential deadlock): ${parts.join("; ")}`,
      causes: causes.filter((c) => c.seq >= 0 && c.seq !== ev.seq).sort((a, b) => a.seq - b.seq),
    };
  }

  /** The edges of a shortest path of orders from class a to class b (breadth first), or null when b is not after a. */
  private path(a: number, b: number): Edge[] | null {
    const prev = new Map<number, number>([[a, -1]]);
    let frontier = [a];
    while (frontier.length > 0 && !prev.has(b)) {
      const next: number[] = [];
      for (const c of frontier)
        for (const d of this.out[c]!) {
          if (prev.has(d)) continue;
          prev.set(d, c);
          next.push(d);
        }
      frontier = next;
    }
    if (!prev.has(b)) return null;
    const edges: Edge[] = [];
    for (let c = b; c !== a; ) {
      const p = prev.get(c)!;
      edges.push(this.edges.get(p * MAX_CLASSES + c)!);
      c = p;
    }
    return edges.reverse();
  }
}

export const lockOrder: Invariant = {
  name: "lock-order",
  doc: "Opt-in (a scenario sets rules: { lockOrder: true }, or `--invariant lock-order`): locks are taken in one order. A thread that takes (or waits for) lock B while holding lock A orders A's class (its name) before B's; the attempt that adds an order closing a cycle (A before B, and B before A, or a longer chain) breaks it, hang or not: two threads can each hold one lock of the cycle and wait for the next (lockdep's rule). A trylock that succeeds orders nothing before its lock, a recursive re-acquire nothing; read-write locks and futexes are not ordered. The causes are the acquires that made each order of the cycle.",
  kinds: [KIND.lockAcquire, KIND.lockWait],
  reports: [KIND.lockAcquire, KIND.lockWait],
  optIn: "lockOrder",
  monitor: () => new LockOrderMonitor(),
};
