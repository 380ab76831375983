// The .ktrace file format: writer, reader, recovery, typed errors.
// Byte-level spec: docs/FORMAT.md.

export { TraceWriter, DEFAULT_CHUNK_EVENTS, THREAD_MIN_EVENTS, currentKinds, type WriterOptions, type WriteResult } from "./writer.ts";
export { TraceReader, openTrace, type OpenOptions, type Recovery, type LostSnapshot } from "./reader.ts";
export { TraceError, TraceCorruptError, TraceWriteError, type TraceErrorCode, type Gap } from "./errors.ts";
export { Scratch, columnsToEvents, fillEvent, type EventColumns, type KindRow } from "./event-codec.ts";
export {
  FORMAT_MAJOR, FORMAT_MINOR, MAGIC, FOOTER_MAGIC, FOOTER_SIZE, clockText,
  type TraceMeta, type TraceSummary, type HeaderData, type IndexData, type ImportedMeta,
} from "./format.ts";
export { crc32 } from "./compress.ts";
