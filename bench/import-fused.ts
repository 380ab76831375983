// A fused fast path for the import (issue 15, docs/IMPORT.md "Eleventh pass"), measured
// before it is built: how much of the main thread's work per line a reader that goes
// from a line's bytes to the mapper's ops would save, for the three most frequent events
// of the bench input (sched_switch, sched_waking, sched_wakeup: 47% of its lines).
//
// Usage: npx bun bench/import-fused.ts [--lines N] [--rounds R]
//
// Five loops over the same lines (those events, from the first N lines of the 1M bench
// input), alternated R times in one process (warm; thread CPU per line, median of the
// rounds after the first two):
//   record              scanFtrace: the line as a TraceRecord (the import's parser)
//   record+map          scanFtrace, then Mapper.map: the record's ops
//   record+window+map   the same, each record mapped 4096 records later, as the reorder
//                       window holds it (the import's path)
//   fused               the ceiling: the line head by scanFtraceHead, the kernel's payload
//                       form read by hand (readLine), the ops made at once, a comm's text
//                       only at a task's first sight; no record, no window
//   compact+window+map  a fused path behind today's window: the line read by hand into a
//                       Compact (the values the ops need, every text made then: the
//                       bytes are gone by the time it is mapped), held 4096 records in
//                       a ring, then mapped (wakeups matched to wakings)
//   lines+window+fused  a fused path with the window in front of it: the window holds
//                       where each line is and its time (the head read for it), and a
//                       line is read and mapped at once, by `fused`, when it leaves
//                       (the import would keep the line buffers alive for as long)
// The readers here are a measurement, not the import's code: they take only the
// kernel's payload forms of these events and count nothing. Before timing, both ways
// are checked to make the same switch, wake and first-sight task ops as the mapper on
// every line (the compact way the same wakers too), so the loops do the same work.

import { existsSync, readFileSync } from "node:fs";
import { text } from "../src/import/bytes.ts";
import { Clock } from "../src/import/clock.ts";
import { ftraceHead, scanFtrace, scanFtraceHead } from "../src/import/ftrace.ts";
import { Mapper } from "../src/import/map.ts";
import { IDLE, type Op } from "../src/import/ops.ts";
import type { TraceRecord } from "../src/import/record.ts";
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

// --- the readers (a measurement: the kernel forms of these three events only) ---

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

const KIND_SWITCH = 0;
const KIND_WAKING = 1;
const KIND_WAKEUP = 2;
/**
 * A switch or wake line's parts, read from its bytes by readLine (scratch): the kind; a:
 * prev (switch) or the woken task, b: next; the byte ranges of their comms and of
 * prev_state; the target cpu.
 */
const L = { kind: 0, a: 0, aS: 0, aE: 0, b: 0, bS: 0, bE: 0, sS: 0, sE: 0, target: 0 };

/** Where commThenId found its comm: buf[C.s, C.e). */
const C = { s: 0, e: 0 };
/** Literal `before` at p, a {text} comm up to the '=' ending `next`, then `next` and its digits: their end (the value in num.v), or -1. */
function commThenId(p: number, e: number, before: Uint8Array, next: Uint8Array): number {
  p = p < 0 ? -1 : lit(p, before);
  const end = p < 0 ? -1 : upTo(p, e, next);
  if (end < 0) return -1;
  C.s = p;
  C.e = end;
  return digits(end + next.length, e, false);
}

