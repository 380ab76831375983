// The replay UI's structure: imports between its files go one way (no cycle),
// and only the engine (and frame.ts, for the density's bucket arithmetic)
// reaches into src/replay, so the views stay pure functions of the view state.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const DIR = path.join(import.meta.dirname, "..", "src", "tui");
const FILES = readdirSync(DIR).filter((f) => /\.tsx?$/.test(f));

/** The modules a file imports or re-exports from (type-only ones too), as written. */
function importsOf(file: string): string[] {
  const src = readFileSync(path.join(DIR, file), "utf8");
  return [...src.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+["']([^'"]+)["']/gm)].map((m) => m[1]!);
}

/** The graph of src/tui files (index.ts, the barrel, left out). */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of FILES) {
    if (f === "index.ts") continue;
    g.set(
      f,
      importsOf(f)
        .filter((m) => m.startsWith("./"))
        .map((m) => m.slice(2)),
    );
  }
  return g;
}

describe("src/tui imports", () => {
  it("finds the files and their imports", () => {
    expect(FILES).toContain("use-replay-state.ts");
    expect(graph().get("use-replay-state.ts")).toEqual(expect.arrayContaining(["keymap.ts", "engine.ts", "frame.ts"]));
  });

  it("has no import cycle", () => {
    const g = graph();
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const walk = (f: string, trail: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        cycles.push([...trail.slice(trail.indexOf(f)), f].join(" -> "));
        return;
      }
      state.set(f, "open");
      for (const d of g.get(f) ?? []) walk(d, [...trail, f]);
      state.set(f, "done");
    };
    for (const f of g.keys()) walk(f, []);
    expect(cycles).toEqual([]);
  });

  it("calls the replay layer from the engine only", () => {
    const reaching = FILES.filter((f) => f !== "index.ts" && importsOf(f).some((m) => m.startsWith("../replay/")));
    expect(reaching.sort()).toEqual(["engine.ts", "frame.ts", "rows.ts", "store.ts"]);
    // frame.ts takes one function (the bucket arithmetic); store.ts one type (the cursor it is opened on);
    // rows.ts is the engine's own (only engine.ts imports it) and uses the kernel's one owner rule.
    expect(FILES.filter((f) => importsOf(f).includes("./rows.ts"))).toEqual(["engine.ts"]);
    expect(readFileSync(path.join(DIR, "frame.ts"), "utf8")).toMatch(
      /export \{ bucketStart \} from "\.\.\/replay\/density\.ts"/,
    );
    expect(readFileSync(path.join(DIR, "store.ts"), "utf8")).toMatch(
      /import type \{ Cursor \} from "\.\.\/replay\/index\.ts"/,
    );
  });

  it("keeps the views off the engine and the store: they draw the view state", () => {
    for (const f of FILES.filter((x) => x.endsWith(".tsx") && x !== "run.tsx")) {
      const runtime = importsOf(f).filter((m) => m === "./engine.ts" || m === "./store.ts");
      const src = readFileSync(path.join(DIR, f), "utf8");
      for (const m of runtime)
        expect(src, `${f} imports ${m}`).toMatch(new RegExp(`import type [^;]*"${m.replace(".", "\\.")}"`));
    }
  });
});
