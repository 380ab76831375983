// A trace embedded in text: a Markdown bug report (ktrace report) carries
// the gzip'd trace as base64, and openTrace() accepts such a report, or any
// text pasted from one, wherever it accepts a .ktrace (the reader calls
// embeddedTraceIn() for an input that is neither a .ktrace nor gzip), so a
// trace can travel through an issue comment and back.
//
// The embedded form (a PEM-like block, valid inside a Markdown code fence, so
// it survives both copying the Markdown source and copying the rendered page):
//
//   -----BEGIN KTRACE TRACE-----
//   name: tcmalloc-fork-s1.ktrace
//   bytes: 3267
//   crc32: 1a2b3c4d
//   H4sIAAAAAAAA/+y9...        base64 of the gzip'd trace, 76 columns
//   -----END KTRACE TRACE-----
//
// `bytes` and `crc32` describe the decoded (gzip'd) bytes, so a block cut
// short or mangled in transit is reported as such rather than as a bad trace.
// Lines may carry Markdown quote prefixes ("> ", as when a report is quoted
// in a reply) and any indentation; both are ignored.
//
// This file reads the block (the reader loads it); embed-write.ts writes it
// (with the writer's gzip, so that reading does not load fflate).

import { Buffer } from "node:buffer";
import { safeText } from "../util/safe-text.ts";
import { crc32 } from "./checksum.ts";
import { TraceError } from "./errors.ts";
import { MAGIC } from "./format.ts";

export const EMBED_BEGIN = "-----BEGIN KTRACE TRACE-----";
export const EMBED_END = "-----END KTRACE TRACE-----";
/** Largest gzip'd trace a report embeds. */
export const EMBED_LIMIT = 64 * 1024;
/** Text files larger than this are not searched for an embedded trace. */
export const EMBED_MAX_TEXT = 16 * 1024 * 1024;
/** Base64 columns of the block. */
export const EMBED_LINE = 76;

/** True when bytes start like a gzip stream (1f 8b). */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** True when bytes start with the .ktrace magic. */
export function isKtrace(b: Uint8Array): boolean {
  if (b.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (b[i] !== MAGIC[i]) return false;
  return true;
}

/** A trace found in text. */
export interface Embedded {
  /** The trace's bytes (gzip-wrapped as embedded). */
  bytes: Uint8Array;
  /** File name recorded in the block ("" when absent). */
  name: string;
}

/** Strips Markdown quote prefixes ("> > ") and surrounding whitespace. */
function bare(line: string): string {
  return line.replace(/^(?:\s*>)*/, "").trim();
}

/**
 * Finds the first embedded trace in text. Returns null when there is no
 * BEGIN marker; throws TraceError ("bad-header") when a block is there but
 * cut short or damaged, naming `where` and what is wrong.
 */
export function findEmbeddedTrace(text: string, where = "input"): Embedded | null {
  const lines = text.split(/\r\n|\r|\n/);
  const start = lines.findIndex((l) => bare(l) === EMBED_BEGIN);
  if (start < 0) return null;
  const fields: Record<string, string> = {};
  let b64 = "";
  let ended = false;
  for (let i = start + 1; i < lines.length; i++) {
    const l = bare(lines[i]!);
    if (l === EMBED_END) {
      ended = true;
      break;
    }
    if (l === "" || l.startsWith("```") || l.startsWith("~~~")) continue;
    const kv = /^([a-z][a-z0-9-]*):\s*(.*)$/i.exec(l);
    if (kv && b64 === "") {
      fields[kv[1]!.toLowerCase()] = kv[2]!;
      continue;
    }
    const chunk = l.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(chunk)) {
      throw new TraceError(
        "bad-header",
        `${where}: the embedded trace has a bad line ${i + 1} (not base64: '${safeText(chunk.slice(0, 20))}…'); copy the block again from the report`,
        where,
      );
    }
    b64 += chunk;
  }
  const name = fields["name"] ?? "";
  if (!ended) {
    throw new TraceError(
      "bad-header",
      `${where}: the embedded trace is cut short (no '${EMBED_END}' line); copy the whole block from the report, up to and including that line`,
      where,
    );
  }
  const bytes = new Uint8Array(Buffer.from(b64, "base64"));
  const want = fields["bytes"] !== undefined ? Number(fields["bytes"]) : undefined;
  if (want !== undefined && Number.isInteger(want) && bytes.length !== want) {
    throw new TraceError(
      "bad-header",
      `${where}: the embedded trace decodes to ${bytes.length} bytes, its header says ${want}; lines were lost or changed when it was copied: copy the block again`,
      where,
    );
  }
  const sum = fields["crc32"];
  if (sum !== undefined && /^[0-9a-f]{1,8}$/i.test(sum) && crc32(bytes) !== parseInt(sum, 16)) {
    throw new TraceError(
      "bad-header",
      `${where}: the embedded trace fails its checksum (crc32 ${crc32(bytes).toString(16).padStart(8, "0")}, expected ${sum.toLowerCase()}); it was changed when copied: copy the block again`,
      where,
    );
  }
  if (bytes.length === 0)
    throw new TraceError(
      "bad-header",
      `${where}: the embedded trace is empty; copy the block again from the report`,
      where,
    );
  return { bytes, name };
}

/** A `ktrace record ...` command line in a report without an embedded trace, to suggest instead. */
function reproduceLine(text: string): string | null {
  const m = /^\s*(?:[$>]\s*)?(ktrace record [^\n`]+)$/m.exec(text);
  return m ? m[1]!.trim() : null;
}

/** Text, not binary: no NUL and no control bytes other than whitespace and ESC among `head`. */
export function looksLikeText(head: Uint8Array): boolean {
  for (const b of head) if (b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b)) return false;
  return true;
}

/**
 * The hook the trace reader calls for an input that is neither a .ktrace nor
 * gzip: when `all` is text holding an embedded trace, its bytes (gzip'd);
 * null when it holds none (the reader then reports a bad magic). Throws
 * TraceError for a damaged or cut-short block, and for a ktrace report that
 * has no embedded trace (naming the command that re-records it).
 */
export function embeddedTraceIn(all: Uint8Array, where: string): Uint8Array | null {
  if (all.length > EMBED_MAX_TEXT || !looksLikeText(all.subarray(0, 4096))) return null;
  const text = new TextDecoder("utf-8").decode(all);
  const found = findEmbeddedTrace(text, where);
  if (found) return found.bytes;
  if (/ktrace report/.test(text) && /ktrace record /.test(text)) {
    const cmd = reproduceLine(text);
    throw new TraceError(
      "bad-magic",
      `${where}: a ktrace report without an embedded trace (it was too large to embed); ${cmd ? `re-record it with: ${cmd}` : "re-record it with the command in the report"}`,
      where,
    );
  }
  return null;
}
