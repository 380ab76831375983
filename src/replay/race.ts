// The data-race invariant: two accesses to one variable by different threads,
// at least one of them a plain write, that happens-before does not order.
//
// Happens-before is computed with vector clocks, FastTrack-style (Flanagan and
// Freund, PLDI 2009; ThreadSanitizer does the same): each thread has a vector
// clock; each variable keeps the epoch (thread slot, clock) of its last plain
// write and of the accesses since, a read vector only while reads by several
// threads are concurrent. An access then costs a few comparisons, a
// synchronization one vector join. The edges are the ones src/kernel/types.ts
// documents next to ACCESS_KINDS:
//
//   lock-release(l) by T1          →  the next lock-acquire(l)
//   T1's death holding robust l    →  the next lock-acquire(l) (lock-robust
//                                     owner-died: the kernel's release)
//   fork / spawn / thread-new by T →  the new thread (it starts with T's clock)
//   the exit of pid a's threads    →  the thread that reaps pid a
//   a wake by T (futex, pipe, join, signal: issue 11)  →  the thread it wakes
//   a write into pipe p, or a close of its write end  →  a later read of p
//   a signal sent to pid a         →  its delivery to a thread of pid a
//   (what an exited thread "does": the wake of its joiner, SIGCHLD to its
//   parent, releases what its process's exited threads released)
//
// and none for sleeps, timeouts and other wakes by the kernel (-1), nor for
// futex_wait itself (it blocks, or fails with EAGAIN, without acquiring: a
// program re-reads the word with an atomic load, which does). Condition
// variables, semaphores and read-write locks are atomics on their word plus
// futex calls (src/kernel/sync.ts), so their edges are the atomics' and the
// wakes'; a trylock that succeeds is a lock-acquire.
//   the exit of pid a's threads    →  a pthread_join in pid a (all of them: it
//                                     may add an order, never miss one)
//   atomics on v                   →  release / acquire on v: an atomic write
//                                     (atomic-store, a cas that changed v,
//                                     fetch-add, xchg) releases, an atomic read
//                                     (atomic-load, any cas, fetch-add, xchg)
//                                     acquires what earlier atomic writes of v
//                                     released (C11's release/acquire; a store
//                                     does not acquire, a failed cas does not
//                                     release). Under the tso memory model an
//                                     atomic-store enters the store buffer: it
//                                     releases (the writer's clock at the
//                                     store) at its store-commit, when others
//                                     can read it; a read before that read the
//                                     old value and acquires nothing of it
//
// A variable is identified by its id: the kernel gives a fork child's copies
// of its parent's user variables new ids (types.ts), so a copy starts with no
// accesses, and the fork orders the parent's earlier accesses before the
// child anyway. Kernel variables and "proc" fields have one id wherever they
// are named from.
//
// The rule, by the kind of the later access (the one the finding is at):
//
//   plain write   races with any earlier access not ordered before it
//   plain read    races with an earlier plain write not ordered before it
//   atomic        races with an earlier plain write not ordered before it
//
// so two atomic accesses never race, and neither does a plain read with an
// atomic write (only a plain write makes a race, as the rule says).
//
// Thread slots: vector clocks are indexed by slot, not tid, so that they stay
// as long as the number of live threads (a long run creates thousands). A
// thread that exits frees its slot; a thread created by a thread that
// already knows (happens after) that exit may take the slot over, starting at
// the slot's clock + 1: every stale entry for the slot then names an older
// epoch, and anyone who learns the new thread's clock happens after all of
// the old thread's accesses, which is exactly what the comparison then says.
// Threads whose exit no creator knows keep their slot (a detached thread that
// is never joined or reaped): the clocks grow by one entry each, up to
// MAX_SLOTS; past it threads share slots (place()), so that no trace can make
// an event cost more than one join of MAX_SLOTS entries: the detector may
// then miss a race between threads of one slot, never report a false one.

import { committing } from "../kernel/tso.ts";
import {
  ACCESS_KINDS,
  buffersStores,
  DESCRIPTOR_ACCESS_KINDS,
  ERRNO,
  type KEvent,
  KIND,
  type KState,
  ROBUST,
  reordersStores,
} from "../kernel/types.ts";
import { actorText, kindName, varText } from "./describe.ts";
import type { Finding, Invariant, Monitor } from "./invariants.ts";

