// Mutation fuzzing of the trace reader through the CLI's own commands
// (info, check, state --at end, events; text and --json), with a time and
// memory bound per input. Issue 13; the figures are in docs/BENCHMARKS.md.
//
//   npx bun bench/fuzz.ts [--count N] [--seed S] [--jobs J] [--runtime bun|deno]
//                         [--timeout-ms T] [--mem-mb M] [--only I] [--save DIR] [--json]
//
// Inputs are numbered; input I of seed S is always the same bytes (fuzz-lib.ts:
// a base trace and one mutation), so `--only I` rebuilds and reruns one.
// Workers (fuzz-worker.ts, under the runtime asked for) take inputs one at a
// time. Each input ends in one class:
//   ok          every command exited 0 or 1
//   refused     some command refused it cleanly: exit 2 with one line
//   exit3       some command exited 3 (a ktrace bug), or the worker died
//   hang        no answer within --timeout-ms (default 10 s): the worker is killed
//   overmem     peak memory over --mem-mb (default 256): the worker's VmHWM for
//               the input (the runtime and the harness included) over the bound
//               and grown, during the input, by more than the bound leaves a
//               fresh CLI process (the bound less the CLI's own floor, measured
//               at the start: a worker whose resident floor is near the bound, as
//               Deno's ~210 MB, would otherwise make every input a candidate);
//               confirmed by running each command alone in a fresh CLI process
//               (the five highest inputs are always measured that way too); or
//               the worker killed at twice the bound
//   wrong       a silent wrong answer: an event, state, violation or summary the
//               base trace contradicts, outside what the mutation made
//               untrustworthy (fuzz-lib.ts, judge)
//   multiline   exit 2 with more than one error line
// It exits 0 when there is no exit3, hang, overmem, wrong or multiline.

import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const g = globalThis as { Bun?: unknown; Deno?: unknown };
const COUNT = Number(opt("--count") ?? 1000);
const SEED = Number(opt("--seed") ?? 1);
const JOBS = Math.max(1, Number(opt("--jobs") ?? Math.min(2, cpus().length)));
const RUNTIME = opt("--runtime") ?? (g.Deno ? "deno" : "bun");
const TIMEOUT = Number(opt("--timeout-ms") ?? 10_000);
const MEM_KB = Number(opt("--mem-mb") ?? 256) * 1024;
const ONLY = opt("--only");
const SAVE = opt("--save");
const JSON_OUT = argv.includes("--json");
const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const BIN = join(ROOT, "node_modules", ".bin");
// Every temporary file of the run (the workers' inputs and bases, the standalone
// measurements) goes under one directory, removed when the harness exits: workers
// are killed with SIGKILL and cannot clean up after themselves.
const RUN_TMP = mkdtempSync(join(tmpdir(), "ktrace-fuzz-run-"));
process.env.TMPDIR = RUN_TMP;
process.on("exit", () => rmSync(RUN_TMP, { recursive: true, force: true }));

type Class = "ok" | "refused" | "exit3" | "hang" | "overmem" | "wrong" | "multiline";
const BAD: Class[] = ["exit3", "hang", "overmem", "wrong", "multiline"];

interface Result {
  i: number;
  base: string;
  kind: string;
  what: string;
  bytes: number;
  codes: number[];
  wrong: string[];
  internal: string[];
  multiLine: string[];
  /** Commands whose fold met a TypeError/RangeError in applyEvent (reported as damage, exit 2). */
  foldErrors: string[];
  ms: number;
  hwmKB: number;
  /** The worker's resident size when the input began (its peak was reset to it). */
  fromKB: number;
}

interface Done {
  i: number;
  cls: Class;
  r: Result | null;
  note: string;
}

function classify(r: Result): Class {
  if (r.internal.length || r.codes.includes(3)) return "exit3";
  if (r.hwmKB > MEM_KB && r.hwmKB - r.fromKB > MEM_KB - cliFloorKB) return "overmem";
  if (r.wrong.length) return "wrong";
  if (r.multiLine.length) return "multiline";
  return r.codes.includes(2) ? "refused" : "ok";
}

