// ktrace info on a trace cut short: the outcome is read from the recovered events.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openTrace } from "../src/trace/index.ts";
import { runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-info-"));

describe("ktrace info on an incomplete trace", () => {
  it("reports the panic the recovered events contain, and says so; before the panic, that nothing failed yet", async () => {
    const full = join(dir, "ast.ktrace");
    expect((await runCli(["record", "asterinas-procfs", "-o", full])).code).toBe(0);
    const bytes = readFileSync(full);
    const complete = openTrace(full);
    const panicSeq = complete.outcome!.seq;
    // Cut points from the end down: keep the longest cut that lost the index (and
    // with it the recorded outcome) but still recovers the panic, and the longest
    // that recovers events but not the panic.
    let withPanic: Buffer | null = null;
    let beforePanic: Buffer | null = null;
    for (let cut = bytes.length - 1; cut > 0 && (!withPanic || !beforePanic); cut--) {
      let r: ReturnType<typeof openTrace>;
      try {
        r = openTrace(new Uint8Array(bytes.subarray(0, cut)));
      } catch {
        continue;
      }
      if (r.outcome !== null) continue; // the index survived: the recorded outcome is there
      const last = r.recovery?.lastSeq ?? -1;
      if (!withPanic && last >= panicSeq) withPanic = bytes.subarray(0, cut);
      if (!beforePanic && last >= 0 && last < panicSeq - 2) beforePanic = bytes.subarray(0, cut);
    }
    expect(withPanic).not.toBeNull();
    const a = join(dir, "cut-after.ktrace");
    writeFileSync(a, withPanic!);
    const r = await runCli(["info", a, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/is incomplete .* recovered \d+ events/);
    const doc = JSON.parse(r.stdout);
    expect(doc.outcome).toEqual({ kind: "panic", seq: panicSeq, message: complete.outcome!.message });
    expect(doc.outcomeFrom).toBe("recovered events");
    const text = await runCli(["info", a]);
    expect(text.stdout).toMatch(/outcome\s+panic at seq \d+: .*\(read from the recovered events\)/);

    if (beforePanic) {
      const b = join(dir, "cut-before.ktrace");
      writeFileSync(b, beforePanic);
      const early = await runCli(["info", b]);
      expect(early.code).toBe(0);
      expect(early.stdout).toMatch(/outcome\s+unknown: nothing failed in the \d+ recovered events/);
    }
  });
});
