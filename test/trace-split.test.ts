// Format 3's split event chunk bodies (docs/FORMAT.md, "Event chunk"): the
// side kinds are the rule's; a scan that reads the core only (readCore, the
// scan's path) gives the answers, counts, gaps and final state of a scan of
// whole chunks; an event of a side kind read through fillEvent gets its
// fields; and a side body that does not decode behind a good checksum is
// found by whatever reads it, never by a scan that does not.

import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { INERT_KINDS } from "../src/kernel/apply.ts";
import { toPlain } from "../src/kernel/state.ts";
import { EVENT_KINDS, KIND } from "../src/kernel/types.ts";
import { prepare, record } from "../src/record/index.ts";
import { Cursor, firstViolation, forEachEvent, type ScanResult, TraceSource } from "../src/replay/index.ts";
import { INVARIANTS, type Invariant } from "../src/replay/invariants.ts";
import { ByteReader, ByteWriter } from "../src/trace/bytes.ts";
import { type EventColumns, fillEvent, Scratch } from "../src/trace/event-codec.ts";
import { CHUNK_EVENTS, FRAME_HEADER, frameHeader, HEADER_FIXED, readU32 } from "../src/trace/format.ts";
import { openTrace, TraceCorruptError } from "../src/trace/index.ts";
import { SIDE_KIND_NAMES } from "../src/trace/writer.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { tempDir } from "./support/trace-util.ts";

const dir = tempDir("split");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A TraceSource whose scans read whole chunks (the reference: format 2's scan). */
class WholeSource extends TraceSource {
  private readonly whole = new Scratch();
  override readColumns(i: number): EventColumns {
    return this.reader.readColumns(i, this.whole);
  }
}

function summary(r: ScanResult, src: TraceSource) {
  return {
    violation: JSON.stringify(r.violation),
    scanned: r.scanned,
    unchecked: JSON.stringify(r.unchecked),
    state: JSON.stringify(toPlain(r.state)),
    gaps: JSON.stringify(src.gaps),
  };
}

/** Core-only scan and whole-chunk scan of one trace (all invariants, or `invs`), and how many times the core-only one filled a chunk's side. */
function compare(
  path: string,
  invs?: readonly Invariant[],
): { core: ReturnType<typeof summary>; whole: ReturnType<typeof summary>; fills: number } {
  const a = new TraceSource(openTrace(path));
  const fill = a.reader.sideFill;
  let fills = 0;
  if (fill) {
    const f = fill.fill;
    fill.fill = (c, i) => {
      fills++;
      f(c, i);
    };
  }
  const b = new WholeSource(openTrace(path));
  try {
    return { core: summary(firstViolation(a, invs), a), whole: summary(firstViolation(b, invs), b), fills };
  } finally {
    a.close();
    b.close();
  }
}

let stress = "";
let kstack = "";
async function recorded(): Promise<void> {
  if (stress !== "") return;
  stress = join(dir, "stress.ktrace");
  record(await prepare({ target: "stress", seed: 3, maxEvents: 40_000 }), stress, 4096);
  kstack = join(dir, "kstack.ktrace");
  record(await prepare({ target: "rcore-kstack", seed: 1, maxEvents: 5_000 }), kstack, 64);
}

describe("side kinds", () => {
  it("are the inert kinds that no built-in invariant lists (SIDE_KIND_NAMES, written in the header)", () => {
    const rule = EVENT_KINDS.filter(
      (_, k) =>
        INERT_KINDS[k] === 1 && INVARIANTS.every((inv) => !inv.kinds?.includes(k) && !inv.armed?.by.includes(k)),
    ).map((k) => k.name);
    expect([...SIDE_KIND_NAMES].sort()).toEqual(rule.sort());
    const kinds = openTrace(join(REPO_ROOT, "fixtures", "traces", "good.ktrace")).meta.kinds;
    expect(kinds.filter((k) => k[3] === 1).map((k) => k[0])).toEqual(
      EVENT_KINDS.filter((k) => rule.includes(k.name)).map((k) => k.name),
    );
  });
});

describe("a scan of the core only", () => {
  const traces = [
    ...readdirSync(join(REPO_ROOT, "traces"))
      .filter((f) => f.endsWith(".ktrace"))
      .map((f) => join(REPO_ROOT, "traces", f)),
    ...[
      "good.ktrace",
      "good.ktrace.gz",
      "cut-in-chunk.ktrace",
      "flipped-chunk.ktrace",
      "flipped-chunk-no-footer.ktrace",
    ].map((f) => join(REPO_ROOT, "fixtures", "traces", f)),
  ];
  for (const t of traces)
    it(`gives the whole-chunk scan's answer: ${t.slice(REPO_ROOT.length + 1)}`, () => {
      const { core, whole } = compare(t);
      expect(core).toEqual(whole);
    });

  it("on longer runs, and where an invariant that reads side kinds' fields makes it fill them", async () => {
    await recorded();
    const s = compare(stress);
    expect(s.core).toEqual(s.whole);
    expect(s.fills).toBe(0);
    const k = compare(kstack);
    expect(k.core).toEqual(k.whole);
    // An invariant (as a scenario's own may) that inspects `user` events and reads their label.
    const labels: string[] = [];
    const userLabels: Invariant = {
      name: "user-labels",
      doc: "a user event's label is not 'never'",
      kinds: [KIND.user],
      post: (_st, ev) => {
        labels.push(`${ev.seq} ${ev.cpu} ${ev.tid} ${ev.s}`);
        return ev.s === "never" ? { message: "never", causes: [] } : null;
      },
    };
    const u = compare(stress, [userLabels]);
    expect(u.core).toEqual(u.whole);
    expect(u.fills).toBeGreaterThan(0);
    // Both scans saw the same events' fields (the core-only scan's, filled, first).
    const half = labels.length / 2;
    expect(half).toBeGreaterThan(100);
    expect(labels.slice(0, half)).toEqual(labels.slice(half));
  });

  it("fills a chunk's side once, and only for an event of a side kind", async () => {
    await recorded();
    const r = openTrace(stress);
    const fill = r.sideFill!;
    let fills = 0;
    const f = fill.fill;
    fill.fill = (c, i) => {
      fills++;
      f(c, i);
    };
    const ev = { seq: 0, time: 0, cpu: 0, tid: 0, kind: 0, a: 0, b: 0, c: 0, s: "" };
    const core = r.readCore(1, new Scratch());
    const whole = r.readColumns(1, new Scratch());
    const isSide = (k: number) => fill.side[k] === 1;
    const firstSide = Array.from(core.kind).findIndex(isSide);
    expect(firstSide).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < firstSide; i++) {
      expect(fillEvent(core, i, ev)).toEqual(fillEvent(whole, i, { ...ev }));
      expect(fills).toBe(0);
    }
    for (let i = 0; i < core.n; i++) expect(fillEvent(core, i, ev)).toEqual(fillEvent(whole, i, { ...ev }));
    expect(fills).toBe(1);
    expect(core.pending).toBe(null);
    r.close();
  });
});