/** Free slots looked at for reuse when a thread is created (the most recently freed first). */
const REUSE_SCAN = 64;
/**
 * Thread slots at most: the longest a vector clock gets, so the most work one
 * event costs, whatever a trace holds. Past it, threads share slots (see place()).
 */
export const MAX_SLOTS = 1024;

/** A vector clock: clock by thread slot; entries past its length are 0. */
type VC = Int32Array;

function at(c: VC, i: number): number {
  return i < c.length ? c[i]! : 0;
}

/** dst ⊔= src; returns dst, or a longer copy of it when src is longer. */
function join(dst: VC, src: VC): VC {
  if (src.length > dst.length) {
    const d = new Int32Array(src.length);
    d.set(dst);
    dst = d;
  }
  for (let i = 0; i < src.length; i++) if (src[i]! > dst[i]!) dst[i] = src[i]!;
  return dst;
}

/** A copy of src, reusing dst when it is long enough. */
function copy(dst: VC | undefined, src: VC): VC {
  if (dst === undefined || dst.length < src.length) return new Int32Array(src);
  dst.set(src);
  dst.fill(0, src.length);
  return dst;
}

/** One access, as the finding names it. */
interface Access {
  seq: number;
  tid: number;
  kind: number;
}

/** Reads by several threads that no later read ordered: by slot, the latest one's clock (0: none), seq, tid and kind. */
class SharedReads {
  clocks: Int32Array;
  seqs: Float64Array;
  tids: Int32Array;
  kinds: Uint8Array;
  constructor(n: number) {
    this.clocks = new Int32Array(n);
    this.seqs = new Float64Array(n);
    this.tids = new Int32Array(n);
    this.kinds = new Uint8Array(n);
  }
  set(slot: number, clock: number, seq: number, tid: number, kind: number): void {
    if (slot >= this.clocks.length) {
      const n = Math.max(slot + 1, 2 * this.clocks.length);
      const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, b: T): T => {
        b.set(a);
        return b;
      };
      this.clocks = grow(this.clocks, new Int32Array(n));
      this.seqs = grow(this.seqs, new Float64Array(n));
      this.tids = grow(this.tids, new Int32Array(n));
      this.kinds = grow(this.kinds, new Uint8Array(n));
    }
    this.clocks[slot] = clock;
    this.seqs[slot] = seq;
    this.tids[slot] = tid;
    this.kinds[slot] = kind;
  }
}

/** What the detector remembers of one variable. */
class VarState {
  /** The last plain write: its epoch (slot -1: none) and access. */
  wSlot = -1;
  wClock = 0;
  wSeq = -1;
  wTid = -1;
  /** Its kind (a store; for a descriptor, the fd-open or fd-close). */
  wKind = 0;
  /**
   * The accesses since the last plain write a later plain write must be
   * ordered after (reads, atomic writes): one epoch (slot -1: none), or
   * SHARED and a read vector.
   */
  rSlot = -1;
  rClock = 0;
  rSeq = -1;
  rTid = -1;
  rKind = 0;
  shared: SharedReads | null = null;
  /** What the atomic writes of it released (null: none yet). */
  sync: VC | null = null;
}

const SHARED = -2;

/**
 * The per-run state of the detector (see the file comment). pre(before, ev)
 * takes the events of DATA_RACE_KINDS in seq order from the run's first.
 */
export class RaceDetector implements Monitor {
  private readonly slotOf = new Map<number, number>();
  /** By slot: the vector clock of the thread on it (kept for reuse when it is free). */
  private readonly vcs: VC[] = [];
  /** By slot: how many live threads are on it (0: free; more than 1 only past MAX_SLOTS). */
  private readonly live: number[] = [];
  /** The next slot shared when every slot is taken, past MAX_SLOTS. */
  private shareNext = 0;
  /** By slot: the slot's clock when its last thread exited. */
  private readonly exitClock: number[] = [];
  private readonly free: number[] = [];
  private readonly vars = new Map<number, VarState>();
  private readonly locks = new Map<number, VC>();
  /** By pid: the join of its exited threads' clocks, for the reap (and a join in it). */
  private readonly exits = new Map<number, VC>();
  /** By pipe: what its writes (and the closes of its write end) released; by pid: what signals sent to it released. */
  private readonly pipes = new Map<number, VC>();
  private readonly signals = new Map<number, VC>();
  /** By descriptor slot (fdKey: a process's fd number): its opens and closes (writes) and the reads and writes through it (reads). */
  private readonly fds = new Map<number, VarState>();
  /** The threads whose exec is closing their process's close-on-exec descriptors: the kernel's closes, not the program's. */
  private readonly execing = new Set<number>();
  /** tso: by the seq of a buffered atomic-store, the clock it releases at its store-commit (the fold keeps the buffer: Thread.stores). */
  private readonly pendingRelease = new Map<number, VC>();
  /** The last thread slot() looked up (most events come in runs of one thread's). */
  private lastTid = -1;
  private lastSlot = -1;
  private varsSwept = 0;
  private locksSwept = 0;

