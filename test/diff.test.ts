// ktrace diff: the first divergence between two runs, the state there, and
// what differs afterwards; for a failing and a passing seed, a buggy and a
// fixed variant, identical runs, different scenarios, and untrusted text.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diffRuns } from "../src/explore/diff.ts";
import { runSeed } from "../src/explore/index.ts";
import { newChecker } from "../src/explore/seed.ts";
import { prepare, record } from "../src/record/index.ts";
import { MemorySource, openSource } from "../src/replay/index.ts";
import { findScenario } from "../src/scenarios/index.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-diff-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rec(
  target: string,
  seed: number,
  fix?: string,
  name = `${target.replace(/\W/g, "_")}-${fix ?? ""}-${seed}.ktrace`,
): Promise<string> {
  const path = join(dir, name);
  record(await prepare({ target, seed, fix }), path);
  return path;
}

function diff(a: string, b: string) {
  const sa = openSource(a);
  const sb = openSource(b);
  try {
    return diffRuns(sa, sb);
  } finally {
    sa.close();
    sb.close();
  }
}

/** A failing and a passing seed of tcmalloc-fork. */
function seeds(): { bad: number; good: number } {
  const sc = findScenario("tcmalloc-fork");
  let bad = -1;
  let good = -1;
  for (let s = 1; bad < 0 || good < 0; s++) {
    const r = runSeed(sc, {}, s, newChecker());
    if (r.outcome.kind === "hang" && bad < 0) bad = s;
    if (r.outcome.kind === "ok" && good < 0) good = s;
  }
  return { bad, good };
}

