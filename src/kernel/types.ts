// Kernel state and event types: the contract between the simulator, the
// trace format, the replay engine and the UI.
//
// The kernel is a reducer over its own event log: every state change is a
// KEvent, and applyEvent(state, event) (apply.ts) is the only code that
// changes a KState. Events are flat records of integers (plus a rare string)
// so that they encode compactly and fold fast; kind-specific meaning of the
// integer slots a, b, c is given by EVENT_KINDS below.

/** One kernel event. All fields are integers except `s`. */
export interface KEvent {
  /** Position in the log, 0-based, dense. */
  seq: number;
  /** Virtual time in ns; non-decreasing along seq. */
  time: number;
  /** CPU the event happened on, -1 for none. */
  cpu: number;
  /** Acting thread, -1 for none (idle, or the kernel on no thread's behalf). */
  tid: number;
  /** Event kind code, an index into EVENT_KINDS. */
  kind: number;
  /** Kind-specific integer arguments (see EVENT_KINDS[kind].args); 0 when unused. */
  a: number;
  b: number;
  c: number;
  /** Kind-specific string (label or message); "" when unused. */
  s: string;
}

/** Describes one event kind: its name and what its slots a, b, c, s mean. */
export interface EventKindInfo {
  readonly name: string;
  /** Names of the integer slots a, b, c in order; shorter when fewer are used. */
  readonly args: readonly string[];
  /** Name of the string slot, or undefined when unused. */
  readonly str?: string;
  /** One line of documentation. */
  readonly doc: string;
}

/**
 * The event kinds. The code of a kind is its index here: append only, never
 * reorder (the trace format stores codes). The field names here are the
 * events' named fields: events.ts builds events from them (`ev.lockAcquire({
 * lock, level })`) and reads them back (`fieldsOf`), and the types below are
 * derived from this table, so a field name used anywhere is checked against it.
 */
