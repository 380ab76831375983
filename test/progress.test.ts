// Progress lines on a terminal (src/cli/progress.ts): `ktrace info`'s verification of every chunk.
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import { workLine } from "../src/cli/progress.ts";

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
