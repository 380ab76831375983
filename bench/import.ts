// Import speed and memory: a large generated ftrace text imported into a .ktrace.
// Usage: npx bun bench/import.ts [--events N] [--gzip] [--stage lines|records|ops|convert|write] [--runs R] [--json]
//
// Generates N events (default 1,000,000) of tracefs text in bench/out/ (kept between
// runs of the same size): 4 CPUs, 400 tasks, the mix of a busy machine (switches,
// waking/wakeup pairs, runtime stats, IRQs and softirqs, fork/exec/exit/free, lock
// contention, lockdep acquire/release), then reads and maps it with importSummary and
// prints lines/s, events/s, MB/s, CPU time (the process's, and its main thread's where
// Linux says: the rest is the JIT compilers and the collector), ops and peak RSS.
// The default stage, write, is the whole import (parse + map + events + encode, with
// snapshots and the index) into bench/out/import-N.ktrace, and adds the trace's bytes
// per event. --stage stops earlier (lines: the line reader alone; records: lines parsed
// into records; ops: parsed and mapped; convert: mapped ops folded into ktrace events
// and the kernel state, not encoded), to see where the time goes; --runs repeats the
// pass in the same process (the first is cold: the JIT compiles while it runs; the
// later ones show the steady state).

import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { createGzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { Converter, importSummary, importTrace, TraceInput } from "../src/import/index.ts";
import { LineReader } from "../src/import/lines.ts";
import { Rng } from "../src/kernel/index.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const N = Number(opt("--events") ?? 1_000_000);
const gzip = argv.includes("--gzip");
const json = argv.includes("--json");
const STAGES = {
  lines: "read lines only", records: "read and parse records", ops: "parse + map", convert: "parse + map + ktrace events (no encoding)",
  write: "the whole import: parse + map + events + encode into a .ktrace",
} as const;
const stage = (opt("--stage") ?? "write") as keyof typeof STAGES;
if (!(stage in STAGES)) throw new Error(`--stage ${stage}: lines, records, ops, convert or write`);
const runs = Math.max(1, Number(opt("--runs") ?? 1));
mkdirSync("bench/out", { recursive: true });
const file = `bench/out/import-${N}.txt${gzip ? ".gz" : ""}`;

/** Lines of a busy 4-cpu machine, deterministic (seeded). */
function* generate(n: number): Generator<string> {
  const rng = new Rng(15);
  const r = (k: number) => rng.u32() % k;
  const CPUS = 4;
  const comm = (t: number) => (t === 0 ? "<idle>" : `worker${t % 97}`);
  const cur = [0, 0, 0, 0];
  let ns = 1_000_000_000n * 5000n;
  let next = 1000;
  const alive: number[] = [];
  for (let t = 0; t < 400; t++) alive.push(next++);
  yield "# tracer: nop\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n#              | |         |   |||||     |         |\n";
  let i = 0;
  const line = (cpu: number, flags: string, ev: string) => {
    const t = cur[cpu]!;
    const s = ns / 1_000_000_000n;
    const us = ((ns % 1_000_000_000n) / 1000n).toString().padStart(6, "0");
    i++;
    return `${`${comm(t)}-${t}`.padStart(16)} [00${cpu}] ${flags} ${s}.${us}: ${ev}\n`;
  };
  while (i < n) {
    ns += BigInt(300 + r(2000));
    const cpu = r(CPUS);
    const t = cur[cpu]!;
    const k = r(100);
    let out = "";
    if (k < 30) {
      const to = r(5) === 0 ? 0 : alive[r(alive.length)]!;
      const st = t === 0 ? "R" : ["S", "D", "R+", "S", "I"][r(5)]!;
      out += line(cpu, "d..2.", `sched_switch: prev_comm=${t === 0 ? `swapper/${cpu}` : comm(t)} prev_pid=${t} prev_prio=120 prev_state=${st} ==> next_comm=${to === 0 ? `swapper/${cpu}` : comm(to)} next_pid=${to} next_prio=120`);
      cur[cpu] = to;
    } else if (k < 55) {
      const w = alive[r(alive.length)]!;
      const tc = String(r(CPUS)).padStart(3, "0");
      out += line(cpu, "d..3.", `sched_waking: comm=${comm(w)} pid=${w} prio=120 target_cpu=${tc}`);
      out += line(cpu, "d..4.", `sched_wakeup: comm=${comm(w)} pid=${w} prio=120 target_cpu=${tc}`);
    } else if (k < 70) {
      out += line(cpu, ".....", `sched_stat_runtime: comm=${comm(t)} pid=${t} runtime=${r(1_000_000)} [ns]`);
    } else if (k < 78) {
      const irq = 16 + r(8);
      out += line(cpu, "d.h1.", `irq_handler_entry: irq=${irq} name=eth${irq}`);
      out += line(cpu, "d.h1.", `irq_handler_exit: irq=${irq} ret=handled`);
      out += line(cpu, "..s1.", `softirq_entry: vec=3 [action=NET_RX]`);
      out += line(cpu, "..s1.", `softirq_exit: vec=3 [action=NET_RX]`);
    } else if (k < 82 && t !== 0) {
      const c = next++;
      out += line(cpu, ".....", `task_newtask: pid=${c} comm=${comm(t)} clone_flags=1200000 oom_score_adj=0`);
      out += line(cpu, ".....", `sched_process_fork: comm=${comm(t)} pid=${t} child_comm=${comm(t)} child_pid=${c}`);
      out += line(cpu, ".....", `sched_process_exec: filename=/usr/bin/true pid=${c} old_pid=${c}`);
      out += line(cpu, ".....", `sched_process_exit: comm=${comm(c)} pid=${c} prio=120 group_dead=true`);
      out += line(cpu, ".....", `sched_process_free: comm=${comm(c)} pid=${c} prio=120`);
    } else if (k < 90 && t !== 0) {
      const a = `0xffff8881${String(r(64)).padStart(8, "0")}`;
      out += line(cpu, "...1.", `contention_begin: ${a} (flags=SPIN)`);
      out += line(cpu, "...1.", `contention_end: ${a} (ret=0)`);
    } else if (t !== 0) {
      const a = `00000000${String(r(16)).padStart(8, "0")}`;
      out += line(cpu, "...1.", `lock_acquire: ${a} &obj->lock`);
      out += line(cpu, "...1.", `lock_release: ${a} &obj->lock`);
    }
    if (out !== "") yield out;
  }
}

async function ensureInput(): Promise<void> {
  if (existsSync(file)) return;
  // Batch lines into 256 KiB strings so writing does not dominate generation.
  async function* chunks() {
    let buf = "";
    for (const s of generate(N)) {
      buf += s;
      if (buf.length > 262144) {
        yield buf;
        buf = "";
      }
    }
    if (buf !== "") yield buf;
  }
  const src = Readable.from(chunks());
  if (gzip) await pipeline(src, createGzip(), createWriteStream(file + ".tmp"));
  else await pipeline(src, createWriteStream(file + ".tmp"));
  const { renameSync } = await import("node:fs");
  renameSync(file + ".tmp", file);
}

await ensureInput();
const bytes = statSync(file).size;
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "node";

/** CPU seconds of the calling (main) thread, where Linux says (/proc); null elsewhere. */
function mainThreadCpu(): number | null {
  try {
    const st = readFileSync("/proc/thread-self/stat", "utf8");
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return null;
  }
}

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

/** One pass over the input, as far as `stage`: the counts it reaches (and for write, the trace's events and bytes). */
async function pass(): Promise<{ lines: number; events: number; ops: number; unparsed: number; written?: { events: number; bytes: number; snapshots: number } }> {
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
    const input = TraceInput.open(file);
    for await (const _batch of input.records()) sample();
    return { lines: input.stats.lines, events: input.stats.records, ops: 0, unparsed: input.stats.unparsed };
  }
  if (stage === "write") {
    const w = await importTrace(file, outFile, { writer: "ktrace bench" });
    return {
      lines: w.read.lines, events: w.read.records, ops: w.ops, unparsed: w.read.unparsed,
      written: { events: w.written.events, bytes: w.written.bytes, snapshots: w.written.snapshots },
    };
  }
  let conv: Converter | undefined;
  let made = 0;
  const s = await importSummary(file, {}, (ops) => {
    sample();
    if (stage !== "convert") return;
    conv ??= new Converter(4, () => void made++);
    for (const o of ops) conv.op(o);
  });
  return { lines: s.read.lines, events: s.read.records, ops: s.ops, unparsed: s.read.unparsed, ...(conv ? { written: { events: made, bytes: 0, snapshots: 0 } } : {}) };
}