  /** Thread slots made so far: the length of the vector clocks (live threads, plus those whose exit no creator has seen; at most MAX_SLOTS). */
  get slots(): number {
    return this.live.length;
  }

  pre(s: KState, ev: KEvent): Finding | null {
    if (this.execing.size > 0 && ev.kind !== KIND.fdClose && ev.kind !== KIND.exec) this.execing.delete(ev.tid);
    switch (ev.kind) {
      case KIND.load:
        return this.read(s, ev, false);
      case KIND.atomicLoad:
        return this.read(s, ev, true);
      case KIND.store:
        return this.write(s, ev);
      case KIND.atomicStore:
        return this.atomic(s, ev, false, true);
      case KIND.storeCommit:
        this.committed(s, ev);
        return null;
      case KIND.cas:
        return this.atomic(s, ev, true, ev.c !== ev.b);
      case KIND.fetchAdd:
      case KIND.xchg:
        return this.atomic(s, ev, true, true);
      case KIND.lockAcquire: {
        const l = this.locks.get(ev.a);
        if (l !== undefined && ev.tid >= 0) this.acquire(this.slot(ev.tid), l);
        return null;
      }
      case KIND.lockRelease:
        if (ev.tid >= 0) this.release(s, ev.a, ev.tid);
        return null;
      case KIND.lockRobust:
        // owner-died: the kernel's release of the dead owner's mutex (the next locker sees what it did).
        if (ev.b === ROBUST["owner-died"] && ev.c >= 0 && s.threads.has(ev.c)) this.release(s, ev.a, ev.c);
        return null;
      case KIND.fork:
      case KIND.spawn:
        this.start(ev.c, ev.tid);
        return null;
      case KIND.threadNew:
        this.start(ev.a, ev.tid);
        return null;
      case KIND.threadExit:
        this.exit(s, ev.a);
        return null;
      case KIND.reap: {
        const e = this.exits.get(ev.a);
        this.exits.delete(ev.a);
        this.signals.delete(ev.a);
        this.forgetFds(ev.a);
        if (e !== undefined && ev.tid >= 0) this.acquire(this.slot(ev.tid), e);
        return null;
      }
      case KIND.join: {
        const e = this.exits.get(s.threads.get(ev.tid)?.pid ?? -1);
        if (e !== undefined && ev.tid >= 0) this.acquire(this.slot(ev.tid), e);
        return null;
      }
      case KIND.wake:
        if (ev.b >= 0 && ev.b !== ev.a && s.threads.has(ev.a)) {
          const w = this.releaser(s, ev.b);
          if (w !== null) {
            this.acquire(this.slot(ev.a), w.vc);
            if (w.slot >= 0) this.tick(w.slot);
          }
        }
        return null;
      case KIND.pipeWrite: {
        const found = this.fdUse(s, ev, true);
        if (ev.tid >= 0) this.releaseInto(s, this.pipes, ev.a, ev.tid);
        return found;
      }
      case KIND.fdClose: {
        const found = this.fdChange(s, ev);
        if (ev.tid >= 0) this.releaseInto(s, this.pipes, ev.b, ev.tid);
        return found;
      }
      case KIND.fdOpen:
        return this.fdChange(s, ev);
      case KIND.errno:
        // A call on a descriptor that is not open (EBADF: a write, read, close or dup through a number): a use of its slot.
        if (ev.a !== ERRNO.EBADF || ev.b < 0 || ev.b >= FD_KEYS || ev.tid < 0) return null;
        return this.fdUseOfThread(s, ev, ev.b);
      case KIND.exec:
        if (ev.tid >= 0) this.execing.add(ev.tid);
        return null;
      case KIND.pipeRead: {
        const found = this.fdUse(s, ev, false);
        const c = this.pipes.get(ev.a);
        if (c !== undefined && ev.tid >= 0) this.acquire(this.slot(ev.tid), c);
        return found;
      }
      case KIND.signal:
        if (ev.tid >= 0) this.releaseInto(s, this.signals, ev.a, ev.tid);
        return null;
      case KIND.signalDeliver: {
        const c = this.signals.get(s.threads.get(ev.tid)?.pid ?? -1);
        if (c !== undefined && ev.tid >= 0) this.acquire(this.slot(ev.tid), c);
        return null;
      }
      default:
        return null;
    }
  }

