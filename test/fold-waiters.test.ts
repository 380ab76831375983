// apply.ts keeps an index of who waits for which lock and pid once a state
// has more threads than it walks (derived, on the threads map, built on first
// use and added to as events set waits). A fold with a long-lived index must
// give the state a fold with a freshly built one gives: before each event that
// reads the index (a lock release, a process exit, a reap) the second state is
// rebuilt from the first's plain form (new maps, so its index is built from
// its threads again), and the two are compared after it.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyEvent, fromPlain, KIND, type KState, toPlain } from "../src/kernel/index.ts";
import { allEvents, canon, memorySource } from "./helpers/replay-sources.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

const READS_INDEX: readonly number[] = [KIND.lockRelease, KIND.procExit, KIND.reap];
const CROWD = join(REPO_ROOT, "fixtures/scenarios/crowd.ts");

describe("the waiter index gives the walk's state", () => {
  for (const seed of [1, 2, 3])
    it(`crowd (80 threads on a mutex, a parent in waitpid), seed ${seed}`, async () => {
      const src = await memorySource(CROWD, { seed });
      const a: KState = src.loadSnapshot(-1).state;
      let b = fromPlain(toPlain(a));
      const compared = new Map<number, number>();
      for (const e of allEvents(src)) {
        const reads = READS_INDEX.includes(e.kind);
        if (reads) b = fromPlain(toPlain(a));
        applyEvent(a, e);
        applyEvent(b, e);
        if (reads) {
          expect(canon(b), `after seq ${e.seq}`).toBe(canon(a));
          compared.set(e.kind, (compared.get(e.kind) ?? 0) + 1);
        }
      }
      // Each reader of the index ran, with more threads than the walk is kept for.
      for (const k of READS_INDEX) expect(compared.get(k) ?? 0, `events of kind ${k}`).toBeGreaterThan(0);
    });
});

// Below the index's size, apply.ts keeps a bound on each lock's waiters
// instead (UNWAITED: set by a walk, kept by lock-waits, acquires and exits),
// and a release whose bound says nobody waits walks nobody. A long-lived
// bound must never skip a wakeup the walk would make: before each lock
// release, the second state is rebuilt (no bounds: every release walks).
describe("the lock waiter bounds give the walk's state", () => {
  for (const [target, seed, maxEvents] of [
    ["stress", 1, 200_000],
    ["stress", 7, 200_000],
    ["tcmalloc-fork", 3, undefined],
    [join(REPO_ROOT, "fixtures/scenarios/two-consumers.ts"), 2, undefined],
    [join(REPO_ROOT, "fixtures/scenarios/handoff.ts"), 1, undefined],
  ] as const)
    it(`${target.split("/").pop()}, seed ${seed}`, async () => {
      const src = await memorySource(target, { seed, ...(maxEvents ? { maxEvents } : {}) });
      const a: KState = src.loadSnapshot(-1).state;
      let b = fromPlain(toPlain(a));
      let releases = 0;
      let waits = 0;
      for (const e of allEvents(src)) {
        const release = e.kind === KIND.lockRelease;
        if (release) b = fromPlain(toPlain(a));
        applyEvent(a, e);
        applyEvent(b, e);
        if (e.kind === KIND.lockWait) waits++;
        if (release) {
          releases++;
          expect(canon(b), `after seq ${e.seq}`).toBe(canon(a));
        }
      }
      expect(releases).toBeGreaterThan(0);
      if (target === "stress") expect(waits).toBeGreaterThan(0);
    });
});
