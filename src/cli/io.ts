// Output helpers shared by every command. Works the same on Bun, Deno and Node.
//
// Commands write through these, never console.log, so that:
// - a closed stdout (`ktrace events t | head`) ends the process quietly (EPIPE);
// - main.ts can flush stdout/stderr before exiting;
// - colors are off unless the stream is a terminal and NO_COLOR is unset;
// - no control character or escape sequence from a trace reaches the terminal:
//   every write goes through terminalText (src/util/safe-text.ts), which shows
//   them escaped and lets through only line feeds, tabs and our own colours.
//   JSON goes through jsonText instead (printJson, outJson), which escapes the
//   same characters as JSON \u escapes, so it stays the same JSON.

import process from "node:process";
import { jsonText, terminalText } from "../util/safe-text.ts";

type Stream = NodeJS.WriteStream;

let stdoutClosed = false;

/** True once stdout's reader has gone away (EPIPE); further writes are dropped. */
export function isStdoutClosed(): boolean {
  return stdoutClosed;
}

function isEpipe(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const code = (e as { code?: unknown }).code;
  const name = (e as { name?: unknown }).name;
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED" || name === "BrokenPipe";
}

/** Called when stdout's reader has gone away: stop quietly, with the code so far. */
function onBrokenPipe(): void {
  stdoutClosed = true;
  const code = typeof process.exitCode === "number" ? process.exitCode : 0;
  process.exit(code);
}

let installed = false;
/** Install the EPIPE handlers (main.ts calls this once; idempotent). */
export function installPipeHandlers(): void {
  if (installed) return;
  installed = true;
  process.stdout.on("error", (e: unknown) => {
    if (isEpipe(e)) onBrokenPipe();
    else throw e;
  });
  process.stderr.on("error", () => {
    // Nowhere left to report to.
  });
}

// Writes still in flight, per stream. Bun calls an empty write's callback at once even
// with data queued, and exits without flushing, so flushing waits for the callback of
// the last real write instead.
const pending = new Map<Stream, { count: number; waiters: (() => void)[] }>();

function tracker(stream: Stream) {
  let t = pending.get(stream);
  if (t === undefined) {
    const fresh = { count: 0, waiters: [] as (() => void)[] };
    pending.set(stream, fresh);
    t = fresh;
  }
  return t;
}

/**
 * Writes to a stream; returns false when the stream asks the writer to wait
 * for 'drain'. Text goes through terminalText unless `filtered` says the
 * caller has already done so (eredraw); bytes are written as they are.
 */
function write(stream: Stream, data: string | Uint8Array, filtered = false): boolean {
  if (stream === process.stdout && stdoutClosed) return true;
  if (data.length === 0) return true;
  if (typeof data === "string" && !filtered) data = terminalText(data);
  const t = tracker(stream);
  t.count++;
  try {
    return stream.write(data, () => {
      t.count--;
      if (t.count === 0) for (const w of t.waiters.splice(0)) w();
    });
  } catch (e) {
    t.count--;
    if (stream === process.stdout && isEpipe(e)) onBrokenPipe();
    else if (stream !== process.stderr) throw e;
    return true;
  }
}

/** Write text to stdout (through the terminal filter, as every write here). */
export function out(text: string): void {
  write(process.stdout, text);
}

/**
 * Write bytes to stdout (binary output: export --format msgpack). Resolves
 * when stdout can take more, so a long output streams in bounded memory.
 */
export async function outBytes(b: Uint8Array): Promise<void> {
  if (!write(process.stdout, b)) await new Promise<void>((resolve) => process.stdout.once("drain", () => resolve()));
}

/** Write one line to stdout. */
export function println(line = ""): void {
  write(process.stdout, line + "\n");
}

/**
 * Redraw the current stderr line in place (a progress line on a terminal):
 * carriage return, the line through the terminal filter, clear to the end
 * of the line. An empty line clears it.
 */
export function eredraw(line: string): void {
  write(process.stderr, `\r${terminalText(line)}\x1b[K`, true);
}

/** Width of the terminal on stderr, or undefined when stderr is not a terminal or does not say. */
export function stderrColumns(): number | undefined {
  const c = process.stderr.columns;
  return process.stderr.isTTY === true && typeof c === "number" && c > 0 ? c : undefined;
}

/** Width of the terminal on stdout, or undefined when stdout is not a terminal (piped, redirected) or does not say. */
export function stdoutColumns(): number | undefined {
  const c = process.stdout.columns;
  return process.stdout.isTTY === true && typeof c === "number" && c > 0 ? c : undefined;
}

/** Write one line to stderr. */
export function eprintln(line = ""): void {
  write(process.stderr, line + "\n");
}

/** Print one JSON document on stdout (for --json). */
export function printJson(value: unknown): void {
  outJson(JSON.stringify(value, null, 2) + "\n");
}

/** Print one compact JSON value on its own line (for JSON lines output, e.g. events --json). */
export function printJsonLine(value: unknown): void {
  outJson(JSON.stringify(value) + "\n");
}

/** Write JSON text to stdout through jsonText (the same JSON, safe on a terminal), not terminalText. */
export function outJson(json: string): void {
  write(process.stdout, jsonText(json), true);
}

export function isStdoutTTY(): boolean {
  return process.stdout.isTTY === true;
}

export function isStderrTTY(): boolean {
  return process.stderr.isTTY === true;
}

export function isStdinTTY(): boolean {
  return process.stdin.isTTY === true;
}

/** Resolves once everything written so far through these helpers to `stream` has been handed to the OS. */
function flushStream(stream: Stream): Promise<void> {
  const t = tracker(stream);
  if (t.count === 0 || (stream === process.stdout && stdoutClosed)) return Promise.resolve();
  return new Promise((resolve) => t.waiters.push(resolve));
}

/** Flush stdout and stderr (call before process.exit). */
export async function flushAll(): Promise<void> {
  await Promise.all([flushStream(process.stdout), flushStream(process.stderr)]);
}

// ---- color ----

/** NO_COLOR (https://no-color.org): any non-empty value disables color. FORCE_COLOR=1 (or any non-"0") forces it. */
export function colorEnabled(stream: Stream): boolean {
  const env = process.env;
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  const force = env["FORCE_COLOR"];
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  return stream.isTTY === true;
}

function sgr(open: number, close: number, enabled: () => boolean) {
  return (s: string): string => (enabled() ? `\x1b[${open}m${s}\x1b[${close}m` : s);
}

export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  magenta(s: string): string;
  cyan(s: string): string;
  /** Whether these helpers currently add escape codes. */
  enabled(): boolean;
}

function makeColors(stream: () => Stream): Colors {
  const on = () => colorEnabled(stream());
  return {
    bold: sgr(1, 22, on),
    dim: sgr(2, 22, on),
    red: sgr(31, 39, on),
    green: sgr(32, 39, on),
    yellow: sgr(33, 39, on),
    blue: sgr(34, 39, on),
    magenta: sgr(35, 39, on),
    cyan: sgr(36, 39, on),
    enabled: on,
  };
}

/** Colors for text written to stdout. */
export const color: Colors = makeColors(() => process.stdout);
/** Colors for text written to stderr. */
export const errColor: Colors = makeColors(() => process.stderr);
