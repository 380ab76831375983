// The state panes' rows (src/tui/rows.ts) on a real deadlock: the threads that
// can never run again and the locks they wait for are marked as the Vars pane
// marks a futex word with such a waiter ("bad": red, and counted in the pane's
// title), with a note that says why; a thread that is merely blocked is not.
import { describe, expect, it } from "vitest";
import { applyEvent, initState, KIND, type KState } from "../src/kernel/index.ts";
import { prepareWith } from "../src/record/index.ts";
import { resolveScenario, type Scenario } from "../src/scenarios/index.ts";
import { lockPane, threadPane } from "../src/tui/rows.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { replaySeed } from "./helpers/scenario-run.ts";

describe("the state panes on a deadlock (examples/lock-cycle.ts)", () => {
  it("mark the threads in the cycle and the locks they wait for; before the cycle closes, a waiter is only blocked", async () => {
    const sc = await resolveScenario(`${REPO_ROOT}/examples/lock-cycle.ts`);
    let r = replaySeed(sc, 1);
    let seed = 1;
    while (r.st.outcome?.kind !== "hang") r = replaySeed(sc, ++seed);
    const stuck = [...r.st.threads.values()].filter((t) => t.state === "blocked" && t.waitLock >= 0);
    expect(stuck.length).toBe(3);
    const threads = threadPane(r.st);
    for (const t of stuck) {
      const row = threads.rows.find((x) => x.ref.kind === "thread" && x.ref.id === t.tid)!;
      expect(row.mark, `seed ${seed} tid ${t.tid}`).toBe("bad");
      expect(row.note).toContain("nothing can wake it any more");
      const lock = lockPane(r.st).rows.find((x) => x.ref.kind === "lock" && x.ref.id === t.waitLock)!;
      expect(lock.mark).toBe("bad");
      expect(lock.note).toContain("a waiter nothing can wake any more");
    }
    // The first lock-wait of the run: its thread waits for a lock whose owner can still release it.
    const first = r.evs.findIndex((e) => e.kind === KIND.lockWait);
    const early = replayUpTo(sc, seed, first);
    const waiter = threadPane(early).rows.find((x) => x.ref.kind === "thread" && x.ref.id === r.evs[first]!.tid)!;
    expect(waiter.mark).toBe("warn");
    expect(lockPane(early).rows.every((x) => x.mark !== "bad")).toBe(true);
  });
});

/** The state after event `seq` of the seed's run (the fold of its events from the initial state). */
function replayUpTo(sc: Scenario, seed: number, seq: number): KState {
  const { evs } = replaySeed(sc, seed);
  const st = initState(prepareWith(sc, { seed }).world.config);
  for (const e of evs.slice(0, seq + 1)) applyEvent(st, e);
  return st;
}
