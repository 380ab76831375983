// Programs: what simulated threads run. A program is a list of ops, plain
// data (no closures), so that a world can be stored in a trace, validated
// when read back, and re-simulated. The simulator interprets one op per step;
// kernel paths (fork, exit, waitpid, procfs reads, malloc's slow path) expand
// into several steps so that other CPUs can interleave between them.
//
// Shared state: variables (VarDecl) hold 32-bit integers or pointers (an
// Option<&T>: 0 is None, k > 0 points at object k). Each thread has registers
// (named, typed by their uses). Expressions (Expr) read registers and
// variables; each variable an op's expressions read is loaded, in its own
// step, before the op runs (lower.ts), so `store("x", add(v("x"), 1))` is a
// load and a store that other threads can interleave between.
//
// Validation (validate.ts) refuses a malformed program when the world is built,
// naming the op's path and, for ops made by these builders, the source line.

import { type LockType, type SchedPolicy, SIG, type SigAction, type SyncKind } from "./types.ts";

/** The /proc/<pid>/ files a program can read (each reads the process's memory map). */
export type ProcFile = "status" | "stat" | "cmdline";
export const PROC_FILES: readonly ProcFile[] = ["status", "stat", "cmdline"];

/** A value's type: a 32-bit integer, or a pointer (0 = None / NULL, k > 0 = object k). */
export type ValType = "int" | "ptr";

export type BinOp = "+" | "-" | "*" | "/" | "%" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "&&" | "||";

/** An expression over registers and variables. Booleans are ints: 0 false, anything else true. */
export type Expr =
  /** An integer literal. */
  | { e: "int"; v: number }
  /** The empty pointer. */
  | { e: "none" }
  /** A variable's value (a plain load, unless the op says otherwise); `of` picks another process's field. */
  | { e: "var"; name: string; of?: Expr }
  /** A register of the running thread. */
  | { e: "reg"; name: string }
  | { e: "bin"; op: BinOp; l: Expr; r: Expr }
  | { e: "not"; x: Expr }
  /** 1 when the pointer is None. */
  | { e: "isNone"; x: Expr }
  // ---- in invariants only (predicates over the kernel state and the event) ----
  /** x evaluated on the state before the event. */
  | { e: "before"; x: Expr }
  /** 1 when the lock is held. */
  | { e: "held"; lock: string }
  /** The lock's owner (a tid), -1 when free. */
  | { e: "owner"; lock: string }
  /** 1 when the event's kind matches the pattern (kind names or globs, comma-separated: "store,cas", "lock-*"). */
  | { e: "evIs"; kinds: string }
  /** The acting thread of the event (-1: none). */
  | { e: "evTid" }
  /** A named field of the event (EVENT_KINDS' names: "lock", "var", "new", ...); 0 when the kind has no such field. */
  | { e: "evField"; name: string };

/**
 * A scenario's own invariant: a named predicate over the state after an
 * event (and, through before() and the ev* atoms, the state before it and the
 * event). Plain data, stored in the trace header and interpreted by the
 * replay engine: `ktrace check` evaluates it on a trace from anyone without
 * the scenario file and without running code. Contract: pure (reads state
 * only), deterministic, cheap (it runs at every event that can change what it
 * reads; see docs/SCENARIOS.md).
 */
export interface InvariantDecl {
  /** Kebab-case, unique, not a built-in invariant's name. */
  name: string;
  /** Must be true (nonzero); a user variable it names is checked in each process that has it. */
  check: Expr;
  /** Said when it breaks (the values of the variables it reads are added). */
  message: string;
  /**
   * When it is checked: "change" (default) after every event that can change
   * what it reads; "every" after every event; "exit" at each process's exit
   * (proc-exit, with that process's variables); "end" at the end of the run.
   */
  on?: "change" | "every" | "exit" | "end";
}

/** Where a variable or lock lives. */
export type Scope =
  /** User memory: one copy per address space, copied by fork, dropped by exec. */
  | "user"
  /** Kernel memory, one copy. */
  | "kernel"
  /** A field of each process's kernel struct: a fresh one per process, not copied by fork, dropped at reap. */
  | "proc";

/** A shared variable a scenario declares. */
export interface VarDecl {
  type: ValType;
  /** Initial value: an int, 0 (None) for a pointer, or "new" for a pointer to a fresh object named after the variable. */
  init?: number | "new";
  /** Default "user". */
  scope?: Scope;
  /** What the word is used as (condvar(), semaphore(n), rwlock(): the sync ops need it; absent: a plain variable or futex word). */
  sync?: SyncKind;
}

/** A reference to a variable: by name, in the running process, or in process `of` (a "proc" field). */
export interface VarRef {
  name: string;
  of?: Expr;
}