function workerCommand(): [string, string[]] {
  const script = join(ROOT, "bench", "fuzz-worker.ts");
  if (RUNTIME === "deno")
    return [
      join(BIN, "deno"),
      [
        "run",
        "--quiet",
        "--allow-all",
        "--v8-flags=--expose-gc",
        `--config=${join(ROOT, "deno.json")}`,
        script,
        "--seed",
        String(SEED),
      ],
    ];
  return [join(BIN, "bun"), [script, "--seed", String(SEED)]];
}

function rssKB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

class Worker {
  proc!: ChildProcessWithoutNullStreams;
  current: number | null = null;
  sentAt = 0;
  ready = false;
  private buf = "";
  private dead = false;
  constructor(
    private readonly onDone: (d: Done) => void,
    private readonly next: () => number | null,
  ) {
    this.start();
  }
  start(): void {
    const [cmd, args] = workerCommand();
    this.dead = false;
    this.ready = false;
    this.buf = "";
    this.proc = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stdout.setEncoding("utf8");
    this.proc.stderr.on("data", () => {});
    this.proc.stdout.on("data", (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const m = JSON.parse(line) as Result & { ready?: boolean };
        if (m.ready) {
          this.ready = true;
          this.feed();
          continue;
        }
        const r = m as Result;
        this.current = null;
        this.onDone({ i: r.i, cls: classify(r), r, note: "" });
        this.feed();
      }
    });
    this.proc.on("exit", (code, signal) => {
      if (this.dead) return;
      this.dead = true;
      if (this.current !== null) {
        const i = this.current;
        this.current = null;
        this.onDone({ i, cls: "exit3", r: null, note: `worker died (code ${code}, signal ${signal})` });
        this.start();
      }
    });
  }
  feed(): void {
    if (!this.ready || this.current !== null) return;
    const i = this.next();
    if (i === null) {
      this.proc.stdin.write("q\n");
      return;
    }
    this.current = i;
    this.sentAt = performance.now();
    this.proc.stdin.write(`${i}\n`);
  }
  /** Kills the worker for the input it is on (hang or memory), and starts a fresh one. */
  kill(cls: Class, note: string): void {
    const i = this.current;
    this.dead = true;
    this.current = null;
    this.proc.kill("SIGKILL");
    if (i !== null) this.onDone({ i, cls, r: null, note });
    this.start();
  }
}

async function runAll(indices: number[]): Promise<Done[]> {
  const done: Done[] = [];
  let at = 0;
  return new Promise((resolve) => {
    const workers: Worker[] = [];
    const finish = () => {
      if (done.length < indices.length) return;
      clearInterval(timer);
      for (const w of workers) w.proc.kill("SIGKILL");
      resolve(done.sort((a, b) => a.i - b.i));
    };
    const onDone = (d: Done) => {
      done.push(d);
      if (!JSON_OUT && process.stderr.isTTY) process.stderr.write(`\r${done.length}/${indices.length}`);
      finish();
    };
    const next = () => (at < indices.length ? indices[at++]! : null);
    for (let j = 0; j < Math.min(JOBS, indices.length); j++) workers.push(new Worker(onDone, next));
    const timer = setInterval(() => {
      const now = performance.now();
      for (const w of workers) {
        if (w.current === null) continue;
        if (now - w.sentAt > TIMEOUT) w.kill("hang", `no answer in ${TIMEOUT} ms`);
        else if (rssKB(w.proc.pid!) > 2 * MEM_KB) w.kill("overmem", `worker above ${(2 * MEM_KB) >> 10} MB`);
      }
    }, 50);
  });
}

/**
 * Peak memory of the CLI itself on one input: each command run alone in a
 * fresh process (`/usr/bin/time -f %M`), the largest. A worker's peak is an
 * upper bound (it includes the harness and what earlier inputs left for the
 * garbage collector); the inputs it ranks highest are measured again this way.
 * NaN when /usr/bin/time is missing.
 */
