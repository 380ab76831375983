// Which format an input is in, and which inputs are refused before reading.
//
// Refused with one line saying what to run instead: a directory holding CTF (LTTng
// output: run babeltrace2 on it), CTF metadata or a CTF stream file, a trace-cmd
// binary trace.dat (trace-cmd report), a perf.data (perf script), any other binary
// file (NUL bytes in the first 4 KiB), a file in none of the formats.
// Format detection: each reader parses the first DETECT_LINES lines that are not
// headers; the one that parses the most wins (ties in IMPORT_FORMATS order); at least
// half of those lines must parse.

import { existsSync, readdirSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";
import { safeText } from "../util/safe-text.ts";
import { parseBabeltraceLine } from "./babeltrace.ts";
import type { Bytes } from "./bytes.ts";
import { Clock } from "./clock.ts";
import { type LineResult, parseFtraceLine, parseFtraceLineRe, scanFtrace } from "./ftrace.ts";
import { parsePerfLine } from "./perf.ts";
import { IMPORT_FORMATS, ImportError, type ImportFormat, type TraceRecord } from "./record.ts";

/** Lines sampled for format detection. */
export const DETECT_LINES = 200;

export type LineParser = (text: string, line: number, clock: Clock) => LineResult;

export const PARSERS: Record<ImportFormat, LineParser> = {
  ftrace: parseFtraceLine,
  perf: parsePerfLine,
  babeltrace2: parseBabeltraceLine,
};

/**
 * Formats whose common lines a byte scanner reads (the line buf[s, e), without making
 * its string); a line it does not read goes to `rest` as text. Same records as PARSERS.
 */
export const SCANNERS: Partial<
  Record<
    ImportFormat,
    {
      scan: (buf: Bytes, s: number, e: number, line: number, clock: Clock) => TraceRecord | null;
      rest: LineParser;
    }
  >
> = {
  ftrace: { scan: scanFtrace, rest: parseFtraceLineRe },
};

/** True when dir (or a directory up to two levels below it, LTTng's session layout) holds CTF metadata. */
function holdsCtf(dir: string, depth: number): boolean {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  if (names.includes("metadata")) return true;
  if (depth === 0) return false;
  for (const n of names.sort().slice(0, 64)) {
    const p = join(dir, n);
    try {
      if (statSync(p).isDirectory() && holdsCtf(p, depth - 1)) return true;
    } catch {
      // unreadable entry: not ours to judge
    }
  }
  return false;
}

/** Checks the path before reading: exists, a regular file, not a CTF directory. Returns its stats. */
export function checkPath(path: string): Stats {
  if (!existsSync(path)) throw new ImportError(`${safeText(path)}: no such file`);
  const st = statSync(path);
  if (st.isDirectory()) {
    if (holdsCtf(path, 2)) {
      throw new ImportError(
        `${safeText(path)} is a CTF trace directory (LTTng), which ktrace import does not decode`,
        `print it as text first: babeltrace2 ${safeText(path)} > trace.txt, then ktrace import trace.txt`,
      );
    }
    throw new ImportError(`${safeText(path)} is a directory, not a trace file`);
  }
  return st;
}

const CTF_METADATA_MAGIC = 0x75d11d57; // packetized metadata, little or big endian
const CTF_STREAM_MAGIC = 0xc1fc1fc1;

/** Refuses binary inputs by their first bytes (after gunzip when the file is gzip'd). */
export function checkHead(path: string, head: Uint8Array): void {
  const p = safeText(path);
  const text = new TextDecoder("latin1").decode(head.subarray(0, 16));
  if (text.startsWith("\x17\x08Dtracing")) {
    throw new ImportError(
      `${p} is a trace-cmd binary file (trace.dat), which ktrace import does not decode`,
      `print it as text first: trace-cmd report -i ${p} > trace.txt, then ktrace import trace.txt`,
    );
  }
  if (text.startsWith("PERFILE2") || text.startsWith("PERFFILE")) {
    throw new ImportError(
      `${p} is a perf.data file, which ktrace import does not decode`,
      `print it as text first: perf script -i ${p} > perf.txt, then ktrace import perf.txt`,
    );
  }
  if (head.length >= 4) {
    const le = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
    const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
    if (le === CTF_METADATA_MAGIC || be === CTF_METADATA_MAGIC || text.startsWith("/* CTF 1.")) {
      throw new ImportError(
        `${p} is CTF metadata (an LTTng trace), which ktrace import does not decode`,
        `print its directory as text first: babeltrace2 DIR > trace.txt, then ktrace import trace.txt`,
      );
    }
    if (le === CTF_STREAM_MAGIC || be === CTF_STREAM_MAGIC) {
      throw new ImportError(
        `${p} is a CTF stream file (an LTTng trace), which ktrace import does not decode`,
        `print its directory as text first: babeltrace2 DIR > trace.txt, then ktrace import trace.txt`,
      );
    }
  }
  if (head.subarray(0, 4096).includes(0)) {
    throw new ImportError(`${p} is a binary file, not a kernel trace in text (ftrace, perf script, babeltrace2)`);
  }
}

/** How well one format reads a sample of lines. */
export interface DetectScore {
  format: ImportFormat;
  /** Lines that parsed to a record. */
  parsed: number;
  /** Lines the reader does not recognize. */
  failed: number;
}

/** Scores every format on the sample and picks one, or throws an ImportError naming the file. */
export function detectFormat(path: string, sample: readonly string[]): { format: ImportFormat; scores: DetectScore[] } {
  const scores = IMPORT_FORMATS.map((format): DetectScore => {
    const parse = PARSERS[format];
    const clock = new Clock();
    let parsed = 0;
    let failed = 0;
    sample.forEach((t, i) => {
      const r = parse(t, i + 1, clock);
      if (r === null) failed++;
      else if (r !== "skip") parsed++;
    });
    return { format, parsed, failed };
  });
  let best = scores[0]!;
  for (const s of scores) if (s.parsed > best.parsed) best = s;
  if (best.parsed === 0 || best.failed > best.parsed) {
    const first = sample.find((l) => l.trim() !== "" && !l.startsWith("#")) ?? "";
    const shown = first.length > 80 ? first.slice(0, 80) + "…" : first;
    throw new ImportError(
      `${safeText(path)} is not in a format ktrace import reads (ftrace text, perf script, babeltrace2 text)` +
        (first === "" ? ": no event lines" : `; its first line: ${safeText(shown)}`),
      "give --format ftrace|perf|babeltrace2 to see which lines do not parse",
    );
  }
  return { format: best.format, scores };
}