export type Op =
  /** `n` steps of user code, each an event labelled `label`. */
  | { op: "user"; label: string; n: number }
  /**
   * Acquire a lock (created on first use); `of` picks another process's
   * "proc" lock; `ret` gets the return code (0, or EDEADLK from an
   * errorcheck mutex the caller already holds; a robust mutex: EOWNERDEAD,
   * taken, its owner died holding it; ENOTRECOVERABLE, not taken).
   */
  | { op: "lock"; lock: string; of?: Expr; ret?: string }
  /**
   * Release it. A recursive mutex checks the caller's ident against its
   * recorded owner; misuse (not held, not the owner) is a lock-misuse event
   * with the declared type's outcome; `ret` gets 0 or EPERM.
   */
  | { op: "unlock"; lock: string; of?: Expr; ret?: string }
  /** Rewrite a held recursive mutex's owner ident with the caller's (CPython's _PyImport_ReInitLock). */
  | { op: "restamp"; lock: string }
  /** tcmalloc-style allocation of `size` bytes. */
  | { op: "malloc"; size: number }
  /** Return `size` bytes to the thread cache. */
  | { op: "free"; size: number }
  /** pthread_atfork: register handlers run around fork in this process. */
  | { op: "atfork"; prepare: Op[]; parent: Op[]; child: Op[] }
  /** fork(): the child's only thread runs `child`, then exits the process; `pid` gets the child's pid in the parent. */
  | { op: "fork"; child: Op[]; pid?: string }
  /** posix_spawn(): a child with a fresh address space runs `child`; `pid` gets the child's pid (its handle). */
  | { op: "spawn"; program: string; child: Op[]; pid?: string }
  /** execve(): replace this process's address space and run `body`. */
  | { op: "exec"; program: string; body: Op[] }
  /**
   * pthread_create(): a new thread of this process runs `body`, then exits;
   * `tid` gets its tid (its handle, for join/detach); `detached` creates it
   * detached; `prio` / `policy` its scheduling (priorities, prio.ts).
   */
  | { op: "thread"; body: Op[]; tid?: string; detached?: boolean; prio?: number; policy?: SchedPolicy }
  /** exit(code): every thread of the process exits. */
  | { op: "exit"; code: number }
  /**
   * waitpid(): for the last forked/spawned child (`child`), any child (`any`)
   * or the child whose pid (handle) `pid` evaluates to (`pid`). `nohang`
   * (WNOHANG) returns 0 at once when none has exited. `ret` gets the reaped
   * pid, 0, or -ECHILD; `status` the exit code (128 + signal when a signal
   * killed it).
   */
  | { op: "waitpid"; which: "child" | "any" | "pid"; pid?: Expr; nohang?: boolean; ret?: string; status?: string }
  /** open + read /proc/<pid>/<file> (pid: the last child unless given). */
  | { op: "procfs"; file: ProcFile; pid?: Expr }
  /** pthread_join(tid): wait for the thread to exit; `ret` gets 0, ESRCH, EINVAL (detached or joined already) or EDEADLK (itself); `status` its exit code. */
  | { op: "join"; tid: Expr; ret?: string; status?: string }
  /** pthread_detach(tid): nobody will join it; `ret` gets 0, ESRCH or EINVAL. */
  | { op: "detach"; tid: Expr; ret?: string }
  /** Run `body` n times (Infinity: forever). */
  | { op: "repeat"; n: number; body: Op[] }
  /** A named function: one user event labelled `name`, then `body`. */
  | { op: "call"; name: string; body: Op[] }
  // ---- shared state ----
  /** reg = var (a plain or an atomic load). */
  | { op: "load"; reg: string; var: VarRef; atomic: boolean }
  /** var = value (a plain or an atomic store). */
  | { op: "store"; var: VarRef; value: Expr; atomic: boolean }
  /** Atomic compare-and-swap: if var == expected then var = desired; reg (optional) gets the old value. */
  | { op: "cas"; reg?: string; var: VarRef; expected: Expr; desired: Expr }
  /** Atomic fetch-and-add; reg (optional) gets the old value. */
  | { op: "fetchAdd"; reg?: string; var: VarRef; delta: Expr }
  /** Atomic exchange; reg (optional) gets the old value. */
  | { op: "xchg"; reg?: string; var: VarRef; value: Expr }
  /** reg = value (one step of user code). */
  | { op: "set"; reg: string; value: Expr }
  // ---- control flow ----
  /** Runs `then` when cond is true (nonzero), else `else`. */
  | { op: "if"; cond: Expr; then: Op[]; else: Op[] }
  /** Runs body while cond is true, at most `max` times (Infinity: no bound; the run then ends at --max-events). */
  | { op: "while"; cond: Expr; body: Op[]; max: number }
  /** Kernel mode: body runs as a system call (not preempted on its cpu; kernel objects it allocates are the kernel's). */
  | { op: "syscall"; name: string; body: Op[] }
  // ---- checks ----
  /** assert(cond): user mode aborts the process (SIGABRT), kernel mode panics (Rust's assert!). */
  | { op: "assert"; cond: Expr; message: string }
  /** BUG_ON(cond): "kernel BUG at <where>!" (a panic in kernel mode, an abort in user mode). */
  | { op: "bugOn"; cond: Expr; where: string }
  /** reg = value.unwrap(): None panics (kernel) or aborts (user) with Rust's message. */
  | { op: "unwrap"; reg: string; value: Expr; at?: string }
  // ---- objects ----
  /** reg = a new object (kernel heap in kernel mode, else the process's heap). */
  | { op: "alloc"; reg: string; name: string }
  /** Frees the object value points at; a second free is a double free. */
  | { op: "dealloc"; value: Expr }
  /** Dereferences value (touches the object): NULL faults; a freed object is a use after free. */
  | { op: "use"; value: Expr; label: string }
  // ---- liveness ----
  /** The program made progress (a livelock is a run that stops doing this; see docs/SCENARIOS.md). */
  | { op: "progress"; label: string }
  /**
   * A full memory barrier (smp_mb(), mfence): under the tso and pso memory
   * models the thread's store buffer drains into memory first, so no later
   * load or store is ordered before an earlier store; one step (a fence
   * event) under every model. `kind: "store"`: a store-store barrier
   * (smp_wmb(), SPARC's membar #StoreStore) instead: nothing drains; under
   * pso the stores buffered before it reach memory before any buffered after
   * it; under tso (stores already in order) and sc it orders nothing more,
   * but is still one step and a fence event.
   */
  | { op: "fence"; kind?: "store" }
  // ---- futexes and the clock (futex.ts) ----
  /**
   * futex_wait: if var still holds value, block until a futexWake (0), the
   * timeout in ns of virtual time (ETIMEDOUT) or a signal (EINTR); if it does
   * not, EAGAIN at once. `ret` gets the result.
   */
  | { op: "futexWait"; var: VarRef; value: Expr; timeout?: Expr; ret?: string }
  /** futex_wake: wake up to n waiters of var, first queued first; `ret` gets how many were woken. */
  | { op: "futexWake"; var: VarRef; n: Expr; ret?: string }
  /** nanosleep: block for ns of virtual time; `ret` gets 0, or EINTR when a signal cut it short. */
  | { op: "sleep"; ns: Expr; ret?: string }
  // ---- synchronization built on futexes (sync.ts) ----
  /** pthread_cond_wait / timedwait: release mutex, wait for a signal on cv, take mutex again; `ret` gets 0 or ETIMEDOUT. */
  | { op: "cvWait"; cv: string; mutex: string; timeout?: Expr; ret?: string }
  /** pthread_cond_signal (all: false) or pthread_cond_broadcast (all: true). */
  | { op: "cvSignal"; cv: string; all: boolean }
  /** sem_wait, sem_trywait (try: EAGAIN), sem_timedwait (timeout: ETIMEDOUT); `ret` gets 0 or the error. */
  | { op: "semWait"; sem: string; try?: boolean; timeout?: Expr; ret?: string }
  /** sem_post. */
  | { op: "semPost"; sem: string }
  /** pthread_rwlock_rdlock / wrlock, or try (EBUSY); `ret` gets 0 or EBUSY. */
  | { op: "rwLock"; rw: string; write: boolean; try?: boolean; ret?: string }
  /** pthread_rwlock_unlock; `ret` gets 0 or EPERM (not held). */
  | { op: "rwUnlock"; rw: string; ret?: string }
  /** pthread_mutex_trylock / pthread_spin_trylock: take the lock if it is free; `ret` gets 0 or EBUSY (a robust mutex: EOWNERDEAD, taken; ENOTRECOVERABLE). */
  | { op: "trylock"; lock: string; ret?: string }
  /**
   * pthread_mutex_consistent: the caller, which took a robust mutex with
   * EOWNERDEAD and repaired what it protects, marks it consistent, so its
   * unlock leaves it usable; `ret` gets 0, or EINVAL when the mutex is not an
   * inconsistent robust mutex the caller holds (nothing changes).
   */
  | { op: "consistent"; lock: string; ret?: string }
  // ---- signals (signal.ts); sig is a signal number (SIG.SIGUSR1), or the unknown name given to a builder ----
  /** kill(pid, sig): make sig pending on process pid; `ret` gets 0, ESRCH or EINVAL. */
  | { op: "kill"; pid: Expr; sig: number | string; ret?: string }
  /** pthread_kill(tid, sig) (tgkill): on one thread (the caller when tid is absent: raise); `ret` as kill's. */
  | { op: "tkill"; tid?: Expr; sig: number | string; ret?: string }
  /** sigaction(sig, ...): the default action, ignore it, or run `handler` (a program; `name` labels it); `ret` gets 0 or EINVAL. */
  | {
      op: "sigaction";
      sig: number | string;
      action: SigAction;
      handler?: Op[];
      name?: string;
      /** SA_RESTART: a read, write, waitpid or untimed futex wait the handler interrupts is restarted, not EINTR. */
      restart?: boolean;
      ret?: string;
    }
  /** pthread_sigmask(how, sigs): block, unblock, or set the calling thread's blocked signals. */
  | { op: "sigmask"; how: "block" | "unblock" | "set"; sigs: (number | string)[] }
  /** pause(): wait for a signal (a handler's return ends it). */
  | { op: "pause" }
  /** sigsuspend(sigs): the mask becomes sigs and the thread waits for a signal, in one step; `ret` gets EINTR after the handler. */
  | { op: "sigsuspend"; sigs: (number | string)[]; ret?: string }
  /**
   * sigwait(sigs) / sigtimedwait(sigs, timeout ns): waits until a signal of
   * sigs is pending for the thread or its process and takes it off the
   * pending set without running its action; `ret` gets its number, or
   * -EAGAIN when the timeout ends the wait. The signals should be blocked in
   * every thread (signal.ts).
   */
  | { op: "sigwait"; sigs: (number | string)[]; ret?: string; timeout?: Expr }
  /**
   * prctl(PR_SET_PDEATHSIG, sig): the calling thread's parent-death signal
   * (0 clears it): when the thread that forked this process exits, the
   * kernel sends sig to this process (proc.ts). Per thread; a fork's child
   * starts with none; a reparent does not re-arm it. `ret` gets 0 or EINVAL.
   */
  | { op: "setPdeathsig"; sig: number | string; ret?: string }
  /** getpid() / getppid(): the calling process's pid, or its parent's (1 once init adopted it), into reg. */
  | { op: "getpid"; reg: string; parent: boolean }
  // ---- file descriptors and pipes (fd.ts) ----
  /** pipe() / pipe2(O_CLOEXEC): the read and write descriptors go in registers `read` and `write` (-EMFILE in `read` when the table is full); cap: its buffer in bytes. */
  | { op: "pipe"; read: string; write: string; cloexec?: boolean; cap?: number }
  /** close(fd); `ret` gets 0 or EBADF. */
  | { op: "close"; fd: Expr; ret?: string }
  /** dup(fd) into register reg (the lowest free descriptor), or dup2(fd, to); cloexec: F_DUPFD_CLOEXEC. reg gets the descriptor or -EBADF / -EMFILE. */
  | { op: "dup"; fd: Expr; reg: string; to?: Expr; cloexec?: boolean }
  /** fcntl(fd, F_SETFD): set or clear close-on-exec; `ret` gets 0 or EBADF. */
  | { op: "fcntl"; fd: Expr; cloexec: boolean; ret?: string }
  /** write(fd, n bytes); `ret` gets the bytes written or -EBADF, -EPIPE (after SIGPIPE), -EINTR. */
  | { op: "write"; fd: Expr; n: Expr; ret?: string; nonblock?: boolean }
  /** read(fd, up to n bytes); `ret` gets the bytes read (0: end of file) or -EBADF, -EINTR. */
  | { op: "read"; fd: Expr; n: Expr; ret?: string; nonblock?: boolean }
  // ---- priorities (prio.ts) ----
  /** sched_setscheduler(0, policy, prio): the calling thread's class and priority. */
  | { op: "setPriority"; prio: number; policy: SchedPolicy };

