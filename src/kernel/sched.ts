// The scheduler: the run queue, context switches, and the one seam through
// which every nondeterministic choice of the simulator is made (Chooser).
//
// Which cpu acts next is not a choice: it is the cpu with the lowest virtual
// clock that can act (ties to the lowest id), and clocks advance by step
// costs. What varies between runs is (1) which ready thread a free cpu takes,
// (2) whether the timer preempts a thread in user mode, and (3) the jitter on
// each step's cost, which decides how the cpus' clocks, and so the cpus'
// steps, interleave. All three are asked of a Chooser, in an order that
// depends only on the answers given so far: a strategy that records its
// answers and a strategy that replays them give the same run.

import { COST, PREEMPT_ODDS } from "./params.ts";
import { eligible, mustYield } from "./prio.ts";
import { Rng } from "./prng.ts";
import type { Simulator } from "./sim.ts";
import { drainAll } from "./tso.ts";
import { KIND, type Thread } from "./types.ts";
import { afterDeath } from "./vm.ts";

/**
 * What a strategy may look at besides a question's arguments, read only
 * (given once through Chooser.attach, before the run starts).
 */
export interface SchedView {
  /** Seq of the last event (-1 before the first). */
  seq(): number;
  /** The thread on `cpu`, -1 when it is idle. */
  onCpu(cpu: number): number;
  /** Whether queued `tid` would do something if it ran now (runnable, or spinning on a lock that is free). */
  canProgress(tid: number): boolean;
  /** The run queue: tids in queue order (it may still hold threads that are no longer ready). */
  queued(): readonly number[];
  /** The name of variable `id` (a pso drain question's variable, for the texts that name a decision); undefined when there is none. */
  varName?(id: number): string | undefined;
}

/**
 * Every nondeterministic choice of a run. Implementations: randomChooser
 * (seeded; the default) and issue 12's strategies (src/explore/strategies/:
 * PCT, bounded search, replay of a recorded decision list), which implement
 * this and nothing else.
 */
export interface Chooser {
  /** Called once with a view of the scheduler before the run starts (optional: random needs none). */
  attach?(view: SchedView): void;
  /**
   * Which thread the free `cpu` takes: an index into `ready` (tids in
   * run-queue order, every one runnable or spinning on a lock that may be
   * free). Asked only when there are at least two. Absent: first come, first
   * served (the head of the run queue).
   */
  next?(cpu: number, ready: readonly number[]): number;
  /**
   * Told, by a chooser without next(), which thread the free `cpu` took first
   * come, first served, each time next() would have been asked (at least two
   * ready; its answer would have been 0): a recorder of decisions needs the
   * pick, not the question, and the queue is then not scanned for a list of
   * the ready ones.
   */
  took?(cpu: number, tid: number): void;
  /**
   * Whether the timer preempts `tid`, about to run a user-mode step on `cpu`
   * while the run queue is not empty. A thread spinning on a held lock is
   * always preempted when another could progress (a rule, not asked).
   */
  preempt(cpu: number, tid: number): boolean;
  /** Multiplier (an integer 1..4) on the base cost of the step just run on `cpu`. */
  jitter(cpu: number): number;
  /**
   * Under the tso and pso memory models only (never asked under sc): whether
   * the oldest store to variable `v` in the buffer of `tid`, about to run a
   * step on `cpu`, reaches memory now (true: that commit is the step; false:
   * under tso the thread's op runs and the store stays buffered, under pso
   * the question is asked about the buffer's next variable, if any, else the
   * op runs). Under tso `v` is -1 (one question per step, about the oldest
   * store, whatever its variable). src/kernel/tso.ts.
   */
  drain(cpu: number, tid: number, v: number): boolean;
}

/**
 * The seeded random strategy: FIFO run queue, preemption with probability
 * PREEMPT_ODDS / 2^32 per user step, jitter uniform in 1..4. Same seed, same
 * answers, on every runtime.
 */
export function randomChooser(seed: number): Chooser {
  return new RandomChooser(seed);
}

/**
 * randomChooser's strategy as a class: the simulator recognises it and asks
 * its Rng directly (Simulator.rng), the same draws in the same order, without
 * a call through the Chooser interface on every step.
 */
export class RandomChooser implements Chooser {
  readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  // Fields, not methods: a strategy may hand them on unbound (as a fallback's).
  readonly preempt = (): boolean => randomPreempt(this.rng);
  readonly jitter = (): number => randomJitter(this.rng);
  readonly drain = (): boolean => randomDrain(this.rng);
}

/** The random strategy's drain answer (tso, pso), from rng: yes one time in two, the draw's sign bit. */
export function randomDrain(rng: Rng): boolean {
  return rng.i32() < 0;
}

/** The random strategy's preemption answer, drawn from rng (one definition: RandomChooser and the direct paths). */
export function randomPreempt(rng: Rng): boolean {
  // u32 < PREEMPT_ODDS, in int32: flipping the sign bit turns the unsigned order into the signed one
  // (one compare, true 1 time in 24: no branch to mispredict on the draw's sign).
  return (rng.i32() ^ SIGN) < PREEMPT_FLIPPED;
}

const SIGN = -0x80000000;
/** PREEMPT_ODDS with the sign bit flipped (see randomPreempt). */
const PREEMPT_FLIPPED = PREEMPT_ODDS ^ SIGN;

/** The random strategy's timing draw (1..4), from rng: 1 + below(4), which is the draw's top two bits. */
export function randomJitter(rng: Rng): number {
  return 1 + (rng.i32() >>> 30);
}

/** The read-only view of k's scheduler a Chooser is given. */
export function schedView(k: Simulator): SchedView {
  return {
    seq: () => k.state.seq,
    onCpu: (cpu) => k.state.cpus[cpu]?.tid ?? -1,
    canProgress: (tid) => canProgress(k, tid),
    queued: () => k.rq,
    varName: (id) => k.state.vars.get(id)?.name,
  };
}

