// Writing the embedded-trace block that embed.ts describes and reads: apart
// from it so that reading a trace does not load the writer's gzip (fflate).

import { Buffer } from "node:buffer";
import { safeText } from "../util/safe-text.ts";
import { crc32 } from "./checksum.ts";
import { gzip } from "./compress.ts";
import { EMBED_BEGIN, EMBED_END, EMBED_LINE, isGzip } from "./embed.ts";

/**
 * Gzip-wraps bytes with the trace layer's deterministic gzip (compress.ts;
 * same output on every runtime, unlike node:zlib). Bytes already gzip'd are
 * returned as is.
 */
export function gzipTrace(raw: Uint8Array): Uint8Array {
  if (isGzip(raw)) return raw;
  return gzip(raw);
}

/**
 * The embedded-trace block (markers included, no trailing newline) for a
 * trace's bytes; gzip-wraps them first unless they already are.
 */
export function embedTrace(bytes: Uint8Array, name: string): string {
  const gz = gzipTrace(bytes);
  const b64 = Buffer.from(gz.buffer, gz.byteOffset, gz.byteLength).toString("base64");
  const lines = [
    EMBED_BEGIN,
    `name: ${safeText(name)}`,
    `bytes: ${gz.length}`,
    `crc32: ${crc32(gz).toString(16).padStart(8, "0")}`,
  ];
  for (let i = 0; i < b64.length; i += EMBED_LINE) lines.push(b64.slice(i, i + EMBED_LINE));
  lines.push(EMBED_END);
  return lines.join("\n");
}
