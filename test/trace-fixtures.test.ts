// The committed trace fixtures (fixtures/make-fixtures.ts) open as their
// manifest says, through the API and through `ktrace info`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// Type only: erased, so the generator script does not run.
import type { Expect } from "../fixtures/make-fixtures.ts";
import { openTrace, TraceCorruptError, TraceError } from "../src/trace/index.ts";
import { runCli } from "./helpers/run-cli.ts";

const DIR = join(import.meta.dirname, "..", "fixtures", "traces");
const MANIFEST: Expect[] = JSON.parse(readFileSync(join(DIR, "MANIFEST.json"), "utf8"));

describe("trace fixtures", () => {
  for (const e of MANIFEST) {
    it(`${e.file}: ${e.about}`, () => {
      const path = join(DIR, e.file);
      if (e.refused) {
        let err: unknown;
        try {
          openTrace(path);
        } catch (x) {
          err = x;
        }
        expect(err).toBeInstanceOf(TraceError);
        expect((err as TraceError).code).toBe(e.refused);
        expect((err as TraceError).exitCode).toBe(2);
        return;
      }
      const r = openTrace(path);
      expect(r.eventCount).toBe(e.events);
      expect(r.snapshotSeqs.length).toBe(e.snapshots);
      expect(r.recovery?.reason ?? null).toBe(e.recovery);
      if (e.corrupt) {
        expect(() => r.eventAt(e.corrupt!.seq)).toThrow(TraceCorruptError);
        try {
          r.eventAt(e.corrupt.seq);
        } catch (x) {
          expect((x as TraceCorruptError).chunk).toBe(e.corrupt.chunk);
          expect((x as TraceCorruptError).offset).toBe(e.corrupt.offset);
        }
        expect(openTrace(path, { verify: true }).recovery?.reason).toBe(
          `CRC mismatch in chunk ${e.corrupt.chunk} at byte offset ${e.corrupt.offset}`,
        );
      }
      if (e.gaps) {
        r.verify();
        expect(r.gaps).toEqual(e.gaps);
        // Everything outside the gaps reads.
        let n = 0;
        for (let seq = 0; seq < r.eventCount; seq++) {
          if (e.gaps.some((g) => seq >= g.fromSeq && seq <= g.toSeq)) continue;
          expect(r.eventAt(seq).seq).toBe(seq);
          n++;
        }
        expect(n).toBe(e.events! - e.gaps.reduce((s, g) => s + g.toSeq - g.fromSeq + 1, 0));
      } else {
        expect(r.verify()).toBeNull();
        let n = 0;
        for (const ev of r.events()) expect(ev.seq).toBe(n++);
        expect(n).toBe(e.events);
      }
    });
  }
});

describe("ktrace info", () => {
  it("--json summarizes a trace from its header, footer and index", async () => {
    const res = await runCli(["info", "fixtures/traces/good.ktrace", "--json"]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    const doc = JSON.parse(res.stdout);
    expect(doc).toMatchObject({
      formatVersion: "3.0",
      scenario: "stress",
      fix: "",
      seed: 1,
      cpus: 2,
      events: 3000,
      snapshots: 7,
      bytes: readFileSync(join(DIR, "good.ktrace")).length,
      snapshotEvery: 512,
      writer: "ktrace 0.1.0",
      options: {},
      outcome: { kind: "budget", seq: 2999 },
    });
    expect(typeof doc.outcome.message).toBe("string");
    expect(doc.recovered).toBeUndefined();
    // Header, footer and index only: the header's length is at offset 12, the index frame's in the footer.
    const file = readFileSync(join(DIR, "good.ktrace"));
    const header = 16 + file.readUInt32LE(12) + 4;
    const indexFrame = file.readUInt32LE(file.length - 32 + 16);
    // (The reader may read a few bytes twice, e.g. the fixed part of the header before the meta.)
    expect(doc.bytesRead).toBeGreaterThanOrEqual(header + 32 + indexFrame);
    expect(doc.bytesRead).toBeLessThanOrEqual(header + 32 + indexFrame + 64);
  });

  it("prints a few aligned lines", async () => {
    const res = await runCli(["info", "fixtures/traces/good.ktrace.gz"], { runtime: "deno" });
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.split(/\s{2,}/)[0])).toEqual(["trace", "scenario", "events", "outcome"]);
    expect(lines[0]).toMatch(/gzip, format 3\.0, ktrace 0\.1\.0/);
    expect(lines[2]).toMatch(/^events +3,000 /);
    expect(lines[3]).toMatch(/^outcome +budget at seq 2999: /);
  });

  it("warns about an incomplete trace and reports what was recovered", async () => {
    const res = await runCli(["info", "fixtures/traces/cut-in-chunk.ktrace", "--json"]);
    expect(res.code).toBe(0);
    const m = MANIFEST.find((x) => x.file === "cut-in-chunk.ktrace")!;
    expect(res.stderr.trimEnd()).toBe(
      `ktrace: warning: fixtures/traces/cut-in-chunk.ktrace is incomplete (${m.recovery}); recovered ${m.events} events and ${m.snapshots} snapshots up to seq ${m.events! - 1}`,
    );
    const doc = JSON.parse(res.stdout);
    expect(doc.outcome).toBeNull();
    expect(doc.recovered).toEqual({
      events: m.events,
      snapshots: m.snapshots,
      lastSeq: m.events! - 1,
      reason: m.recovery,
    });
  });

  it("refuses what is not a usable trace with one line and exit 2", async () => {
    for (const [file, msg] of [
      [
        "future-version.ktrace",
        "written by a newer ktrace (format 4.x); this ktrace reads formats 1.x to 3.x: upgrade ktrace",
      ],
      ["bad-magic.ktrace", "not a ktrace file"],
      ["empty.ktrace", "empty file"],
      ["cut-in-header.ktrace", "truncated header"],
      ["missing.ktrace", "no such file"],
    ]) {
      const res = await runCli(["info", `fixtures/traces/${file}`]);
      expect(res.code, file).toBe(2);
      expect(res.stdout).toBe("");
      expect(res.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(res.stderr).toContain(msg!);
    }
  });
});