/** Reads a kernel-form sched_switch, sched_waking or sched_wakeup line into h (its head) and L; false for anything else. */
function readLine(clock: Clock, h: ReturnType<typeof ftraceHead>, s: number, e: number): boolean {
  if (!scanFtraceHead(buf, s, e, clock, h)) return false;
  let p = h.payload;
  const sw = is(h.nameStart, h.nameEnd, SWITCH);
  const waking = !sw && is(h.nameStart, h.nameEnd, WAKING);
  if (!sw && !waking && !is(h.nameStart, h.nameEnd, WAKEUP)) return false;
  p = commThenId(p, e, sw ? PREV_COMM : COMM, sw ? PREV_PID : PID);
  L.a = num.v;
  L.aS = C.s;
  L.aE = C.e;
  if (p < 0 || (p = lit(p, sw ? PREV_PRIO : PRIO)) < 0 || (p = digits(p, e, true)) < 0) return false;
  if (!sw) {
    if ((p = lit(p, TARGET_CPU)) < 0 || digits(p, e, false) !== e) return false;
    L.kind = waking ? KIND_WAKING : KIND_WAKEUP;
    L.target = num.v;
    return true;
  }
  if ((p = lit(p, PREV_STATE)) < 0) return false;
  L.sS = p;
  while (p < e && buf[p] !== 32) p++;
  L.sE = p;
  p = commThenId(p, e, NEXT_COMM, NEXT_PID);
  L.b = num.v;
  L.bS = C.s;
  L.bE = C.e;
  if (p < 0 || (p = lit(p, NEXT_PRIO)) < 0 || digits(p, e, true) !== e) return false;
  L.kind = KIND_SWITCH;
  return true;
}

/** A task op at the task's first sight (comm: its text, made only then). */
function see(out: Op[], line: number, ts: number, cpu: number, actor: number, t: number, comm: () => string): void {
  if (t === 0 || known.has(t)) return;
  known.add(t);
  out.push({ line, ts, cpu, tid: actor, op: "task", task: t, pid: t, ppid: -1, comm: comm(), source: "assumed" });
}

/** The switch op the mapper makes (the state from prev_state's first letter). */
function switchOp(line: number, ts: number, cpu: number, actor: number, prev: number, next: number, state: string): Op {
  return {
    line,
    ts,
    cpu,
    tid: actor,
    op: "switch",
    prev: prev === 0 ? IDLE : prev,
    prevState: STATE[state.charCodeAt(0)] ?? "unknown",
    prevStateText: state,
    next: next === 0 ? IDLE : next,
  };
}

/** The wake op the mapper makes (in a task's context: the bench's wakeups are). */
function wakeOp(
  line: number,
  ts: number,
  cpu: number,
  actor: number,
  task: number,
  kind: number,
  by: number,
  target: number,
): Op {
  const stage = kind === KIND_WAKING ? "waking" : "wakeup";
  return {
    line,
    ts,
    cpu,
    tid: actor,
    op: "wake",
    task,
    stage,
    by,
    ctx: "task",
    ctxName: "",
    targetCpu: target,
    success: true,
  };
}

/** The ceiling: the line's ops straight from its bytes (no record, no window, no waker matching). */
function fused(clock: Clock, h: ReturnType<typeof ftraceHead>, s: number, e: number, line: number, out: Op[]): boolean {
  if (!readLine(clock, h, s, e)) return false;
  const { ts, cpu } = h;
  const actor = h.tid === 0 ? IDLE : h.tid;
  see(out, line, ts, cpu, actor, h.tid, () => text(buf, h.commStart, h.commEnd));
  see(out, line, ts, cpu, actor, L.a, () => text(buf, L.aS, L.aE));
  if (L.kind === KIND_SWITCH) {
    see(out, line, ts, cpu, actor, L.b, () => text(buf, L.bS, L.bE));
    out.push(switchOp(line, ts, cpu, actor, L.a, L.b, text(buf, L.sS, L.sE)));
  } else out.push(wakeOp(line, ts, cpu, actor, L.a, L.kind, actor, L.target));
  return true;
}

/**
 * What a fused path in the import would hold in the reorder window instead of a record:
 * the values the ops need, every text made at once (the line's bytes are gone when it
 * is mapped, REORDER_WINDOW records later).
 */
class Compact {
  constructor(
    readonly line: number,
    readonly ts: number,
    readonly cpu: number,
    readonly tid: number,
    readonly comm: string,
    readonly kind: number,
    readonly a: number,
    readonly b: number,
    readonly aComm: string,
    readonly bComm: string,
    readonly stateText: string,
    readonly target: number,
  ) {}
}

/** The line as a Compact, or null. */
function compact(clock: Clock, h: ReturnType<typeof ftraceHead>, s: number, e: number, line: number): Compact | null {
  if (!readLine(clock, h, s, e)) return null;
  const sw = L.kind === KIND_SWITCH;
  return new Compact(
    line,
    h.ts,
    h.cpu,
    h.tid,
    text(buf, h.commStart, h.commEnd),
    L.kind,
    L.a,
    sw ? L.b : 0,
    text(buf, L.aS, L.aE),
    sw ? text(buf, L.bS, L.bE) : "",
    sw ? text(buf, L.sS, L.sE) : "",
    sw ? -1 : L.target,
  );
}