  // ---- threads -------------------------------------------------------------------

  /** The slot of tid, giving it one (as a thread nobody created: no clock but its own) on first sight. */
  private slot(tid: number): number {
    if (tid === this.lastTid) return this.lastSlot;
    let t = this.slotOf.get(tid);
    if (t === undefined) t = this.place(tid, null);
    this.lastTid = tid;
    this.lastSlot = t;
    return t;
  }

  /**
   * Puts tid on a slot, starting from `from`'s clock: a free slot whose last
   * thread's exit `from` knows, else a new one. Past MAX_SLOTS (a trace with
   * that many threads alive or never joined): the oldest free slot, whoever
   * knows its exit, else a live thread's slot, shared. Both make the threads
   * of a slot look ordered: past the bound the detector can miss a race, but
   * never reports one that is not there, and its work per event stays bounded.
   */
  private place(tid: number, from: VC | null): number {
    let slot = -1;
    if (from !== null) {
      for (let i = this.free.length - 1, n = 0; i >= 0 && n < REUSE_SCAN; i--, n++) {
        const f = this.free[i]!;
        if (this.exitClock[f]! <= at(from, f)) {
          slot = f;
          this.free.splice(i, 1);
          break;
        }
      }
    }
    if (slot < 0 && this.live.length < MAX_SLOTS) {
      slot = this.live.length;
      this.live.push(0);
      this.exitClock.push(0);
      this.vcs.push(new Int32Array(0));
    } else if (slot < 0 && this.free.length > 0) {
      slot = this.free.shift()!;
    } else if (slot < 0) {
      slot = this.shareNext++ % MAX_SLOTS;
      if (from !== null) this.acquire(slot, from);
      this.tick(slot);
      this.live[slot]!++;
      this.slotOf.set(tid, slot);
      return slot;
    }
    let vc = from !== null ? copy(this.vcs[slot], from) : copy(this.vcs[slot], new Int32Array(0));
    if (vc.length <= slot) vc = join(new Int32Array(slot + 1), vc);
    vc[slot] = Math.max(vc[slot]!, this.exitClock[slot]!) + 1;
    this.vcs[slot] = vc;
    this.live[slot] = 1;
    this.slotOf.set(tid, slot);
    return slot;
  }

  /** tid is created by `by` (-1: the kernel at boot): it starts with by's clock, and by's next epoch begins. */
  private start(tid: number, by: number): void {
    if (this.slotOf.has(tid)) return;
    if (by < 0) {
      this.place(tid, null);
      return;
    }
    const b = this.slot(by);
    this.place(tid, this.vcs[b]!);
    this.tick(b);
  }

  /** tid exits: its clock joins its process's (for the reap) and its slot is freed. */
  private exit(s: KState, tid: number): void {
    const slot = this.slotOf.get(tid);
    if (slot === undefined) return;
    const pid = s.threads.get(tid)?.pid;
    const vc = this.vcs[slot]!;
    if (pid !== undefined) {
      const e = this.exits.get(pid);
      this.exits.set(pid, e === undefined ? new Int32Array(vc) : join(e, vc));
    }
    this.slotOf.delete(tid);
    if (this.lastTid === tid) this.lastTid = -1;
    if (--this.live[slot]! > 0) return; // a slot shared past MAX_SLOTS: its other threads go on
    this.exitClock[slot] = vc[slot]!;
    this.free.push(slot);
  }