/** A lock a scenario declares, with the type its memory has. */
export interface LockDecl {
  type: LockType;
  /** Fatal error message when a recursive mutex is unlocked by a non-owner. */
  badUnlock?: string;
  /** Default "user". */
  scope?: Scope;
  /** "inherit": priority inheritance (PTHREAD_PRIO_INHERIT; a mutex, errorcheck or recursive lock); default "none". */
  protocol?: "none" | "inherit";
  /**
   * A robust mutex (PTHREAD_MUTEX_ROBUST; a mutex, errorcheck or recursive
   * lock in "user" or "kernel" memory): when its owner dies holding it, the
   * next lock takes it with EOWNERDEAD (locks.ts). Default false.
   */
  robust?: boolean;
}

/** A process that exists when the run starts. */
export interface ProcSpec {
  name: string;
  /** Program of the main thread; when it ends, the process exits with 0. */
  main: Op[];
}

// ---- where ops were built ----------------------------------------------------------

/** The Error (for its stack) captured when each builder-made op or expression was made. */
const SITES = new WeakMap<object, Error>();

function site<T extends object>(x: T): T {
  SITES.set(x, new Error());
  return x;
}

/**
 * "file.ts:LINE" of the scenario code that built op `x` with a builder, or
 * null (built by hand, or the stack does not say). The first stack frame
 * outside src/kernel/ is taken.
 */
