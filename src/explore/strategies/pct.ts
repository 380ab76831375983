// PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
// Nagarakatte, ASPLOS 2010), on the kernel's Chooser seam.
//
// Each thread gets a random priority when the scheduler first sees it (all
// above d). d - 1 change points are drawn among the run's k steps (a step:
// anything a cpu does, counted as the kernel times it); at the i-th, the
// thread that just ran the step gets priority i, below every initial one.
// The scheduler always runs the highest-priority thread that can progress:
// a free cpu takes the best ready thread, and a running thread is preempted
// before its next user step as soon as a queued one that can progress
// outranks it.
//
// Guarantee (one cpu): a bug of depth d (d ordering constraints between
// steps suffice to make it happen) is hit by each run with probability at
// least 1 / (n · k^(d-1)), n threads and k steps; test/strategies.test.ts
// checks it. On several cpus the n highest priorities hold the cpus and the
// timing between them stays random, so the bound is not proved there.
//
// k is measured once per scenario variant by a pilot run with the calm
// chooser (pilotSteps: its steps): the same for every seed, so shards agree.
// A thread that busy-waits for a lower-priority one would starve it: after
// FAIR_STEPS steps in a row it drops below every priority (fair.ts).
// Under the tso memory model the drain questions (sched.ts) are answered at
// random, one in two, from a generator of their own: the bound above says
// nothing about the store orders a run sees.

import { type Chooser, Rng, type SchedView, simulate, type World } from "../../kernel/index.ts";
import { calmChooser } from "./calm.ts";
import { Fairness } from "./fair.ts";

/** A run's PCT chooser: seed, depth d >= 1, steps k >= 1. */
export function pctChooser(seed: number, depth: number, steps: number): Chooser {
  const rng = new Rng(seed);
  const timing = new Rng((seed ^ 0x5bd1e995) >>> 0);
  // tso: when a buffered store reaches memory is not a priority matter: drawn, one in two, apart from timing.
  const drains = new Rng((seed ^ 0x27d4eb2f) >>> 0);
  const k = Math.max(1, steps);
  // d - 1 change points, distinct when there are enough steps.
  const change = new Map<number, number>();
  for (let i = 1; i < depth; i++) {
    let at = rng.below(k);
    for (let tries = 0; change.has(at) && tries < 64; tries++) at = rng.below(k);
    change.set(at, i);
  }
  const prio = new Map<number, number>();
  const priority = (tid: number): number => {
    let p = prio.get(tid);
    if (p === undefined) {
      p = depth + rng.u32() / 4294967296;
      prio.set(tid, p);
    }
    return p;
  };
  /** a outranks b: higher priority, ties to the lower tid. */
  const above = (a: number, b: number) => {
    const pa = priority(a),
      pb = priority(b);
    return pa > pb || (pa === pb && a < b);
  };
  let view: SchedView | null = null;
  let step = 0;
  const fair = new Fairness();
  /** Priorities below every other, for threads switched out for fairness (fair.ts), lowest last. */
  let starved = 0;
  return {
    attach(v) {
      view = v;
    },
    next(_cpu, ready) {
      let best = -1;
      for (let i = 0; i < ready.length; i++) {
        const t = ready[i]!;
        if (view && !view.canProgress(t)) continue;
        if (best < 0 || above(t, ready[best]!)) best = i;
      }
      if (best >= 0) return best;
      for (let i = 1; i < ready.length; i++) if (above(ready[i]!, ready[Math.max(best, 0)]!)) best = i;
      return Math.max(0, best);
    },
    preempt(cpu, tid) {
      if (!view) return false;
      let other = false;
      for (const q of view.queued()) {
        if (q === tid || !view.canProgress(q)) continue;
        other = true;
        if (above(q, tid)) {
          fair.reset(cpu);
          return true;
        }
      }
      if (other && fair.starving(cpu, tid)) {
        prio.set(tid, -++starved);
        return true;
      }
      return false;
    },
    jitter(cpu) {
      const c = change.get(step++);
      if (c !== undefined && view) {
        const tid = view.onCpu(cpu);
        if (tid >= 0) prio.set(tid, c);
      }
      return 1 + timing.below(4);
    },
    drain: () => drains.below(2) === 0,
  };
}

/** k for PCT: the steps of the world's calm run, at least 1. */
export function pilotSteps(world: World, maxEvents: number): number {
  let steps = 0;
  const calm = calmChooser();
  simulate(world, {
    seed: 0,
    maxEvents,
    chooser: {
      ...calm,
      jitter: () => {
        steps++;
        return 1;
      },
    },
  });
  return Math.max(1, steps);
}