  /**
   * What `tid` releases at an event it acts in: its clock and slot (whose
   * epoch the caller ends), or, for a thread that has exited (the kernel acts
   * on its behalf after its thread-exit: the wake of its joiner, SIGCHLD to
   * its parent), what its process's exited threads released (slot -1), null
   * when none did. Never a slot for a dead thread: a tid that is gone would
   * hold it for ever, and a later thread with that tid would not inherit its
   * creator's clock.
   */
  private releaser(s: KState, tid: number): { vc: VC; slot: number } | null {
    if (!this.slotOf.has(tid)) {
      const t = s.threads.get(tid);
      if (t === undefined || t.state === "exited") {
        const e = t === undefined ? undefined : this.exits.get(t.pid);
        return e === undefined ? null : { vc: e, slot: -1 };
      }
    }
    const slot = this.slot(tid);
    return { vc: this.vcs[slot]!, slot };
  }

  /** tid releases into the clock of an object (a pipe, a process's signals); its next epoch begins. */
  private releaseInto(s: KState, m: Map<number, VC>, id: number, tid: number): void {
    const r = this.releaser(s, tid);
    if (r === null) return;
    const c = m.get(id);
    if (c === undefined && m.size > 2 * this.slots + 64) m.clear(); // bounded: forgetting an order can hide a race, never invent one
    m.set(id, c === undefined ? new Int32Array(r.vc) : join(c, r.vc));
    if (r.slot >= 0) this.tick(r.slot);
  }

  /** tid releases lock `id`: the lock's clock takes tid's; tid's next epoch begins. */
  private release(s: KState, id: number, tid: number): void {
    const t = this.slot(tid);
    const l = this.locks.get(id);
    if (l === undefined) this.sweepLocks(s);
    this.locks.set(id, l === undefined ? new Int32Array(this.vcs[t]!) : join(l, this.vcs[t]!));
    this.tick(t);
  }

  private acquire(t: number, from: VC): void {
    this.vcs[t] = join(this.vcs[t]!, from);
  }

  /** The thread on slot t begins a new epoch (after a release). */
  private tick(t: number): void {
    this.vcs[t]![t]!++;
  }

  // ---- accesses -------------------------------------------------------------------

  private varState(s: KState, id: number): VarState {
    let v = this.vars.get(id);
    if (v === undefined) {
      this.sweepVars(s);
      v = new VarState();
      this.vars.set(id, v);
    }
    return v;
  }

  /** A plain or atomic read (atomic: acquires first). */
  private read(s: KState, ev: KEvent, atomic: boolean): Finding | null {
    if (ev.tid < 0) return null;
    const t = this.slot(ev.tid);
    const v = this.varState(s, ev.a);
    if (atomic && v.sync !== null) this.acquire(t, v.sync);
    const found = this.afterWrite(s, ev, t, v);
    this.noteRead(v, t, ev);
    return found;
  }

  /** An atomic access: acquires (a read-modify-write or cas), checks against the last plain write, releases when it writes. */
  private atomic(s: KState, ev: KEvent, reads: boolean, writes: boolean): Finding | null {
    if (ev.tid < 0) return null;
    const t = this.slot(ev.tid);
    const v = this.varState(s, ev.a);
    if (reads && v.sync !== null) this.acquire(t, v.sync);
    const found = this.afterWrite(s, ev, t, v);
    this.noteRead(v, t, ev);
    if (writes) {
      const c = this.vcs[t]!;
      // tso, pso: an atomic-store is buffered (a locked cas, fetch-add or xchg is not): it releases at its store-commit.
      if (ev.kind === KIND.atomicStore && buffersStores(s.config)) this.pendingRelease.set(ev.seq, new Int32Array(c));
      else v.sync = v.sync === null ? new Int32Array(c) : join(v.sync, c);
      this.tick(t);
    }
    return found;
  }

  /**
   * tso, pso: a buffered store of ev's thread reaches memory (the fold's
   * buffer, in the state before ev, and tso.ts's committing say which): an
   * atomic one's release takes effect now. Nothing for a plain store, or one
   * buffered before the monitor started.
   */
  private committed(s: KState, ev: KEvent): void {
    const q = s.threads.get(ev.tid)?.stores;
    const e = q?.[committing(q, ev.a, reordersStores(s.config))];
    const vc = e === undefined ? undefined : this.pendingRelease.get(e.seq);
    if (vc === undefined) return;
    this.pendingRelease.delete(e!.seq);
    const v = this.varState(s, ev.a);
    v.sync = v.sync === null ? vc : join(v.sync, vc);
  }

  /** A plain write: checks against the last plain write and every access since. */
  private write(s: KState, ev: KEvent): Finding | null {
    if (ev.tid < 0) return null;
    const p = this.written(this.slot(ev.tid), ev, this.varState(s, ev.a));
    return p === null ? null : this.finding(s, ev, p);
  }

