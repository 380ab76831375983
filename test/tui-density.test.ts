// The timeline's data: the progressive density scan (src/replay/density.ts)
// against what the cursor finds event by event, on a trace file (decoded
// columns) and in memory (event objects); and the engine and store running it
// in the background on a trace that counts as big.

import path from "node:path";
import { describe, expect, it } from "vitest";
import { bucketStart, DensityScan } from "../src/replay/density.ts";
import { Cursor, openSource, parseWatch, type ReplaySource } from "../src/replay/index.ts";
import { traceInfo } from "../src/tui/engine.ts";
import { CLASS_OF, KIND_CLASSES } from "../src/tui/kinds.ts";
import { openReplay } from "../src/tui/store.ts";
import { scanText, timelineCells } from "../src/tui/timeline.tsx";
import { memoryCursor } from "./helpers/tui.ts";

const TRACES = path.join(import.meta.dirname, "..", "traces");
const classes = KIND_CLASSES.length;

/** Every seq at which the cursor's continue stops (watchpoints and invariants as given). */
function stops(src: ReplaySource, watch?: string, invariants = true): number[] {
  const c = new Cursor(src, invariants ? {} : { invariants: [] });
  if (watch !== undefined) c.watchpoints.push(parseWatch(watch));
  const out: number[] = [];
  for (let s = c.continue(); s.reason === "hit"; s = c.continue()) out.push(s.seq);
  return out;
}

/** Kind-class counts per bucket, by reading every event. */
function expectedKinds(src: ReplaySource, buckets: number): Uint32Array {
  const c = new Cursor(src, { invariants: [] });
  const out = new Uint32Array(buckets * classes);
  for (let q = 0; q < src.eventCount; q++) {
    const b = Math.floor((q * buckets) / src.eventCount);
    out[b * classes + CLASS_OF[c.eventAt(q).kind]!]!++;
  }
  return out;
}

const sources: [string, () => Promise<ReplaySource>][] = [
  ["a trace file (decoded columns)", async () => openSource(path.join(TRACES, "tcmalloc-fork.ktrace"))],
  ["a run in memory (event objects)", async () => (await memoryCursor("tcmalloc-fork")).source],
];

describe.each(sources)("the density scan over %s", (_, open) => {
  it("counts kind classes per bucket without folding", async () => {
    const src = await open();
    const s = new DensityScan(src, { classOf: CLASS_OF, classes, buckets: 16 });
    expect(s.run()).toBe(true);
    expect(s.scanned).toBe(src.eventCount);
    expect([...s.kinds]).toEqual([...expectedKinds(src, 16)]);
    expect(s.violationSeqs).toEqual([]);
  });

  it("finds every violation and the first one, as the cursor does", async () => {
    const src = await open();
    const s = new DensityScan(src, { classOf: CLASS_OF, classes, invariants: new Cursor(src).invariants });
    s.run();
    const want = stops(src);
    expect(want.length).toBeGreaterThan(1);
    expect(s.violationSeqs).toEqual(want);
    expect(s.firstViolation?.seq).toBe(new Cursor(src).firstViolation()!.seq);
    expect([...s.violations].reduce((a, b) => a + b, 0)).toBe(want.length);
    // Each bucket's ends are its first and last violating seq.
    for (let b = 0; b < s.buckets; b++) {
      const inB = want.filter(
        (q) => q >= bucketStart(s.total, s.buckets, b) && q < bucketStart(s.total, s.buckets, b + 1),
      );
      expect([s.violationEnds[2 * b], s.violationEnds[2 * b + 1]]).toEqual(
        inB.length === 0 ? [-1, -1] : [inB[0], inB.at(-1)],
      );
    }
  });

  it("finds every hit of a watchpoint, as the cursor does", async () => {
    const src = await open();
    const s = new DensityScan(src, { watchpoints: [parseWatch("kind:lock-*")] });
    s.run();
    const want = stops(src, "kind:lock-*", false);
    expect(want.length).toBeGreaterThan(5);
    expect(s.hitSeqs).toEqual(want);
    expect(s.hitsPerWatch).toEqual([want.length]);
  });

  it("gives the same answer in slices of one chunk, the scanned prefix growing chunk by chunk", async () => {
    const src = await open();
    const whole = new DensityScan(src, { classOf: CLASS_OF, classes, invariants: new Cursor(src).invariants });
    whole.run();
    const sliced = new DensityScan(src, { classOf: CLASS_OF, classes, invariants: new Cursor(src).invariants });
    const seen: number[] = [];
    while (!sliced.run(() => true)) {
      seen.push(sliced.scanned);
      // The buckets counted so far hold exactly the events scanned.
      expect([...sliced.kinds].reduce((a, b) => a + b, 0)).toBe(sliced.scanned);
    }
    expect(seen.length).toBe(src.chunkFirstSeqs.length - 1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect([...sliced.kinds]).toEqual([...whole.kinds]);
    expect(sliced.violationSeqs).toEqual(whole.violationSeqs);
  });
});

describe("the timeline on a trace that counts as big (scanned in the background)", () => {
  it("opens at once, fills in slice by slice with a scanning marker, then knows the first violation", async () => {
    const cursor = await memoryCursor("tcmalloc-fork");
    const later: (() => void)[] = [];
    // slowAbove 10: scanned in the background; the scheduler is ours, so we run it by hand.
    const store = openReplay(cursor, traceInfo(cursor, "t.ktrace"), {
      slowAbove: 10,
      schedule: (w) => later.push(w),
      now: () => 1e9,
    });
    const first = store.getState();
    expect(first.violationSeq).toBeUndefined();
    expect(first.banner).toMatch(/^✖ HANG at seq \d+: .*\nfirst violation: not known yet/);
    expect(first.overview.density?.scanned ?? 0).toBe(0);
    const cells = () =>
      timelineCells({
        seq: store.getState().seq,
        total: store.info.total,
        overview: store.getState().overview,
        width: 80,
      });
    expect(cells().every((c) => c.style === "unscanned" || c.cursor || c.style === "failure")).toBe(true);
    const progress: string[] = [];
    while (later.length > 0) {
      later.shift()!();
      progress.push(scanText(store.getState().overview.density));
    }
    expect(progress.at(-1)).toBe("");
    const v = cursor.firstViolation()!;
    const s = store.getState();
    expect(s.violationSeq).toBe(v.seq);
    expect(s.banner).toContain(`first violation: ${v.invariant} at seq ${v.seq}`);
    expect(s.overview.marks.violations).toContain(v.seq);
    expect(cells().some((c) => c.style === "activity")).toBe(true);
    expect(cells().some((c) => c.style === "unscanned")).toBe(false);
  });

  it("waits while keys arrive, so a held key never waits for the scan", async () => {
    const cursor = await memoryCursor("tcmalloc-fork");
    const later: [() => void, number][] = [];
    let now = 0;
    const store = openReplay(cursor, traceInfo(cursor, "t.ktrace"), {
      slowAbove: 10,
      schedule: (w, ms) => later.push([w, ms]),
      now: () => now,
    });
    // The first slice is due at once but finds a key just pressed: it waits for the keys to stop.
    store.dispatch({ type: "command", command: "stepBack" });
    later.shift()![0]();
    expect(store.getState().overview.density?.scanned ?? 0).toBe(0);
    const [again, wait] = later.shift()!;
    expect(wait).toBeGreaterThan(0);
    now += wait;
    again();
    expect(store.getState().overview.density?.scanned).toBeGreaterThan(0);
  });
});
