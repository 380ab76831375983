// ktrace export --format chrome: the output checked against the Trace Event
// Format's rules (JSON Object Format, required fields per phase, microsecond
// timestamps, begin/end matching, slice nesting per track, flow binding,
// names as metadata), for every example trace; and the CLI on Bun and Deno.
// --format msgpack|jsonl: records read back with plain decoders equal
// `ktrace events --json`, and the export streams.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unpackMultiple } from "msgpackr";
import { afterAll, describe, expect, it } from "vitest";
import { CPUS_PID, chromeTraceJson } from "../src/export/chrome.ts";
import { eventRecord, writeRecords } from "../src/export/records.ts";
import { prepare, record } from "../src/record/index.ts";
import { openSource } from "../src/replay/index.ts";
import { cliCommand, REPO_ROOT, runCli } from "./helpers/run-cli.ts";

type Ev = Record<string, unknown> & {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  id?: number | string;
  cat?: string;
  s?: string;
  bp?: string;
  args?: Record<string, unknown>;
};

const PHASES = new Set([
  "B",
  "E",
  "X",
  "i",
  "I",
  "C",
  "b",
  "n",
  "e",
  "s",
  "t",
  "f",
  "M",
  "P",
  "O",
  "N",
  "D",
  "R",
  "(",
  ")",
]);
const META_NAMES = new Set([
  "process_name",
  "process_labels",
  "process_sort_index",
  "thread_name",
  "thread_sort_index",
]);

/**
 * Checks a Chrome trace document against the format's rules. Returns the
 * problems found (empty when valid).
 */
