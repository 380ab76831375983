// Reading and mapping an input end to end, without writing anything: what
// `ktrace import --dry-run` prints, what the bench measures, what tests check.

import { cpuEndRecord, cpuEnds } from "./cpu-end.ts";
import { Mapper, type MapStats } from "./map.ts";
import type { Op } from "./ops.ts";
import { type ReadOptions, type ReadStats, TraceInput } from "./read.ts";
import type { TraceRecord } from "./record.ts";

export interface ImportSummary {
  read: ReadStats;
  map: MapStats;
  /** Ops produced. */
  ops: number;
  /** Time of the first and last record (ts), -1 when none. */
  firstTs: number;
  lastTs: number;
  /** CPUs that appear (sorted). */
  cpus: number[];
}

/**
 * An input being read and mapped: `batches()` yields each batch of records with the
 * ops they mapped to (the ops array is reused: copy what you keep), counting as it
 * goes; `summary()` is complete once it has ended. Setting `mapping` false stops
 * mapping: later batches come with no ops (a pass that only wants the records).
 */
export class MappedInput {
  readonly input: TraceInput;
  mapping = true;
  private mapper: Mapper | undefined;
  private count = 0;
  private firstTs = -1;
  private lastTs = -1;
  private any = false;

  /** Throws ImportError for a refused input. */
  constructor(path: string, opts: ReadOptions = {}) {
    this.input = TraceInput.open(path, opts);
  }

  async *batches(): AsyncGenerator<{ records: readonly TraceRecord[]; ops: Op[] }> {
    const ops: Op[] = [];
    for await (const batch of this.input.records()) {
      ops.length = 0;
      if (this.mapping) {
        const m = (this.mapper ??= new Mapper({ format: this.input.stats.format }));
        if (!this.input.atEnd) for (const r of batch) m.map(r, ops);
        else {
          // The input's last records: a cpu whose last event leaves it running a task gets its end marker (cpu-end.ts).
          const ends = cpuEnds(batch);
          for (let i = 0; i < batch.length; i++) {
            m.map(batch[i]!, ops);
            if (ends.has(i) && m.runsTask(batch[i]!.cpu)) m.map(cpuEndRecord(batch[i]!), ops);
          }
        }
        if (!this.any) this.firstTs = batch[0]!.ts;
        this.any = true;
        this.lastTs = batch[batch.length - 1]!.ts;
        this.count += ops.length;
      }
      yield { records: batch, ops };
    }
  }

  /** Tells the mapper a task is gone (see Mapper.forget). */
  forget(tid: number): void {
    this.mapper?.forget(tid);
  }

  summary(): ImportSummary {
    const m = (this.mapper ??= new Mapper({ format: this.input.stats.format }));
    return {
      read: this.input.stats,
      map: m.stats,
      ops: this.count,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      cpus: m.cpuIds(),
    };
  }
}

/**
 * Reads `path` and maps every record; `onOps` (optional) gets each batch of ops in
 * order (the array is reused: copy what you keep). Throws ImportError for a refused input.
 */
export async function importSummary(
  path: string,
  opts: ReadOptions = {},
  onOps?: (ops: Op[]) => void,
): Promise<ImportSummary> {
  const run = new MappedInput(path, opts);
  for await (const { ops } of run.batches()) onOps?.(ops);
  return run.summary();
}
