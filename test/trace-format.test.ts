// .ktrace: encoding building blocks and exact round trips.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, inflateRawSync } from "node:zlib";
import fc from "fast-check";
import { unpack } from "msgpackr";
import { afterAll, describe, expect, it } from "vitest";
import { EVENT_KINDS, type EventKindInfo, type KEvent, KIND } from "../src/kernel/types.ts";
import { prepare, record } from "../src/record/index.ts";
import { ByteReader, ByteWriter } from "../src/trace/bytes.ts";
import { deflate, gzip } from "../src/trace/compress.ts";
import { BodyError, decodeEventBody, kindRemap, slotTable } from "../src/trace/event-codec.ts";
import { packr } from "../src/trace/format.ts";
import { crc32, FORMAT_MAJOR, FORMAT_MINOR, MAGIC, openTrace } from "../src/trace/index.ts";
import { currentKinds } from "../src/trace/writer.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { type TraceDigest, traceDigest } from "./support/trace-digest.ts";
import { mapsAsArrays, tempDir, writeEvents, writeSynth } from "./support/trace-util.ts";

const dir = tempDir("format");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bytes with repeats at short and long distances, like msgpack snapshots. */
const repetitive = fc
  .tuple(
    fc.array(fc.tuple(fc.nat(255), fc.nat(40_000), fc.nat(300)), { maxLength: 400 }),
    fc.integer({ min: 1, max: 256 }),
  )
  .map(([ops, alpha]) => {
    const out: number[] = [];
    for (const [b, back, len] of ops) {
      if (out.length > 0 && back % 3 !== 0) {
        const from = out.length - 1 - (back % Math.min(out.length, back % 2 ? 40 : 40_000));
        for (let i = 0; i < (len % 270) + 1; i++) out.push(out[from + i]!);
      } else out.push(b % alpha);
    }
    return Uint8Array.from(out);
  });

