// ktrace import: real kernel traces (ftrace text, perf script, babeltrace2 text) read
// into neutral records (read.ts) and mapped to abstract kernel operations (map.ts).
// Ops become ktrace events (convert.ts) written as a .ktrace (write.ts); docs/IMPORT.md.

export { IMPORT_FORMATS, ImportError, type ClockInfo, type FieldValue, type ImportFormat, type TraceRecord } from "./record.ts";
export { TraceInput, MAX_LISTED_LINES, type ReadOptions, type ReadStats } from "./read.ts";
export { REORDER_WINDOW } from "./reorder.ts";
export { DETECT_LINES, detectFormat } from "./detect.ts";
export { MAX_LINE_CHARS } from "./lines.ts";
export { MAPPED_EVENTS, Mapper, taskState, type MapOptions, type MapStats } from "./map.ts";
export { IDLE, type CpuContext, type Op, type OpBody, type OpName, type PidSource, type TaskState } from "./ops.ts";
export { importSummary, type ImportSummary } from "./summary.ts";
export { Converter, genericText, importedConfig, importedInitialState, MAX_GENERIC_TEXT, MAX_IMPORT_LOCKS, type ConvertStats } from "./convert.ts";
export { defaultOutput, importTrace, IMPORT_SNAPSHOT_EVERY, PRELUDE_OPS, type ImportOptions, type ImportResult } from "./write.ts";
export { clockText } from "../trace/format.ts";
