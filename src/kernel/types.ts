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
  {
    name: "switch",
    args: ["from", "to", "state"],
    doc: "cpu switches from thread `from` to thread `to` (-1 = idle); state: 0 for the simulator's rule (a running `from` becomes runnable), else `from`'s new state as SWITCH_STATES gives it (imported traces: prev_state), and `to` runs",
  },
  { name: "user", args: [], str: "label", doc: "thread runs one step of user code" },
  { name: "kwork", args: [], str: "label", doc: "kernel runs one step on the cpu's current kernel stack" },
  { name: "proc-new", args: ["pid", "ppid"], str: "name", doc: "a process is created with a fresh address space" },
  {
    name: "thread-new",
    args: ["tid", "pid", "ident"],
    doc: "a thread is created; ident is what pthread_self() returns in it",
  },
  {
    name: "fork",
    args: ["pid", "child", "childTid"],
    doc: "pid forks: the child gets a copy of user memory (locks included) and one thread",
  },
  {
    name: "spawn",
    args: ["pid", "child", "childTid"],
    str: "program",
    doc: "posix_spawn: a child with a fresh address space running a new program",
  },
  { name: "exec", args: ["pid"], str: "program", doc: "the process replaces its address space with a new program" },
  { name: "thread-exit", args: ["tid", "code"], doc: "a thread exits" },
  { name: "thread-release", args: ["tid"], doc: "an exited thread's control block is dropped" },
  { name: "proc-exit", args: ["pid", "code"], doc: "a process becomes a zombie; its parent's waitpid wakes" },
  { name: "reparent", args: ["pid", "to"], doc: "the children of pid are handed to pid `to`" },
  { name: "vmar-clear", args: ["pid"], doc: "the process's root VMAR is set to None" },
  { name: "reap", args: ["pid"], doc: "the parent reaps a zombie: the process is gone" },
  { name: "wait-block", args: ["pid"], doc: "thread blocks in waitpid until child pid (-1 = any) exits" },
  {
    name: "lock-new",
    args: ["lock", "space", "type"],
    str: "name",
    doc: "a lock is created in space (0 = kernel, p > 0 = pid p's user memory, -p = pid p's kernel struct); type 0 spin, 1 mutex, 2 recursive, 3 errorcheck, plus 16 for priority inheritance, plus 32 for a robust mutex",
  },
  {
    name: "lock-acquire",
    args: ["lock", "level", "inferred"],
    doc: "thread acquires the lock (level = recursion depth after); inferred 1: no event said so, the thread's first event after the owner released it did (imported lockdep traces without lock_acquired); 2: taken by a trylock (pthread_mutex_trylock, lockdep's try=1), which does not wait",
  },
  {
    name: "lock-wait",
    args: ["lock", "spin"],
    doc: "thread finds the lock held and blocks (spin 0) or spins (spin 1); spin 2: a wait seen in an imported trace, the thread's state left to the trace's switches",
  },
  {
    name: "lock-release",
    args: ["lock", "level"],
    doc: "thread releases the lock (level after; 0 = free); blocked waiters wake",
  },
  {
    name: "unlock-not-owner",
    args: ["lock", "owner", "ident"],
    doc: "a recursive mutex is unlocked by a thread whose ident is not the recorded owner",
  },
  {
    name: "lock-restamp",
    args: ["lock", "ident"],
    doc: "a held recursive mutex's owner ident is rewritten (reinit after fork)",
  },
  { name: "malloc", args: ["size", "path"], doc: "allocation; path 0 thread cache, 1 central free list, 2 page heap" },
  { name: "free", args: ["size"], doc: "deallocation into the thread cache" },
  { name: "tcache-new", args: ["pid"], doc: "the thread gets a tcmalloc thread cache in process pid" },
  { name: "kstack-alloc", args: ["kstack", "tid"], doc: "a kernel stack id is allocated and mapped for thread tid" },
  { name: "kstack-free", args: ["kstack"], doc: "a kernel stack is unmapped and its id returned to the allocator" },
  { name: "tlb-flush", args: [], doc: "sfence.vma: stale TLB entries are gone; freed kernel stacks now fault" },
  { name: "page-fault", args: ["kstack"], doc: "the cpu touched an unmapped kernel stack" },
  {
    name: "procfs-open",
    args: ["pid", "pin"],
    str: "path",
    doc: "thread opens a procfs file of pid; pin 1: the open file holds a reference to the process (dropped by procfs-close), 0: no such process (ESRCH)",
  },
  {
    name: "procfs-read",
    args: ["pid", "rss"],
    doc: "thread reads /proc/pid/status; rss 1: VmRSS read from the VMAR, 0: VMAR is None, RSS lines left out, 2: unwrap() of the VMAR (dereferences it even if None)",
  },
  { name: "fatal", args: ["pid", "signal"], str: "message", doc: "a user-space fatal error aborts the process" },
  { name: "panic", args: [], str: "message", doc: "kernel panic: the machine stops" },
  { name: "hang", args: [], str: "message", doc: "no thread can ever run again" },
  {
    name: "end",
    args: ["outcome", "progress"],
    doc: "the run ends (outcome code: see OUTCOME_KINDS); for a livelock, progress is the seq of the last progress event (-1: none)",
  },
  {
    name: "exit-group",
    args: ["pid", "code"],
    str: "label",
    doc: "exit(): every thread of pid is told to exit; the last one out tears the process down",
  },
  // ---- shared state (format 1.1) ----
  {
    name: "var-new",
    args: ["var", "space", "value"],
    str: "decl",
    doc: "a variable is created with its initial value; decl is \"TYPE NAME\" (int or ptr); space 0 = kernel, p > 0 = pid p's user memory, -p = a field of pid p's kernel struct",
  },
  { name: "load", args: ["var", "value"], str: "reg", doc: "plain read: the thread loads var into register reg" },
  { name: "store", args: ["var", "old", "new"], doc: "plain write: the thread stores new into var (old was there)" },
  { name: "atomic-load", args: ["var", "value"], str: "reg", doc: "atomic (acquire) read of var into register reg" },
  { name: "atomic-store", args: ["var", "old", "new"], doc: "atomic (release) write of new into var" },
  {
    name: "cas",
    args: ["var", "old", "new"],
    str: "reg",
    doc: "atomic compare-and-swap on var: new = old when it failed; reg gets old",
  },
  { name: "fetch-add", args: ["var", "old", "new"], str: "reg", doc: "atomic fetch-and-add on var; reg gets old" },
  { name: "xchg", args: ["var", "old", "new"], str: "reg", doc: "atomic exchange on var; reg gets old" },
  {
    name: "reg-set",
    args: ["value", "type"],
    str: "reg",
    doc: "the thread sets register reg to value (type 0 int, 1 ptr)",
  },
  {
    name: "obj-new",
    args: ["obj", "space"],
    str: "name",
    doc: "an object is allocated (space as var-new's; 0 = kernel heap)",
  },
  {
    name: "obj-free",
    args: ["obj", "double"],
    doc: "the thread frees an object; double 1: it was already freed (a double free)",
  },
  {
    name: "obj-use",
    args: ["obj", "freed"],
    str: "label",
    doc: "the thread dereferences an object; freed 1: a use after free",
  },
  {
    name: "assert-fail",
    args: ["kernel"],
    str: "message",
    doc: "an assert, BUG_ON or unwrap in the program fails (kernel 1: in kernel mode); a fatal error or panic follows",
  },
  { name: "progress", args: [], str: "label", doc: "the program marks progress (livelock detection)" },
  {
    name: "lock-misuse",
    args: ["lock", "what", "errno"],
    doc: "a lock is misused (what: 0 unlock of a lock not held, 1 unlock by a non-owner, 2 relock by its owner, 3 recursive level below zero, 4 unlock of a robust mutex left inconsistent: taken with EOWNERDEAD, no pthread_mutex_consistent); errno: the error an errorcheck mutex returns, 0 for undefined behaviour or a fatal error",
  },
  {
    name: "procfs-close",
    args: ["pid"],
    doc: "thread closes a procfs file of pid: its reference goes; a process reaped meanwhile is freed with the last one",
  },
  // ---- imported traces (issue 15; src/kernel/imported.ts) ----
  {
    name: "task-new",
    args: ["tid", "pid", "ppid"],
    str: "comm",
    doc: "a task of a real trace is seen for the first time: thread tid of process pid (created when new, with parent ppid, -1 unknown), named comm; its state is unknown until the trace says",
  },
  {
    name: "task-fork",
    args: ["tid", "pid", "thread"],
    str: "comm",
    doc: "the acting task creates task tid: a thread of its own process (thread 1) or the first thread of a new process pid (thread 0); runnable",
  },
  {
    name: "thread-state",
    args: ["tid", "state"],
    doc: "a thread's state becomes SWITCH_STATES[state] (a statedump, a switch traced without its cpu) without a cpu change",
  },
  { name: "migrate", args: ["tid", "from", "to"], doc: "the scheduler moves thread tid from cpu `from` to cpu `to`" },
  {
    name: "cpu-ctx",
    args: ["ctx", "enter", "num"],
    str: "name",
    doc: "the cpu enters (enter 1) or leaves (enter 0) interrupt context ctx (CPU_CTX: 1 hardirq, 2 softirq) number num (irq line, softirq vector), named name",
  },
  {
    name: "task-join",
    args: ["tid", "pid"],
    doc: "thread tid turns out to belong to process pid (created when new): it leaves its old process, which goes when it has no thread left",
  },
  {
    name: "task-rename",
    args: ["tid"],
    str: "comm",
    doc: "thread tid's command name becomes comm (prctl PR_SET_NAME, a write to /proc/PID/comm)",
  },
  {
    name: "task-exec",
    args: ["tid", "oldTid"],
    str: "filename",
    doc: "thread tid runs a new program (its comm becomes the file's base name); oldTid != tid: a non-leader thread exec'd and takes the leader's tid",
  },
  {
    name: "lock-wait-end",
    args: ["lock", "ret"],
    doc: "the thread stops waiting for the lock (lock:contention_end; ret 0: it got it, else the error)",
  },
  {
    name: "lost",
    args: ["count"],
    doc: "the tracer lost count events on this cpu here: the state after it may be wrong (what the cpu runs is unknown until its next switch); count -1: the cpu's last event in an imported trace (its recording may have stopped before the others')",
  },
  {
    name: "generic",
    args: [],
    str: "text",
    doc: "an event of a real trace that folds into no state, kept as text: [system:]name and its fields as key=value (values with spaces or quotes as JSON strings)",
  },
  // ---- waits and wakeups (issue 11) ----
  {
    name: "wake",
    args: ["tid", "by", "how"],
    str: "context",
    doc: "thread tid is woken by thread `by` (-1: the kernel, a timer or an interrupt); how: see WAKE_HOW (futex, timer, signal, pipe, join, ...; imported traces: waking, wakeup, wakeup-new); context: where the waker ran (e.g. irq:timer)",
  },
  {
    name: "futex-wait",
    args: ["var", "value", "until"],
    doc: "the thread blocks on the futex word var, which still holds value, until woken (or until virtual time `until`, -1 for no timeout)",
  },
  {
    name: "futex-wake",
    args: ["var", "n", "woken"],
    doc: "the thread wakes up to n waiters of the futex word var; woken of them were waiting (a wake event follows for each; 0: the wakeup is lost)",
  },
  { name: "sleep", args: ["until"], doc: "the thread sleeps until virtual time `until` (nanosleep)" },
  {
    name: "errno",
    args: ["errno", "obj"],
    str: "call",
    doc: "a system call fails with errno (see ERRNO); obj: the fd, variable, thread or pid it was about",
  },
  { name: "join-wait", args: ["tid"], doc: "the thread blocks in pthread_join until thread tid exits" },
  {
    name: "join",
    args: ["tid", "code"],
    doc: "pthread_join returns: thread tid exited with code (its handle is used up)",
  },
  { name: "detach", args: ["tid"], doc: "thread tid is detached: nobody will join it" },
  {
    name: "signal",
    args: ["pid", "sig", "tid"],
    doc: "a signal is sent to process pid (tid -1) or to its thread tid (pthread_kill), by the acting thread (-1: the kernel; SIGCHLD by the child's exiting thread; PR_SET_PDEATHSIG's signal by the exiting parent thread); it stays pending until delivered, unless its action is to ignore it",
  },
  {
    name: "sigaction",
    args: ["sig", "action"],
    str: "handler",
    doc: "the process sets what sig does: action 0 the default, 1 ignore, 2 run its handler (named in handler)",
  },
  { name: "sigmask", args: ["mask"], doc: "the thread's blocked-signal mask becomes mask (a bit per signal number)" },
  {
    name: "signal-deliver",
    args: ["sig", "action", "sent"],
    doc: "a pending signal is delivered to the thread at its return to user mode: action 0 its default kills the process, 1 it is ignored, 2 its handler runs on this thread (the signal blocked meanwhile); 3 sigwait takes it off the pending set, no action runs; sent: the seq of the signal event",
  },
  {
    name: "sigreturn",
    args: ["sig"],
    doc: "the thread's handler for sig returns: the interrupted code goes on, the mask is restored",
  },
  { name: "pause", args: [], doc: "the thread waits for a signal (pause, sigsuspend)" },
  // ---- file descriptors and pipes ----
  {
    name: "pipe-new",
    args: ["pipe", "cap"],
    doc: "a pipe is created with a buffer of cap bytes (its two ends follow as fd-open events)",
  },
  {
    name: "fd-open",
    args: ["fd", "pipe", "flags"],
    doc: "the process gets descriptor fd on the pipe's read end (flags bit 0 clear) or write end (bit 0 set); bit 1: close-on-exec",
  },
  {
    name: "fd-close",
    args: ["fd", "pipe"],
    doc: "the process closes descriptor fd (of pipe); the last write end closed means EOF for readers, the last read end EPIPE for writers",
  },
  {
    name: "fd-flags",
    args: ["fd", "cloexec"],
    doc: "fcntl(F_SETFD): descriptor fd's close-on-exec flag becomes cloexec",
  },
  {
    name: "pipe-write",
    args: ["pipe", "n", "used"],
    doc: "the thread writes n bytes into the pipe (used: bytes buffered after)",
  },
  {
    name: "pipe-read",
    args: ["pipe", "n", "used"],
    doc: "the thread reads n bytes from the pipe (0: end of file, every write end closed; used: bytes left)",
  },
  {
    name: "pipe-wait",
    args: ["pipe", "write", "need"],
    doc: "the thread blocks on the pipe: reading an empty one (write 0), or writing one without room for what it writes (write 1; need: the free bytes it waits for, the whole write when it is at most the capacity (PIPE_BUF's rule), else 1; 0 in traces before it was recorded: 1)",
  },
  // ---- priorities ----
  {
    name: "sched-set",
    args: ["tid", "prio", "policy"],
    doc: "thread tid's scheduling becomes priority prio in class policy (0 other, 1 fifo: SCHED_FIFO)",
  },
  // ---- the tso and pso memory models (KConfig.memory) ----
  {
    name: "store-commit",
    args: ["var", "old", "new"],
    doc: "tso, pso: a store in the thread's store buffer reaches memory (tso: the oldest; pso: the oldest to var): var held old, now holds new (the value other threads read from here on)",
  },
  {
    name: "fence",
    args: ["store"],
    doc: "a memory barrier. store 0: a full one (smp_mb, mfence): the thread's store buffer is empty (under tso and pso it was drained first, by store-commits); store 1: a store-store barrier (smp_wmb): under pso the stores buffered before it reach memory before those buffered after it",
  },
  // ---- robust mutexes ----
  {
    name: "lock-robust",
    args: ["lock", "state", "tid"],
    doc: "a robust mutex's state becomes ROBUST_STATES[state]: 1 owner-died (its owner, tid, died holding it: the kernel frees it and wakes its waiters, and the next lock returns EOWNERDEAD), 2 inconsistent (tid took it with EOWNERDEAD), 0 consistent (tid called pthread_mutex_consistent), 3 not-recoverable (tid unlocked it while inconsistent: every later lock fails with ENOTRECOVERABLE, and its waiters wake to fail)",
  },
  // ---- sigwait ----
  {
    name: "sigwait",
    args: ["mask", "until"],
    doc: "the thread waits in sigwait (sigtimedwait) for a signal of mask (a bit per signal) to be pending for it or its process; until: the virtual time its timeout ends it (-1 none)",
  },
  // ---- PR_SET_PDEATHSIG ----
  {
    name: "pdeathsig",
    args: ["sig"],
    doc: "prctl(PR_SET_PDEATHSIG, sig): the thread's parent-death signal becomes sig (0 none): when the thread that forked its process exits, the kernel sends sig to its process (a signal event by that exiting thread); a fork's child starts with none",
  },
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
export type EventFields<N extends KindName> = { [F in KindRowOf<N>["args"][number]]: number } & (KindRowOf<N> extends {
  str: infer S extends string;
}
  ? { [F in S]: string }
  : unknown);

