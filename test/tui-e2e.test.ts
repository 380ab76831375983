// End to end: the real `ktrace replay` in a real terminal (tmux, 80x24), under
// Bun and under Deno. Opens a buggy trace, sees the post-mortem banner, steps
// back, sets a watchpoint on a lock, reverse-continues to it, searches, quits,
// and checks each screen with capture-pane. Also: without a terminal, replay
// refuses with one line and exit 2.
//
// Without tmux these tests fail, saying how to install it (.ci/run installs
// it): a terminal UI that is never run in a terminal is not tested. No time
// limits: screens are awaited by polling capture-pane up to a generous number
// of times.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepare, record } from "../src/record/index.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { has, line, replayCommand, Terminal } from "./helpers/tmux.ts";

let dir = "";
let trace = "";

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "ktrace-tui-e2e-"));
  trace = path.join(dir, "tcmalloc.ktrace");
  record(await prepare({ target: "tcmalloc-fork" }), trace);
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("ktrace replay in a terminal (tmux)", () => {
  it("bun: post-mortem banner, step back, watch a lock, reverse-continue to it, search, quit", async () => {
    const t = new Terminal(replayCommand("bun", trace));
    try {
      // 1. Opens at the hang, with the banner naming it and the first violation.
      let s = await t.waitFor(has(/^✖ HANG at seq \d+/));
      expect(s[0]).toBe("ktrace replay tcmalloc.ktrace  tcmalloc-fork  no fix  seed 1  2 cpus");
      const hang = Number(/^✖ HANG at seq (\d+)/.exec(s[2]!)![1]);
      expect(s[1]).toMatch(new RegExp(`^ seq ${hang} / \\d+ +t [0-9.]+ µs +outcome hang at seq ${hang}$`));
      expect(s[3]).toMatch(/^first violation: lock-owner-alive at seq \d+: tid 3 \(pid 2\) spins on tcmalloc/);
      expect(line(s, new RegExp(`^▶ ${hang} `))).toMatch(/hang +hang: /);
      expect(s).toHaveLength(24);
      expect(s[23]).toMatch(/← back +→ step +c cont +C rev-cont .*\? keys +q quit/);

      // 2. Steps back.
      t.send("Left");
      s = await t.waitFor((x) => x[1]!.startsWith(` seq ${hang - 1} /`));
      expect(s[1]).toMatch(new RegExp(`^ seq ${hang - 1} /`));
      expect(line(s, new RegExp(`^▶ ${hang - 1} `))).toBeDefined();

      // 3. Sets a watchpoint on the lock, picked from the fuzzy list.
      t.send("w");
      await t.waitFor(has(/^ Add a watchpoint/));
      t.send({ text: "SlowTLS pid 2" });
      s = await t.waitFor(has(/^▶ lock tcmalloc\.SlowTLS \(pid 2\)/));
      expect(line(s, /^▶ /)).toMatch(/^▶ lock tcmalloc\.SlowTLS \(pid 2\) +spin, id \d+$/);
      t.send("Enter");
      s = await t.waitFor(has(/^ watching lock tcmalloc\.SlowTLS/));
      expect(s[22]).toMatch(/^ watching lock tcmalloc\.SlowTLS \(pid 2\) \(\d+ hits? in the trace\)/);

      // 4. Reverse-continues (through invariant breaks) to where the lock's owner changed.
      for (let i = 0; i < 10 && !/^ lock tcmalloc\.SlowTLS/.test(s[22]!); i++) {
        const at = s[1];
        t.send("C");
        s = await t.waitFor((x) => x[1] !== at);
      }
      expect(s[22]).toMatch(/^ lock tcmalloc\.SlowTLS \(id \d+, pid 2\): .*→ tid \d+ at seq \d+/);
      const hit = Number(/at seq (\d+)/.exec(s[22]!)![1]);
      expect(s[1]).toMatch(new RegExp(`^ seq ${hit} /`));
      expect(line(s, new RegExp(`^▶ ${hit} `))).toBeDefined();

      // 5. Searches the events, live, and jumps to a match.
      t.send("/");
      await t.waitFor(has(/^ Search events/));
      t.send({ text: "fork" });
      s = await t.waitFor(has(/^\/ fork +\d+ matches in all \d+ events/));
      expect(line(s, /^▶ /)).toMatch(/fork/);
      const target = Number(/seq (\d+)$/.exec(line(s, /^▶ /)!)![1]);
      t.send("Enter");
      s = await t.waitFor((x) => /for 'fork'/.test(x[22]!));
      expect(s[22]).toMatch(/match \d+\/\d+ for 'fork'/);
      expect(s[1]).toMatch(new RegExp(`^ seq ${target} /`));

      // 6. Quits and restores the terminal (the alternate screen is gone).
      t.send("q");
      s = await t.waitFor(has(/^ktrace exited with/));
      expect(line(s, /^ktrace exited with/)).toBe("ktrace exited with 0");
      expect(s.some((l) => l.startsWith("ktrace replay "))).toBe(false);
    } finally {
      t.kill();
    }
  });

  it("deno: opens post-mortem, steps back, shows the keys, quits on Ctrl-C", async () => {
    const t = new Terminal(replayCommand("deno", trace));
    try {
      let s = await t.waitFor(has(/^✖ HANG at seq \d+/));
      const hang = Number(/^✖ HANG at seq (\d+)/.exec(s[2]!)![1]);
      expect(s[3]).toMatch(/^first violation: lock-owner-alive/);
      t.send("Left", "Left");
      s = await t.waitFor((x) => x[1]!.startsWith(` seq ${hang - 2} /`));
      expect(s[1]).toMatch(new RegExp(`^ seq ${hang - 2} /`));
      t.send("?");
      s = await t.waitFor(has(/^ Keys /));
      expect(s.some((l) => /^ {2}← b +Step back one event$/.test(l))).toBe(true);
      t.send("Escape");
      await t.waitFor(has(/^[ ▶]Events /));
      t.send("C-c");
      s = await t.waitFor(has(/^ktrace exited with/));
      expect(line(s, /^ktrace exited with/)).toBe("ktrace exited with 0");
      expect(s.some((l) => l.startsWith("ktrace replay "))).toBe(false);
    } finally {
      t.kill();
    }
  });

  it("adapts to a resize", async () => {
    const t = new Terminal(replayCommand("bun", trace), 100, 30);
    try {
      let s = await t.waitFor(has(/^✖ HANG/));
      expect(s).toHaveLength(30);
      expect(s[4]!.length).toBe(100);
      t.tmux("resize-window", "-t", "e2e", "-x", "80", "-y", "24");
      s = await t.waitFor((x) => x.length === 24 && x[4]!.length === 80 && /q quit$/.test(x[23]!));
      expect(s).toHaveLength(24);
      expect(s[4]!.length).toBe(80);
      expect(s[23]).toMatch(/q quit$/);
      t.send("q");
      await t.waitFor(has(/^ktrace exited with 0/));
    } finally {
      t.kill();
    }
  });
});

