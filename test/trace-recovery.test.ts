// .ktrace: cut-short and damaged files, and refusals.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FRAME_HEADER, HEADER_FIXED, readU32 } from "../src/trace/format.ts";
import { openTrace, TraceCorruptError, TraceError, type TraceReader } from "../src/trace/index.ts";
import { gzipTrace } from "./support/gzip.ts";
import { tempDir, writeSynth } from "./support/trace-util.ts";

const dir = tempDir("recovery");
const path = join(dir, "good.ktrace");
const { events } = writeSynth(path, 6000, { snapshotEvery: 1000, chunkEvents: 400, end: true });
const good = new Uint8Array(readFileSync(path));
const headerEnd = HEADER_FIXED + readU32(good, 12) + 4;

/** Every frame in file order: offset, end, type, and for event chunks their last seq + 1. */
function frames(): { off: number; end: number; type: number; eventsTo: number; snapSeq: number }[] {
  const out = [];
  let off = headerEnd;
  let evs = 0;
  let snaps = 0;
  while (off < good.length - 32) {
    const type = good[off]!;
    const end = off + FRAME_HEADER + readU32(good, off + 4);
    if (type === 1) {
      // payload starts with uvar firstSeq, uvar count
      const r = openTrace(good);
      evs =
        r.chunkFirstSeqs[out.filter((f) => f.type === 1).length]! +
        r.chunkCounts[out.filter((f) => f.type === 1).length]!;
    }
    if (type === 2) snaps++;
    out.push({ off, end, type, eventsTo: evs, snapSeq: snaps });
    off = end;
  }
  return out;
}
const FRAMES = frames();

function expectRecovered(r: TraceReader, cut: number): void {
  const complete = FRAMES.filter((f) => f.end <= cut);
  const wantEvents = complete.length ? complete[complete.length - 1]!.eventsTo : 0;
  const wantSnaps = complete.filter((f) => f.type === 2).length;
  expect(r.recovery, `cut at ${cut}`).not.toBeNull();
  expect(r.recovery!.events, `cut at ${cut}`).toBe(wantEvents);
  expect(r.eventCount).toBe(wantEvents);
  expect(r.recovery!.snapshots).toBe(wantSnaps);
  expect(r.recovery!.lastSeq).toBe(wantEvents - 1);
  expect(r.snapshotSeqs.length).toBe(wantSnaps);
  if (wantEvents > 0) {
    expect(r.eventAt(wantEvents - 1)).toEqual(events[wantEvents - 1]);
    expect(r.eventAt(0)).toEqual(events[0]);
  }
  if (wantSnaps > 0) expect(r.loadSnapshot(wantEvents).seq).toBe(r.snapshotSeqs[wantSnaps - 1]);
}

describe("truncated files", () => {
  it("every prefix opens in recovery mode with all complete chunks, or (inside the header) is refused", () => {
    const cuts = new Set<number>();
    for (let i = 0; i <= headerEnd + 2; i++) cuts.add(i);
    for (const f of FRAMES) for (let d = -3; d <= 13; d++) cuts.add(f.off + d);
    for (let i = good.length - 40; i < good.length; i++) cuts.add(i);
    for (let i = 0; i < good.length; i += 97) cuts.add(i);
    let refused = 0;
    let recovered = 0;
    for (const cut of [...cuts].filter((c) => c >= 0 && c < good.length).sort((a, b) => a - b)) {
      const prefix = good.slice(0, cut);
      let r: TraceReader;
      try {
        r = openTrace(prefix);
      } catch (e) {
        expect(e, `cut at ${cut}`).toBeInstanceOf(TraceError);
        expect((e as TraceError).exitCode).toBe(2);
        expect(cut, `refused a cut after the header: ${(e as Error).message}`).toBeLessThan(headerEnd);
        expect((e as Error).message).not.toContain("\n");
        refused++;
        continue;
      }
      expect(cut).toBeGreaterThanOrEqual(headerEnd);
      expectRecovered(r, cut);
      recovered++;
    }
    expect(refused).toBe(headerEnd);
    expect(recovered).toBeGreaterThan(300);
  });

  it("a file cut inside the footer keeps every event and the outcome", () => {
    const r = openTrace(good.slice(0, good.length - 5));
    expect(r.recovery!.events).toBe(6000);
    expect(r.recovery!.reason).toMatch(/footer/);
    expect(r.outcome?.kind).toBe("ok");
    expect([...r.events()]).toEqual(events);
  });

  it("says where the file was cut", () => {
    const f = FRAMES[5]!;
    const r = openTrace(good.slice(0, f.off + 20));
    expect(r.recovery!.reason).toBe(`last chunk cut short: chunk 5 at byte offset ${f.off}`);
    expect(openTrace(good.slice(0, f.off)).recovery!.reason).toMatch(/^no footer/);
  });

  it("a cut-short gzip file opens in recovery mode", () => {
    const gz = gzipTrace(good);
    const r = openTrace(gz.slice(0, Math.floor(gz.length * 0.6)));
    expect(r.gzipped).toBe(true);
    expect(r.recovery).not.toBeNull();
    expect(r.recovery!.events).toBeGreaterThan(0);
    expect(r.eventAt(r.eventCount - 1)).toEqual(events[r.eventCount - 1]);
  });
});

