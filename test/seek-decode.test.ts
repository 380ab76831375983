// A seek's fast paths read what the usual paths read, or step aside:
// decodeEventPrefix (a chunk's first m events) against decodeEventBody, and
// unpackPlain (a snapshot's or a chunk body's msgpack) against msgpackShape +
// msgpackr, on every chunk and snapshot of the committed traces and fixtures, and on mutated
// copies of them (crafted bodies behind valid checksums: the fast path must
// then give the same values or null/undefined, never accept what the usual
// path refuses). Also: a cursor's seeks on a trace file land on the states a
// fold from the start gives, through prefixes and their upgrades.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../src/kernel/prng.ts";
import { Cursor } from "../src/replay/cursor.ts";
import { displaySafe, openSource } from "../src/replay/source.ts";
import { ByteReader } from "../src/trace/bytes.ts";
import {
  decodeEventBody,
  decodeEventPrefix,
  type EventColumns,
  lastDecodeSafe,
  Scratch,
  type SlotTable,
} from "../src/trace/event-codec.ts";
import { FLAG_DEFLATE, packr } from "../src/trace/format.ts";
import { inflateBounded } from "../src/trace/inflate.ts";
import { msgpackShape } from "../src/trace/msgpack-bounds.ts";
import { unpackPlain } from "../src/trace/msgpack-fast.ts";
import { openTrace, type TraceReader } from "../src/trace/reader.ts";
import { EVENT_BODY_SHAPE, snapshotShape } from "../src/trace/validate.ts";
import { allEvents, canon, foldTo } from "./helpers/replay-sources.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";

/** Every .ktrace under traces/ and fixtures/traces/ (damaged ones included). */
function traceFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".ktrace")) out.push(p);
    }
  };
  walk(join(REPO_ROOT, "traces"));
  walk(join(REPO_ROOT, "fixtures", "traces"));
  return out;
}

interface Bodies {
  major: number;
  slots: SlotTable;
  /** raw: the body (format 3: the core body), side: format 3's side body, else null. */
  chunks: { raw: Uint8Array; side: Uint8Array | null; first: number; n: number }[];
  snapshots: Uint8Array[];
}

/** The uncompressed chunk and snapshot bodies a reader finds (those whose frames read), through its tables. */
function bodies(r: TraceReader, file: Uint8Array): Bodies {
  const t = (r as unknown as { t: { chunkOffsets: number[]; snapshotOffsets: number[] } }).t;
  const slots = (r as unknown as { slots: SlotTable }).slots;
  const frame = (off: number) => {
    if (off < 0 || off + 12 > file.length) return null;
    const len = file[off + 4]! | (file[off + 5]! << 8) | (file[off + 6]! << 16) | (file[off + 7]! * 0x1000000);
    if (off + 12 + len > file.length) return null;
    return { flags: file[off + 1]!, payload: file.subarray(off + 12, off + 12 + len) };
  };
  const body = (flags: number, b: Uint8Array, rawLen: number) => {
    try {
      return flags & FLAG_DEFLATE ? inflateBounded(b, rawLen) : b;
    } catch {
      return null;
    }
  };
  const out: Bodies = { major: r.formatMajor, slots, chunks: [], snapshots: [] };
  for (const off of t.chunkOffsets) {
    const f = frame(off);
    if (!f) continue;
    try {
      const br = new ByteReader(f.payload);
      const first = br.uvar();
      const n = br.uvar();
      const rawLen = br.uvar();
      if (r.formatMajor >= 3) {
        const sideLen = br.uvar();
        const coreZ = br.uvar();
        const raw = body(f.flags, f.payload.subarray(br.pos, br.pos + coreZ), rawLen);
        const side = raw && body(f.flags, f.payload.subarray(br.pos + coreZ), sideLen);
        if (raw && side) out.chunks.push({ raw: new Uint8Array(raw), side: new Uint8Array(side), first, n });
        continue;
      }
      const raw = body(f.flags, f.payload.subarray(br.pos), rawLen);
      if (raw) out.chunks.push({ raw: new Uint8Array(raw), side: null, first, n });
    } catch {}
  }
  for (const off of t.snapshotOffsets) {
    const f = frame(off);
    if (!f) continue;
    try {
      const br = new ByteReader(f.payload);
      br.svar();
      const rawLen = br.uvar();
      const raw = body(f.flags, f.payload.subarray(br.pos), rawLen);
      if (raw) out.snapshots.push(new Uint8Array(raw));
    } catch {}
  }
  return out;
}

const FIELDS = ["kind", "cpu", "tid", "time", "a", "b", "c", "sIdx"] as const;

/** The full decode, or its error's message; and the safe-integer proof after it. */
function full(
  b: Bodies,
  raw: Uint8Array,
  side: Uint8Array | null,
  first: number,
  n: number,
): { c: EventColumns | string; safe: boolean } {
  try {
    const c = decodeEventBody(b.major, raw, n, first, b.slots, new Scratch(n), side);
    return { c, safe: lastDecodeSafe() };
  } catch (e) {
    return { c: (e as Error).message, safe: false };
  }
}

