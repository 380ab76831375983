// applyEvent: the only code that changes kernel state.
//
// The simulator decides what happens next and calls applyEvent; replay folds
// the recorded events through the same function, so a replayed state cannot
// disagree with the recorded run. applyEvent mutates `s` in place (for speed)
// and depends on nothing but `s` and `ev`.

import { applyImported, importedSwitch } from "./imported.ts";
import { FREED_QUARANTINE } from "./params.ts";
import { reboost } from "./prio.ts";
import { bit, discarded, ignores } from "./signal.ts";
import { buffer, commitOldest, storeBarrier, viewOf } from "./tso.ts";
import {
  buffersStores,
  type Cpu,
  EVENT_KINDS,
  type Fd,
  HOW,
  type KEvent,
  KIND,
  type KObj,
  type KStack,
  type KState,
  LOCK_TYPES,
  type Lock,
  OUTCOME_KINDS,
  type PendingSignal,
  type Pipe,
  type Proc,
  ROBUST_STATES,
  reordersStores,
  SCHED_POLICIES,
  SYNC_KINDS,
  type Thread,
  type ThreadState,
  VAR_TYPES,
  type Var,
} from "./types.ts";

/** Raised when an event does not fit the state it is applied to (a corrupt or foreign trace). */
export class ApplyError extends Error {
  readonly seq: number;
  constructor(seq: number, message: string) {
    super(`event ${seq}: ${message}`);
    this.seq = seq;
  }
}

export function thread(s: KState, ev: KEvent, tid: number): Thread {
  const t = s.threads.get(tid);
  if (!t) throw new ApplyError(ev.seq, `no thread ${tid}`);
  return t;
}

function proc(s: KState, ev: KEvent, pid: number): Proc {
  const p = s.procs.get(pid);
  if (!p) throw new ApplyError(ev.seq, `no process ${pid}`);
  return p;
}

function lock(s: KState, ev: KEvent, id: number): Lock {
  const l = s.locks.get(id);
  if (!l) throw new ApplyError(ev.seq, `no lock ${id}`);
  return l;
}

function pipe(s: KState, ev: KEvent, id: number): Pipe {
  const p = s.pipes.get(id);
  if (!p) throw new ApplyError(ev.seq, `no pipe ${id}`);
  return p;
}

/** Puts f in p's table (kept in fd order) and counts it on its pipe end. */
function addFd(p: Proc, f: Fd, pp: Pipe): void {
  const fds = (p.fds ??= []);
  let i = fds.length;
  while (i > 0 && fds[i - 1]!.fd > f.fd) i--;
  fds.splice(i, 0, f);
  if (f.write) pp.writers++;
  else pp.readers++;
}

/** A descriptor goes: its pipe end loses a reference; the last write end closed is EOF (wclosedSeq); a pipe no one holds is gone. */
function dropFd(s: KState, f: Fd, seq: number): void {
  const pp = s.pipes.get(f.pipe);
  if (!pp) return;
  if (f.write) {
    pp.writers--;
    if (pp.writers === 0) pp.wclosedSeq = seq;
  } else pp.readers--;
  if (pp.readers <= 0 && pp.writers <= 0) s.pipes.delete(pp.id);
}

/** The child's copies of p's descriptors (all, or those without close-on-exec), inherited at seq. */
function inheritFds(s: KState, from: Proc, to: Proc, seq: number, execing: boolean): void {
  if (from.fds === undefined) return;
  for (const f of from.fds) {
    if (execing && f.cloexec) continue;
    const pp = s.pipes.get(f.pipe);
    if (pp) addFd(to, { ...f, seq }, pp);
  }
}

/**
 * What else a fork child gets from its parent: signal actions and the
 * forker's mask (not its pending signals), the forker's registers (the child
 * thread is its copy), every file descriptor.
 */
function forked(s: KState, parent: Proc, child: Proc, forker: Thread, ct: Thread, seq: number): void {
  if (parent.sigActions) child.sigActions = parent.sigActions.map(([a, b]) => [a, b]);
  if (forker.sigMask !== undefined) ct.sigMask = forker.sigMask;
  if (forker.regs !== undefined) ct.regs = new Map(forker.regs);
  if (parent.fds !== undefined) inheritFds(s, parent, child, seq, false);
}

/**
 * What a posix_spawn child gets: ignored signals stay ignored (handlers
 * reset), the spawner's mask, the descriptors without close-on-exec.
 */
function spawned(s: KState, parent: Proc, child: Proc, spawner: Thread | undefined, ct: Thread, seq: number): void {
  const ign = parent.sigActions?.filter((x) => x[1] === 1);
  if (ign && ign.length > 0) child.sigActions = ign.map(([a, b]) => [a, b]);
  if (spawner?.sigMask !== undefined) ct.sigMask = spawner.sigMask;
  if (parent.fds !== undefined) inheritFds(s, parent, child, seq, true);
}

/** A new id must be an integer not in use (a hostile trace may reuse one). */
export function fresh(ev: KEvent, m: Map<number, unknown>, id: number, what: string): number {
  if (!Number.isSafeInteger(id) || id < 0) throw new ApplyError(ev.seq, `bad ${what} id ${id}`);
  if (m.has(id)) throw new ApplyError(ev.seq, `${what} ${id} already exists`);
  return id;
}

/*
 * The fold's objects, each made by one function: the fold's creation sites and
 * fromPlain (state.ts: a snapshot's objects, and cloneState's copies) both
 * build them here, so a state rebuilt from a snapshot has the shapes of one
 * folded from the start and the fold's compiled code meets one shape per kind
 * (the split scan starts every segment from a snapshot; seeks too). These
 * literals are the one statement of each object's keys and their order: every
 * field, the optional ones too (`undefined` when absent: the fold sets a field
 * to undefined, never deletes it, so an object keeps its one shape for its
 * whole life). A snapshot packs the defined fields in this order (state.ts,
 * toPlain). Each takes its core fields as one object literal of the `…Core`
 * keys in their order, at every call (then the constructor, too, meets one
 * shape); the optional fields are set after.
 */

/** What a thread is made from (a literal of these keys, in this order). */
export type ThreadCore = Pick<Thread, "tid" | "pid" | "state" | "ident" | "kstack" | "waitLock" | "waitPid">;

/** A thread: its core fields, the rest undefined. */
export function threadObj(x: ThreadCore): Thread {
  return {
    tid: x.tid,
    pid: x.pid,
    state: x.state,
    ident: x.ident,
    kstack: x.kstack,
    waitLock: x.waitLock,
    waitSince: undefined,
    waitPid: x.waitPid,
    regs: undefined,
    comm: undefined,
    cpu: undefined,
    onSeq: undefined,
    offSeq: undefined,
    waitOn: undefined,
    woken: undefined,
    prio: undefined,
    policy: undefined,
    boost: undefined,
    sigMask: undefined,
    sigPending: undefined,
    handling: undefined,
    pdeathSig: undefined,
    stores: undefined,
  };
}

/** What a process is made from (a literal of these keys, in this order). */
export type ProcCore = Pick<
  Proc,
  | "pid"
  | "ppid"
  | "name"
  | "state"
  | "threads"
  | "vmar"
  | "vmarClearedSeq"
  | "vmarLock"
  | "exitCode"
  | "tcaches"
  | "createdSeq"
  | "exitingSeq"
>;

/** A process: its core fields, the rest undefined. */
export function procObj(x: ProcCore): Proc {
  return {
    pid: x.pid,
    ppid: x.ppid,
    name: x.name,
    state: x.state,
    threads: x.threads,
    vmar: x.vmar,
    vmarClearedSeq: x.vmarClearedSeq,
    vmarLock: x.vmarLock,
    exitCode: x.exitCode,
    tcaches: x.tcaches,
    createdSeq: x.createdSeq,
    exitingSeq: x.exitingSeq,
    refs: undefined,
    fds: undefined,
    sigActions: undefined,
    sigPending: undefined,
    adoptedSeq: undefined,
    exitSeq: undefined,
  };
}

/** What a lock is made from (a literal of these keys, in this order). */
export type LockCore = Omit<Lock, "pi" | "robust" | "diedSeq">;