describe("damaged files", () => {
  it("a flipped byte in a chunk costs that chunk only: its events are a gap, everything before and after reads", () => {
    const i = FRAMES.findIndex((f) => f.type === 1 && f.eventsTo > 2000);
    const f = FRAMES[i]!;
    const bad = good.slice();
    bad[f.off + FRAME_HEADER + 10]! ^= 0x40;
    const lazy = openTrace(bad);
    const first = lazy.chunkFirstSeqs[lazy.chunkOf(f.eventsTo - 1)]!;
    const gap = {
      fromSeq: first,
      toSeq: f.eventsTo - 1,
      reason: `chunk ${i} at byte offset ${f.off} is damaged: checksum mismatch`,
    };
    // Opening reads only the index, so it opens complete; reading the chunk finds the damage.
    expect(lazy.recovery).toBeNull();
    expect(lazy.gaps).toEqual([]);
    let err: unknown;
    try {
      lazy.eventAt(f.eventsTo - 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceCorruptError);
    expect((err as TraceCorruptError).chunk).toBe(i);
    expect((err as TraceCorruptError).offset).toBe(f.off);
    expect((err as TraceCorruptError).gap).toEqual(gap);
    expect((err as Error).message).toContain(
      `events ${gap.fromSeq}..${gap.toSeq} are missing: chunk ${i} at byte offset ${f.off} is damaged`,
    );
    expect(lazy.gaps).toEqual([gap]);
    expect(lazy.verify()?.offset).toBe(f.off);
    expect(lazy.eventAt(0)).toEqual(events[0]);
    expect(lazy.eventAt(f.eventsTo)).toEqual(events[f.eventsTo]);
    expect(lazy.eventAt(5999)).toEqual(events[5999]);
    // verify: true scans every chunk: the same gap, known at once, and the rest usable.
    for (const r of [openTrace(bad, { verify: true }), openTrace(bad.slice(0, bad.length - 40))]) {
      expect(r.recovery!.reason).toMatch(new RegExp(`^CRC mismatch in chunk ${i} at byte offset ${f.off}`));
      expect(r.eventCount).toBe(6000);
      expect(r.gaps).toEqual([gap]);
      expect(r.recovery!.events).toBe(6000 - (gap.toSeq - gap.fromSeq + 1));
      const got = [...r.events(0, gap.fromSeq), ...r.events(gap.toSeq + 1)];
      expect(got).toEqual(events.filter((e) => e.seq < gap.fromSeq || e.seq > gap.toSeq));
    }
  });

  it("a damaged length field: the scan finds the next chunk and goes on", () => {
    const i = FRAMES.findIndex((f) => f.type === 1 && f.eventsTo > 3000);
    const f = FRAMES[i]!;
    const bad = good.slice(0, good.length - 40); // no footer: scan
    bad[f.off + 5]! ^= 0x20; // payload length
    const r = openTrace(bad);
    expect(r.gaps).toHaveLength(1);
    expect(r.gaps[0]!.toSeq).toBe(f.eventsTo - 1);
    expect(r.eventAt(f.eventsTo)).toEqual(events[f.eventsTo]);
    expect(r.eventCount).toBe(6000);
  });

  it("chunks deleted, duplicated or reordered: the seqs they held are gaps, repeats are dropped, order is restored", () => {
    const ev = FRAMES.filter((f) => f.type === 1);
    const [a, b] = [ev[3]!, ev[4]!];
    const noFooter = (x: Uint8Array) => x.slice(0, x.length - 40);
    const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
    const deleted = noFooter(cat(good.subarray(0, a.off), good.subarray(a.end)));
    const r1 = openTrace(deleted);
    expect(r1.gaps.map((g) => [g.fromSeq, g.toSeq])).toEqual([[ev[2]!.eventsTo, a.eventsTo - 1]]);
    expect(r1.gaps[0]!.reason).toMatch(/no chunk in the file holds them/);
    const dup = noFooter(cat(good.subarray(0, b.end), good.subarray(a.off, a.end), good.subarray(b.end)));
    const r2 = openTrace(dup);
    expect(r2.gaps).toEqual([]);
    expect(r2.warnings.join(" ")).toMatch(/repeats events/);
    expect([...r2.events()]).toEqual(events);
    const swapped = noFooter(
      cat(good.subarray(0, a.off), good.subarray(b.off, b.end), good.subarray(a.off, a.end), good.subarray(b.end)),
    );
    const r3 = openTrace(swapped);
    expect(r3.gaps).toEqual([]);
    expect([...r3.events()]).toEqual(events);
  });

  it("a snapshot chunk deleted with the old index left in place is detected and warned about", () => {
    const snaps = FRAMES.filter((f) => f.type === 2);
    for (const s of [snaps[2]!, snaps[0]!]) {
      const cut = Uint8Array.from([...good.subarray(0, s.off), ...good.subarray(s.end)]);
      const r = openTrace(cut);
      expect(r.recovery).not.toBeNull();
      expect(r.warnings.join(" ")).toMatch(/the index lists a snapshot of seq -?\d+ that the file does not hold/);
      expect(r.eventCount).toBe(6000);
      if (s === snaps[0]) {
        expect(r.warnings.join(" ")).toMatch(/the initial snapshot \(seq -1\) is missing/);
        expect(() => r.loadSnapshot(10)).toThrow(
          /no usable snapshot at or before seq 10 \(the initial snapshot is missing\)/,
        );
      }
    }
  });

  it("a flipped byte in the header is refused", () => {
    const bad = good.slice();
    bad[HEADER_FIXED + 3]! ^= 1;
    expect(() => openTrace(bad)).toThrow(/damaged header/);
  });

  it("a damaged index or footer falls back to scanning the chunks", () => {
    for (const at of [good.length - 40, good.length - 30, good.length - 1]) {
      const bad = good.slice();
      bad[at]! ^= 0x10;
      const r = openTrace(bad);
      expect(r.recovery).not.toBeNull();
      expect(r.eventCount).toBe(6000);
    }
  });
});

describe("refusals", () => {
  const cases: [string, Uint8Array | string, RegExp][] = [];
  const emptyPath = join(dir, "empty.ktrace");
  writeFileSync(emptyPath, "");
  const zipPath = join(dir, "zip.ktrace");
  writeFileSync(zipPath, Uint8Array.of(0x50, 0x4b, 3, 4, 20, 0, 0, 0, 8, 0));
  const newer = good.slice();
  newer[8] = 4;
  const older = good.slice();
  older[8] = 0;
  const subdir = join(dir, "a-directory");
  mkdirSync(subdir);
  cases.push(
    ["missing", join(dir, "nope.ktrace"), /nope\.ktrace: no such file; check the path/],
    ["directory", subdir, /is a directory, not a trace/],
    ["empty", emptyPath, /empty file \(0 bytes\), not a trace/],
    ["bad-magic", zipPath, /not a ktrace file \(starts with 50 4b 03 04 14 00 00 00\)/],
    ["bad-magic", new TextEncoder().encode("hello, world\n"), /not a ktrace file/],
    [
      "newer-version",
      newer,
      /written by a newer ktrace \(format 4\.x\); this ktrace reads formats 1\.x to 3\.x: upgrade ktrace/,
    ],
    ["newer-version", older, /format 0\.[0-9]+, which this ktrace \(formats 1\.x to 3\.x\) does not read/],
    ["bad-header", good.slice(0, 12), /truncated header/],
    ["bad-header", good.slice(0, headerEnd - 1), /truncated header/],
  );
  for (const [code, input, msg] of cases) {
    it(`${code}: ${typeof input === "string" ? input.split("/").pop() : `${input.length} bytes`}`, () => {
      let err: unknown;
      try {
        openTrace(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TraceError);
      const te = err as TraceError;
      expect(te.code).toBe(code);
      expect(te.exitCode).toBe(2);
      expect(te.message).toMatch(msg);
      expect(te.message).not.toContain("\n");
    });
  }
});
