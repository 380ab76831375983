// The first-violation scan on several threads (`ktrace check`), in one of two
// ways (ScanMode). On two threads (the default on a 2-core machine), a
// pipeline: a decode worker reads and decodes the chunks ahead of this
// thread, which runs the serial scan on them (decode-ring.ts: the answer is
// the serial one by construction; see pipelined() below). On more, ranges:
// the trace is split at snapshots into segments of about a million events,
// which this thread and worker threads (scan-worker.ts) claim in order from
// a shared counter and check, each from the snapshot its segment starts at.
// The results are then merged in seq order to exactly what the serial scan
// (scan.ts, firstViolation) gives: the same violation, count, unchecked
// stretches, final state, and the same damage known to the reader.
//
// Why a segment's answer is the serial one: invariants are predicates over
// (state before, event, state after), so checking a segment needs only the
// state at its start. The serial scan reaches segment k with the state its
// fold of segment k-1 ended with; segment k starts from the snapshot stored
// there. They are the same state when the file is consistent, and that is
// checked, not assumed: each segment compares the state its fold ends with to
// the next snapshot (as msgpack, what the writer stores). Where they differ
// (a crafted file, damage: the fold's state unknown there), the merge falls
// back to scanning serially on this thread from the last segment whose start
// was good. An invariant that keeps its own history across events (a
// `monitor`: the data-race detector) cannot start at a snapshot: a scan with
// one is serial.
//
// Workers are node:worker_threads (Bun, Deno; Node only runs them from
// JavaScript). When none can start, this thread scans every segment: the
// answer is the same, and `note` says so.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { fromPlain, type PlainState, toPlain } from "../kernel/state.ts";
import type { KState } from "../kernel/types.ts";
import { TraceCorruptError } from "../trace/errors.ts";
import { packr, sameBytes } from "../trace/format.ts";
import { Checker, type Invariant, type Plan, planFor, selectFor, splittable, type Violation } from "./invariants.ts";

export { type Plan, planFor, splittable };

import { startWorker } from "../trace/worker-start.ts";
import { CTRL, RingSource, type RingStats, ringLayout } from "./decode-ring.ts";
import type { DecodeWorkerInput } from "./decode-worker.ts";
import {
  checkRange,
  checkWhole,
  finalState,
  type RangeCheck,
  type RangeOptions,
  type ScanResult,
  type Unfolded,
} from "./scan.ts";
import { displaySafe, lastAtOrBefore, openSource, type ReplaySource, type TraceSource } from "./source.ts";

/** Events per segment, about (segments end at snapshots): enough that a segment's start costs nothing, few enough to share the work evenly. */
export const SEGMENT_EVENTS = 1 << 20;
/** Traces shorter than this are scanned on one thread: starting a worker costs more than it saves. */
export const PARALLEL_MIN_EVENTS = 3 * SEGMENT_EVENTS;

