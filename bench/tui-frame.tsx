// Frame time of `ktrace replay` while holding ← on a big trace: for each step
// back, the time from the key's intent to the frame written to the terminal
// (cursor stepBack + the engine's frame + React/Ink render and output).
// Three runs:
//   1. steady: 2,000 steps back with no background work;
//   2. while scanning: the timeline's background scan running (as just after
//      opening), keys pressed one at a time, each after a pause longer than the
//      store's KEY_QUIET_MS so that the scan is running when the key comes; the
//      time counts from when the key was due (a key waits for the slice in
//      progress);
//   3. the scan itself: time until the timeline is complete, with no keys.
//
// Usage: npx bun bench/tui-frame.tsx [--events N] [--steps N] [--scan-keys N] [--trace FILE] [--size 80x24] [--json]
// Records a stress trace of N events (default 10,000,000) unless --trace is given.
// docs/BENCHMARKS.md ("Replay UI frame time") keeps the latest figures.

import { existsSync, mkdirSync } from "node:fs";
import process from "node:process";
import { Writable } from "node:stream";
import { render } from "ink";
import { prepare, record } from "../src/record/index.ts";
import { App } from "../src/tui/app.tsx";
import { openCursor } from "../src/tui/engine.ts";
import { KEY_QUIET_MS, openReplay, type Store } from "../src/tui/store.ts";
import { MACHINE, RUNTIME } from "./host.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const events = Number(flag("--events") ?? 10_000_000);
const steps = Number(flag("--steps") ?? 2000);
const scanKeys = Number(flag("--scan-keys") ?? 60);
const [cols, rows] = (flag("--size") ?? "80x24").split("x").map(Number) as [number, number];
let trace = flag("--trace");
if (trace === undefined) {
  mkdirSync("bench/out", { recursive: true });
  trace = `bench/out/stress-${events}.ktrace`;
  if (!existsSync(trace)) {
    process.stderr.write(`recording ${events} stress events to ${trace}...\n`);
    record(await prepare({ target: "stress", maxEvents: events }), trace);
  }
}

/** A terminal that counts bytes. */
class FakeTty extends Writable {
  bytes = 0;
  isTTY = true;
  columns = cols;
  rows = rows;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    cb();
  }
}

const renderOpts = {
  interactive: true,
  patchConsole: false,
  exitOnCtrlC: false,
  incrementalRendering: true,
  // No frame-rate cap while measuring: every step's frame is rendered.
  maxFps: 1000,
} as const;
const timer = (work: () => void, ms: number) => void setTimeout(work, ms);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- 1. steady: no background work (the store gets no scheduler) ----
const { cursor, info } = openCursor(trace);
const t0 = performance.now();
const store = openReplay(cursor, info, { at: "end" });
const openMs = performance.now() - t0;
const stdout = new FakeTty() as unknown as NodeJS.WriteStream;
const app = render(<App store={store} isActive={false} />, { stdout, ...renderOpts });
await app.waitUntilRenderFlush();

const times: number[] = [];
for (let i = 0; i < steps; i++) {
  const t = performance.now();
  store.dispatch({ type: "command", command: "stepBack" });
  await app.waitUntilRenderFlush();
  times.push(performance.now() - t);
}
// The engine part alone (no rendering), for comparison.
const engine: number[] = [];
for (let i = 0; i < steps; i++) {
  const t = performance.now();
  store.dispatch({ type: "command", command: "stepBack" });
  engine.push(performance.now() - t);
}
app.unmount();
cursor.source.close();

