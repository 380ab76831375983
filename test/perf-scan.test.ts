// The first-violation scan split at snapshots over threads (issue 14) gives
// the serial scan's answer: on the seed scenarios, every example (buggy at a
// failing seed, and its fixes) and the fixtures' own scenarios recorded with a
// snapshot every 4 events (so every few events start a segment), stress with
// shared state and with issue 11's objects, the damaged fixtures, shared state with the scenario's
// own invariants, and a trace whose snapshot was doctored to differ from the
// fold (the merge must notice and fall back).
import { spawnSync } from "node:child_process";
import { copyFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBatch } from "../src/explore/seed.ts";
import { initState, simulate } from "../src/kernel/index.ts";
import { cloneState } from "../src/kernel/state.ts";
import { KIND } from "../src/kernel/types.ts";
import { metaOf, prepare, prepareWith, type RunRequest, record } from "../src/record/index.ts";
import {
  Checker,
  checkRange,
  INVARIANTS,
  type Invariant,
  invariantsFor,
  invariantsOf,
  noPanic,
  openSource,
} from "../src/replay/index.ts";
import { planFor, segmentBounds, splittable } from "../src/replay/parallel-scan.ts";
import { resolveScenario } from "../src/scenarios/index.ts";
import { openTrace, TraceWriter } from "../src/trace/index.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { type Compared, compareScans, SCAN_FIXTURES } from "./support/scan-compare.ts";
import { tempDir } from "./support/trace-util.ts";

const dir = tempDir("perf-scan");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BIN = join(REPO_ROOT, "node_modules", ".bin");
const SCRIPT = join(REPO_ROOT, "test", "support", "scan-compare.ts");
/** A segment starts at (nearly) every snapshot. */
const SEG = 4;
const traces: string[] = [];
let doctored = "";
/** The seq whose snapshot the doctored trace lies about. */
const LIE = 4095;

beforeAll(async () => {
  // The seed scenarios (every variant in traces/) and the fixtures' scenarios with their own invariants, a snapshot every 4 events.
  const targets: { req: RunRequest; name: string }[] = readdirSync(join(REPO_ROOT, "traces"))
    .filter((f) => f.endsWith(".ktrace"))
    .map((f) => {
      const m = openTrace(join(REPO_ROOT, "traces", f)).meta;
      return {
        req: {
          target: m.scenario,
          fix: m.fix || undefined,
          seed: m.seed,
          opts: Object.entries(m.options).map(([k, v]) => `${k}=${v}`),
        },
        name: f,
      };
    });
  for (const f of ["counter", "handoff", "flag", "spin"])
    targets.push({ req: { target: join(REPO_ROOT, "fixtures", "scenarios", `${f}.ts`) }, name: `${f}.ktrace` });
  for (const t of targets) {
    const p = join(dir, t.name);
    record(await prepare(t.req), p, 4);
    traces.push(p);
  }
  // Every example (examples/): the buggy variant at its first failing seed in 1..200 (seed 1 when none fails
  // there), every fix at seed 1; a snapshot every 4 events.
  for (const f of readdirSync(join(REPO_ROOT, "examples"))
    .filter((x) => x.endsWith(".ts"))
    .sort()) {
    const target = join(REPO_ROOT, "examples", f);
    const sc = await resolveScenario(target);
    const first =
      runBatch(sc, {}, 1, 200, new Checker(invariantsFor(prepareWith(sc, { seed: 1 }).invariants))).failing[0]?.seed ??
      1;
    const variants: { fix?: string; seed: number }[] = [
      { seed: first },
      ...Object.keys(sc.fixes).map((fix) => ({ fix, seed: 1 })),
    ];
    for (const v of variants) {
      const p = join(dir, `example-${f.replace(/\.ts$/, "")}${v.fix ? `--${v.fix}` : ""}-${v.seed}.ktrace`);
      record(await prepare({ target, seed: v.seed, ...(v.fix ? { fix: v.fix } : {}) }), p, 4);
      traces.push(p);
    }
  }
  // Shared state: variables, atomics, objects; 20,000 events, a snapshot every 256. And the operating-system
  // objects of issue 11 (futexes, condvars, semaphores, rwlocks, joins, signals, pipes, priorities).
  for (const opt of ["vars", "os"]) {
    const t = join(dir, `stress-${opt}.ktrace`);
    record(await prepare({ target: "stress", opts: [`state=${opt}`], maxEvents: 20_000 }), t, 256);
    traces.push(t);
  }
  // The damaged and the good fixtures (recovery mode, gaps, a gzip-wrapped one: scanned serially).
  for (const f of SCAN_FIXTURES) {
    const p = join(dir, `fixture-${f}`);
    copyFileSync(join(REPO_ROOT, "fixtures", "traces", f), p);
    traces.push(p);
  }
  // A complete, checksummed trace whose snapshot at seq 4095 says the cpus run on freed kernel stacks: the fold from 0 never sees that.
  doctored = join(dir, "doctored.ktrace");
  const p = await prepare({ target: "stress", maxEvents: 20_000 });
  const w = TraceWriter.create(doctored, metaOf(p, 512), initState(p.world.config), { snapshotEvery: 512 });
  simulate(p.world, { seed: p.variant.seed, maxEvents: p.maxEvents }, (ev, s) => {
    if (ev.seq !== LIE) return w.append(ev, s);
    const d = cloneState(s);
    for (const c of d.cpus) {
      const k = c.kstack >= 0 ? d.kstacks.get(c.kstack) : undefined;
      if (k) {
        k.state = "freed";
        k.freeSeq = LIE;
      }
    }
    w.append(ev, d);
  });
  w.finish();
  traces.push(doctored);
}, 120_000);

