// Where the two-thread first-violation scan (`ktrace check`,
// firstViolationParallel) spends its time, against one thread: per thread, the
// segments it checked, their CPU and wall time and CPU ns/event (the first
// segment apart: the thread's JIT warm-up), the worker's start-up (spawn to
// its module running, and its CPU by then), each thread's idle time at the
// end (from its last segment to the last segment in), the merge, and the
// other threads of the process (JSC's compilers and collector: sampled from
// /proc/self/task by bench/thread-cpu.ts). CPU figures are per thread, so a
// loaded machine disturbs them less than the wall figures.
// With --mode pipeline (check's default: a decode worker decodes the chunks
// ahead, this thread folds and checks them), the pipeline's figures instead
// of segments: the chunks this thread took from the ring and decoded itself,
// and its wait for the worker (the critical path is this thread's CPU plus
// that wait).
// Usage: npx bun bench/scan-split.ts [--trace FILE[,FILE...]] [--jobs N[,N...]] [--mode pipeline|range[,...]] [--runs R] [--json]
// (default: bench/out/stress-10000000.ktrace, --jobs 2; the runs share one
// process, so a run after the first meets code compiled already: run one
// configuration per process for cold figures, as `ktrace check` runs.)

import { loadavg } from "node:os";
import { openSource } from "../src/replay/index.ts";
import {
  firstViolationParallel,
  SCAN_MODES,
  type ScanMode,
  type ScanTimings,
  threadCpuMs,
  wallMs,
} from "../src/replay/parallel-scan.ts";
import { ThreadCpu } from "./thread-cpu.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const traces = (opt("--trace") ?? "bench/out/stress-10000000.ktrace").split(",");
const runs = Number(opt("--runs") ?? 1);
const json = argv.includes("--json");
const jobsList = (opt("--jobs") ?? "2").split(",").map(Number);
const modes = (opt("--mode") ?? "pipeline").split(",") as ScanMode[];
for (const m of modes)
  if (!SCAN_MODES.includes(m)) throw new Error(`--mode: ${m} is not one of ${SCAN_MODES.join(", ")}`);

const f1 = (x: number) => x.toFixed(1);
const f3 = (x: number) => x.toFixed(3);

interface Row {
  trace: string;
  jobs: number;
  mode: ScanMode;
  events: number;
  wallS: number;
  /** CPU s: this thread over the call, the scan worker(s), the other threads (JIT, GC). */
  cpu: { main: number; worker: number; other: number; total: number; byName?: Record<string, number> };
  nsPerEvent: number;
  load: number[];
  how: string;
  threads?: {
    by: number;
    segments: number;
    events: number;
    cpuS: number;
    wallS: number;
    firstNs: number;
    restNs: number;
    idleEndS: number;
  }[];
  startup?: { spawnToReadyS: number; readyCpuS: number; firstSegmentAtS: number }[];
  mergeS?: number;
  /** The pipeline: chunks from the ring and decoded here, restarts, this thread's wait for the worker. */
  ring?: {
    fromRing: number;
    self: number;
    left: number;
    restarts: number;
    waitS: number;
    waits: number;
    notifies: number;
    abandoned: string | null;
  };
}

