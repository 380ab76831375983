// The simulator: decides what happens next and says it as events.
//
// Each step, the CPU with the lowest virtual clock that can act runs one step
// of its current thread (or switches, or frees a stack left by a dead thread).
// Every state change goes through applyEvent; the simulator's own data here
// (program counters, run queue, clocks, thread-cache contents) only decides
// which event comes next. Seeded jitter on step costs and seeded preemption
// make different seeds give different interleavings.

import { applyEvent } from "./apply.ts";
import { COST, FIRST_PID, PREEMPT_ODDS, SIZE_CLASSES, TCACHE_REFILL } from "./params.ts";
import type { LockDecl, Op, ProcSpec } from "./program.ts";
import { Rng } from "./prng.ts";
import { initState } from "./state.ts";
import { KIND, LOCK_TYPES, OUTCOME_KINDS, type KConfig, type KEvent, type KState, type Lock, type Thread } from "./types.ts";

/** Everything a run starts from: kernel rules, lock declarations, initial processes. */
export interface World {
  config: KConfig;
  /** User-space locks by name; an undeclared lock is a mutex. */
  locks: Record<string, LockDecl>;
  /** Processes at boot; the first is init (pid 1) and adopts orphans. */
  procs: ProcSpec[];
  /** tid of the first thread (default 1); later tids count up from it. */
  firstTid?: number;
}

export interface SimOptions {
  seed: number;
  /** The run ends with outcome `budget` after this many events. */
  maxEvents: number;
  /** Sees every event just before it is applied, with the state before it (invariant pre-checks). */
  before?: Sink;
}

/** Receives every event right after it was applied; `state` is the state after it. */
export type Sink = (ev: KEvent, state: KState) => void;

/** A scenario program that cannot run (bad op at run time). */
export class SimError extends Error {}

/** The tcmalloc model's locks: spinlocks, as in gperftools. */
export const ALLOC_LOCKS = {
  pageheap: "tcmalloc.pageheap",
  slowTls: "tcmalloc.SlowTLS",
  sysalloc: "tcmalloc.sysalloc",
  central: (size: number) => `tcmalloc.central[${size}]`,
} as const;

const DONE = 0; // an event was emitted; advance past the op
const KEEP = 1; // an event was emitted; the op stays (retry) or moved pc itself
const STALL = 2; // nothing could happen (spinning on a held lock)
type R = typeof DONE | typeof KEEP | typeof STALL;

type Micro = (t: TCtx, cpu: number) => R;
type XOp = Op | { op: "$"; run: Micro };

interface Frame {
  ops: readonly XOp[];
  pc: number;
  /** Iterations left after this one (repeat frames). */
  left: number;
  /** Kernel path: no preemption inside. */
  kernel: boolean;
}

interface TCtx {
  tid: number;
  pid: number;
  frames: Frame[];
  /** exit_group or exec killed this thread: it exits at its next step. */
  killed: boolean;
  /** Objects in this thread's cache per size class. */
  tc: number[];
}

interface PCtx {
  pid: number;
  atfork: { prepare: Op[]; parent: Op[]; child: Op[] }[];
  lastChild: number;
  lockIds: Map<string, number>;
  /** exit_group's code, for the thread that turns out to be the last. */
  groupCode: number;
}

const EXIT0: Op[] = [{ op: "exit", code: 0 }];

function sizeClass(size: number): number {
  for (let i = 0; i < SIZE_CLASSES.length; i++) if (size <= SIZE_CLASSES[i]!) return i;
  return -1;
}

export class Simulator {
  readonly state: KState;
  private readonly world: World;
  private readonly rng: Rng;
  private readonly maxEvents: number;
  private readonly sink: Sink | undefined;
  private readonly before: Sink | undefined;
  private readonly clock: number[];
  private readonly pending: (() => void)[][];
  private readonly threads = new Map<number, TCtx>();
  private readonly procs = new Map<number, PCtx>();
  private readonly blocked = new Set<number>();
  private rq: number[] = [];
  private nextPid = FIRST_PID;
  private nextTid: number;
  private nextKstack = 0;
  private freeKstacks: number[] = [];
  private lastTime = 0;
  /** What a thread runs after its body: pthread_exit. */
  private readonly threadEnd: XOp[] = [{ op: "$", run: (t, c) => this.exitThread(t, c, this.procs.get(t.pid)?.groupCode ?? 0, false) }];

  constructor(world: World, opts: SimOptions, sink?: Sink) {
    this.world = world;
    this.state = initState(world.config);
    this.rng = new Rng(opts.seed);
    this.maxEvents = Math.max(2, opts.maxEvents);
    this.sink = sink;
    this.before = opts.before;
    this.clock = world.config.cpus > 0 ? new Array(world.config.cpus).fill(0) : [];
    this.pending = this.clock.map(() => []);
    this.nextTid = world.firstTid ?? 1;
  }

  // ---- events -------------------------------------------------------------