/** Kind codes by name (kept equal to the EVENT_KINDS indices; a test checks). */
export const KIND = {
  switch: 0,
  user: 1,
  kwork: 2,
  procNew: 3,
  threadNew: 4,
  fork: 5,
  spawn: 6,
  exec: 7,
  threadExit: 8,
  threadRelease: 9,
  procExit: 10,
  reparent: 11,
  vmarClear: 12,
  reap: 13,
  waitBlock: 14,
  lockNew: 15,
  lockAcquire: 16,
  lockWait: 17,
  lockRelease: 18,
  unlockNotOwner: 19,
  lockRestamp: 20,
  malloc: 21,
  free: 22,
  tcacheNew: 23,
  kstackAlloc: 24,
  kstackFree: 25,
  tlbFlush: 26,
  pageFault: 27,
  procfsOpen: 28,
  procfsRead: 29,
  fatal: 30,
  panic: 31,
  hang: 32,
  end: 33,
  exitGroup: 34,
  varNew: 35,
  load: 36,
  store: 37,
  atomicLoad: 38,
  atomicStore: 39,
  cas: 40,
  fetchAdd: 41,
  xchg: 42,
  regSet: 43,
  objNew: 44,
  objFree: 45,
  objUse: 46,
  assertFail: 47,
  progress: 48,
  lockMisuse: 49,
  procfsClose: 50,
  taskNew: 51,
  taskFork: 52,
  threadState: 53,
  migrate: 54,
  cpuCtx: 55,
  taskJoin: 56,
  taskRename: 57,
  taskExec: 58,
  lockWaitEnd: 59,
  lost: 60,
  generic: 61,
  wake: 62,
  futexWait: 63,
  futexWake: 64,
  sleep: 65,
  errno: 66,
  joinWait: 67,
  join: 68,
  detach: 69,
  signal: 70,
  sigaction: 71,
  sigmask: 72,
  signalDeliver: 73,
  sigreturn: 74,
  pause: 75,
  pipeNew: 76,
  fdOpen: 77,
  fdClose: 78,
  fdFlags: 79,
  pipeWrite: 80,
  pipeRead: 81,
  pipeWait: 82,
  schedSet: 83,
  storeCommit: 84,
  fence: 85,
  lockRobust: 86,
  sigwait: 87,
  pdeathsig: 88,
} as const;

