// The world travels with the trace: programs, declarations, rules and the
// scenario's own invariants are stored in the header as data, so `check`
// evaluates the user's invariants on a trace alone, the world re-simulates to
// the same events, and a hostile header is refused with the path of the bad
// node (exit 2), never run.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newChecker, runBatch } from "../src/explore/seed.ts";
import { initState, type KEvent, simulate } from "../src/kernel/index.ts";
import { prepare, record } from "../src/record/index.ts";
import { Cursor, openSource } from "../src/replay/index.ts";
import { findScenario, resolveScenario } from "../src/scenarios/index.ts";
import { TraceWriter } from "../src/trace/index.ts";
import { allEvents } from "./helpers/replay-sources.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-world-"));
const FLAG = join(REPO_ROOT, "fixtures", "scenarios", "flag.ts");
const CTA = join(REPO_ROOT, "examples", "check-then-act.ts");

describe("world and invariants in the trace header", () => {
  it("check evaluates the scenario's own invariants without the scenario file", async () => {
    // check-then-act with atomic accesses: race-free, so the scenario's own invariant is the first violation.
    const file = join(dir, "cta-copy.ts");
    copyFileSync(CTA, file);
    const trace = join(dir, "cta.ktrace");
    expect((await runCli(["record", file, "--opt", "access=atomic", "--seed", "1", "-o", trace])).code).toBe(0);
    rmSync(file);
    const r = await runCli(["check", trace, "--json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.invariants).toContain("init-once");
    expect(doc.violation).toMatchObject({
      invariant: "init-once",
      message: "the device was initialized more than once (inits = 2 in pid 1)",
    });
    const only = await runCli(["check", trace, "--invariant", "init-once"], { runtime: "deno" });
    expect(only.code).toBe(1);
    expect(only.stdout).toMatch(/^VIOLATION init-once at seq \d+/);
    // replay (the cursor the TUI drives: v, the ! marks) and report take them from the same registry.
    const src = openSource(trace);
    const c = new Cursor(src);
    expect(c.firstViolation()?.invariant).toBe("init-once");
    c.seek(-1);
    expect(c.continue()).toMatchObject({ reason: "hit", violation: { invariant: "init-once" } });
    src.close();
    const rep = await runCli(["report", trace]);
    expect(rep.stdout).toContain("## First violation: `init-once`");
    const fixed = join(dir, "cta-mutex.ktrace");
    expect((await runCli(["record", CTA, "--fix", "mutex", "--seed", "1", "-o", fixed])).code).toBe(0);
    expect((await runCli(["check", fixed, "--invariant", "init-once"])).code).toBe(0);
    // The same scenario with plain accesses: the data race comes first; --invariant selects the own one.
    const plain = join(dir, "flag.ktrace");
    expect((await runCli(["record", FLAG, "--seed", "2", "-o", plain])).code).toBe(0);
    expect(JSON.parse((await runCli(["check", plain, "--json"])).stdout).violation).toMatchObject({
      invariant: "data-race",
    });
    expect(
      JSON.parse((await runCli(["check", plain, "--json", "--invariant", "job-runs-once"])).stdout).violation,
    ).toMatchObject({
      invariant: "job-runs-once",
      message: "the one-shot job ran more than once (runs = 2 in pid 1)",
    });
  });

  it("the stored world re-simulates to the recorded events, byte for byte (issue 12's seam)", async () => {
    for (const target of ["tcmalloc-fork", "asterinas-procfs", FLAG]) {
      const p = await prepare({ target, seed: 2 });
      const path = join(dir, "w.ktrace");
      record(p, path);
      const src = openSource(path);
      const w = src.meta.world!;
      expect(w, target).not.toBeNull();
      const evs: KEvent[] = [];
      simulate(w, { seed: src.meta.seed, maxEvents: p.maxEvents }, (e) => evs.push({ ...e }));
      expect(evs, target).toEqual(allEvents(src).map((e) => ({ ...e })));
      src.close();
    }
  });

  it("explore counts the scenario's own invariants like built-in ones", async () => {
    const sc = await resolveScenario(CTA);
    const b = runBatch(sc, { opts: ["access=atomic"] }, 1, 100, newChecker());
    expect(b.violations["init-once"]).toBeGreaterThan(0);
    expect(runBatch(sc, { fix: "once" }, 1, 100, newChecker()).failing).toHaveLength(0);
    expect(runBatch(findScenario("tcmalloc-fork"), {}, 1, 20, newChecker()).violations["init-once"]).toBeUndefined();
  });

  const hostile = async (meta: { world?: unknown; invariants?: unknown }) => {
    const p = await prepare({ target: "tcmalloc-fork" });
    const path = join(dir, `hostile-${Math.random().toString(36).slice(2)}.ktrace`);
    const w = TraceWriter.create(
      path,
      {
        scenario: "x",
        fix: "",
        seed: 1,
        options: {},
        config: p.world.config,
        writer: "test",
        snapshotEvery: 64,
        maxEvents: 100,
        ...meta,
      },
      initState(p.world.config),
      {},
    );
    w.finish({ outcome: null });
    return path;
  };
  it("a hostile header is refused with one line naming the bad node, exit 2, and nothing runs", async () => {
    const deep: Record<string, unknown> = { e: "int", v: 1 };
    let e: Record<string, unknown> = deep;
    for (let i = 0; i < 200; i++) e = { e: "not", x: e };
    const cases: [unknown, RegExp][] = [
      [
        [{ name: "x-y", check: { e: "reg", name: "r" }, message: "m" }],
        /invariants\[0\]\.check \(x-y\): an invariant cannot read registers/,
      ],
      [
        [{ name: "x-y", check: e, message: "m" }],
        /invariants\[0\]\.check(\.x)+ \(x-y\): expression nested deeper than 64/,
      ],
      [[{ name: "no-panic", check: { e: "int", v: 1 }, message: "m" }], /'no-panic' is a built-in invariant's name/],
      [{ not: "a list" }, /invariants must be a list/],
      [[{ name: "ok-name", check: { e: "var", name: "__proto__" }, message: "m" }], /unknown variable '__proto__'/],
    ];
    for (const [invariants, want] of cases) {
      const r = await runCli(["check", await hostile({ invariants })]);
      expect(r.code, String(want)).toBe(2);
      expect(r.stderr.trim().split("\n"), String(want)).toHaveLength(1);
      expect(r.stderr, String(want)).toMatch(want);
    }
    // The built-in invariants still check a trace whose own ones are damaged.
    expect(
      (await runCli(["check", await hostile({ invariants: [{ name: "x" }] }), "--invariant", "no-panic"])).code,
    ).toBe(0);
    // A bad world does not stop reading the events; it is reported where it is needed.
    const src = openSource(
      await hostile({
        world: { config: { cpus: 2 }, locks: {}, procs: [{ name: "p", main: [{ op: "fork", child: "x" }] }] },
      }),
    );
    expect(src.meta.world).toBeNull();
    expect(src.meta.worldError).toMatch(/^world\.config\.tidAfterFork must be one of/);
    src.close();
  });
});
