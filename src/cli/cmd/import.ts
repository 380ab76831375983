// ktrace import <file> [--format F] [-o OUT] [--snapshot-every K] [--dry-run] [--json]:
// read a real kernel trace, map its events to the kernel model and write them as a
// .ktrace (src/import/write.ts), or with --dry-run only report what it holds and how
// it maps. The report is the same either way: what was read, what each event became,
// what was lost or assumed.

import { resolve } from "node:path";
import {
  type ClockInfo,
  clockText,
  defaultOutput,
  type ImportResult,
  type ImportSummary,
  importSummary,
  importTrace,
  MAPPED_EVENTS,
  PRELUDE_OPS,
} from "../../import/index.ts";
import { WRITER } from "../../record/index.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, printJson, println } from "../io.ts";

const n = (x: number) => x.toLocaleString("en-US");
const plural = (x: number, what: string) => `${n(x)} ${what}${x === 1 ? "" : "s"}`;
const FORMAT_NAMES = { ftrace: "ftrace text", perf: "perf script", babeltrace2: "babeltrace2 text" } as const;

export async function run(args: ParsedArgs<"import">): Promise<number> {
  const file = args.positionals[0]!;
  // A long input is read and parsed on another thread (same records); KTRACE_PARSE_THREAD=always|never overrides (tests).
  const pknob = process.env.KTRACE_PARSE_THREAD;
  const parseThread = pknob === "always" ? true : pknob === "never" ? false : ("auto" as const);
  const opts = {
    ...(args.flags.format === undefined ? {} : { format: args.flags.format }),
    parseThread,
    note: args.verbose ? eprintln : undefined,
  };
  if (args.flags["dry-run"]) {
    if (args.flags.output !== undefined)
      throw new UsageError("--dry-run writes nothing: drop -o", "import without --dry-run to write the trace");
    const s = await importSummary(file, opts);
    if (args.flags.json) printJson(toJson(s, null));
    else printReport(s, null);
    return 0;
  }
  const out = args.flags.output ?? defaultOutput(file);
  if (resolve(out) === resolve(file))
    throw new UsageError(`the output ${safeText(out)} is the input`, "give another name with -o");
  const every = args.flags["snapshot-every"];
  if (every !== undefined && every < 1) throw new UsageError("--snapshot-every must be at least 1");
  // A long import compresses and writes on a second thread (same bytes); KTRACE_WRITER_THREAD=always|never overrides (tests).
  const knob = process.env.KTRACE_WRITER_THREAD;
  const thread = knob === "always" ? true : knob === "never" ? false : "auto";
  const r = await importTrace(file, out, {
    ...opts,
    writer: WRITER,
    thread,
    ...(every !== undefined ? { snapshotEvery: every } : {}),
  });
  const s: ImportSummary = {
    read: r.read,
    map: r.map,
    ops: r.ops,
    firstTs: r.firstTs,
    lastTs: r.lastTs,
    cpus: cpuList(r),
  };
  if (args.flags.json) printJson(toJson(s, r));
  else printReport(s, r);
  return 0;
}

/** The CPUs of a written import (0..cpus-1). */
function cpuList(r: ImportResult): number[] {
  return Array.from({ length: r.cpus }, (_, i) => i);
}

/** Time in the clock's unit as text: seconds for ns clocks. */
function timeText(ts: number, clock: ClockInfo | null): string {
  if (clock === null) return String(ts);
  if (clock.unit === "count") return `${n(ts)} counts`;
  const digits = Math.max(clock.precision, 6);
  const neg = ts < 0;
  const a = Math.abs(ts);
  const sec = Math.floor(a / 1e9);
  const frac = String(a % 1e9)
    .padStart(9, "0")
    .slice(0, digits);
  return `${neg ? "-" : "+"}${sec}.${frac} s`;
}

