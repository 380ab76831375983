// The simulator: decides what happens next and says it as events.
//
// Each step, the cpu with the lowest virtual clock that can act runs one step
// of its current thread (or switches, or runs cleanup a dead thread left).
// Every state change is apply.ts's fold of an event (emit below: applyEvent,
// or for the hottest kinds the parts of it that kind runs, applyInert,
// acquired, released, on the objects at hand: emitInert, emitAcquire,
// emitRelease); the simulator's own data (interpreter frames, run queue,
// clocks, thread-cache contents; ctx.ts) only decides which event comes next. Every nondeterministic choice
// goes through a Chooser (sched.ts): the seeded random one by default.
//
// The kernel paths live one file per subsystem, each function taking this
// Simulator as its first argument (as xv6's functions take the proc table):
//   sched.ts   run queue, switches, the Chooser seam
//   interp.ts  the op interpreter
//   proc.ts    fork, spawn, exec, threads, exit, waitpid, abort
//   locks.ts   locks, and the one "owner alive" rule
//   alloc.ts   the tcmalloc model
//   vm.ts      kernel stacks, VMARs, procfs
//   mem.ts     variables, registers, expressions, objects, assert/BUG_ON/unwrap
//   lower.ts   variable reads in expressions become load steps
//   futex.ts   futexes, sleeps, the virtual clock's timers
//   sync.ts    condition variables, semaphores, rwlocks, trylock (on futexes)
//   signal.ts  signals: actions, masks, pending sets, delivery
//   fd.ts      file descriptors and pipes
//   prio.ts    priorities: the scheduling policy, priority inheritance
//   wait.ts    who can end a wait; threads that can never run again
//   tso.ts     the tso and pso memory models: store buffers and their drains

import { emptyCache } from "./alloc.ts";
import { acquired, applyEvent, applyInert, released } from "./apply.ts";
import {
  type Frame,
  followedBy,
  newPCtx,
  type PCtx,
  SimError,
  STALL,
  type TCtx,
  userFrame,
  withExit,
  type XOp,
} from "./ctx.ts";
import { ev } from "./events.ts";
import { fireTimer, nextTimer, type Timer } from "./futex.ts";
import { runThread } from "./interp.ts";
import { lower } from "./lower.ts";
import { COST, FIRST_PID, PROGRESS_WINDOW } from "./params.ts";
import { rank, rankedThreads } from "./prio.ts";
import type { Rng } from "./prng.ts";
import { exited, exitThread, type ThreadHandle } from "./proc.ts";
import type { LockDecl, Op, ProcSpec, VarDecl } from "./program.ts";
import {
  type Chooser,
  dequeue,
  RandomChooser,
  randomChooser,
  randomDrain,
  randomJitter,
  schedView,
  shouldPreempt,
  switchAway,
  wakeBlocked,
} from "./sched.ts";
import { initState } from "./state.ts";
import { commitOne, drainChoice } from "./tso.ts";
import {
  buffersStores,
  type KConfig,
  type KEvent,
  KIND,
  type KState,
  type Lock,
  OUTCOME_KINDS,
  reordersStores,
  type Thread,
} from "./types.ts";
import { allocKstack, checkStack } from "./vm.ts";
import { describeWait } from "./wait.ts";

export { SimError } from "./ctx.ts";

/** Everything a run starts from: kernel rules, lock declarations, initial processes. */
export interface World {
  config: KConfig;
  /** Locks by name; an undeclared lock is a user mutex. */
  locks: Record<string, LockDecl>;
  /** Shared variables by name (absent: none). */
  vars?: Record<string, VarDecl>;
  /** Processes at boot; the first is init (pid 1) and adopts orphans. */
  procs: ProcSpec[];
  /** tid of the first thread (default 1); later tids count up from it. */
  firstTid?: number;
  /** Events without a progress event after which a run cut by the budget is a livelock (default params.PROGRESS_WINDOW). */
  progressWindow?: number;
}

