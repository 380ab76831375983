// Issue 12's strategies and the schedule as data: the decision list's
// layout (round trip, untrusted bytes), exact replay, PCT's worth against
// random on a bug of depth 2 and 3, the bounded search's exact counts.

import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { search } from "../src/explore/search.ts";
import { newChecker, runBatch } from "../src/explore/seed.ts";
import {
  calmChooser,
  DecisionRecorder,
  ReplayChooser,
  randomChooser,
  StrategyError,
  strategySpec,
} from "../src/explore/strategies/index.ts";
import { simulate } from "../src/kernel/index.ts";
import { contextOf, prepare, prepareWith } from "../src/record/index.ts";
import { resolveScenario } from "../src/scenarios/index.ts";
import {
  decodeSchedule,
  encodeSchedule,
  parseScheduleText,
  type Schedule,
  ScheduleError,
  scheduleText,
} from "../src/trace/schedule.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

const PCT_FIXTURE = join(REPO_ROOT, "fixtures", "scenarios", "pct-depth.ts");

const schedules: fc.Arbitrary<Schedule> = fc
  .record({
    cpus: fc.integer({ min: 1, max: 64 }),
    picks: fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 40 }),
    asked: fc.integer({ min: 0, max: 5000 }),
    yes: fc.array(fc.tuple(fc.integer({ min: 0, max: 4999 }), fc.integer({ min: 1, max: 500 })), { maxLength: 30 }),
    jitter: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 300 }),
  })
  .map(({ cpus, picks, asked, yes, jitter }) => {
    const at = [...new Set(yes.map(([a]) => a % Math.max(1, asked)))].sort((a, b) => a - b).filter(() => asked > 0);
    return {
      cpus,
      picks,
      preempts: { asked, yes: at.map((a, i) => ({ at: a, tid: yes[i]![1] })) },
      jitter: Uint8Array.from(jitter),
    };
  });