function warnings(s: ImportSummary, written?: ImportResult | null): string[] {
  const r = s.read;
  const w: string[] = [];
  if (r.unparsed > 0) {
    w.push(
      `${plural(r.unparsed, "line")} did not parse as ${FORMAT_NAMES[r.format]} (line${r.unparsedLines.length === 1 ? "" : "s"} ${r.unparsedLines.join(", ")}${r.unparsed > r.unparsedLines.length ? ", ..." : ""})`,
    );
  }
  if (r.overlongCount > 0)
    w.push(
      `${plural(r.overlongCount, "line")} longer than 64 Ki characters skipped (line ${r.overlong.join(", ")}${r.overlongCount > r.overlong.length ? ", ..." : ""})`,
    );
  if (r.noFinalNewline) {
    w.push(
      r.lastLineParsed
        ? `the last line (${r.lines}) has no newline: it may have been cut short, although it parsed`
        : `the last line (${r.lines}) is cut short: it has no newline and does not parse`,
    );
  }
  if (r.gzipError !== undefined) w.push(`the gzip stream ends early (${safeText(r.gzipError)}): read what it holds`);
  if (r.lostEvents > 0 || r.lostMarkers > 0)
    w.push(
      `the tracer lost ${n(r.lostEvents)} events (${plural(r.lostMarkers, "marker")}): state after them may be wrong`,
    );
  if (r.reordered > 0) w.push(`${plural(r.reordered, "event")} came out of time order and were sorted into place`);
  for (const [name, m] of Object.entries(s.map.malformed)) {
    w.push(
      `${plural(m.count, `${safeText(name)} event`)} lacked the fields to map them (first at line ${m.firstLine}): kept as generic events`,
    );
  }
  const { assumed, tgid } = s.map.pidSources;
  if (assumed > 0) {
    // Lines that carry their task's process (a tgid column, perf's pid/tid): the rest were only named by others'.
    const how =
      tgid > 0
        ? `${assumed === 1 ? "it appears" : "they appear"} only in other tasks' events (a switch or a wakeup names a task by its tid alone); kernel threads are their own processes`
        : `to record it: ${
            r.format === "ftrace"
              ? "echo 1 > /sys/kernel/tracing/options/record-tgid, or trace-cmd record"
              : r.format === "perf"
                ? "perf script -F +pid"
                : "lttng add-context -k -t pid"
          }`;
    w.push(
      `the process of ${plural(assumed, "task")} is not in the input: ${assumed === 1 ? "it was" : "each was"} taken as its own process${s.map.joins > 0 ? ` (${n(s.map.joins)} more ${s.map.joins === 1 ? "was" : "were"}, until a later line named theirs)` : ""}; ${how}`,
    );
  }
  for (const [why, k] of Object.entries(written?.convert.kept ?? {})) {
    w.push(
      `${plural(k.count, "event")} did not fit the state and were kept as generic events: ${why} (first at line ${k.firstLine})`,
    );
  }
  if (written && written.passes > 1)
    w.push(
      `the input was read twice: a cpu that the first ${n(PRELUDE_OPS)} events did not name showed up later (the trace has ${written.cpus} cpus)`,
    );
  return w;
}

