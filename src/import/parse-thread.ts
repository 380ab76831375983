// Parsing an import on a second thread (parse-worker.ts): that thread reads the
// input and turns its lines into records, this one maps and converts them while
// the trace writer's thread compresses. The records that arrive are those
// TraceInput reads on one thread, batch for batch, with the read counts (and the
// clock) as they stood after each batch, so everything downstream (the mapper,
// the converter, the header written after PRELUDE_OPS ops) sees what it would
// see on one thread and the trace is byte-identical.
//
// Records cross as bytes (record-codec.ts) through a ByteChannel of
// CHANNEL_BYTES: the parse thread waits while it is full, so memory stays
// bounded however long the input. A message is a head (type, JSON length, body
// length: u32 each), a JSON part and a body.

import type { Worker } from "node:worker_threads";
import { ByteChannel } from "../trace/byte-channel.ts";
import { startWorker } from "../trace/worker-start.ts";
import type { ClockInfo, ImportFormat, TraceRecord } from "./record.ts";
import { ImportError } from "./record.ts";
import { RecordDecoder } from "./record-codec.ts";

/** Bytes of encoded records the parse thread may be ahead (about 20 batches of 2,500 ftrace lines; 2 MiB stalled it: docs/IMPORT.md, "Ninth pass"). */
export const CHANNEL_BYTES = 1 << 22;
/** Seconds without a sign of life from the parse thread before the import gives up on it. */
const STALL_SECONDS = 60;

/** The parse thread's name (bench/import.ts reports its CPU apart from the trace writer's). */
export const PARSE_THREAD_NAME = "ktrace-parse";

/** Control block slots (Int32). */
export const CTL = { ready: 0, stop: 1, beat: 2 } as const;
/** Message types on the channel. */
export const MSG = { batch: 1, end: 2, error: 3 } as const;

export interface ParseThreadInput {
  path: string;
  opts: { format?: ImportFormat; window?: number };
  control: SharedArrayBuffer;
  channel: SharedArrayBuffer;
}

/** What comes with each batch (and the end): the read counts and the clock after it. */
export interface Progress<S> {
  stats: S;
  clock: ClockInfo | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes one message (parse thread). */
export function sendMessage(ch: ByteChannel, type: number, json: unknown, body: Uint8Array | null): void {
  const j = encoder.encode(JSON.stringify(json));
  const head = new Uint8Array(12);
  const v = new DataView(head.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, j.length, true);
  v.setUint32(8, body?.length ?? 0, true);
  // One wake-up of a sleeping reader per message, when it is complete (each costs this thread ~0.1-0.3 ms on Bun).
  ch.write(head, false);
  ch.write(j, body === null);
  if (body !== null) ch.write(body);
}

/** The main side: starts the thread, hands out its batches of records. */
export class ParseThread<S> {
  private readonly ctl: Int32Array;
  private readonly ch: ByteChannel;
  private readonly head = new Uint8Array(12);
  private readonly hv = new DataView(this.head.buffer);
  private buf = new Uint8Array(1 << 16);
  private readonly dec = new RecordDecoder();
  private quiet = 0;
  private beat = 0;
  private closed = false;

  private constructor(
    private readonly w: Worker,
    control: SharedArrayBuffer,
    channel: SharedArrayBuffer,
  ) {
    this.ctl = new Int32Array(control);
    this.ch = new ByteChannel(channel, () => this.stalled());
  }

  /** Starts the parse thread on `path`; it, or why it could not start (Node runs no TypeScript worker). */
  static async start<S>(path: string, opts: ParseThreadInput["opts"]): Promise<ParseThread<S> | string> {
    const control = new SharedArrayBuffer(16);
    const channel = ByteChannel.alloc(CHANNEL_BYTES);
    const input: ParseThreadInput = { path, opts, control, channel };
    const ints = new Int32Array(control);
    const w = await startWorker(
      new URL("./parse-worker.ts", import.meta.url),
      // (the thread's name: Bun gives it to the OS thread, so per-thread CPU figures can tell it from the writer's)
      { workerData: input, name: PARSE_THREAD_NAME },
      () => Atomics.load(ints, CTL.ready) !== 0,
    );
    if (typeof w === "string") return w;
    w.on("error", () => 0); // a late failure is reported through the channel, or as a stall
    return new ParseThread<S>(w, control, channel);
  }

  /**
   * The next batch: its records appended to `out` and its progress, or the end's
   * progress with `end` true. Throws what stopped the parse thread (an ImportError
   * as it was raised there).
   */
  next(out: TraceRecord[]): { progress: Progress<S>; end: boolean } {
    // Without `wake`: the parse thread, asleep on a full channel, is woken once a quarter of it is free, not
    // per read (each wake-up cost this thread ~0.3 ms of wall time: ~0.35 s per 1M records when it waited).
    this.ch.read(this.head, 12, false);
    const type = this.hv.getUint32(0, true);
    const jlen = this.hv.getUint32(4, true);
    const blen = this.hv.getUint32(8, true);
    if (this.buf.length < Math.max(jlen, blen)) this.buf = new Uint8Array(Math.max(jlen, blen, 2 * this.buf.length));
    this.ch.read(this.buf, jlen, false);
    const json = JSON.parse(decoder.decode(this.buf.subarray(0, jlen)));
    if (type === MSG.error) {
      this.close();
      const e = json as { name: string; message: string; hint?: string; code?: string };
      if (e.name === "ImportError") throw new ImportError(e.message, e.hint);
      const err = new Error(e.message) as Error & { code?: string };
      if (e.code !== undefined) err.code = e.code;
      throw err;
    }
    if (type === MSG.end) {
      this.close();
      return { progress: json as Progress<S>, end: true };
    }
    this.ch.read(this.buf, blen, false);
    this.dec.decode(this.buf.subarray(0, blen), out);
    return { progress: json as Progress<S>, end: false };
  }

  /** Stops the thread (at the end, or when reading stopped early). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, CTL.stop, 1);
    void this.w.terminate().catch(() => 0);
  }

  /** Called after each second of waiting: gives up when the thread has shown no life for STALL_SECONDS. */
  private stalled(): void {
    const b = Atomics.load(this.ctl, CTL.beat);
    this.quiet = b === this.beat ? this.quiet + 1 : 0;
    this.beat = b;
    if (this.quiet >= STALL_SECONDS) {
      this.close();
      throw new Error(`the import's parse thread stopped responding (nothing for ${STALL_SECONDS} s)`);
    }
  }
}
