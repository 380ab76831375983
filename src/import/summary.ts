// Reading and mapping an input end to end, without writing anything: what
// `ktrace import --dry-run` prints, what the bench measures, what tests check.

import { Mapper, type MapStats } from "./map.ts";
import type { Op } from "./ops.ts";
import { TraceInput, type ReadOptions, type ReadStats } from "./read.ts";

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
 * Reads `path` and maps every record; `onOps` (optional) gets each batch of ops in
 * order (the array is reused: copy what you keep). Throws ImportError for a refused input.
 */
export async function importSummary(path: string, opts: ReadOptions = {}, onOps?: (ops: Op[]) => void): Promise<ImportSummary> {
  const input = TraceInput.open(path, opts);
  let mapper: Mapper | undefined;
  const ops: Op[] = [];
  let count = 0;
  let firstTs = -1;
  let any = false;
  let lastTs = -1;
  for await (const batch of input.records()) {
    mapper ??= new Mapper({ format: input.stats.format });
    ops.length = 0;
    for (const r of batch) mapper.map(r, ops);
    if (!any) firstTs = batch[0]!.ts;
    any = true;
    lastTs = batch[batch.length - 1]!.ts;
    count += ops.length;
    onOps?.(ops);
  }
  mapper ??= new Mapper({ format: input.stats.format });
  return { read: input.stats, map: mapper.stats, ops: count, firstTs, lastTs, cpus: mapper.cpuIds() };
}
