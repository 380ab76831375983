// EventRows (event-codec.ts), the rows a writer thread encodes from (the
// recorder's and the import's TraceWriter.useThread `encode`): a chunk sent as
// rows and strings (the wire form: EventRows.bytes, then strings()) and rebuilt
// on the other side (rowStrings, rowsInto) encodes to the bytes of a ChunkBuilder
// fed the events directly, strings of every kind included; and push refuses what
// a row does not carry exactly.

import { describe, expect, it } from "vitest";
import { EVENT_KINDS, type KEvent, KIND } from "../src/kernel/types.ts";
import { ChunkBuilder, EventRows, rowStrings, rowsInto, slotTable } from "../src/trace/event-codec.ts";
import { currentKinds } from "../src/trace/writer.ts";

const TEXTS = [
  "",
  "a",
  "bash",
  "é ü ß",
  "日本語のテキスト",
  "emoji 🦀 and 𝄞",
  "x".repeat(3000),
  "tab\tand\nnewline",
  "a",
];

/** n events with every kind, varied fields and the texts in turn (a deterministic mix). */
function events(n: number, first: number): KEvent[] {
  const out: KEvent[] = [];
  let t = first;
  for (let i = 0; i < n; i++) {
    t += (i * 7919) % 100_000;
    const s = TEXTS[(i * 31) % TEXTS.length]!;
    out.push({
      seq: i,
      time: t,
      cpu: i % 5,
      tid: 100 + ((i * 13) % 997),
      kind: i % EVENT_KINDS.length,
      a: (i * 104_729) % 2_000_000_000,
      b: -((i * 13) % 50_000),
      c: i % 3,
      s: i % 4 === 0 ? `generic ${i % 17} ${s}` : s,
    });
  }
  return out;
}

/** The chunk's body sent as rows through the wire form and encoded on the other side. */
function viaRows(evs: KEvent[]): Uint8Array {
  const rows = new EventRows(evs.length);
  for (const ev of evs) expect(rows.push(ev)).toBe(true);
  const bytes = rows.bytes.slice(0, 8 + 32 * rows.n);
  const strs = rows.strings().slice();
  const b = new ChunkBuilder(evs.length, slotTable(currentKinds()));
  rowsInto(b, rows.firstSeq, rows.n, bytes, rowStrings(strs));
  return b.encode().slice();
}

function direct(evs: KEvent[]): Uint8Array {
  const b = new ChunkBuilder(evs.length, slotTable(currentKinds()));
  for (const ev of evs) b.push(ev);
  return b.encode().slice();
}

describe("EventRows", () => {
  it("gives the chunk ChunkBuilder makes of the events, strings of every kind included", () => {
    for (const [n, first] of [
      [1, 0],
      [4096, 1_234_567_890_123],
      [777, 5],
    ] as const) {
      const evs = events(n, first);
      expect(Buffer.from(viaRows(evs)).equals(Buffer.from(direct(evs)))).toBe(true);
    }
  });

  it("sends each distinct string once per chunk, and none when there are none", () => {
    const evs = events(1000, 0);
    const rows = new EventRows(1000);
    for (const ev of evs) rows.push(ev);
    const distinct = new Set(evs.map((e) => e.s).filter((s) => s !== ""));
    expect(rowStrings(rows.strings())).toEqual([...distinct]);
    rows.reset();
    rows.push({ ...evs[0]!, s: "" });
    expect(rowStrings(rows.strings())).toEqual([]);
  });

  it("refuses what a row does not carry exactly: wide fields, long time steps, lone surrogates", () => {
    const base: KEvent = { seq: 0, time: 10, cpu: 0, tid: 1, kind: KIND.switch, a: 1, b: 2, c: 0, s: "" };
    const rows = new EventRows(8);
    expect(rows.push(base)).toBe(true);
    expect(rows.push({ ...base, seq: 1, a: 2 ** 40 })).toBe(false);
    expect(rows.push({ ...base, seq: 1, time: 10 + 2 ** 35 })).toBe(false);
    expect(rows.push({ ...base, seq: 1, s: "lone \ud800" })).toBe(false);
    expect(rows.push({ ...base, seq: 1, s: "lone \udfff low" })).toBe(false);
    expect(rows.push({ ...base, seq: 1, s: "reversed \udc00\ud800" })).toBe(false);
    expect(rows.push({ ...base, seq: 1, cpu: "1" as unknown as number })).toBe(false);
    expect(rows.n).toBe(1);
    // A surrogate pair is a character like any other.
    expect(rows.push({ ...base, seq: 1, s: "crab 🦀" })).toBe(true);
  });
});
