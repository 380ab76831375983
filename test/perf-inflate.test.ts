// The reused zlib stream (Inflater, issue 14) inflates exactly as
// inflateBounded does, bounds included, on Node (here), Bun and Deno.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { compareInflaters } from "./support/inflate-check.ts";

const SCRIPT = join(REPO_ROOT, "test", "support", "inflate-check.ts");
const BIN = join(REPO_ROOT, "node_modules", ".bin");

describe("Inflater", () => {
  it("gives inflateBounded's bytes or refusal on valid, cut, flipped, short and long streams (Node)", () => {
    const r = compareInflaters(7, 150);
    expect(r.reusing).toBe(true);
    expect(r.mismatches).toEqual([]);
    expect(r.checked).toBe(150 * 7);
  });

  for (const [runtime, cmd, args] of [
    ["bun", join(BIN, "bun"), [SCRIPT]],
    ["deno", join(BIN, "deno"), ["run", "--quiet", "--allow-all", `--config=${join(REPO_ROOT, "deno.json")}`, SCRIPT]],
  ] as const) {
    it(`does the same under ${runtime}, with the stream reused`, () => {
      const p = spawnSync(cmd, [...args, "11", "150"], { cwd: REPO_ROOT, encoding: "utf8" });
      expect(p.status, p.stderr).toBe(0);
      const r = JSON.parse(p.stdout) as ReturnType<typeof compareInflaters>;
      expect(r.reusing).toBe(true);
      expect(r.mismatches).toEqual([]);
      expect(r.checked).toBe(150 * 7);
    });
  }
});
