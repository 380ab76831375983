// gzip-wraps bytes as the writer does for .gz paths (the trace layer's one gzip helper).
export { gzip as gzipTrace } from "../../src/trace/compress.ts";