export function sourceOf(x: object): string | null {
  const stack = SITES.get(x)?.stack;
  if (!stack) return null;
  for (const line of stack.split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+?):(\d+):\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const path = m[1]!.replace(/^file:\/\//, "");
    if (/[\\/]src[\\/]kernel[\\/]/.test(path) || path.startsWith("node:") || path.includes("node_modules")) continue;
    return `${path.split(/[\\/]/).pop()}:${m[2]}`;
  }
  return null;
}

// ---- builders: the scenario API (each returns one op or expression) ---------------------

export const user = (label: string, n = 1): Op => site({ op: "user", label, n });
export const lock = (name: string): Op => site({ op: "lock", lock: name });
export const unlock = (name: string): Op => site({ op: "unlock", lock: name });
/** lock(), with the return code in register `reg` (0, or EDEADLK = 35 from an errorcheck mutex one already holds). */
export const lockChecked = (name: string, reg: string): Op => site({ op: "lock", lock: name, ret: reg });
/** unlock(), with the return code in register `reg` (0, or EPERM = 1 from an errorcheck mutex one does not hold). */
export const unlockChecked = (name: string, reg: string): Op => site({ op: "unlock", lock: name, ret: reg });
/** Take process `pid`'s copy of a "proc" lock (a lock in each process's kernel struct). */
export const lockOf = (name: string, pid: Expr | number): Op => site({ op: "lock", lock: name, of: x(pid) });
export const unlockOf = (name: string, pid: Expr | number): Op => site({ op: "unlock", lock: name, of: x(pid) });
export const restamp = (name: string): Op => site({ op: "restamp", lock: name });
export const malloc = (size: number): Op => site({ op: "malloc", size });
export const free = (size: number): Op => site({ op: "free", size });
export const atfork = (h: { prepare?: Op[]; parent?: Op[]; child?: Op[] }): Op =>
  site({
    op: "atfork",
    prepare: h.prepare ?? [],
    parent: h.parent ?? [],
    child: h.child ?? [],
  });
/** fork(); `{ pid: "reg" }` puts the child's pid in a register of the parent. */
export const fork = (child: Op[], o: { pid?: string } = {}): Op =>
  site(o.pid === undefined ? { op: "fork", child } : { op: "fork", child, pid: o.pid });
/** posix_spawn(program); `{ pid: "reg" }` puts the child's pid (its handle) in a register. */
export const spawn = (program: string, child: Op[], o: { pid?: string } = {}): Op =>
  site(defined({ op: "spawn", program, child, pid: o.pid }));