/** A lock: its core fields, `pi` undefined. */
export function lockObj(x: LockCore): Lock {
  return {
    id: x.id,
    name: x.name,
    space: x.space,
    type: x.type,
    owner: x.owner,
    ident: x.ident,
    level: x.level,
    since: x.since,
    copiedSeq: x.copiedSeq,
    pi: undefined,
    robust: undefined,
    diedSeq: undefined,
  };
}

/** A kernel stack, from its fields (a literal of them, in this order). */
export function kstackObj(x: KStack): KStack {
  return { id: x.id, tid: x.tid, state: x.state, allocSeq: x.allocSeq, freeSeq: x.freeSeq, flushed: x.flushed };
}

/**
 * Loose indexes by key, derived from a map (never stored, never in a
 * snapshot), as the waiters index below: the locks, variables and objects of
 * each address space (by `space`), the processes by parent (`ppid`). A fork
 * copies its parent's memory, an exit or reap drops it, an exit asks for its
 * children: with thousands of processes (a leak: every zombie keeps its VMAR
 * lock) a walk of every lock or process at each of them made the run
 * quadratic (zombie-leak, 1M events: 20 s, 3M: 3 min). Below BY_KEY_SMALL
 * entries the walk is cheaper and no index is made. It hangs on the map (a
 * symbol-keyed property: a rebuilt or cloned state builds its own on first
 * use, in the map's order), is added to where the fold adds an entry or
 * changes its key, and is loose the other way: an entry may be stale (gone
 * from the map, or under another key now), so every use checks it and
 * prunes the stale ones it meets. An entry's space never changes, and each
 * set holds its entries in the order they were added, which is the map's:
 * the walks over them (a fork's copies, which take new ids in that order)
 * give what the walk over the map gave.
 */
const BY_KEY: unique symbol = Symbol("by key");
const BY_KEY_SMALL = 256;
type Keyed<T> = Map<number, T> & { [BY_KEY]?: Map<number, Set<T>> };

function byKeyIndex<T extends object>(m: Keyed<T>, key: (x: T) => number): Map<number, Set<T>> | null {
  let ix = m[BY_KEY];
  if (ix === undefined) {
    if (m.size <= BY_KEY_SMALL) return null;
    ix = new Map();
    for (const x of m.values()) addKeyed(ix, key(x), x);
    m[BY_KEY] = ix;
  }
  return ix;
}

function addKeyed<T>(ix: Map<number, Set<T>>, k: number, x: T): void {
  const set = ix.get(k);
  if (set === undefined) ix.set(k, new Set([x]));
  else set.add(x);
}

/** Notes x (new in m, or its key changed) in m's index, if m has one. */
export function keyed<T extends object>(m: Map<number, T>, k: number, x: T): void {
  const ix = (m as Keyed<T>)[BY_KEY];
  if (ix !== undefined) addKeyed(ix, k, x);
}

/** What entriesOf returns when there are none: one shared empty list (a fork or a reap asks for a space's variables and objects, and `stress` has none: no array per ask). */
const NONE: readonly never[] = [];

/** The entries of m under key k (id and key as `id`, `key` read them), in the map's order; the stale ones pruned. */
function entriesOf<T extends object>(
  m: Map<number, T>,
  k: number,
  id: (x: T) => number,
  key: (x: T) => number,
): readonly T[] {
  let out: T[] | undefined;
  const ix = byKeyIndex(m as Keyed<T>, key);
  if (ix === null) {
    for (const x of m.values()) if (key(x) === k) (out ??= []).push(x);
    return out ?? NONE;
  }
  const set = ix.get(k);
  if (set === undefined) return NONE;
  for (const x of set) {
    if (m.get(id(x)) === x && key(x) === k) (out ??= []).push(x);
    else set.delete(x);
  }
  if (set.size === 0) ix.delete(k);
  return out ?? NONE;
}

const spaceOf = (x: { space: number }) => x.space;
const idOf = (x: { id: number }) => x.id;
const ppidOf = (p: Proc) => p.ppid;
const pidOf = (p: Proc) => p.pid;

/** The locks, variables and objects of address space `space` (a pid; minus a pid: its kernel struct's fields; 0: the kernel's). */
export function locksIn(s: KState, space: number): readonly Lock[] {
  return entriesOf(s.locks, space, idOf, spaceOf);
}
export function varsIn(s: KState, space: number): readonly Var[] {
  return entriesOf(s.vars, space, idOf, spaceOf);
}
function objsIn(s: KState, space: number): readonly KObj[] {
  return entriesOf(s.objs, space, idOf, spaceOf);
}

/** The processes whose parent is pid, in pid order of creation. */
export function childrenOf(s: KState, pid: number): readonly Proc[] {
  return entriesOf(s.procs, pid, pidOf, ppidOf);
}

/**
 * An empty list of ints (a process's threads, tcaches) as the engine holds
 * the fold's: a list of doubles. The fold's ints come from the decoder's
 * Float64Array columns, so a list it pushes them onto becomes an array of
 * doubles to the engine, another kind (another shape) than an empty array
 * never pushed onto or the arrays of small ints a snapshot decodes to; the
 * fold's compiled code meeting another kind exits and is compiled again. Every
 * such list starts here (fromPlain's copies too).
 */
export function intList(): number[] {
  const xs: number[] = [];
  xs.push(0.5); // a double: the array becomes one of doubles (and stays one: pop, length = 0)
  xs.pop();
  return xs;
}

/** A cpu: its core fields (a literal of id, tid, kstack), the imported traces' switchSeq, ctx, lostSeq undefined. */
export function cpuObj(x: Pick<Cpu, "id" | "tid" | "kstack">): Cpu {
  return { id: x.id, tid: x.tid, kstack: x.kstack, switchSeq: undefined, ctx: undefined, lostSeq: undefined };
}

function newProc(s: KState, pid: number, ppid: number, name: string, seq: number): Proc {
  const vmarLock = s.nextLock++;
  const vl = lockObj({
    id: vmarLock,
    name: `vmar(${pid})`,
    space: 0,
    type: "mutex",
    owner: -1,
    ident: 0,
    level: 0,
    since: -1,
    copiedSeq: -1,
  });
  s.locks.set(vmarLock, vl);
  keyed(s.locks, 0, vl);
  const p = procObj({
    pid,
    ppid,
    name,
    state: "running",
    threads: intList(),
    vmar: s.nextVmar++,
    vmarClearedSeq: -1,
    vmarLock,
    exitCode: null,
    tcaches: intList(),
    createdSeq: seq,
    exitingSeq: -1,
  });
  s.procs.set(pid, p);
  keyed(s.procs, ppid, p);
  return p;
}

/**
 * Who waits for what, derived from the threads (never stored, never in a
 * snapshot): the threads that set waitLock to a lock, by lock, and waitPid to
 * a pid (or -1, any child), by that value. A lock release, a process exit and
 * a reap wake those instead of walking every thread, which an imported trace
 * with thousands of tasks paid at each of them; with few threads the walk is
 * cheaper than keeping the index, and no index is made (SMALL). It hangs on
 * the threads map itself (a symbol-keyed property: a cloned or rebuilt state
 * has a new map and builds its own from its threads on first use), is added
 * to where applyEvent sets waitLock or waitPid, and is loose the other way:
 * an entry may be stale (the thread waits no more, or is gone), so every use
 * checks the thread as the walk it replaces did, and prunes the stale ones
 * it meets. The result is the walk's: these wakeups touch each thread alone,
 * so their order does not matter.
 */
interface Waiters {
  byLock: Map<number, Set<Thread>>;
  byPid: Map<number, Set<Thread>>;
}
const WAITERS: unique symbol = Symbol("waiters");
/**
 * Without the index: by lock id, a bound on the threads waiting for it
 * (waitLock set to it): 0 unknown, c >= 1 at most c - 1 of them. A walk
 * sets it exactly; a lock-wait adds the thread it makes wait, an acquire by
 * one of its waiters and a waiter's exit take it off; a waitLock cleared
 * elsewhere (a reap's wakeup, an imported trace's wait end, a thread gone)
 * leaves it high, which only costs a walk. So a release of a lock nobody
 * waits for (entry 1: nine releases in ten on `stress`, and the release
 * after the one that woke the waiters, once they took the lock) walks
 * nobody, and a walk stops when it has met the c - 1. Hangs on the threads
 * map as the index does: a cloned or rebuilt state has a new map and no
 * table (every entry unknown), and only a lock-wait makes a thread wait for
 * a lock (a thread starts with none).
 */