function expectSame(cs: Compared[]): void {
  const bad = cs.filter((c) => !c.same).map((c) => `${c.trace} (display ${c.display}): ${c.diff.join("; ")}`);
  expect(bad).toEqual([]);
}

describe("parallel first-violation scan", () => {
  it("segments start at snapshots, about every N events", () => {
    expect(segmentBounds([-1, 3, 7, 11, 15, 19], 22, 8)).toEqual([-1, 7, 15]);
    expect(segmentBounds([-1, 3, 7, 11], 11, 1)).toEqual([-1, 3, 7]);
    expect(segmentBounds([-1], 100, 10)).toEqual([-1]);
  });

  it("an invariant that keeps a history of the run (a monitor) is left out of the segments up to where it can report", () => {
    const history = { ...noPanic, name: "history", monitor: () => ({ pre: () => null }) } as Invariant;
    expect(splittable(noPanic)).toBe(true);
    expect(splittable(history)).toBe(false);
    expect(planFor([noPanic])).toEqual({ split: [noPanic], reports: null, serial: null });
    // One that does not say where it reports: serial.
    expect(planFor([noPanic, history]).serial).toMatch(/history keeps a history of the run/);
    // data-race reports only at memory accesses and descriptors' uses and changes; wakeup-inversion not before a sched-set.
    const p = planFor(INVARIANTS);
    expect(p.serial).toBeNull();
    expect(p.split.map((i) => i.name)).not.toContain("data-race");
    expect(p.split.map((i) => i.name)).not.toContain("wakeup-inversion");
    expect([...p.reports!.keys()].filter((k) => p.reports![k] === 1).sort()).toEqual(
      [
        KIND.load,
        KIND.store,
        KIND.atomicLoad,
        KIND.atomicStore,
        KIND.cas,
        KIND.fetchAdd,
        KIND.xchg,
        KIND.pipeWrite,
        KIND.pipeRead,
        KIND.fdOpen,
        KIND.fdClose,
        KIND.errno,
        KIND.schedSet,
      ].sort(),
    );
  });

  it("a trace without memory accesses splits with data-race among the invariants; one with them is scanned serially", async () => {
    const plain = await compareScans(traces.find((x) => x.endsWith("fixture-good.ktrace"))!, SEG, false);
    expect(plain.diff).toEqual([]);
    expect(plain.notes.join("\n")).toMatch(/check: 2 threads/);
    expect(plain.notes.join("\n")).not.toMatch(/one thread/);
    for (const t of ["counter.ktrace", "flag.ktrace", "stress-vars.ktrace"]) {
      const c = await compareScans(traces.find((x) => x.endsWith(t))!, SEG, false);
      expect(c.diff, t).toEqual([]);
      expect(c.notes.join("\n"), t).toMatch(
        /data-race can report from seq \d+ on and needs the run's history: checked on one thread from the start/,
      );
    }
  });

  it("the doctored snapshot changes the answer of a scan that starts there", () => {
    const src = openSource(doctored);
    const from = src.loadSnapshot(LIE);
    expect(from.seq).toBe(LIE);
    expect(
      checkRange(src, invariantsOf(src), LIE + 1, src.eventCount - 1, { state: from.state }).violation?.invariant,
    ).toBe("kstack-in-use");
    src.close();
  });

  it("gives the serial answer on every trace, in both views (Node: the main thread checks every segment)", async () => {
    const cs: Compared[] = [];
    for (const t of traces) for (const display of [false, true]) cs.push(await compareScans(t, SEG, display));
    expectSame(cs);
    // Every segment of the undamaged traces starts where the fold of the one before ended: a state rebuilt from a
    // snapshot (fromPlain: shapes and literals as the fold's) keeps the snapshot's keys in their order.
    const clean = cs.filter((c) => c.trace !== doctored && !/damaged|corrupt|truncated|bad/i.test(c.trace));
    expect(clean.length).toBeGreaterThan(20);
    for (const c of clean) expect(c.notes.join("\n"), c.trace).not.toMatch(/is not the snapshot there/);
    const d = cs.find((c) => c.trace === doctored)!;
    // From the start: data-race, among the invariants, needs the run's history.
    expect(d.notes.join("\n")).toMatch(
      new RegExp(`state at seq ${LIE} is not the snapshot there.*checked on one thread from seq 0`),
    );
  }, 120_000);

  it("without an invariant that needs the history, the merge goes on serially from the segment before the bad boundary", async () => {
    const names = INVARIANTS.filter(splittable).map((i) => i.name);
    const c = await compareScans(doctored, SEG, false, names);
    expect(c.diff).toEqual([]);
    expect(c.notes.join("\n")).toMatch(
      new RegExp(`state at seq ${LIE} is not the snapshot there.*checked on one thread from seq ${LIE - 511}`),
    );
  });

  it("names invariants as --invariant does", async () => {
    const t = traces.find((x) => x.endsWith("counter.ktrace"))!;
    for (const names of [["counter-exact"], ["no-panic", "lock-misuse"]]) {
      const c = await compareScans(t, SEG, false, names);
      expect(c.diff).toEqual([]);
    }
  });

  for (const runtime of ["bun", "deno"] as const) {
    it(`gives the serial answer under ${runtime}, with a worker thread checking segments`, () => {
      const [cmd, pre] =
        runtime === "bun"
          ? [join(BIN, "bun"), []]
          : [join(BIN, "deno"), ["run", "--quiet", "--allow-all", `--config=${join(REPO_ROOT, "deno.json")}`]];
      const p = spawnSync(cmd, [...pre, SCRIPT, String(SEG), ...traces], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
      expect(p.status, p.stderr).toBe(0);
      const cs = JSON.parse(p.stdout) as Compared[];
      // Four per trace (both views, with and without the main thread), then one with segments of several snapshots.
      expect(cs.length).toBe(traces.length * 5);
      expectSame(cs);
      // With the main thread kept out, a worker checked the segments of every multi-segment plain trace.
      const workersOnly = cs.filter((c, i) => i < traces.length * 4 && i % 2 === 1 && !c.trace.endsWith(".gz"));
      for (const c of workersOnly) {
        const n = c.notes.join("\n");
        if (/one thread/.test(n) && !/checked on one thread from/.test(n)) continue;
        expect(n, c.trace).toMatch(/which checked [1-9]\d* of the segments/);
      }
    }, 240_000);
  }

  it("ktrace check --jobs 2 prints what --jobs 1 prints (JSON and text, exit codes), and --verbose says how it ran", async () => {
    const env = { KTRACE_CHECK_SEGMENT: String(SEG) };
    for (const t of [
      doctored,
      traces.find((x) => x.endsWith("handoff.ktrace"))!,
      traces.find((x) => x.endsWith("fixture-flipped-chunk.ktrace"))!,
    ]) {
      for (const json of [["--json"], []]) {
        const one = await runCli(["check", t, "--jobs", "1", ...json], { env });
        const two = await runCli(["check", t, "--jobs", "2", "--verbose", ...json], { env });
        expect(two.code, t).toBe(one.code);
        expect(two.stdout, t).toBe(one.stdout);
        expect(
          two.stderr
            .split("\n")
            .filter((l) => !l.startsWith("check: "))
            .join("\n"),
          t,
        ).toBe(one.stderr);
        expect(two.stderr).toMatch(/^check: 2 threads/m);
      }
    }
    const bad = await runCli(["check", doctored, "--jobs", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--jobs must be at least 1/);
  }, 120_000);
});