/** The file with chunk k's side stream replaced by `side` (its frame's checksum made right). */
function withSide(file: Uint8Array, k: number, side: Uint8Array): { bytes: Uint8Array; first: number; n: number } {
  let off = HEADER_FIXED + readU32(file, 12) + 4;
  for (let seen = 0; ; ) {
    const len = readU32(file, off + 4);
    if (file[off] === CHUNK_EVENTS && seen++ === k) {
      const payload = file.subarray(off + FRAME_HEADER, off + FRAME_HEADER + len);
      const r = new ByteReader(payload);
      const first = r.uvar();
      const n = r.uvar();
      const coreLen = r.uvar();
      const sideLen = r.uvar();
      const coreZ = r.uvar();
      const w = new ByteWriter(64);
      for (const v of [first, n, coreLen, sideLen, coreZ]) w.uvar(v);
      w.bytes(payload.subarray(r.pos, r.pos + coreZ));
      w.bytes(side);
      const p = w.toBytes();
      const h = frameHeader(CHUNK_EVENTS, file[off + 1]!, p);
      const bytes = Uint8Array.from([...file.subarray(0, off), ...h, ...p, ...file.subarray(off + FRAME_HEADER + len)]);
      return { bytes, first, n };
    }
    off += FRAME_HEADER + len;
  }
}

describe("a side body that does not decode behind a good checksum (a crafted file)", () => {
  it("is damage for what reads it, from the first event that needs it; a scan that does not read it does not see it", async () => {
    await recorded();
    const file = new Uint8Array(readFileSync(stress));
    // Chunk 2's side stream: a valid DEFLATE stream of bytes that are not the side body.
    const { bytes, first, n } = withSide(file, 2, deflateRawSync(new Uint8Array(40)));
    const p = join(dir, "bad-side.ktrace");
    writeFileSync(p, bytes);
    const r = openTrace(p);
    expect(() => r.readCore(2, new Scratch())).not.toThrow();
    expect(() => r.readColumns(2, new Scratch())).toThrow(TraceCorruptError);
    expect(r.gaps).toMatchObject([{ fromSeq: first, toSeq: first + n - 1 }]);
    r.close();

    // The check scan folds stress's side kinds by seq and time: the same answer as on the good file.
    const good = compare(stress);
    const src = new TraceSource(openTrace(p));
    const got = summary(firstViolation(src), src);
    expect(got.violation).toBe(good.core.violation);
    expect(got.scanned).toBe(good.core.scanned);
    expect(got.state).toBe(good.core.state);
    src.close();

    // A walk that reads every event's fields meets it at the chunk's first side event: the gap starts there.
    const s2 = new TraceSource(openTrace(p));
    const cols = s2.reader.readCore(2, new Scratch());
    const firstSide = first + Array.from(cols.kind).findIndex((k) => s2.reader.sideFill!.side[k] === 1);
    const gaps: { fromSeq: number; toSeq: number }[] = [];
    let seen = 0;
    forEachEvent(
      s2,
      0,
      s2.eventCount - 1,
      () => {
        seen++;
        return false;
      },
      (g) => gaps.push(g),
    );
    expect(gaps).toMatchObject([{ fromSeq: firstSide, toSeq: first + n - 1 }]);
    expect(seen).toBe(s2.eventCount - (first + n - firstSide));
    s2.close();

    // A seek reads the core only too: to the chunk's last event and past it, the state is the good file's (its
    // side kinds fold by seq and time); reading a side event's fields there meets the damage.
    const goodSrc = new TraceSource(openTrace(stress));
    const badSrc = new TraceSource(openTrace(p));
    for (const to of [firstSide, first + n - 1, first + n + 10]) {
      const a = new Cursor(goodSrc);
      const b = new Cursor(badSrc);
      a.seek(to);
      b.seek(to);
      expect(JSON.stringify(toPlain(b.state)), `seek to ${to}`).toBe(JSON.stringify(toPlain(a.state)));
    }
    expect(() => new Cursor(badSrc).eventAt(firstSide)).toThrow(TraceCorruptError);
    goodSrc.close();
    badSrc.close();

    // The command line: the events are missing for `events`, exit codes are not ktrace's own failure.
    for (const args of [
      ["check", p],
      ["events", p, "--from", String(first), "--to", String(first + 3)],
      ["info", p],
    ]) {
      const res = await runCli(args);
      expect([0, 1, 2]).toContain(res.code);
      expect(res.stderr).not.toMatch(/internal error/);
    }
  });
});