/** Kinds only imported traces have (src/kernel/imported.ts); the simulator never emits them. */
export const IMPORTED_KINDS: readonly number[] = [
  KIND.taskNew,
  KIND.taskFork,
  KIND.threadState,
  KIND.migrate,
  KIND.cpuCtx,
  KIND.taskJoin,
  KIND.taskRename,
  KIND.taskExec,
  KIND.lockWaitEnd,
  KIND.lost,
  KIND.generic,
];

/**
 * Thread states a switch (its `state` field) or a thread-state event sets, by
 * code; 0 is not a state: in a switch it means the simulator's rule. The
 * letters of sched_switch's prev_state: R runnable (preempted), S sleeping
 * (interruptible), D blocked (uninterruptible), T stopped, t traced, X/Z
 * exited, P parked, I idle (a kernel thread waiting for work).
 */
export const SWITCH_STATES = [
  "",
  "runnable",
  "sleeping",
  "blocked",
  "stopped",
  "traced",
  "exited",
  "parked",
  "idle",
  "unknown",
  "running",
] as const satisfies readonly ("" | ThreadState)[];

/** CPU context codes of a cpu-ctx event: 0 is the task itself. */
export const CPU_CTX = ["task", "hardirq", "softirq"] as const;

/**
 * How a thread was woken: the `how` field of a wake event, by code (append
 * only). The first three are the scheduler's own words in imported traces
 * (sched_waking, sched_wakeup, sched_wakeup_new); the rest are the simulated
 * kernel's reasons. Two wakeups are not wake events, as before wake existed:
 * a lock-release wakes its blocked waiters itself (who: the lock's release,
 * Lock.since; `lock` is the code for an importer that has one), and a
 * proc-exit wakes the parent in waitpid (recorded on it as woken, how
 * `child`); every other wakeup is a wake event.
 */
