// ktrace import: real kernel traces (ftrace text, perf script, babeltrace2 text) read
// into neutral records (read.ts) and mapped to abstract kernel operations (map.ts).
// Phase 1: everything up to the kernel boundary; turning ops into ktrace events and
// writing a .ktrace is phase 2 (docs/IMPORT.md).

export { IMPORT_FORMATS, ImportError, type ClockInfo, type FieldValue, type ImportFormat, type TraceRecord } from "./record.ts";
export { TraceInput, MAX_LISTED_LINES, type ReadOptions, type ReadStats } from "./read.ts";
export { REORDER_WINDOW } from "./reorder.ts";
export { DETECT_LINES, detectFormat } from "./detect.ts";
export { MAX_LINE_CHARS } from "./lines.ts";
export { MAPPED_EVENTS, Mapper, taskState, type MapOptions, type MapStats } from "./map.ts";
export { IDLE, type CpuContext, type Op, type OpBody, type OpName, type PidSource, type TaskState } from "./ops.ts";
export { importSummary, type ImportSummary } from "./summary.ts";