const UNWAITED: unique symbol = Symbol("lock waiter bounds");
type Indexed = Map<number, Thread> & { [WAITERS]?: Waiters; [UNWAITED]?: Int32Array };

/**
 * Gives a threads map made outside the fold (a state rebuilt from a
 * snapshot, fromPlain) UNWAITED's slot, empty: the shape a folded state's
 * map has from its first release on, so that the fold's compiled code,
 * which has met that one, runs on it without being compiled again (the
 * split scan starts every segment from a snapshot). An empty table (every
 * entry unknown: as absent), not undefined: the fold's compiled code reads a
 * typed array there, as on a folded state's map from its first release on.
 */
export function unwaitedSlot(m: Map<number, Thread>): void {
  (m as Indexed)[UNWAITED] = new Int32Array(0);
}
/** Lock ids past this are walked at every release (an imported trace's lock ids can be addresses). */
const UNWAITED_IDS = 1 << 16;
/** Up to this many threads the wakeups walk them all and keep no index (simulated worlds; measured on stress). */
const SMALL = 64;

/** The index, built from the threads if the map has none yet; null while the walk is cheaper (no index yet, few threads). */
function waiters(s: KState): Waiters | null {
  const m = s.threads as Indexed;
  let w = m[WAITERS];
  if (w === undefined) {
    if (m.size <= SMALL) return null;
    w = { byLock: new Map(), byPid: new Map() };
    for (const t of m.values()) {
      if (t.waitLock >= 0) addTo(w.byLock, t.waitLock, t);
      if (t.waitPid >= -1) addTo(w.byPid, t.waitPid, t);
    }
    m[WAITERS] = w;
  }
  return w;
}

function addTo(m: Map<number, Set<Thread>>, key: number, t: Thread): void {
  const set = m.get(key);
  if (set === undefined) m.set(key, new Set([t]));
  else set.add(t);
}

/** Notes that t, waiting for no lock or another one, now waits for lock id (in the index, if the map has one, and in UNWAITED's bounds). */
function waitsLock(s: KState, t: Thread, id: number): void {
  const m = s.threads as Indexed;
  const w = m[WAITERS];
  if (w !== undefined) addTo(w.byLock, id, t);
  const u = m[UNWAITED];
  if (u === undefined) return;
  if (t.waitLock >= 0) unwaits(u, t.waitLock);
  if (id >= 0 && id < u.length && u[id]! > 0) u[id]!++;
}

/** A thread that waited for lock id waits for it no more (acquired it, exited, waits for another): its bound in u, if known, goes down by one. */
function unwaits(u: Int32Array, id: number): void {
  if (id < u.length && u[id]! > 1) u[id]!--;
}

/** t (waitLock >= 0) stops waiting for its lock: UNWAITED's bound follows (the caller clears waitLock). */
function leavesLock(s: KState, t: Thread): void {
  const u = (s.threads as Indexed)[UNWAITED];
  if (u !== undefined) unwaits(u, t.waitLock);
}

/**
 * Which locks make their holder atomic: a spinlock of the kernel (space 0) or
 * of a process's kernel struct (a "proc" lock, space -pid). A thread holding
 * one may not sleep (Linux counts them in preempt_count; might_sleep() BUGs);
 * a user-space spinlock (tcmalloc's) only makes a blocked holder slow. The
 * one rule: the index below counts these, the atomic-sleep invariant
 * (src/replay/atomic-sleep.ts) judges by it.
 */
export function atomicLock(l: Lock): boolean {
  return l.type === "spin" && l.space <= 0;
}

/**
 * Who holds atomic locks (atomicLock): by tid, how many of them it owns (no
 * entry: none). Derived from the locks (never stored, never in a snapshot):
 * it hangs on the locks map (a symbol-keyed property, as the indexes above),
 * is made from the locks where a state is made (spinSlot: initState,
 * fromPlain, cloneState) or, for a map made elsewhere, on first use, and is
 * kept exact by the fold at every change of an atomic lock's owner (an
 * acquire, a release to level 0, a restamp) and every lock that comes with
 * an owner (a fork's copy) or goes held (exec, reap). Exact, unlike the loose
 * indexes: atomic-sleep answers from it alone, in O(1), at every lock-acquire
 * of a scan. By tid rather than a field of each thread: a lock keeps its
 * owner's tid after the thread is gone, and a later thread given the same tid
 * owns it as far as the locks say, which a per-thread count made at the
 * thread's creation would miss; and nothing new is in a snapshot, so traces
 * written before it are judged the same from a snapshot as from the start.
 */
const SPIN_HELD: unique symbol = Symbol("atomic locks held");
type HeldIndexed = Map<number, Lock> & { [SPIN_HELD]?: Map<number, number> };

/** The atomic locks held, by tid (see SPIN_HELD); made from the locks if the map has none yet. */
export function spinlocksHeld(s: KState): ReadonlyMap<number, number> {
  const m = s.locks as HeldIndexed;
  return m[SPIN_HELD] ?? spinSlot(m);
}

/** Gives a locks map its SPIN_HELD index, counted from its locks (a state made outside the fold: its map has the fold's shape from the start). */
export function spinSlot(m: Map<number, Lock>): Map<number, number> {
  const h = new Map<number, number>();
  for (const l of m.values()) if (l.owner >= 0 && atomicLock(l)) h.set(l.owner, (h.get(l.owner) ?? 0) + 1);
  (m as HeldIndexed)[SPIN_HELD] = h;
  return h;
}

/** An atomic lock passes from tid `from` to tid `to` (-1: nobody; a new lock, a release, a lock that goes): the index follows, if the map has one. */
function spinMoves(s: KState, from: number, to: number): void {
  const h = (s.locks as HeldIndexed)[SPIN_HELD];
  if (h === undefined || from === to) return;
  if (from >= 0) {
    const n = h.get(from) ?? 0;
    if (n > 1) h.set(from, n - 1);
    else h.delete(from);
  }
  if (to >= 0) h.set(to, (h.get(to) ?? 0) + 1);
}

/** Lock l goes (its address space dropped at exec or reap, a process's VMAR lock freed): out of the map, and out of the index if held. */
function dropLock(s: KState, l: Lock): void {
  s.locks.delete(l.id);
  if (l.owner >= 0 && atomicLock(l)) spinMoves(s, l.owner, -1);
}

/** Notes that t now waits for pid (-1: any child). */
function waitsPid(s: KState, t: Thread, pid: number): void {
  const w = (s.threads as Indexed)[WAITERS];
  if (w !== undefined) addTo(w.byPid, pid, t);
}

/**
 * Makes the threads blocked on lock id runnable (and, with `clear`, no longer
 * waiting for it): those of the index (pruned of those that do not wait for
 * it), or every thread's. Each loop iterates one kind of collection (a loop
 * over an Iterable that is a Map's values, an array or a Set is a generic one:
 * with few threads it cost more than their walk; lock releases are ~10% of
 * `stress`).
 */
function wakeLockWaiters(s: KState, id: number, clear: boolean): void {
  const m = s.threads as Indexed;
  let u = m[UNWAITED];
  const bound = u !== undefined && id >= 0 && id < u.length ? u[id]! : 0;
  // Nobody waits for it (see UNWAITED): with or without the index.
  if (bound === 1) return;
  const w = waiters(s);
  if (w === null) {
    // At most bound - 1 waiters (bound > 0): the walk stops when it has met them all.
    let left = bound > 0 ? bound - 1 : -1;
    let waiting = 0;
    for (const t of m.values()) {
      if (t.waitLock !== id) continue;
      if (t.state === "blocked") wakeFromLock(t, clear);
      if (t.waitLock === id) waiting++;
      if (--left === 0) break;
    }
    if (id < 0 || id >= UNWAITED_IDS) return;
    if (u === undefined || id >= u.length) {
      const grown = new Int32Array(Math.max(64, 2 ** Math.ceil(Math.log2(id + 1))));
      if (u !== undefined) grown.set(u);
      u = m[UNWAITED] = grown;
    }
    u[id] = waiting + 1;
    return;
  }
  const set = w.byLock.get(id);
  if (set === undefined) return;
  for (const t of set) if (t.waitLock !== id || s.threads.get(t.tid) !== t) set.delete(t);
  if (set.size === 0) w.byLock.delete(id);
  for (const t of set) if (t.waitLock === id && t.state === "blocked") wakeFromLock(t, clear);
}

