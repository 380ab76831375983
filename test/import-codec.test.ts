// ktrace import's parse thread sends records as bytes (record-codec.ts): what
// arrives is what was sent (same properties in the same order, same strings and
// numbers), through the string table's resets, and an ftrace line sent from its
// bytes (RecordEncoder.ftraceLine) arrives as the record scanFtrace makes of it.
// (The whole import with the parse thread is compared byte for byte with the
// one-thread import under Bun and Deno by test/import-thread.test.ts.)

import { Buffer } from "node:buffer";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Clock } from "../src/import/clock.ts";
import { scanFtrace } from "../src/import/ftrace.ts";
import { PARSE_THREAD_BYTES, PARSE_THREAD_BYTES_2, parseThreadPays } from "../src/import/read.ts";
import { newRecord, type TraceRecord } from "../src/import/record.ts";
import { RecordCodecError, RecordDecoder, RecordEncoder, TABLE_SIZE } from "../src/import/record-codec.ts";

const FIX = path.resolve(__dirname, "../fixtures/import");

/** A record as plain data, its keys in order (what "the same record" means here). */
function shape(r: TraceRecord): unknown {
  return Object.entries(r).map(([k, v]) =>
    k === "fields" ? Object.entries(v as object).map(([fk, fv]) => [fk, typeof fv, fv]) : [k, typeof v, v],
  );
}

function roundTrip(enc: RecordEncoder, dec: RecordDecoder, recs: TraceRecord[]): TraceRecord[] {
  enc.begin();
  for (const r of recs) enc.record(r);
  const out: TraceRecord[] = [];
  dec.decode(enc.take(), out);
  return out;
}

