// Writing an import: input → records → ops → ktrace events → a .ktrace, streamed
// with the trace writer (snapshots, index), in bounded memory.
//
// The header is written before the first event and must give the trace's CPU
// count and clock, which the input declares only sometimes (tracefs `#P:N`,
// trace-cmd `cpus=N`). So the first PRELUDE_OPS ops are held back: the header
// takes the largest of the declared count and the CPUs they name, and the
// clock as read so far. A record on a CPU beyond that later on (a quiet CPU in
// a perf or babeltrace2 trace) stops the write: the rest of the input is read
// for its CPUs only, and the import starts again with the count known (the
// report says it read the input twice).
//
// A long import compresses and writes its chunks on a second thread
// (TraceWriter.useThread: the same bytes), started with the trace when the
// input holds THREAD_AT_ONCE_BYTES of text or more, else once the trace holds
// THREAD_AFTER_EVENTS events, so that a short import does not pay the
// thread's start (~50 ms): this thread then parses, maps, converts and
// encodes while the other deflates and writes.

import { basename } from "node:path";
import { type ImportedMeta, type TraceMeta, TraceWriter, type WriteResult } from "../trace/index.ts";
import { Converter, type ConvertStats, importedConfig, importedInitialState, importTierHints } from "./convert.ts";
import type { MapStats } from "./map.ts";
import type { Op } from "./ops.ts";
import type { ReadOptions, ReadStats } from "./read.ts";
import { ImportError } from "./record.ts";
import { MappedInput } from "./summary.ts";

/** Ops held before the header is written, to learn the CPU count (and the clock's precision, and whether the input has sched_process_free). */
export const PRELUDE_OPS = 32_768;
/** Events between two snapshots of an imported trace (--snapshot-every): its states are larger than a scenario's (every task of the machine). */
export const IMPORT_SNAPSHOT_EVERY = 65_536;

/** Events an import writes before it starts a writer thread (thread "auto"): by then the thread's start (~50 ms) costs less than the compression it takes over. */
export const THREAD_AFTER_EVENTS = 1 << 17;
/**
 * Text bytes of input from which thread "auto" starts the writer thread with the
 * trace (about 160K ftrace lines, more than THREAD_AFTER_EVENTS events): a long
 * import then never deflates on this thread, so the JIT does not compile the
 * compressor twice (here, then on the writer thread: ~0.5 CPU s, cold).
 */
export const THREAD_AT_ONCE_BYTES = 16 << 20;

export interface ImportOptions extends ReadOptions {
  /** Events between snapshots (default IMPORT_SNAPSHOT_EVERY). */
  snapshotEvery?: number;
  /** The program writing the trace (the header's writer). */
  writer: string;
  /** Ops held before the header (default PRELUDE_OPS; tests make it small). */
  prelude?: number;
  /**
   * Compress and write on a worker thread (TraceWriter.useThread): true (from
   * the start), false, or "auto" (default: from the start for THREAD_AT_ONCE_BYTES
   * of input or more, else from THREAD_AFTER_EVENTS events on).
   * The trace is the same either way.
   */
  thread?: boolean | "auto";
  /** Input text bytes from which "auto" starts the thread with the trace (default THREAD_AT_ONCE_BYTES; tests change it). */
  threadAtOnceBytes?: number;
  // note (ReadOptions) also hears how the import wrote (the writer thread, or why not).
}

export interface ImportResult {
  read: ReadStats;
  map: MapStats;
  convert: ConvertStats;
  written: WriteResult;
  /** Ops mapped (those of the pass that wrote the trace). */
  ops: number;
  /** CPUs of the trace. */
  cpus: number;
  /** 2 when a record on an undeclared CPU made the import start again (see the file comment). */
  passes: number;
  /** Time of the first and last record (ts), -1 when none. */
  firstTs: number;
  lastTs: number;
  /** The header's imported section. */
  imported: ImportedMeta;
}

/** The default output for an input: its base name without .gz and one more extension, plus .ktrace, in the current directory. */
export function defaultOutput(input: string): string {
  let b = basename(input).replace(/\.gz$/i, "");
  const dot = b.lastIndexOf(".");
  if (dot > 0) b = b.slice(0, dot);
  return `${b || "imported"}.ktrace`;
}

/** Raised inside a pass when a record names a CPU beyond the header's. */
class CpuOverflow {
  constructor(readonly cpu: number) {}
}

/**
 * Imports `path` into a .ktrace at `out` (written to `<out>.partial` and
 * renamed at the end; nothing is left behind on failure). Throws ImportError
 * for a refused input, TraceWriteError when the output cannot be written.
 */
export async function importTrace(path: string, out: string, opts: ImportOptions): Promise<ImportResult> {
  let cpus = 0;
  for (let pass = 1; ; pass++) {
    try {
      const r = await onePass(path, out, opts, cpus);
      return { ...r, passes: pass };
    } catch (e) {
      if (!(e instanceof CpuOverflowFound) || pass > 1)
        throw e instanceof CpuOverflowFound
          ? new ImportError(`cpu ${e.cpus - 1} appeared after the import knew ${cpus} cpus`)
          : e;
      cpus = e.cpus;
    }
  }
}