// ---- 2. while the timeline's scan runs, and 3. the scan alone ----
async function withScan(
  keys: number,
  scan = true,
): Promise<{ latencies: number[]; slices: number[]; scanMs: number | null; scanned: number }> {
  const o = openCursor(trace!);
  const start = performance.now();
  let s: Store | null = null;
  let doneAt: number | null = null;
  const slices: number[] = [];
  const schedule = (work: () => void, ms: number) =>
    timer(() => {
      const t = performance.now();
      work();
      slices.push(performance.now() - t);
      if (doneAt === null && s !== null && s.getState().overview.density?.scanned === o.info.total)
        doneAt = performance.now();
    }, ms);
  s = openReplay(o.cursor, o.info, scan ? { at: "end", schedule } : { at: "end" });
  const out = new FakeTty() as unknown as NodeJS.WriteStream;
  const a = render(<App store={s} isActive={false} />, { stdout: out, ...renderOpts });
  await a.waitUntilRenderFlush();
  const latencies: number[] = [];
  for (let i = 0; i < keys && doneAt === null; i++) {
    // A pause longer than KEY_QUIET_MS (so the scan has resumed), a random phase against its slices.
    const due = performance.now() + KEY_QUIET_MS + 20 + ((i * 37) % 23);
    await sleep(due - performance.now());
    s.dispatch({ type: "command", command: "stepBack" });
    await a.waitUntilRenderFlush();
    latencies.push(performance.now() - due);
  }
  if (keys === 0) while (doneAt === null) await sleep(20);
  const density = s.getState().overview.density;
  a.unmount();
  s.stop();
  o.cursor.source.close();
  return { latencies, slices, scanMs: doneAt === null ? null : doneAt - start, scanned: density?.scanned ?? 0 };
}
const scanning = await withScan(scanKeys);
// The same keys with no scan: what a timer-driven key costs on this machine anyway.
const paused = await withScan(scanKeys, false);
const idle = await withScan(0);

const q = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (x: number) => +x.toFixed(2);
const runtime = RUNTIME;
const result = {
  runtime,
  machine: MACHINE,
  trace,
  events: info.total,
  size: `${cols}x${rows}`,
  openMs: ms(openMs),
  steps,
  frameMs: { median: ms(q(times, 0.5)), p95: ms(q(times, 0.95)), p99: ms(q(times, 0.99)), max: ms(Math.max(...times)) },
  engineAndFrameBuildMs: { median: ms(q(engine, 0.5)), p95: ms(q(engine, 0.95)), max: ms(Math.max(...engine)) },
  bytesPerFrame: Math.round((stdout as unknown as FakeTty).bytes / (steps + 1)),
  whileScanning: {
    keys: scanning.latencies.length,
    frameMs: {
      median: ms(q(scanning.latencies, 0.5)),
      p95: ms(q(scanning.latencies, 0.95)),
      max: ms(Math.max(...scanning.latencies)),
    },
    /** The same keys, same pauses, no scan running. */
    baselineMs: {
      median: ms(q(paused.latencies, 0.5)),
      p95: ms(q(paused.latencies, 0.95)),
      max: ms(Math.max(...paused.latencies)),
    },
    /** Background slices (scan work, and the timeline's redraw when due), ms. */
    sliceMs: {
      median: ms(q(scanning.slices, 0.5)),
      p95: ms(q(scanning.slices, 0.95)),
      max: ms(Math.max(...scanning.slices)),
    },
  },
  scan: {
    ms: idle.scanMs === null ? null : Math.round(idle.scanMs),
    eventsPerSecond: idle.scanMs === null ? null : Math.round((info.total / idle.scanMs) * 1000),
  },
};
if (argv.includes("--json")) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`replay UI step-back frame time, ${result.runtime}, ${result.machine}`);
  console.log(
    `  trace ${trace}: ${info.total.toLocaleString("en-US")} events, terminal ${result.size}, opened at the end in ${result.openMs} ms`,
  );
  console.log(
    `  ${steps} steps back, key to frame written: median ${result.frameMs.median} ms, p95 ${result.frameMs.p95} ms, p99 ${result.frameMs.p99} ms, max ${result.frameMs.max} ms`,
  );
  console.log(
    `  cursor + frame build only: median ${result.engineAndFrameBuildMs.median} ms, p95 ${result.engineAndFrameBuildMs.p95} ms, max ${result.engineAndFrameBuildMs.max} ms`,
  );
  console.log(`  ${result.bytesPerFrame} bytes written per frame (incremental rendering)`);
  const w = result.whileScanning;
  console.log(
    `  while the timeline scans: ${w.keys} single keys, due to frame written: median ${w.frameMs.median} ms, p95 ${w.frameMs.p95} ms, max ${w.frameMs.max} ms`,
  );
  console.log(
    `    (background slices, scan and redraw: median ${w.sliceMs.median} ms, p95 ${w.sliceMs.p95} ms, max ${w.sliceMs.max} ms;`,
  );
  console.log(
    `     the same keys with no scan: median ${w.baselineMs.median} ms, p95 ${w.baselineMs.p95} ms, max ${w.baselineMs.max} ms)`,
  );
  const sc = result.scan;
  console.log(
    `  the timeline's scan, UI idle: ${sc.ms === null ? "did not finish" : `${sc.ms} ms (${(sc.eventsPerSecond! / 1e6).toFixed(2)}M events/s)`}`,
  );
}
process.exit(0);