function printReport(s: ImportSummary, written: ImportResult | null): void {
  const r = s.read;
  const m = s.map;
  println(
    `${color.bold("ktrace import")} ${safeText(r.path)} ${written ? `→ ${safeText(written.written.path)}` : color.dim("(dry run: nothing written)")}`,
  );
  println(`  format   ${FORMAT_NAMES[r.format]}${r.detected ? " (detected)" : " (--format)"}${r.gzip ? ", gzip" : ""}`);
  println(
    `  read     ${plural(r.lines, "line")}, ${n(r.bytes)} bytes: ${plural(r.records, "event")}, ${n(r.skipped)} header/blank, ${n(r.unparsed)} unparsed`,
  );
  if (r.clock) println(`  clock    ${safeText(clockText(r.clock))}`);
  if (r.records > 0) {
    const cpus =
      s.cpus.length === 0
        ? "not given"
        : s.cpus.length > 8
          ? `${s.cpus.length} (${s.cpus[0]}..${s.cpus[s.cpus.length - 1]})`
          : s.cpus.join(", ");
    println(
      `  time     ${timeText(s.firstTs, r.clock)} .. ${timeText(s.lastTs, r.clock)} from the origin; cpus ${cpus}`,
    );
  }
  const src = Object.entries(m.pidSources)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => `${k} ${n(c)}`)
    .join(", ");
  println(`  tasks    ${n(m.tasks)}${src ? ` (process from: ${src})` : ""}`);
  println(
    `  ops      ${n(s.ops)}: ${Object.entries(m.ops)
      .map(([k, c]) => `${k} ${n(c)}`)
      .join(", ")}`,
  );
  if (written) {
    const wr = written.written;
    println(
      `  wrote    ${plural(wr.events, "event")} on ${plural(written.cpus, "cpu")}, ${plural(wr.snapshots, "snapshot")}, ${n(wr.bytes)} bytes (${(wr.bytes / Math.max(1, wr.events)).toFixed(2)} bytes/event)`,
    );
    println(
      `  kinds    ${Object.entries(written.convert.kinds)
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
        .map(([k, c]) => `${k} ${n(c)}`)
        .join(", ")}`,
    );
  }
  println("");
  const rows = Object.entries(m.records).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  const width = Math.min(32, Math.max(5, ...rows.map(([k]) => k.length)));
  println(`  ${"event".padEnd(width)} ${"count".padStart(9)}  becomes`);
  for (const [name, count] of rows) {
    const mapped = m.mapped[name] ?? 0;
    const parts: string[] = [];
    if (mapped > 0) parts.push(MAPPED_EVENTS[name] ?? "mapped");
    if (m.merged[name]) parts.push(`${n(m.merged[name]!)} merged into another event's op`);
    if (m.generic[name]) parts.push("generic event (name and fields kept)");
    if (m.malformed[name]) parts.push(`${n(m.malformed[name]!.count)} malformed, kept as generic`);
    const shown = safeText(name.length > width ? name.slice(0, width - 1) + "…" : name);
    println(`  ${shown.padEnd(width)} ${n(count).padStart(9)}  ${parts.join("; ")}`);
  }
  const w = warnings(s, written);
  if (w.length > 0) {
    println("");
    for (const line of w) println(`  ${color.yellow("warning")} ${line}`);
  }
  println("");
  if (written) {
    const out = safeText(written.written.path);
    println(color.dim(`Next: ktrace info ${out}; ktrace check ${out}; ktrace replay ${out}`));
  } else {
    println(color.dim(`Not written (--dry-run): without it, import writes ${safeText(defaultOutput(r.path))}.`));
  }
}

function toJson(s: ImportSummary, written: ImportResult | null) {
  const r = s.read;
  return {
    file: r.path,
    format: r.format,
    detected: r.detected,
    gzip: r.gzip,
    bytes: r.bytes,
    lines: r.lines,
    records: r.records,
    skipped: r.skipped,
    unparsed: { count: r.unparsed, lines: r.unparsedLines, overlong: { count: r.overlongCount, lines: r.overlong } },
    lastLine: { newline: !r.noFinalNewline, parsed: r.lastLineParsed },
    gzipError: r.gzipError ?? null,
    lost: { events: r.lostEvents, markers: r.lostMarkers },
    reordered: r.reordered,
    clock: r.clock,
    firstTs: s.firstTs,
    lastTs: s.lastTs,
    cpus: s.cpus,
    tasks: s.map.tasks,
    pidSources: s.map.pidSources,
    joins: s.map.joins,
    events: Object.fromEntries(
      Object.entries(s.map.records).map(([name, count]) => [
        name,
        {
          count,
          mapped: s.map.mapped[name] ?? 0,
          generic: s.map.generic[name] ?? 0,
          merged: s.map.merged[name] ?? 0,
          malformed: s.map.malformed[name]?.count ?? 0,
          becomes:
            (s.map.mapped[name] ?? 0) > 0 ? (MAPPED_EVENTS[name] ?? null) : s.map.generic[name] ? "generic" : null,
        },
      ]),
    ),
    ops: s.map.ops,
    warnings: warnings(s, written),
    written:
      written === null
        ? null
        : {
            path: written.written.path,
            events: written.written.events,
            bytes: written.written.bytes,
            snapshots: written.written.snapshots,
            cpus: written.cpus,
            passes: written.passes,
            kinds: written.convert.kinds,
            locks: written.convert.locks,
            kept: written.convert.kept,
          },
  };
}
