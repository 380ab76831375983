// The .ktrace file format: writer, reader, recovery, typed errors.
// Byte-level spec: docs/FORMAT.md.

export { crc32 } from "./compress.ts";
export { type Gap, TraceCorruptError, TraceError, type TraceErrorCode, TraceWriteError } from "./errors.ts";
export { columnsToEvents, type EventColumns, fillEvent, type KindRow, Scratch } from "./event-codec.ts";
export {
  clockText,
  FOOTER_MAGIC,
  FOOTER_SIZE,
  FORMAT_MAJOR,
  FORMAT_MINOR,
  type HeaderData,
  type ImportedMeta,
  type IndexData,
  MAGIC,
  type TraceMeta,
  type TraceSummary,
} from "./format.ts";
export { type LostSnapshot, type OpenOptions, openTrace, type Recovery, TraceReader } from "./reader.ts";
export {
  currentKinds,
  DEFAULT_CHUNK_EVENTS,
  THREAD_MIN_EVENTS,
  TraceWriter,
  type WriteResult,
  type WriterOptions,
} from "./writer.ts";
