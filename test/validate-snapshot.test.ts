// The trace validator knows the kernel's state records, those of format 1.1
// (variables, objects, registers) included: a snapshot whose shared-state
// records are malformed is refused with a message, never folded.
import { describe, expect, it } from "vitest";
import { THREAD_STATES, toPlain } from "../src/kernel/index.ts";
import { prepare, run } from "../src/record/index.ts";
import { checkSnapshot } from "../src/trace/validate.ts";

async function plainOf(target: string) {
  const p = await prepare({ target, seed: 1 });
  const st = run(p);
  return JSON.parse(JSON.stringify(toPlain(st))) as Record<string, unknown>;
}

describe("checkSnapshot and format 1.1 state records", () => {
  it("accepts a state with variables, objects and registers", async () => {
    const p = await plainOf("fixtures/scenarios/refcount.ts");
    expect((p.vars as unknown[]).length).toBeGreaterThan(0);
    expect(typeof checkSnapshot(p, { seq: p.seq as number, cpus: (p.cpus as unknown[]).length })).toBe("object");
  });

  it.each([
    [
      "vars",
      (p: Record<string, unknown>) => ((p.vars as Record<string, unknown>[])[0]!.value = "x"),
      /vars\[0\]\.value/,
    ],
    [
      "var type",
      (p: Record<string, unknown>) => ((p.vars as Record<string, unknown>[])[0]!.type = "float"),
      /vars\[0\]\.type/,
    ],
    ["objs", (p: Record<string, unknown>) => (p.objs = [{ id: 1 }]), /objs\[0\]/],
    ["regTypes", (p: Record<string, unknown>) => (p.regTypes = [["r", "float"]]), /regTypes/],
    [
      "regs",
      (p: Record<string, unknown>) => ((p.threads as Record<string, unknown>[])[0]!.regs = [["r"]]),
      /threads\[0\]\.regs/,
    ],
    ["nextVar", (p: Record<string, unknown>) => (p.nextVar = "1"), /nextVar/],
    // States are the kernel's names (shown as they are): anything else is refused, escape sequences included.
    [
      "thread state",
      (p: Record<string, unknown>) => ((p.threads as Record<string, unknown>[])[0]!.state = "\x1b[2Jrunning"),
      /threads\[0\]\.state/,
    ],
    [
      "process state",
      (p: Record<string, unknown>) => ((p.procs as Record<string, unknown>[])[0]!.state = "asleep"),
      /procs\[0\]\.state/,
    ],
  ])("refuses malformed %s", async (_, mutate, msg) => {
    const p = await plainOf("fixtures/scenarios/refcount.ts");
    mutate(p);
    expect(checkSnapshot(p, { seq: p.seq as number, cpus: (p.cpus as unknown[]).length })).toMatch(msg);
  });

  it("accepts every thread state of both kernels' sides (simulated and imported)", async () => {
    const p = await plainOf("fixtures/scenarios/refcount.ts");
    for (const st of THREAD_STATES) {
      (p.threads as Record<string, unknown>[])[0]!.state = st;
      expect(typeof checkSnapshot(p, { seq: p.seq as number, cpus: (p.cpus as unknown[]).length })).toBe("object");
    }
  });
});
