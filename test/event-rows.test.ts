// EventRows (the recorder's events as int32 rows for its writer thread): it carries
// a string with characters outside the Basic Multilingual Plane (a surrogate pair,
// which UTF-8 carries), refuses one with a lone surrogate (which UTF-8 cannot give
// back), and the chunk its rows rebuild encodes to the bytes the events give.
import { describe, expect, it } from "vitest";
import { type KEvent, KIND } from "../src/kernel/index.ts";
import { ChunkBuilder, EventRows, rowStrings, slotTable } from "../src/trace/event-codec.ts";
import { currentKinds } from "../src/trace/writer.ts";

const ev = (seq: number, s: string): KEvent => ({
  seq,
  time: 100 * seq,
  cpu: 0,
  tid: 1,
  kind: KIND.user,
  a: 0,
  b: 0,
  c: 0,
  s,
});

describe("EventRows", () => {
  it("carries a surrogate pair (an emoji) and rebuilds the same chunk; refuses a lone surrogate", () => {
    const labels = ["plain", "log 🚀 sent", "日本語", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"];
    const rows = new EventRows(16);
    const direct = new ChunkBuilder(16, slotTable(currentKinds()));
    labels.forEach((s, i) => {
      expect(rows.push(ev(i, s)), s).toBe(true);
      direct.push(ev(i, s));
    });
    expect(rowStrings(rows.strings())).toEqual(labels);
    const rebuilt = new ChunkBuilder(16, slotTable(currentKinds()));
    rows.replay(rebuilt);
    expect(Buffer.from(rebuilt.encode())).toEqual(Buffer.from(direct.encode()));
    expect(rows.push(ev(4, "half \ud83d pair"))).toBe(false);
    expect(rows.n).toBe(4);
  });
});