describe("ktrace replay of a lost wakeup (tmux)", () => {
  let lost = "";
  beforeAll(async () => {
    // examples/lost-wakeup.ts, seed 3: the dispatcher signals job_ready before the worker waits.
    lost = path.join(dir, "lost-wakeup.ktrace");
    const r = record(await prepare({ target: path.join(REPO_ROOT, "examples", "lost-wakeup.ts"), seed: 3 }), lost);
    expect(r.outcome?.kind).toBe("hang");
  });

  it("bun: watches the condition variable and reverse-continues to the signal nobody received", async () => {
    const t = new Terminal(replayCommand("bun", lost));
    try {
      // Opens at the hang: the worker waits on job_ready, the dispatcher in join.
      let s = await t.waitFor(has(/^✖ HANG at seq \d+/));
      expect(s[3]).toMatch(/^first violation: no-deadlock at seq \d+: tid 2 \(pid 1\) waits on condvar/);
      // Watches the condition variable, picked from the fuzzy list.
      t.send("w");
      await t.waitFor(has(/^ Add a watchpoint/));
      t.send({ text: "condvar job_ready" });
      s = await t.waitFor(has(/^▶ condvar job_ready \(pid 1\)/));
      t.send("Enter");
      s = await t.waitFor(has(/^ watching condvar job_ready/));
      expect(s[22]).toMatch(/^ watching condvar job_ready \(pid 1\): waits, wakes, value \(\d+ hits? in the trace\)/);
      // Reverse-continues (past the worker's wait) to the wake that found no waiter.
      for (let i = 0; i < 10 && !/lost at seq/.test(s[22]!); i++) {
        const at = s[1];
        t.send("C");
        s = await t.waitFor((x) => x[1] !== at);
      }
      expect(s[22]).toMatch(/^ condvar job_ready \(pid 1\): tid 1 wakes up to 1: nobody waits, lost at seq \d+$/);
      const hit = Number(/at seq (\d+)/.exec(s[22]!)![1]);
      expect(s[1]).toMatch(new RegExp(`^ seq ${hit} /`));
      expect(line(s, new RegExp(`^▶ ${hit} `))).toMatch(/futex-wake +tid 1 wakes up to 1 on co/);
      t.send("q");
      s = await t.waitFor(has(/^ktrace exited with/));
      expect(line(s, /^ktrace exited with/)).toBe("ktrace exited with 0");
    } finally {
      t.kill();
    }
  });
});

describe("ktrace replay without a terminal", () => {
  it.each(["bun", "deno"] as const)(
    "%s: refuses with one line pointing at state/events/check, exit 2",
    async (runtime) => {
      const r = await runCli(["replay", trace], { runtime });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^ktrace: replay is interactive and needs a terminal, but stdout is not one \(in scripts and CI use 'ktrace state .* --at N', 'ktrace events .*' or 'ktrace check .*'\)$/,
      );
    },
  );
});
