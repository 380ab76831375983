// Import speed and memory: a large generated ftrace text imported into a .ktrace.
// Usage: npx bun bench/import.ts [--events N] [--gzip] [--stage lines|records|ops|convert|write]
//        [--thread auto|always|never] [--parse auto|always|never] [--runs R] [--json]
//
// Generates N events (default 1,000,000) of tracefs text in bench/out/ (kept between
// runs of the same size; bench/import-input.ts): 4 CPUs, 400 tasks, the mix of a busy
// machine (switches, waking/wakeup pairs, runtime stats, IRQs and softirqs,
// fork/exec/exit/free, lock contention, lockdep acquire/release), then reads and maps
// it and prints lines/s, events/s, MB/s, CPU time (the process's, and per thread where
// Linux says: the main thread, the trace writer's thread, the parse thread (on Bun,
// which names it; elsewhere it counts as the writer's), and the rest: the JIT
// compilers and the collector), the core-seconds no thread used (cores × wall - CPU:
// the import's idle time, on a quiet machine), the main thread's wait for a core (run-queue wait:
// its other threads', on a quiet machine), ops and peak RSS. The default stage, write, is the
// whole import (parse + map + events + encode, with snapshots and the index, and the
// compression and writing on a second thread from the start for a long input (THREAD_AT_ONCE_BYTES),
// else from THREAD_AFTER_EVENTS events on:
// --thread never keeps them on the main thread, always starts the thread at once;
// --parse is the parse thread, ReadOptions.parseThread: auto as ktrace import decides, by the input's size and the cores)
// into bench/out/import-N.ktrace, and adds the trace's bytes per event. --stage stops earlier (lines: the line reader alone; records: lines parsed
// into records; ops: parsed and mapped; convert: mapped ops folded into ktrace events
// and the kernel state, not encoded), to see where the time goes; --runs repeats the
// pass in the same process (the first is cold: the JIT compiles while it runs; the
// later ones show the steady state).

import { mkdirSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Converter, importSummary, importTrace, TraceInput } from "../src/import/index.ts";
import { LineReader } from "../src/import/lines.ts";
import { PARSE_THREAD_NAME } from "../src/import/parse-thread.ts";
import { writeInput } from "./import-input.ts";
import { ThreadCpu, type ThreadCpuSeconds } from "./thread-cpu.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const N = Number(opt("--events") ?? 1_000_000);
const gzip = argv.includes("--gzip");
const json = argv.includes("--json");
const STAGES = {
  lines: "read lines only",
  records: "read and parse records",
  ops: "parse + map",
  convert: "parse + map + ktrace events (no encoding)",
  write: "the whole import: parse + map + events + encode into a .ktrace",
} as const;
const stage = (opt("--stage") ?? "write") as keyof typeof STAGES;
if (!(stage in STAGES)) throw new Error(`--stage ${stage}: lines, records, ops, convert or write`);
const runs = Math.max(1, Number(opt("--runs") ?? 1));
const threadOpt = opt("--thread") ?? "auto";
if (!["auto", "always", "never"].includes(threadOpt)) throw new Error(`--thread ${threadOpt}: auto, always or never`);
const thread = threadOpt === "always" ? true : threadOpt === "never" ? false : "auto";
const parseOpt = opt("--parse") ?? "auto";
if (!["auto", "always", "never"].includes(parseOpt)) throw new Error(`--parse ${parseOpt}: auto, always or never`);
const parseThread = parseOpt === "always" ? true : parseOpt === "never" ? false : "auto";
mkdirSync("bench/out", { recursive: true });
const file = `bench/out/import-${N}.txt${gzip ? ".gz" : ""}`;

await writeInput(file, N, gzip);
const bytes = statSync(file).size;
const runtime =
  typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
    ? "bun"
    : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
      ? "deno"
      : "node";

