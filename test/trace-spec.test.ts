// docs/FORMAT.md is precise enough to read a trace in another language: the
// reference reader written from it (docs/reference-reader.py: Python with the
// standard msgpack package) agrees with the TypeScript reader on every
// fixture, format 1 and 2. Without a python3 that has msgpack these tests
// fail (they do not skip): install it (apt-get install python3-msgpack, or
// pip install msgpack), or point KTRACE_PYTHON at one.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toPlain } from "../src/kernel/state.ts";
import { EVENT_KINDS, type KEvent } from "../src/kernel/types.ts";
import { openTrace, TraceError } from "../src/trace/index.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { tempDir, writeEvents } from "./support/trace-util.ts";

/** The first python3 that has msgpack: $KTRACE_PYTHON, python3 on the PATH, or the system one (Debian's python3-msgpack). */
const PYTHON = [process.env.KTRACE_PYTHON, "python3", "/usr/bin/python3"].find(
  (p) => p !== undefined && p !== "" && spawnSync(p, ["-c", "import msgpack"]).status === 0,
);
const NO_PYTHON =
  "no python3 with the msgpack package: apt-get install python3-msgpack (or pip install msgpack), or set KTRACE_PYTHON";
const READER = join(REPO_ROOT, "docs", "reference-reader.py");
/** Runs the reference reader; its stdout (it exits 2 for a refused file). */
const py = (...args: string[]) => {
  if (PYTHON === undefined) throw new Error(NO_PYTHON);
  return spawnSync(PYTHON, [READER, ...args], { encoding: "utf8", maxBuffer: 1 << 28 }).stdout;
};

const files = [
  ...readdirSync(join(REPO_ROOT, "fixtures", "traces"))
    .filter((f) => f.includes(".ktrace"))
    .map((f) => join("fixtures", "traces", f)),
  ...readdirSync(join(REPO_ROOT, "fixtures", "traces", "v1"))
    .filter((f) => f.includes(".ktrace"))
    .map((f) => join("fixtures", "traces", "v1", f)),
  ...readdirSync(join(REPO_ROOT, "traces"))
    .filter((f) => f.endsWith(".ktrace"))
    .map((f) => join("traces", f)),
];

describe("reference reader (docs/reference-reader.py)", () => {
  it("has a python3 with msgpack to run it", () => expect(PYTHON, NO_PYTHON).toBeDefined());

  for (const file of files) {
    it(file, () => {
      const path = join(REPO_ROOT, file);
      const summary = JSON.parse(py(path));
      let r: ReturnType<typeof openTrace>;
      try {
        r = openTrace(path);
      } catch (e) {
        expect(e).toBeInstanceOf(TraceError);
        expect(summary.refused).toBeDefined();
        return;
      }
      expect(summary.refused).toBeUndefined();
      expect(summary.formatVersion).toBe(r.formatVersion);
      expect(summary.scenario).toBe(r.meta.scenario);
      if (!file.includes("flipped-chunk-no-footer")) {
        expect(summary.events).toBe(r.eventCount);
        expect(summary.snapshots).toBe(r.snapshotSeqs.length);
        expect(summary.outcome).toEqual(r.outcome);
      }
      if (!file.includes("flipped-chunk")) expect(summary.recovered?.events ?? null).toBe(r.recovery?.events ?? null);
      if (file.includes("flipped-chunk")) return; // damaged: the reference reader stops at the damage, ktrace goes on past it
      const lines = py(path, "--events")
        .trimEnd()
        .split("\n")
        .filter((l) => l !== "");
      expect(lines.map((l) => JSON.parse(l))).toEqual([...r.events()]);
      const at = Math.floor(r.eventCount / 2);
      const snap = JSON.parse(py(path, "--snapshot", String(at)));
      const ts = JSON.parse(JSON.stringify(toPlain(r.loadSnapshot(at).state)));
      // Fields added in format 1.1 (shared state) are absent from older snapshots; the reader fills them in empty.
      for (const k of ["vars", "objs", "regTypes", "nextVar", "nextObj"]) if (!(k in snap)) delete ts[k];
      expect(snap).toEqual(ts);
    });
  }

  it("every event kind, unused slots, unknown kinds and large values", () => {
    const evs: KEvent[] = [];
    for (let kind = 0; kind < EVENT_KINDS.length + 3; kind++) {
      evs.push({
        seq: evs.length,
        time: 10 * evs.length,
        cpu: (kind % 3) - 1,
        tid: kind * 7,
        kind,
        a: 1 - kind,
        b: 2 ** 40 + kind,
        c: kind === 5 ? -(2 ** 50) : 3,
        s: kind % 2 ? `ü${kind}` : "",
      });
    }
    evs.push({ seq: evs.length, time: 2 ** 52, cpu: 0, tid: 0, kind: 1, a: 0, b: 0, c: 0, s: "" });
    const p = join(tempDir("spec"), "kinds.ktrace");
    writeEvents(p, evs, { snapshotEvery: 7, chunkEvents: 5 });
    const got = py(p, "--events")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    for (let i = 0; i < evs.length; i++) expect(got[i], `event ${i}`).toEqual(evs[i]);
    expect(got.length).toBe(evs.length);
  });
});
