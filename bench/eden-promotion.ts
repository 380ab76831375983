// What an eden (young-generation) collection leaves behind in the first-violation
// scan's fold, and why: docs/BENCHMARKS.md, "Phase 13: where the scan's last 5% is
// not". Bun only (bun:jsc).
//   npx bun bench/eden-promotion.ts [--trace FILE] [--segments N]
// 1. fold: N segments of 2^20 events of the trace (default: bench/out/stress-100000000.ktrace,
//    8 segments) with an eden collection after each and no full one: the heap's growth
//    per segment, the cells each eden left (objectTypeCounts), then a full collection.
// 2. map: a Map holding 3 live entries through 3,000 inserts and deletes between two
//    eden collections, against an array ring doing the same: the cells each leaves.

import { applyEvent } from "../src/kernel/apply.ts";
import { initState } from "../src/kernel/state.ts";
import type { KEvent } from "../src/kernel/types.ts";
import { openSource } from "../src/replay/index.ts";
import { fillEvent } from "../src/trace/index.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path = opt("--trace") ?? "bench/out/stress-100000000.ktrace";
const segments = Number(opt("--segments") ?? 8);
const name = "bun:jsc"; // (not a module tsc knows)
const jsc = (await import(name)) as {
  heapSize(): number;
  heapStats(): { objectTypeCounts: Record<string, number> };
  edenGC(): void;
  fullGC(): void;
};
const MB = (n: number) => (n / 2 ** 20).toFixed(1);

/** The cell types whose counts grew by more than `min` since `prev`, largest first. */
function grown(prev: Record<string, number>, now: Record<string, number>, min: number): string {
  return Object.entries(now)
    .map(([k, v]) => [k, v - (prev[k] ?? 0)] as const)
    .filter(([, v]) => v > min)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, v]) => `${k} +${v}`)
    .join(", ");
}

// 1. The fold.
{
  const src = openSource(path);
  const st = initState(src.meta.config);
  const ev: KEvent = { seq: 0, time: 0, cpu: -1, tid: -1, kind: 0, a: 0, b: 0, c: 0, s: "" };
  jsc.fullGC();
  const h0 = jsc.heapSize();
  let prev = jsc.heapStats().objectTypeCounts;
  let seen = 0;
  let next = 1 << 20;
  let seg = 0;
  for (let ci = 0; ci < src.chunkFirstSeqs.length && seg < segments; ci++) {
    const cols = src.readColumns!(ci);
    for (let i = 0; i < cols.n; i++) applyEvent(st, fillEvent(cols, i, ev));
    seen += cols.n;
    if (seen < next) continue;
    next += 1 << 20;
    seg++;
    jsc.edenGC();
    const now = jsc.heapStats().objectTypeCounts;
    console.log(
      `fold: segment ${seg}: heap +${MB(jsc.heapSize() - h0)} MB; left by the eden: ${grown(prev, now, 200)}`,
    );
    prev = now;
  }
  jsc.fullGC();
  console.log(
    `fold: after a full collection: heap +${MB(jsc.heapSize() - h0)} MB (${seen} events, ${st.procs.size} processes live)`,
  );
  src.close();
}

// 2. A Map against an array ring, 3 live entries, 3,000 replaced between two eden collections.
for (const kind of ["map", "ring"] as const) {
  const m = new Map<number, object>();
  const ring: object[] = [];
  jsc.fullGC();
  let prev = jsc.heapStats().objectTypeCounts;
  let k = 0;
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < 3000; i++, k++) {
      const o = { id: k, a: 1, b: 2, name: `x${k}` };
      if (kind === "map") {
        m.set(k, o);
        if (m.size > 3) m.delete(k - 3);
      } else ring[k % 3] = o;
    }
    jsc.edenGC();
    const now = jsc.heapStats().objectTypeCounts;
    console.log(`${kind}: round ${round}: left by the eden: ${grown(prev, now, 100) || "nothing"}`);
    prev = now;
  }
}
