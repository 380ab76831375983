// Issue 13, "Done when": untrusted traces. Decompression bombs and absurd
// counts are refused at once; damage in the middle of a trace costs only the
// damaged chunk, in every command; strings from a trace are shown escaped in
// every human-readable output; write errors say the truth about the partial
// file.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Cursor, MemorySource, openSource, StateUnknownError } from "../src/replay/index.ts";
import { BUILT_IN } from "../src/replay/invariants.ts";
import { ByteWriter } from "../src/trace/bytes.ts";
import { CHUNK_EVENTS, FRAME_HEADER, frameHeader, HEADER_FIXED, readU32 } from "../src/trace/format.ts";
import { openTrace, TraceError } from "../src/trace/index.ts";
import { cliCommand, REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { EVIL, EVIL_SHOWN, writeEvilTrace } from "./support/evil-trace.ts";
import { tempDir } from "./support/trace-util.ts";

const dir = tempDir("untrusted");
const GOOD = join(REPO_ROOT, "fixtures", "traces", "good.ktrace");
const FLIPPED = join(REPO_ROOT, "fixtures", "traces", "flipped-chunk.ktrace");
const good = new Uint8Array(readFileSync(GOOD));
/** The reason of flipped-chunk.ktrace's one gap (its offset is the fixture's: MANIFEST.json). */
const GAP_REASON = (
  JSON.parse(readFileSync(join(REPO_ROOT, "fixtures", "traces", "MANIFEST.json"), "utf8")) as {
    file: string;
    gaps?: { reason: string }[];
  }[]
).find((f) => f.file === "flipped-chunk.ktrace")!.gaps![0]!.reason;
const headerEnd = HEADER_FIXED + readU32(good, 12) + 4;

/** Frames of good.ktrace in file order. */
function frames(b: Uint8Array): { off: number; end: number; type: number }[] {
  const out = [];
  for (let off = headerEnd; off < b.length - 32; ) {
    const end = off + FRAME_HEADER + readU32(b, off + 4);
    out.push({ off, end, type: b[off]! });
    off = end;
  }
  return out;
}

/** good.ktrace with its first event chunk replaced by `payload` (CRC recomputed), footer and index dropped. */
function withFirstEventChunk(payload: Uint8Array): Uint8Array {
  const f = frames(good).find((x) => x.type === CHUNK_EVENTS)!;
  const h = frameHeader(CHUNK_EVENTS, 1, payload);
  return Uint8Array.from([...good.subarray(0, f.off), ...h, ...payload]);
}

/** A format 3 event chunk payload: the core stream `body` (rawLen bytes inflated) and the side stream `side` (sideLen). */
function eventPayload(
  first: number,
  n: number,
  rawLen: number,
  body: Uint8Array,
  sideLen = 0,
  side: Uint8Array = deflateRawSync(new Uint8Array(0)),
): Uint8Array {
  const w = new ByteWriter(64);
  w.uvar(first);
  w.uvar(n);
  w.uvar(rawLen);
  w.uvar(sideLen);
  w.uvar(body.length);
  w.bytes(body);
  w.bytes(side);
  return w.toBytes();
}

describe("bombs and absurd counts are refused at once", () => {
  it("a gzip wrapper that inflates far beyond its size: one line, exit 2", async () => {
    // 64 MiB of zeros in ~64 KB: 1000 times its size, far past the 8x a trace may inflate.
    const bomb = gzipSync(new Uint8Array(64 << 20), { level: 9 });
    const p = join(dir, "bomb.ktrace.gz");
    writeFileSync(p, bomb);
    let err: unknown;
    try {
      openTrace(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceError);
    expect((err as Error).message).toMatch(
      /inflates to more than \d+ bytes, 8 times its size; a trace does not compress that well/,
    );
    const r = await runCli(["info", p]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("a report whose embedded block inflates far beyond its size", async () => {
    const bomb = gzipSync(new Uint8Array(64 << 20), { level: 9 });
    const b64 = Buffer.from(bomb).toString("base64").replace(/.{76}/g, "$&\n");
    const p = join(dir, "bomb.md");
    writeFileSync(
      p,
      `# ktrace report\n\n-----BEGIN KTRACE TRACE-----\nname: x.ktrace.gz\nbytes: ${bomb.length}\n${b64}\n-----END KTRACE TRACE-----\n`,
    );
    const r = await runCli(["check", p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inflates to more than/);
  });

  it("a chunk body that inflates past the length it declares stops there", () => {
    const body = deflateRawSync(new Uint8Array(32 << 20));
    const bad = withFirstEventChunk(eventPayload(0, 512, 4096, body));
    const r = openTrace(bad);
    expect(() => r.readColumns(0)).toThrow(/body inflates to more than the 4096 bytes it declares/);
    expect(r.gaps[0]).toMatchObject({ fromSeq: 0, toSeq: 511 });
  });

  it("a side body that inflates past the length it declares stops there (format 3)", () => {
    const core = deflateRawSync(new Uint8Array(4096));
    const bad = withFirstEventChunk(eventPayload(0, 512, 4096, core, 4096, deflateRawSync(new Uint8Array(32 << 20))));
    const r = openTrace(bad);
    expect(() => r.readColumns(0)).toThrow(/body inflates to more than the 4096 bytes it declares/);
    expect(r.gaps[0]).toMatchObject({ fromSeq: 0, toSeq: 511 });
  });

  it("a chunk claiming 2^53-1 events, or 50 million, or a huge first seq: refused when opening, no hang", async () => {
    for (const [first, n] of [
      [0, 2 ** 53 - 1],
      [0, 50_000_000],
      [2 ** 52, 10],
    ]) {
      const bad = withFirstEventChunk(eventPayload(first!, n!, Math.min(4 * n!, 1 << 20), new Uint8Array(8)));
      const r = openTrace(bad);
      expect(r.eventCount).toBeLessThan(10_000_000);
      expect(r.recovery!.reason).toMatch(/claims|body length/);
      const p = join(dir, `count-${n}.ktrace`);
      writeFileSync(p, bad);
      const s = await runCli(["state", p, "--at", "end"]);
      expect([0, 2]).toContain(s.code);
      expect(s.stderr).not.toMatch(/internal error/);
    }
  });
});

describe("a flipped byte in the middle of a complete trace costs that chunk only", () => {
  const gap = "events 1024..1535 are missing";
  const goodEvents = () => runCli(["events", GOOD]);

  it("check reports the gap, keeps scanning, and exits 2 (nothing found, part unchecked)", async () => {
    const r = await runCli(["check", FLIPPED]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/no invariant violation in the 2488 of 3000 events checked/);
    expect(r.stdout).toContain(
      `not checked: ${gap} (${GAP_REASON}); the states 1024..1534 are unknown (known again at the snapshot of seq 1535)`,
    );
    const j = JSON.parse((await runCli(["check", FLIPPED, "--json"])).stdout);
    expect(j.gaps).toEqual([{ fromSeq: 1024, toSeq: 1535, reason: GAP_REASON }]);
    expect(j.unchecked).toHaveLength(1);
    // The invariants with a history start over after the gap, and check says which.
    const withHistory = BUILT_IN.filter((i) => i.monitor !== undefined && (j.invariants as string[]).includes(i.name));
    expect(withHistory.length).toBeGreaterThan(0);
    expect(j.restarted).toEqual(withHistory.map((i) => i.name));
    expect(r.stdout).toContain(
      `started over: ${withHistory.map((i) => i.name).join(", ")} keep a history of the run and start over after each stretch not checked`,
    );
    const whole = JSON.parse((await runCli(["check", GOOD, "--json"])).stdout);
    expect(whole.restarted).toEqual([]);
  });

  it("events: the same lines as the undamaged trace outside the gap, and one line marking it", async () => {
    const [bad, ok] = await Promise.all([runCli(["events", FLIPPED]), goodEvents()]);
    expect(bad.code).toBe(0);
    const badLines = bad.stdout.trimEnd().split("\n");
    const marker = badLines.filter((l) => l.startsWith("--"));
    expect(marker).toEqual([`-- ${gap}: ${GAP_REASON} --`]);
    const seqOf = (l: string) => Number(l.trim().split(/\s+/)[0]);
    const want = ok.stdout
      .trimEnd()
      .split("\n")
      .filter((l) => seqOf(l) < 1024 || seqOf(l) > 1535);
    expect(badLines.filter((l) => !l.startsWith("--"))).toEqual(want);
    expect(bad.stderr).toContain(gap);
  });

  it("state: known outside the gap (the same as undamaged), refused with the reason inside it", async () => {
    for (const at of ["end", "1600", "1000"]) {
      const [bad, ok] = await Promise.all([
        runCli(["state", FLIPPED, "--at", at, "--json"]),
        runCli(["state", GOOD, "--at", at, "--json"]),
      ]);
      expect(bad.code).toBe(0);
      expect(JSON.parse(bad.stdout)).toEqual(JSON.parse(ok.stdout));
    }
    const inGap = await runCli(["state", FLIPPED, "--at", "1200"]);
    expect(inGap.code).toBe(2);
    expect(inGap.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(inGap.stderr).toContain(`the state at seq 1200 is unknown: ${gap}`);
  });

  it("info says what is damaged; it says nothing is wrong only when nothing is", async () => {
    const bad = await runCli(["info", FLIPPED, "--json"]);
    const j = JSON.parse(bad.stdout);
    expect(j.damaged).toBe(true);
    expect(j.gaps).toHaveLength(1);
    expect(bad.stderr).toContain(gap);
    const ok = JSON.parse((await runCli(["info", GOOD, "--json"])).stdout);
    expect(ok.damaged).toBe(false);
    expect(ok.gaps).toBeUndefined();
  });

  it("export: everything outside the gap, the gap marked", async () => {
    const r = await runCli(["export", FLIPPED, "--format", "chrome"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const marks = doc.traceEvents.filter((e: { cat?: string }) => e.cat === "damage");
    expect(marks).toHaveLength(1);
    expect(marks[0].name).toContain("events 1024..1535 missing");
    const seqs = doc.traceEvents.flatMap((e: { args?: { seq?: number } }) =>
      typeof e.args?.seq === "number" ? [e.args.seq] : [],
    );
    expect(seqs.some((s: number) => s > 1535)).toBe(true);
    expect(seqs.some((s: number) => s >= 1024 && s <= 1534)).toBe(false);
    expect(r.stderr).toContain(gap);
  });

  it("export --format jsonl|msgpack: a record for every event outside the gap, none inside, the gap noted", async () => {
    const r = await runCli(["export", FLIPPED, "--format", "jsonl"]);
    expect(r.code).toBe(0);
    const seqs = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toHaveLength(3000 - 512);
    expect(seqs.filter((q) => q >= 1024 && q <= 1535)).toEqual([]);
    expect(seqs.at(-1)).toBe(2999);
    expect(r.stderr).toContain(gap);
    const m = join(dir, "flipped.msgpack");
    const x = await runCli(["export", FLIPPED, "--format", "msgpack", "-o", m]);
    expect(x.code).toBe(0);
    expect(x.stderr).toContain("2,488 events");
    expect(x.stderr).toContain(gap);
  });

  it("report: written, with the damage noted", async () => {
    const r = await runCli(["report", FLIPPED]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("**Note:** the trace is damaged; these stretches could not be checked:");
    expect(r.stdout).toContain(gap);
  });

  it("replay (TUI): rows in the gap say they are missing, the timeline marks it, stepping into it says why", async () => {
    const { openReplay } = await import("../src/tui/store.ts");
    const { openCursor } = await import("../src/tui/engine.ts");
    const { timelineCells } = await import("../src/tui/timeline.tsx");
    const { cursor, info } = openCursor(FLIPPED);
    const c = openReplay(cursor, info, { at: 1023 });
    const s = c.getState();
    expect(s.seq).toBe(1023);
    expect(s.frame.events.find((e) => e.seq === 1024)).toMatchObject({
      kindName: "missing",
      text: "missing: the trace is damaged here",
    });
    expect(s.overview.marks.gaps).toEqual([{ fromSeq: 1024, toSeq: 1535, reason: GAP_REASON }]);
    const cells = timelineCells({ seq: s.seq, total: info.total, overview: s.overview, width: 30 });
    expect(cells.filter((x) => x.ch === "░").length).toBeGreaterThan(2);
    c.dispatch({ type: "command", command: "step" });
    expect(c.getState().seq).toBe(1023);
    expect(c.getState().status?.text).toContain("events 1024..1535 are missing");
    // The cursor stayed where the view is: stepping back and explaining work from there.
    expect(cursor.seq).toBe(1023);
    c.dispatch({ type: "command", command: "stepBack" });
    expect(c.getState().seq).toBe(1022);
    expect(cursor.seq).toBe(1022);
  });

  it("replay engine: seeks and steps outside the gap give the undamaged states; inside it, StateUnknownError", () => {
    const bad = new Cursor(openSource(FLIPPED));
    const ok = new Cursor(openSource(GOOD));
    for (const at of [0, 1023, 1535, 1536, 2999, 700]) {
      bad.seek(at);
      ok.seek(at);
      expect(bad.state).toEqual(ok.state);
    }
    expect(() => bad.seek(1100)).toThrow(StateUnknownError);
    bad.seek(1023);
    expect(() => bad.step()).toThrow(/events 1024\.\.1535 are missing/);
    expect(bad.seq).toBe(1023);
    // It stays where it was, with the same state as the undamaged trace there.
    ok.seek(1023);
    expect(bad.state).toEqual(ok.state);
    expect(() => bad.seek(1100)).toThrow(StateUnknownError);
    expect(bad.seq).toBe(1023);
    bad.seek(1600);
    expect(bad.stepBack()).toBe(true);
    expect(bad.seq).toBe(1599);
  });
});

describe("strings from a trace are shown escaped in every human-readable output", () => {
  const p = join(dir, "evil.ktrace");
  writeEvilTrace(p);
  const RAW = /\x1b|\x07|\r|\u202e/;
  /** Output less ktrace's own colour sequences (FORCE_COLOR=1). */
  const own = (s: string) => s.replace(/\x1b\[\d+m/g, "");
  /** Markdown outside fenced code blocks and code spans (where HTML is interpreted). */
  const outsideCode = (md: string) =>
    md.replace(/^```[a-z]*\n[\s\S]*?^```$/gm, "").replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, "");

  for (const args of [["info"], ["events"], ["state", "--at", "end"], ["check"], ["report"]]) {
    it(`ktrace ${args[0]}`, async () => {
      const r = await runCli([args[0]!, p, ...args.slice(1)], { env: { FORCE_COLOR: "1", NO_COLOR: "" } });
      expect(own(r.stdout + r.stderr)).not.toMatch(RAW);
      expect(r.stdout).not.toMatch(/^ktrace: forged line/m);
      if (args[0] === "report") {
        expect(r.stdout).toContain("&lt;/details&gt;");
        expect(outsideCode(r.stdout).match(/<\/?details>/g)).toEqual(["<details>", "</details>"]); // the report's own
      } else {
        expect(own(r.stdout)).toContain(EVIL_SHOWN);
      }
    });
  }

  it("--json and export keep the strings exact (JSON escapes them)", async () => {
    const j = JSON.parse((await runCli(["info", p, "--json"])).stdout);
    expect(j.scenario).toBe(`evil${EVIL}`);
    const ev = (await runCli(["events", p, "--json"])).stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(ev[4].s ?? ev[4].args?.label ?? JSON.stringify(ev[4])).toContain(EVIL);
    const x = await runCli(["export", p, "--format", "chrome"]);
    expect(x.stdout).not.toMatch(RAW);
    expect(JSON.parse(x.stdout).traceEvents.some((e: { name: string }) => e.name.includes(`panic${EVIL}`))).toBe(true);
    const l = await runCli(["export", p, "--format", "jsonl"]);
    expect(l.stdout).not.toMatch(RAW);
    expect(
      l.stdout
        .trimEnd()
        .split("\n")
        .map((x) => JSON.parse(x) as { args: Record<string, unknown> })
        .some((e) => Object.values(e.args).includes(`label${EVIL}`)),
    ).toBe(true);
  });

  it("--json stays valid JSON with a DEL or a C1 control in a string (JSON escapes, not the terminal filter's \\x7f)", async () => {
    const q = join(dir, "del.ktrace");
    writeEvilTrace(q, "\x7f\u0085\u2028");
    const j = await runCli(["info", q, "--json"]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout).scenario).toBe("evil\x7f\u0085\u2028");
    expect(j.stdout).not.toMatch(/[\x7f\u0085\u2028]/);
    for (const line of (await runCli(["events", q, "--json"])).stdout.trimEnd().split("\n")) JSON.parse(line);
    JSON.parse((await runCli(["export", q, "--format", "chrome"])).stdout);
  });

  it("a report block's error line on stderr", async () => {
    const rp = join(dir, "evil-block.md");
    writeFileSync(rp, `-----BEGIN KTRACE TRACE-----\nname: x\n\x1b]0;pwned\x1b\\\x1b[2J\n-----END KTRACE TRACE-----\n`);
    const r = await runCli(["info", rp]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(RAW);
    expect(r.stderr).toContain("not base64: '\\x1b]0;pwned\\x1b\\\\x1b[2J");
  });

  it("the TUI's frames", async () => {
    const { render } = await import("ink-testing-library");
    const React = await import("react");
    const { App } = await import("../src/tui/app.tsx");
    const { openReplay } = await import("../src/tui/store.ts");
    const { openCursor } = await import("../src/tui/engine.ts");
    const { cursor, info } = openCursor(p);
    const c = openReplay(cursor, info);
    const r = render(React.createElement(App, { store: c, size: { columns: 200, rows: 40 } }));
    let frame = "";
    for (let i = 0; i < 200 && !frame.includes("pwned"); i++) {
      await new Promise((res) => setTimeout(res, 10));
      frame = r.lastFrame() ?? "";
    }
    r.unmount();
    expect(frame).toContain("\\x1b]0;pwned-title\\x07");
    expect(frame).not.toMatch(/\x1b\]|\x1b\[2J|\x07|\r|\u202e/);
  });
});

describe("write errors say the truth about the partial file", () => {
  // A file-size limit makes writes fail part-way (EFBIG), as a full disk does.
  const run = (args: string[]) => {
    const [cmd, pre] = cliCommand("bun");
    return spawnSync("bash", ["-c", `ulimit -f 64; trap '' XFSZ; exec "$0" "$@"`, cmd, ...pre, ...args], {
      encoding: "utf8",
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    });
  };

  it.runIf(process.platform === "linux")(
    "a write that fails part-way keeps the partial file, says how many events it holds, and info on the missing trace points at it",
    async () => {
      const out = join(dir, "full.ktrace");
      const r = run(["record", "stress", "--max-events", "400000", "-o", out]);
      expect(r.status).toBe(2);
      const m =
        /the complete chunks written so far \((\d+) events\) are kept in (\S+): open it with ktrace info \S+/.exec(
          r.stderr,
        );
      expect(m, r.stderr).not.toBeNull();
      expect(m![2]).toBe(`${out}.partial`);
      expect(existsSync(`${out}.partial`)).toBe(true);
      expect(existsSync(out)).toBe(false);
      const info = await runCli(["info", out]);
      expect(info.code).toBe(2);
      expect(info.stderr).toContain(`no such file, but ${out}.partial exists`);
      const partial = openTrace(`${out}.partial`);
      expect(partial.recovery).not.toBeNull();
      expect(partial.eventCount).toBe(Number(m![1]));
    },
  );
});

describe("a memory source has no gaps", () => {
  it("loadSnapshotFrom gives the first snapshot at or after a seq", () => {
    const src = MemorySource.fromEvents(
      { cpus: 1, tidAfterFork: "inherit", kstackFree: "deferred", stackCheck: "silent", procfsVmar: "check" },
      [],
      { snapshotEvery: 4 },
    );
    expect(src.gaps).toEqual([]);
    expect(src.loadSnapshotFrom(-1)?.seq).toBe(-1);
    expect(src.loadSnapshotFrom(0)).toBeNull();
  });
});
