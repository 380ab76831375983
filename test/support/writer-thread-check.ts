// The trace writer's worker thread (TraceWriter.useThread) against the writer
// alone: the same bytes for the same runs, a write failure on the thread
// reported as the writer reports its own, and an abort that stops it. The
// recorder's thread also encodes (useThread's `encode`: events as EventRows,
// the snapshot rule on the thread): events rows do not carry (wide fields,
// long time steps, lone surrogates) give the same bytes, and a bad field the
// same error. Run in
// the test process (Node: no worker starts there, so this checks the
// fallback) by test/perf-record.test.ts, and as a script under Bun and Deno:
//   bun test/support/writer-thread-check.ts DIR   (prints JSON)

import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { initState, type KEvent, type KState, simulate } from "../../src/kernel/index.ts";
import { metaOf, prepare, type RunRequest, record, recordAsync } from "../../src/record/index.ts";
import { TraceError, TraceWriteError, TraceWriter } from "../../src/trace/index.ts";

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
  /** Events EventRows does not carry, with an encoding thread against the writer alone: "same", or what differed. */
  odd: string;
}

const RUNS: (RunRequest & { every?: number; gz?: boolean })[] = [
  { target: "stress", maxEvents: 300_000 },
  { target: "stress", maxEvents: 100_003, opts: ["state=vars"], every: 1000 },
  { target: "tcmalloc-fork" },
  { target: "stress", maxEvents: 50_000, gz: true },
  // A state that keeps growing: most due snapshots are skipped (SnapshotRule, decided on the thread).
  { target: join(import.meta.dirname ?? ".", "..", "..", "examples", "zombie-leak.ts"), maxEvents: 60_000 },
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
  const report = {
    started,
    differ,
    runs: RUNS.length,
    failure: await failure(dir),
    abort: await abort(dir),
    odd: await odd(dir),
  };
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
    const why = await w.useThread(undefined, { encode: true });
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
  const why = await w.useThread(undefined, { encode: true });
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

/**
 * Events that EventRows refuses, so that their chunk is encoded on the writer's
 * own thread: fields past int32, a time step past int32, a lone surrogate, a
 * string where a number belongs; and a field that is not an integer, which
 * fails both writers the same way. Returns "same" or what differed.
 */
async function odd(dir: string): Promise<string> {
  const p = await prepare({ target: "stress", maxEvents: 40_000 });
  const odd = (ev: KEvent): void => {
    const q = ev.seq;
    if (q === 5_000) ev.a = 2 ** 40;
    if (q === 9_001) ev.s = "lone \ud800 surrogate";
    if (q === 13_000) ev.b = -(2 ** 33);
    if (q === 21_000) ev.cpu = "1" as unknown as number;
    if (q >= 17_000) ev.time += 2 ** 35;
  };
  const run = async (bad: boolean): Promise<string[]> => {
    const out: string[] = [];
    const writers: { w: TraceWriter; path: string; error: string }[] = [];
    for (const name of ["alone", "threaded"]) {
      const path = join(dir, `odd-${name}.ktrace`);
      const w = TraceWriter.create(path, metaOf(p, 4096), initState(p.world.config), { snapshotEvery: 4096 });
      if (name === "threaded") {
        const why = await w.useThread(undefined, { encode: true });
        if (why !== null) out.push(`no thread: ${why}`);
      }
      writers.push({ w, path, error: "" });
    }
    simulate(p.world, { seed: p.variant.seed, maxEvents: p.maxEvents }, (ev: KEvent, s: KState) => {
      odd(ev);
      if (bad && ev.seq === 30_000) ev.c = 1.5;
      for (const x of writers)
        if (x.error === "")
          try {
            x.w.append(ev, s);
          } catch (e) {
            x.error = e instanceof TraceError ? `${e.code}: ${e.message.replace(x.w.partialPath, "PATH")}` : String(e);
          }
    });
    for (const x of writers) {
      if (x.error === "") x.w.finish();
      else x.w.abort();
      out.push(x.error === "" ? readFileSync(x.path).toString("base64") : x.error);
      rmSync(x.path, { force: true });
    }
    return out;
  };
  const good = await run(false);
  if (good.length !== 2 || good[0] !== good[1]) return `the files differ${good.length > 2 ? ` (${good[0]})` : ""}`;
  const bad = await run(true);
  if (bad[0] !== bad[1]) return `errors differ: ${bad[0]} / ${bad[1]}`;
  return bad[0]!.startsWith("bad-event: events 28672..") ? "same" : `unexpected: ${bad[0]}`;
}

const self = typeof process !== "undefined" ? (process.argv[1] ?? "") : "";
if (self.endsWith("writer-thread-check.ts")) {
  console.log(JSON.stringify(await checkWriterThread(process.argv[2]!)));
  // The writer threads are unref'd; nothing else keeps the process.
}
