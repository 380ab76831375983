// The committed example traces (traces/) are exactly what the current code
// records: one check for determinism and for format stability. When this
// fails after a deliberate change to the kernel, a scenario or the trace
// format, run `npm run traces` and commit the new files.

import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { examples, makeTraces } from "../scripts/make-traces.ts";
import { openTrace } from "../src/trace/index.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

const TRACES = join(REPO_ROOT, "traces");
const HINT =
  "traces/ is out of date with the code: run `npm run traces` and commit the result (if the change was meant)";

describe("traces/ (example traces)", async () => {
  const fresh = mkdtempSync(join(tmpdir(), "ktrace-traces-"));
  await makeTraces(fresh);
  const committed = readdirSync(TRACES).sort();

  it("holds one trace per seed scenario variant (buggy and fixed) and a README, nothing else", () => {
    const want = [...examples().map((e) => e.file), "README.md"].sort();
    expect(committed, HINT).toEqual(want);
    const names = new Set(examples().map((e) => e.scenario));
    expect([...names].sort()).toEqual(["asterinas-procfs", "cpython-fork-serenity", "rcore-kstack", "tcmalloc-fork"]);
  });

  it.each(
    examples()
      .map((e) => e.file)
      .concat("README.md"),
  )("%s is byte-identical to a fresh recording", (file) => {
    const a = readFileSync(join(TRACES, file));
    const b = readFileSync(join(fresh, file));
    expect(Buffer.compare(a, b), `${file}: ${HINT}`).toBe(0);
  });

  it("are small, and buggy variants fail while fixed ones run clean", () => {
    for (const ex of examples()) {
      const path = join(TRACES, ex.file);
      expect(readFileSync(path).length).toBeLessThan(16 * 1024);
      const r = openTrace(path);
      const kind = r.outcome?.kind ?? "ok";
      if (ex.fix) expect(kind, ex.file).toBe("ok");
      else if (ex.scenario !== "rcore-kstack" || ex.opts.length) expect(kind, ex.file).not.toBe("ok");
      r.close();
    }
  });
});
