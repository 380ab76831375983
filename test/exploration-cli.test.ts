// Issue 12 end to end (Bun): shrink, whatif, pivots, record --schedule,
// explore --strategy, diff's decision, and their bad input.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-x12-"));
const SEED1 = join(REPO_ROOT, "traces", "tcmalloc-fork.ktrace");

async function recordTo(name: string, ...args: string[]): Promise<string> {
  const path = join(dir, name);
  const r = await runCli(["record", ...args, "-o", path]);
  expect(r.code, r.stderr).toBe(0);
  return path;
}

async function eventsOf(path: string): Promise<string> {
  const r = await runCli(["events", path, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe("shrink", () => {
  it("a failing tcmalloc seed shrinks to fewer preemptions and check fails the same way, naming the fork; the result is minimal", async () => {
    const t = await recordTo("t104.ktrace", "tcmalloc-fork", "--seed", "104");
    const out = join(dir, "t104-small.ktrace");
    const r = await runCli(["shrink", t, "-o", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.before.preemptions).toBe(3);
    expect(j.after.preemptions).toBe(0);
    expect(j.after.events).toBeLessThan(j.before.events);
    expect(j.failure).toMatchObject({ invariant: "lock-owner-alive", kind: "lock-wait" });
    expect(j.path).toBe(out);
    expect(j.schedule).toMatch(/^ks1\./);
    const c = await runCli(["check", out, "--json"]);
    expect(c.code).toBe(1);
    const v = JSON.parse(c.stdout).violation;
    expect(v.invariant).toBe("lock-owner-alive");
    const text = await runCli(["check", out]);
    expect(text.stdout).toMatch(/fork copied tcmalloc\.SlowTLS into pid 2 while tid 2 held it/);
    // Shrinking it again: already minimal, nothing written.
    const again = await runCli(["shrink", out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already minimal: no smaller schedule fails this way/);
    // Deterministic: the same trace twice gives the same bytes.
    const out2 = join(dir, "t104-small-2.ktrace");
    expect((await runCli(["shrink", t, "-o", out2])).code).toBe(0);
    expect(readFileSync(out2).equals(readFileSync(out))).toBe(true);
    // The printed decision list replays the shrunk run exactly.
    const rep = await recordTo("t104-rep.ktrace", "tcmalloc-fork", "--schedule", j.schedule);
    expect(await eventsOf(rep)).toBe(await eventsOf(out));
  }, 60_000);

  it("on one cpu it proves the fewest preemptions: 2 for tcmalloc-fork (no schedule with at most 1 fails)", async () => {
    const t = await recordTo("c22.ktrace", "tcmalloc-fork", "--cpus", "1", "--seed", "22");
    const r = await runCli(["shrink", t, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.before.preemptions).toBe(4);
    expect(j.after.preemptions).toBe(2);
    expect(j.minimal).toEqual({
      preemptions: true,
      proof: "bounded search: no schedule with at most 1 preemption fails this way",
    });
  }, 60_000);

  it("a trace that does not fail: one line, exit 2", async () => {
    const r = await runCli(["shrink", join(REPO_ROOT, "traces", "tcmalloc-fork--atfork-2.17.ktrace")]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/does not fail .*nothing to shrink/);
  });
});

describe("whatif and pivots", () => {
  it("pivots of the tcmalloc failure list the slow sys_fork step; whatif there gives a passing branch", async () => {
    const p = await runCli(["pivots", SEED1, "--json"]);
    expect(p.code, p.stderr).toBe(0);
    const pj = JSON.parse(p.stdout);
    const at29 = pj.pivots.find((x: { decision: { seq: number } }) => x.decision.seq === 29);
    expect(at29.decision).toMatchObject({ kind: "timing", tid: 1, cpu: 0, value: 4 });
    expect(at29.avoid).toEqual([{ value: 1, result: "passes", failure: null }]);
    // The text names the event.
    const pt = await runCli(["pivots", SEED1]);
    expect(pt.stdout).toMatch(
      /seq 29: the step of tid 1 on cpu 0 took 4× its base cost\s+\[tid 1 \(kernel, stack 0\): sys_fork\]/,
    );
    const out = join(dir, "branch.ktrace");
    const w = await runCli(["whatif", SEED1, "--at", "29", "--cost", "1", "-o", out]);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/branch\s+passes \(ok, 117 events\)/);
    expect((await runCli(["check", out])).code).toBe(0);
    // The branch and the original part at that decision.
    const d = await runCli(["diff", SEED1, out, "--json"]);
    expect(JSON.parse(d.stdout).divergence.decision).toMatchObject({
      a: { kind: "timing", seq: 29, value: 4 },
      b: { kind: "timing", seq: 29, value: 1 },
    });
  }, 60_000);

  it("pivots over job processes answer exactly as in one process", async () => {
    const t = await recordTo("j104.ktrace", "tcmalloc-fork", "--seed", "104");
    const one = await runCli(["pivots", t, "--json", "--jobs", "1"]);
    const two = await runCli(["pivots", t, "--json", "--jobs", "2"]);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(JSON.parse(one.stdout).pivots.length).toBeGreaterThan(0);
  }, 60_000);

  it("pivots' headline says when the flips only move the failure (a race in every interleaving) and when they make the run pass", async () => {
    const race = await recordTo("fd1.ktrace", join(REPO_ROOT, "examples", "fd-reuse.ts"), "--seed", "1");
    const r = await runCli(["pivots", race]);
    expect(r.code).toBe(0);
    const pj = JSON.parse((await runCli(["pivots", race, "--json"])).stdout);
    const results = pj.pivots.flatMap((p: { avoid: { result: string }[] }) => p.avoid.map((a) => a.result));
    expect(results.length).toBeGreaterThan(0);
    expect(results).not.toContain("passes");
    expect(r.stdout.split("\n")[1]).toMatch(
      /^ {2}\d+ decisions matter: flipping one of them avoids this failure, but the run then fails another way \(no single flip makes it pass\)/,
    );
    const t = await recordTo("s1.ktrace", "tcmalloc-fork", "--seed", "1");
    expect((await runCli(["pivots", t])).stdout.split("\n")[1]).toMatch(
      /^ {2}\d+ decisions matter: flipping one of them avoids the failure \(/,
    );
  }, 60_000);

  it("whatif at a preemption: not preempting there, the run is followed elsewhere", async () => {
    const t = await recordTo("t104b.ktrace", "tcmalloc-fork", "--seed", "104");
    const pj = JSON.parse((await runCli(["pivots", t, "--json"])).stdout);
    expect(pj.failure.invariant).toBe("lock-owner-alive");
    const w = await runCli(["whatif", t, "--at", "3", "--json"]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/seq 3 is not a scheduling point .*nearby scheduling points: \d+ \(/);
    expect(w.stderr.trim().split("\n")).toHaveLength(1);
  }, 60_000);

  it("whatif --drain / --no-drain answers a tso drain question the other way: the store-buffering failure passes", async () => {
    const t = await recordTo("sb24.ktrace", "examples/store-buffering.ts", "--seed", "24");
    const pj = JSON.parse((await runCli(["pivots", t, "--json"])).stdout);
    expect(pj.failure.invariant).toBe("mutual-exclusion");
    // A drain question that stayed buffered and whose flip passes, as pivots lists it.
    const d = pj.pivots.find(
      (p: { decision: { kind: string; value: number } }) => p.decision.kind === "drain",
    )!.decision;
    expect(d.value).toBe(0);
    const w = await runCli(["whatif", t, "--at", String(d.seq), "--drain", "--json", "-o", join(dir, "sb24-w.ktrace")]);
    expect(w.code, w.stderr).toBe(0);
    const doc = JSON.parse(w.stdout);
    expect(doc.fails).toBe(false);
    expect(doc.change).toContain(
      `tid ${d.tid}'s oldest buffered store reaches memory at seq ${d.seq} (it stayed buffered)`,
    );
    // The answer it already had, a seq with no drain question, and a run without any: one line each, exit 2.
    for (const [args, msg] of [
      [["--at", String(d.seq), "--no-drain"], /already stayed buffered; nothing to change/],
      [["--at", "0", "--drain"], /seq 0 is not a drain question .*; nearby: \d+/],
    ] as const) {
      const r = await runCli(["whatif", t, ...args]);
      expect([r.code, r.stderr.trim().split("\n").length]).toEqual([2, 1]);
      expect(r.stderr).toMatch(msg);
    }
    const sc = await recordTo("lc.ktrace", "examples/lock-cycle.ts");
    const r = await runCli(["whatif", sc, "--at", "10", "--drain"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/asked no drain question .* for tso and pso runs/);
  });

  it("--run names a thread that was not ready: one line, exit 2", async () => {
    const t = await recordTo("c7.ktrace", "tcmalloc-fork", "--cpus", "1", "--seed", "7");
    const ev = JSON.parse((await runCli(["shrink", t, "--json"])).stdout);
    expect(ev.before.preemptions).toBeGreaterThan(0);
    const picks = (await runCli(["events", t, "--kind", "switch", "--json"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const pre = picks.find((e: { args: { from: number; to: number } }) => e.args.from >= 0 && e.args.to >= 0);
    const r = await runCli(["whatif", t, "--at", String(pre.seq), "--run", "99"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tid 99/);
  }, 60_000);
});

describe("record --schedule and --strategy", () => {
  it("--schedule-from a trace replays it exactly; on a fix it says where the decisions stop applying", async () => {
    const t = await recordTo("s104.ktrace", "tcmalloc-fork", "--seed", "104");
    const again = await recordTo("s104-again.ktrace", "tcmalloc-fork", "--schedule-from", t, "--seed", "999");
    expect(await eventsOf(again)).toBe(await eventsOf(t));
    const fixed = join(dir, "fixed.ktrace");
    const r = await runCli(["record", "tcmalloc-fork", "--fix", "atfork-2.17", "--schedule-from", SEED1, "-o", fixed]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^ktrace: note: .*tcmalloc-fork\.ktrace: the recorded .* \(seq \d+\); from there on the random strategy \(seed 1\) decided\n$/,
    );
    expect(r.stdout).toMatch(/outcome\s+ok/);
  }, 60_000);

  it("a decision list that does not fit: one line, exit 2", async () => {
    for (const [args, want] of [
      [["--schedule", "ks1.!!"], /not a decision list \(character 5 is not base64url\)/],
      [["--schedule", join(dir, "no-such-file")], /no such file, and not a decision list/],
      [["--schedule", "ks1.AQIAAAAA", "--cpus", "1"], /was made on 2 cpus, this run has 1/],
      [["--strategy", "pct", "--depth", "0"], /--depth must be 1\.\.16/],
      [["--strategy", "dfs"], /--strategy/],
    ] as const) {
      const r = await runCli(["record", "tcmalloc-fork", ...args, "-o", join(dir, "x.ktrace")]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 60_000);

  it("a PCT recording is the run explore judged for that seed, and its header says so", async () => {
    const x = await runCli([
      "explore",
      "tcmalloc-fork",
      "--seeds",
      "1..300",
      "--strategy",
      "pct",
      "--depth",
      "2",
      "--jobs",
      "1",
      "--json",
    ]);
    expect(x.code).toBe(1);
    const doc = JSON.parse(x.stdout);
    expect(doc.strategy).toBe("pct depth 2");
    const seed = doc.failing[0].seed;
    const t = await recordTo(
      "pct.ktrace",
      "tcmalloc-fork",
      "--strategy",
      "pct",
      "--depth",
      "2",
      "--seed",
      String(seed),
    );
    const c = JSON.parse((await runCli(["check", t, "--json"])).stdout);
    expect(c.violation).toMatchObject(doc.failing[0].violation);
    // Shrink and whatif run it again from the trace alone.
    expect((await runCli(["shrink", t])).code).toBe(0);
  }, 60_000);
});

describe("explore --strategy dfs", () => {
  it("reports exactly: none with at most 1 preemption, 168 of 8,352 with at most 2, each with a decision list that replays it", async () => {
    const one = await runCli(["explore", "tcmalloc-fork", "--strategy", "dfs", "--preemptions", "1"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(
      /no failure in any of the 207 schedules: tcmalloc-fork \(buggy\) on 1 cpu, every schedule with at most 1 preemption \(.*exhaustive\)/,
    );
    const two = await runCli(["explore", "tcmalloc-fork", "--strategy", "dfs", "--json"]);
    expect(two.code).toBe(1);
    const j = JSON.parse(two.stdout);
    expect(j).toMatchObject({
      strategy: "dfs preemptions 2",
      preemptions: 2,
      complete: true,
      scanned: 8352,
      failingCount: 168,
      fewest: 2,
      cpus: 1,
    });
    const first = j.failing[0];
    const t = await recordTo("dfs.ktrace", "tcmalloc-fork", "--cpus", "1", "--schedule", first.decisions);
    expect(JSON.parse((await runCli(["check", t, "--json"])).stdout).violation).toMatchObject(first.violation);
    const none = await runCli(["explore", "tcmalloc-fork"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("ktrace: explore needs --seeds A..B (see 'ktrace explore --help'), or --strategy dfs\n");
    const bad = await runCli(["explore", "tcmalloc-fork", "--strategy", "dfs", "--seeds", "1..3"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/drop --seeds/);
  }, 60_000);

  it("under priorities (k11's policy) it says its exhaustiveness holds at base step costs when threads sleep: priority-inversion needs other timings", async () => {
    const r = await runCli([
      "explore",
      join(REPO_ROOT, "examples", "priority-inversion.ts"),
      "--strategy",
      "dfs",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ complete: true, timed: true, failingCount: 0 });
    const t = await runCli(["explore", join(REPO_ROOT, "examples", "priority-inversion.ts"), "--strategy", "dfs"]);
    expect(t.stdout).toMatch(/exhaustive at base step costs/);
    expect(t.stdout).toMatch(/timing: threads here sleep or wait with a timeout/);
    // Random timing finds it; a policy switch is not a decision whatif can flip.
    const pi = await recordTo("pi.ktrace", join(REPO_ROOT, "examples", "priority-inversion.ts"));
    expect(JSON.parse((await runCli(["check", pi, "--json"])).stdout).violation.invariant).toBe("priority-inversion");
    const w = await runCli(["whatif", pi, "--at", "69"]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(
      /seq 69 is not a scheduling point \(a switch the kernel's rules made, not a decision: .*higher priority was ready/,
    );
    expect(w.stderr.trim().split("\n")).toHaveLength(1);
    // Without timers the search is exact as before.
    expect(
      JSON.parse(
        (await runCli(["explore", "tcmalloc-fork", "--strategy", "dfs", "--preemptions", "1", "--json"])).stdout,
      ).timed,
    ).toBe(false);
  }, 60_000);
});

describe("report", () => {
  it("a failing trace's report has the decisions that matter and the shrunk schedule, whose command replays it; a passing one has neither", async () => {
    const t = await recordTo("r104.ktrace", "tcmalloc-fork", "--seed", "104");
    const r = await runCli(["report", t]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/## Schedule\n\n### Decisions that matter\n/);
    expect(r.stdout).toMatch(
      /\| 30 \| the step of tid 1 on cpu 0 took 2× its base cost \| tid 1 \(kernel\): sys\\?_fork \| 1×: passes \|/,
    );
    expect(r.stdout).toMatch(/`ktrace shrink` finds the same failure with 0 preemptions \(was 3\)/);
    const cmd = /\n(ktrace record tcmalloc-fork --schedule (ks1\.[A-Za-z0-9_-]+) --cpus 2 -o \S+)\n/.exec(r.stdout)!;
    const out = await recordTo("r104-small.ktrace", "tcmalloc-fork", "--schedule", cmd[2]!);
    expect(JSON.parse((await runCli(["check", out, "--json"])).stdout).violation.invariant).toBe("lock-owner-alive");
    expect(r.stdout).toContain("avoids this failure (`ktrace pivots`");
    const ok = await runCli(["report", join(REPO_ROOT, "traces", "tcmalloc-fork--atfork-2.17.ktrace")]);
    expect(ok.stdout).not.toMatch(/## Schedule/);
    // A race in every interleaving: each flip only moves it, and the report says so.
    const race = await recordTo("fd1r.ktrace", join(REPO_ROOT, "examples", "fd-reuse.ts"), "--seed", "1");
    expect((await runCli(["report", race])).stdout).toContain(
      "avoids this failure; none makes the run pass: each then fails another way (`ktrace pivots`",
    );
  }, 60_000);
});