export const exec = (program: string, body: Op[]): Op => site({ op: "exec", program, body });
/**
 * pthread_create(body); `{ tid: "reg" }` puts its tid (its handle) in a
 * register; `{ detached: true }`; `{ prio, policy: "fifo" }` its scheduling.
 */
export const thread = (
  body: Op[],
  o: { tid?: string; detached?: boolean; prio?: number; policy?: SchedPolicy } = {},
): Op => site(defined({ op: "thread", body, tid: o.tid, detached: o.detached, prio: o.prio, policy: o.policy }));
export const exit = (code = 0): Op => site({ op: "exit", code });
/**
 * waitpid(): `"child"` (the last child forked or spawned), `"any"`, or a pid
 * (a handle: `r("child")`); `{ nohang: true }` is WNOHANG; `{ ret }` gets the
 * reaped pid, 0 (WNOHANG, none yet) or -ECHILD; `{ status }` the exit code.
 */
export const waitpid = (
  which: "child" | "any" | Expr | number = "child",
  o: { nohang?: boolean; ret?: string; status?: string } = {},
): Op =>
  site(
    defined(
      typeof which === "string"
        ? { op: "waitpid", which, nohang: o.nohang, ret: o.ret, status: o.status }
        : { op: "waitpid", which: "pid", pid: x(which), nohang: o.nohang, ret: o.ret, status: o.status },
    ),
  );
/** Read /proc/<pid>/<file>: procfs() the last child's status, procfs(r("child"), "stat") a handle's. */
export const procfs = (pidOrFile: Expr | number | ProcFile = "status", file: ProcFile = "status"): Op =>
  site(typeof pidOrFile === "string" ? { op: "procfs", file: pidOrFile } : { op: "procfs", file, pid: x(pidOrFile) });
/** pthread_join(tid); `{ ret }` gets 0 or the error, `{ status }` the thread's exit code. */
export const join = (tid: Expr | number, o: { ret?: string; status?: string } = {}): Op =>
  site(defined({ op: "join", tid: x(tid), ret: o.ret, status: o.status }));
/** pthread_detach(tid); `{ ret }` gets 0 or the error. */
export const detach = (tid: Expr | number, o: { ret?: string } = {}): Op =>
  site(defined({ op: "detach", tid: x(tid), ret: o.ret }));
export const repeat = (n: number, body: Op[]): Op => site({ op: "repeat", n, body });
export const call = (name: string, body: Op[] = []): Op => site({ op: "call", name, body });

/** A number becomes an int literal. */
function x(e: Expr | number): Expr {
  return typeof e === "number" ? site({ e: "int", v: e }) : e;
}
function ref(name: string, of?: Expr | number): VarRef {
  return of === undefined ? { name } : { name, of: x(of) };
}

// expressions
/** A variable's value (in an expression, a plain load). */
export const v = (name: string): Expr => site({ e: "var", name });
/** Process `pid`'s copy of a "proc" variable (a field of each process's kernel struct). */
export const vOf = (name: string, pid: Expr | number): Expr => site({ e: "var", name, of: x(pid) });
/** A register's value. */
export const r = (name: string): Expr => site({ e: "reg", name });
/** An integer literal (plain numbers work too wherever an Expr is taken). */
export const int = (value: number): Expr => site({ e: "int", v: value });
/** The empty pointer (None, NULL). */
export const none: Expr = { e: "none" };
const bin =
  (op: BinOp) =>
  (l: Expr | number, rr: Expr | number): Expr =>
    site({ e: "bin", op, l: x(l), r: x(rr) });
export const add = bin("+");
export const sub = bin("-");
export const mul = bin("*");
export const div = bin("/");
export const mod = bin("%");
export const eq = bin("==");
export const ne = bin("!=");
export const lt = bin("<");
export const le = bin("<=");
export const gt = bin(">");
export const ge = bin(">=");
export const and = bin("&&");
export const or = bin("||");
export const not = (e: Expr | number): Expr => site({ e: "not", x: x(e) });
export const isNone = (e: Expr): Expr => site({ e: "isNone", x: e });
export const isSome = (e: Expr): Expr => not(isNone(e));

// invariant atoms (see InvariantDecl)
/** x on the state before the event. */
export const before = (e: Expr): Expr => site({ e: "before", x: e });
/** 1 when the lock is held. */
export const held = (lock: string): Expr => site({ e: "held", lock });
/** The lock's owner tid, -1 when free. */
export const owner = (lock: string): Expr => site({ e: "owner", lock });
/** 1 when the event's kind matches (kind names or globs, comma-separated). */
export const evIs = (kinds: string): Expr => site({ e: "evIs", kinds });
/** The event's thread. */
export const evTid = (): Expr => site({ e: "evTid" });
/** A named field of the event (0 when its kind has none). */
export const evField = (name: string): Expr => site({ e: "evField", name });

/** A scenario's own invariant (build() returns them in `invariants`). */
export const invariant = (
  name: string,
  check: Expr,
  message: string,
  o: { on?: InvariantDecl["on"] } = {},
): InvariantDecl => site(o.on === undefined ? { name, check, message } : { name, check, message, on: o.on });

// shared state
/** reg = var; `{ atomic: true }` for an atomic (acquire) load. */
export const load = (reg: string, name: string, o: { of?: Expr | number; atomic?: boolean } = {}): Op =>
  site({ op: "load", reg, var: ref(name, o.of), atomic: o.atomic ?? false });