/** The process's peak RSS in bytes: the kernel's high-water mark where Linux says, else the largest sample. */
let sampledPeak = 0;
function peakRss(): number {
  sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // not Linux: the samples
  }
  return sampledPeak;
}

const outFile = `bench/out/import-${N}.ktrace`;

/**
 * This thread's run-queue wait so far, in seconds (Linux: /proc/thread-self/schedstat's
 * second field, the time it was runnable but had no core), or NaN elsewhere.
 */
function runqueueWait(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[1]) / 1e9;
  } catch {
    return NaN;
  }
}

/** One pass over the input, as far as `stage`: the counts it reaches (and for write, the trace's events and bytes). */
async function pass(): Promise<{
  lines: number;
  events: number;
  ops: number;
  unparsed: number;
  written?: { events: number; bytes: number; snapshots: number };
}> {
  let batches = 0;
  const sample = () => {
    if ((++batches & 63) === 0) sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
  };
  if (stage === "lines") {
    const reader = new LineReader(file, gzip);
    let lines = 0;
    for await (const b of reader.batches()) {
      lines += b.count;
      sample();
    }
    return { lines, events: 0, ops: 0, unparsed: 0 };
  }
  if (stage === "records") {
    const input = TraceInput.open(file, { parseThread });
    for await (const _batch of input.records()) sample();
    return { lines: input.stats.lines, events: input.stats.records, ops: 0, unparsed: input.stats.unparsed };
  }
  if (stage === "write") {
    const w = await importTrace(file, outFile, { writer: "ktrace bench", thread, parseThread });
    return {
      lines: w.read.lines,
      events: w.read.records,
      ops: w.ops,
      unparsed: w.read.unparsed,
      written: { events: w.written.events, bytes: w.written.bytes, snapshots: w.written.snapshots },
    };
  }
  let conv: Converter | undefined;
  let made = 0;
  const s = await importSummary(file, { parseThread }, (ops) => {
    sample();
    if (stage !== "convert") return;
    conv ??= new Converter(4, () => void made++);
    for (const o of ops) conv.op(o);
  });
  return {
    lines: s.read.lines,
    events: s.read.records,
    ops: s.ops,
    unparsed: s.read.unparsed,
    ...(conv ? { written: { events: made, bytes: 0, snapshots: 0 } } : {}),
  };
}

/** The sampler's figures with the parse thread apart from the other threads. */
function threadSplit(t: ThreadCpuSeconds): { main: number; writer: number; parser: number; other: number } {
  const parser = t.byName?.[PARSE_THREAD_NAME] ?? 0;
  const r = (x: number) => Number(x.toFixed(2));
  return { main: r(t.main), writer: r(t.writer), parser: r(parser), other: r(t.other - parser) };
}

