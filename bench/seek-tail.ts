// What the random seek's slowest 1% is made of: bench/seek.ts's random seeks
// (the same trace, seed, warm-up and rounds), each one timed and, around it,
// this thread's CPU time and run-queue wait (/proc/thread-self/schedstat), its
// page faults (/proc/thread-self/stat), whether the JS heap shrank across it (a
// collection ran in it), and the CPU the process's other threads (JIT
// compilers, the collector's helpers) used meanwhile. A seek's wall time is its
// CPU time + its wait for a core + the time it was blocked (a major fault, a
// read that missed the page cache): the tail is ours when its CPU time or its
// blocked time is high, the machine's when its wait is.
// Usage: npx bun bench/seek-tail.ts [TRACE] [--seeks N] [--warmup N] [--each] [--json] (--each: every tail seek's parts)
// (default TRACE: bench/out/stress-100000000.ktrace, which bench/seek.ts records).
// Bun on Linux only (/proc; bun:ffi for the thread's exact CPU time). Other
// threads' CPU is from their schedstat, exact for a thread not running when read. docs/BENCHMARKS.md ("Phase 6") keeps the figures.

import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { loadavg } from "node:os";
import { Rng } from "../src/kernel/prng.ts";
import { Cursor } from "../src/replay/cursor.ts";
import { openSource } from "../src/replay/source.ts";
import { benchArgs, readThrough, threadCpuClock, WARMUP_SEEKS } from "./seek-cost.ts";

const { argv, opt, path } = benchArgs();
const json = argv.includes("--json");
const SEEKS = Number(opt("--seeks") ?? 2000);
const ROUNDS = 5;
const WARMUP = Number(opt("--warmup") ?? WARMUP_SEEKS);
/** --trace: a line on stderr per timed seek (its CPU), to read beside BUN_JSC_reportCompileTimes=1's lines. */
const trace = argv.includes("--trace");

/** This thread's CPU time in ns, exact (seek-cost.ts). */
const threadCpuNs = await threadCpuClock();

// The probes read /proc through descriptors opened once, into one buffer, and parse the bytes: no
// strings or objects per seek, so that the harness does not make the collections more frequent (they
// are what the tail is made of: docs/BENCHMARKS.md, "Phase 10").
const procBuf = new Uint8Array(512);

/** The k-th (0-based) space-separated unsigned integer in the file at fd, from byte `from` ("from: ')'" skips to after the last ')'). */
function field(fd: number, k: number, from: number | ")" = 0): number {
  const n = readSync(fd, procBuf, 0, procBuf.length, 0);
  let i = 0;
  if (from === ")") {
    i = n - 1;
    while (i > 0 && procBuf[i] !== 41) i--;
    i += 2;
  } else i = from;
  for (let f = 0; f < k && i < n; i++) if (procBuf[i] === 32) f++;
  let v = 0;
  for (; i < n && procBuf[i]! >= 48 && procBuf[i]! <= 57; i++) v = v * 10 + procBuf[i]! - 48;
  return v;
}

const selfSched = openSync("/proc/thread-self/schedstat", "r");
const selfStat = openSync("/proc/thread-self/stat", "r");
/** This thread's run-queue wait so far (ns; schedstat, counted when it gets a core back) and its minor and major faults, into out. */
function self(out: Float64Array): void {
  out[0] = field(selfSched, 1);
  // Fields after the command's closing parenthesis: state is field 3, minflt 10, majflt 12.
  out[1] = field(selfStat, 7, ")");
  out[2] = field(selfStat, 9, ")");
}

const myTid = (() => {
  const st = readFileSync("/proc/thread-self/stat", "utf8");
  return st.slice(0, st.indexOf(" "));
})();

/** The other threads' schedstat descriptors (listed again before each round: the JIT starts threads as it needs them). */
let otherFds: number[] = [];
function listOthers(): void {
  for (const fd of otherFds) closeSync(fd);
  otherFds = [];
  for (const tid of readdirSync("/proc/self/task")) {
    if (tid === myTid) continue;
    try {
      otherFds.push(openSync(`/proc/self/task/${tid}/schedstat`, "r"));
    } catch {
      // The thread ended.
    }
  }
}

/** CPU ns of the process's other threads, all together. */
function others(): number {
  let sum = 0;
  for (let i = 0; i < otherFds.length; i++) {
    try {
      sum += field(otherFds[i]!, 0);
    } catch {
      // The thread ended.
    }
  }
  return sum;
}

