// The decision recorder: wraps any Chooser and keeps its answers as a
// Schedule (src/trace/schedule.ts), so the run can be re-simulated from its
// decisions alone. Optionally it also notes where each decision was made
// (the event it shaped, the cpu, the thread, the choices there): what
// whatif, pivots, shrink and diff show and key their changes by.

import {
  type Chooser,
  RandomChooser,
  type Rng,
  randomDrain,
  randomJitter,
  randomPreempt,
  type SchedView,
} from "../../kernel/index.ts";
import type { PreemptYes, Schedule } from "../../trace/schedule.ts";

export type DecisionKind = "pick" | "preempt" | "timing" | "drain";

/** One decision of a run, where it was made. */
export interface Decision {
  kind: DecisionKind;
  /** Its place in the schedule's list of its kind (picks, preemption questions, timing draws, drain questions). */
  index: number;
  /**
   * The event it shaped: for a pick, a preemption or a drain question, the
   * event that came next (a switch when a thread was taken or preempted, a
   * store-commit when a buffered store was drained); for a timing draw, the
   * last event of the step it timed.
   */
  seq: number;
  cpu: number;
  /** pick: the thread taken; preempt, drain: the thread the question was about; timing: the thread on the cpu (-1: idle). */
  tid: number;
  /** pick: the thread taken; preempt: 1 (preempted) or 0; timing: the multiplier 1..4; drain: 1 (its oldest buffered store to `var` reached memory) or 0. */
  value: number;
  /** pick: the ready threads it chose among (tids, run-queue order). */
  options?: number[];
  /** drain under pso: the variable whose oldest buffered store the question was about (one question per variable in the buffer); absent under tso (one question, about the oldest store). */
  var?: number;
  /** drain under pso: that variable's name when the question was asked (for the texts: pivots, whatif, diff). */
  varName?: string;
  /** Which decision of its kind this is for its key (pick: the cpu; preempt, drain: the thread; timing: the thread on the cpu): 0, 1, ... */
  nth: number;
}

/** A pso drain question's variable, as the texts name it: " to ready (variable 3)", " to variable 3" without a name (nothing under tso: one question, about the oldest store). */
export function toVar(d: Decision): string {
  if (d.var === undefined) return "";
  return d.varName !== undefined ? ` to ${d.varName} (variable ${d.var})` : ` to variable ${d.var}`;
}

/** A decision as JSON shows it (diff, pivots): all but its rank per key. */
export type DecisionJson = Omit<Decision, "nth">;

export function decisionJson(d: Decision): DecisionJson {
  return {
    kind: d.kind,
    index: d.index,
    seq: d.seq,
    cpu: d.cpu,
    tid: d.tid,
    value: d.value,
    ...(d.options ? { options: d.options } : {}),
    ...(d.var !== undefined ? varOf(d.var, d.varName) : {}),
  };
}

/** A drain decision's variable fields: its id, and its name when it has one. */
function varOf(id: number, name: string | undefined): { var: number; varName?: string } {
  return name !== undefined ? { var: id, varName: name } : { var: id };
}

/** The key a decision is matched by when a changed run follows an original one (guided.ts). */
export function keyOf(kind: DecisionKind, cpu: number, tid: number): number {
  // Picks by cpu; preemptions and drains by thread; timing by the thread on the cpu, or the idle cpu (-1 - cpu).
  if (kind === "pick") return cpu;
  if (kind === "timing" && tid < 0) return -1 - cpu;
  return tid;
}

/** Per-key counters: which n-th decision of a kind a key is at. */
export class NthCounter {
  private readonly m = new Map<number, number>();
  next(key: number): number {
    const n = this.m.get(key) ?? 0;
    this.m.set(key, n + 1);
    return n;
  }
}