describe("the schedule as data", () => {
  it("bytes and the compact string round-trip any decision list (property)", () => {
    fc.assert(
      fc.property(schedules, (s) => {
        expect(decodeSchedule(encodeSchedule(s), 64)).toEqual(s);
        expect(parseScheduleText(scheduleText(s), 64)).toEqual(s);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses every truncated prefix and any byte appended, with a reason, allocating no more than the bytes hold", () => {
    const s: Schedule = {
      cpus: 2,
      picks: [3, 1, 2],
      preempts: {
        asked: 40,
        yes: [
          { at: 3, tid: 2 },
          { at: 39, tid: 1 },
        ],
      },
      jitter: Uint8Array.from([1, 2, 3, 4, 4, 3]),
    };
    const b = encodeSchedule(s);
    for (let n = 0; n < b.length; n++) expect(() => decodeSchedule(b.subarray(0, n), 64)).toThrow(ScheduleError);
    expect(() => decodeSchedule(Uint8Array.from([...b, 0]), 64)).toThrow(/left over/);
    // A count of 2^40 entries in a handful of bytes is refused before any allocation.
    expect(() => decodeSchedule(Uint8Array.from([1, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]), 64)).toThrow(
      /more than the 0 bytes left/,
    );
    expect(() => decodeSchedule(Uint8Array.from([1, 99]), 64)).toThrow(/99 cpus, outside 1..64/);
    expect(() => parseScheduleText("ks1.@@@", 64)).toThrow(/not base64url/);
    expect(() => parseScheduleText("hello", 64)).toThrow(/does not start with 'ks1.'/);
  });

  it("a run replayed from its recorded decisions is the same run, whatever the fallback strategy", async () => {
    // stress --opt state=os has a fifo thread: the scheduling policy's path through dequeue.
    for (const [target, opts] of [
      ["tcmalloc-fork", []],
      ["asterinas-procfs", []],
      ["stress", []],
      ["stress", ["state=os"]],
    ] as const) {
      const p = await prepare({ target, opts: [...opts], seed: 5, maxEvents: 20_000 });
      const events = (ch: import("../src/kernel/index.ts").Chooser) => {
        const out: string[] = [];
        simulate(
          p.world,
          { seed: 5, maxEvents: p.maxEvents, chooser: ch },
          (e) => void out.push(`${e.seq} ${e.time} ${e.cpu} ${e.tid} ${e.kind} ${e.a} ${e.b} ${e.c} ${e.s}`),
        );
        return out;
      };
      const rec = new DecisionRecorder(randomChooser(5), p.world.config.cpus);
      const original = events(rec);
      const replay = new ReplayChooser(rec.schedule(), calmChooser());
      expect(events(replay), target).toEqual(original);
      expect(replay.mismatch).toBeNull();
      expect(replay.exhausted).toBe(true);
      // Without the recorder: the kernel's default chooser gives the same run (the recorder changes nothing).
      expect(events(randomChooser(5))).toEqual(original);
    }
  });

  it("a decision that no longer applies is named with where, and the fallback takes over", async () => {
    const p = await prepare({ target: "tcmalloc-fork", seed: 1 });
    const s: Schedule = {
      cpus: 2,
      picks: [],
      preempts: { asked: 1, yes: [{ at: 0, tid: 99 }] },
      jitter: new Uint8Array(0),
    };
    const ch = new ReplayChooser(s, randomChooser(1));
    simulate(p.world, { seed: 1, maxEvents: p.maxEvents, chooser: ch });
    expect(ch.mismatch?.what).toMatch(/ran out|does not apply/);
    expect(ch.mismatch!.seq).toBeGreaterThanOrEqual(0);
  });

  it("strategy flags are checked with one clear line", () => {
    expect(() => strategySpec("fifo", undefined, undefined)).toThrow(
      /unknown strategy 'fifo': one of random, pct, dfs/,
    );
    expect(() => strategySpec("random", 3, undefined)).toThrow(StrategyError);
    expect(() => strategySpec("pct", 0, undefined)).toThrow(/--depth must be 1..16/);
    expect(strategySpec("pct", undefined, undefined)).toEqual({ name: "pct", depth: 3 });
    expect(strategySpec("dfs", undefined, 1)).toEqual({ name: "dfs", preemptions: 1 });
  });
});

describe("PCT's worth (fixtures/scenarios/pct-depth.ts: two threads, one cpu)", () => {
  for (const d of [2, 3]) {
    it(`depth ${d}: over 10,000 runs PCT hits at least 1/(n·k^(d-1)) and at least 20× as often as random`, async () => {
      const sc = await resolveScenario(PCT_FIXTURE);
      const N = 10_000;
      const rate = (strategy: import("../src/explore/strategies/index.ts").StrategySpec) => {
        const req = { opts: [`depth=${d}`], strategy };
        const b = runBatch(sc, req, 1, N, newChecker());
        expect(b.errors).toEqual([]);
        for (const f of b.failing) expect(f.violation?.invariant).toBe("assertions");
        return b.failing.length / N;
      };
      const pct = rate({ name: "pct", depth: d });
      const random = rate({ name: "random" });
      const p = prepareWith(sc, { opts: [`depth=${d}`], seed: 1, strategy: { name: "pct", depth: d } });
      const k = contextOf(p).steps;
      // n = 2 threads; k = the steps PCT draws its change points from (the whole run's), so the bound is the paper's.
      const bound = 1 / (2 * k ** (d - 1));
      expect(k).toBeGreaterThan(400);
      expect(pct).toBeGreaterThanOrEqual(bound);
      // The stronger form with k the steps of one thread (about half) holds too.
      expect(pct).toBeGreaterThanOrEqual(1 / (2 * Math.ceil(k / 2) ** (d - 1)));
      expect(pct).toBeGreaterThanOrEqual(20 * random);
      expect(pct).toBeGreaterThan(0);
    }, 120_000);
  }
});

describe("the bounded search (dfs)", () => {
  it("tcmalloc-fork on one cpu: no failing schedule with at most 1 preemption (207 schedules), 168 of 8,352 with at most 2", async () => {
    const p = await prepare({ target: "tcmalloc-fork", cpus: 1, seed: 0 });
    const w = { file: "tcmalloc-fork", world: p.world, invariants: p.invariants, maxEvents: p.maxEvents, seed: 0 };
    const one = search(w, 1);
    expect(one).toMatchObject({ complete: true, runs: 207, failingCount: 0 });
    const two = search(w, 2);
    expect(two).toMatchObject({ complete: true, runs: 8352, failingCount: 168, fewest: 2 });
    for (const f of two.failing) expect(f.result.failure?.invariant).toBe("lock-owner-alive");
    // Cut by its run limit, it says it is incomplete.
    expect(search(w, 2, { maxRuns: 100 })).toMatchObject({ complete: false, runs: 100 });
  }, 60_000);

  it("refuses a world on more than one cpu", async () => {
    const p = await prepare({ target: "tcmalloc-fork", seed: 0 });
    expect(() =>
      search({ file: "x", world: p.world, invariants: p.invariants, maxEvents: p.maxEvents, seed: 0 }, 1),
    ).toThrow(/one cpu; this run has 2/);
  });
});