  /** Records a plain write of v by the thread on slot t at ev; returns the latest earlier access it races with, or null. */
  private written(t: number, ev: KEvent, v: VarState): Access | null {
    const c = this.vcs[t]!;
    const now = c[t]!;
    if (v.wSlot === t && v.wClock === now && v.rSlot === -1) {
      v.wSeq = ev.seq;
      v.wKind = ev.kind;
      return null;
    }
    let p: Access | null = null;
    if (v.wSlot >= 0 && v.wClock > at(c, v.wSlot)) p = { seq: v.wSeq, tid: v.wTid, kind: v.wKind };
    if (v.rSlot >= 0) {
      if (v.rClock > at(c, v.rSlot) && (p === null || v.rSeq > p.seq)) p = { seq: v.rSeq, tid: v.rTid, kind: v.rKind };
    } else if (v.rSlot === SHARED) {
      const r = v.shared!;
      for (let i = 0; i < r.clocks.length; i++) {
        const rc = r.clocks[i]!;
        if (rc > 0 && rc > at(c, i) && (p === null || r.seqs[i]! > p.seq))
          p = { seq: r.seqs[i]!, tid: r.tids[i]!, kind: r.kinds[i]! };
      }
    }
    v.wSlot = t;
    v.wClock = now;
    v.wSeq = ev.seq;
    v.wTid = ev.tid;
    v.wKind = ev.kind;
    v.rSlot = -1;
    v.shared = null;
    return p;
  }

  /** The race of a read or atomic access with the last plain write, if it is not ordered before it. */
  private afterWrite(s: KState, ev: KEvent, t: number, v: VarState): Finding | null {
    if (v.wSlot < 0 || v.wClock <= at(this.vcs[t]!, v.wSlot)) return null;
    return this.finding(s, ev, { seq: v.wSeq, tid: v.wTid, kind: KIND.store });
  }

  // ---- descriptors ----------------------------------------------------------------
  //
  // A descriptor number is shared state of a process's threads, as ThreadSanitizer
  // treats it: opening it (pipe, dup, dup2) and closing it write it, a read or
  // write through it reads it. A use not ordered after the last open or close by
  // another thread is a thread using a number that may have been closed and given
  // to another file under it; a close not ordered after another thread's use (or
  // open) is a descriptor closed while that thread may still be using it (close(2):
  // "it is probably unwise to close file descriptors while they may be in use by
  // system calls in other threads"). An open is itself judged against nothing: the
  // kernel hands the number out whole, so another thread's earlier close of it is
  // no race (a thread closing its files while another opens new ones is every
  // multithreaded program; ThreadSanitizer's open imitates a write the same way).
  // A double close is found at the second close, against the other thread's open
  // of the number in between. The kernel's own closes (an exiting process's last
  // thread, an exec's close-on-exec) come after the other threads are gone and
  // are not the program's: they are not accesses. A pipe-write or pipe-read event
  // names the pipe, not the descriptor: the descriptor is the process's one
  // end of that pipe, and when it holds several (dup) the use is not checked.

  /** An open or close of descriptor ev.a (a plain write of its slot; an open's not checked), unless the kernel's own. */
  private fdChange(s: KState, ev: KEvent): Finding | null {
    if (ev.tid < 0) return null;
    const pid = s.threads.get(ev.tid)?.pid;
    if (pid === undefined || ev.a < 0 || ev.a >= FD_KEYS) return null;
    if (ev.kind === KIND.fdClose && (this.execing.has(ev.tid) || s.procs.get(pid)?.vmar === null)) {
      this.fds.delete(fdKey(pid, ev.a));
      return null;
    }
    const key = fdKey(pid, ev.a);
    // An open takes a number the kernel hands out whole: it races with nothing before it (a number another thread
    // closed and this one's pipe() got is what every multithreaded program does), so the slot starts afresh with the
    // open as its write, and the uses after it, unordered, race with it (ThreadSanitizer's FdCreate imitates a write
    // so: tsan_fd.cpp). A close is checked.
    let v = ev.kind === KIND.fdOpen ? undefined : this.fds.get(key);
    if (v === undefined) this.fds.set(key, (v = new VarState()));
    const p = this.written(this.slot(ev.tid), ev, v);
    return p === null ? null : this.fdFinding(s, ev, pid, ev.a, p);
  }

