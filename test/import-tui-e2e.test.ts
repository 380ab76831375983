// End to end: an imported trace in the real `ktrace replay`, in a real terminal
// (tmux, 80x24), under Bun and Deno. Imports the lockdep ABBA fixture with the
// CLI, opens it, checks the header says where it came from, goes to the first
// violation (the wait that closes the cycle), sees the tasks' states and the locks
// they wait on, asks why (who holds the lock), watches a cpu and continues to the
// switch that changes what it runs, and quits. No time limits (see helpers/tmux.ts).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/run-cli.ts";
import { has, line, replayCommand, Terminal } from "./helpers/tmux.ts";

let dir = "";
let trace = "";

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "ktrace-import-tui-"));
  trace = path.join(dir, "abba.ktrace");
  const r = await runCli(["import", "fixtures/import/ftrace/lockdep-abba.txt", "-o", trace]);
  if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("an imported trace in ktrace replay (tmux)", () => {
  it("bun: header, the violation, task states and waits, a cpu watchpoint, quit", async () => {
    const t = new Terminal(replayCommand("bun", trace));
    try {
      let s = await t.waitFor(has(/^▶ -1 +start/));
      expect(s[0]).toBe("ktrace replay abba.ktrace  imported ftrace trace lockdep-abba.txt  2 cpus");
      expect(s[1]).toMatch(/^ seq start \/ 20 +t 0 ns +outcome none \(imported\)$/);
      // Before the first switch a cpu runs what nobody knows yet.
      expect(s.some((l) => /^ +0 c0 +t200 task-new +task worker-a-200 seen/.test(l))).toBe(true);

      // v: the first violation, no-deadlock at the wait that closes the cycle.
      t.send("v");
      s = await t.waitFor((x) => x[1]!.startsWith(" seq 18 /"));
      expect(line(s, /^▶ 18 /)).toMatch(/^▶ 18 c1 +t201 lock-wait +tid 201 waits for &dev->lock_a/);
      // The threads pane: both tasks and the lock each waits on.
      expect(line(s, /^200 200 worke/)).toMatch(/blocked w/);
      expect(line(s, /^201 201 worke/)).toMatch(/unknown w/);
      // e: why: who holds the lock it waits for, since when.
      t.send("e");
      s = await t.waitFor(has(/^ Why: event 18/));
      expect(line(s, /^lock &dev->lock_a/)).toBe("lock &dev->lock_a (mutex, kernel; owner tid 200, level 1):");
      expect(line(s, /^ +seq 12 +owner:/)).toMatch(/owner: tid 200 took &dev->lock_a \(owner since seq 12\)/);
      t.send("Escape");
      await t.waitFor(has(/^[ ▶]Events /));

      // A watchpoint on cpu 1, then reverse-continue to the last change of what it runs.
      t.send("w");
      await t.waitFor(has(/^ Add a watchpoint/));
      t.send({ text: "cpu 1" });
      s = await t.waitFor(has(/^▶ cpu 1: what it runs/));
      t.send("Enter");
      s = await t.waitFor(has(/^ watching cpu 1/));
      t.send("c");
      s = await t.waitFor((x) => /^ cpu 1: /.test(x[22]!));
      expect(s[22]).toMatch(/^ cpu 1: \? → idle at seq 19 \(switch\)/);
      expect(s[1]).toMatch(/^ seq 19 \//);

      t.send("q");
      s = await t.waitFor(has(/^ktrace exited with/));
      expect(line(s, /^ktrace exited with/)).toBe("ktrace exited with 0");
    } finally {
      t.kill();
    }
  });

  it("deno: opens the imported trace and quits", async () => {
    const t = new Terminal(replayCommand("deno", trace));
    try {
      let s = await t.waitFor(has(/^▶ -1 +start/));
      expect(s[0]).toBe("ktrace replay abba.ktrace  imported ftrace trace lockdep-abba.txt  2 cpus");
      t.send("End");
      s = await t.waitFor((x) => x[1]!.startsWith(" seq 19 /"));
      expect(line(s, /^▶ 19 /)).toMatch(/switch +cpu 1: wor/);
      t.send("q");
      s = await t.waitFor(has(/^ktrace exited with/));
      expect(line(s, /^ktrace exited with/)).toBe("ktrace exited with 0");
    } finally {
      t.kill();
    }
  });
});