export const WAKE_HOW = [
  "waking",
  "wakeup",
  "wakeup-new",
  "futex",
  "timer",
  "signal",
  "pipe",
  "join",
  "lock",
  "child",
  "kill",
] as const;
export type WakeHow = (typeof WAKE_HOW)[number];
/** A wake's `how` by name ("how 12" for a code this build does not know). */
export function wakeHowName(how: number): string {
  return WAKE_HOW[how] ?? `how ${how}`;
}
/** lock-acquire's `inferred` slot for a lock taken by a trylock (pthread_mutex_trylock; lockdep's try=1): it did not wait, so it cannot close a deadlock (lock-order). */
export const TRYLOCK_ACQUIRE = 2;
/** WAKE_HOW codes by name. */
export const HOW = Object.fromEntries(WAKE_HOW.map((n, i) => [n, i])) as { readonly [K in WakeHow]: number };

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
 *   lock-robust(l, owner-died, T1)  →  the next lock-acquire(l) (the kernel
 *                              releases the robust mutex its dead owner held)
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
 * The kinds at which a descriptor number is used or changed: a pipe-write or
 * pipe-read through it, an fd-open or fd-close of it, a call that failed with
 * EBADF on it (errno). The data-race invariant treats each process's
 * descriptor numbers as shared state (src/replay/race.ts); only a process
 * that made a pipe has descriptors (mayAccess).
 */