/** Wakers of the tasks whose sched_waking came and whose sched_wakeup has not (as the mapper's). */
const wakers = new Map<number, { by: number }>();

/** A Compact's ops, as the mapper makes a switch's or a wake's (with the waking's waker for a wakeup). */
function mapCompact(r: Compact, out: Op[]): void {
  const actor = r.tid === 0 ? IDLE : r.tid;
  const { line, ts, cpu } = r;
  see(out, line, ts, cpu, actor, r.tid, () => r.comm);
  see(out, line, ts, cpu, actor, r.a, () => r.aComm);
  if (r.kind === KIND_SWITCH) {
    see(out, line, ts, cpu, actor, r.b, () => r.bComm);
    out.push(switchOp(line, ts, cpu, actor, r.a, r.b, r.stateText));
    return;
  }
  let by = actor;
  if (r.kind === KIND_WAKING) wakers.set(r.a, { by });
  else {
    const w = wakers.get(r.a);
    if (w !== undefined) {
      by = w.by;
      wakers.delete(r.a);
    }
  }
  out.push(wakeOp(line, ts, cpu, actor, r.a, r.kind, by, r.target));
}

/** The reorder window's stand-in: a ring of REORDER_WINDOW slots; what leaves it is mapped. */
const WINDOW = 4096;
/** lines+window+fused's window: where each line is and its time (what the window sorts by). */
const lineStart = new Int32Array(WINDOW);
const lineEnd = new Int32Array(WINDOW);
const lineTs = new Float64Array(WINDOW);

/** The switch, wake and task ops of `ops` as text (tasks, states, stages; the wakes' wakers with `by`). */
function gist(ops: Op[], by: boolean): string[] {
  return ops.flatMap((o) =>
    o.op === "switch"
      ? [`${o.line} switch ${o.prev} ${o.prevState} ${o.prevStateText} ${o.next}`]
      : o.op === "wake"
        ? [`${o.line} wake ${o.task} ${o.stage} ${o.targetCpu}${by ? ` by ${o.by}` : ""}`]
        : o.op === "task"
          ? [`${o.line} task ${o.task} ${o.comm}`]
          : [],
  );
}

// The same ops every way (switches, wakes, first sights) on every line; the wakes' wakers
// too for the ways that match wakeups to wakings (the mapper and the Compact's).
{
  const m = new Mapper({ format: "ftrace" });
  const ways: Op[][] = [[], [], []];
  const clocks = [new Clock(), new Clock(), new Clock()];
  const h = ftraceHead();
  const ring: (Compact | null)[] = new Array(WINDOW).fill(null);
  const tasks: Set<number>[] = [new Set(), new Set()];
  for (let i = 0; i < starts.length; i++) {
    m.map(scanFtrace(buf, starts[i]!, ends[i]!, i + 1, clocks[0]!)!, ways[0]!);
    known.clear();
    for (const t of tasks[0]!) known.add(t);
    if (!fused(clocks[1]!, h, starts[i]!, ends[i]!, i + 1, ways[1]!))
      throw new Error(`the prototype does not take line ${i + 1}`);
    tasks[0] = new Set(known);
    const c = compact(clocks[2]!, h, starts[i]!, ends[i]!, i + 1)!;
    const old = ring[i % WINDOW];
    ring[i % WINDOW] = c;
    known.clear();
    for (const t of tasks[1]!) known.add(t);
    if (old !== null && old !== undefined) mapCompact(old, ways[2]!);
    tasks[1] = new Set(known);
  }
  known.clear();
  for (const t of tasks[1]!) known.add(t);
  for (let k = 0; k < WINDOW; k++) {
    const c = ring[(starts.length + k) % WINDOW];
    if (c !== null && c !== undefined) mapCompact(c, ways[2]!);
  }
  const g = ways.map((w, k) => gist(w, k !== 1));
  for (const k of [1, 2]) {
    const wake = k === 2;
    const ref = gist(ways[0]!, wake);
    const diff = ref.findIndex((x, i) => x !== g[k]![i]);
    if (diff >= 0 || ref.length !== g[k]!.length)
      throw new Error(
        `the ${wake ? "compact" : "fused"} way's ops differ from the mapper's: ${ref[diff]} / ${g[k]![diff]}`,
      );
  }
}