export interface ParallelScanOptions {
  /** Invariant names (as --invariant; all when empty or absent). */
  names?: readonly string[];
  /** Scan the display-safe view of the trace (text output: displaySafe), as the caller shows it. */
  display?: boolean;
  /** Threads to use, this one included; default: the machine's (availableParallelism). 1: serial. */
  jobs?: number;
  /** Hears one line on how the scan ran (threads, segments, fallbacks): for --verbose. */
  note?(line: string): void;
  /** Shortest trace split over threads; default PARALLEL_MIN_EVENTS (tests lower it). */
  minEvents?: number;
  /** Events per segment, about; default SEGMENT_EVENTS. */
  segmentEvents?: number;
  /** Events between two young-generation collections within a segment, about; default EDEN_EVENTS (tests lower it with segmentEvents). */
  stretchEvents?: number;
  /** This thread checks segments too (default); false: only the workers do, unless none can (tests of the workers' path). */
  mainTakesPart?: boolean;
  /** Hears, at the end, where and when each segment was checked and what each thread spent (bench/scan-split.ts). */
  timings?(t: ScanTimings): void;
  /**
   * How the threads share the scan: "pipeline": a decode worker decodes the
   * chunks ahead and this thread folds and checks them (decode-ring.ts), for
   * any invariants, on two threads; "range": the trace split at snapshots
   * into segments that this thread and jobs - 1 workers check (above).
   * Default: the pipeline on two threads (less CPU in all than two ranges:
   * docs/BENCHMARKS.md, "Phase 8"), ranges on more.
   */
  mode?: ScanMode;
  /**
   * Hears how far the scan on this thread is: the seq it has checked up to, at
   * each segment's end (~2^20 events), one thread or the pipeline (`ktrace
   * check`'s progress line); it may go back when the scan starts again from the
   * first event with an invariant that keeps a history. The ranges (three
   * threads or more) report the end of the checked prefix: the segments
   * finish out of order, on several threads, and the line says how far the
   * trace is checked without a hole.
   */
  progress?(seq: number): void;
  /** Hears the pipeline's counters at the end (bench/scan-split.ts). */
  ring?(stats: RingStats & { workerDecoded: number; workerLeft: number }): void;
  /** Tests: the decode worker fails after decoding this many chunks. */
  decodeFailAfter?: number;
  /** Tests: the pipeline waits for its decode worker to run before scanning (by default this thread starts at once, decoding the first chunks itself). */
  waitForWorker?: boolean;
  /**
   * Tests: how long the pipeline waits for a decode worker that makes no
   * progress before decoding every chunk itself (default decode-ring.ts's
   * STALL_MS). Its figure is wall time: a test whose notes say what the
   * worker did sets Infinity, so that a loaded machine cannot change them.
   */
  stallMs?: number;
}

/** How check's threads share the scan (ParallelScanOptions.mode). */
export type ScanMode = "pipeline" | "range";
export const SCAN_MODES: readonly ScanMode[] = ["pipeline", "range"];

/** A thread's CPU time so far, in ms (process.threadCpuUsage: Bun, Node 23.9+); -1 where the runtime cannot say. */
export function threadCpuMs(): number {
  const f = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (typeof f !== "function") return -1;
  const u = f.call(process);
  return (u.user + u.system) / 1000;
}

/** Wall clock in ms, comparable across threads (performance.timeOrigin differs per thread). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Where and when a segment was checked: by this thread (0) or worker i (i + 1), wall ms (wallMs) and that thread's CPU ms. */
export interface SegmentTiming {
  by: number;
  t0: number;
  t1: number;
  cpuMs: number;
}

/** A worker's life as it saw it (wallMs clock; CPU ms of its thread, -1: unknown). */
export interface WorkerTiming {
  /** When its module began to run (its imports loaded), the thread's CPU then. */
  ready: number;
  readyCpu: number;
  /** When it posted "done", the thread's CPU then. */
  done: number;
  doneCpu: number;
}

/** What ScanOptions.timings hears. */
export interface ScanTimings {
  /** When the scan began (firstViolationParallel called) and when the segments were all in (before the merge). */
  t0: number;
  t1: number;
  /** When each worker was asked to start. */
  spawned: number[];
  workers: (WorkerTiming | null)[];
  segments: (SegmentTiming & { k: number; events: number })[];
  /** This thread's CPU ms over the scan (before the merge). */
  mainCpu: number;
}

/** What one segment's check found: plain data, so that it crosses threads. */
export interface SegmentResult {
  k: number;
  /** It started at the snapshot of its first boundary (always true for the first segment); false: it checked nothing. */
  clean: boolean;
  violation: Violation | null;
  scanned: number;
  unchecked: Unfolded[];
  /** The state after the last event checked, when the merge may need it (a violation, or the last segment); else null. */
  last: PlainState | null;
  /** The state its fold ended with equals the snapshot at its end (where the next segment starts). */
  endMatches: boolean;
  /** First seq of each gap its reads found: the main reader is told of those the serial scan would have met. */
  gapSeqs: number[];
  /** The first event in it where an invariant left out (one with a history) could report, or -1 (see Plan); and its kind. */
  firstReport: number;
  firstReportKind: number;
  /** Where and when it was checked (set by the thread that checked it). */
  timing?: SegmentTiming;
}

