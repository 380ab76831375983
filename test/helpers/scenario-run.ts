// A scenario variant's seed run in full, for the examples' tests: its events,
// the first violation of its default set (the built-in invariants, the
// opt-in ones its rules set, and the scenario's own), the final state.

import type { KEvent, KState } from "../../src/kernel/index.ts";
import { prepareWith, run } from "../../src/record/index.ts";
import { Checker, invariantsFor, type Violation } from "../../src/replay/invariants.ts";
import type { Scenario } from "../../src/scenarios/index.ts";

export interface SeedRun {
  evs: KEvent[];
  v: Violation | null;
  st: KState;
}

export function replaySeed(sc: Scenario, seed: number, req: { opts?: string[]; fix?: string } = {}): SeedRun {
  const p = prepareWith(sc, { seed, ...req });
  const ck = new Checker(invariantsFor(p.invariants, p.world.config));
  const evs: KEvent[] = [];
  let v: Violation | null = null;
  const st = run(
    p,
    (e, after) => {
      evs.push({ ...e });
      v ??= ck.after(after, e);
    },
    (e, before) => void (v ??= ck.before(before, e)),
  );
  return { evs, v: v as Violation | null, st };
}
