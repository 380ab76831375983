// ktrace import: real kernel traces (ftrace text, perf script, babeltrace2 text) read
// into neutral records (read.ts) and mapped to abstract kernel operations (map.ts).
// Ops become ktrace events (convert.ts) written as a .ktrace (write.ts); docs/IMPORT.md.

export { clockText } from "../trace/format.ts";
export {
  Converter,
  type ConvertStats,
  genericText,
  importedConfig,
  importedInitialState,
  MAX_GENERIC_TEXT,
  MAX_IMPORT_LOCKS,
} from "./convert.ts";
export { DETECT_LINES, detectFormat } from "./detect.ts";
export { MAX_LINE_CHARS } from "./lines.ts";
export { MAPPED_EVENTS, type MapOptions, Mapper, type MapStats, taskState } from "./map.ts";
export { type CpuContext, IDLE, type Op, type OpBody, type OpName, type PidSource, type TaskState } from "./ops.ts";
export { MAX_LISTED_LINES, type ReadOptions, type ReadStats, TraceInput } from "./read.ts";
export {
  type ClockInfo,
  type FieldValue,
  IMPORT_FORMATS,
  ImportError,
  type ImportFormat,
  type TraceRecord,
} from "./record.ts";
export { REORDER_WINDOW } from "./reorder.ts";
export { type ImportSummary, importSummary } from "./summary.ts";
export {
  defaultOutput,
  IMPORT_SNAPSHOT_EVERY,
  type ImportOptions,
  type ImportResult,
  importTrace,
  PRELUDE_OPS,
  THREAD_AFTER_EVENTS,
  THREAD_AT_ONCE_BYTES,
} from "./write.ts";