const KIND_TABLE = [
  { name: "switch", args: ["from", "to"], doc: "cpu switches from thread `from` to thread `to` (-1 = idle)" },
  { name: "user", args: [], str: "label", doc: "thread runs one step of user code" },
  { name: "kwork", args: [], str: "label", doc: "kernel runs one step on the cpu's current kernel stack" },
  { name: "proc-new", args: ["pid", "ppid"], str: "name", doc: "a process is created with a fresh address space" },
  { name: "thread-new", args: ["tid", "pid", "ident"], doc: "a thread is created; ident is what pthread_self() returns in it" },
  { name: "fork", args: ["pid", "child", "childTid"], doc: "pid forks: the child gets a copy of user memory (locks included) and one thread" },
  { name: "spawn", args: ["pid", "child", "childTid"], str: "program", doc: "posix_spawn: a child with a fresh address space running a new program" },
  { name: "exec", args: ["pid"], str: "program", doc: "the process replaces its address space with a new program" },
  { name: "thread-exit", args: ["tid", "code"], doc: "a thread exits" },
  { name: "thread-release", args: ["tid"], doc: "an exited thread's control block is dropped" },
  { name: "proc-exit", args: ["pid", "code"], doc: "a process becomes a zombie; its parent's waitpid wakes" },
  { name: "reparent", args: ["pid", "to"], doc: "the children of pid are handed to pid `to`" },
  { name: "vmar-clear", args: ["pid"], doc: "the process's root VMAR is set to None" },
  { name: "reap", args: ["pid"], doc: "the parent reaps a zombie: the process is gone" },
  { name: "wait-block", args: ["pid"], doc: "thread blocks in waitpid until child pid (-1 = any) exits" },
  { name: "lock-new", args: ["lock", "space", "type"], str: "name", doc: "a lock is created in space (0 = kernel, p > 0 = pid p's user memory, -p = pid p's kernel struct); type 0 spin, 1 mutex, 2 recursive, 3 errorcheck" },
  { name: "lock-acquire", args: ["lock", "level"], doc: "thread acquires the lock (level = recursion depth after)" },
  { name: "lock-wait", args: ["lock", "spin"], doc: "thread finds the lock held and blocks (spin 0) or spins (spin 1)" },
  { name: "lock-release", args: ["lock", "level"], doc: "thread releases the lock (level after; 0 = free); blocked waiters wake" },
  { name: "unlock-not-owner", args: ["lock", "owner", "ident"], doc: "a recursive mutex is unlocked by a thread whose ident is not the recorded owner" },
  { name: "lock-restamp", args: ["lock", "ident"], doc: "a held recursive mutex's owner ident is rewritten (reinit after fork)" },
  { name: "malloc", args: ["size", "path"], doc: "allocation; path 0 thread cache, 1 central free list, 2 page heap" },
  { name: "free", args: ["size"], doc: "deallocation into the thread cache" },
  { name: "tcache-new", args: ["pid"], doc: "the thread gets a tcmalloc thread cache in process pid" },
  { name: "kstack-alloc", args: ["kstack", "tid"], doc: "a kernel stack id is allocated and mapped for thread tid" },
  { name: "kstack-free", args: ["kstack"], doc: "a kernel stack is unmapped and its id returned to the allocator" },
  { name: "tlb-flush", args: [], doc: "sfence.vma: stale TLB entries are gone; freed kernel stacks now fault" },
  { name: "page-fault", args: ["kstack"], doc: "the cpu touched an unmapped kernel stack" },
  { name: "procfs-open", args: ["pid", "pin"], str: "path", doc: "thread opens a procfs file of pid; pin 1: the open file holds a reference to the process (dropped by procfs-close), 0: no such process (ESRCH)" },
  { name: "procfs-read", args: ["pid", "rss"], doc: "thread reads /proc/pid/status; rss 1: VmRSS read from the VMAR, 0: VMAR is None, RSS lines left out, 2: unwrap() of the VMAR (dereferences it even if None)" },
  { name: "fatal", args: ["pid", "signal"], str: "message", doc: "a user-space fatal error aborts the process" },
  { name: "panic", args: [], str: "message", doc: "kernel panic: the machine stops" },
  { name: "hang", args: [], str: "message", doc: "no thread can ever run again" },
  { name: "end", args: ["outcome", "progress"], doc: "the run ends (outcome code: see OUTCOME_KINDS); for a livelock, progress is the seq of the last progress event (-1: none)" },
  { name: "exit-group", args: ["pid", "code"], str: "label", doc: "exit(): every thread of pid is told to exit; the last one out tears the process down" },
  // ---- shared state (format 1.1) ----
  { name: "var-new", args: ["var", "space", "value"], str: "decl", doc: "a variable is created with its initial value; decl is \"TYPE NAME\" (int or ptr); space 0 = kernel, p > 0 = pid p's user memory, -p = a field of pid p's kernel struct" },
  { name: "load", args: ["var", "value"], str: "reg", doc: "plain read: the thread loads var into register reg" },
  { name: "store", args: ["var", "old", "new"], doc: "plain write: the thread stores new into var (old was there)" },
  { name: "atomic-load", args: ["var", "value"], str: "reg", doc: "atomic (acquire) read of var into register reg" },
  { name: "atomic-store", args: ["var", "old", "new"], doc: "atomic (release) write of new into var" },
  { name: "cas", args: ["var", "old", "new"], str: "reg", doc: "atomic compare-and-swap on var: new = old when it failed; reg gets old" },
  { name: "fetch-add", args: ["var", "old", "new"], str: "reg", doc: "atomic fetch-and-add on var; reg gets old" },
  { name: "xchg", args: ["var", "old", "new"], str: "reg", doc: "atomic exchange on var; reg gets old" },
  { name: "reg-set", args: ["value", "type"], str: "reg", doc: "the thread sets register reg to value (type 0 int, 1 ptr)" },
  { name: "obj-new", args: ["obj", "space"], str: "name", doc: "an object is allocated (space as var-new's; 0 = kernel heap)" },
  { name: "obj-free", args: ["obj", "double"], doc: "the thread frees an object; double 1: it was already freed (a double free)" },
  { name: "obj-use", args: ["obj", "freed"], str: "label", doc: "the thread dereferences an object; freed 1: a use after free" },
  { name: "assert-fail", args: ["kernel"], str: "message", doc: "an assert, BUG_ON or unwrap in the program fails (kernel 1: in kernel mode); a fatal error or panic follows" },
  { name: "progress", args: [], str: "label", doc: "the program marks progress (livelock detection)" },
  { name: "lock-misuse", args: ["lock", "what", "errno"], doc: "a lock is misused (what: 0 unlock of a lock not held, 1 unlock by a non-owner, 2 relock by its owner, 3 recursive level below zero); errno: the error an errorcheck mutex returns, 0 for undefined behaviour or a fatal error" },
  { name: "procfs-close", args: ["pid"], doc: "thread closes a procfs file of pid: its reference goes; a process reaped meanwhile is freed with the last one" },
] as const satisfies readonly EventKindInfo[];