describe("diff engine", () => {
  it("a failing and a passing tcmalloc seed: a scheduling divergence, then different outcomes and first violations", async () => {
    const { bad, good } = seeds();
    const r = diff(await rec("tcmalloc-fork", bad), await rec("tcmalloc-fork", good));
    expect(r.differs).toEqual(["seed"]);
    expect(r.notes).toEqual([]);
    const d = r.divergence;
    expect(d.kind).toBe("schedule");
    expect(d.seq).toBeGreaterThan(0);
    expect(d.a!.seq).toBe(d.seq);
    expect([d.a!.tid, d.a!.cpu]).not.toEqual([d.b!.tid, d.b!.cpu]);
    expect(d.why).toMatch(/^a scheduling difference: tid \d+ on cpu \d+ acts in A, tid \d+ on cpu \d+ in B$/);
    expect(d.common.map((e) => e.seq)).toEqual([d.seq! - 3, d.seq! - 2, d.seq! - 1]);
    // User steps change no kernel object: the state difference is where the states first part.
    expect(r.state.length).toBeGreaterThan(0);
    if (r.stateSameUntil !== null) {
      expect(r.stateSameUntil).toBeGreaterThanOrEqual(d.seq!);
      expect(r.stateAt!.a).toBe(r.stateSameUntil + 1);
    } else expect(r.stateAt).toEqual({ a: d.seq, b: d.seq });
    expect(r.after.a.outcome?.kind).toBe("hang");
    expect(r.after.b.outcome?.kind).toBe("ok");
    expect(r.after.a.violation?.invariant).toBe("lock-owner-alive");
    expect(r.after.b.violation).toBeNull();
    expect(r.after.a.byKind.hang).toBe(1);
    expect(r.after.b.byKind.hang).toBeUndefined();
    expect(Object.values(r.after.a.byKind).reduce((x, y) => x + y, 0)).toBe(r.a.events);
  });

  it("one seed's scheduler switches the thread out where the other's lets it go on: a scheduling difference, not a program one", async () => {
    // examples/system-reaper.ts: seed 17 preempts tid 1 before its waitpid (the child then exits first: fatal), seed 1 does not.
    const ex = join(REPO_ROOT, "examples", "system-reaper.ts");
    const r = diff(await rec(ex, 17, undefined, "sr-17.ktrace"), await rec(ex, 1, undefined, "sr-1.ktrace"));
    expect(r.divergence).toMatchObject({
      kind: "schedule",
      why: "a scheduling difference: tid 1 is switched out on cpu 0 in A, goes on in B",
    });
    expect([r.divergence.a!.kind, r.divergence.b!.kind]).toEqual(["switch", "wait-block"]);
    expect([r.after.a.outcome?.kind, r.after.b.outcome?.kind]).toEqual(["fatal", "ok"]);
  });

  it("the buggy and the fixed tcmalloc variant: a program divergence where the fix's atfork handler differs, locks matched by name", () => {
    const r = diff(
      join(REPO_ROOT, "traces/tcmalloc-fork.ktrace"),
      join(REPO_ROOT, "traces/tcmalloc-fork--atfork-2.17.ktrace"),
    );
    expect(r.differs).toEqual(["fix"]);
    expect(r.divergence.kind).toBe("program");
    expect(r.divergence.a!.tid).toBe(r.divergence.b!.tid);
    expect(r.divergence.b!.desc).toContain("tcmalloc.SlowTLS");
    // The fix creates SlowTLS earlier: at the divergence it exists in B only (matched by name, not by id).
    expect(r.state).toContainEqual(
      expect.objectContaining({ object: "lock", label: "tcmalloc.SlowTLS (pid 1)", onlyIn: "b" }),
    );
    expect(r.after.a.outcome?.kind).toBe("hang");
    expect(r.after.b.outcome?.kind).toBe("ok");
  });

  it("a user's own bug: the program's state (variables, condvars, registers) is compared, so the runs part where `arrived` does", async () => {
    // examples/barrier-reuse.ts: seed 1 hangs, seed 310 passes (explore lists it).
    const ex = join(REPO_ROOT, "examples/barrier-reuse.ts");
    const r = diff(
      await rec(ex, 1, undefined, "barrier-1.ktrace"),
      await rec(ex, 310, undefined, "barrier-310.ktrace"),
    );
    expect(r.after.a.outcome?.kind).toBe("hang");
    expect(r.after.b.outcome?.kind).toBe("ok");
    expect(r.divergence.kind).toBe("schedule");
    // A's divergent event is its store to `arrived`: the state differs right after it, in that variable.
    expect(r.divergence.a!.desc).toBe("tid 1 stores arrived: 0 → 1");
    expect(r.stateSameUntil).toBeNull();
    expect(r.stateAt).toEqual({ a: r.divergence.seq, b: r.divergence.seq });
    expect(r.state).toEqual([
      {
        object: "var",
        id: expect.any(Number),
        label: "arrived (pid 1)",
        changes: [
          { field: "value", a: "1", b: "0" },
          { field: "lastWriter", a: 1, b: -1 },
        ],
      },
    ]);
  });

  it("the same run twice: no divergence", () => {
    const p = join(REPO_ROOT, "traces/asterinas-procfs.ktrace");
    const r = diff(p, p);
    expect(r.divergence).toMatchObject({ seq: null, kind: "none", a: null, b: null });
    expect(r.state).toEqual([]);
    expect(r.stateAt).toBeNull();
    expect(r.stateSameUntil).toBeNull();
  });

  it("different scenarios are compared, and said so; a run cut by the budget ends first", async () => {
    const r = diff(join(REPO_ROOT, "traces/asterinas-procfs.ktrace"), join(REPO_ROOT, "traces/tcmalloc-fork.ktrace"));
    expect(r.differs).toContain("scenario");
    expect(r.notes[0]).toMatch(/different scenarios \(asterinas-procfs and tcmalloc-fork\)/);
    expect(r.divergence.seq).not.toBeNull();
    expect(r.state.length).toBeGreaterThan(0);
    const full = await rec("tcmalloc-fork", 1);
    const cut = join(dir, "cut.ktrace");
    record(await prepare({ target: "tcmalloc-fork", seed: 1, maxEvents: 30 }), cut);
    const c = diff(full, cut);
    expect(c.after.b.outcome?.kind).toBe("budget");
    expect(c.divergence.seq).toBeLessThanOrEqual(30);
  });
});