/** Ready to be given a cpu: runnable, or spinning (it retries its lock). */
function ready(k: Simulator, tid: number): boolean {
  const th = k.state.threads.get(tid);
  return th !== undefined && (th.state === "runnable" || th.state === "spinning");
}

/**
 * Takes the next thread for `cpu` off the run queue (the chooser picks among
 * the ready ones), or -1 when none is ready. Entries of threads no longer
 * ready are dropped as they are passed.
 */
export function dequeue(k: Simulator, cpu: number): number {
  const rq = k.rq;
  if (k.chooser.next === undefined && !k.ranked) {
    // First come, first served.
    while (rq.length > 0) {
      const tid = rq.shift()!;
      if (!ready(k, tid)) continue;
      if (k.chooser.took !== undefined && anyReady(k, rq)) k.chooser.took(cpu, tid);
      return tid;
    }
    return -1;
  }
  const cands = k.ready;
  cands.length = 0;
  if (k.ranked) {
    // The policy may pass over ready threads: drop only the entries no longer ready.
    let j = 0;
    for (const tid of rq) if (ready(k, tid)) rq[j++] = tid;
    rq.length = j;
  }
  for (const tid of rq) if (ready(k, tid)) cands.push(tid);
  if (cands.length === 0) {
    rq.length = 0;
    return -1;
  }
  // The policy first (priorities: only the highest rank ready may run), then the chooser among those.
  if (k.ranked) eligible(k.state, cands, k.rankedTids);
  let i = 0;
  if (cands.length > 1) {
    if (k.chooser.next !== undefined) i = k.chooser.next(cpu, cands);
    else k.chooser.took?.(cpu, cands[0]!);
  }
  const tid = cands[i] ?? cands[0]!;
  const at = rq.indexOf(tid);
  // Entries before the first candidate are threads no longer ready, unless the policy passed over ready ones.
  if (tid === cands[0] && !k.ranked) rq.splice(0, at + 1);
  else rq.splice(at, 1);
  return tid;
}

/** Whether some thread of `tids` is ready. */
function anyReady(k: Simulator, tids: readonly number[]): boolean {
  for (const tid of tids) if (ready(k, tid)) return true;
  return false;
}

/** True when th spins on a lock that is still held. */
export function spinning(k: Simulator, th: Thread): boolean {
  const l = k.state.locks.get(th.waitLock);
  return l !== undefined && l.owner >= 0;
}

/** A queued thread that would do something if it ran now. */
export function canProgress(k: Simulator, tid: number): boolean {
  const th = k.state.threads.get(tid);
  if (!th) return false;
  return th.state === "runnable" || (th.state === "spinning" && !spinning(k, th));
}

/**
 * Whether the thread on cpu c is switched out before its next user-mode step:
 * a spinner whenever another queued thread could progress, anyone else when
 * the chooser says so. Caller: the thread is in user mode and the queue is
 * not empty.
 */
export function shouldPreempt(k: Simulator, c: number, th: Thread): boolean {
  // The common case in a few instructions (the JIT inlines this into stepCpu): the random strategy's draw.
  const rng = k.rng;
  if (rng !== null && !k.ranked && th.state !== "spinning") return randomPreempt(rng);
  return preemptRule(k, c, th);
}

/** shouldPreempt's rules in full (a spinner, the priority policy, a strategy other than random). */
function preemptRule(k: Simulator, c: number, th: Thread): boolean {
  if (th.state === "spinning") {
    if (!spinning(k, th)) return false;
    // The policy first: a fifo spinner is not time-sliced, so it spins on (as a SCHED_FIFO thread in
    // pthread_spin_lock does) unless a higher rank is ready; only the default class gives way to any thread that could progress.
    if (k.ranked) {
      const y = mustYield(k.state, k.rankedTids, th);
      if (y !== null) return y;
    }
    for (const x of k.rq) if (canProgress(k, x)) return true;
    return false;
  }
  if (k.ranked) {
    // The policy first: a higher rank ready preempts; a fifo thread is not time-sliced.
    const y = mustYield(k.state, k.rankedTids, th);
    if (y !== null) return y;
  }
  const rng = k.rng;
  return rng !== null ? randomPreempt(rng) : k.chooser.preempt(c, th.tid);
}

/** Threads the last event made runnable go to the back of the run queue. */
export function wakeBlocked(k: Simulator): void {
  if (k.blocked.size === 0) return;
  for (const tid of k.blocked) {
    const t = k.state.threads.get(tid);
    if (!t || t.state === "exited") k.blocked.delete(tid);
    else if (t.state === "runnable") {
      k.blocked.delete(tid);
      k.rq.push(tid);
    }
  }
}

/**
 * Switches cpu c from tid to the next ready thread (or idle). Emits: switch.
 * A thread still ready goes to the back of the queue, a blocked one waits to
 * be woken, a dead one leaves its cleanup to the cpu (afterDeath).
 */
export function switchAway(k: Simulator, c: number, tid: number): void {
  const th = k.state.threads.get(tid);
  // tso: the switch is a full barrier: the thread's buffered stores reach memory before it leaves the cpu.
  if (th !== undefined && th.stores !== undefined) drainAll(k, c, th);
  const next = dequeue(k, c);
  k.emitSlots(c, tid, KIND.switch, tid, next, 0, ""); // from, to
  k.cost(COST.switch, c);
  if (th && (th.state === "runnable" || th.state === "spinning")) k.rq.push(tid);
  else if (th && th.state === "blocked") k.blocked.add(tid);
  if (th && th.state === "exited") afterDeath(k, c, th);
}
