// ktrace import, phase 1: readers, detection, refusals, gzip, reordering, clocks.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { textFixtures } from "../scripts/make-import-fixtures.ts";
import { parseBabeltraceLine } from "../src/import/babeltrace.ts";
import { Clock } from "../src/import/clock.ts";
import { parseKeyValues, parsePayload } from "../src/import/fields.ts";
import { parseFtraceLine, parseFtraceLineRe } from "../src/import/ftrace.ts";
import {
  ImportError,
  type ImportFormat,
  MAX_LINE_CHARS,
  type ReadOptions,
  TraceInput,
  type TraceRecord,
} from "../src/import/index.ts";
import { parsePerfLine } from "../src/import/perf.ts";

const FIX = path.resolve(__dirname, "../fixtures/import");
const tmp = mkdtempSync(path.join(tmpdir(), "ktrace-import-"));

async function readAll(file: string, opts: ReadOptions = {}): Promise<{ recs: TraceRecord[]; input: TraceInput }> {
  const input = TraceInput.open(file, opts);
  const recs: TraceRecord[] = [];
  for await (const b of input.records()) recs.push(...b);
  return { recs, input };
}

function tmpFile(name: string, content: string | Uint8Array): string {
  const p = path.join(tmp, name);
  writeFileSync(p, content);
  return p;
}

async function importError(file: string, opts: ReadOptions = {}): Promise<ImportError> {
  try {
    await readAll(file, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ImportError);
    return e as ImportError;
  }
  throw new Error(`${file} was accepted`);
}

const SCENARIO_FILES: [string, ImportFormat][] = [
  ["ftrace/tracefs.txt", "ftrace"],
  ["ftrace/tracefs-tgid.txt", "ftrace"],
  ["ftrace/trace-cmd-report.txt", "ftrace"],
  ["perf/perf-script.txt", "perf"],
  ["perf/perf-script-pid.txt", "perf"],
];

describe("fixtures", () => {
  it("the hand-made fixtures are what scripts/make-import-fixtures.ts writes", () => {
    for (const [rel, text] of textFixtures()) {
      expect(readFileSync(path.join(FIX, rel), "utf8"), rel).toBe(text);
    }
  });
});

