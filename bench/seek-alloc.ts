// What a seek allocates, by part: the bytes JSC counts toward its next young
// collection (BUN_JSC_logGC=1's "bytes allocated this cycle", summed over the
// collections requested during N calls of one part, divided by N: exact to
// ±1 cycle (~26 MB) / N). A random seek's collections are its tail at 100M
// (docs/BENCHMARKS.md, "Phase 10"): the fewer bytes a seek allocates, the
// fewer seeks a collection lands in.
// Usage: npx bun bench/seek-alloc.ts [TRACE] [--calls N]
// (default bench/out/stress-100000000.ktrace, 40,000 calls per part). Bun only.
// Parts: a random seek (one cursor, as bench/seek.ts), a snapshot load
// (read, inflate, decode, validate, fromPlain), fromPlain of a cached snapshot,
// a chunk's columns to a random target (columnsTo, a miss), cloneState, and
// a fold of 3,999 events from a snapshot's state (with its fromPlain).

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Rng } from "../src/kernel/prng.ts";
import { cloneState } from "../src/kernel/state.ts";
import { Cursor } from "../src/replay/cursor.ts";
import { openSource } from "../src/replay/source.ts";
import { benchArgs, WARMUP_SEEKS } from "./seek-cost.ts";

const { opt, path } = benchArgs();
const CALLS = Number(opt("--calls") ?? 40000);
const PARTS = ["seek", "snapshot", "fromPlain", "columnsTo", "clone", "fold"] as const;
const part = opt("--part");

if (part === undefined) {
  console.log(
    `${path}: bytes allocated per call (BUN_JSC_logGC=1, ${CALLS} calls per part, after ${WARMUP_SEEKS} seeks)`,
  );
  for (const p of PARTS) {
    const r = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), path, "--part", p, "--calls", String(CALLS)],
      {
        env: { ...process.env, BUN_JSC_logGC: "1" },
        encoding: "utf8",
        maxBuffer: 1 << 28,
      },
    );
    const err = r.stderr ?? "";
    const from = err.indexOf("=== begin");
    const to = err.indexOf("=== end");
    if (r.status !== 0 || from < 0 || to < 0) throw new Error(`part ${p} failed: ${err.slice(-400)}`);
    let bytes = 0;
    let cycles = 0;
    for (const m of err.slice(from, to).matchAll(/Requesting GC because bytes allocated this cycle: (\d+)/g)) {
      bytes += Number(m[1]);
      cycles++;
    }
    console.log(
      `  ${p.padEnd(10)} ${(bytes / CALLS / 1024).toFixed(1).padStart(6)} KB (${cycles} collections, ±${cycles ? (bytes / cycles / CALLS / 1024).toFixed(1) : "?"} KB)`,
    );
  }
} else {
  const src = openSource(path);
  const total = src.eventCount;
  const rng = new Rng(total);
  const rnd = () => rng.u32() / 4294967296;
  const c = new Cursor(src);
  for (let i = 0; i < WARMUP_SEEKS; i++) c.seek(Math.floor(rnd() * total));
  const bare = new Cursor(src, { checkpointEvery: 1 << 30 });
  const mid = src.loadSnapshot(Math.floor(total / 2));
  console.error("=== begin");
  for (let i = 0; i < CALLS; i++) {
    const to = Math.floor(rnd() * total);
    if (part === "seek") c.seek(to);
    else if (part === "snapshot") src.loadSnapshot(to);
    else if (part === "fromPlain") src.loadSnapshot(mid.seq);
    else if (part === "columnsTo") {
      const ci = src.chunkOf(to);
      src.columnsTo(ci, to - src.chunkFirstSeqs[ci]! + 1);
    } else if (part === "clone") cloneState(mid.state);
    else if (part === "fold") {
      bare.seek(mid.seq + 1);
      bare.seek(Math.min(total - 1, mid.seq + 4000));
    } else throw new Error(`no part ${part}`);
  }
  console.error("=== end");
  src.close();
}