/** var = value; `{ atomic: true }` for an atomic (release) store. */
export const store = (name: string, value: Expr | number, o: { of?: Expr | number; atomic?: boolean } = {}): Op =>
  site({ op: "store", var: ref(name, o.of), value: x(value), atomic: o.atomic ?? false });
/** Atomic compare-and-swap; `{ reg }` gets the old value (it succeeded iff that equals expected). */
export const cas = (
  name: string,
  expected: Expr | number,
  desired: Expr | number,
  o: { reg?: string; of?: Expr | number } = {},
): Op =>
  site({
    op: "cas",
    ...(o.reg !== undefined ? { reg: o.reg } : {}),
    var: ref(name, o.of),
    expected: x(expected),
    desired: x(desired),
  });
/** Atomic fetch-and-add; `{ reg }` gets the old value. */
export const fetchAdd = (name: string, delta: Expr | number, o: { reg?: string; of?: Expr | number } = {}): Op =>
  site({ op: "fetchAdd", ...(o.reg !== undefined ? { reg: o.reg } : {}), var: ref(name, o.of), delta: x(delta) });
/** Atomic exchange; `{ reg }` gets the old value. */
export const xchg = (name: string, value: Expr | number, o: { reg?: string; of?: Expr | number } = {}): Op =>
  site({ op: "xchg", ...(o.reg !== undefined ? { reg: o.reg } : {}), var: ref(name, o.of), value: x(value) });
/** reg = value. */
export const set = (reg: string, value: Expr | number): Op => site({ op: "set", reg, value: x(value) });

// control flow
/** if (cond) then else otherwise. */
export const when = (cond: Expr, then: Op[], otherwise: Op[] = []): Op =>
  site({ op: "if", cond, then, else: otherwise });
/** while (cond) body, at most `max` iterations (a bound is required; Infinity is allowed). */
export const loopWhile = (cond: Expr, o: { max: number }, body: Op[]): Op =>
  site({ op: "while", cond, body, max: o?.max });
/** A system call: body runs in kernel mode. */
export const syscall = (name: string, body: Op[]): Op => site({ op: "syscall", name, body });

// checks
export const assert = (cond: Expr, message: string): Op => site({ op: "assert", cond, message });
export const bugOn = (cond: Expr, where: string): Op => site({ op: "bugOn", cond, where });
/** reg = value.unwrap(); `{ at: "file.rs:87" }` is printed in the panic like Rust's location. */
export const unwrap = (reg: string, value: Expr, o: { at?: string } = {}): Op =>
  site(o.at === undefined ? { op: "unwrap", reg, value } : { op: "unwrap", reg, value, at: o.at });

// objects
export const alloc = (reg: string, name: string): Op => site({ op: "alloc", reg, name });
export const dealloc = (value: Expr): Op => site({ op: "dealloc", value });
export const use = (value: Expr, label: string): Op => site({ op: "use", value, label });

// liveness
export const progress = (label = "progress"): Op => site({ op: "progress", label });

// memory ordering
/**
 * smp_mb() / mfence: a full barrier; under `rules: { memory: "tso" }` or
 * `"pso"` the thread's buffered stores reach memory first. `fence("store")`:
 * smp_wmb(), a store-store barrier: under pso the stores before it reach
 * memory before those after it (docs/SCENARIOS.md, "Memory models").
 */
export const fence = (kind?: "store"): Op => site(kind === undefined ? { op: "fence" } : { op: "fence", kind });

/** Keeps the keys of o whose value is defined (optional op fields stay absent, as the validator and the trace header expect). */
function defined<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  return o;
}

// futexes and the clock
/**
 * futex_wait(var, value): blocks while var holds value, until a futexWake;
 * `{ timeout: ns }` bounds the wait (ETIMEDOUT), `{ ret }` gets 0, EAGAIN
 * (var no longer held value), ETIMEDOUT or EINTR.
 */
export const futexWait = (
  name: string,
  value: Expr | number,
  o: { timeout?: Expr | number; ret?: string; of?: Expr | number } = {},
): Op =>
  site(
    defined({
      op: "futexWait",
      var: ref(name, o.of),
      value: x(value),
      timeout: o.timeout === undefined ? undefined : x(o.timeout),
      ret: o.ret,
    }),
  );
/** futex_wake(var, n): wakes up to n waiters (default 1; Infinity or a large n for all); `{ ret }` gets how many. */
export const futexWake = (name: string, n: Expr | number = 1, o: { ret?: string; of?: Expr | number } = {}): Op =>
  site(defined({ op: "futexWake", var: ref(name, o.of), n: x(n === Infinity ? 2 ** 31 - 1 : n), ret: o.ret }));
// synchronization built on futexes: declare the word, then use the ops
/** A condition variable's word (a sequence number signals bump): `vars: { cv: condvar() }`. */
export const condvar = (o: { scope?: Scope } = {}): VarDecl =>
  defined({ type: "int", sync: "condvar", scope: o.scope });
/** A semaphore's word (its count), starting at n: `vars: { items: semaphore(0) }`. */
export const semaphore = (n = 0, o: { scope?: Scope } = {}): VarDecl =>
  defined({ type: "int", init: n, sync: "semaphore", scope: o.scope });