/**
 * decodeEventPrefix against the full decode: null, or the full decode succeeds and the first m events are its.
 * Format 3: both of the core alone (a seek reads the core; the side stream is read whole when a field is filled).
 */
function comparePrefix(b: Bodies, raw: Uint8Array, first: number, n: number, m: number): "prefix" | "null" {
  const pre = decodeEventPrefix(b.major, raw, n, first, b.slots, m, new Scratch(n));
  const preSafe = lastDecodeSafe();
  const f = full(b, raw, null, first, n);
  if (pre === null) return "null";
  expect(typeof f.c, "the prefix took a body the full decode refuses").toBe("object");
  const c = f.c as EventColumns;
  expect(preSafe && f.safe).toBe(true);
  expect(pre.n).toBe(m);
  expect(pre.strings).toEqual(c.strings);
  for (const k of FIELDS) expect(Array.from(pre[k]), k).toEqual(Array.from(c[k].subarray(0, m)));
  return "prefix";
}

/** unpackPlain against msgpackShape + msgpackr: undefined, or exactly their value. */
function compareUnpack(raw: Uint8Array, shape = snapshotShape(raw.length)): "fast" | "undefined" {
  const v = unpackPlain(raw, shape);
  if (v === undefined) return "undefined";
  expect(msgpackShape(raw, shape), "the fast path took a document msgpackShape refuses").toBe(null);
  const w = packr.unpack(raw);
  expect(JSON.stringify(v)).toBe(JSON.stringify(w));
  expect(v).toStrictEqual(w);
  return "fast";
}

/** A copy of raw with 1-3 bytes changed (from the 8th byte on: the msgpack array's head stays mostly intact). */
function mutate(raw: Uint8Array, rng: Rng): Uint8Array {
  const m = new Uint8Array(raw); // a copy (a Buffer's slice() shares its bytes)
  const k = 1 + rng.below(3);
  for (let i = 0; i < k; i++) {
    const at = Math.min(m.length - 1, 8 + rng.below(Math.max(1, m.length - 8)));
    const how = rng.below(3);
    m[at] = how === 0 ? m[at]! ^ (1 << rng.below(8)) : how === 1 ? 0x80 | m[at]! : rng.below(256);
  }
  return m;
}

const files = traceFiles();
const all = files.flatMap((f) => {
  try {
    const file = new Uint8Array(readFileSync(f));
    const r = openTrace(f);
    const b = bodies(r, file);
    r.close();
    return [{ f, b }];
  } catch {
    return []; // a fixture that does not open (bad magic, cut header): nothing to decode
  }
});

describe("decodeEventPrefix", () => {
  it("gives the full decode's first m events on every chunk of the committed traces and fixtures", () => {
    let prefixes = 0;
    let chunks = 0;
    for (const { b } of all) {
      for (const ch of b.chunks) {
        chunks++;
        for (const m of new Set([1, 2, ch.n >> 2, ch.n >> 1, ch.n - 1].filter((x) => x >= 1 && x < ch.n))) {
          if (comparePrefix(b, ch.raw, ch.first, ch.n, m) === "prefix") prefixes++;
          else expect(b.major, "a well-formed format 2 or 3 chunk gave null").toBe(1);
        }
      }
    }
    expect(chunks).toBeGreaterThan(60);
    expect(prefixes).toBeGreaterThan(150);
  });

  it("on mutated chunk bodies: the same first m events as the full decode, or null (never a body it refuses)", () => {
    const rng = new Rng(14);
    const seen = { prefix: 0, null: 0 };
    for (const { b } of all) {
      if (b.major === 1) continue;
      for (const ch of b.chunks.slice(0, 6)) {
        for (let k = 0; k < 40; k++) {
          const m = 1 + rng.below(Math.max(1, ch.n - 1));
          if (m >= ch.n) continue;
          // Format 3: the core body, the one a prefix reads.
          seen[comparePrefix(b, mutate(ch.raw, rng), ch.first, ch.n, m)]++;
        }
      }
    }
    // Both answers occur: mutations past the target pass (a prefix), others fall back.
    expect(seen.prefix).toBeGreaterThan(100);
    expect(seen.null).toBeGreaterThan(100);
  });
  it("steps aside at a long varint after the target, at every alignment (runs of continuation bytes across words)", () => {
    const seen = { prefix: 0, null: 0 };
    for (const { b } of all.filter((x) => x.b.major >= 2).slice(0, 4)) {
      for (const ch of b.chunks.filter((c) => c.n > 8).slice(0, 2)) {
        for (let at = 0; at < 48; at++) {
          for (const run of [3, 4, 5]) {
            const m = new Uint8Array(ch.raw);
            // Bytes inside the last columns (c, s): after event 0 of the prefix.
            const from = m.length - 60 + at;
            for (let j = 0; j < run && from + j < m.length; j++) m[from + j] = m[from + j]! | 0x80;
            seen[comparePrefix(b, m, ch.first, ch.n, 1)]++;
          }
        }
      }
    }
    expect(seen.null).toBeGreaterThan(100);
  });
});

