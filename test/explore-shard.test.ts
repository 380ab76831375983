// explore --shard and ktrace merge: N shards merged equal the unsharded run
// byte for byte; slicing; auto/N from the environment; bad shards refused.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ExploreDoc,
  exploreDoc,
  MergeError,
  mergeDocs,
  outcomeOrder,
  parseShardDoc,
  renderDoc,
} from "../src/explore/doc.ts";
import { explore } from "../src/explore/index.ts";
import { parseShard, resolveShard, shardRange } from "../src/explore/shard.ts";
import { OUTCOME_KINDS } from "../src/kernel/index.ts";
import { INVARIANT_NAMES } from "../src/replay/invariants.ts";
import { runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-shard-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ORDER = { outcomes: outcomeOrder(OUTCOME_KINDS), violations: INVARIANT_NAMES };

describe("shard slices", () => {
  it("cover the range exactly once, in order, balanced within one seed (ranges not divisible by N, N > range)", () => {
    for (const [from, to] of [
      [1, 100],
      [5, 5],
      [0, 6],
      [17, 1016],
      [3, 9],
    ] as const) {
      for (const count of [1, 2, 3, 7, 8, 100, 1000]) {
        const total = to - from + 1;
        let next = from;
        const sizes: number[] = [];
        for (let i = 0; i < count; i++) {
          const s = shardRange(from, to, i, count);
          expect(s.from).toBe(next);
          next = s.to + 1;
          sizes.push(s.to - s.from + 1);
        }
        expect(next).toBe(to + 1);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
      }
    }
    // Exact at the top of the safe integers.
    const big = shardRange(0, Number.MAX_SAFE_INTEGER - 1, 999_999, 1_000_000);
    expect(big.to).toBe(Number.MAX_SAFE_INTEGER - 1);
  });

  it("parses I/N and auto/N, and refuses an index out of range or a malformed value", () => {
    expect(parseShard("0/4")).toEqual({ index: 0, count: 4 });
    expect(parseShard("auto/8")).toEqual({ index: "auto", count: 8 });
    for (const bad of ["4/4", "5/4", "1/0", "x/4", "-1/4", "1/2/3", "1", "/4", "01/4", "1/4x", "0/2000000"]) {
      expect(() => parseShard(bad), bad).toThrow(expect.objectContaining({ exitCode: 2 }));
    }
    expect(() => parseShard("4/4")).toThrow(/index 4 is out of range for 4 shards \(0\.\.3/);
  });

  it("auto/N takes the first set of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN), AWS_BATCH_JOB_ARRAY_INDEX and says which", () => {
    const auto = parseShard("auto/4");
    expect(resolveShard(auto, { JOB_COMPLETION_INDEX: "3", SLURM_ARRAY_TASK_ID: "1" })).toEqual({
      index: 3,
      count: 4,
      source: "JOB_COMPLETION_INDEX=3",
    });
    expect(resolveShard(auto, { SLURM_ARRAY_TASK_ID: "2" })).toEqual({
      index: 2,
      count: 4,
      source: "SLURM_ARRAY_TASK_ID=2",
    });
    expect(resolveShard(auto, { SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_MIN: "1" })).toEqual({
      index: 3,
      count: 4,
      source: "SLURM_ARRAY_TASK_ID=4 - SLURM_ARRAY_TASK_MIN=1",
    });
    expect(resolveShard(auto, { AWS_BATCH_JOB_ARRAY_INDEX: "0" }).index).toBe(0);
    expect(() => resolveShard(auto, {})).toThrow(
      /none of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX is set/,
    );
    expect(() => resolveShard(auto, { JOB_COMPLETION_INDEX: "4" })).toThrow(
      /JOB_COMPLETION_INDEX=4 gives index 4, out of range for 4 shards/,
    );
    expect(() => resolveShard(auto, { JOB_COMPLETION_INDEX: "two" })).toThrow(/is not a shard index/);
  });
});

/** The documents of an unsharded run and of its N shards, run in process. */
async function docs(
  target: string,
  from: number,
  to: number,
  count: number,
): Promise<{ whole: ExploreDoc; shards: ExploreDoc[] }> {
  const whole = exploreDoc(await explore({ target, req: {}, from, to, jobs: 1 }), { from, to }, []);
  const shards: ExploreDoc[] = [];
  for (let i = 0; i < count; i++) {
    const s = shardRange(from, to, i, count);
    const res = await explore({ target, req: {}, from: s.from, to: s.to, jobs: 1 });
    shards.push(exploreDoc(res, { from, to }, [], { index: i, count, save: null, saveAll: false }));
  }
  return { whole, shards };
}

const parsed = (shards: ExploreDoc[]) =>
  shards.map((d, i) => ({ file: `s${i}.json`, doc: parseShardDoc(renderDoc(d), `s${i}.json`) }));

describe("merge (in process)", () => {
  it("N shards merged print the unsharded document byte for byte, for several N, in any order", async () => {
    for (const count of [1, 2, 3, 7, 64, 150]) {
      const { whole, shards } = await docs("asterinas-procfs", 5, 104, count);
      expect(whole.failing.length).toBeGreaterThan(5);
      const files = parsed(shards).reverse();
      expect(renderDoc(mergeDocs(files, ORDER)), `N=${count}`).toBe(renderDoc(whole));
    }
  });

  it("refuses shards of different runs, a shard given twice, a missing shard", async () => {
    const { shards } = await docs("tcmalloc-fork", 1, 30, 3);
    const ok = parsed(shards);
    const other = (change: (d: ExploreDoc) => void) => {
      const d = structuredClone(shards[1]!);
      change(d);
      return { file: "other.json", doc: parseShardDoc(renderDoc(d), "other.json") };
    };
    const cases: [string, ReturnType<typeof parsed>, RegExp][] = [
      [
        "scenario",
        [ok[0]!, other((d) => (d.scenario = "rcore-kstack")), ok[2]!],
        /other\.json is a shard of another run: scenario rcore-kstack, but s0\.json has tcmalloc-fork/,
      ],
      ["fix", [ok[0]!, other((d) => (d.fix = "atfork-2.17")), ok[2]!], /another run: fix atfork-2\.17/],
      ["strategy", [ok[0]!, other((d) => (d.strategy = "pct")), ok[2]!], /another run: strategy pct/],
      ["cpus", [ok[0]!, other((d) => (d.cpus = 4)), ok[2]!], /another run: cpus 4/],
      // The memory model (a scenario's rules, not only --opt memory=) is the run's too.
      [
        "memory",
        [ok[0]!, other((d) => (d.memory = "tso")), ok[2]!],
        /another run: memory model tso, but s0\.json has sc/,
      ],
      ["options", [ok[0]!, other((d) => (d.options = { x: "1" })), ok[2]!], /another run: options x=1/],
      [
        "twice",
        [ok[0]!, ok[1]!, { ...ok[1]!, file: "again.json" }, ok[2]!],
        /shard 1\/3 is given twice \(s1\.json and again\.json\)/,
      ],
      ["missing", [ok[0]!, ok[2]!], /1 of 3 shards missing: 1/],
    ];
    for (const [name, files, msg] of cases) expect(() => mergeDocs(files, ORDER), name).toThrow(msg);
    // A different range changes the slices: the shard's own seeds no longer fit, or the run key differs.
    expect(() => parseShardDoc(renderDoc({ ...shards[1]!, seeds: { from: 1, to: 60 } }), "r.json")).toThrow(
      /scanned is 10, but shard 1\/3 of 1\.\.60 has 20 seeds/,
    );
    expect(() => mergeDocs([], ORDER)).toThrow(MergeError);
  });

  it("checks each shard as untrusted input: types, unknown fields, seeds outside its slice, counts that do not add up", async () => {
    const { shards } = await docs("tcmalloc-fork", 1, 30, 3);
    const good = JSON.parse(renderDoc(shards[1]!));
    const bad = (change: (d: Record<string, any>) => void) => {
      const d = structuredClone(good);
      change(d);
      return () => parseShardDoc(JSON.stringify(d), "x.json");
    };
    expect(() => parseShardDoc("{", "x.json")).toThrow(/x\.json: not JSON/);
    expect(() => parseShardDoc("[]", "x.json")).toThrow(/the document must be an object/);
    expect(bad((d) => (d.scanned = "10"))).toThrow(/scanned must be an integer/);
    expect(bad((d) => (d.extra = 1))).toThrow(/unknown field 'extra'/);
    expect(bad((d) => delete d.errors)).toThrow(/has no 'errors'/);
    expect(bad((d) => (d.shard.index = 3))).toThrow(/shard\.index 3 is out of range for 3 shards/);
    expect(
      bad((d) => d.failing.push({ seed: 1, outcome: { kind: "hang", seq: 1, message: "" }, violation: null })),
    ).toThrow(/seed 1 is outside shard 1\/3 \(11\.\.20\)/);
    expect(bad((d) => d.failing.unshift(d.failing[0]))).toThrow(/not in increasing seed order/);
    expect(bad((d) => (d.outcomes.ok += 1))).toThrow(/outcomes count 11 seeds, but scanned is 10/);
    expect(bad((d) => (d.failing[0].outcome.message = "x".repeat(70_000)))).toThrow(/longer than 65536/);
    expect(bad((d) => (d.saved = ["a.ktrace"]))).toThrow(
      /saved lists 1 traces, but the shard's --save settings give 0/,
    );
    expect(bad((d) => (d.seeds.from = -1))).toThrow(/seeds\.from must be an integer >= 0/);
  });
});

describe("ktrace explore --shard / ktrace merge (CLI)", () => {
  it("shards run on Bun and Deno, merged, equal the unsharded run byte for byte, --save included; merge's exit code is the run's", async () => {
    const save = join(dir, "saved");
    const args = ["explore", "asterinas-procfs", "--seeds", "3..402", "--save", save, "--json"];
    const whole = await runCli(args);
    expect(whole.code).toBe(1);
    const doc = JSON.parse(whole.stdout);
    expect(doc.saved).toHaveLength(10);
    const files: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await runCli([...args, "--shard", `${i}/4`, "--jobs", "2"], { runtime: i % 2 === 0 ? "bun" : "deno" });
      expect(r.code, r.stderr).toBe(1);
      expect(JSON.parse(r.stdout).shard).toEqual({ index: i, count: 4, save, saveAll: false });
      files.push(join(dir, `a-${i}.json`));
      writeFileSync(files[i]!, r.stdout);
    }
    const merged = await runCli(["merge", ...files.reverse(), "--json"], { runtime: "deno" });
    expect(merged.stderr).toBe("");
    expect(merged.code).toBe(1);
    expect(merged.stdout).toBe(whole.stdout);
    // The text report: the unsharded run's rows, and a summary naming the shards.
    const text = await runCli(["merge", ...files]);
    const plain = await runCli(args.filter((a) => a !== "--json"));
    const rows = (s: string) => s.split("\n").filter((l) => /^\d+\s+(panic|hang|fatal|ok|budget|error)\b/.test(l));
    expect(rows(text.stdout)).toEqual(rows(plain.stdout));
    expect(rows(text.stdout)).toHaveLength(doc.failing.length);
    expect(text.stdout).toMatch(
      new RegExp(
        `${doc.failing.length} of 400 seeds failed .*: asterinas-procfs \\(buggy --cpus 2 --opt reads=3 --max-events \\d+\\) seeds 3\\.\\.402, merged from 4 shards`,
      ),
    );
  });

  it("a seed's internal error is named in a shard and in the merge, which exit 3 after reporting every other seed", async () => {
    const env = { KTRACE_TEST_FAULT_SEEDS: "4,17" };
    const args = ["explore", "tcmalloc-fork", "--seeds", "1..30", "--json"];
    const whole = await runCli(args, { env });
    expect(whole.code).toBe(3);
    const doc = JSON.parse(whole.stdout);
    expect(doc.errors).toEqual([
      { seed: 4, message: "injected fault at seed 4 (KTRACE_TEST_FAULT_SEEDS)", exitCode: 3 },
      { seed: 17, message: "injected fault at seed 17 (KTRACE_TEST_FAULT_SEEDS)", exitCode: 3 },
    ]);
    expect(doc.outcomes.error).toBe(2);
    expect(whole.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^ktrace: internal error at 2 seeds \(4, 17\); first, seed 4: injected fault/),
    ]);
    const files = [0, 1].map((i) => join(dir, `e-${i}.json`));
    for (let i = 0; i < 2; i++) {
      const r = await runCli([...args, "--shard", `${i}/2`], { env });
      expect(r.code).toBe(3);
      writeFileSync(files[i]!, r.stdout);
    }
    const merged = await runCli(["merge", ...files, "--json"]);
    expect(merged.code).toBe(3);
    expect(merged.stdout).toBe(whole.stdout);
    expect(merged.stderr).toBe(whole.stderr);
    const text = await runCli(["explore", "tcmalloc-fork", "--seeds", "1..30"], { env });
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^4\s+error\s+internal error: injected fault at seed 4/m);
    expect(text.stdout).toMatch(
      /2 seeds hit an internal error in ktrace \(outcome 'error'\); every other seed was run and judged/,
    );
    expect(text.stdout).toMatch(/outcomes: ok \d+, hang \d+, error 2/);
  });

  it("--shard auto/N reads the index from the environment and says which variable it used", async () => {
    const fixed = await runCli(["explore", "tcmalloc-fork", "--seeds", "1..50", "--shard", "2/3", "--json"]);
    const auto = await runCli(["explore", "tcmalloc-fork", "--seeds", "1..50", "--shard", "auto/3", "--json"], {
      env: { JOB_COMPLETION_INDEX: "2" },
    });
    expect(auto.stdout).toBe(fixed.stdout);
    expect(auto.stderr).toBe("ktrace: shard 2/3 (index from JOB_COMPLETION_INDEX=2)\n");
    const slurm = await runCli(["explore", "tcmalloc-fork", "--seeds", "1..50", "--shard", "auto/3"], {
      env: { SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_MIN: "1" },
    });
    expect(slurm.stdout).toMatch(/shard 2\/3 of seeds 1\.\.50: seeds 34\.\.50/);
  });

  it("merge --help shows that it takes one or more shard files", async () => {
    const r = await runCli(["merge", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ktrace merge <shard\.json>\.\.\. \[options\]$/m);
    expect((await runCli(["explore", "--help"])).stdout).toContain("--shard I/N|auto/N");
  });

  it("bad shards and bad merges: one line, exit 2", async () => {
    const env = { JOB_COMPLETION_INDEX: "", SLURM_ARRAY_TASK_ID: "", AWS_BATCH_JOB_ARRAY_INDEX: "" };
    const good = join(dir, "g.json");
    writeFileSync(
      good,
      (await runCli(["explore", "tcmalloc-fork", "--seeds", "1..9", "--shard", "0/2", "--json"])).stdout,
    );
    const other = join(dir, "o.json");
    writeFileSync(
      other,
      (
        await runCli([
          "explore",
          "tcmalloc-fork",
          "--fix",
          "atfork-2.17",
          "--seeds",
          "1..9",
          "--shard",
          "1/2",
          "--json",
        ])
      ).stdout,
    );
    const esc = join(dir, "esc.json");
    writeFileSync(
      esc,
      readFileSync(good, "utf8").replace('"scenario": "tcmalloc-fork"', '"scenario": "tcmalloc-fork\\u001b[2J"'),
    );
    for (const [args, msg] of [
      [["explore", "tcmalloc-fork", "--seeds", "1..10", "--shard", "2/2"], /index 2 is out of range for 2 shards/],
      [["explore", "tcmalloc-fork", "--seeds", "1..10", "--shard", "one/2"], /shard index must be a number/],
      [["explore", "tcmalloc-fork", "--seeds", "1..10", "--shard", "auto/2"], /none of JOB_COMPLETION_INDEX/],
      [["merge"], /merge needs the shards' JSON files/],
      [["merge", good], /1 of 2 shards missing: 1/],
      [["merge", good, good], /shard 0\/2 is given twice/],
      [["merge", good, other], /is a shard of another run: fix atfork-2\.17, but .*g\.json has \(none\)/],
      [["merge", good, join(dir, "nope.json")], /cannot read .*nope\.json: ENOENT/],
      [["merge", good, esc], /another run: scenario tcmalloc-fork\\x1b\[2J/],
    ] as const) {
      const r = await runCli(args, { env });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout, args.join(" ")).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines, args.join(" ")).toHaveLength(1);
      expect(lines[0], args.join(" ")).toMatch(msg);
      expect(r.stderr, args.join(" ")).not.toContain("\u001b");
    }
  });
});
