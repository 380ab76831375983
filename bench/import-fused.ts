// The ceiling of a fused fast path for the import (issue 15, docs/IMPORT.md "Eleventh
// pass"): how much of the main thread's work per line a reader that goes from a line's
// bytes straight to the mapper's ops would save, for the three most frequent events of
// the bench input (sched_switch, sched_waking, sched_wakeup: 47% of its lines).
//
// Usage: npx bun bench/import-fused.ts [--lines N] [--rounds R]
//
// Three loops over the same lines (those events, from the first N lines of the 1M
// bench input), alternated R times in one process (warm; thread CPU per line, median of
// the rounds after the first two):
//   record      scanFtrace: the line as a TraceRecord (the import's parser)
//   record+map  scanFtrace, then Mapper.map: the records as ops (the import's path)
//   fused       a prototype written here: the line head by scanFtraceHead, then the
//               kernel's payload form read by hand into the numbers and texts the ops
//               need, one op object per op; no record, no fields object, no generic
//               dispatch (task ops only at a task's first sight, as the mapper does).
// The prototype is a measurement, not the import's code: it takes only the kernel's
// payload forms, does not match wakeups to wakings or count anything, and keeps no
// reorder window (the import must: records wait in it for REORDER_WINDOW records before
// they are mapped, which is what makes a fused path a change of the record contract,
// see IMPORT.md). It checks that it made the same switch and wake ops as the mapper
// (tasks, states, wake stages) on every line, so both loops do the same work.

import { existsSync, readFileSync } from "node:fs";
import { text } from "../src/import/bytes.ts";
import { Clock } from "../src/import/clock.ts";
import { ftraceHead, scanFtrace, scanFtraceHead } from "../src/import/ftrace.ts";
import { Mapper } from "../src/import/map.ts";
import { IDLE, type Op } from "../src/import/ops.ts";
import { writeInput } from "./import-input.ts";

const args = process.argv.slice(2);
const opt = (k: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : undefined;
};
const LINES = Number(opt("--lines") ?? 400_000);
const ROUNDS = Math.max(3, Number(opt("--rounds") ?? 10));
const FILE = "bench/out/import-1000000.txt";
if (!existsSync(FILE)) await writeInput(FILE, 1_000_000, false);

/** CPU seconds of this thread (Linux), else of the process. */
const threadCpu = existsSync("/proc/thread-self/schedstat")
  ? () => Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e9
  : () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };

// The lines: the three events' lines among the first LINES of the input.
const buf = readFileSync(FILE).subarray(0, Math.min(LINES * 200, 512 << 20));
const starts: number[] = [];
const ends: number[] = [];
{
  const wanted = new Set(["sched_switch", "sched_waking", "sched_wakeup"]);
  const h = ftraceHead();
  const clock = new Clock();
  let s = 0;
  for (let n = 0; n < LINES; n++) {
    const e = buf.indexOf(10, s);
    if (e < 0) break;
    if (scanFtraceHead(buf, s, e, clock, h) && wanted.has(text(buf, h.nameStart, h.nameEnd))) {
      starts.push(s);
      ends.push(e);
    }
    s = e + 1;
  }
}

// --- the prototype ---

const bytes = (s: string) => new TextEncoder().encode(s);
const SWITCH = bytes("sched_switch");
const WAKING = bytes("sched_waking");
const WAKEUP = bytes("sched_wakeup");
const PREV_COMM = bytes("prev_comm=");
const PREV_PID = bytes(" prev_pid=");
const PREV_PRIO = bytes(" prev_prio=");
const PREV_STATE = bytes(" prev_state=");
const NEXT_COMM = bytes(" ==> next_comm=");
const NEXT_PID = bytes(" next_pid=");
const NEXT_PRIO = bytes(" next_prio=");
const COMM = bytes("comm=");
const PID = bytes(" pid=");
const PRIO = bytes(" prio=");
const TARGET_CPU = bytes(" target_cpu=");
/** prev_state's first letter → the state (the bench's letters; the mapper's table has them all). */
const STATE: Record<number, "runnable" | "sleeping" | "blocked" | "idle"> = {
  82: "runnable",
  83: "sleeping",
  68: "blocked",
  73: "idle",
};