export const EVENT_KINDS: readonly EventKindInfo[] = KIND_TABLE;

/** Name of an event kind, e.g. "lock-acquire". */
export type KindName = (typeof KIND_TABLE)[number]["name"];

type KindRowOf<N extends KindName> = Extract<(typeof KIND_TABLE)[number], { name: N }>;

/**
 * The named fields of an event of kind N: each integer slot by its name, and
 * the string slot by its name when the kind has one. E.g.
 * `EventFields<"lock-acquire">` is `{ lock: number; level: number }`.
 */
export type EventFields<N extends KindName> =
  & { [F in KindRowOf<N>["args"][number]]: number }
  & (KindRowOf<N> extends { str: infer S extends string } ? { [F in S]: string } : unknown);

/** Kind codes by name (kept equal to the EVENT_KINDS indices; a test checks). */
export const KIND = {
  switch: 0, user: 1, kwork: 2, procNew: 3, threadNew: 4, fork: 5, spawn: 6, exec: 7,
  threadExit: 8, threadRelease: 9, procExit: 10, reparent: 11, vmarClear: 12, reap: 13,
  waitBlock: 14, lockNew: 15, lockAcquire: 16, lockWait: 17, lockRelease: 18,
  unlockNotOwner: 19, lockRestamp: 20, malloc: 21, free: 22, tcacheNew: 23,
  kstackAlloc: 24, kstackFree: 25, tlbFlush: 26, pageFault: 27, procfsOpen: 28,
  procfsRead: 29, fatal: 30, panic: 31, hang: 32, end: 33, exitGroup: 34,
  varNew: 35, load: 36, store: 37, atomicLoad: 38, atomicStore: 39, cas: 40, fetchAdd: 41, xchg: 42,
  regSet: 43, objNew: 44, objFree: 45, objUse: 46, assertFail: 47, progress: 48, lockMisuse: 49, procfsClose: 50,
} as const;

/**
 * Memory accesses and happens-before, for race detectors (the `data-race`
 * invariant). Every access to a variable is one event by the accessing thread
 * (ev.tid), naming the variable (ev.a):
 *
 *   plain read    load
 *   plain write   store
 *   atomic        atomic-load (read), atomic-store (write), cas, fetch-add,
 *                 xchg (read-modify-write; a failed cas is a read)
 *
 * var-new is the variable's initialization (by the thread that first used
 * it, or the kernel at fork for a copy: not an access). Happens-before edges,
 * in event order:
 *
 *   lock-release(l) by T1   →  the next lock-acquire(l) by T2
 *   fork by T (pid a)       →  the child's thread c (fork's childTid): it
 *                              starts with T's clock; the copied variables are
 *                              the child's own (new ids)
 *   thread-new by T         →  the new thread a
 *   spawn by T              →  the child's thread c
 *   reap of pid a by T      →  T: every event of pid a's threads happened before
 *   an atomic write (atomic-store, a cas that changed v, fetch-add, xchg) of
 *   var v                   →  every later atomic read of v (atomic-load, any
 *                              cas, fetch-add, xchg): release/acquire; a store
 *                              does not acquire, a failed cas does not release
 *
 * Issue 11's futex waits on these variables (wait while var == value).
 */
