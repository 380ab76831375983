// explore's text for many failing seeds: the kinds of failure (the failing
// seeds grouped by their first violation, numbers aside), and on a terminal
// the first rows only, each cut to its width; piped, every row in full.
import { describe, expect, it } from "vitest";
import { failureKinds } from "../src/explore/doc.ts";
import { cliCommand, runCli } from "./helpers/run-cli.ts";
import { has, sh, Terminal, TMUX_MISSING } from "./helpers/tmux.ts";

const fail = (seed: number, invariant: string, message: string) => ({
  seed,
  outcome: { kind: "hang" as const, seq: 9, message: "" },
  violation: { seq: 8, invariant, message },
});

describe("failureKinds", () => {
  it("groups by invariant and the message's shape up to where the details begin; most seeds first, then first seed", () => {
    const ks = failureKinds([
      fail(
        3,
        "no-deadlock",
        "tid 4 (pid 1) waits on condvar cv, which can never return: the only threads that could wake it are tid 1",
      ),
      fail(5, "no-deadlock", "tid 2 (pid 1) blocks in join(tid 3), which can never return: tid 3 waits"),
      fail(
        7,
        "no-deadlock",
        "tid 2 (pid 1) waits on condvar cv, which can never return: the only thread that could wake it is tid 9",
      ),
      fail(8, "data-race", "load of x by tid 2; store by tid 3"),
      { seed: 9, outcome: { kind: "fatal" as const, seq: 4, message: "Assertion `n == 12' failed." }, violation: null },
    ]);
    expect(ks).toEqual([
      { what: "no-deadlock: tid N (pid N) waits on condvar cv", count: 2, seed: 3 },
      { what: "no-deadlock: tid N (pid N) blocks in join(tid N)", count: 1, seed: 5 },
      { what: "data-race: load of x by tid N", count: 1, seed: 8 },
      { what: "fatal: Assertion `n == N' failed.", count: 1, seed: 9 },
    ]);
  });
});

describe("ktrace explore's text", () => {
  it("piped: every failing seed's row in full, then the kinds of failure", async () => {
    const r = await runCli(["explore", "examples/one-condvar.ts", "--seeds", "1..60"]);
    expect(r.code).toBe(1);
    const rows = r.stdout
      .split("\n")
      .filter((l) => /^\d+ +hang at \d+ +no-deadlock at \d+: .*, which can never return: /.test(l));
    const failed = Number(/^(\d+) of 60 seeds failed/m.exec(r.stdout)![1]);
    expect(rows).toHaveLength(failed);
    expect(r.stdout).not.toContain("more failing seeds");
    const kinds = r.stdout.slice(r.stdout.indexOf("  kinds of failure (the first violation, numbers aside):\n"));
    const counts = [
      ...kinds.matchAll(
        /^ {4} *(\d+) {2}no-deadlock: tid N \(pid N\) (?:waits on condvar cv|blocks in join\(tid N\)) {2}\(seed \d+\)$/gm,
      ),
    ];
    expect(counts.reduce((n, m) => n + Number(m[1]), 0)).toBe(failed);
  });

  it("on a terminal: the first 10 rows cut to its width, and how many more", async () => {
    expect(TMUX_MISSING).toBe(null);
    const [cmd, pre] = cliCommand("bun");
    const t = new Terminal(
      [cmd, ...pre, "explore", "examples/one-condvar.ts", "--seeds", "1..60"].map(sh).join(" "),
      80,
      40,
    );
    try {
      const s = await t.waitFor(has(/^ktrace exited with 1$/));
      const rows = s.filter((l) => /^\d+ +hang at \d+ +no-deadlock at /.test(l));
      expect(rows).toHaveLength(10);
      expect(rows.every((l) => l.length <= 80 && l.endsWith("…"))).toBe(true);
      expect(s.some((l) => /^… \d+ more failing seeds \(every one: pipe the output, or --json\)$/.test(l))).toBe(true);
      expect(s.some((l) => l === "  kinds of failure (the first violation, numbers aside):")).toBe(true);
    } finally {
      t.kill();
    }
  });
});