function wakeFromLock(t: Thread, clear: boolean): void {
  t.state = "runnable";
  if (clear) t.waitLock = -1;
}

/** The threads of the index that may wait for pid (waitPid pid, or -1 for any child), pruned. */
function pidWaiters(s: KState, w: Waiters, pid: number): Thread[] {
  const out: Thread[] = [];
  for (const key of [pid, -1]) {
    const set = w.byPid.get(key);
    if (set === undefined) continue;
    for (const t of set) {
      if (t.waitPid !== key || s.threads.get(t.tid) !== t) set.delete(t);
      else out.push(t);
    }
    if (set.size === 0) w.byPid.delete(key);
  }
  return out;
}

/** Removes every x from xs in place (a filter per release allocated two arrays and their closures). */
function dropAll(xs: number[], x: number): void {
  let j = 0;
  for (let i = 0; i < xs.length; i++) {
    const y = xs[i]!;
    if (y !== x) xs[j++] = y;
  }
  if (j < xs.length) xs.length = j;
}

/** t wakes if it is in waitpid for p, which exits at ev (by its pid or as its parent's "any child"). */
function childExited(t: Thread, p: Proc, ev: KEvent): void {
  if (t.state === "blocked" && t.waitLock < 0 && (t.waitPid === p.pid || (t.waitPid === -1 && t.pid === p.ppid))) {
    t.state = "runnable";
    t.waitPid = -2;
    woke(t, ev.tid, ev.seq, HOW.child);
  }
}

function newThread(s: KState, p: Proc, tid: number, ident: number): Thread {
  const t = threadObj({ tid, pid: p.pid, state: "runnable", ident, kstack: -1, waitLock: -1, waitPid: -2 });
  s.threads.set(tid, t);
  noteLive(s.threads, t);
  p.threads.push(tid);
  return t;
}

/**
 * The threads that have not exited, in the threads map's order: a loose
 * index as BY_KEY's (a set on the map, built on first use above
 * BY_KEY_SMALL threads, added to where a thread is made; exited or gone ones
 * pruned here: a thread never comes back). The walks over every thread at a
 * wait or an exit (wait.ts) met every zombie's exited threads: quadratic in
 * a leak of processes (zombie-leak at 1M events: check 6.7 s of 9 in them).
 */
const LIVE: unique symbol = Symbol("live threads");
type Lived = Map<number, Thread> & { [LIVE]?: Set<Thread> };

export function liveThreads(s: KState): Iterable<Thread> {
  const m = s.threads as Lived;
  let set = m[LIVE];
  if (set === undefined) {
    if (m.size <= BY_KEY_SMALL) return m.values();
    set = new Set();
    for (const t of m.values()) if (t.state !== "exited") set.add(t);
    m[LIVE] = set;
    return set;
  }
  for (const t of set) if (t.state === "exited" || m.get(t.tid) !== t) set.delete(t);
  return set;
}

/** Notes a new thread in the live set, if the map has one (imported.ts makes threads too). */
export function noteLive(m: Map<number, Thread>, t: Thread): void {
  (m as Lived)[LIVE]?.add(t);
}

function variable(s: KState, ev: KEvent, id: number): Var {
  const v = s.vars.get(id);
  if (!v) throw new ApplyError(ev.seq, `no variable ${id}`);
  return v;
}

function object(s: KState, ev: KEvent, id: number): KObj {
  const o = s.objs.get(id);
  if (!o) throw new ApplyError(ev.seq, `no object ${id}`);
  return o;
}

/** The space of a new variable, lock or object: 0, an existing pid, or minus one. */
function space(s: KState, ev: KEvent, sp: number): number {
  if (!Number.isSafeInteger(sp) || (sp !== 0 && !s.procs.has(Math.abs(sp))))
    throw new ApplyError(ev.seq, `no address space ${sp}`);
  return sp;
}

/** Drops every lock, variable and object of pid's user memory (and, at reap, of its kernel struct). */
function dropSpace(s: KState, pid: number, kernelToo: boolean): void {
  dropSpaceOf(s, pid);
  if (kernelToo) dropSpaceOf(s, -pid);
}

/** dropSpace for one space. Through the space index (locksIn, ...): a walk of every entry at every reap was quadratic with thousands of processes. */
function dropSpaceOf(s: KState, sp: number): void {
  for (const l of locksIn(s, sp)) dropLock(s, l);
  for (const v of varsIn(s, sp)) s.vars.delete(v.id);
  for (const o of objsIn(s, sp)) s.objs.delete(o.id);
}

/** Forgets the oldest freed objects once more than twice FREED_QUARANTINE are kept (amortized: a scan per free only past that size). */
function quarantine(s: KState): void {
  if (s.objs.size <= 2 * FREED_QUARANTINE) return;
  const freed: KObj[] = [];
  for (const o of s.objs.values()) if (o.state === "freed") freed.push(o);
  if (freed.length <= 2 * FREED_QUARANTINE) return;
  freed.sort((a, b) => a.freeSeq - b.freeSeq);
  for (let i = 0; i < freed.length - FREED_QUARANTINE; i++) s.objs.delete(freed[i]!.id);
}

/** The process struct goes: its memory, its kernel fields and VMAR lock, its pid. */
function freeProc(s: KState, p: Proc): void {
  if (p.fds !== undefined) for (const f of p.fds) dropFd(s, f, -1);
  dropSpace(s, p.pid, true);
  const vl = s.locks.get(p.vmarLock);
  if (vl !== undefined) dropLock(s, vl);
  s.procs.delete(p.pid);
}

/** Sets a register of t (its type from the variable or reg-set), creating the register file on first use. */
function setReg(s: KState, t: Thread, reg: string, value: number, type: Var["type"]): void {
  (t.regs ??= new Map()).set(reg, value);
  s.regTypes.set(reg, type);
}

/** Drops pending signal sig from a process's or thread's pending set. */
function dropPending(o: { sigPending?: PendingSignal[] }, sig: number): void {
  if (!o.sigPending) return;
  o.sigPending = o.sigPending.filter((x) => x.sig !== sig);
  if (o.sigPending.length === 0) o.sigPending = undefined;
}

/** Takes pending signal sig off o's set, if it is there. */
function takePending(o: { sigPending?: PendingSignal[] }, sig: number): PendingSignal | undefined {
  const i = o.sigPending?.findIndex((x) => x.sig === sig) ?? -1;
  if (i < 0) return undefined;
  const [x] = o.sigPending!.splice(i, 1);
  if (o.sigPending!.length === 0) o.sigPending = undefined;
  return x;
}

/**
 * The one rule for what a wake event does to its thread's state, in simulated
 * and imported traces alike. A thread off the cpus that is not ready
 * (blocked; in imported traces also sleeping, stopped, traced, parked, idle,
 * unknown) becomes runnable. A running or runnable thread stays so (Linux
 * traces wakeups of running tasks: try_to_wake_up between set_current_state
 * and schedule), a spinning one spins on (it waits for a lock, not for a
 * wakeup), an exited one stays exited. A `waking` (how 0, sched_waking) is
 * the request, not the wakeup: it changes no state (the wakeup follows).
 */
export function wokenState(st: ThreadState, how: number): ThreadState {
  if (how === HOW.waking) return st;
  return st === "running" || st === "runnable" || st === "spinning" || st === "exited" ? st : "runnable";
}

/** Records who woke t (the thread's `woken`, for why-queries). */
function woke(t: Thread, by: number, seq: number, how: number): void {
  const w = t.woken;
  if (w === undefined) t.woken = { by, seq, how };
  else {
    w.by = by;
    w.seq = seq;
    w.how = how;
  }
}

/** t blocks on something other than a lock or a child (a futex, a sleep, a join, a pipe). */
function block(
  t: Thread,
  what: NonNullable<Thread["waitOn"]>["what"],
  id: number,
  seq: number,
  until: number,
  need = 0,
): void {
  t.state = "blocked";
  t.waitOn = { what, id, since: seq, until, need };
}