function chromeProblems(doc: unknown): string[] {
  const bad: string[] = [];
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return ["top level is not a JSON object"];
  const d = doc as Record<string, unknown>;
  if (!Array.isArray(d.traceEvents)) return ["no traceEvents array"];
  if (d.displayTimeUnit !== undefined && d.displayTimeUnit !== "ms" && d.displayTimeUnit !== "ns")
    bad.push(`displayTimeUnit ${String(d.displayTimeUnit)}`);
  const evs = d.traceEvents as Ev[];
  const isInt = (x: unknown) => Number.isInteger(x);
  const isTs = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0;
  const named = new Set<string>();
  const namedProcs = new Set<number>();
  const used = new Set<string>();
  const stacksB = new Map<string, Ev[]>();
  const async = new Map<string, number>();
  const flows = new Map<string, { s?: Ev; f?: Ev; t: number }>();
  const slices = new Map<string, { ts: number; end: number; name: string }[]>();
  for (const [i, e] of evs.entries()) {
    const at = `event ${i} (${JSON.stringify(e).slice(0, 80)})`;
    if (typeof e !== "object" || e === null) {
      bad.push(`${at}: not an object`);
      continue;
    }
    if (typeof e.ph !== "string" || !PHASES.has(e.ph)) {
      bad.push(`${at}: bad ph`);
      continue;
    }
    if (typeof e.name !== "string") bad.push(`${at}: name is not a string`);
    if (!isInt(e.pid) || !isInt(e.tid)) bad.push(`${at}: pid/tid not integers`);
    const track = `${e.pid}/${e.tid}`;
    if (e.ph === "M") {
      if (!META_NAMES.has(e.name)) bad.push(`${at}: unknown metadata name`);
      if (e.name.endsWith("_name") && typeof e.args?.name !== "string") bad.push(`${at}: ${e.name} without args.name`);
      if (e.name.endsWith("_sort_index") && !isInt(e.args?.sort_index))
        bad.push(`${at}: ${e.name} without integer args.sort_index`);
      if (e.name === "thread_name") named.add(track);
      if (e.name === "process_name") namedProcs.add(e.pid);
      continue;
    }
    if (!isTs(e.ts)) {
      bad.push(`${at}: ts missing or negative`);
      continue;
    }
    // Microseconds converted from integer ns: at most 3 decimals.
    if (Math.abs(e.ts! * 1000 - Math.round(e.ts! * 1000)) > 1e-6)
      bad.push(`${at}: ts ${e.ts} is not a whole number of ns in µs`);
    used.add(track);
    switch (e.ph) {
      case "X": {
        if (!isTs(e.dur)) bad.push(`${at}: X without a non-negative dur`);
        else {
          if (Math.abs(e.dur! * 1000 - Math.round(e.dur! * 1000)) > 1e-6) bad.push(`${at}: dur not in whole ns`);
          const l = slices.get(track) ?? [];
          l.push({ ts: e.ts!, end: +(e.ts! + e.dur!).toFixed(3), name: e.name });
          slices.set(track, l);
        }
        break;
      }
      case "B":
        stacksB.set(track, [...(stacksB.get(track) ?? []), e]);
        break;
      case "E": {
        const st = stacksB.get(track) ?? [];
        const top = st.pop();
        if (!top) bad.push(`${at}: E without B`);
        else if (e.ts! < top.ts!) bad.push(`${at}: E before its B`);
        break;
      }
      case "b":
      case "e": {
        if (typeof e.cat !== "string" || e.id === undefined) bad.push(`${at}: async event without cat and id`);
        const k = `${e.cat}/${e.id}/${e.name}`;
        async.set(k, (async.get(k) ?? 0) + (e.ph === "b" ? 1 : -1));
        if (async.get(k)! < 0) bad.push(`${at}: async end without begin`);
        break;
      }
      case "i":
      case "I":
        if (e.s !== undefined && !["g", "p", "t"].includes(e.s)) bad.push(`${at}: bad instant scope ${e.s}`);
        break;
      case "s":
      case "t":
      case "f": {
        if (e.id === undefined || typeof e.cat !== "string") bad.push(`${at}: flow event without id and cat`);
        if (e.bp !== undefined && e.bp !== "e") bad.push(`${at}: bad bp`);
        const k = `${e.cat}/${e.id}`;
        const fl = flows.get(k) ?? { t: 0 };
        if (e.ph === "s") {
          if (fl.s) bad.push(`${at}: second flow start for id ${e.id}`);
          fl.s = e;
        } else if (e.ph === "f") {
          if (fl.f) bad.push(`${at}: second flow end for id ${e.id}`);
          fl.f = e;
        } else fl.t++;
        flows.set(k, fl);
        break;
      }
    }
  }
  for (const [track, st] of stacksB) if (st.length) bad.push(`track ${track}: ${st.length} B without E`);
  for (const [k, n] of async) if (n !== 0) bad.push(`async ${k}: ${n} begins without end`);
  // Complete slices on one track nest: none starts inside another and ends after it.
  for (const [track, l] of slices) {
    l.sort((a, b) => a.ts - b.ts || b.end - a.end);
    const stack: { ts: number; end: number; name: string }[] = [];
    for (const s of l) {
      while (stack.length && stack[stack.length - 1]!.end <= s.ts) stack.pop();
      const top = stack[stack.length - 1];
      if (top && s.end > top.end)
        bad.push(
          `track ${track}: slice '${s.name}' [${s.ts}, ${s.end}] overlaps '${top.name}' [${top.ts}, ${top.end}]`,
        );
      stack.push(s);
    }
  }
  // Flows: a start and an end, in time order, each inside a slice of its track.
  const inside = (e: Ev) => (slices.get(`${e.pid}/${e.tid}`) ?? []).some((s) => s.ts <= e.ts! && e.ts! <= s.end);
  for (const [k, f] of flows) {
    if (!f.s || !f.f) bad.push(`flow ${k}: ${f.s ? "no end" : "no start"}`);
    else {
      if (f.f.ts! < f.s.ts!) bad.push(`flow ${k}: ends before it starts`);
      if (!inside(f.s)) bad.push(`flow ${k}: start not inside a slice of its track`);
      if (!inside(f.f)) bad.push(`flow ${k}: end not inside a slice of its track`);
    }
  }
  for (const track of used) if (!named.has(track)) bad.push(`track ${track} has no thread_name`);
  for (const track of used)
    if (!namedProcs.has(Number(track.split("/")[0]))) bad.push(`process of ${track} has no process_name`);
  return bad;
}

const TRACES = join(REPO_ROOT, "traces");
const examples = readdirSync(TRACES)
  .filter((f) => f.endsWith(".ktrace"))
  .sort();