let heapSize: () => number = () => process.memoryUsage().heapUsed;
try {
  const name = "bun:jsc"; // (not a module tsc knows)
  heapSize = ((await import(name)) as { heapSize(): number }).heapSize;
} catch {
  // Not Bun: heapUsed.
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface Seek {
  round: number;
  wall: number;
  cpu: number;
  wait: number;
  blocked: number;
  minflt: number;
  majflt: number;
  gc: boolean;
  others: number;
}

const warmS = readThrough(path);
const src = openSource(path);
const total = src.eventCount;
const rng = new Rng(total); // bench/seek.ts's seed for this trace
const rnd = () => rng.u32() / 4294967296;
const c = new Cursor(src);
for (let i = 0; i < WARMUP; i++) c.seek(Math.floor(rnd() * total));
const load0 = loadavg()[0]!;
if (argv.includes("--mark")) console.error("=== timed seeks begin");
const seeks: Seek[] = [];
const s0 = new Float64Array(3);
const s1 = new Float64Array(3);
for (let r = 0; r < ROUNDS; r++) {
  listOthers();
  for (let i = 0; i < SEEKS / ROUNDS; i++) {
    const to = Math.floor(rnd() * total);
    const o0 = others();
    const h0 = heapSize();
    self(s0);
    const c0 = threadCpuNs();
    const t = performance.now();
    c.seek(to);
    const wall = (performance.now() - t) * 1e6;
    const cpu = threadCpuNs() - c0;
    self(s1);
    const h1 = heapSize();
    const o1 = others();
    const wait = s1[0]! - s0[0]!;
    if (trace)
      console.error(
        `seek ${seeks.length} to ${to} cpu ${(cpu / 1e6).toFixed(3)} others ${((o1 - o0) / 1e6).toFixed(3)}`,
      );
    seeks.push({
      round: r,
      wall,
      cpu,
      wait,
      blocked: Math.max(0, wall - cpu - wait),
      minflt: s1[1]! - s0[1]!,
      majflt: s1[2]! - s0[2]!,
      gc: h1 < h0,
      others: o1 - o0,
    });
  }
}
if (argv.includes("--mark")) console.error("=== timed seeks end");
src.close();

const ms = (ns: number) => +(ns / 1e6).toFixed(3);
const roundP99 = (f: (s: Seek) => number) =>
  ms(
    pct(
      Array.from({ length: ROUNDS }, (_, r) => pct(seeks.filter((s) => s.round === r).map(f), 99)),
      50,
    ),
  );
// The tail: each round's seeks at or above its p99 (as bench/seek.ts reads the p99: its 4th-slowest of 400).
const tail = seeks.filter(
  (s) =>
    s.wall >=
    pct(
      seeks.filter((x) => x.round === s.round).map((x) => x.wall),
      99,
    ),
);
const mean = (xs: Seek[], f: (s: Seek) => number) => (xs.length ? xs.reduce((a, s) => a + f(s), 0) / xs.length : 0);
const describe = (xs: Seek[]) => ({
  seeks: xs.length,
  wallMs: ms(mean(xs, (s) => s.wall)),
  cpuMs: ms(mean(xs, (s) => s.cpu)),
  waitMs: ms(mean(xs, (s) => s.wait)),
  blockedMs: ms(mean(xs, (s) => s.blocked)),
  othersCpuMs: ms(mean(xs, (s) => s.others)),
  withGc: xs.filter((s) => s.gc).length,
  minorFaults: +mean(xs, (s) => s.minflt).toFixed(1),
  withMajorFault: xs.filter((s) => s.majflt > 0).length,
});
// What decides each tail seek: the largest of its parts above the median seek's.
const med = {
  cpu: pct(
    seeks.map((s) => s.cpu),
    50,
  ),
  wait: pct(
    seeks.map((s) => s.wait),
    50,
  ),
};
const why = { wait: 0, cpu: 0, cpuWithGc: 0, blocked: 0 };
for (const s of tail) {
  const extra = { wait: s.wait - med.wait, cpu: s.cpu - med.cpu, blocked: s.blocked };
  if (extra.wait >= extra.cpu && extra.wait >= extra.blocked) why.wait++;
  else if (extra.blocked >= extra.cpu) why.blocked++;
  else if (s.gc) why.cpuWithGc++;
  else why.cpu++;
}
const out = {
  path,
  events: total,
  seeks: seeks.length,
  readThroughS: warmS,
  load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)],
  p50: ms(
    pct(
      seeks.map((s) => s.wall),
      50,
    ),
  ),
  p99: roundP99((s) => s.wall),
  max: ms(Math.max(...seeks.map((s) => s.wall))),
  // The p99 if the seek never waited for a core: its CPU and blocked time only.
  p99WithoutWait: roundP99((s) => s.wall - s.wait),
  // The p99 of the seek's own CPU time (its work, collections in it included).
  p99Cpu: roundP99((s) => s.cpu),
  all: describe(seeks),
  tail: describe(tail),
  tailDecidedBy: why,
};
if (json) console.log(JSON.stringify(out, null, 2));
else {
  console.log(
    `${path}: ${seeks.length} random seeks after ${WARMUP} (read through in ${warmS} s), load ${out.load.join(" -> ")}`,
  );
  console.log(
    `wall p50 ${out.p50} ms, p99 ${out.p99} ms (median of ${ROUNDS} rounds' p99), max ${out.max}; p99 without the run-queue wait ${out.p99WithoutWait} ms; p99 of the seek's CPU time ${out.p99Cpu} ms`,
  );
  console.log("              seeks  wall    cpu     wait    blocked others' cpu  with a GC  minor faults  major");
  for (const [name, d] of [
    ["all", out.all],
    ["slowest 1%", out.tail],
  ] as const)
    console.log(
      `${name.padEnd(12)} ${String(d.seeks).padStart(6)}  ${d.wallMs.toFixed(3)}  ${d.cpuMs.toFixed(3)}  ${d.waitMs.toFixed(3)}  ${d.blockedMs.toFixed(3)}   ${d.othersCpuMs.toFixed(3)}       ${String(d.withGc).padStart(4)}       ${String(d.minorFaults).padStart(6)}     ${d.withMajorFault}`,
    );
  if (argv.includes("--each"))
    for (const s of tail)
      console.log(
        `  round ${s.round}: wall ${ms(s.wall)} cpu ${ms(s.cpu)} wait ${ms(s.wait)} blocked ${ms(s.blocked)} others ${ms(s.others)}${s.gc ? " GC" : ""} minflt ${s.minflt}`,
      );
  console.log(
    `the slowest 1%, by what took longest beyond the median seek: waiting for a core ${why.wait}, CPU with a collection ${why.cpuWithGc}, CPU without ${why.cpu}, blocked ${why.blocked}`,
  );
}
