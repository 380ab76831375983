// Frame time of `ktrace replay` while holding ← on a big trace: for each step
// back, the time from the key's intent to the frame written to the terminal
// (cursor stepBack + the controller's frame + React/Ink render and output).
//
// Usage: npx bun bench/tui-frame.tsx [--events N] [--steps N] [--trace FILE] [--size 80x24] [--json]
// Records a stress trace of N events (default 10,000,000) unless --trace is given.
// docs/BENCHMARKS.md ("Replay UI frame time") keeps the latest figures.

import { existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import process from 'node:process';
import { Writable } from 'node:stream';
import { render } from 'ink';
import { prepare, record } from '../src/record/index.ts';
import { App } from '../src/tui/app.tsx';
import { ReplayController } from '../src/tui/controller.ts';
import { openCursor } from '../src/tui/engine.ts';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const events = Number(flag('--events') ?? 10_000_000);
const steps = Number(flag('--steps') ?? 2000);
const [cols, rows] = (flag('--size') ?? '80x24').split('x').map(Number) as [number, number];
let trace = flag('--trace');
if (trace === undefined) {
  mkdirSync('bench/out', { recursive: true });
  trace = `bench/out/stress-${events}.ktrace`;
  if (!existsSync(trace)) {
    process.stderr.write(`recording ${events} stress events to ${trace}...\n`);
    record(await prepare({ target: 'stress', maxEvents: events }), trace);
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

const { cursor, info } = openCursor(trace);
const t0 = performance.now();
const controller = new ReplayController(cursor, info, { at: 'end' });
const openMs = performance.now() - t0;
const stdout = new FakeTty() as unknown as NodeJS.WriteStream;
const app = render(<App store={controller} isActive={false} />, {
  stdout,
  interactive: true,
  patchConsole: false,
  exitOnCtrlC: false,
  incrementalRendering: true,
  // No frame-rate cap while measuring: every step's frame is rendered.
  maxFps: 1000,
});
await app.waitUntilRenderFlush();

const times: number[] = [];
for (let i = 0; i < steps; i++) {
  const t = performance.now();
  controller.dispatch({ type: 'command', command: 'stepBack' });
  await app.waitUntilRenderFlush();
  times.push(performance.now() - t);
}
// The engine part alone (no rendering), for comparison.
const engine: number[] = [];
for (let i = 0; i < steps; i++) {
  const t = performance.now();
  controller.dispatch({ type: 'command', command: 'stepBack' });
  engine.push(performance.now() - t);
}
app.unmount();
cursor.source.close();

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (x: number) => +x.toFixed(2);
const runtime =
  typeof (globalThis as { Bun?: { version: string } }).Bun !== 'undefined'
    ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
    : typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined'
      ? 'deno'
      : `node ${process.version}`;
const result = {
  runtime,
  machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}`,
  trace,
  events: info.total,
  size: `${cols}x${rows}`,
  openMs: ms(openMs),
  steps,
  frameMs: { median: ms(q(times, 0.5)), p95: ms(q(times, 0.95)), p99: ms(q(times, 0.99)), max: ms(Math.max(...times)) },
  engineAndFrameBuildMs: { median: ms(q(engine, 0.5)), p95: ms(q(engine, 0.95)), max: ms(Math.max(...engine)) },
  bytesPerFrame: Math.round((stdout as unknown as FakeTty).bytes / (steps + 1)),
};
if (argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`replay UI step-back frame time, ${result.runtime}, ${result.machine}`);
  console.log(`  trace ${trace}: ${info.total.toLocaleString('en-US')} events, terminal ${result.size}, opened at the end in ${result.openMs} ms`);
  console.log(`  ${steps} steps back, key to frame written: median ${result.frameMs.median} ms, p95 ${result.frameMs.p95} ms, p99 ${result.frameMs.p99} ms, max ${result.frameMs.max} ms`);
  console.log(`  cursor + frame build only: median ${result.engineAndFrameBuildMs.median} ms, p95 ${result.engineAndFrameBuildMs.p95} ms, max ${result.engineAndFrameBuildMs.max} ms`);
  console.log(`  ${result.bytesPerFrame} bytes written per frame (incremental rendering)`);
}
process.exit(0);