describe("chrome export: the format's rules", () => {
  it("the validator catches what it should", () => {
    const ok = {
      traceEvents: [
        { name: "thread_name", ph: "M", pid: 1, tid: 1, args: { name: "t" } },
        { name: "process_name", ph: "M", pid: 1, tid: 0, args: { name: "p" } },
        { name: "a", ph: "X", ts: 0, dur: 2, pid: 1, tid: 1 },
        { name: "b", ph: "X", ts: 0.5, dur: 1, pid: 1, tid: 1 },
        { name: "c", ph: "B", ts: 3, pid: 1, tid: 1 },
        { name: "c", ph: "E", ts: 4, pid: 1, tid: 1 },
      ],
    };
    expect(chromeProblems(ok)).toEqual([]);
    const broken = structuredClone(ok);
    broken.traceEvents[3]!.dur = 5; // b now ends after a
    broken.traceEvents.pop(); // B without E
    (broken.traceEvents[2] as Record<string, unknown>).ts = 0.0001; // not whole ns
    broken.traceEvents.push({ name: "x", ph: "X", ts: 1, pid: 9, tid: 9 } as never); // no dur, unnamed track
    const problems = chromeProblems(broken).join("\n");
    expect(problems).toMatch(/overlaps/);
    expect(problems).toMatch(/B without E/);
    expect(problems).toMatch(/whole number of ns/);
    expect(problems).toMatch(/X without a non-negative dur/);
    expect(problems).toMatch(/track 9\/9 has no thread_name/);
  });

  it.each(examples)("%s exports to valid Chrome trace JSON", (file) => {
    const r = openSource(join(TRACES, file));
    const text = chromeTraceJson(r);
    const doc = JSON.parse(text);
    expect(chromeProblems(doc)).toEqual([]);
    const evs = doc.traceEvents as Ev[];
    // Timestamps are the events' virtual ns in µs; nothing beyond the end.
    const end = (r.reader.endTime ?? 0) / 1000;
    for (const e of evs) {
      if (e.ph === "M") continue;
      expect(e.ts! + (e.dur ?? 0)).toBeLessThanOrEqual(end + 1e-9);
      const seq = e.args?.seq;
      if (typeof seq === "number") expect(e.ts! * 1000).toBeCloseTo(r.reader.eventAt(seq).time, 6);
    }
    // A track per CPU, each named.
    const cpuNames = evs
      .filter((e) => e.ph === "M" && e.name === "thread_name" && e.pid === CPUS_PID)
      .map((e) => e.args!.name);
    expect(cpuNames).toEqual(Array.from({ length: r.meta.config.cpus }, (_, i) => `CPU ${i}`));
    // Every switch to a thread gives a run slice on its CPU track.
    let switches = 0;
    for (const ev of r.reader.events()) if (ev.kind === 0 && ev.b >= 0) switches++;
    expect(evs.filter((e) => e.ph === "X" && e.cat === "sched").length).toBe(switches);
    // Every simulated process is named.
    const procs = new Set<number>();
    for (const ev of r.reader.events())
      if (ev.kind === 3 || ev.kind === 5 || ev.kind === 6) procs.add(ev.kind === 3 ? ev.a : ev.b);
    const named = new Set(evs.filter((e) => e.name === "process_name").map((e) => e.pid));
    for (const p of procs) expect(named.has(p)).toBe(true);
    expect(doc.otherData.scenario).toBe(r.meta.scenario);
  });

  it("shows what the tcmalloc hang is made of: the copied SlowTLS held by an absent thread, the child spinning, lock flows", () => {
    const doc = JSON.parse(chromeTraceJson(openSource(join(TRACES, "tcmalloc-fork.ktrace"))));
    const evs = doc.traceEvents as Ev[];
    const held = evs.find(
      (e) => e.ph === "X" && e.cat === "lock" && e.args?.lock === "tcmalloc.SlowTLS" && e.args?.copiedAtFork === true,
    );
    expect(held?.name).toBe("held by tid 2 (not in this process)");
    expect(evs.some((e) => e.ph === "X" && e.cat === "wait" && e.name === "spins on tcmalloc.SlowTLS")).toBe(true);
    expect(evs.some((e) => e.ph === "i" && e.name.startsWith("fork"))).toBe(true);
    expect(evs.some((e) => e.ph === "i" && e.s === "g" && e.name.startsWith("hang:"))).toBe(true);
    expect(evs.filter((e) => e.ph === "s").length).toBeGreaterThan(0);
    expect(evs.filter((e) => e.ph === "s").length).toBe(evs.filter((e) => e.ph === "f").length);
  });

  it("shows kernel-stack frees, VMAR clears and panics as instants", () => {
    const kinds = (file: string) =>
      (JSON.parse(chromeTraceJson(openSource(join(TRACES, file)))).traceEvents as Ev[])
        .filter((e) => e.ph === "i")
        .map((e) => e.name);
    expect(kinds("rcore-kstack.ktrace").some((n) => /^kstack \d+ freed$/.test(n))).toBe(true);
    const ast = kinds("asterinas-procfs.ktrace");
    expect(ast.some((n) => /^VMAR of pid \d+ cleared$/.test(n))).toBe(true);
    expect(ast.some((n) => n.startsWith("panic:"))).toBe(true);
  });

  it("is valid for a longer multi-cpu run (stress, 4 cpus)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-export-"));
    const p = await prepare({ target: "stress", maxEvents: 20000, cpus: 4, seed: 3 });
    const path = join(dir, "stress.ktrace");
    record(p, path, 1000);
    const doc = JSON.parse(chromeTraceJson(openSource(path)));
    expect(chromeProblems(doc)).toEqual([]);
    expect((doc.traceEvents as Ev[]).filter((e) => e.ph === "f").length).toBeGreaterThan(10);
  });
});