export const DESCRIPTOR_ACCESS_KINDS: readonly number[] = [
  KIND.pipeWrite,
  KIND.pipeRead,
  KIND.fdOpen,
  KIND.fdClose,
  KIND.errno,
];

/**
 * The kinds that write a variable's value (the writes among ACCESS_KINDS,
 * and store-commit: under tso a store enters the thread's store buffer and
 * reaches memory at its store-commit; slots a, b, c are var, old, new in each).
 */
export const VAR_WRITE_KINDS: readonly number[] = [
  KIND.store,
  KIND.atomicStore,
  KIND.cas,
  KIND.fetchAdd,
  KIND.xchg,
  KIND.storeCommit,
];
/**
 * The kinds after which a variable may hold another value or no longer (or
 * newly) exist: its creation, the writes, and the fork, exec and reap that copy
 * or drop address spaces. Watchpoints and users' invariants look at these only.
 */
export const VAR_STATE_KINDS: readonly number[] = [KIND.varNew, ...VAR_WRITE_KINDS, KIND.fork, KIND.exec, KIND.reap];
/** The same for a lock's owner and existence. */
export const LOCK_STATE_KINDS: readonly number[] = [
  KIND.lockNew,
  KIND.lockAcquire,
  KIND.lockRelease,
  KIND.lockRestamp,
  KIND.lockRobust,
  KIND.fork,
  KIND.exec,
  KIND.reap,
];

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

/**
 * A robust mutex's state (pthread_mutexattr_setrobust; Linux's robust futex
 * list), by code: a lock-robust event's `state`. `consistent`: usable as any
 * mutex. `owner-died`: its owner died holding it; it is free, and the next
 * lock takes it with EOWNERDEAD. `inconsistent`: held by the thread that got
 * EOWNERDEAD, which must call pthread_mutex_consistent before it unlocks.
 * `not-recoverable`: unlocked while inconsistent; every lock fails with
 * ENOTRECOVERABLE, for ever.
 */
export const ROBUST_STATES = ["consistent", "owner-died", "inconsistent", "not-recoverable"] as const;
export type RobustState = (typeof ROBUST_STATES)[number];
/** ROBUST_STATES codes by name. */
export const ROBUST = Object.fromEntries(ROBUST_STATES.map((n, i) => [n, i])) as {
  readonly [K in RobustState]: number;
};

