// A changed run that follows an original one: whatif's branch, shrink's
// candidates, pivots' flips. Each question is matched to the original's
// decision of the same kind, key and rank (keyOf in recorder.ts: the n-th
// pick on this cpu, the n-th preemption or drain question about this
// thread, the n-th timing draw of this thread), so a change in one place leaves the
// other threads' decisions where they were in their own progress. Changes
// override single decisions; a question the original never asked, or a
// recorded pick whose thread is not ready now, goes to the fallback
// strategy.

import type { Chooser, SchedView } from "../../kernel/index.ts";
import { type Decision, type DecisionKind, keyOf, NthCounter } from "./recorder.ts";

/** One decision changed: the kind, key and rank it is matched by, and the new answer (pick: a tid; preempt: 0 or 1; timing: 1..4). */
export interface Change {
  kind: DecisionKind;
  key: number;
  nth: number;
  value: number;
}

/** The change that gives decision d the answer `value`. */
export function changeOf(d: Decision, value: number): Change {
  return { kind: d.kind, key: keyOf(d.kind, d.cpu, d.tid), nth: d.nth, value };
}

type Table = Map<number, number[]>;

function tables(original: readonly Decision[]): Record<DecisionKind, Table> {
  const t: Record<DecisionKind, Table> = { pick: new Map(), preempt: new Map(), timing: new Map(), drain: new Map() };
  for (const d of original) {
    const key = keyOf(d.kind, d.cpu, d.tid);
    let list = t[d.kind].get(key);
    if (list === undefined) t[d.kind].set(key, (list = []));
    list[d.nth] = d.value;
  }
  return t;
}

export class GuidedChooser implements Chooser {
  private readonly t: Record<DecisionKind, Table>;
  private readonly changed = new Map<string, number>();
  private readonly nth = {
    pick: new NthCounter(),
    preempt: new NthCounter(),
    timing: new NthCounter(),
    drain: new NthCounter(),
  };
  private view: SchedView | null = null;
  /** Questions answered by the fallback (no matching original decision, or a recorded pick not ready). */
  unmatched = 0;
  /** The first recorded pick that did not apply (its thread not ready), as one line. */
  firstMiss: string | null = null;

  constructor(
    original: readonly Decision[],
    changes: readonly Change[],
    private readonly fallback: Chooser,
  ) {
    this.t = tables(original);
    for (const c of changes) this.changed.set(`${c.kind}:${c.key}:${c.nth}`, c.value);
  }

  attach(view: SchedView): void {
    this.view = view;
    this.fallback.attach?.(view);
  }

  private answer(kind: DecisionKind, key: number): number | undefined {
    const n = this.nth[kind].next(key);
    const c = this.changed.get(`${kind}:${key}:${n}`);
    if (c !== undefined) return c;
    return this.t[kind].get(key)?.[n];
  }

  next(cpu: number, ready: readonly number[]): number {
    const tid = this.answer("pick", keyOf("pick", cpu, -1));
    if (tid !== undefined) {
      const i = ready.indexOf(tid);
      if (i >= 0) return i;
      this.firstMiss ??= `at seq ${(this.view?.seq() ?? -1) + 1} cpu ${cpu} was to take tid ${tid}, which is not ready (ready: ${ready.join(", ")})`;
    }
    this.unmatched++;
    return this.fallback.next ? this.fallback.next(cpu, ready) : 0;
  }

  preempt(cpu: number, tid: number): boolean {
    const y = this.answer("preempt", keyOf("preempt", cpu, tid));
    if (y !== undefined) return y === 1;
    this.unmatched++;
    return this.fallback.preempt(cpu, tid);
  }

  drain(cpu: number, tid: number, v: number): boolean {
    const y = this.answer("drain", keyOf("drain", cpu, tid));
    if (y !== undefined) return y === 1;
    this.unmatched++;
    return this.fallback.drain(cpu, tid, v);
  }

  jitter(cpu: number): number {
    const tid = this.view ? this.view.onCpu(cpu) : -1;
    const v = this.answer("timing", keyOf("timing", cpu, tid));
    if (v !== undefined) return v;
    this.unmatched++;
    return this.fallback.jitter(cpu);
  }
}