/** Checks that the event's thread t saw `value` in v: memory's value, or under tso its own newest buffered store to v (viewOf); a trace that disagrees is damaged. */
function sees(ev: KEvent, v: Var, value: number, t: Thread): void {
  const q = t.stores;
  const have = q === undefined ? v.value : viewOf(q, v.id, v.value);
  if (have !== value)
    throw new ApplyError(
      ev.seq,
      `${v.name} holds ${have}${q !== undefined ? ` as tid ${t.tid} sees it (its store buffer)` : ""}, the event says ${value}`,
    );
}

/** `value` reaches v in memory at seq, written by tid (a store under sc, a read-modify-write, a tso store-commit). */
function wrote(v: Var, value: number, seq: number, tid: number): void {
  v.value = value;
  v.since = seq;
  v.writer = tid;
}

function setOutcome(s: KState, kind: "fatal" | "panic" | "hang", seq: number, message: string): void {
  // A panic overrides an earlier fatal: the machine is dead, that is the headline.
  if (!s.outcome || (kind === "panic" && s.outcome.kind !== "panic")) s.outcome = { kind, seq, message };
}

/**
 * By kind code, 1 for the kinds whose event changes nothing but the state's
 * seq and time (applyEvent's switch does nothing for them): a scan folds
 * those with applyInert, without building the event (scan.ts, QuietFold).
 * Keep it equal to the empty cases below (a test checks the fold is the same).
 */
export const INERT_KINDS: Uint8Array = (() => {
  const m = new Uint8Array(Object.keys(KIND).length);
  for (const k of [
    KIND.user,
    KIND.kwork,
    KIND.malloc,
    KIND.free,
    KIND.unlockNotOwner,
    KIND.pageFault,
    KIND.procfsRead,
    KIND.assertFail,
    KIND.progress,
    KIND.errno,
    KIND.join,
    KIND.detach,
  ])
    m[k] = 1;
  return m;
})();

/**
 * What every event does to the state first (applyEvent begins with it; an
 * event of an INERT kind does nothing else): the state moves to seq and
 * time. False, and nothing changed, when the event does not fit there (out
 * of order, or after the end of the run): applyEvent then throws ApplyError.
 */
export function applyInert(s: KState, seq: number, time: number): boolean {
  if (seq !== s.seq + 1 || s.ended) return false;
  s.seq = seq;
  s.time = time;
  return true;
}

/**
 * applyInert for each of the INERT events seq..last in turn (the last at
 * `time`), at once: a scan folds a run of them so. False, and nothing
 * changed, when the first does not fit.
 */
export function applyInertRun(s: KState, seq: number, last: number, time: number): boolean {
  if (seq !== s.seq + 1 || s.ended) return false;
  s.seq = last;
  s.time = time;
  return true;
}

/**
 * Folds one event into the state. Events must be applied in seq order. An
 * event that does not fit the state (unknown ids, an id reused, an unknown
 * kind: a damaged or hostile trace) throws ApplyError and nothing else; the
 * state is then unusable.
 */
export function applyEvent(s: KState, ev: KEvent): void {
  if (!applyInert(s, ev.seq, ev.time)) {
    if (ev.seq !== s.seq + 1) throw new ApplyError(ev.seq, `out of order (state is at ${s.seq})`);
    throw new ApplyError(ev.seq, "event after the end of the run");
  }
  switch (ev.kind) {
    case KIND.switch: {
      if (ev.c !== 0) {
        importedSwitch(s, ev);
        break;
      }
      const cpu = s.cpus[ev.cpu];
      if (!cpu) throw new ApplyError(ev.seq, `no cpu ${ev.cpu}`);
      if (ev.a >= 0) {
        const from = s.threads.get(ev.a);
        if (from && from.state === "running") from.state = "runnable";
      }
      if (ev.b >= 0) {
        const to = thread(s, ev, ev.b);
        if (to.state === "runnable") to.state = "running";
        cpu.tid = to.tid;
        cpu.kstack = to.kstack;
      } else {
        cpu.tid = -1;
        cpu.kstack = -1;
      }
      break;
    }
    // The INERT_KINDS: nothing beyond seq and time.
    case KIND.user:
    case KIND.kwork:
    case KIND.malloc:
    case KIND.free:
    case KIND.unlockNotOwner:
    case KIND.pageFault:
    case KIND.procfsRead:
    case KIND.assertFail:
    case KIND.progress:
      break;
    case KIND.threadNew: {
      const t = newThread(s, proc(s, ev, ev.b), fresh(ev, s.threads, ev.a, "thread"), ev.c);
      // A new thread starts with its creator's signal mask, and a copy of its
      // registers (the values its start routine was handed: handles, fds).
      const creator = ev.tid !== t.tid ? s.threads.get(ev.tid) : undefined;
      if (creator?.sigMask !== undefined) t.sigMask = creator.sigMask;
      if (creator?.regs !== undefined && creator.pid === t.pid) t.regs = new Map(creator.regs);
      break;
    }
    case KIND.threadExit: {
      const t = thread(s, ev, ev.a);
      const held = t.waitLock >= 0 ? s.locks.get(t.waitLock) : undefined;
      if (t.waitLock >= 0) leavesLock(s, t);
      t.state = "exited";
      t.waitLock = -1;
      t.waitPid = -2;
      t.waitOn = undefined;
      if (held?.pi && held.owner >= 0) reboost(s, held.owner);
      break;
    }
    case KIND.threadRelease: {
      const t = thread(s, ev, ev.a);
      s.threads.delete(t.tid);
      const p = s.procs.get(t.pid);
      if (p) {
        dropAll(p.threads, t.tid);
        dropAll(p.tcaches, t.tid);
      }
      break;
    }
    case KIND.lockNew: {
      fresh(ev, s.locks, ev.a, "lock");
      const l = lockObj({
        id: ev.a,
        name: ev.s,
        space: ev.b,
        type: LOCK_TYPES[ev.c & 15] ?? "mutex",
        owner: -1,
        ident: 0,
        level: 0,
        since: -1,
        copiedSeq: -1,
      });
      if ((ev.c & 16) !== 0) l.pi = true;
      if ((ev.c & 32) !== 0) l.robust = "consistent";
      s.locks.set(ev.a, l);
      keyed(s.locks, l.space, l);
      if (ev.a >= s.nextLock) s.nextLock = ev.a + 1;
      break;
    }
    case KIND.lockAcquire:
      acquired(s, lock(s, ev, ev.a), thread(s, ev, ev.tid), ev.seq, ev.b);
      break;
    case KIND.lockWait: {
      const t = thread(s, ev, ev.tid);
      const l = lock(s, ev, ev.a);
      if (t.waitLock !== ev.a) {
        t.waitSince = ev.seq;
        waitsLock(s, t, ev.a);
        t.waitLock = ev.a;
      }
      // spin 2: an imported trace's wait; its switches say whether the thread sleeps.
      if (ev.b !== 2) t.state = ev.b ? "spinning" : "blocked";
      if (l.pi && l.owner >= 0) reboost(s, l.owner);
      break;
    }
    case KIND.lockRelease:
      released(s, lock(s, ev, ev.a), ev.seq, ev.b);
      break;
    case KIND.kstackAlloc: {
      const t = thread(s, ev, ev.b);
      if (!Number.isSafeInteger(ev.a) || ev.a < 0) throw new ApplyError(ev.seq, `bad kernel stack id ${ev.a}`);
      const k = s.kstacks.get(ev.a);
      if (k === undefined)
        s.kstacks.set(
          ev.a,
          kstackObj({ id: ev.a, tid: t.tid, state: "mapped", allocSeq: ev.seq, freeSeq: -1, flushed: false }),
        );
      else {
        // A stack id allocated again (the simulator reuses freed ones): its record rewritten, as a new one
        // would be (a fresh object per allocation was most of what the fold allocated for stacks).
        k.tid = t.tid;
        k.state = "mapped";
        k.allocSeq = ev.seq;
        k.freeSeq = -1;
        k.flushed = false;
      }
      t.kstack = ev.a;
      break;
    }
    case KIND.kstackFree: {
      const k = s.kstacks.get(ev.a);
      if (!k) throw new ApplyError(ev.seq, `no kernel stack ${ev.a}`);
      k.state = "freed";
      k.freeSeq = ev.seq;
      k.flushed = false;
      break;
    }
    case KIND.load:
    case KIND.atomicLoad: {
      const v = variable(s, ev, ev.a);
      const t = thread(s, ev, ev.tid);
      sees(ev, v, ev.b, t);
      if (ev.s) setReg(s, t, ev.s, ev.b, v.type);
      break;
    }
    case KIND.store:
    case KIND.atomicStore:
    case KIND.cas:
    case KIND.fetchAdd:
    case KIND.xchg: {
      const v = variable(s, ev, ev.a);
      const t = thread(s, ev, ev.tid);
      sees(ev, v, ev.b, t);
      if (buffersStores(s.config)) {
        // tso, pso: a store (plain or release) enters the store buffer; a locked read-modify-write finds it drained.
        if (ev.kind === KIND.store || ev.kind === KIND.atomicStore) {
          buffer(t, v.id, ev.c, ev.seq);
          break;
        }
        if (t.stores !== undefined)
          throw new ApplyError(
            ev.seq,
            `tid ${t.tid} runs a locked ${EVENT_KINDS[ev.kind]!.name} with stores still buffered`,
          );
      }
      if (ev.kind !== KIND.cas || ev.c !== ev.b) wrote(v, ev.c, ev.seq, t.tid);
      if (ev.s) setReg(s, t, ev.s, ev.b, v.type);
      break;
    }
    case KIND.regSet: {
      const t = thread(s, ev, ev.tid);
      const type = VAR_TYPES[ev.b];
      if (type === undefined || !ev.s)
        throw new ApplyError(ev.seq, `bad register write (type ${ev.b}, register '${ev.s.slice(0, 40)}')`);
      setReg(s, t, ev.s, ev.a, type);
      break;
    }
    default:
      applyRare(s, ev);
  }
}