describe("record codec", () => {
  it("gives back the records it was given: strings of every width, numbers, absent values, key orders", () => {
    const recs = [
      newRecord(1, 0, 0, "bash", 100, undefined, "sched_switch", undefined, { prev_comm: "a b", prev_pid: 1 }, "d..2."),
      newRecord(2, -0, -1, "", -1, 7, "x", "sched", { "2": "two", b: -0, "1": 1.5, a: "é", z: "😀" }, undefined),
      newRecord(
        3,
        2 ** 53,
        3,
        "\ud800 lone",
        0,
        0,
        "sched_wakeup",
        "",
        { comm: "w", pid: 2, prio: 120, target_cpu: "001" },
        "",
      ),
      newRecord(4, 5, 1, "k".repeat(5000), 1e15, undefined, "n", undefined, {}, undefined),
      newRecord(5, 6, 1, "x", 1, undefined, "sched_waking", undefined, { comm: "w", pid: 2, prio: 120 }, undefined),
      // Integers at the ends of int32 (sent as i32) and just past them (sent as f64), in the fixed fields too.
      newRecord(6, 7, 2 ** 31 - 1, "y", -(2 ** 31), 2 ** 31, "n", undefined, { a: -(2 ** 31) - 1, b: 2 ** 31 - 1 }, ""),
      newRecord(7, 8, 2 ** 31, "y", -0, -(2 ** 31) - 1, "n", undefined, { a: -1, b: 4294967296 }, ""),
    ];
    const enc = new RecordEncoder();
    const dec = new RecordDecoder();
    for (let round = 0; round < 3; round++) {
      const out = roundTrip(enc, dec, recs);
      expect(out.map(shape)).toEqual(recs.map(shape));
      expect(Object.is(out[1]!.ts, -0)).toBe(true);
      expect(Object.is(out[1]!.fields["b"], -0)).toBe(true);
      expect(Object.is(out[6]!.tid, -0)).toBe(true);
    }
  });

  it("keeps both sides' tables in step through resets (more distinct strings than the table holds)", () => {
    const enc = new RecordEncoder();
    const dec = new RecordDecoder();
    let line = 0;
    for (let batch = 0; batch < 25; batch++) {
      const recs: TraceRecord[] = [];
      for (let i = 0; i < 3000; i++) {
        line++;
        // a few strings that repeat and many that do not
        recs.push(
          newRecord(
            line,
            line,
            i % 4,
            `task${i % 50}`,
            i,
            undefined,
            "ev",
            undefined,
            { k: `v${line}`, [`key${line % 9000}`]: `w${line % 7}` },
            undefined,
          ),
        );
      }
      expect(roundTrip(enc, dec, recs).map(shape)).toEqual(recs.map(shape));
    }
    expect(line).toBeGreaterThan(TABLE_SIZE); // each line has a string of its own: the table was cleared (at half) several times
  });

  it("refuses bytes it did not write", () => {
    const enc = new RecordEncoder();
    enc.begin();
    enc.record(newRecord(1, 0, 0, "a", 1, undefined, "n", undefined, { k: "v" }, undefined));
    const b = enc.take();
    expect(() => new RecordDecoder().decode(b.subarray(0, b.length - 3), [])).toThrow(RecordCodecError);
    const extra = Buffer.concat([b, Buffer.of(0)]);
    expect(() => new RecordDecoder().decode(extra, [])).toThrow(RecordCodecError);
  });

  it("sends every ftrace fixture line from its bytes as the record scanFtrace makes", () => {
    const lines = ["ftrace", "real"].flatMap((d) =>
      readdirSync(path.join(FIX, d))
        .sort()
        .filter((f) => f.endsWith(".txt") && !f.startsWith("perf") && !f.startsWith("babeltrace"))
        .flatMap((f) => readFileSync(path.join(FIX, d, f), "utf8").split("\n")),
    );
    // and a few a form does not take, or that the reader must count itself
    lines.push(
      "a-1 [000] d..2. 1.000001: sched_switch: prev_comm=a prev_pid=01 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120",
      "a-1 [000] d..2. 1.000002: contention_end: 0xff (ret=-1234567890123456)",
      "a-1 [000] d..2. 1.000003: lost_events: count=5",
      "a-1 (  1) [000] 1.000004: sched:sched_stat_runtime: comm=a pid=1 runtime=12 [ns]",
      "é-1 [000] d..2. 1.000005: x: é=ü",
    );
    const enc = new RecordEncoder();
    const dec = new RecordDecoder();
    const [ca, cb] = [new Clock(), new Clock()];
    let sent = 0;
    for (const [i, l] of lines.entries()) {
      const buf = Buffer.from(`x\n${l}\ny`);
      const s = 2;
      const e = s + Buffer.byteLength(l);
      const want = scanFtrace(buf, s, e, i + 1, ca);
      enc.begin();
      const ts = enc.ftraceLine(buf, s, e, i + 1, cb);
      const out: TraceRecord[] = [];
      dec.decode(enc.take(), out);
      if (Number.isNaN(ts)) {
        // left to the reader: a line scanFtrace does not read, or a lost_events marker
        expect(out).toEqual([]);
        if (want !== null) expect(want.name).toBe("lost_events");
        continue;
      }
      sent++;
      expect(want, l).not.toBeNull();
      expect(ts).toBe(want!.ts);
      expect(out.map(shape), l).toEqual([shape(want!)]);
      expect(cb.info()).toEqual(ca.info());
    }
    expect(sent).toBeGreaterThan(200);
  });

  it("'auto' parses on a second thread for a long input only, and never on one core", () => {
    expect(parseThreadPays(PARSE_THREAD_BYTES - 1, 4)).toBe(false);
    expect(parseThreadPays(PARSE_THREAD_BYTES, 4)).toBe(true);
    expect(parseThreadPays(PARSE_THREAD_BYTES, 2)).toBe(false);
    expect(parseThreadPays(PARSE_THREAD_BYTES_2, 2)).toBe(true);
    expect(parseThreadPays(2 ** 40, 1)).toBe(false);
  });
});