async function standalonePeakKB(i: number): Promise<number> {
  if (!existsSync("/usr/bin/time")) return NaN;
  const { loadBases, inputOf, COMMANDS } = await import("./fuzz-lib.ts");
  bases ??= await loadBases(ROOT);
  const dir = mkdtempSync(join(tmpdir(), "ktrace-fuzz-peak-"));
  const file = join(dir, "input.ktrace");
  writeFileSync(file, inputOf(bases, SEED, i).bytes);
  const main = join(ROOT, "src", "cli", "main.ts");
  const cmd =
    RUNTIME === "deno"
      ? [join(BIN, "deno"), "run", "--quiet", "--allow-all", `--config=${join(ROOT, "deno.json")}`, main]
      : [join(BIN, "bun"), main];
  let peak = 0;
  try {
    for (const c of COMMANDS) {
      const r = spawnSync("/usr/bin/time", ["-f", "%M", ...cmd, ...c.argv(file)], {
        encoding: "utf8",
        maxBuffer: 1 << 28,
      });
      peak = Math.max(peak, Number(r.stderr.trimEnd().split("\n").pop()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return peak;
}
let bases: Awaited<ReturnType<typeof import("./fuzz-lib.ts").loadBases>> | undefined;

/**
 * Peak memory of a fresh CLI process reading a small valid trace (`info`): what
 * any command costs before the input's own allocations. 0 when /usr/bin/time is
 * missing (every input over the bound is then a candidate).
 */
function measureCliFloorKB(): number {
  if (!existsSync("/usr/bin/time")) return 0;
  const main = join(ROOT, "src", "cli", "main.ts");
  const cmd =
    RUNTIME === "deno"
      ? [join(BIN, "deno"), "run", "--quiet", "--allow-all", `--config=${join(ROOT, "deno.json")}`, main]
      : [join(BIN, "bun"), main];
  const r = spawnSync("/usr/bin/time", ["-f", "%M", ...cmd, "info", join(ROOT, "traces", "tcmalloc-fork.ktrace")], {
    encoding: "utf8",
  });
  const kb = Number(r.stderr.trimEnd().split("\n").pop());
  return Number.isFinite(kb) ? kb : 0;
}
const cliFloorKB = measureCliFloorKB();

const indices = ONLY !== undefined ? [Number(ONLY)] : Array.from({ length: COUNT }, (_, k) => k);
const t0 = performance.now();
const results = await runAll(indices);
const secs = (performance.now() - t0) / 1000;
// The inputs that grew the worker most, and every input over the bound, measured again alone.
function grownKB(d: Done): number {
  return d.r ? d.r.hwmKB - d.r.fromKB : Infinity;
}
const confirm = results
  .filter((d) => d.cls === "overmem" || d.r)
  .sort((a, b) => grownKB(b) - grownKB(a))
  .slice(0, 5);
for (const d of results) if (d.cls === "overmem" && !confirm.includes(d)) confirm.push(d);
const standalone: { i: number; workerMB: number; cliMB: number; what: string }[] = [];
for (const d of confirm) {
  const kb = await standalonePeakKB(d.i);
  standalone.push({
    i: d.i,
    workerMB: Math.round((d.r?.hwmKB ?? NaN) / 102.4) / 10,
    cliMB: Math.round(kb / 102.4) / 10,
    what: d.r ? `${d.r.base}: ${d.r.what}` : d.note,
  });
  if (d.cls === "overmem" && kb <= MEM_KB) {
    d.note = `worker peak over the bound, the CLI alone ${Math.round(kb / 1024)} MB`;
    d.cls = d.r ? (d.r.codes.includes(2) ? "refused" : "ok") : "ok";
  }
}
if (!JSON_OUT && process.stderr.isTTY) process.stderr.write("\r");

const byClass: Record<Class, number> = { ok: 0, refused: 0, exit3: 0, hang: 0, overmem: 0, wrong: 0, multiline: 0 };
const byKind: Record<string, Record<string, number>> = {};
let peak = { kb: 0, i: -1, what: "" };
const ms: number[] = [];
for (const d of results) {
  byClass[d.cls]++;
  const k = d.r?.kind ?? "?";
  byKind[k] ??= {};
  byKind[k]![d.cls] = (byKind[k]![d.cls] ?? 0) + 1;
  if (d.r) {
    ms.push(d.r.ms);
    if (d.r.hwmKB > peak.kb) peak = { kb: d.r.hwmKB, i: d.i, what: `${d.r.base}: ${d.r.what}` };
  }
}
ms.sort((a, b) => a - b);
const q = (p: number) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]! : 0);
const bad = results.filter((d) => BAD.includes(d.cls));
if (SAVE && bad.length) {
  mkdirSync(SAVE, { recursive: true });
  writeFileSync(join(SAVE, `bad-seed${SEED}.json`), JSON.stringify(bad, null, 2));
}
const summary = {
  count: results.length,
  seed: SEED,
  runtime: RUNTIME,
  jobs: JOBS,
  seconds: Math.round(secs * 10) / 10,
  classes: byClass,
  byKind,
  peakMB: Math.round(peak.kb / 102.4) / 10,
  peakInput: peak,
  floorMB: Math.round(Math.min(...results.map((d) => d.r?.hwmKB ?? Infinity)) / 102.4) / 10,
  /** The most any input grew the worker by (its peak over its resident size when the input began). */
  maxGrowMB: Math.round(Math.max(0, ...results.map((d) => (d.r ? grownKB(d) : 0))) / 102.4) / 10,
  /** A fresh CLI's own peak on a small valid trace (`info`): the bound less this is the growth an input may show. */
  cliFloorMB: Math.round(cliFloorKB / 102.4) / 10,
  foldErrors: results
    .filter((d) => d.r?.foldErrors.length)
    .map((d) => ({ i: d.i, base: d.r!.base, what: d.r!.what }))
    .slice(0, 20),
  foldErrorCount: results.filter((d) => d.r?.foldErrors.length).length,
  standalone,
  cliPeakMB: Math.max(0, ...standalone.map((x) => x.cliMB).filter((x) => !Number.isNaN(x))),
  msPerInput: { p50: q(0.5), p99: q(0.99), max: ms.length ? ms[ms.length - 1] : 0 },
  bad: bad.slice(0, 20).map((d) => ({
    i: d.i,
    cls: d.cls,
    note: d.note,
    base: d.r?.base,
    what: d.r?.what,
    codes: d.r?.codes,
    wrong: d.r?.wrong,
    internal: d.r?.internal.map((x) => x.split("\n").slice(0, 4).join(" | ")),
    multiLine: d.r?.multiLine,
  })),
  machine: { cpus: cpus().length, load: loadavg().map((x) => Math.round(x * 100) / 100) },
};
if (JSON_OUT) {
  process.stdout.write(JSON.stringify(summary) + "\n");
} else {
  const n = (x: number) => x.toLocaleString("en-US");
  console.log(
    `fuzz: ${n(results.length)} inputs, seed ${SEED}, ${RUNTIME}, ${JOBS} workers, ${secs.toFixed(1)} s (load ${summary.machine.load.join(" ")})`,
  );
  console.log(`  ${(Object.keys(byClass) as Class[]).map((c) => `${c} ${n(byClass[c])}`).join("  ")}`);
  console.log(
    `  peak memory in a worker ${summary.peakMB} MB (input ${peak.i}: ${peak.what}; the least any input peaked at, the worker's own floor: ${summary.floorMB} MB; the most an input grew it: ${summary.maxGrowMB} MB, against ${Math.round((MEM_KB - cliFloorKB) / 102.4) / 10} MB the bound leaves over a fresh CLI's ${summary.cliFloorMB} MB); per input p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`,
  );
  console.log(
    `  the ${standalone.length} highest, each command alone in a fresh CLI process: ${standalone.map((x) => `#${x.i} ${x.cliMB} MB (worker ${x.workerMB})`).join(", ")}; the most: ${summary.cliPeakMB} MB`,
  );
  if (summary.foldErrorCount)
    console.log(
      `  inputs where applyEvent threw a TypeError/RangeError (reported as damage): ${summary.foldErrorCount}, e.g. ${summary.foldErrors
        .slice(0, 3)
        .map((x) => `#${x.i} ${x.base}: ${x.what}`)
        .join("; ")}`,
    );
  for (const [k, v] of Object.entries(byKind).sort())
    console.log(
      `  ${k.padEnd(18)} ${Object.entries(v)
        .map(([c, x]) => `${c} ${x}`)
        .join(", ")}`,
    );
  for (const d of summary.bad)
    console.log(
      `  BAD ${d.cls} #${d.i} ${d.base}: ${d.what} ${d.note} codes ${d.codes} ${(d.wrong ?? []).join("; ")} ${(d.internal ?? []).join(" ")} ${(d.multiLine ?? []).join(",")}`,
    );
}
process.exit(bad.length ? 1 : 0);