/**
 * lock-acquire's fold (after applyInert), given the event's lock and thread:
 * t owns l at recursion level `level`. applyEvent's case, and the
 * simulator's emit-time fold of its own lock-acquire events (it has both at
 * hand: Simulator.emitAcquire); nowhere else.
 */
export function acquired(s: KState, l: Lock, t: Thread, seq: number, level: number): void {
  if (l.owner !== t.tid) {
    l.since = seq;
    if (atomicLock(l)) spinMoves(s, l.owner, t.tid);
  }
  l.owner = t.tid;
  l.ident = t.ident;
  l.level = level;
  if (t.waitLock >= 0) leavesLock(s, t);
  t.waitLock = -1;
  if (t.state === "spinning" || t.state === "blocked") t.state = "running";
  if (l.pi) reboost(s, t.tid);
}

/**
 * lock-release's fold (after applyInert), given the event's lock: level
 * after; 0 frees it and wakes its blocked waiters. applyEvent's case and
 * Simulator.emitRelease, as acquired(); and a lock-robust's owner-died (the
 * kernel frees the dead owner's robust mutex).
 */
export function released(s: KState, l: Lock, seq: number, level: number): void {
  l.level = level;
  if (level === 0) {
    const was = l.owner;
    if (was >= 0 && atomicLock(l)) spinMoves(s, was, -1);
    l.owner = -1;
    l.ident = 0;
    l.since = seq;
    wakeLockWaiters(s, l.id, false);
    if (l.pi && was >= 0) reboost(s, was);
  }
}

/**
 * The kinds applyEvent folds less often (process lifetime, procfs, objects,
 * outcomes, imported tasks; then, by applyOs, those of issue 11), outside its
 * switch so that the switch over the hot kinds (switches, the inert kinds,
 * locks, threads, kernel stacks, variable accesses) stays small: the JIT
 * compiles it sooner, in less memory, and recompiles it less when a rare path
 * runs. Part of applyEvent: called by it only.
 */