/** What a lock-misuse event's `what` field says, by code. */
export const MISUSES = [
  "unlock-not-held",
  "unlock-not-owner",
  "relock",
  "level-underflow",
  "unlock-inconsistent",
] as const;
export type Misuse = (typeof MISUSES)[number];
/** errno values the kernel returns to programs (Linux numbers). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  EBUSY: 16,
  EINVAL: 22,
  EMFILE: 24,
  EPIPE: 32,
  EDEADLK: 35,
  ETIMEDOUT: 110,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,
} as const;
/** errno names by value ("EAGAIN" for 11). */
export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ERRNO).map(([k, v]) => [v, k]),
);

/**
 * `runnable`, `running`, `blocked` (uninterruptible, or on a lock or in
 * waitpid), `spinning`, `exited`; and, in imported traces only, `sleeping`
 * (interruptible), `stopped`, `traced`, `parked`, `idle` (a kernel thread
 * waiting for work) and `unknown` (not said yet: before the task's first
 * switch, or after events were lost).
 */
export const THREAD_STATES = [
  "runnable",
  "running",
  "blocked",
  "spinning",
  "exited",
  "sleeping",
  "stopped",
  "traced",
  "parked",
  "idle",
  "unknown",
] as const;
export type ThreadState = (typeof THREAD_STATES)[number];
/** `reaped`: waitpid reaped it while a procfs file still held a reference: unhashed (no pid, no parent), freed with the last reference. */
export const PROC_STATES = ["running", "zombie", "reaped"] as const;
export type ProcState = (typeof PROC_STATES)[number];

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
  /** Set in a trace imported from a real kernel (ktrace import): its cpus run what its switches say, unknown before the first. Absent in simulated runs. */
  imported?: boolean;
  /** Opt-in: the zombie-leak invariant reports children left unreaped by a live parent at the end of the run (absent: off). */
  zombieCheck?: boolean;
  /** Opt-in: the lock-order invariant runs in the default set: a lock taken while holding another, in an order that closes a cycle of lock classes (absent: off; `--invariant lock-order` runs it anyway). */
  lockOrder?: boolean;
  /** Opt-in: the no-starvation invariant runs in the default set: at a budget end, a live thread that kept losing the race for what it waits on while others made progress (absent: off). */
  starvationCheck?: boolean;
  /** no-starvation's window, in events (absent: the progress window, params.PROGRESS_WINDOW; at most half the run). */
  starvationWindow?: number;
  /**
   * The memory model (absent: "sc", sequential consistency: every access
   * reaches memory in program order, as traces before it were made). "tso":
   * x86's total store order, each thread with a store buffer (src/kernel/tso.ts).
   * "pso": SPARC's partial store order, the same buffers, but a buffered store
   * may reach memory before an older one to another variable.
   */
  memory?: MemoryModel;
}

/** The memory models a scenario may run under (KConfig.memory). */
export type MemoryModel = "sc" | "tso" | "pso";
export const MEMORY_MODELS: readonly MemoryModel[] = ["sc", "tso", "pso"];

/** Whether a state's run buffers stores (KConfig.memory tso or pso). One definition: the simulator and the fold ask it. */
export function buffersStores(config: KConfig): boolean {
  return config.memory === "tso" || config.memory === "pso";
}

/** Whether a buffered store may reach memory before an older one to another variable (KConfig.memory pso; tso.ts). */
export function reordersStores(config: KConfig): boolean {
  return config.memory === "pso";
}

/** A store waiting in a thread's store buffer (tso, pso): the variable, the value, the seq of the store that buffered it. */
export interface PendingStore {
  var: number;
  value: number;
  seq: number;
  /** pso: a store barrier (smp_wmb) follows it: no store buffered after it reaches memory before it and every store before it (absent: none). */
  wmb?: true;
}

/** A state of an imported trace (its config says so: KConfig.imported). One definition: every view asks it. */
export function isImportedState(s: KState): boolean {
  return s.config.imported === true;
}

/*
 * Cpu, Proc, Thread and Lock: an optional field ("absent: ...") is undefined on
 * a live object, never missing; each is made with every field by its one
 * constructor (apply.ts: cpuObj, procObj, threadObj, lockObj), so the engine
 * gives each kind one shape, and a snapshot leaves an undefined field out.
 */
export interface Cpu {
  id: number;
  /** Thread running here, -1 when idle. */
  tid: number;
  /** Kernel stack the cpu runs on, -1 when idle. */
  kstack: number;
  // ---- imported traces (absent in simulated runs) ----
  /** seq of the last switch of an imported trace on this cpu; absent: what it runs is not known (no switch yet, or events lost since). */
  switchSeq?: number;
  /** Interrupt contexts the cpu is in, innermost last (absent: none). */
  ctx?: CpuCtx[];
  /** seq of the last lost-events marker on this cpu (absent: none). */
  lostSeq?: number;
}

/** Most interrupt contexts a cpu nests (softirq, hardirq, NMI, with room); a deeper push drops the outermost. */
export const MAX_CTX_DEPTH = 16;

