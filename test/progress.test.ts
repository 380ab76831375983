// Progress lines on a terminal (src/cli/progress.ts): `ktrace info`'s verification of every chunk, and
// `ktrace check`'s scan (firstViolationParallel's progress).
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import { workLine } from "../src/cli/progress.ts";
import { firstViolationParallel, type ParallelScanOptions } from "../src/replay/parallel-scan.ts";
import { firstViolation } from "../src/replay/scan.ts";
import { openSource, type TraceSource } from "../src/replay/source.ts";
import { traceFile } from "./helpers/replay-sources.ts";

describe("workLine", () => {
  it("fits the terminal, dropping the bar's width, the label, then the bar; the estimate from the rate so far", () => {
    const label = "verifying bench/out/stress-100000000.ktrace";
    expect(workLine(label, 32_864, 48_831, "chunks", 2_500, 120)).toBe(
      "verifying bench/out/stress-100000000.ktrace ████████████████░░░░░░░░ 32,864/48,831 chunks  1.2 s left",
    );
    expect(workLine(label, 32_864, 48_831, "chunks", 2_500, 100)).toBe(
      "verifying bench/out/stress-100000000.ktrace ████████░░░░ 32,864/48,831 chunks  1.2 s left",
    );
    expect(workLine(label, 32_864, 48_831, "chunks", 2_500, 60)).toBe("████████░░░░ 32,864/48,831 chunks  1.2 s left");
    expect(workLine(label, 0, 48_831, "chunks", 0, 40)).toBe("0/48,831 chunks  ? left");
    expect(workLine(label, 48_831, 48_831, "chunks", 7_000, 40)).toBe("48,831/48,831 chunks  0.0 s left");
    // The label is the user's file name: controls escaped, wide characters two cells, never wider than the terminal.
    const odd = workLine("verifying ./トレース\x1b[2J.ktrace", 10, 100, "chunks", 100, 120);
    expect(odd).not.toContain("\x1b");
    expect(odd).toContain("\\x1b[2J");
    for (const cols of [1, 2, 10, 30, 79, 80, 81, 120])
      expect(
        stringWidth(workLine("verifying ./トレース.ktrace", 5, 1_000_000, "chunks", 10, cols)),
        `${cols}`,
      ).toBeLessThan(Math.max(2, cols));
  });
});

/**
 * The seqs a scan with `opts` reports on a 60K-event stress trace (segments of 8,192): they rise to
 * the last event, at least `least` of them, and the answer is the serial scan's.
 */
async function progressOf(opts: ParallelScanOptions, least: number): Promise<void> {
  const file = await traceFile("stress", { maxEvents: 60_000 }, 1024, "progress-stress.ktrace");
  const src = openSource(file) as TraceSource;
  try {
    const seen: number[] = [];
    const r = await firstViolationParallel(src, { ...opts, segmentEvents: 8192, progress: (seq) => seen.push(seq) });
    expect(r.violation).toEqual(firstViolation(src).violation);
    expect(seen.length).toBeGreaterThan(least);
    expect(seen.every((q, i) => i === 0 || q > seen[i - 1]!)).toBe(true);
    expect(seen.at(-1)).toBe(src.eventCount - 1);
  } finally {
    src.close();
  }
}

describe("the scan's progress (check's line)", () => {
  it("hears each segment's end in order, up to the last event, and the answer is the serial scan's", () =>
    progressOf({ jobs: 1 }, 5));

  it("on three threads (ranges) hears the end of the checked prefix, rising to the last event", () =>
    progressOf({ jobs: 3, mode: "range", minEvents: 0 }, 1));
});