describe("unpackPlain", () => {
  it("gives msgpackr's value for every snapshot of the committed traces and fixtures", () => {
    let n = 0;
    for (const { b } of all) {
      for (const s of b.snapshots) {
        expect(compareUnpack(s)).toBe("fast");
        n++;
      }
    }
    expect(n).toBeGreaterThan(50);
  });

  it("on mutated snapshots: msgpackr's value, or undefined (never a document msgpackShape refuses)", () => {
    const rng = new Rng(41);
    const seen = { fast: 0, undefined: 0 };
    for (const { b } of all)
      for (const s of b.snapshots.slice(0, 8)) for (let k = 0; k < 30; k++) seen[compareUnpack(mutate(s, rng))]++;
    expect(seen.fast).toBeGreaterThan(100);
    expect(seen.undefined).toBeGreaterThan(100);
  });

  it("gives msgpackr's value for every format 2 and 3 event chunk body, and for mutated ones or undefined", () => {
    const rng = new Rng(7);
    const seen = { fast: 0, undefined: 0 };
    for (const { b } of all) {
      if (b.major === 1) continue;
      for (const ch of b.chunks) {
        expect(compareUnpack(ch.raw, EVENT_BODY_SHAPE)).toBe("fast");
        if (ch.side) expect(compareUnpack(ch.side, EVENT_BODY_SHAPE)).toBe("fast");
      }
      for (const ch of b.chunks.slice(0, 6))
        for (let k = 0; k < 30; k++) seen[compareUnpack(mutate(ch.raw, rng), EVENT_BODY_SHAPE)]++;
    }
    expect(seen.fast).toBeGreaterThan(100);
    expect(seen.undefined).toBeGreaterThan(20);
  });

  it("steps aside for what msgpackr reads its own way", () => {
    const lim = snapshotShape(64);
    // __proto__ (msgpackr renames it), a non-ASCII string, float32, uint64, trailing bytes, too deep.
    expect(unpackPlain(packr.pack({ ["__proto__"]: 1 }), lim)).toBe(undefined);
    expect(unpackPlain(packr.pack({ a: "é" }), lim)).toBe(undefined);
    expect(unpackPlain(Uint8Array.of(0xca, 0x3f, 0x80, 0, 0), lim)).toBe(undefined);
    expect(unpackPlain(Uint8Array.of(0xcf, 0, 0, 0, 0, 0, 0, 0, 1), lim)).toBe(undefined);
    expect(unpackPlain(Uint8Array.of(0xc4, 2, 0), lim)).toBe(undefined); // bin running past the end
    expect(unpackPlain(Uint8Array.of(0xc4, 1, 7), lim)).toEqual(packr.unpack(Uint8Array.of(0xc4, 1, 7)));
    expect(unpackPlain(Uint8Array.of(0x01, 0x02), lim)).toBe(undefined);
    expect(unpackPlain(Uint8Array.of(0x91, 0x91, 0x91, 0x90), { maxDepth: 2, maxContainers: 9, maxItems: 9 })).toBe(
      undefined,
    );
    expect(
      unpackPlain(packr.pack({ a: [1, -1, 300, -300, 70000, -70000, 2 ** 31, 0.5, null, true, "x"] }), lim),
    ).toEqual({ a: [1, -1, 300, -300, 70000, -70000, 2 ** 31, 0.5, null, true, "x"] });
  });
});

describe("seeks through prefixes", () => {
  it("land on the state a fold from the start gives, with the event there, then step on, on every committed trace", () => {
    for (const f of files.filter((x) => !x.includes("fixtures"))) {
      const src = openSource(f);
      const events = allEvents(src);
      const end = src.eventCount - 1;
      const rng = new Rng(end);
      // Each target from a fresh cursor: its chunk is not cached, so the seek decodes a prefix.
      for (let k = 0; k < 6; k++) {
        const to = rng.below(end + 1);
        const c = new Cursor(openSource(f));
        c.seek(to);
        expect(canon(c.state), `${f} at ${to}`).toBe(canon(foldTo(src.meta.config, events, to)));
        expect(c.event).toEqual(events[to]);
        if (to < end) {
          c.step();
          expect(canon(c.state)).toBe(canon(foldTo(src.meta.config, events, to + 1)));
        }
        c.source.close();
        // The same through displaySafe (the TUI's and the CLI's source), whose columnsTo wraps the file's.
        const d = new Cursor(displaySafe(openSource(f)));
        d.seek(to);
        expect(canon(d.state)).toBe(canon(foldTo(src.meta.config, events, to)));
        expect(d.source.columns!(d.source.chunkOf(to)).n).toBe(src.readChunk(src.chunkOf(to)).length);
        d.source.close();
      }
      src.close();
    }
  });
});