async function one(trace: string, jobs: number, mode: ScanMode): Promise<Row> {
  const tc = await ThreadCpu.start();
  const src = openSource(trace);
  const notes: string[] = [];
  let tm: ScanTimings | null = null;
  let ring: Row["ring"];
  const c0 = threadCpuMs();
  const t0 = wallMs();
  const r = await firstViolationParallel(src, {
    jobs,
    mode,
    note: (l) => notes.push(l),
    timings: (t) => (tm = t),
    ring: (st) =>
      (ring = {
        fromRing: st.fromRing,
        self: st.self,
        left: st.left,
        restarts: st.restarts,
        waitS: st.waitMs / 1000,
        waits: st.waits,
        notifies: st.notifies,
        abandoned: st.abandoned,
      }),
  });
  const t1 = wallMs();
  const mainCpu = (threadCpuMs() - c0) / 1000;
  src.close();
  const th = tc ? await tc.stop() : null;
  if (r.violation) throw new Error(`${trace}: the trace must run clean`);
  const n = r.scanned;
  const workerCpu = th ? th.writer : 0;
  const other = th ? th.other : 0;
  const total = mainCpu + workerCpu + other;
  const row: Row = {
    trace,
    jobs,
    mode,
    events: n,
    wallS: (t1 - t0) / 1000,
    cpu: { main: mainCpu, worker: workerCpu, other, total, ...(th?.byName ? { byName: th.byName } : {}) },
    nsPerEvent: (total * 1e9) / n,
    load: loadavg().map((x) => +x.toFixed(2)),
    how: notes.join("; "),
    ...(ring ? { ring } : {}),
  };
  const t = tm as ScanTimings | null;
  if (t !== null && t.segments.length > 0) {
    const lastIn = Math.max(...t.segments.map((s) => s.t1));
    const bys = [...new Set(t.segments.map((s) => s.by))].sort();
    row.threads = bys.map((by) => {
      const segs = t.segments.filter((s) => s.by === by).sort((a, b) => a.t0 - b.t0);
      const cpu = segs.reduce((a, s) => a + s.cpuMs, 0);
      const ev = segs.reduce((a, s) => a + s.events, 0);
      const rest = segs.slice(1);
      const restEv = rest.reduce((a, s) => a + s.events, 0);
      return {
        by,
        segments: segs.length,
        events: ev,
        cpuS: cpu / 1000,
        wallS: segs.reduce((a, s) => a + s.t1 - s.t0, 0) / 1000,
        firstNs: (segs[0]!.cpuMs * 1e6) / Math.max(1, segs[0]!.events),
        restNs: restEv > 0 ? (rest.reduce((a, s) => a + s.cpuMs, 0) * 1e6) / restEv : Number.NaN,
        idleEndS: (lastIn - segs[segs.length - 1]!.t1) / 1000,
      };
    });
    row.startup = t.workers.map((w, i) => {
      const first = t.segments.filter((s) => s.by === i + 1).sort((a, b) => a.t0 - b.t0)[0];
      return {
        spawnToReadyS: w ? (w.ready - t.spawned[i]!) / 1000 : Number.NaN,
        readyCpuS: w ? w.readyCpu / 1000 : Number.NaN,
        firstSegmentAtS: first ? (first.t0 - t.t0) / 1000 : Number.NaN,
      };
    });
    row.mergeS = (t1 - t.t1) / 1000;
  }
  return row;
}

const rows: Row[] = [];
for (let i = 0; i < runs; i++)
  for (const trace of traces)
    for (const jobs of jobsList)
      for (const mode of jobs > 1 ? modes : modes.slice(0, 1)) rows.push(await one(trace, jobs, mode));

if (json) console.log(JSON.stringify(rows, null, 2));
else
  for (const r of rows) {
    console.log(
      `${r.trace}, ${r.jobs} thread${r.jobs > 1 ? `s (${r.mode})` : ""}: ${r.events.toLocaleString("en-US")} events, ${f3(r.wallS)} s wall (${f1(r.events / r.wallS / 1e6)} M/s), ` +
        `CPU s: this thread ${f3(r.cpu.main)}, worker ${f3(r.cpu.worker)}, other ${f3(r.cpu.other)} = ${f3(r.cpu.total)} (${f1(r.nsPerEvent)} ns/event); load ${r.load.join(" ")}`,
    );
    if (r.cpu.byName)
      console.log(
        `  other threads: ${Object.entries(r.cpu.byName)
          .filter(([, v]) => v >= 0.005)
          .sort((x, y) => y[1] - x[1])
          .map(([k, v]) => `${k} ${f3(v)}`)
          .join(", ")}`,
      );
    for (const t of r.threads ?? [])
      console.log(
        `  ${t.by === 0 ? "this thread" : `worker ${t.by}`}: ${t.segments} segments, ${t.events.toLocaleString("en-US")} events, ${f3(t.cpuS)} CPU s / ${f3(t.wallS)} wall s in them; ` +
          `CPU ns/event first segment ${f1(t.firstNs)}, the rest ${f1(t.restNs)}; idle at the end ${f3(t.idleEndS)} s`,
      );
    for (const [i, s] of (r.startup ?? []).entries())
      console.log(
        `  worker ${i + 1} start: ${f3(s.spawnToReadyS)} s from spawn to its module running (${f3(s.readyCpuS)} CPU s), first segment at ${f3(s.firstSegmentAtS)} s`,
      );
    if (r.mergeS !== undefined) console.log(`  merge and worker shutdown: ${f3(r.mergeS)} s`);
    const g = r.ring;
    if (g)
      console.log(
        `  pipeline: ${g.fromRing} chunks from the decode worker, ${g.self} decoded here (${g.left} left to it by the worker, ${g.restarts} restarts); ` +
          `this thread woke the worker ${g.notifies} times, waited ${f3(g.waitS)} s (${g.waits} waits): critical path ${f3(r.cpu.main + g.waitS)} s = ${f1(r.events / (r.cpu.main + g.waitS) / 1e6)} M/s` +
          `${g.abandoned ? `; ${g.abandoned}` : ""}`,
      );
    if (r.jobs > 1 || r.how) console.log(`  ${r.how}`);
  }
