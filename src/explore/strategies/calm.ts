// The calm chooser: no preemption, first come first served, every step at
// its base cost (timing 1), and under tso every buffered store drained at
// the first question (the run closest to sc). The simplest schedule a world has; the fallback
// where a shrunk or changed schedule has no recorded answer (Hypothesis's
// "zero" choice: shrinking moves towards it), and PCT's pilot run.

import type { Chooser } from "../../kernel/index.ts";

export function calmChooser(): Chooser {
  return { next: () => 0, preempt: () => false, jitter: () => 1, drain: () => true };
}
