// Format 2.2: the writer skips a snapshot whose state outweighs the events
// since the last one (writer.ts, snapshotDue, SNAPSHOT_SHARE). A run that
// leaks processes keeps a trace that grows with its events, and every state
// is still the fold's; a run with a small state keeps every snapshot.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepare, record } from "../src/record/index.ts";
import { Cursor, openSource } from "../src/replay/index.ts";
import { openTrace } from "../src/trace/index.ts";
import { allEvents, canon, foldTo } from "./helpers/replay-sources.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-snapshot-share-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("snapshots a state outweighs are skipped (format 2.2)", () => {
  it("examples/zombie-leak.ts over 200,000 events: a few snapshots, a trace that grows with its events, every seek the fold's state", async () => {
    const path = join(dir, "leak.ktrace");
    record(await prepare({ target: join(REPO_ROOT, "examples", "zombie-leak.ts"), maxEvents: 200_000 }), path);
    const t = openTrace(path);
    expect(t.formatVersion).toBe("3.0"); // 2.2's rule, kept in 3.0
    expect(t.warnings).toEqual([]);
    const every = t.meta.snapshotEvery;
    const due = Math.floor(200_000 / every);
    // The initial one, a few of the 48 due, the final one.
    expect(t.snapshotSeqs[0]).toBe(-1);
    expect(t.snapshotSeqs.at(-1)).toBe(199_999);
    expect(t.snapshotSeqs.length).toBeLessThan(due / 3);
    expect(t.snapshotSeqs.length).toBeGreaterThan(3);
    expect(t.snapshotSeqs.slice(1, -1).every((q) => (q + 1) % every === 0)).toBe(true);
    expect(statSync(path).size / 200_000).toBeLessThan(12);
    t.close();
    // Seeks fold from the snapshot before, however far: the same states as a fold from the start.
    const src = openSource(path);
    const evs = allEvents(src);
    const c = new Cursor(src);
    for (const seq of [5_000, 77_777, 150_001, 199_998]) {
      c.seek(seq);
      expect(canon(c.state), `seq ${seq}`).toBe(canon(foldTo(src.meta.config, evs, seq)));
    }
    // Steps back from the end over a state of thousands of processes (the cursor's checkpoints thin out with the
    // state's size: cursor.ts's fold), each the fold's state.
    c.seek(199_999);
    for (let i = 1; i <= 3; i++) {
      expect(c.stepBack()).toBe(true);
      expect(canon(c.state), `back to ${199_999 - i}`).toBe(canon(foldTo(src.meta.config, evs, 199_999 - i)));
    }
    src.close();
  });

  it("a run with a small state keeps every snapshot (stress: ~3 KB of state against ~27 KB of events per interval)", async () => {
    const path = join(dir, "stress.ktrace");
    record(await prepare({ target: "stress", maxEvents: 50_000 }), path);
    const t = openTrace(path);
    const every = t.meta.snapshotEvery;
    const want = [-1];
    for (let q = every - 1; q < 50_000 - 1; q += every) want.push(q);
    want.push(49_999);
    expect(t.snapshotSeqs).toEqual(want);
    t.close();
  });
});