export interface SimOptions {
  seed: number;
  /** The run ends with outcome `budget` after this many events. */
  maxEvents: number;
  /** Sees every event just before it is applied, with the state before it (invariant pre-checks). */
  before?: Sink;
  /** Makes the run's nondeterministic choices; default randomChooser(seed). */
  chooser?: Chooser;
  /**
   * The sinks keep no event past their call (the trace writer copies each
   * into its columns): the hottest kinds' events may then be one object,
   * refilled for each (emitSlots). Always so when there is no sink.
   */
  transientEvents?: boolean;
}

/** Receives every event right after it was applied; `state` is the state after it. */
export type Sink = (ev: KEvent, state: KState) => void;

export class Simulator {
  readonly state: KState;
  readonly world: World;
  readonly chooser: Chooser;
  /** The default random chooser's generator, asked directly (the same draws as through `chooser`); null under any other strategy. */
  readonly rng: Rng | null;
  private readonly maxEvents: number;
  private readonly sink: Sink | undefined;
  private readonly before: Sink | undefined;
  /** Virtual time of each cpu. */
  readonly clock: number[];
  /** Kernel work queued on each cpu, run before its next thread step (deferred stack frees). */
  readonly pending: (() => void)[][];
  /** Interpreter context of each live thread. */
  readonly threads = new Map<number, TCtx>();
  /** User-space context of each process. */
  readonly procs = new Map<number, PCtx>();
  /** Threads switched out blocked, waiting to be woken. */
  readonly blocked = new Set<number>();
  /** Run queue (tids), FIFO unless the chooser picks otherwise. */
  rq: number[] = [];
  /** Scratch list of ready tids handed to the chooser. */
  readonly ready: number[] = [];
  nextPid = FIRST_PID;
  nextTid: number;
  nextKstack = 0;
  /** Freed kernel stack ids, lowest first. */
  freeKstacks: number[] = [];
  /** Ids of the "kernel" variables and locks, by name. */
  readonly kernelVars = new Map<string, number>();
  readonly kernelLocks = new Map<string, number>();
  /** Whether the world declares a robust mutex (a thread's death then looks for the ones it holds: robustDeath). */
  readonly robustLocks: boolean;
  /** Whether some live thread ranks above the default class (prio.ts): the scheduling policy applies. */
  ranked = false;
  /** The live threads ranked above the default class (prio.ts's rankedThreads), while `ranked`. */
  readonly rankedTids: number[] = [];
  /** Whether any thread's scheduling was ever set (only then is `ranked` recomputed). */
  private rankedEver = false;
  /** Signals pending anywhere (signal.ts keeps it; delivery is checked only while it is not 0). */
  sigPending = 0;
  /** Whether any thread ever set a parent-death signal (proc.ts: a thread's exit then looks for the children it arms). */
  pdeathArmed = false;
  /** The thread each process-directed signal was sent for, by the seq of its signal event (signal.ts: send, takerOf). */
  readonly sigTargets = new Map<number, number>();
  /** pthread handles of the threads `thread` created, by tid (join, detach); a joined one goes. */
  readonly handles = new Map<number, ThreadHandle>();
  /** tids joined lately (proc.ts: JOINED_KEPT), in join order. */
  readonly joined = new Set<number>();
  /** threadProgram's arrays, by body. */
  private readonly threadPrograms = new WeakMap<readonly Op[], XOp[]>();
  /** malloc's slow paths as ops, by size (alloc.ts). */
  readonly mallocPaths = { slowTls: new Map<number, XOp[]>(), refill: new Map<number, XOp[]>() };
  /** Timers of timed waits and sleeps, earliest first (futex.ts). */
  readonly timers: Timer[] = [];
  private lastTime = 0;
  /** Whether the world runs under the tso or pso memory model (KConfig.memory): threads buffer their stores (tso.ts). */
  readonly storeBuffers: boolean;
  /** Whether it is pso: a buffered store may commit before an older one to another variable (tso.ts). */
  readonly pso: boolean;
  /** Whether a touch of a freed kernel stack can fault (KConfig.stackCheck not silent): only then does stepCpu call checkStack. */
  private readonly stackChecked: boolean;
  /** The object emitSlots refills, when events are transient (SimOptions.transientEvents); null otherwise. */
  private readonly spare: KEvent | null;
  /** Hooks running that emit while their event is still needed (post): emitSlots refills `spare` only at 0. */
  private posting = 0;
  /** Whether the programs mark progress at all (then a budget end may be a livelock). */
  private readonly marksProgress: boolean;
  /** seq of the last progress event, -1 before any. */
  private lastProgress = -1;
  /** What a thread runs after its body: pthread_exit. */
  readonly threadEnd: XOp[] = [
    { op: "$", run: (t, c) => exitThread(this, t, c, this.procs.get(t.pid)?.groupCode ?? 0, false) },
  ];