export const ACCESS_KINDS = {
  plainRead: [KIND.load],
  plainWrite: [KIND.store],
  atomic: [KIND.atomicLoad, KIND.atomicStore, KIND.cas, KIND.fetchAdd, KIND.xchg],
} as const;

/**
 * How a run ended. `budget`: --max-events cut it short. `livelock`: cut short
 * too, but the scenario marks progress (progress ops) and none was made in
 * the last progress window: its threads only spin or retry (a failure).
 */
export type OutcomeKind = "ok" | "fatal" | "panic" | "hang" | "budget" | "livelock";
/** Outcome codes as stored in the `end` event's a slot. */
export const OUTCOME_KINDS: readonly OutcomeKind[] = ["ok", "fatal", "panic", "hang", "budget", "livelock"];

export interface Outcome {
  kind: OutcomeKind;
  /** seq of the event that decided it (the fatal, panic, hang or end event). */
  seq: number;
  message: string;
}

/**
 * A lock's type, as its memory says. `mutex` is POSIX's default (normal)
 * mutex: misuse is undefined behaviour (recorded as a lock-misuse event; an
 * unlock by a non-owner unlocks it, a relock deadlocks). `errorcheck`
 * (PTHREAD_MUTEX_ERRORCHECK) returns EPERM / EDEADLK instead. `recursive`
 * records its owner's ident and a level (CPython's _PyRecursiveMutex: a bad
 * unlock is fatal). `spin` spins; misuse is undefined behaviour.
 */
export type LockType = "spin" | "mutex" | "recursive" | "errorcheck";
export const LOCK_TYPES: readonly LockType[] = ["spin", "mutex", "recursive", "errorcheck"];

/** What a lock-misuse event's `what` field says, by code. */
export const MISUSES = ["unlock-not-held", "unlock-not-owner", "relock", "level-underflow"] as const;
export type Misuse = (typeof MISUSES)[number];
/** errno values a lock op may return (Linux). */
export const ERRNO = { EPERM: 1, EDEADLK: 35 } as const;

export type ThreadState = "runnable" | "running" | "blocked" | "spinning" | "exited";
/** `reaped`: waitpid reaped it while a procfs file still held a reference: unhashed (no pid, no parent), freed with the last reference. */
export type ProcState = "running" | "zombie" | "reaped";

/** Kernel rules that differ between the systems the scenarios model. */
export interface KConfig {
  cpus: number;
  /** What pthread_self() returns in a fork child: the parent's value (linux) or the new tid (serenity). */
  tidAfterFork: "inherit" | "new";
  /**
   * When a thread's kernel stack is freed: `deferred` after the cpu has switched
   * away (Linux), `in-exit` while exit still runs on it (rCore before PR 146),
   * `at-reap` for the main thread when the parent reaps (rCore after PR 146).
   */
  kstackFree: "deferred" | "in-exit" | "at-reap";
  /** What touching a freed kernel stack does: nothing visible, or fault after a TLB flush or frame reuse. */
  stackCheck: "silent" | "flush" | "reuse";
  /** /proc/<pid>/status on a cleared VMAR: `unwrap` panics (Asterinas before the fix), `check` omits RSS lines. */
  procfsVmar: "unwrap" | "check";
}

export interface Cpu {
  id: number;
  /** Thread running here, -1 when idle. */
  tid: number;
  /** Kernel stack the cpu runs on, -1 when idle. */
  kstack: number;
}