/** An interrupt context a cpu is in (imported traces): a hardirq handler or a softirq. */
export interface CpuCtx {
  kind: "hardirq" | "softirq";
  /** IRQ line or softirq vector. */
  num: number;
  /** "eth0", "NET_RX". */
  name: string;
  /** seq of the cpu-ctx event that entered it. */
  since: number;
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
  // ---- issue 11; absent in snapshots written before it: read as empty ----
  /** Open file descriptors, by fd number. */
  fds?: Fd[];
  /** Signal actions other than the default, as [signal, action] (SIG_ACTIONS index). */
  sigActions?: [number, number][];
  /** Signals sent to the process (kill) not yet delivered to one of its threads. */
  sigPending?: PendingSignal[];
  /** seq of the reparent that handed it to init (absent: its own parent's). */
  adoptedSeq?: number;
  /** seq of its proc-exit (absent while it runs, and in snapshots written before issue 11). */
  exitSeq?: number;
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
  // ---- imported traces (absent in simulated runs and older snapshots) ----
  /** Command name (TASK_COMM_LEN), as the trace names the task. */
  comm?: string;
  /** The cpu it last ran on or was moved to. */
  cpu?: number;
  /** seq of the switch that last put it on a cpu, and of the one that last took it off. */
  onSeq?: number;
  offSeq?: number;
  // ---- issue 11; absent in snapshots written before it: read as the default ----
  /** What it blocks on besides a lock or waitpid (a futex, a sleep, a join, a pipe); absent when none. */
  waitOn?: WaitOn;
  /** The last wakeup: who woke it, when, how (absent: never woken). */
  woken?: Woken;
  /** Scheduling priority (absent: 0); higher runs first in the fifo class. */
  prio?: number;
  /** Scheduling class (absent: "other"). */
  policy?: SchedPolicy;
  /** Effective priority while priority inheritance lends it a waiter's (absent: prio). */
  boost?: number;
  /** Blocked signals, a bit per signal number (absent: none). */
  sigMask?: number;
  /** Signals sent to this thread (tgkill, SIGPIPE) not yet delivered. */
  sigPending?: PendingSignal[];
  /** Signal handlers running on this thread, innermost last. */
  handling?: Handling[];
  /** prctl(PR_SET_PDEATHSIG): the signal its process gets when the thread that forked it exits (absent: none). */
  pdeathSig?: number;
  // ---- the tso memory model (absent under sc and in older snapshots) ----
  /** Stores in its store buffer, oldest first, not yet in memory (absent: none). */
  stores?: PendingStore[];
}

/** What a thread blocks on (besides a lock or a child). */
export type WaitWhat = "futex" | "sleep" | "join" | "pipe-read" | "pipe-write" | "signal" | "sigwait";
export const WAIT_WHATS: readonly WaitWhat[] = [
  "futex",
  "sleep",
  "join",
  "pipe-read",
  "pipe-write",
  "signal",
  "sigwait",
];

export interface WaitOn {
  what: WaitWhat;
  /** The futex word's variable id, the joined tid, or the pipe id; 0 for a sleep or a pause (a wait for a signal); the signals waited for (a bit each) for a sigwait. */
  id: number;
  /** seq of the event that began the wait. */
  since: number;
  /** Virtual time at which the wait ends by itself (a timeout, the end of a sleep), -1 for none. */
  until: number;
  /** A pipe write's wait: the free bytes it needs to go on (pipe-wait's need, at least 1); 0 for every other wait. */
  need: number;
}

export interface Woken {
  /** The waker's tid, -1 for the kernel (a timer, an interrupt). */
  by: number;
  /** seq of the event that woke it. */
  seq: number;
  /** WAKE_HOW code. */
  how: number;
}

/** Scheduling classes: `other` (time-shared, the default) and `fifo` (SCHED_FIFO: strict priority, above every `other` thread). */
export type SchedPolicy = "other" | "fifo";
export const SCHED_POLICIES: readonly SchedPolicy[] = ["other", "fifo"];

/** A signal generated and not yet delivered. */
export interface PendingSignal {
  sig: number;
  /** seq of the event that sent it (kill, or the kernel's: SIGCHLD at a child's exit, SIGPIPE). */
  seq: number;
  /** Sender tid, -1 for the kernel. */
  by: number;
}

/** A signal handler running on a thread. */
export interface Handling {
  sig: number;
  /** seq of the event that sent the signal, and of its delivery. */
  sent: number;
  at: number;
  /** Sender tid, -1 for the kernel. */
  by: number;
  /** The thread's mask before the delivery (restored by sigreturn). */
  mask: number;
}

/** What a signal does by default: terminate the process (`core`: and dump core, not modelled), or nothing. */
export type SigDefault = "term" | "core" | "ign";

/**
 * The signals modelled, by number (Linux x86-64), with their default action.
 * Job control (SIGSTOP, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU) is not modelled.
 * SIGKILL cannot be caught, ignored or blocked.
 */
