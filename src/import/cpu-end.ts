// The end of each cpu's events in an imported trace.
//
// A tracer may stop one cpu's buffer before another's: `perf record -a -- CMD`
// disables its events cpu by cpu when CMD exits, so a cpu's last events can be
// missing while another cpu's go on. In every capture made on the project's 2-cpu
// VM, cpu 1 switches to the perf task at the very end while cpu 0's last recorded
// switch still runs it (cpu 0's switch away was never recorded): without a marker,
// `ktrace check` reports a task on two cpus at once, a trace artefact and not a
// kernel bug. Nothing in the input says where a cpu's recording stopped; what is
// known is that after its last event the trace says nothing more of it.
//
// So the import maps a marker right after each cpu's last event: a `lost` event with
// count -1 (describe.ts: "its last event in the trace"), after which the cpu's task is
// unknown, as after lost events, and the consistency rules do not judge it until its
// next switch (there is none). It is added for every cpu whose last event comes before
// the trace's last one, leaves it running a task (an idle cpu needs none: the idle task
// is the cpu's own, and a switch away from idle is not judged), and is among the
// records the reorder window still holds at the end (TraceInput.atEnd,
// REORDER_WINDOW): a cpu silent for longer than that keeps what its last event said. The reader's records stay the input's lines; the markers are
// mapped beside them (summary.ts) and counted in the import summary under their own
// name (CPU_END), never as input lines.

import { newRecord, type TraceRecord } from "./record.ts";

/** The marker's record name (the summary's row; not a tracepoint name any tracer uses). */
export const CPU_END = "ktrace_cpu_end";

/**
 * The indexes of the records of `last` (the input's last records, in time order)
 * after which a cpu's end marker goes: each cpu's last record, when it is earlier
 * than the final one.
 */
export function cpuEnds(last: readonly TraceRecord[]): Set<number> {
  const at = new Set<number>();
  if (last.length < 2) return at;
  const final = last[last.length - 1]!.ts;
  const lastOf = new Map<number, number>();
  for (let i = 0; i < last.length; i++) {
    const c = last[i]!.cpu;
    if (c >= 0) lastOf.set(c, i);
  }
  for (const i of lastOf.values()) if (last[i]!.ts < final) at.add(i);
  return at;
}

/** The end marker of r's cpu, at r's time and line. */
export function cpuEndRecord(r: TraceRecord): TraceRecord {
  return newRecord(r.line, r.ts, r.cpu, "", -1, undefined, CPU_END, "ktrace", {}, undefined);
}