describe("ktrace diff (CLI)", () => {
  it("prints the divergence, the state difference and what differs afterwards; --json is one document; exit 1 / 0", async () => {
    const a = join(REPO_ROOT, "traces/tcmalloc-fork.ktrace");
    const b = join(REPO_ROOT, "traces/tcmalloc-fork--atfork-2.17.ktrace");
    const t = await runCli(["diff", a, b]);
    expect(t.code).toBe(1);
    expect(t.stderr).toBe("");
    expect(t.stdout).toMatch(
      /^A {2}.*tcmalloc-fork\.ktrace: tcmalloc-fork \(buggy\) seed 1, 2 cpus: \d+ events, hang at \d+$/m,
    );
    expect(t.stdout).toMatch(/^B {2}.*: tcmalloc-fork \(--fix atfork-2\.17\) seed 1, 2 cpus: \d+ events, ok$/m);
    expect(t.stdout).toMatch(/^first divergence at seq \d+: a program difference: tid 1 does something else/m);
    expect(t.stdout).toMatch(/^ {2}A +\d+ +c\d +t1 +lock-new +.*$/m);
    expect(t.stdout).toMatch(/tcmalloc\.SlowTLS \(pid 1\) +- +exists/);
    expect(t.stdout).toMatch(/first violation +A +lock-owner-alive at \d+: /);
    const j = await runCli(["diff", a, b, "--json"], { runtime: "deno" });
    expect(j.code).toBe(1);
    const doc = JSON.parse(j.stdout);
    expect(Object.keys(doc)).toEqual([
      "a",
      "b",
      "differs",
      "notes",
      "divergence",
      "stateAt",
      "stateSameUntil",
      "state",
      "stateMore",
      "after",
      "gaps",
      "files",
    ]);
    expect(doc.divergence.kind).toBe("program");
    const same = await runCli(["diff", a, a]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/the runs are the same, event for event \(\d+ events\)/);
  });

  it("escapes control characters from a trace; bad input exits 2 with one line", async () => {
    const file = join(dir, "esc.ts");
    writeFileSync(
      file,
      `export default (k) => k.defineScenario({ name: "esc", description: "labels with escapes",
      build: ({ seed }) => ({ procs: [{ name: "p", main: [k.user("a"), k.user(seed === 1 ? "\\u001b[2J\\u001b[31mred" : "plain")] }] }) });\n`,
    );
    const [a, b] = [join(dir, "esc1.ktrace"), join(dir, "esc2.ktrace")];
    expect((await runCli(["record", file, "--seed", "1", "-o", a])).code).toBe(0);
    expect((await runCli(["record", file, "--seed", "2", "-o", b])).code).toBe(0);
    const r = await runCli(["diff", a, b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("\\x1b[2J");
    expect(r.stdout).not.toContain("\u001b");
    for (const args of [
      ["diff", a],
      ["diff", a, join(dir, "missing.ktrace")],
      ["diff", a, file],
    ]) {
      const x = await runCli(args);
      expect(x.code, args.join(" ")).toBe(2);
      expect(x.stdout).toBe("");
      expect(x.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  describe("a damaged trace (fixtures/traces/flipped-chunk.ktrace: events 1024..1535 missing)", () => {
    const GOOD = join(REPO_ROOT, "fixtures", "traces", "good.ktrace");
    const FLIPPED = join(REPO_ROOT, "fixtures", "traces", "flipped-chunk.ktrace");

    it("compares the events both runs hold; no difference there exits 2 and says what was not compared", async () => {
      const r = await runCli(["diff", GOOD, FLIPPED]);
      expect(r.code).toBe(2);
      expect(r.stdout).toContain("note: B is damaged: events 1024..1535 are missing");
      expect(r.stdout).toContain("those events are not compared");
      expect(r.stdout).toContain("the runs are the same, in every event both hold (3000 events)");
      expect(r.stderr).toMatch(/is damaged; events 1024\.\.1535 are missing/);
      expect(r.stderr.trim().split("\n").at(-1)).toMatch(
        /^ktrace: no difference found in the events both runs hold, but .*flipped-chunk\.ktrace is damaged/,
      );
      const j = await runCli(["diff", GOOD, FLIPPED, "--json"]);
      expect(j.code).toBe(2);
      const doc = JSON.parse(j.stdout);
      expect(doc.divergence.seq).toBe(null);
      expect(doc.gaps.a).toEqual([]);
      expect(doc.gaps.b).toEqual([expect.objectContaining({ fromSeq: 1024, toSeq: 1535 })]);
      // The undamaged trace against itself: exit 0, no note.
      const same = await runCli(["diff", GOOD, GOOD]);
      expect(same.code).toBe(0);
      expect(same.stdout).not.toContain("note:");
    });

    it("a difference after the gap is found, with a note that the runs may part ways inside it", () => {
      const g = openSource(GOOD);
      const events = [];
      for (let i = 0; i < g.chunkFirstSeqs.length; i++) events.push(...g.readChunk(i).map((e) => ({ ...e })));
      // Another label on the user step at 1536 (after the gap): a program difference that changes no kernel object.
      expect(events[1536]!.s).toBe("child main");
      events[1536]!.s = "other main";
      const b = MemorySource.fromEvents(g.meta.config, events, { snapshotEvery: 512, chunkEvents: 512, meta: g.meta });
      g.close();
      const a = openSource(FLIPPED);
      try {
        const r = diffRuns(a, b);
        expect(r.divergence).toMatchObject({ seq: 1536, kind: "program" });
        expect(r.divergence.common.map((e) => e.seq)).toEqual([1533, 1534, 1535].filter((q) => q < 1024 || q > 1535));
        expect(r.notes).toEqual([
          expect.stringMatching(
            /^A is damaged: events 1024\.\.1535 are missing .*; those events are not compared; the runs may part ways earlier, inside them$/,
          ),
        ]);
        expect(r.gaps.a).toHaveLength(1);
        expect(r.stateAt).not.toBe(null);
      } finally {
        a.close();
      }
    });
  });
});
