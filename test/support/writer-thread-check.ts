// The trace writer's worker thread (TraceWriter.useThread) against the writer
// alone: the same bytes for the same runs, a write failure on the thread
// reported as the writer reports its own, and an abort that stops it. Run in
// the test process (Node: no worker starts there, so this checks the
// fallback) by test/perf-record.test.ts, and as a script under Bun and Deno:
//   bun test/support/writer-thread-check.ts DIR   (prints JSON)

import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { initState, simulate } from "../../src/kernel/index.ts";
import { metaOf, prepare, type RunRequest, record, recordAsync } from "../../src/record/index.ts";
import { TraceWriteError, TraceWriter } from "../../src/trace/index.ts";

export interface WriterThreadReport {
  /** Whether useThread() started a thread ("" when it did, else why not). */
  started: string;
  /** Runs whose threaded file differs from the one written alone. */
  differ: string[];
  runs: number;
  /** What a write failure on the thread gave: the error's class, system code and kept events; or what went wrong. */
  failure: string;
  /** What an abort in the middle left: "removed" when the partial file is gone. */
  abort: string;
}

const RUNS: (RunRequest & { every?: number; gz?: boolean })[] = [
  { target: "stress", maxEvents: 300_000 },
  { target: "stress", maxEvents: 100_003, opts: ["state=vars"], every: 1000 },
  { target: "tcmalloc-fork" },
  { target: "stress", maxEvents: 50_000, gz: true },
];

export async function checkWriterThread(parent: string): Promise<WriterThreadReport> {
  const dir = mkdtempSync(join(parent, "run-"));
  const differ: string[] = [];
  let started = "";
  for (const [i, r] of RUNS.entries()) {
    const p = await prepare(r);
    const ext = r.gz ? ".ktrace.gz" : ".ktrace";
    const alone = join(dir, `alone-${i}${ext}`);
    const threaded = join(dir, `threaded-${i}${ext}`);
    record(p, alone, r.every);
    const notes: string[] = [];
    await recordAsync(p, threaded, { snapshotEvery: r.every, thread: true, note: (l) => notes.push(l) });
    if (!notes.some((n) => n.includes("second thread"))) started = notes.join("; ");
    if (!readFileSync(alone).equals(readFileSync(threaded))) differ.push(`${JSON.stringify(r)}`);
    rmSync(alone);
    rmSync(threaded);
  }
  const report = { started, differ, runs: RUNS.length, failure: await failure(dir), abort: await abort(dir) };
  rmSync(dir, { recursive: true, force: true });
  return report;
}

/** The thread's writes fail (its file is /dev/full): the next append or finish throws TraceWriteError. */
async function failure(dir: string): Promise<string> {
  if (!existsSync("/dev/full")) return "no /dev/full";
  const path = join(dir, "full.ktrace");
  const p = await prepare({ target: "stress", maxEvents: 200_000 });
  const w = TraceWriter.create(path, metaOf(p, 4096), initState(p.world.config), { snapshotEvery: 4096 });
  // The header and the initial snapshot are written; the thread opens the partial file by name: make that name the full device.
  rmSync(w.partialPath);
  symlinkSync("/dev/full", w.partialPath);
  try {
    const why = await w.useThread();
    if (why !== null) {
      w.abort();
      return `no thread: ${why}`;
    }
    simulate(p.world, { seed: p.variant.seed, maxEvents: p.maxEvents }, (ev, s) => w.append(ev, s));
    w.finish();
    return "no error";
  } catch (e) {
    w.abort();
    if (!(e instanceof TraceWriteError)) return `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    return `TraceWriteError ${e.sysCode} kept ${e.kept} ${e.message.includes("no space left on device") ? "says so" : e.message}`;
  } finally {
    rmSync(w.partialPath, { force: true });
  }
}

/** An abort half-way (the run broke) stops the thread and removes the partial file. */
async function abort(dir: string): Promise<string> {
  const path = join(dir, "aborted.ktrace");
  const p = await prepare({ target: "stress", maxEvents: 200_000 });
  const w = TraceWriter.create(path, metaOf(p, 4096), initState(p.world.config), { snapshotEvery: 4096 });
  const why = await w.useThread();
  if (why !== null) {
    w.abort();
    return `no thread: ${why}`;
  }
  try {
    simulate(p.world, { seed: p.variant.seed, maxEvents: p.maxEvents }, (ev, s) => {
      w.append(ev, s);
      if (ev.seq === 100_000) throw new Error("stop here");
    });
  } catch {
    w.abort();
  }
  return existsSync(w.partialPath) || existsSync(path) ? "left files" : "removed";
}

const self = typeof process !== "undefined" ? (process.argv[1] ?? "") : "";
if (self.endsWith("writer-thread-check.ts")) {
  console.log(JSON.stringify(await checkWriterThread(process.argv[2]!)));
  // The writer threads are unref'd; nothing else keeps the process.
}