const results = [];
for (let run = 0; run < runs; run++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const w0 = runqueueWait();
  const sampler = await ThreadCpu.start();
  const r = await pass();
  const secs = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const waited = runqueueWait() - w0;
  const threads: ThreadCpuSeconds | null = sampler === null ? null : await sampler.stop();
  const cpuSecs = (cu.user + cu.system) / 1e6;
  const per = r.events > 0 ? r.events : r.lines;
  results.push({
    ...r,
    seconds: Number(secs.toFixed(3)),
    /** CPU time of the process (all its threads: JIT compilers and GC included): less sensitive to a loaded machine than wall time. */
    cpuSeconds: Number(cpuSecs.toFixed(3)),
    /**
     * CPU seconds per thread (Linux): the main thread, the trace writer's, the parse thread's (Bun names it
     * PARSE_THREAD_NAME; where a runtime does not, it is counted with the writer's), and the others (the JIT's
     * and the collector's).
     */
    threadCpuSeconds: threads === null ? null : threadSplit(threads),
    /**
     * Core-seconds the machine offered during the pass that no thread of this process used: cores × wall - CPU.
     * On a quiet machine, the time the import left a core idle (its threads waiting on each other, its start
     * and end); on a loaded one, other processes' share (then meaningless).
     */
    /**
     * Seconds the main thread was runnable and had no core (Linux; null elsewhere). On a quiet
     * machine, the time the import's own other threads (the compilers', the writer's) took its
     * core: its critical path's share of the wall time that its CPU time does not show.
     */
    mainWaitSeconds: Number.isNaN(waited) ? null : Number(waited.toFixed(2)),
    idleCoreSeconds: Number(Math.max(0, cpus().length * secs - cpuSecs).toFixed(2)),
    eventsPerCpuSec: Math.round(per / cpuSecs),
    linesPerSec: Math.round(r.lines / secs),
    eventsPerSec: Math.round(per / secs),
    mbPerSec: Number((bytes / 1e6 / secs).toFixed(1)),
  });
}
const first = results[0]!;
const best = results.reduce((a, b) => (b.cpuSeconds < a.cpuSeconds ? b : a));
const result = {
  runtime,
  stage,
  file,
  bytes,
  ...first,
  peakRssMB: Number((peakRss() / 1e6).toFixed(1)),
  heapUsedMB: Number((process.memoryUsage().heapUsed / 1e6).toFixed(1)),
  load: loadavg()[0]!.toFixed(2) + ` on ${cpus().length} cores`,
  ...(runs > 1
    ? { runs: results, bestEventsPerCpuSec: best.eventsPerCpuSec, bestEventsPerSec: best.eventsPerSec }
    : {}),
};
if (json) console.log(JSON.stringify(result));
else {
  const n = (x: number) => x.toLocaleString("en-US");
  const what = stage === "lines" ? "lines" : "events";
  console.log(`import bench (${runtime}, ${STAGES[stage]}; load ${result.load})`);
  console.log(
    `  input    ${file}: ${n(bytes)} bytes, ${n(first.lines)} lines, ${n(first.events)} events (${first.unparsed} unparsed)`,
  );
  results.forEach((r, i) => {
    const label = runs > 1 ? `  run ${i + 1}${i === 0 ? " (cold: the JIT compiles as it goes)" : ""}` : "";
    if (label !== "") console.log(label);
    console.log(
      `  time     ${r.seconds} s: ${n(r.linesPerSec)} lines/s, ${n(r.eventsPerSec)} ${what}/s, ${r.mbPerSec} MB/s`,
    );
    const t = r.threadCpuSeconds;
    const main =
      t === null
        ? ""
        : ` (main thread ${t.main} s, writer thread ${t.writer} s, parse thread ${t.parser} s, JIT and GC threads ${t.other} s)`;
    console.log(`  cpu      ${r.cpuSeconds} s${main}: ${n(r.eventsPerCpuSec)} ${what} per CPU second`);
    if (r.mainWaitSeconds !== null)
      console.log(
        `  waited   ${r.mainWaitSeconds} s: the main thread runnable without a core (the import's other threads', or others' on a loaded machine)`,
      );
    console.log(
      `  idle     ${r.idleCoreSeconds} core-seconds offered and not used (${cpus().length} cores × wall - CPU: the import's idle time on a quiet machine, others' share on a loaded one)`,
    );
  });
  if (stage !== "lines" && stage !== "records") console.log(`  ops      ${n(first.ops)}`);
  const wr = first.written;
  if (wr && stage === "write")
    console.log(
      `  trace    ${outFile}: ${n(wr.events)} ktrace events, ${n(wr.snapshots)} snapshots, ${n(wr.bytes)} bytes (${(wr.bytes / Math.max(1, first.events)).toFixed(2)} bytes per input event, ${(wr.bytes / Math.max(1, wr.events)).toFixed(2)} per ktrace event)`,
    );
  else if (wr) console.log(`  events   ${n(wr.events)} ktrace events`);
  console.log(`  memory   peak RSS ${result.peakRssMB} MB, heap used at end ${result.heapUsedMB} MB`);
}