/** What the main thread tells a worker. */
export interface WorkerInput {
  path: string;
  names: string[];
  display: boolean;
  bounds: number[];
  last: number;
  /** Int32Array over it: [next segment to claim, first segment with a violation]. */
  shared: SharedArrayBuffer;
  /** Which worker it is (1, 2, …), for timings. */
  by: number;
  /** ParallelScanOptions.stretchEvents. */
  stretch: number;
}

/** What a worker posts. */
export type WorkerMessage =
  | { type: "result"; r: SegmentResult }
  | { type: "error"; message: string }
  | { type: "done"; timing: WorkerTiming };

/**
 * Segment boundaries: seqs of snapshots, the first -1; segment k is the
 * events bounds[k]+1 .. bounds[k+1] (the last one to `last`). A boundary is
 * the first snapshot at least `every` events after the one before.
 */
export function segmentBounds(snapshotSeqs: readonly number[], last: number, every: number): number[] {
  const b = [-1];
  for (const s of snapshotSeqs) if (s < last && s >= b[b.length - 1]! + every) b.push(s);
  return b;
}

/** Claims the next segment (in order), or -1 when none is left before the first violation found. */
export function claim(shared: Int32Array, count: number): number {
  const k = Atomics.add(shared, 0, 1);
  return k < count && k <= Atomics.load(shared, 1) ? k : -1;
}

/** Records a violation in segment k: segments after it need not be checked. */
export function stopAfter(shared: Int32Array, k: number): void {
  for (;;) {
    const cur = Atomics.load(shared, 1);
    if (k >= cur || Atomics.compareExchange(shared, 1, cur, k) === cur) return;
  }
}

/** Events this thread checked since its last collect(). */
let sinceCollect = 0;

/**
 * A full collection after every SEGMENT_EVENTS events a thread checks, on
 * Bun: what the segments allocated is dead, and collecting it keeps each
 * thread's heap near its live size (a few MB) instead of letting it grow
 * between collections; with two threads that is ~20 MB less peak memory for
 * `check`, for no measurable time. Other runtimes collect on their own.
 */
