// Decoding into reused buffers (issue 14): the same columns as a fresh
// decode, whatever was decoded into the buffers before, and a column cache
// that recycles evicted buffers without handing out stale data.
import { rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { EVENT_KINDS, type KEvent, KIND } from "../src/kernel/types.ts";
import { TraceSource } from "../src/replay/index.ts";
import { decodeEventBody, lastDecodeSafe, needSide, slotTable } from "../src/trace/event-codec.ts";
import { packr } from "../src/trace/format.ts";
import { type EventColumns, openTrace, Scratch } from "../src/trace/index.ts";
import { checkColumns } from "../src/trace/validate.ts";
import { currentKinds } from "../src/trace/writer.ts";
import { tempDir, writeEvents } from "./support/trace-util.ts";

const dir = tempDir("perf-decode");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The columns as plain arrays (typed arrays and views compare by content); core-only columns (format 3) completed first, as fillEvent does. */
function plain(c: EventColumns) {
  for (let i = 0; i < c.n; i++) needSide(c, i);
  return {
    firstSeq: c.firstSeq,
    n: c.n,
    kind: [...c.kind],
    cpu: [...c.cpu],
    tid: [...c.tid],
    time: [...c.time],
    a: [...c.a],
    b: [...c.b],
    c: [...c.c],
    s: [...c.sIdx].map((i) => c.strings[i]),
  };
}

/** Events of every kind (and codes past the table), with values of every varint length, negative ones and strings. */
const value = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
);
const event = fc.record({
  kind: fc.integer({ min: 0, max: EVENT_KINDS.length + 3 }),
  cpu: fc.integer({ min: -1, max: 3 }),
  tid: fc.integer({ min: -1, max: 200 }),
  dt: fc.oneof(fc.constant(10), fc.integer({ min: 0, max: 2 ** 40 })),
  a: value,
  b: value,
  c: value,
  s: fc.oneof(fc.constant(""), fc.constant("w"), fc.string({ maxLength: 8 })),
});

function eventsOf(
  xs: { kind: number; cpu: number; tid: number; dt: number; a: number; b: number; c: number; s: string }[],
): KEvent[] {
  let time = 0;
  return xs.map((x, seq) => {
    time += x.dt;
    return { seq, time, cpu: x.cpu, tid: x.tid, kind: x.kind, a: x.a, b: x.b, c: x.c, s: x.s };
  });
}

describe("safe integers, proved or checked", () => {
  const slots = slotTable(currentKinds());
  const col = (...b: number[]) => Uint8Array.from(b);
  const body = (scale: number, a: Uint8Array, time = col(2, 2)) =>
    packr.pack([
      7,
      2,
      scale,
      ["w"],
      col(2 * KIND.user + 1, 2 * KIND.user),
      col(0, 2),
      col(2, 2),
      time,
      a,
      col(0),
      col(0),
      col(1, 0),
    ]);

  it("small values at a small scale are safe by construction: the reader skips checkColumns", () => {
    const c = decodeEventBody(2, body(10, col(6)), 2, 7, slots);
    expect(lastDecodeSafe()).toBe(true);
    expect([...c.a]).toEqual([3, 0]);
    expect(checkColumns(c)).toBeNull();
  });

  it("a value past 2^53 is not, and checkColumns refuses it", () => {
    // zigzag(2^60) = 2^61: eight 0x80 groups, then 0x20.
    const c = decodeEventBody(2, body(10, col(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20)), 2, 7, slots);
    expect(lastDecodeSafe()).toBe(false);
    expect(checkColumns(c)).toMatch(/event 7: a field is not a safe integer/);
  });

  it("a time scale whose sums could pass 2^53 is checked, and refused when they do", () => {
    const ok = decodeEventBody(2, body(2 ** 40, col(6)), 2, 7, slots);
    expect(lastDecodeSafe()).toBe(false);
    expect(checkColumns(ok)).toBeNull();
    // Deltas of 2^27 - 1 at scale 2^40: the second time is past 2^53.
    const big = decodeEventBody(
      2,
      body(2 ** 40, col(6), col(0xfe, 0xff, 0xff, 0x7f, 0xfe, 0xff, 0xff, 0x7f)),
      2,
      7,
      slots,
    );
    expect(lastDecodeSafe()).toBe(false);
    expect(checkColumns(big)).toMatch(/not a safe integer/);
  });

  it("a first time over 28 bits (a chunk late in a long run) is still safe by construction", () => {
    // zigzag(2^32) = 2^33: 0x80 x4, then 0x20; then a delta of 1.
    const c = decodeEventBody(2, body(10, col(6), col(0x80, 0x80, 0x80, 0x80, 0x20, 2)), 2, 7, slots);
    expect(lastDecodeSafe()).toBe(true);
    expect([...c.time]).toEqual([2 ** 32 * 10, 2 ** 32 * 10 + 10]);
    expect(checkColumns(c)).toBeNull();
  });

  it("slow deltas whose sum could pass 2^53 are checked, and refused when they do", () => {
    // Two deltas of 2^48 (zigzag 2^49: 0x80 x7, then 0x01) at scale 16: the second time is 2^53, past the safe integers.
    const d = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
    const big = decodeEventBody(2, body(16, col(6), col(...d, ...d)), 2, 7, slots);
    expect(lastDecodeSafe()).toBe(false);
    expect(checkColumns(big)).toMatch(/not a safe integer/);
  });
});