export const SIGNALS: Readonly<Record<number, { name: string; default: SigDefault }>> = {
  1: { name: "SIGHUP", default: "term" },
  2: { name: "SIGINT", default: "term" },
  3: { name: "SIGQUIT", default: "core" },
  4: { name: "SIGILL", default: "core" },
  5: { name: "SIGTRAP", default: "core" },
  6: { name: "SIGABRT", default: "core" },
  7: { name: "SIGBUS", default: "core" },
  8: { name: "SIGFPE", default: "core" },
  9: { name: "SIGKILL", default: "term" },
  10: { name: "SIGUSR1", default: "term" },
  11: { name: "SIGSEGV", default: "core" },
  12: { name: "SIGUSR2", default: "term" },
  13: { name: "SIGPIPE", default: "term" },
  14: { name: "SIGALRM", default: "term" },
  15: { name: "SIGTERM", default: "term" },
  17: { name: "SIGCHLD", default: "ign" },
  23: { name: "SIGURG", default: "ign" },
  28: { name: "SIGWINCH", default: "ign" },
};
/** Signal numbers by name ("SIGUSR1" → 10). */
export const SIG: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(SIGNALS).map(([n, x]) => [x.name, Number(n)]),
);
/** A signal's name ("signal 40" for one not modelled). */
export function sigName(sig: number): string {
  return SIGNALS[sig]?.name ?? `signal ${sig}`;
}

/** What a process does with a signal: the default action, ignore it, or run its handler. */
export type SigAction = "default" | "ignore" | "handler";
export const SIG_ACTIONS: readonly SigAction[] = ["default", "ignore", "handler"];
/**
 * The action code (a sigaction event's b, Proc.sigActions) of a handler
 * installed with SA_RESTART: a read, write, waitpid or untimed futex wait it
 * interrupts is restarted after it instead of returning EINTR.
 */
export const SA_RESTART_HANDLER = 3;
/** What an action code means: SIG_ACTIONS' name; SA_RESTART_HANDLER is a "handler". */
export function sigActionOf(code: number): SigAction | undefined {
  return code === SA_RESTART_HANDLER ? "handler" : SIG_ACTIONS[code];
}
/** An action code as the tools print it: "handler (SA_RESTART)" for SA_RESTART_HANDLER. */
export function sigActionText(code: number): string {
  return code === SA_RESTART_HANDLER ? "handler (SA_RESTART)" : (SIG_ACTIONS[code] ?? `action ${code}`);
}

/** One open file descriptor of a process. */
export interface Fd {
  fd: number;
  /** The pipe it refers to, and which end. */
  pipe: number;
  write: boolean;
  cloexec: boolean;
  /** seq of the event that put it in this process's table (pipe, dup, or the fork/spawn that inherited it). */
  seq: number;
}

/** A pipe: a bounded byte buffer with a read end and a write end. */
export interface Pipe {
  id: number;
  /** Capacity and bytes buffered. */
  cap: number;
  used: number;
  /** Open descriptors (in every process) on each end; EOF once writers is 0. */
  readers: number;
  writers: number;
  /** seq of its creation, of the last write and read (-1 none), and of the close of its last write end (-1 while open). */
  createdSeq: number;
  writeSeq: number;
  readSeq: number;
  wclosedSeq: number;
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
  /** Priority inheritance (PTHREAD_PRIO_INHERIT): its owner runs at the priority of its highest waiter (absent: no). */
  pi?: boolean;
  /** A robust mutex's state (ROBUST_STATES; absent: not robust). */
  robust?: RobustState;
  /** seq of the lock-robust event that marked it owner-died last (absent: never). */
  diedSeq?: number;
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
  /** What the word is used as (absent: a plain variable); the sync objects are built on futexes. */
  sync?: SyncKind;
  /** The last futex-wake on it: seq and how many it woke (absent: none). */
  wake?: { seq: number; woken: number; by: number };
}

/** What a variable is used as: a futex word, or a word of a condition variable, semaphore or read-write lock. */
export type SyncKind = "futex" | "condvar" | "semaphore" | "rwlock";
export const SYNC_KINDS: readonly SyncKind[] = ["futex", "condvar", "semaphore", "rwlock"];

export const OBJ_STATES = ["live", "freed"] as const;
export type ObjState = (typeof OBJ_STATES)[number];

/** An object a pointer can point at (program.ts's alloc). */
export interface KObj {
  id: number;
  name: string;
  /** As Var.space: 0 = kernel heap, p > 0 = pid p's heap. */
  space: number;
  state: ObjState;
  allocSeq: number;
  freeSeq: number;
}

export const KSTACK_STATES = ["mapped", "freed"] as const;
export type KStackState = (typeof KSTACK_STATES)[number];

export interface KStack {
  id: number;
  tid: number;
  state: KStackState;
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
  /** Pipes by id (issue 11; empty in snapshots written before it). */
  pipes: Map<number, Pipe>;
  /** Register types by name (one type per name in a world). */
  regTypes: Map<string, VarType>;
  nextLock: number;
  nextVmar: number;
  nextVar: number;
  nextObj: number;
  nextPipe: number;
  /** First fatal/panic/hang, or the end outcome. */
  outcome: Outcome | null;
  ended: boolean;
}
