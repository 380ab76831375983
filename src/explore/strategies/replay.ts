// Replay of a decision list (record --schedule, --schedule-from): answers
// each question with the next recorded answer of its kind, so the same world
// gives the same run, whatever the PRNG. When the world changed (another
// fix, an edited program) a recorded decision may no longer apply: a pick of
// a thread that is not ready, a preemption recorded for another thread, or
// the list running out. The first such decision is kept (`mismatch`, with
// where it happened) and from there on every question goes to the fallback
// strategy.

import type { Chooser, SchedView } from "../../kernel/index.ts";
import type { Schedule } from "../../trace/schedule.ts";

/** A schedule's drain questions when it has none (an sc run). */
const NO_DRAINS = { asked: 0, yes: [] } as const;

/** The first recorded decision that did not apply. */
export interface Mismatch {
  /** The event the run was at (the next event: the seq it shaped). */
  seq: number;
  cpu: number;
  /** One line: which decision, and why it did not apply. */
  what: string;
}

export class ReplayChooser implements Chooser {
  private pick = 0;
  private asked = 0;
  private yesAt = 0;
  private draw = 0;
  private drainAsked = 0;
  private drainYesAt = 0;
  private view: SchedView | null = null;
  /** Set at the first decision that did not apply; the fallback answers from then on. */
  mismatch: Mismatch | null = null;

  constructor(
    private readonly s: Schedule,
    private readonly fallback: Chooser,
  ) {}

  attach(view: SchedView): void {
    this.view = view;
    this.fallback.attach?.(view);
  }

  private miss(cpu: number, what: string, seq = (this.view?.seq() ?? -1) + 1): void {
    this.mismatch = { seq, cpu, what };
  }

  private fallbackNext(cpu: number, ready: readonly number[]): number {
    return this.fallback.next ? this.fallback.next(cpu, ready) : 0;
  }

  next(cpu: number, ready: readonly number[]): number {
    if (this.mismatch) return this.fallbackNext(cpu, ready);
    const i = this.pick;
    const tid = this.s.picks[i];
    if (tid === undefined) {
      this.miss(
        cpu,
        `the recorded picks ran out (the list holds ${this.s.picks.length}; this run picks again on cpu ${cpu}, among tids ${ready.join(", ")})`,
      );
      return this.fallbackNext(cpu, ready);
    }
    const at = ready.indexOf(tid);
    if (at < 0) {
      this.miss(
        cpu,
        `pick ${i} (run tid ${tid} on cpu ${cpu}) does not apply: tid ${tid} is not ready (ready: ${ready.join(", ")})`,
      );
      return this.fallbackNext(cpu, ready);
    }
    this.pick++;
    return at;
  }

  preempt(cpu: number, tid: number): boolean {
    if (this.mismatch) return this.fallback.preempt(cpu, tid);
    const q = this.asked;
    const p = this.s.preempts;
    if (q >= p.asked) {
      this.miss(
        cpu,
        `the recorded preemption decisions ran out (the list answers ${p.asked} questions; this run asks again, about tid ${tid} on cpu ${cpu})`,
      );
      return this.fallback.preempt(cpu, tid);
    }
    const y = p.yes[this.yesAt];
    if (y === undefined || y.at !== q) {
      this.asked++;
      return false;
    }
    if (y.tid !== tid) {
      this.miss(
        cpu,
        `preemption ${this.yesAt} (preempt tid ${y.tid} at question ${q}) does not apply: the question is about tid ${tid} on cpu ${cpu}`,
      );
      return this.fallback.preempt(cpu, tid);
    }
    this.asked++;
    this.yesAt++;
    return true;
  }

  jitter(cpu: number): number {
    if (this.mismatch) return this.fallback.jitter(cpu);
    const v = this.s.jitter[this.draw];
    if (v === undefined) {
      this.miss(
        cpu,
        `the recorded timing draws ran out (the list holds ${this.s.jitter.length}; this run has more steps)`,
        this.view?.seq() ?? -1,
      );
      return this.fallback.jitter(cpu);
    }
    this.draw++;
    return v;
  }

  drain(cpu: number, tid: number, v: number): boolean {
    if (this.mismatch) return this.fallback.drain(cpu, tid, v);
    const q = this.drainAsked;
    const d = this.s.drains ?? NO_DRAINS;
    if (q >= d.asked) {
      this.miss(
        cpu,
        `the recorded drain decisions ran out (the list answers ${d.asked} questions; this run asks again, about tid ${tid} on cpu ${cpu})`,
      );
      return this.fallback.drain(cpu, tid, v);
    }
    const y = d.yes[this.drainYesAt];
    if (y === undefined || y.at !== q) {
      this.drainAsked++;
      return false;
    }
    if (y.tid !== tid) {
      this.miss(
        cpu,
        `drain ${this.drainYesAt} (commit a store of tid ${y.tid} at question ${q}) does not apply: the question is about tid ${tid} on cpu ${cpu}`,
      );
      return this.fallback.drain(cpu, tid, v);
    }
    this.drainAsked++;
    this.drainYesAt++;
    return true;
  }

  /** True when every recorded decision was used and none failed to apply. */
  get exhausted(): boolean {
    return (
      this.mismatch === null &&
      this.pick === this.s.picks.length &&
      this.asked === this.s.preempts.asked &&
      this.draw === this.s.jitter.length &&
      this.drainAsked === (this.s.drains?.asked ?? 0)
    );
  }

  /** How much of the list the run used. */
  used(): { picks: number; questions: number; draws: number } {
    return { picks: this.pick, questions: this.asked, draws: this.draw };
  }
}
