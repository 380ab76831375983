// explore's per-scenario checker setup (seed.ts checkerFor): the invariants
// that can report only at an access event are left out when the world
// declares no variable. The answers must be those of the whole checker.
import { describe, expect, it } from "vitest";
import { newChecker, runBatch } from "../src/explore/seed.ts";
import { ACCESS_KINDS, DESCRIPTOR_ACCESS_KINDS, mayAccess, pipe, simulate, thread } from "../src/kernel/index.ts";
import { prepareWith } from "../src/record/index.ts";
import { Checker, INVARIANTS, reportingIn, type Violation } from "../src/replay/invariants.ts";
import { resolveScenario } from "../src/scenarios/index.ts";

const ACCESS = [
  ...ACCESS_KINDS.plainRead,
  ...ACCESS_KINDS.plainWrite,
  ...ACCESS_KINDS.atomic,
  ...DESCRIPTOR_ACCESS_KINDS,
];

/** The first violation of each seed under the whole registry, with no setup pruning. */
async function unpruned(target: string, from: number, to: number): Promise<Map<number, string>> {
  const sc = await resolveScenario(target);
  const out = new Map<number, string>();
  const checker = new Checker(INVARIANTS);
  for (let seed = from; seed <= to; seed++) {
    const p = prepareWith(sc, { seed });
    let v: Violation | null = null;
    simulate(
      p.world,
      {
        seed,
        maxEvents: p.maxEvents,
        before: (e, s) => {
          if (v === null) v = checker.before(s, e);
        },
      },
      (e, s) => {
        if (v === null) v = checker.after(s, e);
      },
    );
    const found = v as Violation | null;
    if (found) out.set(seed, `${found.seq} ${found.invariant} ${found.message}`);
  }
  return out;
}

describe("explore's checker setup", () => {
  it("leaves out data-race only where no access can happen", () => {
    const names = (xs: readonly { name: string }[]) => xs.map((i) => i.name);
    const kept = reportingIn(INVARIANTS, ACCESS);
    expect(names(kept)).not.toContain("data-race");
    expect(names(kept)).toEqual(names(INVARIANTS).filter((n) => n !== "data-race"));
    expect(reportingIn(INVARIANTS, [])).toBe(INVARIANTS);
    expect(mayAccess({})).toBe(false);
    expect(mayAccess({ vars: {} })).toBe(false);
    expect(mayAccess({ vars: { x: { type: "int" } as never } })).toBe(true);
    // Descriptors are shared state too: a program that makes a pipe, at any depth.
    const procs = (main: unknown[]) => [{ name: "p", main }] as never;
    expect(mayAccess({ procs: procs([thread([])]) })).toBe(false);
    expect(mayAccess({ procs: procs([thread([pipe({ read: "r", write: "w" })])]) })).toBe(true);
  });

  for (const [target, access] of [
    ["tcmalloc-fork", false],
    ["examples/lost-update.ts", true],
  ] as const) {
    it(`finds on ${target} exactly what the whole checker finds`, async () => {
      const sc = await resolveScenario(target);
      expect(mayAccess(prepareWith(sc, { seed: 1 }).world)).toBe(access);
      const want = await unpruned(target, 1, 400);
      const got = runBatch(sc, {}, 1, 400, newChecker());
      const found = new Map(
        got.failing
          .filter((r) => r.violation !== null)
          .map((r) => [r.seed, `${r.violation!.seq} ${r.violation!.invariant} ${r.violation!.message}`]),
      );
      expect(found).toEqual(want);
      expect(want.size).toBeGreaterThan(0);
      // Where accesses happen, the data-race invariant is among the findings (so it was kept).
      expect([...want.values()].some((m) => m.includes(" data-race "))).toBe(access);
    });
  }
});
