// Preemption-bounded depth-first search (CHESS, Musuvathi and Qadeer, PLDI
// 2007; shuttle's dfs.rs): every schedule of a world on one cpu with at most
// `bound` preemptions, each run once.
//
// On one cpu the decisions are exactly which ready thread a free cpu takes
// and whether the running thread is preempted (timing draws only move the
// clock: they are fixed at 1). A choice point is a moment with two or more
// alternatives: a pick among two or more threads that can progress, or a
// preemption question while a queued thread could progress (and fewer than
// `bound` preemptions were made). A thread that blocks, exits or spins on a
// held lock gives up the cpu by the kernel's rules: that switch is free.
//
// Under the tso memory model (src/kernel/tso.ts) one cpu is sc: a switch
// drains the store buffer before another thread runs, so store buffering
// needs two cpus. A search of a tso world (`drains`) runs on the world's
// cpus (two or more), and each drain question (does the running thread's
// oldest buffered store reach memory now?) is a choice point too, "keep it
// buffered" first; a thread whose stores stayed buffered FAIR_STEPS
// questions in a row has them drained (no choice point: real buffers drain).
// On several cpus timing decides how the cpus' steps interleave (two threads
// started a few steps apart never overlap at base costs), so each timing draw
// is a choice point too, while the bound allows: the step at its base cost,
// or delayed (4x); delays count against the bound with the preemptions
// (delay bounding, Emmi, Qadeer and Rakamarić, POPL 2011). Every other cost
// is left out, so the search is exhaustive at these costs only (search.ts
// says so: `timed`).
//
// A thread busy-waiting for another would spin until the event budget in
// every schedule that does not preempt it: after FAIR_STEPS questions in a row
// it is switched out (fair.ts), not counted as a preemption and not a choice.
//
// The search is stateless (it re-runs the world from the start for each
// schedule, replaying the choices of the path so far, as CHESS does) and
// exact: when it ends, every schedule within the bound has run, so "no
// failure" is a proof for the bound. `limit` caps the schedules run; a
// search cut by it says so.

import type { Chooser, SchedView } from "../../kernel/index.ts";
import { FAIR_STEPS, Fairness } from "./fair.ts";

interface Point {
  choice: number;
  options: number;
  /** What was asked: a pick, a preemption question (choice 1 = preempt) or a drain question (choice 1 = drain). */
  kind: PointKind;
}

type PointKind = "pick" | "preempt" | "drain" | "delay";

export class BoundedSearch {
  private readonly stack: Point[] = [];
  private started = false;
  /** Every schedule within the bound has been handed out. */
  done = false;
  /** Schedules handed out. */
  runs = 0;

  /** `drains`: branch on the drain questions of a tso world on several cpus (else each is answered "drain now"). */
  constructor(
    readonly bound: number,
    readonly drains = false,
  ) {}

  /** The chooser of the next schedule, or null when there is none left. Call after the previous run ended. */
  next(): Chooser | null {
    if (this.started && !this.advance()) this.done = true;
    if (this.done) return null;
    this.started = true;
    this.runs++;
    return this.chooser();
  }

  /** Moves to the next path: the deepest point with an untried option, later points dropped. */
  private advance(): boolean {
    const s = this.stack;
    while (s.length > 0) {
      const top = s[s.length - 1]!;
      if (top.choice + 1 < top.options) {
        top.choice++;
        return true;
      }
      s.pop();
    }
    return false;
  }

  private chooser(): Chooser {
    const stack = this.stack;
    const bound = this.bound;
    const drains = this.drains;
    let depth = 0;
    let used = 0;
    let view: SchedView | null = null;
    const fair = new Fairness();
    /** Drain questions in a row each thread's stores stayed buffered. */
    const kept = new Map<number, number>();
    const at = (options: number, kind: PointKind): number => {
      let p = stack[depth];
      if (p === undefined) {
        p = { choice: 0, options, kind };
        stack.push(p);
      } else if (p.options !== options || p.kind !== kind) {
        throw new Error(
          `bounded search: the run is not deterministic (choice point ${depth} had ${p.options} options, now ${options})`,
        );
      }
      depth++;
      return p.choice;
    };
    return {
      attach(v) {
        view = v;
      },
      next(_cpu, ready) {
        const ok: number[] = [];
        for (let i = 0; i < ready.length; i++) if (!view || view.canProgress(ready[i]!)) ok.push(i);
        if (ok.length <= 1) return ok[0] ?? 0;
        return ok[at(ok.length, "pick")]!;
      },
      preempt(cpu, tid) {
        if (!view) return false;
        let other = false;
        for (const q of view.queued()) {
          if (q !== tid && view.canProgress(q)) {
            other = true;
            break;
          }
        }
        if (!other) return false;
        if (fair.starving(cpu, tid)) return true;
        if (used >= bound) return false;
        const yes = at(2, "preempt") === 1;
        if (yes) {
          used++;
          fair.reset(cpu);
        }
        return yes;
      },
      jitter() {
        // tso on several cpus: a step may be delayed (4x its base cost), within the bound (delays count with preemptions).
        if (!drains || used >= bound) return 1;
        if (at(2, "delay") === 1) {
          used++;
          return 4;
        }
        return 1;
      },
      drain(_cpu, tid) {
        // On one cpu (no `drains`) when a store drains changes no value any thread reads: drain at once.
        if (!drains) return true;
        const n = kept.get(tid) ?? 0;
        if (n >= FAIR_STEPS || at(2, "drain") === 1) {
          kept.delete(tid);
          return true;
        }
        kept.set(tid, n + 1);
        return false;
      },
    };
  }
}