describe("building blocks", () => {
  it("deflate (fflate) is read by zlib's inflate, at both levels used", () => {
    fc.assert(
      fc.property(repetitive, (data) => {
        for (const level of [4, 6] as const)
          expect(Buffer.from(inflateRawSync(deflate(data, level))).equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("gzip is read by zlib and has no time stamp or file name (the writer's .gz is the same helper: see below)", () => {
    const big = Uint8Array.from({ length: 2.5 * (1 << 20) }, (_, i) => (i * 2654435761) >>> 27);
    for (const data of [new Uint8Array(0), Uint8Array.of(1, 2, 3), big]) {
      const z = gzip(data);
      expect(Buffer.from(gunzipSync(z)).equals(Buffer.from(data))).toBe(true);
      expect([...z.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, z[8], 3]);
      expect(Buffer.compare(Buffer.from(gzip(data)), Buffer.from(z))).toBe(0);
    }
  });

  it("crc32 matches the standard check value and composes", () => {
    expect(crc32(new TextEncoder().encode("123456789")).toString(16)).toBe("cbf43926");
    expect(crc32(new Uint8Array(0))).toBe(0);
    const b = Uint8Array.from({ length: 1001 }, (_, i) => (i * 7919) & 255);
    expect(crc32(b, 333, 1001, crc32(b, 0, 333))).toBe(crc32(b));
  });

  it("varints round-trip every magnitude up to 2^53", () => {
    const vals = [
      0,
      1,
      -1,
      63,
      64,
      -64,
      -65,
      127,
      128,
      2 ** 28 - 1,
      2 ** 28,
      2 ** 30,
      -(2 ** 30),
      2 ** 31,
      -(2 ** 31),
      2 ** 32 + 5,
      2 ** 49,
      2 ** 52 + 1,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      139887613313024,
    ];
    const w = new ByteWriter(4);
    for (const v of vals) w.svar(v);
    for (const v of vals) if (v >= 0) w.uvar(v);
    const r = new ByteReader(w.toBytes());
    for (const v of vals) expect(r.svar()).toBe(v);
    for (const v of vals) if (v >= 0) expect(r.uvar()).toBe(v);
    expect(r.left).toBe(0);
    expect(() => new ByteWriter().svar(1.5)).toThrow();
    expect(() => new ByteWriter().svar(2 ** 60)).toThrow();
  });
});

/** One event of every kind, with strings, negative ints and large values. */
function everyKind(): KEvent[] {
  const evs: KEvent[] = [];
  let time = 1;
  EVENT_KINDS.forEach((k, kind) => {
    const [a, b, c] = [kind * 3 - 40, -kind - 1, 2 ** 40 + kind];
    time += kind * 1_000_003;
    evs.push({
      seq: evs.length,
      time,
      cpu: (kind % 5) - 1,
      tid: kind === 0 ? -1 : 1000 + kind,
      kind,
      a: k.args.length >= 1 ? a : 0,
      b: k.args.length >= 2 ? b : 0,
      c: k.args.length >= 3 ? c : 0,
      s: k.str !== undefined ? `${k.name} «${kind}» ✓` : "",
    });
  });
  // Slots a kind does not use, still stored exactly (the `full` bit).
  evs.push({ seq: evs.length, time, cpu: 0, tid: 1, kind: KIND.user, a: 5, b: -6, c: 7, s: "x" });
  evs.push({ seq: evs.length, time, cpu: 0, tid: 1, kind: KIND.tlbFlush, a: 0, b: 0, c: 0, s: "not a label slot" });
  // A kind code this build does not know yet, and a huge time.
  evs.push({
    seq: evs.length,
    time: 2 ** 52 + 17,
    cpu: 63,
    tid: 2 ** 31,
    kind: 200,
    a: Number.MIN_SAFE_INTEGER,
    b: Number.MAX_SAFE_INTEGER,
    c: -1,
    s: "",
  });
  // Time going backwards is stored as is.
  evs.push({ seq: evs.length, time: 5, cpu: -1, tid: -1, kind: KIND.end, a: 0, b: 0, c: 0, s: "" });
  return evs;
}

describe("round trip", () => {
  it("stores every event kind exactly", () => {
    const evs = everyKind();
    const p = join(dir, "kinds.ktrace");
    for (const chunkEvents of [1, 3, 4096]) {
      writeEvents(p, evs, { snapshotEvery: 10, chunkEvents });
      const r = openTrace(p);
      expect(r.recovery).toBeNull();
      expect(r.eventCount).toBe(evs.length);
      expect([...r.events()]).toEqual(evs);
      expect(r.formatVersion).toBe(`${FORMAT_MAJOR}.${FORMAT_MINOR}`);
      r.close();
    }
  });

  it("a trace whose kind table numbers the kinds otherwise (a build before a merge renumbered them) is read by name", () => {
    // k11's branch numbered wake .. sched-set 51..72, before main's imported kinds (task-new .. generic), which it now follows.
    const rows = EVENT_KINDS as EventKindInfo[];
    const ours = rows.slice();
    const first = KIND.taskNew,
      os = KIND.wake;
    const theirs = [
      ...ours.slice(0, first),
      ...ours.slice(os, os + 22),
      ...ours.slice(first, os),
      ...ours.slice(os + 22),
    ];
    expect(theirs.map((k) => k.name).sort()).toEqual(ours.map((k) => k.name).sort());
    const evs = everyKind()
      .filter((e) => e.kind < ours.length)
      .map((e, seq) => ({ ...e, seq }));
    const theirCode = (kind: number) => theirs.findIndex((k) => k.name === ours[kind]!.name);
    const p = join(dir, "renumbered.ktrace");
    rows.splice(0, rows.length, ...theirs);
    try {
      writeEvents(
        p,
        evs.map((e) => ({ ...e, kind: theirCode(e.kind) })),
        { snapshotEvery: 10, chunkEvents: 7 },
      );
    } finally {
      rows.splice(0, rows.length, ...ours);
    }
    const r = openTrace(p);
    expect(r.meta.kinds[KIND.taskNew]![0]).toBe("wake");
    expect([...r.events()]).toEqual(evs);
    r.close();
    // A table this build's is a prefix of, or the other way round (kinds are appended only), needs no remapping.
    expect(kindRemap(currentKinds().slice(0, 40))).toBeNull();
    expect(kindRemap([...currentKinds(), ["a-later-kind", 1, 0]])).toBeNull();
    // A name this build does not know reads as an unknown kind (past this build's table), not as the kind its code names here.
    expect(kindRemap([["not-a-kind", 0, 0], ...currentKinds().slice(1)])![0]).toBe(EVENT_KINDS.length);
  });

  it("any event sequence round-trips (property)", () => {
    const int = fc.oneof(
      fc.integer({ min: -3, max: 300 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
      fc.maxSafeInteger(),
    );
    const ev = fc.record({
      dt: fc.oneof(fc.nat(2000), fc.nat({ max: 2 ** 40 })),
      cpu: fc.integer({ min: -1, max: 70 }),
      tid: int,
      kind: fc.oneof(fc.nat(EVENT_KINDS.length - 1), fc.nat(300)),
      a: int,
      b: int,
      c: int,
      s: fc.oneof(
        fc.constant(""),
        fc.constantFrom("work", "m0", "/proc/2/status"),
        fc.string({ unit: "grapheme", maxLength: 12 }),
      ),
    });
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(ev, { maxLength: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 50 }),
        (raw, snapshotEvery, chunkEvents) => {
          let time = 0;
          const evs: KEvent[] = raw.map((e, seq) => {
            time += e.dt;
            return { seq, time, cpu: e.cpu, tid: e.tid, kind: e.kind, a: e.a, b: e.b, c: e.c, s: e.s };
          });
          const p = join(dir, `prop-${run++ % 4}.ktrace`);
          writeEvents(p, evs, { snapshotEvery, chunkEvents });
          const r = openTrace(p, { cacheChunks: 2 });
          expect(r.eventCount).toBe(evs.length);
          expect([...r.events()]).toEqual(evs);
          if (evs.length) {
            const k = Math.floor(evs.length / 2);
            expect(r.eventAt(k)).toEqual(evs[k]);
            expect([...r.events(k, k + 5)]).toEqual(evs.slice(k, k + 5));
          }
          expect(r.cachedChunks).toBeLessThanOrEqual(2);
          r.close();
        },
      ),
      { numRuns: 150 },
    );
  });

  it("snapshots hold the state at their seq, every snapshotEvery events, and the last", () => {
    const p = join(dir, "snaps.ktrace");
    const { result, events, states } = writeSynth(p, 10_000, { snapshotEvery: 1000, chunkEvents: 300, end: true });
    expect(result.events).toBe(10_000);
    expect(result.outcome?.kind).toBe("ok");
    const r = openTrace(p);
    expect(r.snapshotSeqs).toEqual([-1, 999, 1999, 2999, 3999, 4999, 5999, 6999, 7999, 8999, 9999]);
    expect(r.outcome).toEqual({ kind: "ok", seq: 9999, message: "" });
    for (const seq of [-5, -1, 0, 998, 999, 1000, 5500, 9999, 20_000]) {
      const { seq: at, state } = r.loadSnapshot(seq);
      const want = [...states.keys()].filter((s) => s <= Math.max(seq, -1)).pop()!;
      expect(at).toBe(want);
      expect(JSON.parse(JSON.stringify(state, mapsAsArrays))).toEqual(JSON.parse(states.get(want)!));
      const locks = state.locks.size;
      state.locks.clear(); // a fresh copy: mutating it does not touch the cache
      expect(r.loadSnapshot(seq).state.locks.size).toBe(locks);
    }
    // Chunks never straddle a snapshot, and are at most 300 events.
    for (let i = 0; i < r.chunkCount; i++) {
      const first = r.chunkFirstSeqs[i]!;
      const last = first + r.chunkCounts[i]! - 1;
      expect(r.chunkCounts[i]).toBeLessThanOrEqual(300);
      expect(Math.floor(first / 1000)).toBe(Math.floor(last / 1000));
    }
    expect(r.chunkOf(0)).toBe(0);
    expect(r.chunkOf(9999)).toBe(r.chunkCount - 1);
    expect(r.eventAt(4321)).toEqual(events[4321]);
    expect(() => r.chunkOf(10_000)).toThrow(RangeError);
    expect(() => r.chunkOf(-1)).toThrow(RangeError);
    expect(r.verify()).toBeNull();
  });

  it("opens by reading the header, footer and index only", () => {
    const p = join(dir, "open.ktrace");
    writeSynth(p, 200_000, { snapshotEvery: 4096 });
    const size = readFileSync(p).length;
    const r = openTrace(p);
    expect(r.eventCount).toBe(200_000);
    expect(r.fileBytes).toBe(size);
    expect(r.bytesRead).toBeLessThan(4096);
    r.eventAt(150_000);
    expect(r.bytesRead).toBeLessThan(4096 + 20_000);
  });

  it("keeps at most cacheChunks chunks decoded", () => {
    const p = join(dir, "cache.ktrace");
    writeSynth(p, 20_000, { snapshotEvery: 4096, chunkEvents: 512 });
    const r = openTrace(p, { cacheChunks: 3 });
    let n = 0;
    for (const _ of r.events()) n++;
    expect(n).toBe(20_000);
    expect(r.chunkCount).toBeGreaterThan(30);
    expect(r.cachedChunks).toBe(3);
  });

  it("writes the same bytes for the same events", () => {
    const a = join(dir, "same-a.ktrace");
    const b = join(dir, "same-b.ktrace");
    writeSynth(a, 30_000, { snapshotEvery: 4096, seed: 3 });
    writeSynth(b, 30_000, { snapshotEvery: 4096, seed: 3 });
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
  });

  it("writes gzip for a .gz path and reads gzip transparently, from a path or bytes", () => {
    const gz = join(dir, "z.ktrace.gz");
    const plain = join(dir, "z.ktrace");
    const { events } = writeSynth(gz, 20_000, { snapshotEvery: 4096, seed: 9 });
    writeSynth(plain, 20_000, { snapshotEvery: 4096, seed: 9 });
    const bytes = readFileSync(gz);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(Buffer.from(gunzipSync(bytes)).equals(readFileSync(plain))).toBe(true);
    // The writer's streamed gzip is the one gzip helper's output for the file.
    expect(Buffer.from(gzip(readFileSync(plain))).equals(bytes)).toBe(true);
    for (const input of [gz, new Uint8Array(bytes)]) {
      const r = openTrace(input);
      expect(r.gzipped).toBe(true);
      expect(r.recovery).toBeNull();
      expect([...r.events()]).toEqual(events);
    }
    // A plain trace can be renamed .gz and still opens: the magic decides.
    const renamed = join(dir, "not-really.ktrace.gz");
    writeFileSync(renamed, readFileSync(plain));
    expect(openTrace(renamed).gzipped).toBe(false);
  });

  it("starts with the magic and ends with the footer magic", () => {
    const p = join(dir, "magic.ktrace");
    writeSynth(p, 100, { snapshotEvery: 64 });
    const b = readFileSync(p);
    expect([...b.subarray(0, 8)]).toEqual([...MAGIC]);
    expect(b.subarray(b.length - 8).toString("latin1")).toBe("\x89KTF\r\n\x1a\n");
  });
});

/** The event chunks of a trace file, found by walking its frames as docs/FORMAT.md says (no ktrace code). */
/** A format 3 file's event chunks: their core and side bodies, inflated by node:zlib. */
function eventChunkBodies(file: Uint8Array): { firstSeq: number; n: number; body: Uint8Array; side: Uint8Array }[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const uvar = (at: { p: number }) => {
    let v = 0;
    for (let mul = 1; ; mul *= 128) {
      const x = file[at.p++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
    }
  };
  const out = [];
  let off = 16 + dv.getUint32(12, true) + 4;
  while (off < file.length - 32) {
    const len = dv.getUint32(off + 4, true);
    if (file[off] === 1) {
      const at = { p: off + 12 };
      const firstSeq = uvar(at);
      const n = uvar(at);
      const rawLen = uvar(at);
      const sideLen = uvar(at);
      const coreZ = uvar(at);
      const body = new Uint8Array(inflateRawSync(file.subarray(at.p, at.p + coreZ)));
      const side = new Uint8Array(inflateRawSync(file.subarray(at.p + coreZ, off + 12 + len)));
      expect(body.length).toBe(rawLen);
      expect(side.length).toBe(sideLen);
      out.push({ firstSeq, n, body, side });
    }
    off += 12 + len;
  }
  return out;
}

describe("format 3 event chunk bodies", () => {
  it("a plain msgpack decoder reads every chunk body of a recorded trace and finds the documented fields", () => {
    const file = new Uint8Array(readFileSync(join(REPO_ROOT, "fixtures", "traces", "good.ktrace")));
    expect(file[8]).toBe(3);
    const chunks = eventChunkBodies(file);
    expect(chunks.length).toBeGreaterThan(5);
    const kinds = openTrace(file).meta.kinds;
    let next = 0;
    let sides = 0;
    for (const { firstSeq, n, body, side } of chunks) {
      const doc = unpack(body) as unknown[];
      // [firstSeq, n, timeScale, strings, kind, cpu, tid, time, a, b, c, s]
      expect(Array.isArray(doc) && doc.length === 12).toBe(true);
      const [first, count, timeScale, strings, ...cols] = doc;
      expect(first).toBe(firstSeq);
      expect(first).toBe(next);
      expect(count).toBe(n);
      next += n;
      expect(Number.isInteger(timeScale) && (timeScale as number) >= 1).toBe(true);
      expect(Array.isArray(strings) && strings.every((x) => typeof x === "string")).toBe(true);
      for (const col of cols) expect(col).toBeInstanceOf(Uint8Array);
      const varints = (col: Uint8Array) => col.filter((x) => x < 0x80).length;
      // kind and time hold exactly n varints (a byte below 0x80 ends each); cpu and tid one per event of a
      // kind whose row does not say side, the side body's [cpu, tid, a, b, c, s] one per event of the others.
      const [kind, cpu, tid, time] = cols as Uint8Array[];
      expect(varints(kind!)).toBe(n);
      expect(varints(time!)).toBe(n);
      const codes = [...kind!].filter((x) => x < 0x80).map((v) => v >> 1); // stress's codes take one byte
      const onSide = codes.filter((k) => kinds[k]?.[3] === 1).length;
      sides += onSide;
      expect(varints(cpu!)).toBe(n - onSide);
      expect(varints(tid!)).toBe(n - onSide);
      const sdoc = unpack(side) as unknown[];
      expect(Array.isArray(sdoc) && sdoc.length === 6 && sdoc.every((c) => c instanceof Uint8Array)).toBe(true);
      expect(varints(sdoc[0] as Uint8Array)).toBe(onSide);
      expect(varints(sdoc[1] as Uint8Array)).toBe(onSide);
    }
    expect(next).toBe(openTrace(file).eventCount);
    expect(sides).toBeGreaterThan(next / 4);
  });

  it("strings go in the table as msgpack strings; lone surrogates are stored as U+FFFD, as format 1 did", () => {
    const evs: KEvent[] = ["plain", "ünïcödé ✓ 🧵", "bad \ud800 half", "x".repeat(200) + "\udc00"].map((s, seq) => ({
      seq,
      time: seq * 10,
      cpu: 0,
      tid: 1,
      kind: KIND.user,
      a: 0,
      b: 0,
      c: 0,
      s,
    }));
    const p = join(dir, "strings.ktrace");
    writeEvents(p, evs, { snapshotEvery: 100 });
    const [chunk] = eventChunkBodies(new Uint8Array(readFileSync(p)));
    const strings = (unpack(chunk!.body) as unknown[])[3];
    const wf = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s));
    expect(strings).toEqual(evs.map((e) => wf(e.s)));
    expect([...openTrace(p).events()].map((e) => e.s)).toEqual(evs.map((e) => wf(e.s)));
  });

  it("a body that is not the documented array is refused with what is wrong", () => {
    const slots = slotTable(currentKinds());
    const col = (...b: number[]) => Uint8Array.from(b);
    // [firstSeq, n, timeScale, strings, kind, cpu, tid, time, a, b, c, s]
    const good = [
      7,
      2,
      10,
      ["w"],
      col(2 * KIND.user, 2 * KIND.user),
      col(0, 2),
      col(2, 2),
      col(2, 2),
      col(),
      col(),
      col(),
      col(1, 0),
    ];
    const ok = decodeEventBody(2, packr.pack(good), 2, 7, slots);
    expect([...ok.time]).toEqual([10, 20]);
    expect([...ok.cpu]).toEqual([0, 1]);
    expect(ok.strings).toEqual(["", "w"]);
    // A later minor version may append elements.
    expect(decodeEventBody(2, packr.pack([...good, "more"]), 2, 7, slots).n).toBe(2);
    const with_ = (i: number, v: unknown) => good.map((x, j) => (j === i ? v : x));
    const bad: [unknown, RegExp][] = [
      [{ firstSeq: 7 }, /not a msgpack array of at least 12/],
      [good.slice(0, 11), /not a msgpack array of at least 12/],
      [with_(1, 3), /n 3, its frame 7 and 2/],
      [with_(2, 0), /timeScale/],
      [with_(3, ["w", 5]), /strings/],
      [with_(5, [0, 2]), /column cpu is not bin/],
      [with_(10, null), /column c is not bin/],
      [with_(6, col(2, 2, 2)), /column tid .*1 bytes left over/],
      [with_(7, col(2)), /column time .*ends early/],
      [with_(11, col(2, 0)), /string index 2 out of range/],
    ];
    for (const [doc, why] of bad)
      expect(() => decodeEventBody(2, packr.pack(doc), 2, 7, slots), JSON.stringify(doc)).toThrow(why);
    expect(() => decodeEventBody(2, Uint8Array.of(0xc1, 0xc1), 2, 7, slots)).toThrow(BodyError);
    expect(() => decodeEventBody(2, Uint8Array.of(0x90), 5, 7, slots)).toThrow(/cannot hold 5 events/);
  });

  it("format 3: a side kind's cpu .. s come from the side body, which must be the documented array", () => {
    const slots = slotTable(currentKinds());
    expect(slots.side[KIND.user]).toBe(1);
    expect(slots.side[KIND.lockAcquire]).toBe(0);
    const col = (...b: number[]) => Uint8Array.from(b);
    // A user event (side: cpu 0, tid 1, label "w"), a lock-acquire (core: cpu 1, tid 2, lock 3), a user event (cpu -1, tid 1, "").
    const core = [
      7,
      3,
      10,
      ["w"],
      col(2 * KIND.user, 2 * KIND.lockAcquire, 2 * KIND.user),
      col(2),
      col(4),
      col(2, 2, 2),
    ];
    // lock-acquire stores a, b, c (lock, level, inferred).
    expect(slots.nargs[KIND.lockAcquire]).toBe(3);
    const coreOf = () => packr.pack([...core, col(6), col(0), col(0), col()]);
    const side = [col(0, 1), col(2, 2), col(), col(), col(), col(1, 0)];
    const c = decodeEventBody(3, coreOf(), 3, 7, slots, undefined, packr.pack(side));
    expect([...c.cpu]).toEqual([0, 1, -1]);
    expect([...c.tid]).toEqual([1, 2, 1]);
    expect([...c.sIdx].map((i) => c.strings[i])).toEqual(["w", "", ""]);
    // Core only: the side events' fields wait (0) for the side body.
    const k = decodeEventBody(3, coreOf(), 3, 7, slots, undefined, null);
    expect([...k.cpu]).toEqual([0, 1, 0]);
    expect([...k.tid]).toEqual([0, 2, 0]);
    const with_ = (i: number, v: unknown) => side.map((x, j) => (j === i ? v : x));
    const bad: [unknown, RegExp][] = [
      [{ cpu: 1 }, /side body is not a msgpack array of at least 6/],
      [side.slice(0, 5), /side body is not a msgpack array of at least 6/],
      [with_(0, [0, 1]), /side body's column cpu is not bin/],
      [with_(1, col(2, 2, 2)), /column side tid .*1 bytes left over/],
      [with_(5, col(2, 0)), /string index 2 out of range/],
    ];
    for (const [doc, why] of bad)
      expect(() => decodeEventBody(3, coreOf(), 3, 7, slots, undefined, packr.pack(doc)), JSON.stringify(doc)).toThrow(
        why,
      );
  });
});

describe("determinism across runtimes", () => {
  it("Node records the stress fixtures (written by Bun) byte for byte, plain and gzip-wrapped", async () => {
    // As fixtures/make-fixtures.ts records them: fflate is pure JavaScript, so its bytes do not depend on the runtime.
    const p = await prepare({ target: "stress", seed: 1, maxEvents: 3000 });
    for (const f of ["good.ktrace", "good.ktrace.gz"]) {
      const out = join(dir, f);
      record(p, out, 512);
      expect(Buffer.compare(readFileSync(out), readFileSync(join(REPO_ROOT, "fixtures", "traces", f))), f).toBe(0);
    }
  });
});

describe("format 2 traces", () => {
  const V2 = join(REPO_ROOT, "fixtures", "traces", "v2");
  const expected = JSON.parse(readFileSync(join(V2, "EXPECTED.json"), "utf8")) as Record<string, TraceDigest>;
  it("are all there", () => expect(Object.keys(expected).length).toBe(7));
  for (const [file, want] of Object.entries(expected)) {
    it(`${file} gives the same events and states as the format 2 reader did`, () => {
      const path = join(V2, file);
      expect(want.version).toBe("2.2");
      expect(traceDigest(path, true)).toEqual(want);
      if (want.recovered === null) expect(openTrace(path).verify()).toBeNull();
    });
  }
});

describe("format 1 traces", () => {
  const V1 = join(REPO_ROOT, "fixtures", "traces", "v1");
  const expected = JSON.parse(readFileSync(join(V1, "EXPECTED.json"), "utf8")) as Record<string, TraceDigest>;
  it("are all there", () => expect(Object.keys(expected).length).toBe(14));
  for (const [file, want] of Object.entries(expected)) {
    it(`${file} gives the same events and states as the format 1 reader did`, () => {
      const path = join(V1, file);
      expect(openTrace(path).formatVersion).toBe("1.0");
      expect(traceDigest(path)).toEqual(want);
      if (want.recovered === null) expect(openTrace(path).verify()).toBeNull();
    });
  }
});