  /** A write (or read) through the process's descriptor for pipe ev.a's write (read) end: a read of its slot. */
  private fdUse(s: KState, ev: KEvent, writing: boolean): Finding | null {
    if (ev.tid < 0) return null;
    const pid = s.threads.get(ev.tid)?.pid;
    const fds = pid === undefined ? undefined : s.procs.get(pid)?.fds;
    if (fds === undefined) return null;
    let fd = -1;
    for (const f of fds)
      if (f.pipe === ev.a && f.write === writing) {
        if (fd >= 0) return null; // several descriptors for this end: which one was used is not known
        fd = f.fd;
      }
    return fd < 0 || fd >= FD_KEYS ? null : this.fdUseOf(s, ev, pid!, fd);
  }

  /** fdUseOf for ev's thread's process (an EBADF: the number named by the call). */
  private fdUseOfThread(s: KState, ev: KEvent, fd: number): Finding | null {
    const pid = s.threads.get(ev.tid)?.pid;
    return pid === undefined ? null : this.fdUseOf(s, ev, pid, fd);
  }

  /** A use of descriptor fd of process pid (ev's thread's) at ev: a read of its slot. */
  private fdUseOf(s: KState, ev: KEvent, pid: number, fd: number): Finding | null {
    const v = this.fds.get(fdKey(pid, fd));
    if (v === undefined) return null;
    const t = this.slot(ev.tid);
    const p = v.wSlot >= 0 && v.wClock > at(this.vcs[t]!, v.wSlot) ? { seq: v.wSeq, tid: v.wTid, kind: v.wKind } : null;
    this.noteRead(v, t, ev);
    return p === null ? null : this.fdFinding(s, ev, pid, fd, p);
  }

  private fdFinding(s: KState, ev: KEvent, pid: number, fd: number, p: Access): Finding {
    const name = `fd ${fd} of pid ${pid}`;
    const using = ev.kind === KIND.pipeWrite || ev.kind === KIND.pipeRead || ev.kind === KIND.errno;
    const opened = p.kind === KIND.fdOpen;
    const what = using
      ? opened
        ? `: ${actorText(s, ev.tid)} may be using a number that was closed and given to another file under it`
        : `: ${actorText(s, ev.tid)} may be using a descriptor another thread closed`
      : `: a descriptor ${ev.kind === KIND.fdClose ? "closed" : "reused"} while ${actorText(s, p.tid)} may still be using it`;
    const mine = ev.kind === KIND.errno ? `${ev.s} failing with EBADF` : fdAccessText(ev.kind);
    return {
      message: `data race on ${name}: ${mine} by ${actorText(s, ev.tid)} at seq ${ev.seq} and ${fdAccessText(p.kind)} by ${actorText(s, p.tid)} at seq ${p.seq}; nothing orders them${what}`,
      causes: [
        {
          seq: p.seq,
          why: `${actorText(s, p.tid)}: ${fdAccessText(p.kind)}, unordered with the ${kindName(ev.kind)} at seq ${ev.seq}`,
        },
      ],
    };
  }

  /** Forgets a reaped process's descriptor slots. */
  private forgetFds(pid: number): void {
    if (this.fds.size === 0) return;
    for (let fd = 0; fd < FD_KEYS; fd++) this.fds.delete(fdKey(pid, fd));
  }

  /** Adds the access (a read, or an atomic write) to those a later plain write must follow. */
  private noteRead(v: VarState, t: number, ev: KEvent): void {
    const c = this.vcs[t]!;
    const now = c[t]!;
    if (v.rSlot === t || v.rSlot === -1 || (v.rSlot >= 0 && v.rClock <= at(c, v.rSlot))) {
      // The same thread, the first, or ordered after the one remembered: one epoch is enough.
      v.rSlot = t;
      v.rClock = now;
      v.rSeq = ev.seq;
      v.rTid = ev.tid;
      v.rKind = ev.kind;
      return;
    }
    if (v.rSlot >= 0) {
      // Concurrent with the remembered one: a read vector holding both.
      const r = new SharedReads(Math.max(v.rSlot, t) + 1);
      r.set(v.rSlot, v.rClock, v.rSeq, v.rTid, v.rKind);
      v.shared = r;
      v.rSlot = SHARED;
    }
    v.shared!.set(t, now, ev.seq, ev.tid, ev.kind);
  }