function collect(events: number): void {
  sinceCollect += events;
  if (sinceCollect < SEGMENT_EVENTS) return;
  sinceCollect = 0;
  (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc(true);
}

/** Events between two young-generation collections of a scanning thread (about: stretches end at snapshots). */
export const EDEN_EVENTS = 1 << 17;

/** Bun's young-generation collection (bun:jsc edenGC); null elsewhere. */
const edenGC: (() => void) | null =
  typeof (globalThis as { Bun?: unknown }).Bun === "undefined"
    ? null
    : ((await import("bun:jsc" as string)) as { edenGC(): void }).edenGC;

/**
 * Segment lo+1..hi checked in stretches of about `stretch` events cut at
 * snapshots, with a young-generation collection between two (Bun): one
 * walk's state and checker carried from each stretch to the next, so the
 * answer is the one walk's. What the scan allocates is dead by the end of a
 * stretch; collecting it there keeps each thread's heap from growing by a
 * whole segment's garbage before collect() (7 MB a thread at ~7 bytes/event),
 * and with two threads the process's peak is ~10 MB lower (docs/BENCHMARKS.md,
 * "Phase 6"). An eden collection visits only the young objects: it costs
 * little, where a full one every stretch cost 7–12% of the scan's CPU (phase
 * 4). Returns null when a stretch ends with the state unknown (damage): a
 * cut there could report a lost stretch twice, so the caller checks the
 * segment in one walk instead.
 */
function checkStretches(
  src: ReplaySource,
  plan: Plan,
  lo: number,
  hi: number,
  start: KState | undefined,
  stretch: number,
  gc: () => void,
): RangeCheck | null {
  const checker = new Checker(plan.split);
  const seqs = src.snapshotSeqs;
  let i = lastAtOrBefore(seqs, lo) + 1;
  let state = start;
  let from = lo + 1;
  let scanned = 0;
  let firstWatched = -1;
  let firstWatchedKind = -1;
  for (;;) {
    // The stretch ends at the first snapshot `stretch` events on, or at hi.
    while (i < seqs.length && seqs[i]! < from - 1 + stretch) i++;
    const cut = i < seqs.length && seqs[i]! < hi ? seqs[i]! : hi;
    const r = checkRange(src, plan.split, from, cut, {
      ...(state ? { state } : {}),
      checker,
      ...(plan.reports ? { watch: plan.reports } : {}),
    });
    if (r.unchecked.length > 0) return null;
    scanned += r.scanned;
    if (firstWatched < 0) {
      firstWatched = r.firstWatched;
      firstWatchedKind = r.firstWatchedKind;
    }
    if (r.violation !== null || cut === hi) return { ...r, scanned, firstWatched, firstWatchedKind };
    if (!r.end) return null;
    gc();
    state = r.end;
    from = cut + 1;
  }
}

/** The state in the form snapshots store it: two states are the same state when these bytes are. */
function packed(s: KState): Uint8Array {
  return packr.pack(toPlain(s));
}

/**
 * Checks segment k (see segmentBounds) of src with the invariants: from the
 * initial state for the first, from the snapshot at its start for the others.
 */
export function checkSegment(
  src: ReplaySource,
  plan: Plan,
  bounds: readonly number[],
  last: number,
  k: number,
  stretch = EDEN_EVENTS,
): SegmentResult {
  const lo = bounds[k]!;
  const hi = k + 1 < bounds.length ? bounds[k + 1]! : last;
  const none: SegmentResult = {
    k,
    clean: false,
    violation: null,
    scanned: 0,
    unchecked: [],
    last: null,
    endMatches: false,
    gapSeqs: [],
    firstReport: -1,
    firstReportKind: -1,
  };
  let start: KState | undefined;
  if (k > 0) {
    const s = snapshotAt(src, lo);
    if (s === null) return none;
    start = s;
  }
  const gc = edenGC;
  const stretched = gc !== null && hi - lo > stretch;
  let r = stretched ? checkStretches(src, plan, lo, hi, start, stretch, gc) : null;
  if (r === null) {
    // In one walk; when the stretches gave up (damage), from a fresh copy of the snapshot: they folded theirs.
    if (stretched && k > 0) start = snapshotAt(src, lo) ?? undefined;
    r = checkRange(src, plan.split, lo + 1, hi, {
      ...(start ? { state: start } : {}),
      ...(plan.reports ? { watch: plan.reports } : {}),
    });
  }
  collect(r.scanned);
  let endMatches = false;
  if (r.violation === null && k + 1 < bounds.length && r.end) {
    const next = snapshotAt(src, hi);
    if (next !== null) {
      const a = packed(r.end);
      const b = packed(next);
      endMatches = a.length === b.length && sameBytes(a, 0, b);
    }
  }
  const needLast = r.violation !== null || k + 1 === bounds.length;
  return {
    k,
    clean: true,
    violation: r.violation,
    scanned: r.scanned,
    unchecked: r.unchecked,
    last: needLast && r.last ? toPlain(r.last) : null,
    endMatches,
    gapSeqs: src.gaps.filter((g) => g.toSeq > lo && g.fromSeq <= hi).map((g) => Math.max(g.fromSeq, lo + 1)),
    firstReport: r.firstWatched,
    firstReportKind: r.firstWatchedKind,
  };
}

/** checkSegment, with its timing (`by`: this thread 0, worker i i + 1). */
export function checkTimed(
  src: ReplaySource,
  plan: Plan,
  bounds: readonly number[],
  last: number,
  k: number,
  by: number,
  stretch = EDEN_EVENTS,
): SegmentResult {
  const t0 = wallMs();
  const c0 = threadCpuMs();
  const r = checkSegment(src, plan, bounds, last, k, stretch);
  r.timing = { by, t0, t1: wallMs(), cpuMs: c0 < 0 ? -1 : threadCpuMs() - c0 };
  return r;
}

/** The state of the snapshot at exactly seq, or null when there is no usable one there. */
function snapshotAt(src: ReplaySource, seq: number): KState | null {
  try {
    const s = src.loadSnapshot(seq);
    return s.seq === seq ? s.state : null;
  } catch (e) {
    if (!(e instanceof TraceCorruptError)) throw e;
    return null;
  }
}

/**
 * firstViolation(src, names) on up to opts.jobs threads, with the same
 * result (see the file comment). `src` is the trace as opened (not the
 * display-safe view: opts.display asks for that). Throws what the serial scan
 * throws (InvariantNameError, InvariantDeclError, TraceError).
 */
export async function firstViolationParallel(src: TraceSource, opts: ParallelScanOptions = {}): Promise<ScanResult> {
  const note = opts.note ?? (() => {});
  const began = wallMs();
  const cpu0 = threadCpuMs();
  const view = opts.display ? displaySafe(src) : src;
  const names = [...(opts.names ?? [])];
  const invs = selectFor(view, names);
  const last = src.eventCount - 1;
  const every = Math.max(1, opts.segmentEvents ?? SEGMENT_EVENTS);
  const bounds = segmentBounds(src.snapshotSeqs, last, every);
  const jobs = Math.max(1, Math.floor(opts.jobs ?? availableParallelism()));
  const path = src.reader.path;
  const serial = (why: string): ScanResult => {
    note(`check: one thread (${why})`);
    return serialAll(view, invs, bounds, 0, 0, [], true, opts.progress);
  };
  if (jobs < 2) return serial("--jobs 1");
  const pipeline = (opts.mode ?? (jobs === 2 ? "pipeline" : "range")) === "pipeline";
  if (src.eventCount < (opts.minEvents ?? PARALLEL_MIN_EVENTS) || (bounds.length < 2 && !pipeline))
    return serial(`${src.eventCount} events: too few to split`);
  if (path === undefined || src.reader.gzipped)
    return serial(
      path === undefined ? "the trace is not a file" : "a gzip-wrapped trace: every worker would inflate it again",
    );
  if (pipeline) return pipelined(src, path, invs, bounds, opts, note);
  const plan = planFor(invs);
  if (plan.serial !== null) return serial(plan.serial);

  const shared = new Int32Array(new SharedArrayBuffer(8));
  shared[1] = bounds.length;
  const results = new Map<number, SegmentResult>();
  // Progress: the segments 0..done-1 are all checked.
  let done = 0;
  const finished = (k: number, r: SegmentResult) => {
    results.set(k, r);
    if (r.violation || r.firstReport >= 0) stopAfter(shared, k);
    if (k !== done || opts.progress === undefined) return;
    while (results.has(done)) done++;
    opts.progress(done < bounds.length ? bounds[done]! : last);
  };
  let byWorkers = 0;
  let wake: (() => void) | null = null;
  const arrived = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const workers: Worker[] = [];
  const spawned: number[] = [];
  const workerTimes: (WorkerTiming | null)[] = [];
  let live = 0;
  const failures: string[] = [];
  const input: WorkerInput = {
    path,
    names,
    display: opts.display ?? false,
    bounds,
    last,
    shared: shared.buffer as SharedArrayBuffer,
    by: 0,
    stretch: Math.max(1, opts.stretchEvents ?? EDEN_EVENTS),
  };
  const workerCount = Math.min(jobs - 1, bounds.length - 1);
  for (let i = 0; i < workerCount; i++) {
    let w: Worker;
    try {
      // smol: Bun's smaller heap for the worker (other runtimes ignore it).
      w = new Worker(new URL("./scan-worker.ts", import.meta.url), {
        workerData: { ...input, by: i + 1 },
        smol: true,
      } as ConstructorParameters<typeof Worker>[1]);
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
      break;
    }
    live++;
    workers.push(w);
    spawned.push(wallMs());
    const me = workerTimes.push(null) - 1;
    let ended = false;
    const end = (why: string | null) => {
      if (ended) return;
      ended = true;
      live--;
      if (why) failures.push(why);
      arrived();
    };
    w.on("message", (m: WorkerMessage) => {
      if (m.type === "result") {
        finished(m.r.k, m.r);
        byWorkers++;
        arrived();
      } else if (m.type === "error") end(m.message);
      else {
        workerTimes[me] = m.timing;
        end(null);
      }
    });
    w.on("error", (e) => end(e instanceof Error ? e.message : String(e)));
    w.on("exit", () => end(null));
  }

  // This thread claims segments too, on its own reader: what it reads beyond
  // where the serial scan would stop must not show up as damage in `src`.
  const mine = openSource(path);
  const mineView = opts.display ? displaySafe(mine) : mine;
  try {
    while (opts.mainTakesPart ?? true) {
      const k = claim(shared, bounds.length);
      if (k < 0) break;
      finished(k, checkTimed(mineView, plan, bounds, last, k, 0, input.stretch));
      // Let the workers' messages in.
      await new Promise<void>((res) => setImmediate(res));
    }
    // Wait for the segments the workers hold, up to the first violation.
    const needed = () => {
      const stop = Math.min(Atomics.load(shared, 1), bounds.length - 1);
      for (let k = 0; k <= stop; k++) if (!results.has(k)) return true;
      return false;
    };
    while (needed() && live > 0) await new Promise<void>((res) => (wake = res));
    // Segments a worker claimed but did not finish (it failed): checked here.
    for (let k = 0; k <= Math.min(Atomics.load(shared, 1), bounds.length - 1); k++) {
      if (!results.has(k)) finished(k, checkTimed(mineView, plan, bounds, last, k, 0, input.stretch));
    }
  } finally {
    mine.close();
    await Promise.all(workers.map((w) => w.terminate().catch(() => 0)));
  }
  if (opts.timings) {
    const segments = [...results.values()]
      .filter((r) => r.timing !== undefined)
      .map((r) => ({ ...r.timing!, k: r.k, events: r.scanned }))
      .sort((x, y) => x.k - y.k);
    opts.timings({
      t0: began,
      t1: wallMs(),
      spawned,
      workers: workerTimes,
      segments,
      mainCpu: cpu0 < 0 ? -1 : threadCpuMs() - cpu0,
    });
  }
  if (failures.length)
    note(
      `check: ${failures.length} of ${workerCount} worker${workerCount > 1 ? "s" : ""} could not start or failed (${failures[0]}); their segments were checked on the main thread`,
    );
  return merge(
    src,
    view,
    invs,
    plan,
    bounds,
    results,
    note,
    `${workerCount + 1} threads (this one and ${workerCount} worker${workerCount > 1 ? "s" : ""}, which checked ${byWorkers} of the segments)`,
  );
}

/**
 * The serial scan's answer from the segment results (see the file comment):
 * in order, each accepted while its start is the state the one before ended
 * with; at the first that is not, the rest is scanned serially from the start
 * of the segment before it.
 */
function merge(
  src: TraceSource,
  view: ReplaySource,
  invs: readonly Invariant[],
  plan: Plan,
  bounds: readonly number[],
  results: ReadonlyMap<number, SegmentResult>,
  note: (l: string) => void,
  threads: string,
): ScanResult {
  let scanned = 0;
  const unchecked: Unfolded[] = [];
  const gapSeqs: number[] = [];
  let before = { scanned: 0, unchecked: 0, gaps: 0 };
  let prev: SegmentResult | null = null;
  for (let k = 0; k < bounds.length; k++) {
    const r = results.get(k)!;
    if (prev !== null && !(prev.endMatches && r.clean)) {
      // Segment k does not start where the serial scan would be: scan serially from the start of segment k-1
      // (from the start of the trace when an invariant with a history is left out: it needs the whole run).
      const from = plan.reports ? 0 : k - 1;
      note(
        `check: ${threads}, ${bounds.length} segments; the state at seq ${bounds[k]} is not the snapshot there (${r.clean ? "the fold differs from it or is unknown" : "no usable snapshot"}): checked on one thread from seq ${bounds[from]! + 1}`,
      );
      if (from === 0) return serialAll(view, invs, bounds);
      unchecked.length = before.unchecked;
      gapSeqs.length = before.gaps;
      learnGaps(src, gapSeqs, Infinity);
      return serialAll(view, invs, bounds, from, before.scanned, unchecked);
    }
    if (r.firstReport >= 0 && !(r.violation && r.violation.seq < r.firstReport)) {
      // An invariant left out (with a history) could report from here on: the whole scan, serially, with it.
      note(
        `check: ${threads}, ${bounds.length} segments; ${
          invs
            .filter((i) => !splittable(i) && (i.reports?.includes(r.firstReportKind) ?? true))
            .map((i) => i.name)
            .join(", ") || "an invariant"
        } can report from seq ${r.firstReport} on and needs the run's history: checked on one thread from the start`,
      );
      return serialAll(view, invs, bounds, 0, 0, [], false);
    }
    before = { scanned, unchecked: unchecked.length, gaps: gapSeqs.length };
    scanned += r.scanned;
    unchecked.push(...r.unchecked);
    gapSeqs.push(...r.gapSeqs);
    if (r.violation) {
      learnGaps(src, gapSeqs, r.violation.seq);
      note(
        `check: ${threads}, ${bounds.length} segments; the first violation is in segment ${k} (events ${bounds[k]! + 1}..)`,
      );
      return { violation: r.violation, scanned, state: fromPlain(r.last!), unchecked };
    }
    prev = r;
  }
  learnGaps(src, gapSeqs, Infinity);
  note(`check: ${threads}, ${bounds.length} segments of about ${bounds[1]! - bounds[0]!} events`);
  return { violation: null, scanned, state: finalState(view, prev?.last ? fromPlain(prev.last) : null), unchecked };
}

/** Tells src's reader of the gaps the segments found that start at or before `upTo` (the serial scan reads those chunks). */
function learnGaps(src: TraceSource, gapSeqs: readonly number[], upTo: number): void {
  for (const seq of gapSeqs) {
    if (seq > upTo || src.gaps.some((g) => g.fromSeq <= seq && seq <= g.toSeq)) continue;
    try {
      src.readColumns(src.chunkOf(seq));
    } catch (e) {
      if (!(e instanceof TraceCorruptError)) throw e;
    }
  }
}

/**
 * The serial scan from segment k on, continuing a merge (`scanned` and
 * `unchecked` so far): from the initial state (k = 0, as firstViolation
 * begins), or from the snapshot at bounds[k] (a segment start known to hold
 * the serial scan's state there). One walk, cut at the segment bounds only to
 * collect() between them: the state it ends a segment with (or null, unknown
 * there) is where it goes on, as walk() defines.
 */
function serialFrom(
  view: ReplaySource,
  invs: readonly Invariant[],
  bounds: readonly number[],
  k: number,
  scanned: number,
  unchecked: Unfolded[],
  opts: RangeOptions = {},
  progress?: (seq: number) => void,
): ScanResult & { firstWatched: number; firstWatchedKind: number } {
  const last = view.eventCount - 1;
  // One checker for the whole walk: an invariant with a history sees one run.
  const checker = new Checker(invs);
  const out = [...unchecked];
  let state: KState | null | undefined = k === 0 ? undefined : snapshotAt(view, bounds[k]!);
  let end: KState | null = null;
  for (let j = k; j < bounds.length; j++) {
    const hi = j + 1 < bounds.length ? bounds[j + 1]! : last;
    const r = checkRange(
      view,
      invs,
      bounds[j]! + 1,
      hi,
      state === undefined ? { ...opts, checker } : { ...opts, state, checker },
    );
    scanned += r.scanned;
    out.push(...r.unchecked);
    end = r.last;
    if (r.violation || r.firstWatched >= 0)
      return {
        violation: r.violation,
        scanned,
        state: finalState(view, r.last),
        unchecked: out,
        firstWatched: r.firstWatched,
        firstWatchedKind: r.firstWatchedKind,
      };
    state = r.end ?? null;
    collect(r.scanned);
    progress?.(hi);
  }
  return {
    violation: null,
    scanned,
    state: finalState(view, end),
    unchecked: out,
    firstWatched: -1,
    firstWatchedKind: -1,
  };
}

/**
 * serialFrom's ScanResult; from the start (k = 0) with the invariants that
 * keep a history left out while they cannot report (checkWhole), unless
 * `lazy` is false (one of their events is known to come).
 */
function serialAll(
  view: ReplaySource,
  invs: readonly Invariant[],
  bounds: readonly number[],
  k = 0,
  scanned = 0,
  unchecked: Unfolded[] = [],
  lazy = true,
  progress?: (seq: number) => void,
): ScanResult {
  const {
    firstWatched: _,
    firstWatchedKind: __,
    ...r
  } = k === 0 && lazy
    ? checkWhole(invs, (some, opts) => serialFrom(view, some, bounds, 0, 0, [], opts, progress))
    : serialFrom(view, invs, bounds, k, scanned, unchecked, {}, progress);
  return r;
}

/**
 * Most events a ring slot holds (the ring is then ~8 MB; 4,096-event chunks,
 * the writer's default: 2.3 MB): a larger chunk (a trace written with
 * larger chunks, or an index that says so) is decoded by the scan's thread.
 */
const RING_MAX_CAP = 1 << 14;

/**
 * The serial scan (serialAll, as --jobs 1) on this thread, its chunks decoded
 * ahead by a decode worker (decode-ring.ts): the same answer, since only
 * where the columns come from differs. When the worker cannot start, or
 * ends, this thread decodes the chunks itself; `note` says how it went.
 */
async function pipelined(
  src: TraceSource,
  path: string,
  invs: readonly Invariant[],
  bounds: readonly number[],
  opts: ParallelScanOptions,
  note: (l: string) => void,
): Promise<ScanResult> {
  const starts = src.chunkFirstSeqs;
  let biggest = 0;
  for (let i = 0; i < starts.length; i++)
    biggest = Math.max(biggest, (i + 1 < starts.length ? starts[i + 1]! : src.eventCount) - starts[i]!);
  const cap = Math.max(1, Math.min(biggest, RING_MAX_CAP));
  const buf = new SharedArrayBuffer(ringLayout(cap).total);
  const ctrl = new Int32Array(buf, 0, CTRL.words);
  const input: DecodeWorkerInput = {
    path,
    buf,
    cap,
    ...(opts.decodeFailAfter !== undefined ? { failAfter: opts.decodeFailAfter } : {}),
  };
  let failure: string | null = null;
  let w: Worker | null = null;
  const url = new URL("./decode-worker.ts", import.meta.url);
  // smol: Bun's smaller heap for the worker (other runtimes ignore it).
  const options = { workerData: input, smol: true } as ConstructorParameters<typeof Worker>[1];
  if (opts.waitForWorker) {
    const x = await startWorker(url, options!, () => Atomics.load(ctrl, CTRL.state) !== 0);
    if (typeof x === "string") failure = x;
    else w = x;
  } else {
    try {
      w = new Worker(url, options);
    } catch (e) {
      failure = e instanceof Error ? e.message : String(e);
    }
  }
  w?.on("error", (e) => (failure ??= e instanceof Error ? e.message : String(e)));
  const ring = new RingSource(src, buf, cap, opts.stallMs);
  const view = opts.display ? displaySafe(ring) : ring;
  let r: ScanResult;
  try {
    r = serialAll(view, invs, bounds, 0, 0, [], true, opts.progress);
  } finally {
    ring.stop();
    if (w !== null) await w.terminate().catch(() => 0);
  }
  const st = ring.stats;
  const decoded = Atomics.load(ctrl, CTRL.decoded);
  opts.ring?.({ ...st, workerDecoded: decoded, workerLeft: Atomics.load(ctrl, CTRL.left) });
  const chunks = st.fromRing + st.self;
  note(
    failure !== null && st.fromRing === 0
      ? `check: one thread (the decode worker could not start: ${failure}; this thread decoded all ${chunks} chunks)`
      : `check: 2 threads (a pipeline: a decode worker decoded ${st.fromRing} of the ${chunks} chunks this thread checked${st.abandoned !== null ? `; then ${st.abandoned}, and this thread decoded the rest` : ""})`,
  );
  return r;
}