export interface Proc {
  pid: number;
  ppid: number;
  name: string;
  state: ProcState;
  /** Thread ids, in creation order. The first is the main thread. */
  threads: number[];
  /** Root VMAR id, or null once exit cleared it. */
  vmar: number | null;
  /** seq of the vmar-clear event, -1 while live. */
  vmarClearedSeq: number;
  /** Kernel lock guarding vmar. */
  vmarLock: number;
  exitCode: number | null;
  /** Threads with a tcmalloc thread cache in this address space. */
  tcaches: number[];
  /** seq of the fork/spawn/proc-new that created it. */
  createdSeq: number;
  /**
   * seq of the exit-group event taking the whole process down, -1 while none
   * (absent in snapshots written before the field existed: read it as -1).
   */
  exitingSeq?: number;
  /** References open procfs files hold (absent: 0); a reap while held only unhashes the process. */
  refs?: number;
}

export interface Thread {
  tid: number;
  pid: number;
  state: ThreadState;
  /** What pthread_self() returns in this thread. */
  ident: number;
  /** Kernel stack id, -1 when none. */
  kstack: number;
  /** Lock this thread blocks or spins on, -1 when none. */
  waitLock: number;
  /** seq of the lock-wait that set waitLock (absent: not known, as in snapshots before format 1.1). */
  waitSince?: number;
  /** Child pid this thread waits for in waitpid (-1 = any), or -2 when not waiting. */
  waitPid: number;
  /** Registers by name (absent until the first is set). */
  regs?: Map<string, number>;
}

export interface Lock {
  id: number;
  name: string;
  /** 0 for a kernel lock, p > 0 for pid p's user memory, -p for a lock in pid p's kernel struct (a "proc" lock). */
  space: number;
  type: LockType;
  /** tid of the holder, -1 when free. After fork this may name a thread absent from `space`. */
  owner: number;
  /** Owner ident recorded in the lock's memory (recursive mutexes), 0 when free. */
  ident: number;
  level: number;
  /** seq of the event that last changed owner (why-query), -1 never. */
  since: number;
  /** seq of the fork that copied this lock into its space, -1 if not a copy. */
  copiedSeq: number;
}

/** A value's type (program.ts): a 32-bit integer, or a pointer (0 = None, k > 0 = object k). */
export type VarType = "int" | "ptr";
export const VAR_TYPES: readonly VarType[] = ["int", "ptr"];

/** A shared variable: user memory (copied by fork), a kernel global, or a field of a process's kernel struct. */
export interface Var {
  id: number;
  name: string;
  type: VarType;
  /** 0 = kernel, p > 0 = pid p's user memory, -p = a field of pid p's kernel struct. */
  space: number;
  value: number;
  /** seq of the last write (a store, an atomic write, or var-new), for why-queries. */
  since: number;
  /** tid of the last writer, -1 for the initial value. */
  writer: number;
  /** seq of the fork that copied it here, -1 if not a copy. */
  copiedSeq: number;
}

/** An object a pointer can point at (program.ts's alloc). */
export interface KObj {
  id: number;
  name: string;
  /** As Var.space: 0 = kernel heap, p > 0 = pid p's heap. */
  space: number;
  state: "live" | "freed";
  allocSeq: number;
  freeSeq: number;
}

export interface KStack {
  id: number;
  tid: number;
  state: "mapped" | "freed";
  allocSeq: number;
  freeSeq: number;
  /** True once a TLB flush happened after the free (touching it now faults). */
  flushed: boolean;
}

export interface KState {
  /** seq of the last applied event, -1 before any. */
  seq: number;
  time: number;
  config: KConfig;
  cpus: Cpu[];
  procs: Map<number, Proc>;
  threads: Map<number, Thread>;
  locks: Map<number, Lock>;
  kstacks: Map<number, KStack>;
  vars: Map<number, Var>;
  objs: Map<number, KObj>;
  /** Register types by name (one type per name in a world). */
  regTypes: Map<string, VarType>;
  nextLock: number;
  nextVmar: number;
  nextVar: number;
  nextObj: number;
  /** First fatal/panic/hang, or the end outcome. */
  outcome: Outcome | null;
  ended: boolean;
}