describe("ktrace export (CLI)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ktrace-export-cli-"));
  it("writes -o FILE on Bun and stdout on Deno, the same bytes", async () => {
    const out = join(dir, "t.json");
    const a = await runCli(["export", "traces/asterinas-procfs.ktrace", "--format", "chrome", "-o", out], {
      runtime: "bun",
    });
    expect(a.code).toBe(0);
    expect(a.stdout).toBe("");
    expect(a.stderr).toContain(out);
    const b = await runCli(["export", "traces/asterinas-procfs.ktrace", "--format", "chrome"], { runtime: "deno" });
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(readFileSync(out, "utf8"));
    expect(chromeProblems(JSON.parse(b.stdout))).toEqual([]);
  });

  it("refuses a missing --format, an unknown format and a bad file with exit 2", async () => {
    expect((await runCli(["export", "traces/asterinas-procfs.ktrace"])).code).toBe(2);
    expect((await runCli(["export", "traces/asterinas-procfs.ktrace", "--format", "perfetto"])).code).toBe(2);
    const r = await runCli(["export", "package.json", "--format", "chrome"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("ktrace export --format msgpack|jsonl: events as plain records", () => {
  const dir = mkdtempSync(join(tmpdir(), "ktrace-export-records-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** `ktrace events --json` without desc: what a record must be. */
  const eventsJson = async (path: string) => {
    const r = await runCli(["events", path, "--json"]);
    expect(r.code).toBe(0);
    return r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => {
        const { desc: _, ...rest } = JSON.parse(l) as Record<string, unknown>;
        return rest;
      });
  };
  /** The CLI's stdout as bytes (runCli decodes it as text). */
  const rawStdout = (runtime: "bun" | "deno", args: string[]) => {
    const [cmd, pre] = cliCommand(runtime);
    const r = spawnSync(cmd, [...pre, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      maxBuffer: 1 << 28,
    });
    expect(r.status, r.stderr.toString()).toBe(0);
    return r.stdout;
  };

  it("round-trip against `ktrace events --json` with a plain msgpack decoder and JSON.parse, on every example trace and a stress trace of many chunks", async () => {
    const stress = join(dir, "stress.ktrace");
    record(await prepare({ target: "stress", maxEvents: 20000, cpus: 4, seed: 5 }), stress, 1000);
    const files = [
      ...readdirSync(TRACES)
        .filter((f) => f.endsWith(".ktrace"))
        .map((f) => join(TRACES, f)),
      stress,
    ];
    for (const path of files) {
      const want = await eventsJson(path);
      const mp = join(dir, "x.msgpack");
      const a = await runCli(["export", path, "--format", "msgpack", "-o", mp]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stderr).toContain(`${want.length.toLocaleString("en-US")} events as msgpack`);
      expect(unpackMultiple(readFileSync(mp)), path).toEqual(want);
      const b = await runCli(["export", path, "--format", "jsonl"], { runtime: "deno" });
      expect(b.code, b.stderr).toBe(0);
      expect(
        b.stdout
          .trimEnd()
          .split("\n")
          .map((l) => JSON.parse(l)),
        path,
      ).toEqual(want);
    }
  });

  it("writes the same bytes to a pipe as to -o FILE, on Bun and on Deno", async () => {
    const file = join(dir, "t.msgpack");
    expect((await runCli(["export", "traces/tcmalloc-fork.ktrace", "--format", "msgpack", "-o", file])).code).toBe(0);
    for (const rt of ["bun", "deno"] as const) {
      expect(
        Buffer.compare(
          rawStdout(rt, ["export", "traces/tcmalloc-fork.ktrace", "--format", "msgpack"]),
          readFileSync(file),
        ),
        rt,
      ).toBe(0);
    }
  });

  it("streams: pieces of 64 to 128 KB, each awaited before the next, the reader's chunk cache bounded", async () => {
    const path = join(dir, "long.ktrace");
    record(await prepare({ target: "stress", maxEvents: 100_000, seed: 2 }), path, 4096);
    const r = openSource(path, { cacheChunks: 3 });
    let inFlight = 0;
    let pieces = 0;
    let bytes = 0;
    const got: unknown[] = [];
    const n = await writeRecords(r, "msgpack", async (piece) => {
      expect(inFlight).toBe(0);
      inFlight++;
      pieces++;
      bytes += piece.length;
      expect(piece.length).toBeLessThan(1 << 17); // 64 KB and at most one batch of 512 records
      if (pieces % 50 === 1) got.push(unpackMultiple(piece)[0]);
      await new Promise((res) => setTimeout(res, 0));
      inFlight--;
    });
    expect(n).toBe(100_000);
    expect(pieces).toBeGreaterThan(50);
    expect(bytes / n).toBeGreaterThan(20);
    expect(r.reader.cachedChunks).toBeLessThanOrEqual(3);
    // The first record of a piece is an event, in order.
    expect(got[0]).toEqual(eventRecord(r.reader.eventAt(0)));
    for (const x of got) expect(x).toEqual(eventRecord(r.reader.eventAt((x as { seq: number }).seq)));
  });
});
