// TraceWriter: atomic replacement, abort, crash leftovers, write errors, bad input.
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { initState } from "../src/kernel/state.ts";
import { type KEvent, KIND } from "../src/kernel/types.ts";
import { prepare, record } from "../src/record/index.ts";
import { openTrace, TraceError, TraceWriteError, TraceWriter } from "../src/trace/index.ts";
import { decodeSchedule } from "../src/trace/schedule.ts";
import { SYNTH_CONFIG, synth } from "./support/synth.ts";
import { metaFor, tempDir } from "./support/trace-util.ts";

const dir = tempDir("writer");

describe("TraceWriter", () => {
  it("leaves an existing trace untouched until finish, then replaces it whole", () => {
    const p = join(dir, "atomic.ktrace");
    writeFileSync(p, "previous trace");
    const w = TraceWriter.create(p, metaFor(50_000, 1000), initState(SYNTH_CONFIG));
    expect(w.partialPath).toBe(`${p}.partial`);
    for (const [ev, st] of synth(50_000, 2)) {
      w.append(ev, st);
      if (ev.seq === 30_000) {
        expect(readFileSync(p, "utf8")).toBe("previous trace");
        expect(existsSync(w.partialPath)).toBe(true);
      }
    }
    expect(readFileSync(p, "utf8")).toBe("previous trace");
    const res = w.finish();
    expect(existsSync(w.partialPath)).toBe(false);
    expect(res.bytes).toBe(statSync(p).size);
    expect(res.events).toBe(50_000);
    expect(res.snapshots).toBe(51); // initial + 50 intervals (the last one is also the final state)
    expect(openTrace(p).eventCount).toBe(50_000);
    expect(() =>
      w.append({ seq: 50_000, time: 0, cpu: 0, tid: 0, kind: 1, a: 0, b: 0, c: 0, s: "" }, initState(SYNTH_CONFIG)),
    ).toThrow(/finished/);
  });

  it("abort removes the partial file and leaves the target alone", () => {
    const p = join(dir, "abort.ktrace");
    writeFileSync(p, "keep me");
    const w = TraceWriter.create(p, metaFor(10_000, 1000), initState(SYNTH_CONFIG));
    for (const [ev, st] of synth(10_000, 2)) w.append(ev, st);
    w.abort();
    w.abort();
    expect(existsSync(w.partialPath)).toBe(false);
    expect(readFileSync(p, "utf8")).toBe("keep me");
    const fresh = join(dir, "abort-fresh.ktrace");
    TraceWriter.create(fresh, metaFor(0, 10), initState(SYNTH_CONFIG)).abort();
    expect(existsSync(fresh)).toBe(false);
    expect(existsSync(`${fresh}.partial`)).toBe(false);
  });

  it("a writer that never finishes (crash, kill) leaves a partial file whose complete chunks all open", () => {
    const p = join(dir, "crash.ktrace");
    const w = TraceWriter.create(p, metaFor(25_000, 4096), initState(SYNTH_CONFIG), { chunkEvents: 1000 });
    const evs: KEvent[] = [];
    for (const [ev, st] of synth(25_000, 4)) {
      w.append(ev, st);
      evs.push(ev);
    }
    // No finish(): the last chunk is still in memory.
    const r = openTrace(w.partialPath);
    expect(r.recovery).not.toBeNull();
    expect(r.recovery!.reason).toMatch(/no footer/);
    expect(r.eventCount).toBe(r.chunkFirstSeqs.at(-1)! + r.chunkCounts.at(-1)!);
    expect(r.eventCount).toBeGreaterThan(24_000);
    expect([...r.events()]).toEqual(evs.slice(0, r.eventCount));
    expect(r.snapshotSeqs).toEqual([-1, 4095, 8191, 12287, 16383, 20479, 24575]);
    expect(r.outcome).toBeNull();
    w.abort();
  });

  it("an empty run is a valid trace with the initial snapshot", () => {
    const p = join(dir, "empty-run.ktrace");
    const res = TraceWriter.create(p, metaFor(0, 10), initState(SYNTH_CONFIG)).finish();
    expect(res.events).toBe(0);
    const r = openTrace(p);
    expect(r.eventCount).toBe(0);
    expect(r.snapshotSeqs).toEqual([-1]);
    expect(r.loadSnapshot(0).state.cpus.length).toBe(SYNTH_CONFIG.cpus);
    expect([...r.events()]).toEqual([]);
  });

  it.runIf(existsSync("/dev/full"))("a full disk throws TraceWriteError naming the partial file", () => {
    const p = join(dir, "full.ktrace");
    symlinkSync("/dev/full", `${p}.partial`);
    let err: unknown;
    try {
      const w = TraceWriter.create(p, metaFor(1000, 100), initState(SYNTH_CONFIG));
      for (const [ev, st] of synth(1000, 1)) w.append(ev, st);
      w.finish();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceWriteError);
    const we = err as TraceWriteError;
    expect(we.sysCode).toBe("ENOSPC");
    expect(we.partialPath).toBe(`${p}.partial`);
    expect(we.message).toContain("no space left on device");
    expect(we.message).toContain(`${p}.partial`);
    expect(we.exitCode).toBe(2);
    expect(existsSync(p)).toBe(false);
  });

  it("a missing directory throws TraceWriteError", () => {
    const p = join(dir, "no", "such", "dir", "x.ktrace");
    expect(() => TraceWriter.create(p, metaFor(0, 10), initState(SYNTH_CONFIG))).toThrow(TraceWriteError);
  });

  it("refuses events out of order, and fields that are not safe integers", () => {
    const st = initState(SYNTH_CONFIG);
    const ev = (seq: number, extra: Partial<KEvent> = {}): KEvent => ({
      seq,
      time: seq,
      cpu: 0,
      tid: 1,
      kind: KIND.user,
      a: 0,
      b: 0,
      c: 0,
      s: "",
      ...extra,
    });
    const w1 = TraceWriter.create(join(dir, "order.ktrace"), metaFor(10, 10), st);
    w1.append(ev(0), st);
    expect(() => w1.append(ev(2), st)).toThrow(/seq 2 out of order: expected 1/);
    w1.abort();
    const w2 = TraceWriter.create(join(dir, "float.ktrace"), metaFor(10, 10), st);
    w2.append(ev(0, { a: 1.5 }), st);
    let err: unknown;
    try {
      w2.finish();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceError);
    expect((err as TraceError).code).toBe("bad-event");
    w2.abort();
    expect(() => TraceWriter.create(join(dir, "k.ktrace"), metaFor(10, 0), st)).toThrow(/snapshot interval/);
  });
});

describe("schedule chunk", () => {
  it("a long run's schedule (stored: SCHEDULE_LEVEL) reads back as the run's decisions", async () => {
    const p = await prepare({ target: "stress", maxEvents: 300_000 });
    const path = join(dir, "schedule.ktrace");
    const r = record(p, path);
    const bytes = openTrace(path).scheduleBytes();
    expect(bytes).not.toBeNull();
    // Long enough for SCHEDULE_LEVEL (writer.ts: from 64 KB).
    expect(bytes!.length).toBeGreaterThan(1 << 16);
    expect(decodeSchedule(bytes!, 64)).toEqual(r.schedule);
  }, 60_000);
});