  private finding(s: KState, ev: KEvent, p: Access): Finding {
    const name = varText(s, ev.a);
    return {
      message: `data race on ${name}: ${accessText(ev.kind)} by ${actorText(s, ev.tid)} at seq ${ev.seq} and ${accessText(p.kind)} by ${actorText(s, p.tid)} at seq ${p.seq}; no lock, atomic, fork, thread start or reap orders them`,
      causes:
        p.seq >= 0
          ? [
              {
                seq: p.seq,
                why: `${actorText(s, p.tid)}: ${accessText(p.kind)} of ${name}, unordered with the ${kindName(ev.kind)} at seq ${ev.seq}`,
              },
            ]
          : [],
    };
  }

  // ---- memory ---------------------------------------------------------------------

  /** Forgets the variables that are gone (exec, reap), once the table has doubled since the last sweep. */
  private sweepVars(s: KState): void {
    if (this.vars.size < 2 * this.varsSwept + 64) return;
    for (const id of this.vars.keys()) if (!s.vars.has(id)) this.vars.delete(id);
    this.varsSwept = this.vars.size;
  }

  private sweepLocks(s: KState): void {
    if (this.locks.size < 2 * this.locksSwept + 64) return;
    for (const id of this.locks.keys()) if (!s.locks.has(id)) this.locks.delete(id);
    this.locksSwept = this.locks.size;
  }
}

/** Descriptor numbers a slot key holds per process (fds are below FIRST_FD + MAX_FDS). */
const FD_KEYS = 128;

function fdKey(pid: number, fd: number): number {
  return pid * FD_KEYS + fd;
}

/** An access of a descriptor as the message names it. */
function fdAccessText(kind: number): string {
  if (kind === KIND.fdOpen) return "fd-open (opened)";
  if (kind === KIND.fdClose) return "fd-close (closed)";
  if (kind === KIND.pipeWrite) return "pipe-write (written through)";
  if (kind === KIND.pipeRead) return "pipe-read (read through)";
  return "a call on it that failed with EBADF";
}

/** An access as the message names it: "store (plain write)". */
function accessText(kind: number): string {
  if (kind === KIND.load) return "load (plain read)";
  if (kind === KIND.store) return "store (plain write)";
  return `${kindName(kind)} (atomic)`;
}

/** The event kinds the detector reads: the accesses and the happens-before edges. */
export const DATA_RACE_KINDS: readonly number[] = [
  KIND.load,
  KIND.store,
  KIND.atomicLoad,
  KIND.atomicStore,
  KIND.storeCommit,
  KIND.cas,
  KIND.fetchAdd,
  KIND.xchg,
  KIND.lockAcquire,
  KIND.lockRelease,
  KIND.lockRobust,
  KIND.fork,
  KIND.spawn,
  KIND.threadNew,
  KIND.threadExit,
  KIND.reap,
  KIND.join,
  KIND.wake,
  KIND.pipeWrite,
  KIND.pipeRead,
  KIND.fdClose,
  KIND.fdOpen,
  KIND.exec,
  KIND.errno,
  KIND.signal,
  KIND.signalDeliver,
];

export const dataRace: Invariant = {
  name: "data-race",
  doc: "Two accesses to one variable by different threads, at least one a plain write, are ordered by happens-before (lock release to acquire, fork, spawn and thread creation, the exit of a reaped process's threads to the reaper, an atomic write to a later atomic read of the variable (under tso, from its store-commit); a wakeup to the thread it wakes, a pipe's write to its later read, a signal to its delivery, a thread's exit to a join in its process): the later of two unordered accesses breaks it, on any interleaving, whether or not the values came out wrong. A process's descriptor numbers are shared the same way (as ThreadSanitizer treats them): closing one writes it, opening one writes it afresh (the kernel hands a number out whole: an open races with nothing before it), a read or write through it reads it, so a thread using a number another thread closed (and maybe reused) under it, or a close while another thread may still use it (a double close among them), breaks it too. The finding names both accesses.",
  kinds: DATA_RACE_KINDS,
  monitor: () => new RaceDetector(),
  // A finding is at the later of two accesses (RaceDetector.pre): never at a synchronization event.
  reports: [...ACCESS_KINDS.plainRead, ...ACCESS_KINDS.plainWrite, ...ACCESS_KINDS.atomic, ...DESCRIPTOR_ACCESS_KINDS],
};