/** The CPU count a pass must restart with. */
class CpuOverflowFound extends Error {
  constructor(readonly cpus: number) {
    super(`restart with ${cpus} cpus`);
  }
}

async function onePass(
  path: string,
  out: string,
  opts: ImportOptions,
  knownCpus: number,
): Promise<Omit<ImportResult, "passes">> {
  const run = new MappedInput(path, opts);
  const input = run.input;
  await importTierHints(input.textBytes);
  let writer: TraceWriter | undefined;
  let conv: Converter | undefined;
  let cpus = knownCpus;
  let imported: ImportedMeta | undefined;
  const prelude: Op[] = [];
  let overflow = -1;
  const want = opts.thread ?? "auto";
  /** Whether the thread starts with the trace (asked for, or a long input). */
  const atOnce =
    want === true || (want === "auto" && input.textBytes >= (opts.threadAtOnceBytes ?? THREAD_AT_ONCE_BYTES));
  /** Whether the writer thread was asked for yet (once per pass). */
  let asked = want === false;
  /** The thread of a long input, started now: it loads its code while this one reads up to the header. */
  let early = atOnce ? TraceWriter.spawnThread() : undefined;

  /** Starts the writer thread, once; the writer goes on alone when it cannot. */
  const startThread = async (w: TraceWriter) => {
    asked = true;
    const e = early;
    early = undefined;
    const why = await w.useThread(e);
    opts.note?.(
      why === null
        ? `import: compressing and writing on a second thread${atOnce ? "" : ` from event ${w.events}`}`
        : `import: no writer thread (${why}); writing on this one`,
    );
  };

  const start = async () => {
    let maxCpu = -1;
    for (const o of prelude) if (o.cpu > maxCpu) maxCpu = o.cpu;
    cpus = Math.max(cpus, input.stats.declaredCpus, maxCpu + 1, 1);
    const st = input.stats;
    imported = { format: st.format, file: path, detected: st.detected, gzip: st.gzip, clock: input.clockNow() };
    const meta: TraceMeta = {
      scenario: basename(path),
      fix: "",
      seed: 0,
      options: {},
      config: importedConfig(cpus),
      writer: opts.writer,
      snapshotEvery: opts.snapshotEvery ?? IMPORT_SNAPSHOT_EVERY,
      maxEvents: 0,
      imported,
    };
    const w = TraceWriter.create(out, meta, importedInitialState(cpus), {
      // Event chunks and snapshots by deflateFast: as small as fflate's level 1, in half its CPU (docs/IMPORT.md, Speed).
      fastDeflate: true,
    });
    writer = w;
    if (atOnce) await startThread(w);
    // An input without sched_process_free (none among the held ops): tasks are released when they leave a cpu dead.
    conv = new Converter(cpus, (ev, s) => w.append(ev, s), {
      releaseDead: !prelude.some((o) => o.op === "free"),
      onRelease: (tid) => run.forget(tid),
    });
    for (const o of prelude) feed(o);
    prelude.length = 0;
  };
  const feed = (o: Op) => {
    if (o.cpu >= cpus) throw new CpuOverflow(o.cpu);
    conv!.op(o);
  };

  try {
    const hold = opts.prelude ?? PRELUDE_OPS;
    for await (const { records, ops } of run.batches()) {
      if (overflow >= 0) {
        // Only the CPUs are wanted now.
        for (const r of records) if (r.cpu > overflow) overflow = r.cpu;
        continue;
      }
      try {
        for (const o of ops) {
          if (writer === undefined) {
            if (prelude.length < hold) {
              prelude.push(o);
              continue;
            }
            await start();
          }
          feed(o);
        }
        if (!asked && writer !== undefined && writer.events >= THREAD_AFTER_EVENTS) await startThread(writer);
      } catch (e) {
        if (!(e instanceof CpuOverflow)) throw e;
        overflow = e.cpu;
        for (const r of records) if (r.cpu > overflow) overflow = r.cpu;
        run.mapping = false;
        writer?.abort();
        writer = undefined;
      }
    }
    if (overflow >= 0) throw new CpuOverflowFound(overflow + 1);
    if (writer === undefined) await start();
    if (want === false) opts.note?.("import: writing on this thread (as asked)");
    else if (!asked) opts.note?.(`import: writing on this thread (${writer!.events} events)`);
    // No run outcome: the trace ends where the input does (ok, as a recorded run that completed; info, report and the TUI say "none").
    const written = writer!.finish({ outcome: { kind: "ok", seq: writer!.events - 1, message: "" } });
    const s = run.summary();
    return {
      read: s.read,
      map: s.map,
      convert: conv!.stats,
      written,
      ops: s.ops,
      cpus,
      firstTs: s.firstTs,
      lastTs: s.lastTs,
      imported: imported!,
    };
  } catch (e) {
    writer?.abort();
    throw e;
  } finally {
    if (early !== undefined) TraceWriter.dropThread(early);
  }
}