/** A growable byte list (timing draws). */
class Bytes {
  buf = new Uint8Array(256);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const nb = new Uint8Array(this.buf.length * 2);
      nb.set(this.buf);
      this.buf = nb;
    }
    this.buf[this.length++] = v;
  }
  toArray(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * Records every answer `inner` gives. A chooser without next() (first come,
 * first served) is recorded as if it answered 0, the head of the queue: the
 * same run (the kernel tells took() the pick; with `annotate`, next() is
 * asked, to see the options). With `annotate`, each decision's place is kept
 * in `decisions` (in the order made).
 */
export class DecisionRecorder implements Chooser {
  private readonly picks: number[] = [];
  private asked = 0;
  private readonly yes: PreemptYes[] = [];
  private readonly draws = new Bytes();
  private drainAsked = 0;
  private readonly drainYes: PreemptYes[] = [];
  private view: SchedView | null = null;
  readonly decisions: Decision[] | null;
  private readonly nth = {
    pick: new NthCounter(),
    preempt: new NthCounter(),
    timing: new NthCounter(),
    drain: new NthCounter(),
  };
  /**
   * The inner chooser's generator when it is the random one and decisions are
   * not annotated (a plain recording): its answers are drawn here directly,
   * the same draws in the same order, without a second call per step.
   */
  private readonly rng: Rng | null;

  /** Present when the inner chooser picks, or picks are annotated (their options): the kernel then asks, else tells took(). */
  readonly next?: (cpu: number, ready: readonly number[]) => number;
  /** Present otherwise: the head of the queue was taken among two or more ready. */
  readonly took?: (cpu: number, tid: number) => void;

  constructor(
    private readonly inner: Chooser,
    private readonly cpus: number,
    annotate = false,
  ) {
    this.decisions = annotate ? [] : null;
    if (annotate || inner.next !== undefined) this.next = (cpu, ready) => this.pick(cpu, ready);
    else this.took = (_cpu, tid) => void this.picks.push(tid);
    this.rng = !annotate && inner instanceof RandomChooser ? inner.rng : null;
  }

  attach(view: SchedView): void {
    this.view = view;
    this.inner.attach?.(view);
  }

  private pick(cpu: number, ready: readonly number[]): number {
    const asked = this.inner.next ? this.inner.next(cpu, ready) : 0;
    const i = Number.isInteger(asked) && asked >= 0 && asked < ready.length ? asked : 0;
    const tid = ready[i]!;
    if (this.decisions) {
      this.decisions.push({
        kind: "pick",
        index: this.picks.length,
        seq: this.seq() + 1,
        cpu,
        tid,
        value: tid,
        options: [...ready],
        nth: this.nth.pick.next(keyOf("pick", cpu, tid)),
      });
    }
    this.picks.push(tid);
    return i;
  }

  preempt(cpu: number, tid: number): boolean {
    const rng = this.rng;
    if (rng !== null) {
      const y = randomPreempt(rng);
      if (y) this.yes.push({ at: this.asked, tid });
      this.asked++;
      return y;
    }
    const y = this.inner.preempt(cpu, tid);
    if (this.decisions) {
      this.decisions.push({
        kind: "preempt",
        index: this.asked,
        seq: this.seq() + 1,
        cpu,
        tid,
        value: y ? 1 : 0,
        nth: this.nth.preempt.next(keyOf("preempt", cpu, tid)),
      });
    }
    if (y) this.yes.push({ at: this.asked, tid });
    this.asked++;
    return y;
  }

  jitter(cpu: number): number {
    const rng = this.rng;
    if (rng !== null) {
      const v = randomJitter(rng); // 1..4 already
      const d = this.draws;
      if (d.length < d.buf.length) d.buf[d.length++] = v;
      else d.push(v);
      return v;
    }
    const j = this.inner.jitter(cpu);
    const v = Number.isInteger(j) && j >= 1 && j <= 4 ? j : 1;
    if (this.decisions) {
      const tid = this.view ? this.view.onCpu(cpu) : -1;
      this.decisions.push({
        kind: "timing",
        index: this.draws.length,
        seq: this.seq(),
        cpu,
        tid,
        value: v,
        nth: this.nth.timing.next(keyOf("timing", cpu, tid)),
      });
    }
    this.draws.push(v);
    return v;
  }

  drain(cpu: number, tid: number, v: number): boolean {
    const rng = this.rng;
    const y = rng !== null ? randomDrain(rng) : this.inner.drain(cpu, tid, v);
    if (this.decisions) {
      this.decisions.push({
        kind: "drain",
        index: this.drainAsked,
        seq: this.seq() + 1,
        cpu,
        tid,
        value: y ? 1 : 0,
        ...(v >= 0 ? varOf(v, this.view?.varName?.(v)) : {}),
        nth: this.nth.drain.next(keyOf("drain", cpu, tid)),
      });
    }
    if (y) this.drainYes.push({ at: this.drainAsked, tid });
    this.drainAsked++;
    return y;
  }

  private seq(): number {
    return this.view ? this.view.seq() : -1;
  }

  /** The answers so far. */
  schedule(): Schedule {
    return {
      cpus: this.cpus,
      picks: [...this.picks],
      preempts: { asked: this.asked, yes: [...this.yes] },
      jitter: this.draws.toArray(),
      ...(this.drainAsked > 0 ? { drains: { asked: this.drainAsked, yes: [...this.drainYes] } } : {}),
    };
  }
}