/** A read-write lock's word (0 free, n readers, -1 a writer): `vars: { rw: rwlock() }`. */
export const rwlock = (o: { scope?: Scope } = {}): VarDecl => defined({ type: "int", sync: "rwlock", scope: o.scope });
/** A futex word used by hand-written synchronization (shown as a futex): `vars: { m: futexWord() }`. */
export const futexWord = (init = 0, o: { scope?: Scope } = {}): VarDecl =>
  defined({ type: "int", init, sync: "futex", scope: o.scope });
/** pthread_cond_wait(cv, mutex); `{ timeout: ns, ret }` for pthread_cond_timedwait (ret: 0 or ETIMEDOUT). */
export const cvWait = (cv: string, mutex: string, o: { timeout?: Expr | number; ret?: string } = {}): Op =>
  site(defined({ op: "cvWait", cv, mutex, timeout: o.timeout === undefined ? undefined : x(o.timeout), ret: o.ret }));
/** pthread_cond_signal(cv): wakes one waiter, if any (a signal nobody waits for is lost). */
export const cvSignal = (cv: string): Op => site({ op: "cvSignal", cv, all: false });
/** pthread_cond_broadcast(cv): wakes every waiter. */
export const cvBroadcast = (cv: string): Op => site({ op: "cvSignal", cv, all: true });
/** sem_wait(sem); `{ try: true }` sem_trywait (EAGAIN), `{ timeout: ns }` sem_timedwait (ETIMEDOUT); `{ ret }` gets 0 or the error. */
export const semWait = (sem: string, o: { try?: boolean; timeout?: Expr | number; ret?: string } = {}): Op =>
  site(
    defined({
      op: "semWait",
      sem,
      try: o.try,
      timeout: o.timeout === undefined ? undefined : x(o.timeout),
      ret: o.ret,
    }),
  );
/** sem_post(sem). */
export const semPost = (sem: string): Op => site({ op: "semPost", sem });
/** pthread_rwlock_rdlock(rw); `{ try: true }` tryrdlock (EBUSY); `{ ret }` gets 0 or EBUSY. */
export const rdlock = (rw: string, o: { try?: boolean; ret?: string } = {}): Op =>
  site(defined({ op: "rwLock", rw, write: false, try: o.try, ret: o.ret }));
/** pthread_rwlock_wrlock(rw); `{ try: true }` trywrlock (EBUSY). */
export const wrlock = (rw: string, o: { try?: boolean; ret?: string } = {}): Op =>
  site(defined({ op: "rwLock", rw, write: true, try: o.try, ret: o.ret }));
/** pthread_rwlock_unlock(rw); `{ ret }` gets 0 or EPERM when it is not held. */
export const rwUnlock = (rw: string, o: { ret?: string } = {}): Op => site(defined({ op: "rwUnlock", rw, ret: o.ret }));
/** pthread_mutex_trylock(m) (or spin_trylock): `{ ret }` gets 0 (taken) or EBUSY. */
export const trylock = (name: string, o: { ret?: string } = {}): Op =>
  site(defined({ op: "trylock", lock: name, ret: o.ret }));
/** pthread_mutex_consistent(m): after EOWNERDEAD, mark the robust mutex consistent; `{ ret }` gets 0 or EINVAL. */
export const consistent = (name: string, o: { ret?: string } = {}): Op =>
  site(defined({ op: "consistent", lock: name, ret: o.ret }));

// signals
/** A signal by name ("SIGUSR1") or number; an unknown name stays a string for the validator to name. */
function sigOf(sig: number | string): number | string {
  return typeof sig === "number" ? sig : (SIG[sig] ?? sig);
}
/** kill(pid, sig) (pid: a handle, e.g. r("child")); `{ ret }` gets 0, ESRCH or EINVAL. */
export const kill = (pid: Expr | number, sig: number | string, o: { ret?: string } = {}): Op =>
  site(defined({ op: "kill", pid: x(pid), sig: sigOf(sig), ret: o.ret }));
/** pthread_kill(tid, sig): to one thread; `{ ret }` as kill's. */
export const tkill = (tid: Expr | number, sig: number | string, o: { ret?: string } = {}): Op =>
  site(defined({ op: "tkill", tid: x(tid), sig: sigOf(sig), ret: o.ret }));
/** raise(sig): to the calling thread. */
export const raise = (sig: number | string): Op => site({ op: "tkill", sig: sigOf(sig) });
/**
 * sigaction(sig, action): "default", "ignore", or a handler program (run on
 * the thread that takes the signal, with the signal blocked meanwhile);
 * `{ name }` labels the handler, `{ restart: true }` installs it with
 * SA_RESTART (a read, write, waitpid or untimed futex wait it interrupts is
 * restarted instead of failing with EINTR), `{ ret }` gets 0 or EINVAL (SIGKILL).
 */
export const sigaction = (
  sig: number | string,
  action: "default" | "ignore" | Op[],
  o: { name?: string; restart?: boolean; ret?: string } = {},
): Op =>
  site(
    defined(
      typeof action === "string"
        ? { op: "sigaction", sig: sigOf(sig), action, ret: o.ret }
        : {
            op: "sigaction",
            sig: sigOf(sig),
            action: "handler" as const,
            handler: action,
            name: o.name,
            restart: o.restart,
            ret: o.ret,
          },
    ),
  );
/** pthread_sigmask(how, sigs): "block", "unblock" or "set" the calling thread's blocked signals (one signal, or a list). */
export const sigmask = (how: "block" | "unblock" | "set", sigs: (number | string)[] | number | string): Op =>
  site({ op: "sigmask", how, sigs: (Array.isArray(sigs) ? sigs : [sigs]).map(sigOf) });