/** Whether buf[a, b) is `lit`. */
function is(a: number, b: number, lit: Uint8Array): boolean {
  if (b - a !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[a + i] !== lit[i]) return false;
  return true;
}
/** The end of literal `lit` at p, or -1. */
function lit(p: number, l: Uint8Array): number {
  for (let i = 0; i < l.length; i++) if (buf[p + i] !== l[i]) return -1;
  return p + l.length;
}
/** The end of the digits at p (an optional '-' first when `neg`); `num.v` their value; -1 when none. */
const num = { v: 0 };
function digits(p: number, e: number, neg: boolean): number {
  if (neg && buf[p] === 45) p++;
  const d = p;
  let v = 0;
  while (p < e && buf[p]! >= 48 && buf[p]! <= 57) v = v * 10 + buf[p++]! - 48;
  num.v = v;
  return p > d ? p : -1;
}
/** A {text} hole at p up to the '=' ending `next`: [p, end) with end returned, or -1. */
function upTo(p: number, e: number, next: Uint8Array): number {
  const eq = buf.indexOf(61, p);
  if (eq < 0 || eq >= e) return -1;
  const end = eq + 1 - next.length;
  return end >= p && lit(end, next) >= 0 ? end : -1;
}

/** Tasks seen (the mapper's first-sight rule). */
const known = new Set<number>();

/** The line's ops appended to out; false when the prototype does not take the line. */
function fused(clock: Clock, h: ReturnType<typeof ftraceHead>, s: number, e: number, line: number, out: Op[]): boolean {
  if (!scanFtraceHead(buf, s, e, clock, h)) return false;
  const actor = h.tid === 0 ? IDLE : h.tid;
  const see = (t: number, a: number, b: number) => {
    if (t === 0 || known.has(t)) return;
    known.add(t);
    const comm = text(buf, a, b);
    out.push({
      line,
      ts: h.ts,
      cpu: h.cpu,
      tid: actor,
      op: "task",
      task: t,
      pid: t,
      ppid: -1,
      comm,
      source: "assumed",
    });
  };
  see(h.tid, h.commStart, h.commEnd);
  let p = h.payload;
  if (is(h.nameStart, h.nameEnd, SWITCH)) {
    p = lit(p, PREV_COMM);
    const pc = p;
    const pce = p < 0 ? -1 : upTo(p, e, PREV_PID);
    if (pce < 0) return false;
    p = digits(pce + PREV_PID.length, e, false);
    const prev = num.v;
    if (p < 0 || (p = lit(p, PREV_PRIO)) < 0 || (p = digits(p, e, true)) < 0 || (p = lit(p, PREV_STATE)) < 0)
      return false;
    const ss = p;
    while (p < e && buf[p] !== 32) p++;
    const se = p;
    p = lit(p, NEXT_COMM);
    const nc = p;
    const nce = p < 0 ? -1 : upTo(p, e, NEXT_PID);
    if (nce < 0) return false;
    p = digits(nce + NEXT_PID.length, e, false);
    const next = num.v;
    if (p < 0 || (p = lit(p, NEXT_PRIO)) < 0 || digits(p, e, true) !== e) return false;
    see(prev, pc, pce);
    see(next, nc, nce);
    out.push({
      line,
      ts: h.ts,
      cpu: h.cpu,
      tid: actor,
      op: "switch",
      prev: prev === 0 ? IDLE : prev,
      prevState: STATE[buf[ss]!] ?? "unknown",
      prevStateText: text(buf, ss, se),
      next: next === 0 ? IDLE : next,
    });
    return true;
  }
  const waking = is(h.nameStart, h.nameEnd, WAKING);
  if (!waking && !is(h.nameStart, h.nameEnd, WAKEUP)) return false;
  p = lit(p, COMM);
  const cs = p;
  const ce = p < 0 ? -1 : upTo(p, e, PID);
  if (ce < 0) return false;
  p = digits(ce + PID.length, e, false);
  const task = num.v;
  if (p < 0 || (p = lit(p, PRIO)) < 0 || (p = digits(p, e, true)) < 0 || (p = lit(p, TARGET_CPU)) < 0) return false;
  if (digits(p, e, false) !== e) return false;
  see(task, cs, ce);
  out.push({
    line,
    ts: h.ts,
    cpu: h.cpu,
    tid: actor,
    op: "wake",
    task,
    stage: waking ? "waking" : "wakeup",
    by: actor,
    ctx: "task",
    ctxName: "",
    targetCpu: num.v,
    success: true,
  });
  return true;
}