describe("readers on the scenario fixtures", () => {
  it.each(SCENARIO_FILES)("%s is detected as %s and every line parses", async (rel, format) => {
    const { recs, input } = await readAll(path.join(FIX, rel));
    const s = input.stats;
    expect(s.format).toBe(format);
    expect(s.detected).toBe(true);
    expect(s.unparsed).toBe(0);
    expect(s.records).toBe(29);
    expect(recs.map((r) => r.name)).toEqual(
      textFixtures()
        .get("ftrace/tracefs.txt")!
        .split("\n")
        .filter((l) => !l.startsWith("#") && l !== "")
        .map((l) => /: (\w+): /.exec(l)![1]),
    );
    // one record checked field by field in every format
    const sw = recs.find((r) => r.name === "sched_switch" && r.fields["prev_pid"] === 100)!;
    expect(sw).toMatchObject({ ts: 26_000, cpu: 0, tid: 100, comm: "bash" });
    expect(sw.fields).toMatchObject({
      prev_comm: "bash",
      prev_pid: 100,
      prev_prio: 120,
      prev_state: "S",
      next_comm: "swapper/0",
      next_pid: 0,
    });
    expect(s.clock).toEqual({
      kind: "seconds",
      unit: "ns",
      origin: "1234",
      precision: rel.includes("trace-cmd") ? 9 : 6,
    });
  });

  it("tracefs with irq-info keeps the flags; the tgid column and perf pid/tid give the process", async () => {
    const irq = (await readAll(path.join(FIX, "ftrace/tracefs.txt"))).recs;
    expect(irq.find((r) => r.name === "irq_handler_entry")).toMatchObject({ flags: "d.h1.", comm: "<idle>", tid: 0 });
    const tg = (await readAll(path.join(FIX, "ftrace/tracefs-tgid.txt"))).recs;
    expect(tg[0]).toMatchObject({ tid: 100, pid: 100 });
    expect(tg.find((r) => r.tid === 0)!.pid).toBeUndefined(); // (-------)
    const perf = (await readAll(path.join(FIX, "perf/perf-script-pid.txt"))).recs;
    expect(perf[0]).toMatchObject({ tid: 100, pid: 100, system: "task", name: "task_newtask", cpu: 0 });
  });

  it.each([
    ["babeltrace2-context.txt", "time-of-day", "16:25:45"],
    ["babeltrace2-plain.txt", "time-of-day", "16:25:45"],
    ["babeltrace2-seconds-nodelta.txt", "seconds", "1714580745"],
    ["babeltrace2-date-names.txt", "date", "2024-05-01 16:25:45"],
    ["babeltrace2-cycles.txt", "counter", "00000012345000001000"],
  ])("babeltrace2 %s: every line parses, clock %s from %s", async (file, kind, origin) => {
    const { recs, input } = await readAll(path.join(FIX, "babeltrace2", file));
    expect(input.stats.format).toBe("babeltrace2");
    expect(input.stats.unparsed).toBe(0);
    expect(recs).toHaveLength(28);
    expect(input.stats.clock).toMatchObject({ kind, origin });
    const sw = recs.find((r) => r.name === "sched_switch" && r.fields["prev_tid"] === 100)!;
    // the origin is the whole second of the first event (1 µs after it); a counter's is its first value
    expect(sw.ts).toBe(file.includes("cycles") ? 25_000 : 26_000);
    expect(sw.cpu).toBe(0);
    expect(sw.fields).toMatchObject({
      prev_comm: "bash",
      prev_state: 1,
      "prev_state.label": "TASK_INTERRUPTIBLE",
      next_tid: 0,
    });
    if (file.includes("plain") || file.includes("cycles")) expect(sw).toMatchObject({ tid: -1, comm: "" });
    else expect(sw).toMatchObject({ tid: 100, pid: 100, comm: "bash" });
    expect(recs.filter((r) => r.name === "softirq_entry")).toHaveLength(1); // irq_softirq_entry normalized
  });

  it("real captures of this machine parse completely", async () => {
    const real: [string, ImportFormat][] = [
      ["tracefs-irqinfo.txt", "ftrace"],
      ["tracefs-tgid-noirq.txt", "ftrace"],
      ["trace-cmd-report.txt", "ftrace"],
      ["trace-cmd-report-noplugin.txt", "ftrace"],
      ["trace-cmd-report-latency.txt", "ftrace"],
      ["perf-script.txt", "perf"],
      ["perf-script-pid.txt", "perf"],
    ];
    for (const [file, format] of real) {
      const { recs, input } = await readAll(path.join(FIX, "real", file));
      expect(input.stats.format, file).toBe(format);
      expect(input.stats.unparsed, file).toBe(0);
      expect(recs.length, file).toBeGreaterThan(50);
      for (const r of recs) expect(Number.isInteger(r.ts) && r.ts >= 0, `${file}:${r.line}`).toBe(true);
      const sw = recs.filter((r) => r.name === "sched_switch");
      expect(sw.length, file).toBeGreaterThan(5);
      for (const r of sw) expect(typeof r.fields["next_pid"], `${file}:${r.line}`).toBe("number");
    }
  });
});