/** pause(): wait for a signal. */
export const pause = (): Op => site({ op: "pause" });
/**
 * sigsuspend(sigs): set the calling thread's mask to sigs (one signal or a
 * list; [] unblocks all) and wait for a signal, atomically: the race of
 * `while (!flag) pause();` (a signal between the check and the pause) cannot
 * happen with the signal blocked around the check. After the handler, the
 * mask is what it was; `{ ret }` gets EINTR.
 */
export const sigsuspend = (sigs: (number | string)[] | number | string, o: { ret?: string } = {}): Op =>
  site(defined({ op: "sigsuspend", sigs: (Array.isArray(sigs) ? sigs : [sigs]).map(sigOf), ret: o.ret }));
/**
 * sigwait(sigs) (one signal or a list); `{ timeout }` (ns): sigtimedwait.
 * `{ ret }` gets the number of the signal taken, or -EAGAIN (-11) when the
 * timeout ends the wait. Block the signals in every thread first (sigmask
 * before creating threads): one a thread does not block may go to it.
 */
export const sigwait = (
  sigs: (number | string)[] | number | string,
  o: { ret?: string; timeout?: Expr | number } = {},
): Op =>
  site(
    defined({
      op: "sigwait",
      sigs: (Array.isArray(sigs) ? sigs : [sigs]).map(sigOf),
      ret: o.ret,
      timeout: o.timeout === undefined ? undefined : x(o.timeout),
    }),
  );

/**
 * prctl(PR_SET_PDEATHSIG, sig): when the thread that forked the calling
 * process exits (the thread, not the process: a pool thread that forks a
 * helper and exits kills it), the kernel sends sig to this process. 0 clears
 * it. Per thread; a fork's child starts with none; once the parent is gone
 * (the process adopted by init) nothing re-arms it: check getppid() after
 * setting it. `{ ret }` gets 0 or EINVAL (a signal not modelled).
 */
export const setPdeathsig = (sig: number | string, o: { ret?: string } = {}): Op =>
  site(defined({ op: "setPdeathsig", sig: sigOf(sig), ret: o.ret }));
/** getpid(): the calling process's pid into register reg. */
export const getpid = (reg: string): Op => site({ op: "getpid", reg, parent: false });
/** getppid(): the calling process's parent's pid into register reg (1 once init adopted it). */
export const getppid = (reg: string): Op => site({ op: "getpid", reg, parent: true });

// file descriptors and pipes
/**
 * pipe(): `{ read: "r", write: "w" }` name the registers that get the two
 * descriptors; `{ cloexec: true }` is pipe2(O_CLOEXEC); `{ cap }` the buffer
 * size in bytes (default params.PIPE_CAPACITY).
 */
export const pipe = (o: { read: string; write: string; cloexec?: boolean; cap?: number }): Op =>
  site(defined({ op: "pipe", read: o.read, write: o.write, cloexec: o.cloexec, cap: o.cap }));
/** close(fd); `{ ret }` gets 0 or EBADF. */
export const close = (fd: Expr | number, o: { ret?: string } = {}): Op =>
  site(defined({ op: "close", fd: x(fd), ret: o.ret }));
/** dup(fd) into register reg; `{ cloexec: true }` is F_DUPFD_CLOEXEC. */
export const dup = (fd: Expr | number, reg: string, o: { cloexec?: boolean } = {}): Op =>
  site(defined({ op: "dup", fd: x(fd), reg, cloexec: o.cloexec }));
/** dup2(fd, to): `to` now refers to what fd does (closed first if open; without close-on-exec); reg gets `to` or -EBADF. */
export const dup2 = (fd: Expr | number, to: Expr | number, reg: string): Op =>
  site({ op: "dup", fd: x(fd), reg, to: x(to) });
/** fcntl(fd, F_SETFD, FD_CLOEXEC or 0). */
export const cloexec = (fd: Expr | number, on = true, o: { ret?: string } = {}): Op =>
  site(defined({ op: "fcntl", fd: x(fd), cloexec: on, ret: o.ret }));
/** write(fd, n bytes); `{ ret }` gets the count or -errno. */
export const write = (fd: Expr | number, n: Expr | number, o: { ret?: string; nonblock?: boolean } = {}): Op =>
  site(defined({ op: "write", fd: x(fd), n: x(n), ret: o.ret, nonblock: o.nonblock }));
/**
 * read(fd, up to n bytes); `{ ret }` gets the count (0 at end of file) or -errno. `{ nonblock: true }` (for
 * read and write): the call does not wait, as on an O_NONBLOCK descriptor: -EAGAIN where it would block.
 */
export const read = (fd: Expr | number, n: Expr | number, o: { ret?: string; nonblock?: boolean } = {}): Op =>
  site(defined({ op: "read", fd: x(fd), n: x(n), ret: o.ret, nonblock: o.nonblock }));

// priorities
/** sched_setscheduler for the calling thread: `setPriority(30, "fifo")`; `setPriority(0)` back to the default class. */
export const setPriority = (prio: number, policy: SchedPolicy = prio > 0 ? "fifo" : "other"): Op =>
  site({ op: "setPriority", prio, policy });

/** nanosleep(ns) of virtual time; `{ ret }` gets 0 or EINTR. */
export const sleep = (ns: Expr | number, o: { ret?: string } = {}): Op =>
  site(defined({ op: "sleep", ns: x(ns), ret: o.ret }));