function applyRare(s: KState, ev: KEvent): void {
  switch (ev.kind) {
    case KIND.storeCommit: {
      const t = thread(s, ev, ev.tid);
      // tso: the thread's oldest buffered store; pso: its oldest to the variable (tso.ts's committing).
      const e = commitOldest(t, ev.a, ev.c, reordersStores(s.config));
      if (e === null)
        throw new ApplyError(
          ev.seq,
          `tid ${t.tid} has no buffered store of ${ev.c} to variable ${ev.a} to commit first`,
        );
      // The variable may have gone with its address space (a reap) while the store waited: the store is then lost.
      const v = s.vars.get(ev.a);
      if (v !== undefined) {
        if (v.value !== ev.b) throw new ApplyError(ev.seq, `${v.name} holds ${v.value}, the event says ${ev.b}`);
        wrote(v, ev.c, ev.seq, t.tid);
      }
      break;
    }
    case KIND.fence: {
      const t = thread(s, ev, ev.tid);
      // A store fence (smp_wmb) keeps the buffer: under pso its barrier follows the newest store; a full one finds it drained.
      if (ev.a === 1) {
        if (reordersStores(s.config)) storeBarrier(t);
      } else if (t.stores !== undefined) throw new ApplyError(ev.seq, `tid ${t.tid} fences with stores still buffered`);
      break;
    }
    case KIND.procfsOpen: {
      // pin 0 (ESRCH), or a trace before format 1.1: no reference.
      if (ev.b === 1) {
        const p = proc(s, ev, ev.a);
        if (p.state === "reaped") throw new ApplyError(ev.seq, `process ${ev.a} was reaped: it cannot be opened`);
        p.refs = (p.refs ?? 0) + 1;
      }
      break;
    }
    case KIND.procfsClose: {
      const p = proc(s, ev, ev.a);
      if (!((p.refs ?? 0) > 0)) throw new ApplyError(ev.seq, `process ${ev.a} has no reference to drop`);
      p.refs = p.refs! - 1;
      if (p.refs === 0 && p.state === "reaped") freeProc(s, p);
      break;
    }
    case KIND.tlbFlush:
      for (const k of s.kstacks.values()) if (k.state === "freed") k.flushed = true;
      break;
    case KIND.procNew:
      newProc(s, fresh(ev, s.procs, ev.a, "process"), ev.b, ev.s, ev.seq);
      break;
    case KIND.fork: {
      const parent = proc(s, ev, ev.a);
      const forker = thread(s, ev, ev.tid);
      fresh(ev, s.procs, ev.b, "process");
      fresh(ev, s.threads, ev.c, "thread");
      const child = newProc(s, ev.b, parent.pid, parent.name, ev.seq);
      const ident = s.config.tidAfterFork === "inherit" ? forker.ident : ev.c;
      forked(s, parent, child, forker, newThread(s, child, ev.c, ident), ev.seq);
      // User memory is copied: every lock of the parent's address space, with
      // its owner word as it is now. The forking thread continues as the
      // child's only thread, so its holdings become the child thread's; a lock
      // held by any other thread stays held by a thread the child does not have.
      // (The lists and the id map made only when there is something to copy: a fork in
      // `stress` copies nothing, and the fold allocates nothing it does not keep.)
      let copies: Lock[] | undefined;
      for (const l of locksIn(s, parent.pid)) {
        // As the lock's own (lockObj), not a spread: a fork's copies have the fold's lock shape.
        const c = lockObj({
          id: 0,
          name: l.name,
          space: child.pid,
          type: l.type,
          owner: l.owner === forker.tid ? ev.c : l.owner,
          ident: l.ident,
          level: l.level,
          since: l.since,
          copiedSeq: ev.seq,
        });
        c.pi = l.pi;
        c.robust = l.robust;
        c.diedSeq = l.diedSeq;
        (copies ??= []).push(c);
      }
      if (copies !== undefined)
        for (const c of copies) {
          c.id = s.nextLock++;
          s.locks.set(c.id, c);
          keyed(s.locks, c.space, c);
          if (c.owner >= 0 && atomicLock(c)) spinMoves(s, -1, c.owner);
        }
      // Thread caches live in user memory, reached through the forker's TLS.
      if (parent.tcaches.includes(forker.tid)) child.tcaches.push(ev.c);
      // So do the variables and objects: copies under new ids, pointers
      // between them redirected to the copies.
      let objIds: Map<number, number> | undefined;
      let objCopies: KObj[] | undefined;
      for (const o of objsIn(s, parent.pid)) (objCopies ??= []).push({ ...o, space: child.pid });
      if (objCopies !== undefined) {
        objIds = new Map();
        for (const o of objCopies) {
          objIds.set(o.id, s.nextObj);
          o.id = s.nextObj++;
          s.objs.set(o.id, o);
          keyed(s.objs, o.space, o);
        }
      }
      let varCopies: Var[] | undefined;
      for (const v of varsIn(s, parent.pid)) (varCopies ??= []).push({ ...v, space: child.pid, copiedSeq: ev.seq });
      if (varCopies !== undefined)
        for (const v of varCopies) {
          v.id = s.nextVar++;
          if (v.type === "ptr") v.value = objIds?.get(v.value) ?? v.value;
          s.vars.set(v.id, v);
          keyed(s.vars, v.space, v);
        }
      break;
    }
    case KIND.spawn: {
      proc(s, ev, ev.a);
      fresh(ev, s.threads, ev.c, "thread");
      const child = newProc(s, fresh(ev, s.procs, ev.b, "process"), ev.a, ev.s, ev.seq);
      spawned(s, s.procs.get(ev.a)!, child, s.threads.get(ev.tid), newThread(s, child, ev.c, ev.c), ev.seq);
      break;
    }
    case KIND.exec: {
      const p = proc(s, ev, ev.a);
      dropSpace(s, p.pid, false);
      const t = s.threads.get(ev.tid);
      if (t) {
        t.regs = undefined;
        t.handling = undefined;
      }
      p.tcaches = intList();
      // execve: handlers go back to the default; ignored signals stay ignored.
      const ign = p.sigActions?.filter((x) => x[1] === 1);
      p.sigActions = ign && ign.length > 0 ? ign : undefined;
      p.name = ev.s;
      p.vmar = s.nextVmar++;
      p.vmarClearedSeq = -1;
      break;
    }
    case KIND.exitGroup: {
      const p = proc(s, ev, ev.a);
      if ((p.exitingSeq ?? -1) < 0) p.exitingSeq = ev.seq;
      break;
    }
    case KIND.procExit: {
      const p = proc(s, ev, ev.a);
      p.state = "zombie";
      p.exitCode = ev.b;
      p.exitSeq = ev.seq;
      // The threads in waitpid for it, by its pid or as its parent's "any child":
      // the index's, or every thread (a loop over the map itself: no Iterable in between).
      const w = waiters(s);
      if (w === null) for (const t of s.threads.values()) childExited(t, p, ev);
      else for (const t of pidWaiters(s, w, p.pid)) childExited(t, p, ev);
      break;
    }
    case KIND.reparent:
      for (const p of childrenOf(s, ev.a)) {
        p.ppid = ev.b;
        p.adoptedSeq = ev.seq;
        keyed(s.procs, ev.b, p);
      }
      break;
    case KIND.vmarClear: {
      const p = proc(s, ev, ev.a);
      p.vmar = null;
      p.vmarClearedSeq = ev.seq;
      break;
    }
    case KIND.reap: {
      const p = proc(s, ev, ev.a);
      if (p.state === "reaped") throw new ApplyError(ev.seq, `process ${ev.a} was reaped already`);
      for (const tid of p.threads) s.threads.delete(tid);
      p.threads = intList();
      if ((p.refs ?? 0) > 0) {
        // An open procfs file holds it: unhashed (no longer anyone's child, no pid
        // to look up), its user memory gone; the struct, its VMAR lock and
        // fields stay until the last reference is dropped.
        p.state = "reaped";
        p.ppid = 0;
        keyed(s.procs, 0, p);
        dropSpace(s, p.pid, false);
        break;
      }
      // Readers blocked on the VMAR lock find the process gone when they run
      // (traces before format 1.1, where reads did not hold a reference).
      wakeLockWaiters(s, p.vmarLock, true);
      freeProc(s, p);
      break;
    }
    case KIND.waitBlock: {
      const t = thread(s, ev, ev.tid);
      t.state = "blocked";
      t.waitPid = ev.a;
      waitsPid(s, t, ev.a);
      break;
    }
    case KIND.lockRestamp: {
      const l = lock(s, ev, ev.a);
      if (atomicLock(l)) spinMoves(s, l.owner, ev.tid);
      l.ident = ev.b;
      l.owner = ev.tid;
      l.since = ev.seq;
      break;
    }
    case KIND.tcacheNew: {
      const p = proc(s, ev, ev.a);
      if (!p.tcaches.includes(ev.tid)) p.tcaches.push(ev.tid);
      break;
    }
    case KIND.varNew: {
      const sp = ev.s.indexOf(" ");
      // A local, not ev: a closure over a parameter makes the engine allocate applyEvent's scope at every call.
      const word = ev.s.slice(0, sp);
      const type = VAR_TYPES.find((t) => t === word);
      if (sp < 0 || type === undefined) throw new ApplyError(ev.seq, `bad variable declaration '${ev.s.slice(0, 40)}'`);
      const id = fresh(ev, s.vars, ev.a, "variable");
      // "TYPE NAME" or, for a sync object's word (issue 11), "TYPE NAME KIND".
      const rest = ev.s.slice(sp + 1);
      const sp2 = rest.indexOf(" ");
      const sync = sp2 < 0 ? undefined : SYNC_KINDS.find((k) => k === rest.slice(sp2 + 1));
      if (sp2 >= 0 && sync === undefined)
        throw new ApplyError(ev.seq, `bad variable declaration '${ev.s.slice(0, 40)}'`);
      const v: Var = {
        id,
        name: sp2 < 0 ? rest : rest.slice(0, sp2),
        type,
        space: space(s, ev, ev.b),
        value: ev.c,
        since: ev.seq,
        writer: -1,
        copiedSeq: -1,
      };
      if (sync !== undefined) v.sync = sync;
      s.vars.set(id, v);
      keyed(s.vars, v.space, v);
      if (id >= s.nextVar) s.nextVar = id + 1;
      break;
    }
    case KIND.objNew: {
      const id = fresh(ev, s.objs, ev.a, "object");
      if (id === 0) throw new ApplyError(ev.seq, "object id 0 is None");
      const o: KObj = { id, name: ev.s, space: space(s, ev, ev.b), state: "live", allocSeq: ev.seq, freeSeq: -1 };
      s.objs.set(id, o);
      keyed(s.objs, o.space, o);
      if (id >= s.nextObj) s.nextObj = id + 1;
      break;
    }
    case KIND.objFree: {
      const o = object(s, ev, ev.a);
      if (o.state === "live") {
        o.state = "freed";
        o.freeSeq = ev.seq;
        quarantine(s);
      }
      break;
    }
    case KIND.objUse:
      object(s, ev, ev.a);
      break;
    case KIND.lockMisuse:
      lock(s, ev, ev.a);
      break;
    case KIND.lockRobust: {
      // A robust mutex's state (locks.ts): owner-died frees it as a release does (waking its waiters, who retry);
      // not-recoverable wakes them with their wait ended (each fails its lock).
      const l = lock(s, ev, ev.a);
      const state = ROBUST_STATES[ev.b];
      if (state === undefined || l.robust === undefined)
        throw new ApplyError(
          ev.seq,
          `bad robust mutex state ${ev.b} for lock ${ev.a}${l.robust ? "" : " (not robust)"}`,
        );
      if (state === "owner-died") {
        released(s, l, ev.seq, 0);
        l.diedSeq = ev.seq;
      } else if (state === "not-recoverable") wakeLockWaiters(s, l.id, true);
      l.robust = state;
      break;
    }
    case KIND.fatal:
      setOutcome(s, "fatal", ev.seq, ev.s);
      break;
    case KIND.panic:
      setOutcome(s, "panic", ev.seq, ev.s);
      break;
    case KIND.hang:
      setOutcome(s, "hang", ev.seq, ev.s);
      break;
    case KIND.end: {
      const kind = OUTCOME_KINDS[ev.a] ?? "ok";
      if (!s.outcome) s.outcome = { kind, seq: ev.seq, message: ev.s };
      s.ended = true;
      break;
    }
    case KIND.taskNew:
    case KIND.taskFork:
    case KIND.threadState:
    case KIND.migrate:
    case KIND.cpuCtx:
    case KIND.taskJoin:
    case KIND.taskRename:
    case KIND.taskExec:
    case KIND.lockWaitEnd:
    case KIND.lost:
    case KIND.generic:
      applyImported(s, ev);
      break;
    default:
      applyOs(s, ev);
  }
}

/**
 * The kinds of issue 11 (waits and wakeups, futexes, signals, pipes and
 * descriptors, priorities), folded outside applyEvent's switch so that the
 * switch over the older, hotter kinds stays small (the JIT optimizes it as
 * it did). Part of applyEvent: called by applyRare only.
 */