describe("line grammar", () => {
  const clock = () => new Clock();
  it("ftrace: comms with dashes, colons and spaces; latency format; counter clock", () => {
    const a = parseFtraceLine(
      "  memfd:sealed-91-7779    [001] d.h3.   385.213362: sched_waking: comm=x pid=1 prio=120 target_cpu=001",
      1,
      clock(),
    );
    expect(a).toMatchObject({ comm: "memfd:sealed-91", tid: 7779, cpu: 1, flags: "d.h3." });
    const b = parseFtraceLine(
      "JITWorke-15139   0d..2.   357.463575: sched_switch:         JITWorker:15139 [120] R ==> JITWorker:15144 [120]",
      1,
      clock(),
    );
    expect(b).toMatchObject({ comm: "JITWorke", tid: 15139, cpu: 0, flags: "d..2." });
    expect((b as TraceRecord).fields).toEqual({
      prev_comm: "JITWorker",
      prev_pid: 15139,
      prev_prio: 120,
      prev_state: "R",
      next_comm: "JITWorker",
      next_pid: 15144,
      next_prio: 120,
    });
    const c = clock();
    expect(
      parseFtraceLine("  bash-1 [000] .... 123456789012: sched_process_wait: comm=bash pid=0 prio=120", 1, c),
    ).toMatchObject({ ts: 0 });
    expect(
      parseFtraceLine("  bash-1 [000] .... 123456789112: sched_process_wait: comm=bash pid=0 prio=120", 2, c),
    ).toMatchObject({ ts: 100 });
    expect(c.info()).toMatchObject({ kind: "counter", unit: "count" });
    expect(parseFtraceLine("# tracer: nop", 1, clock())).toBe("skip");
    expect(parseFtraceLine("cpus=4", 1, clock())).toBe("skip");
    expect(parseFtraceLine("CPU:3 [LOST 812 EVENTS]", 9, clock())).toMatchObject({
      name: "lost_events",
      cpu: 3,
      fields: { cpu: 3, count: 812 },
    });
    expect(parseFtraceLine("hello world", 1, clock())).toBeNull();
  });

  it("ftrace: the hand-written scanner reads every fixture line as the regex does", () => {
    const files = [
      "ftrace/tracefs.txt",
      "ftrace/tracefs-tgid.txt",
      "ftrace/trace-cmd-report.txt",
      "ftrace/old-kernel.txt",
      "ftrace/lockdep-abba.txt",
      "real/tracefs-irqinfo.txt",
      "real/tracefs-tgid-noirq.txt",
      "real/trace-cmd-report.txt",
      "real/trace-cmd-report-noplugin.txt",
      "real/trace-cmd-report-latency.txt",
    ];
    let n = 0;
    for (const f of files) {
      const [a, b] = [new Clock(), new Clock()];
      readFileSync(path.join(FIX, f), "utf8")
        .split("\n")
        .forEach((l, i) => {
          expect(parseFtraceLine(l, i + 1, a), `${f}:${i + 1}`).toEqual(parseFtraceLineRe(l, i + 1, b));
          n++;
        });
    }
    expect(n).toBeGreaterThan(600);
    for (const l of [
      "  a b-1 (  7) [002] d..2. 1.000001: x: y=1",
      " c-d-2 [1] 2.5: sys:ev: ",
      "x-1 [000] 1.0: : bad",
      "x-1 [000] 1.: ev: a",
      "-1 [000] 1.5: ev: a",
    ]) {
      expect(parseFtraceLine(l, 1, new Clock()), l).toEqual(parseFtraceLineRe(l, 1, new Clock()));
    }
  });

  it("perf: with and without cpu and comm, sample periods, call chains", () => {
    expect(
      parsePerfLine(
        "  perf 13143 [000]   338.710768: sched:sched_stat_runtime: comm=perf pid=13143 runtime=117393 [ns]",
        1,
        clock(),
      ),
    ).toMatchObject({
      comm: "perf",
      tid: 13143,
      cpu: 0,
      system: "sched",
      name: "sched_stat_runtime",
      fields: { runtime: "117393 [ns]" },
    });
    expect(
      parsePerfLine(
        " kworker/0:0H-kb    10 [000]   338.712177: sched:sched_switch: prev_comm=a prev_pid=1 prev_prio=1 prev_state=R+ ==> next_comm=b next_pid=2 next_prio=1",
        1,
        clock(),
      ),
    ).toMatchObject({ comm: "kworker/0:0H-kb", tid: 10, fields: { prev_state: "R+" } });
    expect(
      parsePerfLine("  ls  200/201   1.000001: sched:sched_process_exit: comm=ls pid=201 prio=120", 1, clock()),
    ).toMatchObject({ pid: 200, tid: 201, cpu: -1 });
    expect(
      parsePerfLine("201 [001] 1.000001: sched:sched_process_exit: comm=ls pid=201 prio=120", 1, clock()),
    ).toMatchObject({ comm: "", tid: 201, cpu: 1 });
    expect(
      parsePerfLine(
        "  ls 201 [001] 1.000001:     250000 cycles:  ffffffff81000000 do_syscall_64+0x1 ([kernel.kallsyms])",
        1,
        clock(),
      ),
    ).toMatchObject({ name: "cycles" });
    expect(parsePerfLine("\t    ffffffff81000000 do_syscall_64+0x1 ([kernel.kallsyms])", 2, clock())).toBe("skip");
    expect(parsePerfLine("", 3, clock())).toBe("skip");
  });

  it("payload forms across tools and kernel versions", () => {
    expect(parsePayload("sched_wakeup", "bash:15161 [120] success=1 CPU:001")).toEqual({
      comm: "bash",
      pid: 15161,
      prio: 120,
      success: 1,
      target_cpu: "001",
    });
    expect(parsePayload("sched_wakeup", "comm=Web Content pid=3 prio=120 target_cpu=002")).toEqual({
      comm: "Web Content",
      pid: 3,
      prio: 120,
      target_cpu: "002",
    });
    expect(parsePayload("contention_begin", "0xffff888100a8c0e0 (flags=SPIN|READ)")).toEqual({
      addr: "0xffff888100a8c0e0",
      flags: "SPIN|READ",
    });
    expect(parsePayload("contention_end", "0xffff888100a8c0e0 (ret=-4)")).toEqual({
      addr: "0xffff888100a8c0e0",
      ret: -4,
    });
    expect(parsePayload("lock_acquire", "0000000012345678 try read &mm->mmap_lock")).toEqual({
      addr: "0000000012345678",
      name: "&mm->mmap_lock",
      try: 1,
      read: 1,
    });
    expect(parsePayload("lock_acquire", "&(&pool->lock)->rlock")).toEqual({ name: "&(&pool->lock)->rlock" });
    expect(parsePayload("lock_release", "0xffffffff82a0c1d8 rcu_read_lock")).toEqual({
      addr: "0xffffffff82a0c1d8",
      name: "rcu_read_lock",
    });
    expect(parsePayload("softirq_entry", "vec=9 [action=RCU]")).toEqual({ vec: 9, action: "RCU" });
    expect(parsePayload("tracing_mark_write", "hello: world")).toEqual({ text: "hello: world" });
    expect(parseKeyValues("no pairs")).toBeNull();
    // the fast forms of frequent events give what the general key=value scan gives
    for (const [name, p] of [
      [
        "sched_switch",
        "prev_comm=a b prev_pid=1 prev_prio=120 prev_state=R+ ==> next_comm=swapper/1 next_pid=0 next_prio=-1",
      ],
      ["sched_waking", "comm=x y pid=5 prio=120 target_cpu=003"],
      ["sched_stat_runtime", "comm=perf pid=13143 runtime=117393 [ns]"],
      ["irq_handler_entry", "irq=19 name=eth0 rx"],
      ["irq_handler_exit", "irq=19 ret=unhandled"],
      ["softirq_exit", "vec=9 [action=RCU]"],
    ] as const)
      expect(parsePayload(name, p), name).toEqual(parseKeyValues(p));
    // hex-looking and zero-padded values stay text
    expect(parsePayload("x", "a=0000000012345678 b=000 c=-12 d=1200000")).toEqual({
      a: "0000000012345678",
      b: "000",
      c: -12,
      d: 1200000,
    });
  });

  it("babeltrace2: enums with several labels, arrays, nested structs, escapes", () => {
    const r = parseBabeltraceLine(
      '[10:00:00.000000001] (+?.?????????) h ev: { cpu_id = 3 }, { vtid = 9, procname = "a\\"b" }, { st = ( { "A", "B" } : container = 3 ), arr = [ [0] = 1, [1] = 2 ], s = { x = 1, y = "z" }, f = 1.5, u = ( <unknown> : container = 7 ) }',
      1,
      clock(),
    );
    expect(r).toMatchObject({ cpu: 3, tid: 9, comm: 'a"b', name: "ev" });
    expect((r as TraceRecord).fields).toEqual({
      st: 3,
      "st.label": "A|B",
      arr: "[ [0] = 1, [1] = 2 ]",
      "s.x": 1,
      "s.y": "z",
      f: "1.5",
      u: 7,
      "u.label": "<unknown>",
    });
    expect(
      parseBabeltraceLine(
        '[10:00:00.000000001] (+?.?????????) h ev: { cpu_id = 3 }, { a = "unterminated }',
        1,
        clock(),
      ),
    ).toBeNull();
  });
});

