// The import's bounded re-sorting (src/import/reorder.ts, a ring of window + 1
// slots) against its specification written plainly: a sorted array of the
// last `window` records, by (ts, line); a record leaves when `window` newer
// ones arrived; a record earlier than one that left is refused. Random inputs,
// nearly sorted and shuffled, over several windows, including 0.
import { describe, expect, it } from "vitest";
import { newRecord, type TraceRecord } from "../src/import/record.ts";
import { Reorder } from "../src/import/reorder.ts";
import { Rng } from "../src/kernel/index.ts";

const before = (a: TraceRecord, b: TraceRecord) => a.ts < b.ts || (a.ts === b.ts && a.line < b.line);

/** The specification: what leaves, in order, and the line refused (-1: none) and the late count. */
function model(recs: TraceRecord[], window: number): { out: number[]; refused: number; late: number } {
  const held: TraceRecord[] = [];
  const out: number[] = [];
  let lastOut: TraceRecord | null = null;
  let late = 0;
  for (const r of recs) {
    if (held.length > 0 && before(r, held[held.length - 1]!)) late++;
    if (lastOut !== null && before(r, lastOut)) return { out, refused: r.line, late };
    let i = held.length;
    while (i > 0 && before(r, held[i - 1]!)) i--;
    held.splice(i, 0, r);
    if (held.length > window) {
      lastOut = held.shift()!;
      out.push(lastOut.line);
    }
  }
  for (const r of held) out.push(r.line);
  return { out, refused: -1, late };
}

function run(recs: TraceRecord[], window: number): { out: number[]; refused: number; late: number } {
  const ro = new Reorder(window);
  const out: TraceRecord[] = [];
  try {
    for (const r of recs) ro.push(r, out);
  } catch (e) {
    const m = /^line (\d+) is out of time order/.exec((e as Error).message);
    if (m === null) throw e;
    return { out: out.map((r) => r.line), refused: Number(m[1]), late: ro.late };
  }
  ro.flush(out);
  return { out: out.map((r) => r.line), refused: -1, late: ro.late };
}

describe("import reorder window", () => {
  it("gives the plain sorted window's records, refusals and late count on random inputs", () => {
    const rng = new Rng(42);
    let refusals = 0;
    let lateSeen = 0;
    for (let k = 0; k < 400; k++) {
      const window = [0, 1, 2, 3, 7, 16, 64][k % 7]!;
      const len = 1 + (rng.u32() % 300);
      const spread = 1 + (rng.u32() % 40); // how far back a record may jump (often beyond small windows)
      const recs: TraceRecord[] = [];
      let t = 1000;
      for (let i = 0; i < len; i++) {
        t += rng.u32() % 3; // equal times too: the line orders them
        const jump = rng.u32() % 4 === 0 ? rng.u32() % spread : 0;
        recs.push(newRecord(i + 1, t - jump, 0, "", 1, undefined, "x", undefined, {}, undefined));
      }
      const want = model(recs, window);
      expect(run(recs, window), `case ${k}, window ${window}`).toEqual(want);
      if (want.refused >= 0) refusals++;
      lateSeen += want.late;
    }
    // the cases exercise both outcomes
    expect(refusals).toBeGreaterThan(20);
    expect(lateSeen).toBeGreaterThan(100);
  });

  it("a sorted input passes through in order, wrapping the ring many times", () => {
    const recs = Array.from({ length: 10_000 }, (_, i) =>
      newRecord(i + 1, i >> 1, 0, "", 1, undefined, "x", undefined, {}, undefined),
    );
    const r = run(recs, 5);
    expect(r.refused).toBe(-1);
    expect(r.late).toBe(0);
    expect(r.out).toEqual(recs.map((x) => x.line));
  });
});