function applyOs(s: KState, ev: KEvent): void {
  switch (ev.kind) {
    case KIND.wake: {
      // The woken thread leaves whatever it waited in (a lock waiter retries its lock).
      const t = thread(s, ev, ev.a);
      woke(t, ev.b, ev.seq, ev.c);
      if (ev.c === HOW.waking) break; // the request; its wakeup follows (wokenState)
      t.state = wokenState(t.state, ev.c);
      t.waitOn = undefined;
      if (t.waitPid >= -1) t.waitPid = -2;
      break;
    }
    case KIND.futexWait: {
      const v = variable(s, ev, ev.a);
      const t = thread(s, ev, ev.tid);
      sees(ev, v, ev.b, t);
      block(t, "futex", v.id, ev.seq, ev.c);
      break;
    }
    case KIND.futexWake: {
      const v = variable(s, ev, ev.a);
      v.wake = { seq: ev.seq, woken: ev.c, by: ev.tid };
      break;
    }
    case KIND.sleep:
      block(thread(s, ev, ev.tid), "sleep", 0, ev.seq, ev.a);
      break;
    case KIND.signal: {
      const p = proc(s, ev, ev.a);
      const th = ev.c >= 0 ? thread(s, ev, ev.c) : undefined;
      if (th && th.pid !== p.pid) throw new ApplyError(ev.seq, `tid ${ev.c} is not a thread of pid ${ev.a}`);
      if (!discarded(s, p, th, ev.b)) {
        const list = th ? (th.sigPending ??= []) : (p.sigPending ??= []);
        if (!list.some((x) => x.sig === ev.b)) list.push({ sig: ev.b, seq: ev.seq, by: ev.tid });
      }
      break;
    }
    case KIND.sigaction: {
      const p = proc(s, ev, thread(s, ev, ev.tid).pid);
      const acts = (p.sigActions ?? []).filter((x) => x[0] !== ev.a);
      if (ev.b !== 0) acts.push([ev.a, ev.b]);
      acts.sort((x, y) => x[0] - y[0]);
      p.sigActions = acts.length > 0 ? acts : undefined;
      // Ignoring a signal drops it where it is pending (POSIX).
      if (ignores(p, ev.a)) {
        dropPending(p, ev.a);
        for (const tid of p.threads) {
          const t = s.threads.get(tid);
          if (t) dropPending(t, ev.a);
        }
      }
      break;
    }
    case KIND.sigmask: {
      const t = thread(s, ev, ev.tid);
      t.sigMask = ev.a !== 0 ? ev.a : undefined;
      break;
    }
    case KIND.signalDeliver: {
      const t = thread(s, ev, ev.tid);
      const p = proc(s, ev, t.pid);
      const pend = takePending(t, ev.a) ?? takePending(p, ev.a);
      if (ev.b === 2) {
        const mask = t.sigMask ?? 0;
        (t.handling ??= []).push({ sig: ev.a, sent: pend?.seq ?? ev.c, at: ev.seq, by: pend?.by ?? -1, mask });
        t.sigMask = mask | bit(ev.a);
      }
      break;
    }
    case KIND.sigreturn: {
      const t = thread(s, ev, ev.tid);
      const h = t.handling?.pop();
      if (!h) throw new ApplyError(ev.seq, `tid ${ev.tid} returns from a handler it does not run`);
      if (t.handling!.length === 0) t.handling = undefined;
      t.sigMask = h.mask !== 0 ? h.mask : undefined;
      break;
    }
    case KIND.schedSet: {
      const t = thread(s, ev, ev.a);
      if (!Number.isSafeInteger(ev.b) || ev.b < 0 || SCHED_POLICIES[ev.c] === undefined)
        throw new ApplyError(ev.seq, `bad scheduling (priority ${ev.b}, policy ${ev.c})`);
      t.prio = ev.b !== 0 ? ev.b : undefined;
      t.policy = ev.c !== 0 ? SCHED_POLICIES[ev.c] : undefined;
      reboost(s, t.tid);
      break;
    }
    case KIND.pause:
      block(thread(s, ev, ev.tid), "signal", 0, ev.seq, -1);
      break;
    case KIND.sigwait:
      block(thread(s, ev, ev.tid), "sigwait", ev.a, ev.seq, ev.b);
      break;
    case KIND.pdeathsig: {
      const t = thread(s, ev, ev.tid);
      if (!Number.isSafeInteger(ev.a) || ev.a < 0 || ev.a > 64)
        throw new ApplyError(ev.seq, `bad parent-death signal ${ev.a}`);
      t.pdeathSig = ev.a !== 0 ? ev.a : undefined;
      break;
    }
    case KIND.pipeNew: {
      const id = fresh(ev, s.pipes, ev.a, "pipe");
      if (!Number.isSafeInteger(ev.b) || ev.b < 1) throw new ApplyError(ev.seq, `bad pipe capacity ${ev.b}`);
      s.pipes.set(id, {
        id,
        cap: ev.b,
        used: 0,
        readers: 0,
        writers: 0,
        createdSeq: ev.seq,
        writeSeq: -1,
        readSeq: -1,
        wclosedSeq: -1,
      });
      if (id >= s.nextPipe) s.nextPipe = id + 1;
      break;
    }
    case KIND.fdOpen: {
      const p = proc(s, ev, thread(s, ev, ev.tid).pid);
      const pp = pipe(s, ev, ev.b);
      if (!Number.isSafeInteger(ev.a) || ev.a < 0 || p.fds?.some((f) => f.fd === ev.a))
        throw new ApplyError(ev.seq, `fd ${ev.a} of pid ${p.pid} is not free`);
      addFd(p, { fd: ev.a, pipe: pp.id, write: (ev.c & 1) !== 0, cloexec: (ev.c & 2) !== 0, seq: ev.seq }, pp);
      break;
    }
    case KIND.fdClose: {
      const p = proc(s, ev, thread(s, ev, ev.tid).pid);
      const i = p.fds?.findIndex((f) => f.fd === ev.a) ?? -1;
      if (i < 0) throw new ApplyError(ev.seq, `pid ${p.pid} has no fd ${ev.a}`);
      const [f] = p.fds!.splice(i, 1);
      if (p.fds!.length === 0) p.fds = undefined;
      dropFd(s, f!, ev.seq);
      break;
    }
    case KIND.fdFlags: {
      const p = proc(s, ev, thread(s, ev, ev.tid).pid);
      const f = p.fds?.find((x) => x.fd === ev.a);
      if (!f) throw new ApplyError(ev.seq, `pid ${p.pid} has no fd ${ev.a}`);
      f.cloexec = ev.b !== 0;
      break;
    }
    case KIND.pipeWrite:
    case KIND.pipeRead: {
      const pp = pipe(s, ev, ev.a);
      const w = ev.kind === KIND.pipeWrite;
      if (ev.c !== pp.used + (w ? ev.b : -ev.b) || ev.c < 0 || ev.c > pp.cap)
        throw new ApplyError(
          ev.seq,
          `pipe ${pp.id} holds ${pp.used} bytes, the event says ${ev.c} after ${w ? "writing" : "reading"} ${ev.b}`,
        );
      pp.used = ev.c;
      if (w) pp.writeSeq = ev.seq;
      else pp.readSeq = ev.seq;
      break;
    }
    case KIND.pipeWait: {
      const pp = pipe(s, ev, ev.a);
      // A write waits for `need` free bytes (a trace from before need was recorded says 0: any room, as it was read then).
      if (ev.c < 0 || ev.c > pp.cap || (ev.b === 0 && ev.c !== 0))
        throw new ApplyError(ev.seq, `pipe ${pp.id} has room for ${pp.cap} bytes, the wait says it needs ${ev.c}`);
      block(thread(s, ev, ev.tid), ev.b ? "pipe-write" : "pipe-read", pp.id, ev.seq, -1, ev.b ? Math.max(1, ev.c) : 0);
      break;
    }
    case KIND.joinWait:
      block(thread(s, ev, ev.tid), "join", ev.a, ev.seq, -1);
      break;
    case KIND.errno:
    case KIND.join:
    case KIND.detach:
      break; // INERT_KINDS
    default:
      throw new ApplyError(ev.seq, `unknown event kind ${ev.kind}`);
  }
}