const results = [];
for (let run = 0; run < runs; run++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpu();
  const r = await pass();
  const secs = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const m1 = mainThreadCpu();
  const cpuSecs = (cu.user + cu.system) / 1e6;
  const per = r.events > 0 ? r.events : r.lines;
  results.push({
    ...r,
    seconds: Number(secs.toFixed(3)),
    /** CPU time of the process (all its threads: JIT compilers and GC included): less sensitive to a loaded machine than wall time. */
    cpuSeconds: Number(cpuSecs.toFixed(3)),
    /** CPU time of the main thread alone (Linux), the rest being the JIT's and the collector's threads. */
    mainCpuSeconds: m0 === null || m1 === null ? null : Number((m1 - m0).toFixed(2)),
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
  ...(runs > 1 ? { runs: results, bestEventsPerCpuSec: best.eventsPerCpuSec, bestEventsPerSec: best.eventsPerSec } : {}),
};
if (json) console.log(JSON.stringify(result));
else {
  const n = (x: number) => x.toLocaleString("en-US");
  const what = stage === "lines" ? "lines" : "events";
  console.log(`import bench (${runtime}, ${STAGES[stage]}; load ${result.load})`);
  console.log(`  input    ${file}: ${n(bytes)} bytes, ${n(first.lines)} lines, ${n(first.events)} events (${first.unparsed} unparsed)`);
  results.forEach((r, i) => {
    const label = runs > 1 ? `  run ${i + 1}${i === 0 ? " (cold: the JIT compiles as it goes)" : ""}` : "";
    if (label !== "") console.log(label);
    console.log(`  time     ${r.seconds} s: ${n(r.linesPerSec)} lines/s, ${n(r.eventsPerSec)} ${what}/s, ${r.mbPerSec} MB/s`);
    const main = r.mainCpuSeconds === null ? "" : ` (main thread ${r.mainCpuSeconds} s, JIT and GC threads ${(r.cpuSeconds - r.mainCpuSeconds).toFixed(2)} s)`;
    console.log(`  cpu      ${r.cpuSeconds} s${main}: ${n(r.eventsPerCpuSec)} ${what} per CPU second`);
  });
  if (stage !== "lines" && stage !== "records") console.log(`  ops      ${n(first.ops)}`);
  const wr = first.written;
  if (wr && stage === "write") console.log(`  trace    ${outFile}: ${n(wr.events)} ktrace events, ${n(wr.snapshots)} snapshots, ${n(wr.bytes)} bytes (${(wr.bytes / Math.max(1, first.events)).toFixed(2)} bytes per input event, ${(wr.bytes / Math.max(1, wr.events)).toFixed(2)} per ktrace event)`);
  else if (wr) console.log(`  events   ${n(wr.events)} ktrace events`);
  console.log(`  memory   peak RSS ${result.peakRssMB} MB, heap used at end ${result.heapUsedMB} MB`);
}
