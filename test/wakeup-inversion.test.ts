// wakeup-inversion: a thread waiting on a condvar, semaphore, futex word or
// pipe is woken by a lower-priority thread that a middle-priority one kept
// from running while it waited. Judged at the wake; not for a lock handoff
// (priority-inversion's), a kernel wake, a waker ranked at or above the
// waiter, a middle thread that ran only before the wait, or a join. Off (left
// out of a scan, dropped by explore) in a world without priorities.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KIND } from "../src/kernel/index.ts";
import { firstViolation } from "../src/replay/index.ts";
import { INVARIANTS, planFor, reportingIn, wakeupInversion } from "../src/replay/invariants.ts";
import { resolveScenario } from "../src/scenarios/index.ts";
import { memorySource } from "./helpers/replay-sources.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { replaySeed } from "./helpers/scenario-run.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-wakeup-inv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * One cpu: low (fifo 10) ends high's (fifo 30) wait after `work` steps; medium (fifo 20) wakes at
 * `mediumAt` ns and computes. `wait`/`end`: the ops of the wait and of its end.
 */
function scenario(
  name: string,
  o: { wait: string; end: string; vars: string; lowPrio?: number; mediumAt?: number; mediumSteps?: number },
) {
  const file = join(dir, `${name}.ts`);
  writeFileSync(
    file,
    `export default (k) => k.defineScenario({
  name: "${name}", description: "a wait a lower-priority thread ends", defaults: { seed: 1, cpus: 1 },
  build: () => ({
    vars: { ${o.vars} },
    locks: { m: { type: "mutex" } },
    procs: [{ name: "p", main: [
      k.setPriority(50),
      k.thread([k.user("low: work", 60), ${o.end}], { tid: "low", prio: ${o.lowPrio ?? 10}, policy: "fifo" }),
      k.thread([k.sleep(2000), ${o.wait}, k.user("high: done")], { tid: "high", prio: 30, policy: "fifo" }),
      k.thread([k.sleep(${o.mediumAt ?? 4000}), k.user("medium: compute", ${o.mediumSteps ?? 80})], { tid: "medium", prio: 20, policy: "fifo" }),
      k.join(k.r("low")), k.join(k.r("high")), k.join(k.r("medium")),
    ] }],
  }),
});
`,
  );
  return file;
}

const SEM = { vars: "s: k.semaphore(0)", wait: 'k.semWait("s")', end: 'k.semPost("s")' };

describe("wakeup-inversion", () => {
  it("a semaphore posted by a low-priority thread that a medium one kept from running: found at the wake, named", async () => {
    const sc = await resolveScenario(scenario("sem", SEM));
    const r = replaySeed(sc, 1);
    expect(r.v?.invariant).toBe("wakeup-inversion");
    const e = r.evs[r.v!.seq]!;
    expect([e.kind, e.a, e.b]).toEqual([KIND.wake, 3, 2]);
    expect(r.v!.message).toMatch(
      /^tid 3 \(pid 1, fifo 30\) waited for semaphore s from seq \d+ until tid 2 \(fifo 10\) woke it here; tid 4 \(fifo 20\) ran from seq \d+ to \d+ while tid 2 was ready and could not: a priority inversion through a wakeup \(a semaphore has no owner/,
    );
    expect(r.v!.causes.map((c) => r.evs[c.seq]!.kind)).toEqual([KIND.futexWait, KIND.switch]);
  });

  it("is not reported when the middle thread ran only before the wait, or the waker is not ranked below the waiter", async () => {
    // medium computes a little from 100 ns: it has exited before high waits (from ~2000 ns).
    const early = replaySeed(await resolveScenario(scenario("early", { ...SEM, mediumAt: 100, mediumSteps: 2 })), 1);
    const wait = early.evs.find((e) => e.kind === KIND.futexWait && e.tid === 3)!;
    expect(early.evs.findIndex((e) => e.kind === KIND.threadExit && e.tid === 4)).toBeLessThan(wait.seq);
    expect(early.v).toBeNull();
    // The waker at fifo 40: it outranks medium and the waiter; nothing keeps it.
    const high = replaySeed(await resolveScenario(scenario("high-waker", { ...SEM, lowPrio: 40 })), 1);
    expect(high.v).toBeNull();
  });

  it("leaves lock handoffs to priority-inversion, and joins alone (examples/priority-inversion.ts)", async () => {
    const file = join(REPO_ROOT, "examples", "priority-inversion.ts");
    const pi = await resolveScenario(file);
    // high waits for the bus mutex low holds while medium runs: priority-inversion's (a lock has an owner) ...
    expect(replaySeed(pi, 1).v?.invariant).toBe("priority-inversion");
    // ... and its handoff of the mutex is no wakeup inversion.
    expect(firstViolation(await memorySource(file), ["wakeup-inversion"]).violation).toBeNull();
    // The fix: main (fifo 50) joins low while medium runs: a join is not judged.
    expect(replaySeed(pi, 1, { fix: "inherit" }).v).toBeNull();
  });

  it("costs a world without priorities nothing: left out of a scan up to the first sched-set, dropped by explore", async () => {
    expect(INVARIANTS).toContain(wakeupInversion);
    expect(planFor([wakeupInversion]).reports![KIND.schedSet]).toBe(1);
    expect(reportingIn([wakeupInversion], [KIND.schedSet])).toEqual([]);
    expect(reportingIn([wakeupInversion], [KIND.wake])).toEqual([wakeupInversion]);
  });
});