// --- the loops ---

const LOOPS = [
  "record",
  "record+map",
  "record+window+map",
  "fused",
  "compact+window+map",
  "lines+window+fused",
] as const;
type Loop = (typeof LOOPS)[number];
const per = Object.fromEntries(LOOPS.map((l) => [l, [] as number[]])) as Record<Loop, number[]>;
for (let r = 0; r < ROUNDS; r++) {
  for (const loop of r % 2 === 0 ? LOOPS : [...LOOPS].reverse()) {
    const clock = new Clock();
    const h = ftraceHead();
    const m = new Mapper({ format: "ftrace" });
    const out: unknown[] = [];
    const ring: unknown[] = new Array(WINDOW).fill(null);
    const clock2 = new Clock();
    const h2 = ftraceHead();
    known.clear();
    wakers.clear();
    const t0 = threadCpu();
    for (let i = 0; i < starts.length; i++) {
      const s = starts[i]!;
      const e = ends[i]!;
      if (loop === "fused") fused(clock, h, s, e, i + 1, out as Op[]);
      else if (loop === "lines+window+fused") {
        // the head read now for the time (the window's order), the line read again and mapped when it leaves
        scanFtraceHead(buf, s, e, clock, h);
        const k = i % WINDOW;
        if (i >= WINDOW) fused(clock2, h2, lineStart[k]!, lineEnd[k]!, i + 1 - WINDOW, out as Op[]);
        lineStart[k] = s;
        lineEnd[k] = e;
        lineTs[k] = h.ts;
      } else if (loop === "compact+window+map") {
        const old = ring[i % WINDOW] as Compact | null;
        ring[i % WINDOW] = compact(clock, h, s, e, i + 1);
        if (old !== null) mapCompact(old, out as Op[]);
      } else {
        const rec = scanFtrace(buf, s, e, i + 1, clock)!;
        if (loop === "record") out.push(rec);
        else if (loop === "record+map") m.map(rec, out as Op[]);
        else {
          const old = ring[i % WINDOW] as TraceRecord | null;
          ring[i % WINDOW] = rec;
          if (old !== null) m.map(old, out as Op[]);
        }
      }
      if (out.length >= 4096) out.length = 0; // as the import's batches: consumed, then dropped
    }
    per[loop].push(((threadCpu() - t0) * 1e9) / starts.length);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const load = existsSync("/proc/loadavg") ? readFileSync("/proc/loadavg", "utf8").split(" ")[0] : "?";
console.log(
  `fused path (${typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "other"}, load ${load}): ${starts.length.toLocaleString("en-US")} sched_switch/waking/wakeup lines of the first ${LINES.toLocaleString("en-US")} of ${FILE}, ${ROUNDS} rounds; thread CPU ns per line, median of rounds 3-${ROUNDS} (all rounds)`,
);
for (const loop of LOOPS) {
  const xs = per[loop].slice(2);
  console.log(
    `  ${loop.padEnd(18)} ${median(xs).toFixed(0).padStart(5)}   (${per[loop].map((x) => x.toFixed(0)).join(" ")})`,
  );
}
const ms = (from: Loop, to: Loop) => {
  const d = median(per[from].slice(2)) - median(per[to].slice(2));
  return `${d.toFixed(0)} ns per such line, ${((d * starts.length) / LINES).toFixed(0)} ms of main-thread CPU per 1M input lines of this mix`;
};
console.log(`  the ceiling (fused, against record+map): ${ms("record+map", "fused")}`);
console.log(
  `  with the window (compact+window+map, against record+window+map): ${ms("record+window+map", "compact+window+map")}`,
);
console.log(
  `  the lines in the window, read and mapped as they leave it (lines+window+fused, against record+window+map): ${ms("record+window+map", "lines+window+fused")}`,
);