describe("decoding into reused buffers", () => {
  it("gives the fresh decode's columns for every chunk, in any order, whatever the buffers held", () => {
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        (xs, every, order) => {
          const evs = eventsOf(xs);
          const p = join(dir, `prop-${run++}.ktrace`);
          writeEvents(p, evs, { snapshotEvery: every, chunkEvents: Math.max(1, every >> 1) });
          const r = openTrace(p);
          // One scratch for all chunks, and one that starts too small for them.
          const shared = new Scratch();
          const small = new Scratch(1);
          for (const k of order) {
            const i = k % r.chunkCount;
            const fresh = plain(r.readColumns(i));
            expect(plain(r.readColumns(i, shared))).toEqual(fresh);
            expect(plain(r.readColumns(i, small))).toEqual(fresh);
            const first = r.chunkFirstSeqs[i]!;
            const want = evs.slice(first, first + r.chunkCounts[i]!);
            expect(fresh.kind).toEqual(want.map((e) => e.kind));
            expect(fresh.time).toEqual(want.map((e) => e.time));
            expect(fresh.a).toEqual(want.map((e) => e.a));
            expect(fresh.c).toEqual(want.map((e) => e.c));
          }
          r.close();
          rmSync(p);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("the source's column cache recycles evicted buffers and never returns stale columns", () => {
    const evs = eventsOf(
      Array.from({ length: 3000 }, (_, i) => ({
        kind: i % (EVENT_KINDS.length + 2),
        cpu: (i % 3) - 1,
        tid: i % 17,
        dt: 10 * (i % 5),
        a: i * 7919 - 5000,
        b: -i,
        c: i % 2 ? 2 ** 40 + i : 0,
        s: i % 11 ? "" : `s${i % 7}`,
      })),
    );
    const p = join(dir, "lru.ktrace");
    writeEvents(p, evs, { snapshotEvery: 256, chunkEvents: 100 });
    const src = new TraceSource(openTrace(p), 2);
    const ref = openTrace(p);
    // A small cache (2 entries) over 30 chunks: nearly every call evicts and recycles.
    const lru = (i: number) => src.columns(i);
    // Chunks come back soon after they were read (hits) and after they were evicted (misses).
    for (let k = 0; k < 400; k++) {
      const i = (k % 3 === 2 ? k - 2 : k * 7 + (k >> 3)) % ref.chunkCount;
      expect(plain(lru(i))).toEqual(plain(ref.readColumns(i)));
      // A bulk scan in between uses its own buffers.
      if (k % 5 === 0)
        expect(plain(src.readColumns((i + 3) % ref.chunkCount))).toEqual(
          plain(ref.readColumns((i + 3) % ref.chunkCount)),
        );
    }
    src.close();
    ref.close();
  });
});