  constructor(world: World, opts: SimOptions, sink?: Sink) {
    this.world = world;
    this.state = initState(world.config);
    this.chooser = opts.chooser ?? randomChooser(opts.seed);
    this.rng = this.chooser instanceof RandomChooser ? this.chooser.rng : null;
    this.maxEvents = Math.max(2, opts.maxEvents);
    this.sink = sink;
    this.before = opts.before;
    this.clock = world.config.cpus > 0 ? new Array(world.config.cpus).fill(0) : [];
    this.pending = this.clock.map(() => []);
    this.stackChecked = world.config.stackCheck !== "silent";
    this.storeBuffers = buffersStores(world.config);
    this.pso = reordersStores(world.config);
    this.nextTid = world.firstTid ?? 1;
    this.marksProgress = marksProgress(world);
    this.robustLocks = Object.values(world.locks ?? {}).some((d) => d.robust === true);
    this.spare =
      opts.transientEvents === true || (sink === undefined && opts.before === undefined)
        ? { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" }
        : null;
    this.chooser.attach?.(schedView(this));
  }

  // ---- events -------------------------------------------------------------

  /**
   * Emits e (built by an `ev.*` constructor) as the next event, on cpu by
   * tid (-1 for none): stamps seq and time, shows it to the before-sink,
   * applies it, shows it to the sink, and wakes threads it made runnable.
   */
  emit(cpu: number, tid: number, e: KEvent): void {
    const t = cpu >= 0 ? Math.max(this.lastTime, this.clock[cpu]!) : this.lastTime;
    this.lastTime = t;
    e.seq = this.state.seq + 1;
    e.time = t;
    e.cpu = cpu;
    e.tid = tid;
    this.post(e);
  }

  /**
   * emit(), for the hottest kinds (user, malloc, free, lock-acquire,
   * lock-release, switch: ~90% of a typical run's events), with the kind's
   * slots given in the order EVENT_KINDS lists its fields: the event is
   * built whole, without the named-fields object of an `ev.*` constructor,
   * and with transient events (SimOptions) without any new object.
   */
  emitSlots(cpu: number, tid: number, kind: number, a: number, b: number, c: number, s: string): void {
    this.post(this.stamp(cpu, tid, kind, a, b, c, s));
  }

  /**
   * emitSlots() for the kinds whose fold is applyInert's alone (INERT_KINDS)
   * and that have no hook: user, kwork, malloc, free (two events in three).
   * The same event, before-sink, fold and sink; without applyEvent's switch
   * over the kinds and the hook's test, which the caller knows the answer of.
   */
  emitInert(cpu: number, tid: number, kind: InertKind, a: number, b: number, s: string): void {
    const e = this.stamp(cpu, tid, kind, a, b, 0, s);
    const state = this.state;
    if (this.before) this.before(e, state);
    // applyEvent's first step, and all it does for these kinds (it throws the error when the event does not fit).
    if (!applyInert(state, e.seq, e.time)) applyEvent(state, e);
    if (this.sink) this.sink(e, state);
  }

  /**
   * emitSlots() of lock-acquire (lock, level, inferred: `how`) by th (the Thread of tid), with
   * the fold done here on the objects at hand (apply.ts's acquired(), which
   * applyEvent's case calls after looking them up), then post's hook.
   */
  emitAcquire(cpu: number, tid: number, l: Lock, th: Thread, level: number, how = 0): void {
    const e = this.stamp(cpu, tid, KIND.lockAcquire, l.id, level, how, "");
    const state = this.state;
    if (this.before) this.before(e, state);
    if (!applyInert(state, e.seq, e.time)) applyEvent(state, e);
    acquired(state, l, th, e.seq, level);
    if (this.sink) this.sink(e, state);
    if (this.rankedEver) this.after(e, H_RERANK, cpu, tid);
  }

  /** emitSlots() of lock-release (lock, level), folded as emitAcquire's (released()), then post's hook (wakeBlocked). */
  emitRelease(cpu: number, tid: number, l: Lock, level: number): void {
    const e = this.stamp(cpu, tid, KIND.lockRelease, l.id, level, 0, "");
    const state = this.state;
    if (this.before) this.before(e, state);
    if (!applyInert(state, e.seq, e.time)) applyEvent(state, e);
    released(state, l, e.seq, level);
    if (this.sink) this.sink(e, state);
    this.after(e, H_WAKE_BLOCKED, cpu, tid);
  }

  /** The next event (emitSlots's, without posting it): the spare object when free, else a new one. */
  private stamp(cpu: number, tid: number, kind: number, a: number, b: number, c: number, s: string): KEvent {
    const t = cpu >= 0 ? Math.max(this.lastTime, this.clock[cpu]!) : this.lastTime;
    this.lastTime = t;
    const e = this.spare;
    if (e === null || this.posting > 0) return { seq: this.state.seq + 1, time: t, cpu, tid, kind, a, b, c, s };
    e.seq = this.state.seq + 1;
    e.time = t;
    e.cpu = cpu;
    e.tid = tid;
    e.kind = kind;
    e.a = a;
    e.b = b;
    e.c = c;
    e.s = s;
    return e;
  }

  /** Shows e (stamped) to the before-sink, applies it, shows it to the sink, runs its kind's hook. */
  private post(e: KEvent): void {
    const cpu = e.cpu;
    const tid = e.tid;
    if (this.before) this.before(e, this.state);
    applyEvent(this.state, e);
    if (this.sink) this.sink(e, this.state);
    // What the simulator does after some kinds (most do nothing: one table load).
    const hook = HOOK[e.kind]!;
    // H_RERANK's only work is for worlds where some thread's scheduling was set.
    if (hook !== 0 && (hook !== H_RERANK || this.rankedEver)) this.after(e, hook, cpu, tid);
  }

  /**
   * post's work after an event whose kind has a hook. Out of post's body:
   * post is inlined into every emitting path by the optimizing JIT, and this
   * switch would be compiled again in each.
   */
  private after(e: KEvent, hook: number, cpu: number, tid: number): void {
    switch (hook) {
      case H_WAKE_BLOCKED:
        wakeBlocked(this);
        break;
      case H_PROGRESS:
        this.lastProgress = e.seq;
        return;
      case H_WAKE:
        if (this.blocked.delete(e.a)) this.rq.push(e.a);
        return;
      case H_THREAD_EXIT:
        if (this.handles.size > 0) {
          // It emits (wakes, SIGCHLD) while e is still needed below.
          this.posting++;
          exited(this, cpu, tid, e.a, e.b);
          this.posting--;
        }
        break;
      case H_SCHED_SET:
        this.rankedEver = true;
        break;
      case H_RELEASE: {
        // The state dropped the thread: its context (if it still has one) no longer points at it.
        const t = this.threads.get(e.a);
        if (t !== undefined) t.th = undefined;
        break;
      }
    }
    if (this.rankedEver && RERANK[e.kind] === 1) this.rerank(e);
  }

  /** After an event that may change who ranks above 0: a sched-set, a thread leaving, a wait or hand-over of a priority-inheriting lock. */
  private rerank(e: KEvent): void {
    const k = e.kind;
    if (k === KIND.lockAcquire || k === KIND.lockRelease) {
      // Taking or releasing a priority-inheriting lock changes the boost of its taker or releaser only.
      if (this.state.locks.get(e.a)?.pi !== true) return;
      const th = this.state.threads.get(e.tid);
      const i = this.rankedTids.indexOf(e.tid);
      const ranks = th !== undefined && th.state !== "exited" && rank(th) > 0;
      if (ranks && i < 0) this.rankedTids.push(e.tid);
      else if (!ranks && i >= 0) this.rankedTids.splice(i, 1);
    } else if (k === KIND.lockWait && this.state.locks.get(e.a)?.pi !== true) return;
    else rankedThreads(this.state, this.rankedTids);
    this.ranked = this.rankedTids.length > 0;
  }

  /** The virtual time of an event emitted now on cpu. */
  now(cpu: number): number {
    return Math.max(this.lastTime, this.clock[cpu]!);
  }

  /** The chooser's answer to "does tid's oldest buffered store (pso: to variable v; tso: v -1) reach memory now?" (tso.ts's drainChoice asks it), drawn directly under the random strategy. */
  drainNow(cpu: number, tid: number, v: number): boolean {
    const rng = this.rng;
    return rng !== null ? randomDrain(rng) : this.chooser.drain(cpu, tid, v);
  }

  /** Advances cpu's clock by the cost of the step it just ran, with the chooser's jitter. */
  cost(base: number, cpu: number): void {
    const rng = this.rng;
    this.clock[cpu]! += base * (rng !== null ? randomJitter(rng) : this.chooser.jitter(cpu));
  }

  /** What a thread created with `body` runs: body, then threadEnd (one array per body, so its op codes are made once). */
  threadProgram(body: readonly Op[]): XOp[] {
    return followedBy(this.threadPrograms, body, this.threadEnd);
  }

  newCtx(tid: number, pid: number, frames: Frame[], tc: number[]): TCtx {
    const t: TCtx = {
      tid,
      pid,
      proc: this.procs.get(pid)!,
      th: this.state.threads.get(tid),
      frames,
      killed: false,
      tc,
      cached: false,
      blockedAt: -1,
      blockedUntil: -1,
      handledAt: -1,
      wrote: -1,
      restartUntil: -1,
      sigwaitSet: 0,
    };
    this.threads.set(tid, t);
    return t;
  }

  // ---- run ----------------------------------------------------------------

  /** Runs to the end (ok, fatal/panic/hang, or budget). Returns the final state. */
  run(): KState {
    this.boot();
    const order = this.clock.map((_, i) => i);
    const clock = this.clock;
    const n = clock.length;
    while (!this.state.ended) {
      if (this.state.seq + 2 >= this.maxEvents) {
        this.budgetEnd();
        break;
      }
      if (n === 0) {
        this.finish();
        break;
      }
      // The cpu with the lowest clock (then id) acts first: it nearly always can (order[0] below, without the sort).
      let first = 0;
      for (let c = 1; c < n; c++) if (clock[c]! < clock[first]!) first = c;
      if (this.timers.length > 0 && fireTimer(this, first)) continue;
      const before = clock[first]!;
      if (this.stepCpu(first)) continue;
      // It could not: the others in clock order (as sorted before its step, which may have moved its clock).
      const after = clock[first]!;
      clock[first] = before;
      this.byClock(order);
      clock[first] = after;
      let acted = -1;
      for (let i = 1; i < n; i++) {
        const c = order[i]!;
        if (this.stepCpu(c)) {
          acted = c;
          break;
        }
      }
      if (acted < 0) {
        // Nothing can run: an idle cpu sleeps until the next timer, if any.
        const x = nextTimer(this);
        if (x !== undefined && order.length > 0) {
          const c = order[0]!;
          if (this.clock[c]! < x.until) this.clock[c] = x.until;
          continue;
        }
        this.finish();
        break;
      }
      // CPUs that could not act waited until now.
      for (const c of order) {
        if (c === acted) break;
        if (this.clock[c]! < this.lastTime) this.clock[c] = this.lastTime;
      }
    }
    return this.state;
  }

  /** Sorts cpu ids by virtual clock, then id (insertion sort: a handful of cpus, no allocation). */
  private byClock(order: number[]): void {
    const clock = this.clock;
    for (let i = 1; i < order.length; i++) {
      const c = order[i]!;
      let j = i - 1;
      while (j >= 0 && (clock[order[j]!]! > clock[c]! || (clock[order[j]!]! === clock[c]! && order[j]! > c))) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = c;
    }
  }

  /** Creates the world's processes (proc-new, thread-new, kstack-alloc each) and queues their threads. */
  private boot(): void {
    if (this.world.procs.length === 0) throw new SimError("the scenario starts no process");
    for (const spec of this.world.procs) {
      const pid = this.nextPid++;
      const tid = this.nextTid++;
      this.emit(-1, -1, ev.procNew({ pid, ppid: 0, name: spec.name }));
      this.procs.set(pid, newPCtx(pid));
      this.emit(-1, -1, ev.threadNew({ tid, pid, ident: tid }));
      this.newCtx(tid, pid, [userFrame(withExit(lower(spec.main)))], emptyCache());
      allocKstack(this, -1, -1, tid);
      this.rq.push(tid);
    }
  }

  /**
   * One step of cpu c; false when c can do nothing now. In order: a fault on
   * a freed stack; cleanup queued on the cpu; an idle cpu takes the next
   * ready thread; a blocked or finished thread leaves the cpu; a preemption;
   * under tso or pso the commit of one of the thread's buffered stores, when
   * the chooser says so (tso.ts's drainChoice); else one step of the thread.
   */
  private stepCpu(c: number): boolean {
    const cpu = this.state.cpus[c]!;
    if (cpu.tid >= 0 && this.stackChecked && checkStack(this, c)) return true;
    const p = this.pending[c]!;
    if (p.length > 0) {
      p.shift()!();
      this.cost(COST.kernel, c);
      return true;
    }
    if (cpu.tid < 0) {
      const next = dequeue(this, c);
      if (next < 0) return false;
      this.emitSlots(c, -1, KIND.switch, -1, next, 0, ""); // from, to
      this.cost(COST.switch, c);
      return true;
    }
    const t = this.threads.get(cpu.tid);
    const th = t?.th; // state.threads.get(cpu.tid), kept on its context
    // An exited thread still runs the rest of its exit path, then leaves the cpu.
    if (!th || !t || th.state === "blocked" || (th.state === "exited" && !hasWork(t))) {
      switchAway(this, c, cpu.tid);
      return true;
    }
    const top = t.frames[t.frames.length - 1];
    if (top !== undefined && !top.kernel && this.rq.length > 0 && shouldPreempt(this, c, th)) {
      switchAway(this, c, cpu.tid);
      return true;
    }
    // tso, pso: whether a buffered store reaches memory now, and under pso which, is the chooser's (the commit is the step).
    if (this.storeBuffers && th.stores !== undefined) {
      const i = drainChoice(this, c, th);
      if (i >= 0) {
        commitOne(this, c, th, i);
        this.cost(COST.user, c);
        return true;
      }
    }
    const r = runThread(this, t, c);
    if (r === STALL) {
      this.clock[c]! += COST.spin;
      return false;
    }
    return true;
  }

  /**
   * The budget ran out: end with outcome budget, or livelock when the
   * programs mark progress and none came in the last progress window (every
   * thread still running only spins or retries).
   */
  private budgetEnd(): void {
    const window = Math.max(1, Math.min(this.world.progressWindow ?? PROGRESS_WINDOW, Math.floor(this.maxEvents / 2)));
    const quiet = this.state.seq - this.lastProgress;
    if (!this.marksProgress || quiet < window) {
      this.emit(
        -1,
        -1,
        ev.end({
          outcome: OUTCOME_KINDS.indexOf("budget"),
          message: `stopped after ${this.maxEvents} events (--max-events)`,
        }),
      );
      return;
    }
    const who: string[] = [];
    for (const th of this.state.threads.values()) {
      if (th.state === "exited") continue;
      who.push(
        th.state === "runnable" || th.state === "running"
          ? `tid ${th.tid} (pid ${th.pid}) keeps running`
          : describeWait(this.state, th),
      );
    }
    const since = this.lastProgress < 0 ? "no progress in the whole run" : `no progress since seq ${this.lastProgress}`;
    this.emit(
      -1,
      -1,
      ev.end({
        outcome: OUTCOME_KINDS.indexOf("livelock"),
        progress: this.lastProgress,
        message: `livelock: ${since} (${quiet} events); ${who.join("; ")}`,
      }),
    );
  }

  /** No cpu can act: the run is over, cleanly (end) or hung (hang, then end). */
  private finish(): void {
    const waits: string[] = [];
    for (const th of this.state.threads.values()) {
      if (th.state === "exited") continue;
      waits.push(describeWait(this.state, th));
    }
    if (waits.length === 0) {
      const o = this.state.outcome;
      this.emit(
        -1,
        -1,
        ev.end({ outcome: OUTCOME_KINDS.indexOf(o ? o.kind : "ok"), message: o ? o.message : "all threads exited" }),
      );
      return;
    }
    const msg = waits.join("; ");
    this.emit(-1, -1, ev.hang({ message: msg }));
    const o = this.state.outcome!;
    this.emit(-1, -1, ev.end({ outcome: OUTCOME_KINDS.indexOf(o.kind), message: o.message }));
  }
}

/** Drops finished frames; true while t has something left to run. */
function hasWork(t: TCtx): boolean {
  for (;;) {
    const f = t.frames[t.frames.length - 1];
    if (!f) return false;
    if (f.pc < f.ops.length || f.left > 0) return true;
    t.frames.pop();
  }
}

/** Kinds after which whether any thread ranks above 0 may have changed. */
const RERANK = new Uint8Array(128);
for (const k of [
  KIND.schedSet,
  KIND.threadExit,
  KIND.threadRelease,
  KIND.reap,
  KIND.lockWait,
  KIND.lockAcquire,
  KIND.lockRelease,
])
  RERANK[k] = 1;

/** The kinds emitInert takes: INERT_KINDS without a hook. */
type InertKind = typeof KIND.user | typeof KIND.kwork | typeof KIND.malloc | typeof KIND.free;

/** emit's work after an event, by kind (0: none). */
const H_WAKE_BLOCKED = 1;
const H_PROGRESS = 2;
const H_WAKE = 3;
const H_THREAD_EXIT = 4;
const H_SCHED_SET = 5;
const H_RERANK = 6;
const H_RELEASE = 7;
const HOOK = new Uint8Array(128);
for (const k of [KIND.lockWait, KIND.lockAcquire]) HOOK[k] = H_RERANK;
HOOK[KIND.threadRelease] = H_RELEASE;
for (const k of [KIND.lockRelease, KIND.procExit, KIND.reap, KIND.lockRobust]) HOOK[k] = H_WAKE_BLOCKED;
HOOK[KIND.progress] = H_PROGRESS;
HOOK[KIND.wake] = H_WAKE;
HOOK[KIND.threadExit] = H_THREAD_EXIT;
HOOK[KIND.schedSet] = H_SCHED_SET;

const progressCache = new WeakMap<World, boolean>();

/** Whether any program of the world has a progress op. */
function marksProgress(world: World): boolean {
  let v = progressCache.get(world);
  if (v === undefined) {
    const seen = (ops: readonly Op[]): boolean =>
      ops.some((o) => {
        switch (o.op) {
          case "progress":
            return true;
          case "repeat":
          case "call":
          case "exec":
          case "thread":
          case "syscall":
          case "while":
            return seen(o.body);
          case "fork":
          case "spawn":
            return seen(o.child);
          case "atfork":
            return seen(o.prepare) || seen(o.parent) || seen(o.child);
          case "sigaction":
            return seen(o.handler ?? []);
          case "if":
            return seen(o.then) || seen(o.else);
          default:
            return false;
        }
      });
    v = world.procs.some((p) => seen(p.main));
    progressCache.set(world, v);
  }
  return v;
}

/** Runs a world to its end; every event goes to sink. */
export function simulate(world: World, opts: SimOptions, sink?: Sink): KState {
  return new Simulator(world, opts, sink).run();
}