describe("clock", () => {
  it("keeps nanoseconds exact at large uptimes (ts is relative to the first whole second)", () => {
    const c = new Clock();
    expect(c.seconds("9876543210", "123456789")).toBe(123_456_789);
    expect(c.seconds("9876543211", "000000001")).toBe(1_000_000_001);
    expect(c.info()).toEqual({ kind: "seconds", unit: "ns", origin: "9876543210", precision: 9 });
  });

  it("time of day crosses midnight forwards, not backwards", () => {
    const c = new Clock();
    expect(c.timeOfDay(23, 59, 59, "900000000")).toBe(900_000_000);
    expect(c.timeOfDay(0, 0, 0, "100000000")).toBe(1_100_000_000);
    expect(c.timeOfDay(23, 59, 59, "950000000")).toBe(950_000_000); // slightly out of order: same day
  });

  it("one input has one kind of time", () => {
    const c = new Clock();
    c.seconds("1", "0");
    expect(c.timeOfDay(1, 2, 3, "0")).toBeNaN();
  });
});

describe("bad input", () => {
  it("a trace.dat says to run trace-cmd report", async () => {
    const e = await importError(path.join(FIX, "real/trace-dat-head.bin"));
    expect(e.message).toMatch(/trace-cmd binary file/);
    expect(e.hint).toMatch(/trace-cmd report -i/);
    expect(e.exitCode).toBe(2);
  });

  it("a CTF directory, CTF metadata and a perf.data say what to run", async () => {
    const dir = path.join(tmp, "lttng-session");
    mkdirSync(path.join(dir, "kernel"), { recursive: true });
    writeFileSync(path.join(dir, "kernel", "metadata"), "/* CTF 1.8 */\n");
    expect((await importError(dir)).hint).toMatch(/babeltrace2/);
    expect((await importError(path.join(dir, "kernel", "metadata"))).message).toMatch(/CTF metadata/);
    const stream = new Uint8Array([0xc1, 0x1f, 0xfc, 0xc1, 0, 0, 0, 0]);
    expect((await importError(tmpFile("channel0_0", stream))).message).toMatch(/CTF stream/);
    expect((await importError(tmpFile("perf.data", "PERFILE2\0\0\0\0"))).hint).toMatch(/perf script -i/);
    expect((await importError(mkdtempSync(path.join(tmp, "empty-")))).message).toMatch(/is a directory/);
    expect((await importError(path.join(tmp, "nope.txt"))).message).toMatch(/no such file/);
  });

  it("binary and unknown text are refused, naming the first line with control characters escaped", async () => {
    expect((await importError(tmpFile("bin", new Uint8Array([1, 2, 0, 4, 5])))).message).toMatch(/binary file/);
    const e = await importError(tmpFile("text.txt", "hello \x1b[31mworld\nsecond line\n"));
    expect(e.message).toMatch(/not in a format ktrace import reads/);
    expect(e.message).toContain("hello \\x1b[31mworld");
    expect(e.message).not.toContain("\x1b");
    expect((await importError(tmpFile("empty.txt", ""))).message).toMatch(/no event lines/);
  });

  it("a last line cut short is counted, the rest read", async () => {
    const full = readFileSync(path.join(FIX, "ftrace/tracefs.txt"), "utf8");
    const last = full.slice(0, -1).lastIndexOf("\n") + 1;
    const cut = full.slice(0, last + 26); // "        <idle>-0 [001] d.."
    const { recs, input } = await readAll(tmpFile("cut.txt", cut));
    expect(recs).toHaveLength(28);
    expect(input.stats).toMatchObject({ noFinalNewline: true, lastLineParsed: false, unparsed: 1 });
    expect(input.stats.unparsedLines).toEqual([input.stats.lines]);
  });

  it("unparseable lines are counted with their numbers; an overlong line is not kept", async () => {
    const full = readFileSync(path.join(FIX, "ftrace/tracefs.txt"), "utf8").split("\n");
    full.splice(20, 0, "garbage here", "x".repeat(MAX_LINE_CHARS + 10));
    const { recs, input } = await readAll(tmpFile("noisy.txt", full.join("\n")));
    expect(recs).toHaveLength(29);
    expect(input.stats.unparsed).toBe(2);
    expect(input.stats.unparsedLines).toEqual([21, 22]);
    expect(input.stats.overlong).toEqual([22]);
    expect(input.stats.overlongCount).toBe(1);
    // a line longer than a read chunk, and a last line without newline that is too long
    full.splice(30, 0, "y".repeat(600_000));
    const two = await readAll(tmpFile("noisy2.txt", full.join("\n") + "\n" + "z".repeat(MAX_LINE_CHARS + 1)));
    expect(two.recs).toHaveLength(29);
    expect(two.input.stats.overlong).toEqual([22, 31, two.input.stats.lines]);
    expect(two.input.stats).toMatchObject({
      overlongCount: 3,
      unparsed: 4,
      noFinalNewline: true,
      lastLineParsed: false,
    });
  });

  it("gzip input reads the same; a gzip cut short reads what it holds and says so", async () => {
    const text = readFileSync(path.join(FIX, "real/perf-script.txt"));
    const plain = (await readAll(path.join(FIX, "real/perf-script.txt"))).recs;
    const gz = gzipSync(text);
    const { recs, input } = await readAll(tmpFile("p.txt.gz", gz));
    expect(input.stats.gzip).toBe(true);
    expect(recs).toEqual(plain);
    const cut = await readAll(tmpFile("cut.txt.gz", gz.subarray(0, gz.length >> 1)));
    expect(cut.input.stats.gzipError).toBeDefined();
    expect(cut.recs.length).toBeGreaterThan(10);
    expect(cut.recs.length).toBeLessThan(plain.length);
    expect(cut.recs).toEqual(plain.slice(0, cut.recs.length));
  });

  it("records out of order within the window are sorted; beyond it the import is refused with the line", async () => {
    const { recs, input } = await readAll(path.join(FIX, "ftrace/out-of-order.txt"));
    expect(recs.map((r) => r.ts)).toEqual([10_000, 20_000, 30_000, 40_000]);
    expect(input.stats.reordered).toBe(2);
    const e = await importError(path.join(FIX, "ftrace/out-of-order.txt"), { window: 0 });
    expect(e.message).toMatch(/^line 14 is out of time order: it is earlier than line 13/);
  });

  it("a given --format reads lines of another format as unparsed, without detection", async () => {
    const { recs, input } = await readAll(path.join(FIX, "perf/perf-script.txt"), { format: "ftrace" });
    expect(recs).toHaveLength(0);
    expect(input.stats).toMatchObject({ detected: false, unparsed: 29 });
    expect(input.stats.unparsedLines).toHaveLength(10);
  });
});