/** The switch and wake ops of `ops` as text (tasks, states, stages: what both loops must agree on). */
function gist(ops: Op[]): string[] {
  return ops.flatMap((o) =>
    o.op === "switch"
      ? [`${o.line} switch ${o.prev} ${o.prevState} ${o.prevStateText} ${o.next}`]
      : o.op === "wake"
        ? [`${o.line} wake ${o.task} ${o.stage} ${o.targetCpu}`]
        : o.op === "task"
          ? [`${o.line} task ${o.task} ${o.comm}`]
          : [],
  );
}

// The same ops both ways (switches, wakes, first sights) on every line.
{
  const a: Op[] = [];
  const b: Op[] = [];
  const m = new Mapper({ format: "ftrace" });
  const [c1, c2] = [new Clock(), new Clock()];
  const h = ftraceHead();
  known.clear();
  for (let i = 0; i < starts.length; i++) {
    m.map(scanFtrace(buf, starts[i]!, ends[i]!, i + 1, c1)!, a);
    if (!fused(c2, h, starts[i]!, ends[i]!, i + 1, b)) throw new Error(`the prototype does not take line ${i + 1}`);
  }
  const [ga, gb] = [gist(a), gist(b)];
  const diff = ga.findIndex((x, i) => x !== gb[i]);
  if (diff >= 0 || ga.length !== gb.length)
    throw new Error(`the prototype's ops differ from the mapper's: ${ga[diff]} / ${gb[diff]}`);
}

// --- the loops ---

type Loop = "record" | "record+map" | "fused";
const LOOPS: Loop[] = ["record", "record+map", "fused"];
const per: Record<Loop, number[]> = { record: [], "record+map": [], fused: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const loop of r % 2 === 0 ? LOOPS : [...LOOPS].reverse()) {
    const clock = new Clock();
    const h = ftraceHead();
    const m = new Mapper({ format: "ftrace" });
    const out: unknown[] = [];
    known.clear();
    const t0 = threadCpu();
    for (let i = 0; i < starts.length; i++) {
      if (loop === "fused") fused(clock, h, starts[i]!, ends[i]!, i + 1, out as Op[]);
      else {
        const rec = scanFtrace(buf, starts[i]!, ends[i]!, i + 1, clock)!;
        if (loop === "record") out.push(rec);
        else m.map(rec, out as Op[]);
      }
      if (out.length >= 4096) out.length = 0; // as the import's batches: consumed, then dropped
    }
    per[loop].push(((threadCpu() - t0) * 1e9) / starts.length);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const load = existsSync("/proc/loadavg") ? readFileSync("/proc/loadavg", "utf8").split(" ")[0] : "?";
console.log(
  `fused-path ceiling (${typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "other"}, load ${load}): ${starts.length.toLocaleString("en-US")} sched_switch/waking/wakeup lines of the first ${LINES.toLocaleString("en-US")} of ${FILE}, ${ROUNDS} rounds; thread CPU ns per line, median of rounds 3-${ROUNDS} (all rounds)`,
);
for (const loop of LOOPS) {
  const xs = per[loop].slice(2);
  console.log(
    `  ${loop.padEnd(11)} ${median(xs).toFixed(0).padStart(5)}   (${per[loop].map((x) => x.toFixed(0)).join(" ")})`,
  );
}
const saved = median(per["record+map"].slice(2)) - median(per.fused.slice(2));
console.log(
  `  the fused prototype saves ${saved.toFixed(0)} ns per such line (${((saved * starts.length) / LINES).toFixed(0)} ms of main-thread CPU per 1M input lines of this mix)`,
);