  private emit(cpu: number, tid: number, kind: number, a = 0, b = 0, c = 0, s = ""): void {
    const t = cpu >= 0 ? Math.max(this.lastTime, this.clock[cpu]!) : this.lastTime;
    this.lastTime = t;
    const ev: KEvent = { seq: this.state.seq + 1, time: t, cpu, tid, kind, a, b, c, s };
    if (this.before) this.before(ev, this.state);
    applyEvent(this.state, ev);
    if (this.sink) this.sink(ev, this.state);
    if (kind === KIND.lockRelease || kind === KIND.procExit || kind === KIND.reap) this.wakeBlocked();
  }

  /** Threads the last event made runnable go to the back of the run queue. */
  private wakeBlocked(): void {
    for (const tid of this.blocked) {
      const t = this.state.threads.get(tid);
      if (!t || t.state === "exited") this.blocked.delete(tid);
      else if (t.state === "runnable") {
        this.blocked.delete(tid);
        this.rq.push(tid);
      }
    }
  }

  private cost(base: number, cpu: number): void {
    this.clock[cpu]! += base * (1 + this.rng.below(4));
  }

  // ---- run ----------------------------------------------------------------

  /** Runs to the end (ok, fatal/panic/hang, or budget). Returns the final state. */
  run(): KState {
    {
      this.boot();
      const order = this.clock.map((_, i) => i);
      while (!this.state.ended) {
        if (this.state.seq + 2 >= this.maxEvents) {
          this.emit(-1, -1, KIND.end, OUTCOME_KINDS.indexOf("budget"), 0, 0, `stopped after ${this.maxEvents} events (--max-events)`);
          break;
        }
        this.byClock(order);
        let acted = -1;
        for (const c of order) {
          if (this.stepCpu(c)) {
            acted = c;
            break;
          }
        }
        if (acted < 0) {
          this.finish();
          break;
        }
        // CPUs that could not act waited until now.
        for (const c of order) {
          if (c === acted) break;
          if (this.clock[c]! < this.lastTime) this.clock[c] = this.lastTime;
        }
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

  private boot(): void {
    if (this.world.procs.length === 0) throw new SimError("the scenario starts no process");
    for (const spec of this.world.procs) {
      const pid = this.nextPid++;
      const tid = this.nextTid++;
      this.emit(-1, -1, KIND.procNew, pid, 0, 0, spec.name);
      this.procs.set(pid, newPCtx(pid));
      this.emit(-1, -1, KIND.threadNew, tid, pid, tid);
      this.newCtx(tid, pid, [{ ops: [...spec.main, ...EXIT0], pc: 0, left: 0, kernel: false }], SIZE_CLASSES.map(() => 0));
      this.allocKstack(-1, -1, tid);
      this.rq.push(tid);
    }
  }

  private newCtx(tid: number, pid: number, frames: Frame[], tc: number[]): TCtx {
    const t: TCtx = { tid, pid, frames, killed: false, tc };
    this.threads.set(tid, t);
    return t;
  }

  private allocKstack(cpu: number, tid: number, owner: number): void {
    const id = this.freeKstacks.length > 0 ? this.freeKstacks.shift()! : this.nextKstack++;
    this.emit(cpu, tid, KIND.kstackAlloc, id, owner);
  }

  private freeKstack(cpu: number, tid: number, id: number): void {
    this.emit(cpu, tid, KIND.kstackFree, id);
    // Lowest id first, like rCore's RecycleAllocator.
    let i = 0;
    while (i < this.freeKstacks.length && this.freeKstacks[i]! < id) i++;
    this.freeKstacks.splice(i, 0, id);
  }

  /** One step of cpu c. False when c can do nothing now. */
  private stepCpu(c: number): boolean {
    const cpu = this.state.cpus[c]!;
    if (cpu.tid >= 0 && this.checkStack(c)) return true;
    const p = this.pending[c]!;
    if (p.length > 0) {
      p.shift()!();
      this.cost(COST.kernel, c);
      return true;
    }
    if (cpu.tid < 0) {
      const next = this.dequeue();
      if (next < 0) return false;
      this.emit(c, -1, KIND.switch, -1, next);
      this.cost(COST.switch, c);
      return true;
    }
    const th = this.state.threads.get(cpu.tid);
    const t = this.threads.get(cpu.tid);
    // An exited thread still runs the rest of its exit path, then leaves the cpu.
    if (!th || !t || th.state === "blocked" || (th.state === "exited" && !this.hasWork(t))) {
      this.switchAway(c, cpu.tid);
      return true;
    }
    const top = t.frames[t.frames.length - 1];
    if (top !== undefined && !top.kernel && this.rq.length > 0) {
      // Timer tick: preempt at random; a spinner is preempted whenever someone else could make progress.
      const preempt = th.state === "spinning" ? this.spinning(th) && this.rq.some((x) => this.canProgress(x)) : this.rng.u32() < PREEMPT_ODDS;
      if (preempt) {
        this.switchAway(c, cpu.tid);
        return true;
      }
    }
    const r = this.runThread(t, c);
    if (r === STALL) {
      this.clock[c]! += COST.spin;
      return false;
    }
    return true;
  }

  /** Drops finished frames; true while t has something left to run. */
  private hasWork(t: TCtx): boolean {
    for (;;) {
      const f = t.frames[t.frames.length - 1];
      if (!f) return false;
      if (f.pc < f.ops.length || f.left > 0) return true;
      t.frames.pop();
    }
  }

  /** A queued thread that would do something if it ran now. */
  private canProgress(tid: number): boolean {
    const th = this.state.threads.get(tid);
    if (!th) return false;
    return th.state === "runnable" || (th.state === "spinning" && !this.spinning(th));
  }

  /** True when th spins on a lock that is still held. */
  private spinning(th: Thread): boolean {
    const l = this.state.locks.get(th.waitLock);
    return l !== undefined && l.owner >= 0;
  }

  private dequeue(): number {
    while (this.rq.length > 0) {
      const tid = this.rq.shift()!;
      const th = this.state.threads.get(tid);
      if (th && (th.state === "runnable" || th.state === "spinning")) return tid;
    }
    return -1;
  }

  /** Switch cpu c from tid to the next runnable thread (or idle), and queue what the switch leaves to do. */
  private switchAway(c: number, tid: number): void {
    const th = this.state.threads.get(tid);
    const next = this.dequeue();
    this.emit(c, tid, KIND.switch, tid, next);
    this.cost(COST.switch, c);
    if (th && (th.state === "runnable" || th.state === "spinning")) this.rq.push(tid);
    else if (th && th.state === "blocked") this.blocked.add(tid);
    if (th && th.state === "exited") this.afterDeath(c, th);
  }

  /** Linux frees a dead thread's stack once the cpu has switched away from it. */
  private afterDeath(c: number, th: Thread): void {
    this.threads.delete(th.tid);
    if (this.state.config.kstackFree !== "deferred") return;
    const kstack = th.kstack;
    const main = this.state.procs.get(th.pid)?.threads[0] === th.tid;
    this.pending[c]!.push(() => {
      const k = this.state.kstacks.get(kstack);
      if (k && k.state === "mapped" && k.tid === th.tid) this.freeKstack(c, this.state.cpus[c]!.tid, kstack);
      else this.emit(c, this.state.cpus[c]!.tid, KIND.kwork, 0, 0, 0, "finish_task_switch");
    });
    if (!main) {
      this.pending[c]!.push(() => {
        if (this.state.threads.has(th.tid)) this.emit(c, this.state.cpus[c]!.tid, KIND.threadRelease, th.tid);
        else this.emit(c, this.state.cpus[c]!.tid, KIND.kwork, 0, 0, 0, "put_task_struct");
      });
    }
  }

  /**
   * Touching a freed kernel stack: silent by default; a page fault once the
   * TLB was flushed (stackCheck flush), or when its frames went to another
   * thread (stackCheck reuse). Returns true if it panicked.
   */
  private checkStack(c: number): boolean {
    const cpu = this.state.cpus[c]!;
    if (cpu.kstack < 0) return false;
    const k = this.state.kstacks.get(cpu.kstack);
    if (!k) return false;
    const mode = this.state.config.stackCheck;
    let msg = "";
    if (k.state === "freed" && k.flushed && mode === "flush") {
      msg = `page fault on cpu ${c}: kernel stack ${k.id} of tid ${cpu.tid} was unmapped (seq ${k.freeSeq}) and the TLB flushed`;
    } else if (k.state === "mapped" && k.tid !== cpu.tid && mode === "reuse") {
      msg = `page fault on cpu ${c}: kernel stack ${k.id} freed while tid ${cpu.tid} ran on it was reused by tid ${k.tid}`;
    }
    if (!msg) return false;
    this.emit(c, cpu.tid, KIND.pageFault, k.id);
    this.emit(c, cpu.tid, KIND.panic, 0, 0, 0, msg);
    this.emit(c, -1, KIND.end, OUTCOME_KINDS.indexOf("panic"), 0, 0, msg);
    return true;
  }

  /** No cpu can act: the run is over, cleanly or hung. */
  private finish(): void {
    const waits: string[] = [];
    for (const th of this.state.threads.values()) {
      if (th.state === "exited") continue;
      waits.push(this.describeWait(th));
    }
    if (waits.length === 0) {
      const o = this.state.outcome;
      this.emit(-1, -1, KIND.end, OUTCOME_KINDS.indexOf(o ? o.kind : "ok"), 0, 0, o ? o.message : "all threads exited");
      return;
    }
    const msg = waits.join("; ");
    this.emit(-1, -1, KIND.hang, 0, 0, 0, msg);
    const o = this.state.outcome!;
    this.emit(-1, -1, KIND.end, OUTCOME_KINDS.indexOf(o.kind), 0, 0, o.message);
  }

  private describeWait(th: Thread): string {
    const who = `tid ${th.tid} (pid ${th.pid})`;
    if (th.waitLock >= 0) {
      const l = this.state.locks.get(th.waitLock);
      if (!l) return `${who} waits on a lock that is gone`;
      const how = th.state === "spinning" ? "spins" : "blocks";
      if (l.owner < 0) return `${who} ${how} on ${l.name}, which is free`;
      const owner = this.state.threads.get(l.owner);
      const why = l.space !== 0 && (!owner || owner.pid !== l.space)
        ? `, which does not exist in pid ${l.space}`
        : owner?.state === "exited" ? ", which has exited" : "";
      return `${who} ${how} on ${l.name} held by tid ${l.owner}${why}`;
    }
    if (th.waitPid >= -1) return `${who} blocks in waitpid(${th.waitPid})`;
    return `${who} is ${th.state}`;
  }

  // ---- interpreter ----------------------------------------------------------

  private runThread(t: TCtx, c: number): R {
    for (let guard = 0; guard < 100_000; guard++) {
      const f = t.frames[t.frames.length - 1];
      if (!f) throw new SimError(`thread ${t.tid} ran out of program`);
      if (f.pc >= f.ops.length) {
        if (f.left > 0) {
          f.left--;
          f.pc = 0;
        } else t.frames.pop();
        continue;
      }
      // Killed by exit_group/exec: exit at the first return to user mode.
      if (t.killed && !f.kernel) {
        t.killed = false;
        t.frames = [{ ops: this.threadEnd, pc: 0, left: 0, kernel: true }];
        continue;
      }
      const op = f.ops[f.pc]!;
      switch (op.op) {
        case "repeat":
          f.pc++;
          if (op.n > 0 && op.body.length > 0) t.frames.push({ ops: op.body, pc: 0, left: op.n - 1, kernel: false });
          continue;
        case "$": {
          const r = op.run(t, c);
          if (r === DONE) f.pc++;
          return r;
        }
        default: {
          if (op.op === "user" && op.n === 0) {
            f.pc++;
            continue;
          }
          const r = this.exec(t, c, op, f);
          if (r === DONE) f.pc++;
          return r;
        }
      }
    }
    throw new SimError(`thread ${t.tid} loops without doing anything (an empty repeat?)`);
  }

  private pushKernel(t: TCtx, steps: Micro[]): void {
    t.frames.push({ ops: steps.map((run) => ({ op: "$" as const, run })), pc: 0, left: 0, kernel: true });
  }

  /** Run the frame just pushed (the op that pushed it has moved its own pc). */
  private descend(t: TCtx, c: number): R {
    return this.runThread(t, c) === STALL ? STALL : KEEP;
  }

  /** Skip the rest of the current kernel frame. */
  private leaveFrame(t: TCtx): R {
    const f = t.frames[t.frames.length - 1]!;
    f.pc = f.ops.length;
    return KEEP;
  }

  private lockId(t: TCtx, c: number, name: string): number {
    const p = this.procs.get(t.pid)!;
    const id = p.lockIds.get(name);
    if (id !== undefined) return id;
    const decl = this.world.locks[name] ?? (name.startsWith("tcmalloc.") ? { type: "spin" as const } : { type: "mutex" as const });
    const nid = this.state.nextLock;
    this.emit(c, t.tid, KIND.lockNew, nid, t.pid, LOCK_TYPES.indexOf(decl.type), name);
    p.lockIds.set(name, nid);
    return -1;
  }

  /** Try to take lock id. DONE when held now, KEEP after a wait event, STALL while spinning. */
  private acquire(t: TCtx, c: number, id: number): R {
    const l = this.state.locks.get(id);
    const th = this.state.threads.get(t.tid)!;
    if (!l) throw new SimError(`lock ${id} is gone`);
    if (l.owner < 0) {
      this.emit(c, t.tid, KIND.lockAcquire, id, 1);
      this.cost(COST.lock, c);
      return DONE;
    }
    if (l.type === "recursive" && l.ident === th.ident && l.owner >= 0) {
      this.emit(c, t.tid, KIND.lockAcquire, id, l.level + 1);
      this.cost(COST.lock, c);
      return DONE;
    }
    if (th.waitLock === id && th.state === "spinning") return STALL;
    this.emit(c, t.tid, KIND.lockWait, id, l.type === "spin" ? 1 : 0);
    this.cost(COST.lock, c);
    return KEEP;
  }

  private release(t: TCtx, c: number, l: Lock): R {
    const th = this.state.threads.get(t.tid)!;
    if (l.type === "recursive" && l.ident !== th.ident) {
      this.emit(c, t.tid, KIND.unlockNotOwner, l.id, l.ident, th.ident);
      const msg = this.world.locks[l.name]?.badUnlock ?? `unlocking recursive mutex ${l.name} that is not owned by the current thread`;
      this.pushKernel(t, [(t2, c2) => this.abort(t2, c2, msg)]);
      return KEEP;
    }
    this.emit(c, t.tid, KIND.lockRelease, l.id, l.level > 0 ? l.level - 1 : 0);
    this.cost(COST.lock, c);
    return DONE;
  }

  /** A fatal error: SIGABRT, then the whole process exits with 134. */
  private abort(t: TCtx, c: number, msg: string): R {
    this.emit(c, t.tid, KIND.fatal, t.pid, 6, 0, msg);
    t.frames = [];
    this.pushKernel(t, [(t2, c2) => this.exitGroup(t2, c2, 134)]);
    return KEEP;
  }

  private exec(t: TCtx, c: number, op: Op, f: Frame): R {
    const tid = t.tid;
    switch (op.op) {
      case "user":
        this.emit(c, tid, KIND.user, 0, 0, 0, op.label);
        this.cost(COST.user, c);
        if (op.n > 1) {
          f.pc++;
          t.frames.push({ ops: [{ op: "user", label: op.label, n: 1 }], pc: 0, left: op.n - 2, kernel: false });
          return KEEP;
        }
        return DONE;
      case "call":
        this.emit(c, tid, KIND.user, 0, 0, 0, op.name);
        this.cost(COST.user, c);
        f.pc++;
        if (op.body.length > 0) t.frames.push({ ops: op.body, pc: 0, left: 0, kernel: false });
        return KEEP;
      case "lock": {
        const id = this.lockId(t, c, op.lock);
        return id < 0 ? KEEP : this.acquire(t, c, id);
      }
      case "unlock":
      case "restamp": {
        const id = this.lockId(t, c, op.lock);
        if (id < 0) return KEEP;
        const l = this.state.locks.get(id)!;
        if (op.op === "restamp") {
          if (l.owner < 0) {
            this.emit(c, tid, KIND.user, 0, 0, 0, `restamp: ${op.lock} is not held`);
            return DONE;
          }
          this.emit(c, tid, KIND.lockRestamp, id, this.state.threads.get(tid)!.ident);
          return DONE;
        }
        if (l.owner < 0) throw new SimError(`thread ${tid} unlocks ${op.lock}, which is not held`);
        return this.release(t, c, l);
      }
      case "malloc":
        return this.malloc(t, c, op.size, f);
      case "free": {
        const k = sizeClass(op.size);
        if (k >= 0) t.tc[k]!++;
        this.emit(c, tid, KIND.free, op.size);
        this.cost(COST.malloc, c);
        return DONE;
      }
      case "atfork":
        this.procs.get(t.pid)!.atfork.push({ prepare: op.prepare, parent: op.parent, child: op.child });
        this.emit(c, tid, KIND.user, 0, 0, 0, "pthread_atfork");
        return DONE;
      case "fork":
        return this.fork(t, c, op.child, f);
      case "spawn":
        f.pc++;
        this.emit(c, tid, KIND.kwork, 0, 0, 0, "posix_spawn");
        {
          let ctid = -1;
          this.pushKernel(t, [
            (t2, c2) => {
              const pid = this.nextPid++;
              ctid = this.nextTid++;
              this.emit(c2, t2.tid, KIND.spawn, t2.pid, pid, ctid, op.program);
              this.procs.set(pid, newPCtx(pid));
              this.procs.get(t2.pid)!.lastChild = pid;
              this.newCtx(ctid, pid, [{ ops: [...op.child, ...EXIT0], pc: 0, left: 0, kernel: false }], SIZE_CLASSES.map(() => 0));
              return DONE;
            },
            (t2, c2) => this.startThread(t2, c2, ctid),
          ]);
        }
        return KEEP;
      case "exec":
        this.emit(c, tid, KIND.exec, t.pid, 0, 0, op.program);
        {
          const p = this.procs.get(t.pid)!;
          p.atfork = [];
          p.lockIds.clear();
        }
        t.tc = SIZE_CLASSES.map(() => 0);
        t.frames = [{ ops: [...op.body, ...EXIT0], pc: 0, left: 0, kernel: false }];
        {
          const kills = this.killOthers(t);
          if (kills.length > 0) this.pushKernel(t, kills);
        }
        return KEEP;
      case "thread": {
        f.pc++;
        let ntid = -1;
        this.pushKernel(t, [
          (t2, c2) => {
            ntid = this.nextTid++;
            this.emit(c2, t2.tid, KIND.threadNew, ntid, t2.pid, ntid);
            this.newCtx(ntid, t2.pid, [{ ops: [...op.body, ...this.threadEnd], pc: 0, left: 0, kernel: false }], SIZE_CLASSES.map(() => 0));
            return DONE;
          },
          (t2, c2) => this.startThread(t2, c2, ntid),
        ]);
        return this.descend(t, c);
      }
      case "exit":
        f.pc++;
        this.pushKernel(t, [(t2, c2) => this.exitGroup(t2, c2, op.code)]);
        return this.descend(t, c);
      case "waitpid":
        return this.waitpid(t, c, op.which);
      case "procfs":
        f.pc++;
        this.pushKernel(t, this.procfsRead(t));
        return this.descend(t, c);
      case "repeat":
        throw new SimError("repeat is handled by the interpreter loop");
    }
  }

  // ---- allocator (tcmalloc model) -------------------------------------------

  private malloc(t: TCtx, c: number, size: number, f: Frame): R {
    const p = this.state.procs.get(t.pid)!;
    const tid = t.tid;
    if (!p.tcaches.includes(tid)) {
      // Slow path: no thread cache yet. Create it under SlowTLS, taking memory from the system allocator.
      f.pc++;
      t.frames.push({
        ops: [
          { op: "lock", lock: ALLOC_LOCKS.slowTls },
          { op: "lock", lock: ALLOC_LOCKS.sysalloc },
          { op: "user", label: "SystemAlloc(sizeof(ThreadCache))", n: 1 },
          { op: "unlock", lock: ALLOC_LOCKS.sysalloc },
          { op: "$", run: (t2, c2) => { this.emit(c2, t2.tid, KIND.tcacheNew, t2.pid); return DONE; } },
          { op: "unlock", lock: ALLOC_LOCKS.slowTls },
          { op: "malloc", size },
        ],
        pc: 0, left: 0, kernel: false,
      });
      this.emit(c, tid, KIND.user, 0, 0, 0, "tcmalloc: no thread cache, slow path");
      return KEEP;
    }
    const k = sizeClass(size);
    if (k >= 0 && t.tc[k]! > 0) {
      t.tc[k]!--;
      this.emit(c, tid, KIND.malloc, size, 0);
      this.cost(COST.malloc, c);
      return DONE;
    }
    f.pc++;
    const name = k >= 0 ? ALLOC_LOCKS.central(SIZE_CLASSES[k]!) : ALLOC_LOCKS.pageheap;
    t.frames.push({
      ops: [
        { op: "lock", lock: name },
        {
          op: "$", run: (t2, c2) => {
            if (k >= 0) t2.tc[k]! += TCACHE_REFILL - 1;
            this.emit(c2, t2.tid, KIND.malloc, size, k >= 0 ? 1 : 2);
            this.cost(COST.malloc, c2);
            return DONE;
          },
        },
        { op: "unlock", lock: name },
      ],
      pc: 0, left: 0, kernel: false,
    });
    return this.descend(t, c);
  }

  // ---- fork, exit, wait -------------------------------------------------------

  private fork(t: TCtx, c: number, child: Op[], f: Frame): R {
    f.pc++;
    const handlers = this.procs.get(t.pid)!.atfork;
    // POSIX: prepare handlers in reverse order of registration; parent and child in order.
    const prepare = handlers.slice().reverse().flatMap((h) => h.prepare);
    let ctid = -1;
    const sys: XOp[] = [
      { op: "$", run: (t2, c2) => { this.emit(c2, t2.tid, KIND.kwork, 0, 0, 0, "sys_fork"); this.cost(COST.kernel, c2); return DONE; } },
      { op: "$", run: (t2, c2) => { ctid = this.forkCopy(t2, c2, child); return DONE; } },
      { op: "$", run: (t2, c2) => this.startThread(t2, c2, ctid) },
      {
        op: "$", run: (t2, c2) => {
          const parent = handlers.flatMap((h) => h.parent);
          this.emit(c2, t2.tid, KIND.user, 0, 0, 0, "fork() returns child pid");
          t2.frames[t2.frames.length - 1]!.pc++;
          if (parent.length > 0) t2.frames.push({ ops: parent, pc: 0, left: 0, kernel: false });
          return KEEP;
        },
      },
    ];
    t.frames.push({ ops: sys, pc: 0, left: 0, kernel: true });
    if (prepare.length > 0) t.frames.push({ ops: prepare, pc: 0, left: 0, kernel: false });
    this.emit(c, t.tid, KIND.user, 0, 0, 0, "fork()");
    this.cost(COST.user, c);
    return KEEP;
  }

  /** The fork event itself; returns the child's tid. */
  private forkCopy(t: TCtx, c: number, child: Op[]): number {
    const pid = this.nextPid++;
    const ctid = this.nextTid++;
    this.emit(c, t.tid, KIND.fork, t.pid, pid, ctid);
    this.cost(COST.kernel * 4, c);
    const parent = this.procs.get(t.pid)!;
    parent.lastChild = pid;
    const lockIds = new Map<string, number>();
    for (const l of this.state.locks.values()) if (l.space === pid) lockIds.set(l.name, l.id);
    this.procs.set(pid, { ...newPCtx(pid), atfork: parent.atfork.slice(), lockIds });
    const childHandlers = parent.atfork.flatMap((h) => h.child);
    const frames: Frame[] = [{ ops: [...child, ...EXIT0], pc: 0, left: 0, kernel: false }];
    if (childHandlers.length > 0) frames.push({ ops: childHandlers, pc: 0, left: 0, kernel: false });
    this.newCtx(ctid, pid, frames, t.tc.slice());
    return ctid;
  }

  /** Map a kernel stack for a thread just created and make it runnable. */
  private startThread(t: TCtx, c: number, ntid: number): R {
    this.allocKstack(c, t.tid, ntid);
    this.rq.push(ntid);
    return DONE;
  }

  /**
   * exit_group / exec kill every other thread of t's process. Each victim in
   * user mode (running, runnable, or waiting on a user lock or in waitpid:
   * killable waits) exits at once, by the steps returned here; one inside a
   * kernel path is flagged and exits at its next return to user mode (the
   * check in runThread). A victim still on a cpu leaves it at that cpu's next
   * turn, which frees its stack (afterDeath via switchAway); one off the cpus
   * has its stack freed here.
   */
  private killOthers(t: TCtx): Micro[] {
    const p = this.state.procs.get(t.pid)!;
    const steps: Micro[] = [];
    for (const tid of p.threads) {
      const o = this.threads.get(tid);
      const th = this.state.threads.get(tid);
      if (tid === t.tid || !o || !th || th.state === "exited") continue;
      o.killed = true;
      steps.push((t2, c2) => {
        const v = this.state.threads.get(tid);
        const vo = this.threads.get(tid);
        const top = vo?.frames[vo.frames.length - 1];
        if (!v || !vo || v.state === "exited" || !vo.killed || (top !== undefined && top.kernel)) {
          this.emit(c2, t2.tid, KIND.kwork, 0, 0, 0, `kill tid ${tid}: ${!v || v.state === "exited" ? "already gone" : "exits on return to user mode"}`);
          return DONE;
        }
        this.emit(c2, t2.tid, KIND.threadExit, tid, this.procs.get(t2.pid)?.groupCode ?? 0);
        vo.killed = false;
        vo.frames = [];
        this.blocked.delete(tid);
        this.rq = this.rq.filter((x) => x !== tid);
        if (!this.onCpu(tid)) this.afterDeath(c2, v);
        return DONE;
      });
    }
    return steps;
  }

  private onCpu(tid: number): boolean {
    for (const c of this.state.cpus) if (c.tid === tid) return true;
    return false;
  }

  /** exit(): every thread of the process goes; the last one tears the process down. */
  private exitGroup(t: TCtx, c: number, code: number): R {
    this.emit(c, t.tid, KIND.exitGroup, t.pid, code, 0, this.state.config.kstackFree === "deferred" ? "do_exit" : "exit_current_and_run_next");
    this.cost(COST.kernel, c);
    this.procs.get(t.pid)!.groupCode = code;
    const kills = this.killOthers(t);
    t.frames = [];
    this.pushKernel(t, [...kills, (t2, c2) => this.exitThread(t2, c2, code, true)]);
    return KEEP;
  }

  /** The calling thread exits; if it is the last of its process, the process exits too. */
  private exitThread(t: TCtx, c: number, code: number, group: boolean): R {
    const p = this.state.procs.get(t.pid)!;
    const others = p.threads.some((x) => x !== t.tid && this.state.threads.get(x)?.state !== "exited");
    t.frames = [];
    if (others) {
      this.emit(c, t.tid, KIND.threadExit, t.tid, code);
      return KEEP;
    }
    if (!group) {
      this.emit(c, t.tid, KIND.kwork, 0, 0, 0, "last thread exits");
      this.cost(COST.kernel, c);
    }
    this.pushKernel(t, this.teardown(p.pid, code, t.tid));
    return group ? this.descend(t, c) : KEEP;
  }

  /** The last thread's exit path: clear the VMAR, become a zombie, and (per kstackFree) free stacks. */
  private teardown(pid: number, code: number, runner: number): Micro[] {
    const cfg = this.state.config;
    const vmarLock = this.state.procs.get(pid)!.vmarLock;
    const kw = (label: string): Micro => (t2, c2) => { this.emit(c2, t2.tid, KIND.kwork, 0, 0, 0, label); this.cost(COST.kernel, c2); return DONE; };
    const steps: Micro[] = [
      (t2, c2) => this.acquire(t2, c2, vmarLock),
      (t2, c2) => { this.emit(c2, t2.tid, KIND.vmarClear, pid); this.cost(COST.kernel, c2); return DONE; },
      (t2, c2) => this.release(t2, c2, this.state.locks.get(vmarLock)!),
    ];
    const hasChildren = () => [...this.state.procs.values()].some((p) => p.ppid === pid);
    steps.push((t2, c2) => {
      if (hasChildren() && pid !== FIRST_PID) this.emit(c2, t2.tid, KIND.reparent, pid, FIRST_PID);
      else this.emit(c2, t2.tid, KIND.kwork, 0, 0, 0, "fd_table.clear()");
      return DONE;
    });
    steps.push((t2, c2) => { this.emit(c2, t2.tid, KIND.threadExit, t2.tid, code); return DONE; });
    steps.push((t2, c2) => { this.emit(c2, t2.tid, KIND.procExit, pid, code); return DONE; });
    if (cfg.kstackFree !== "deferred") {
      // rCore: process.tasks.clear() drops the control blocks; in-exit drops the running one too.
      const p = this.state.procs.get(pid)!;
      for (const tid of p.threads) {
        const main = tid === p.threads[0];
        // PR 146: the main thread's stack, and the stack this exit runs on, go at reap.
        if ((main || tid === runner) && cfg.kstackFree === "at-reap") continue;
        // PR 146 on a multiprocessor: a killed thread still leaving another cpu keeps its
        // stack and control block until reap, like the main thread (waitpid waits for it).
        const later = (x: number) => cfg.kstackFree === "at-reap" && x !== runner && this.onCpu(x);
        steps.push((t2, c2) => {
          const th = this.state.threads.get(tid);
          const k = th ? this.state.kstacks.get(th.kstack) : undefined;
          if (later(tid)) this.emit(c2, t2.tid, KIND.kwork, 0, 0, 0, `task ${tid} still on a cpu: its stack goes at reap`);
          else if (k && k.state === "mapped" && k.tid === tid) this.freeKstack(c2, t2.tid, k.id);
          else this.emit(c2, t2.tid, KIND.kwork, 0, 0, 0, `drop(task ${tid})`);
          return DONE;
        });
        // The explicit sfence.vma after unmapping (upstream: it made the bug hang).
        if (cfg.stackCheck === "flush") steps.push((t2, c2) => { this.emit(c2, t2.tid, KIND.tlbFlush); return DONE; });
        if (!main) {
          steps.push((t2, c2) => {
            if (later(tid) || !this.state.threads.has(tid)) this.emit(c2, t2.tid, KIND.kwork, 0, 0, 0, `task ${tid} released at reap`);
            else this.emit(c2, t2.tid, KIND.threadRelease, tid);
            return DONE;
          });
        }
      }
      steps.push(kw("drop(process)"));
      steps.push(kw("TaskContext::zero_init() on the kernel stack"));
    }
    return steps;
  }

  private waitpid(t: TCtx, c: number, which: "child" | "any"): R {
    const pc = this.procs.get(t.pid)!;
    let target = -1;
    let anyChild = false;
    if (which === "child") {
      const p = this.state.procs.get(pc.lastChild);
      if (p && p.ppid === t.pid) {
        anyChild = true;
        target = p.pid;
      }
    } else {
      for (const p of this.state.procs.values()) {
        if (p.ppid !== t.pid) continue;
        anyChild = true;
        if (p.state === "zombie") {
          target = p.pid;
          break;
        }
      }
    }
    if (!anyChild) {
      this.emit(c, t.tid, KIND.user, 0, 0, 0, "waitpid: ECHILD");
      return DONE;
    }
    const p = target >= 0 ? this.state.procs.get(target)! : undefined;
    if (!p || p.state !== "zombie") {
      this.emit(c, t.tid, KIND.waitBlock, which === "child" ? target : -1);
      return KEEP;
    }
    // The zombie's last thread may still be finishing its exit on another cpu.
    for (const tid of p.threads) if (this.onCpu(tid)) return STALL;
    if (this.state.config.kstackFree === "at-reap") {
      for (const tid of p.threads) {
        const th = this.state.threads.get(tid);
        const k = th ? this.state.kstacks.get(th.kstack) : undefined;
        if (k && k.state === "mapped" && k.tid === tid) {
          this.freeKstack(c, t.tid, k.id);
          return KEEP;
        }
      }
    }
    this.emit(c, t.tid, KIND.reap, p.pid);
    this.threads.delete(p.threads[0]!);
    this.procs.delete(p.pid);
    return DONE;
  }

  // ---- procfs ---------------------------------------------------------------------

  /** open + read /proc/<last child>/status: lock the VMAR, read RSS from it, unlock. */
  private procfsRead(t: TCtx): Micro[] {
    const target = this.procs.get(t.pid)!.lastChild;
    const alive = () => this.state.procs.get(target);
    return [
      (t2, c2) => {
        this.emit(c2, t2.tid, KIND.procfsOpen, target, 0, 0, `/proc/${target}/status`);
        this.cost(COST.kernel, c2);
        return alive() ? DONE : this.leaveFrame(t2);
      },
      (t2, c2) => {
        const p = alive();
        if (p) return this.acquire(t2, c2, p.vmarLock);
        this.emit(c2, t2.tid, KIND.kwork, 0, 0, 0, "procfs: ESRCH");
        return this.leaveFrame(t2);
      },
      (t2, c2) => {
        const p = alive()!;
        if (p.vmar === null && this.state.config.procfsVmar === "unwrap") {
          const msg = "called `Option::unwrap()` on a `None` value at kernel/src/process/process_vm/mod.rs:87 (ProcessVmarGuard::unwrap)";
          this.emit(c2, t2.tid, KIND.procfsRead, p.pid, 2);
          this.emit(c2, t2.tid, KIND.panic, 0, 0, 0, msg);
          this.emit(c2, -1, KIND.end, OUTCOME_KINDS.indexOf("panic"), 0, 0, msg);
          return KEEP;
        }
        // The fixed reader leaves out VmRSS/RssAnon/RssFile for an exited process.
        this.emit(c2, t2.tid, KIND.procfsRead, p.pid, p.vmar === null ? 0 : 1);
        this.cost(COST.kernel, c2);
        return DONE;
      },
      (t2, c2) => this.release(t2, c2, this.state.locks.get(alive()!.vmarLock)!),
    ];
  }
}

function newPCtx(pid: number): PCtx {
  return { pid, atfork: [], lastChild: -1, lockIds: new Map(), groupCode: 0 };
}

/** Runs a world to its end; every event goes to sink. */
export function simulate(world: World, opts: SimOptions, sink?: Sink): KState {
  return new Simulator(world, opts, sink).run();
}
