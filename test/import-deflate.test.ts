// deflateFast (src/trace/deflate-fast.ts), the compressor of imported traces'
// event chunks and snapshots: any inflater reads back what it was given, and its
// bytes are the same on Node, Bun and Deno (they are part of a trace's bytes).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { deflateFast } from "../src/trace/deflate-fast.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { deflateFastSamples, digests } from "./support/deflate-fast-digest.ts";

const BIN = join(REPO_ROOT, "node_modules", ".bin");
const SCRIPT = join(REPO_ROOT, "test", "support", "deflate-fast-digest.ts");

describe("deflateFast", () => {
  it("is raw DEFLATE that inflates to its input, never much more than its input", () => {
    for (const d of deflateFastSamples()) {
      const z = deflateFast(d);
      expect(Buffer.compare(inflateRawSync(z), Buffer.from(d))).toBe(0);
      // At most the fixed codes' 9 bits a byte, plus a block's header per 32K symbols.
      expect(z.length).toBeLessThanOrEqual(Math.floor((d.length * 9) / 8) + 64 * (1 + Math.floor(d.length / 32767)));
    }
  });

  it("compresses what repeats: text to under a third, a run of one byte to under 1%", () => {
    const [, , , , zeros, random, text] = deflateFastSamples();
    expect(deflateFast(text!).length).toBeLessThan(text!.length / 3);
    expect(deflateFast(zeros!).length).toBeLessThan(zeros!.length / 100);
    expect(deflateFast(random!).length).toBeGreaterThan(random!.length); // incompressible: 8 bits a byte and a header
  });

  it("round-trips every length up to 600 of a mixed input (the ends of the hashed range)", () => {
    const src = deflateFastSamples()[6]!.subarray(0, 600);
    for (let n = 0; n <= 600; n++) {
      const d = src.subarray(0, n);
      expect(Buffer.compare(inflateRawSync(deflateFast(d)), Buffer.from(d)), `length ${n}`).toBe(0);
    }
  });

  it("gives the same bytes on Node, Bun and Deno, and the bytes traces were written with", () => {
    const here = digests();
    // Pinned: a change of these bytes changes every imported trace written from now on (say so in the commit).
    expect(createHash("sha256").update(here.join(",")).digest("hex")).toBe(
      "f43a59c12c92b1d9e6c9001f3feb5e9089a70e7c000cbadc78fc7046f5cf3b08",
    );
    for (const [cmd, pre] of [
      [join(BIN, "bun"), []],
      [join(BIN, "deno"), ["run", "--quiet", "--allow-all", `--config=${join(REPO_ROOT, "deno.json")}`]],
    ] as const) {
      const p = spawnSync(cmd, [...pre, SCRIPT], { cwd: REPO_ROOT, encoding: "utf8" });
      expect(p.status, p.stderr).toBe(0);
      expect(JSON.parse(p.stdout)).toEqual(here);
    }
  }, 60_000);
});
