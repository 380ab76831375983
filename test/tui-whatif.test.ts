// The replay UI's what-if branch (x, X) and the decisions that matter on its
// timeline, over the real engine and explorer (src/explore/explorer.ts, as
// cmd/replay.ts wires it), on the committed tcmalloc-fork trace (seed 1).

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { traceExplorer } from "../src/explore/explorer.ts";
import { openCursor } from "../src/tui/engine.ts";
import type { Command } from "../src/tui/keymap.ts";
import { openExploring, openReplay, type Store } from "../src/tui/store.ts";
import { barCells, LEGEND } from "../src/tui/timeline.tsx";
import { REPO_ROOT } from "./helpers/run-cli.ts";

const SEED1 = join(REPO_ROOT, "traces", "tcmalloc-fork.ktrace");
const cmd = (c: Store, command: Command) => c.dispatch({ type: "command", command });

function open(at?: number) {
  const { cursor, info } = openCursor(SEED1);
  return openExploring(cursor, info, traceExplorer(SEED1), at === undefined ? {} : { at });
}

describe("what-if in the replay UI", () => {
  it("marks the decisions that matter on the timeline (◇), the slow sys_fork step at seq 29 among them", () => {
    const c = open();
    // Found in the background, after the timeline's scan (the store runs it between frames).
    expect(c.getState().overview.marks.pivots).toEqual([]);
    while (c.engine.scan(1000));
    c.dispatch({ type: "scanned" });
    const pivots = c.getState().overview.marks.pivots!;
    expect(pivots).toEqual([9, 17, 18, 23, 29]);
    const bar = barCells(c.getState().total, c.getState().overview, 89 + 1);
    expect(bar.filter((x) => x.style === "pivot").length).toBe(5);
    expect(bar.find((x) => x.style === "pivot")!.ch).toBe("◇");
    expect(LEGEND.some((l) => l.glyph === "◇")).toBe(true);
  });

  it("x at seq 29 branches there: the branch passes, the banner says so; X switches back and forth", () => {
    const c = open(29);
    cmd(c, "branch");
    const b = c.getState();
    expect(b.branch).toMatchObject({ at: 29, showing: "branch" });
    expect(b.branch!.text).toMatch(/takes 1× its base cost \(it took 4×\): passes \(ok, 117 events\)/);
    expect(b.banner).toMatch(/^WHAT-IF branch at seq 29: /);
    expect(b.total).toBe(117);
    expect(b.failureSeq).toBeNull();
    expect(b.seq).toBe(29);
    expect(b.status?.text).toMatch(/what-if at seq 29: passes .*trace .*whatif-29\.ktrace; X switches runs/);
    cmd(c, "switchRun");
    const o = c.getState();
    expect(o.total).toBe(89);
    expect(o.failureSeq).toBe(87);
    expect(o.banner).toMatch(/^the original run \(X: the what-if branch at seq 29\)\n✖ HANG at seq 87/);
    expect(o.overview.marks.pivots).toEqual([]);
    cmd(c, "switchRun");
    expect(c.getState().total).toBe(117);
    // Moving in the branch moves its own cursor.
    cmd(c, "end");
    expect(c.getState().seq).toBe(116);
  });

  it("x where no decision was made names the nearby scheduling points; X without a branch says so", () => {
    const c = open(1);
    cmd(c, "switchRun");
    expect(c.getState().status?.text).toBe("no what-if branch yet: x branches at a scheduling point");
    cmd(c, "branch");
    const s = c.getState();
    expect(s.status).toMatchObject({ tone: "warn" });
    expect(s.status!.text).toMatch(/^seq 1 is not a scheduling point .*nearby scheduling points: 44 \(/);
    expect(s.branch).toBeNull();
    expect(s.total).toBe(89);
  });

  it("without an explorer (a plain replay) x says what-if is not available", () => {
    const { cursor, info } = openCursor(SEED1);
    const c = openReplay(cursor, info);
    cmd(c, "branch");
    expect(c.getState().status?.text).toMatch(/what-if needs the trace's world/);
  });
});
