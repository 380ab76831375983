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
// Under the tso memory model one cpu is sc (a switch drains the store
// buffer: src/kernel/tso.ts), so the drain questions are no choice here: the
// search answers drain now; search.ts refuses a tso world, whose store
// buffering needs two cpus.
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
import { Fairness } from "./fair.ts";

interface Point {
  choice: number;
  options: number;
  /** A preemption question (choice 1 = preempt). */
  preempt: boolean;
}

export class BoundedSearch {
  private readonly stack: Point[] = [];
  private started = false;
  /** Every schedule within the bound has been handed out. */
  done = false;
  /** Schedules handed out. */
  runs = 0;

  constructor(readonly bound: number) {}

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
    let depth = 0;
    let used = 0;
    let view: SchedView | null = null;
    const fair = new Fairness();
    const at = (options: number, preempt: boolean): number => {
      let p = stack[depth];
      if (p === undefined) {
        p = { choice: 0, options, preempt };
        stack.push(p);
      } else if (p.options !== options || p.preempt !== preempt) {
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
        return ok[at(ok.length, false)]!;
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
        const yes = at(2, true) === 1;
        if (yes) {
          used++;
          fair.reset(cpu);
        }
        return yes;
      },
      jitter: () => 1,
      // tso on one cpu: a switch drains the store buffer before another thread runs, so no thread can read memory
      // while a store waits: when it drains changes no value read, and the search drains at once (no choice point).
      drain: () => true,
    };
  }
}
