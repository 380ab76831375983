// The neutral record: one parsed line of a kernel trace, whatever its format.
//
// Every reader (ftrace.ts, perf.ts, babeltrace.ts) turns a line into a TraceRecord
// and nothing else; the mapping layer (map.ts) reads only TraceRecords. A record
// keeps the input's own event name (normalized, see below) and field names, so an
// event that nothing maps is still shown as the input said it.

/** The text formats import reads. */
export type ImportFormat = "ftrace" | "perf" | "babeltrace2";
export const IMPORT_FORMATS: readonly ImportFormat[] = ["ftrace", "perf", "babeltrace2"];

/** A field's value: a number when the input wrote a plain decimal integer, else its text. */
export type FieldValue = string | number;

/** One event of the input. */
export interface TraceRecord {
  /** 1-based line number in the (decompressed) input. */
  line: number;
  /**
   * Time in the clock's unit (ClockInfo.unit, ns unless the input gives raw counter
   * values) since ClockInfo.origin; an integer. Negative only for a record earlier than
   * the first one read (input slightly out of order).
   */
  ts: number;
  /** CPU the event was recorded on, -1 when the format does not say. */
  cpu: number;
  /** Command name of the task the event happened in ("" when the format does not say). */
  comm: string;
  /** Thread id (the kernel's pid) of that task; 0 is the idle task; -1 when unknown. */
  tid: number;
  /** Thread-group id (the process id users know), when the format gives it. */
  pid?: number;
  /**
   * Event name, normalized: without a perf `system:` prefix (kept in `system`), and
   * LTTng's names mapped to the kernel tracepoint's (irq_softirq_entry → softirq_entry).
   */
  name: string;
  /** Tracepoint subsystem (sched, irq, lock, ...) when the format gives it. */
  system?: string;
  /** The event's fields by name, as the input wrote them (see fields.ts). */
  fields: Record<string, FieldValue>;
  /** ftrace's irq-info column (`d..2.`) when present. */
  flags?: string;
}

/**
 * A record with every property present, in one order (optional ones undefined), so
 * that all records share one shape and the code reading them stays monomorphic.
 * Every reader builds its records here.
 */
export function newRecord(
  line: number,
  ts: number,
  cpu: number,
  comm: string,
  tid: number,
  pid: number | undefined,
  name: string,
  system: string | undefined,
  fields: Record<string, FieldValue>,
  flags: string | undefined,
): TraceRecord {
  return { line, ts, cpu, comm, tid, pid, name, system, fields, flags };
}

/** What the input's timestamps are, so the imported trace can say so. */
export interface ClockInfo {
  /**
   * How the input wrote time: `seconds` (ftrace/perf/babeltrace2 --clock-seconds:
   * seconds since the trace clock's epoch, usually boot), `time-of-day`
   * (babeltrace2's default `[hh:mm:ss.nnnnnnnnn]`; wraps at midnight, see IMPORT.md),
   * `date` (babeltrace2 --clock-date), `counter` (ftrace with a counter/TSC
   * trace_clock, babeltrace2 --clock-cycles: raw integers).
   */
  kind: "seconds" | "time-of-day" | "date" | "counter";
  /** Unit of TraceRecord.ts: `ns`, or `count` for raw counter values. */
  unit: "ns" | "count";
  /**
   * The input time that ts = 0 stands for, in the input's notation (`385` seconds,
   * `2024-05-01 13:00:00`, `13:00:00`, `0`): the whole second at or below the first
   * record's time.
   */
  origin: string;
  /** Most digits after the decimal point seen (6: µs as ftrace prints by default, 9: ns). */
  precision: number;
}

/** Errors about the input (bad format, refused file): one line, exit 2. */
export class ImportError extends Error {
  override name = "ImportError";
  readonly exitCode = 2;
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    if (hint !== undefined) this.hint = hint;
  }
}
