// Bounded decompression: nothing from a trace inflates past the size it
// declares. A chunk body inflates to exactly the length its payload states,
// and a gzip wrapper to at most a small multiple of its own size (a .ktrace
// is DEFLATE-compressed already, so gzip gains it little): a decompression
// bomb stops at the bound, with one line saying so, instead of filling memory.
//
// The runtime's zlib stops producing output at `maxOutputLength` (checked on
// Node 20, Bun 1.4 and Deno 2.9: the bomb is not inflated first), so memory
// stays at the bound.

import { createInflateRaw, gunzipSync, inflateRawSync, constants as zc } from "node:zlib";
import { GZIP_MAX_RATIO, MAX_GUNZIP } from "./format.ts";

/** The deflate stream inflates to more (or less) than it should; the message says how. */
export class InflateError extends Error {}

/** The most a raw DEFLATE stream of n bytes can inflate to (RFC 1951: 258 bytes per 2-bit code, about 1032:1). */
export function deflateCeiling(n: number): number {
  return n * 1032 + 1024;
}

function isTooLarge(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE";
}

function why(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Inflates a raw DEFLATE stream that must give exactly `declared` bytes.
 * Throws InflateError when it does not inflate, gives more (stopping at
 * declared + 1 bytes: nothing larger is ever allocated), or gives fewer.
 * The caller has checked `declared` against its own limit.
 */
export function inflateBounded(bytes: Uint8Array, declared: number): Uint8Array {
  if (declared > deflateCeiling(bytes.length)) {
    throw new InflateError(`body declares ${declared} bytes, more than ${bytes.length} compressed bytes can hold`);
  }
  let out: Uint8Array;
  try {
    // One output chunk of the declared size (up to 1 MiB): zlib's default of 16 KiB chunks joined at the end makes twice the garbage per chunk body.
    out = inflateRawSync(bytes, {
      maxOutputLength: Math.max(1, declared + 1),
      chunkSize: Math.min(Math.max(64, declared + 1), 1 << 20),
    });
  } catch (e) {
    if (isTooLarge(e)) throw new InflateError(`body inflates to more than the ${declared} bytes it declares`);
    throw new InflateError(`body does not inflate (${why(e)})`);
  }
  if (out.length !== declared) throw new InflateError(`body inflates to ${out.length} bytes, expected ${declared}`);
  return out;
}

/** node:zlib's stream handle, as Node, Bun and Deno implement it (not a documented API: feature-tested before use). */
interface ZlibHandle {
  reset(): void;
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  onerror: ((message: string, errno: number) => void) | undefined;
}

/**
 * inflateBounded into a buffer it reuses: one zlib stream reset for each
 * body instead of a new one (zlib state and window) and a fresh output
 * buffer per call, so reading chunk after chunk makes almost no garbage
 * (seeks then rarely meet a collection; a scan's heap stays small). The
 * result is valid until the next call. The same bounds as inflateBounded: at
 * most declared + 1 bytes are ever produced. Where the runtime's zlib has no
 * usable stream handle (it is not a documented API), or it does not pass a
 * self-test, it falls back to inflateBounded.
 */
export class Inflater {
  private h: ZlibHandle | null = null;
  private state: Uint32Array | null = null;
  private err: string | null = null;
  private out = new Uint8Array(1 << 15);

  constructor() {
    try {
      const z = createInflateRaw() as unknown as { _handle?: ZlibHandle; _writeState?: unknown };
      const h = z._handle;
      if (
        h &&
        typeof h.writeSync === "function" &&
        typeof h.reset === "function" &&
        z._writeState instanceof Uint32Array
      ) {
        this.h = h;
        this.state = z._writeState;
        h.onerror = (message) => {
          this.err = message;
        };
        // A stored block holding "ok", then a truncated stream: the handle must give the one and refuse the other.
        const good = this.run(Uint8Array.of(1, 2, 0, 0xfd, 0xff, 0x6f, 0x6b), 2);
        if (
          !(good instanceof Uint8Array) ||
          good[0] !== 0x6f ||
          good[1] !== 0x6b ||
          typeof this.run(Uint8Array.of(0, 2, 0, 0xfd, 0xff, 0x6f), 2) === "object"
        ) {
          this.h = null;
        }
      }
    } catch {
      this.h = null;
    }
  }

  /** Whether the reusable stream is in use (false: inflateBounded, fresh buffers). */
  get reusing(): boolean {
    return this.h !== null;
  }

  /** As inflateBounded(bytes, declared); the bytes are valid until the next call. */
  inflate(bytes: Uint8Array, declared: number): Uint8Array {
    if (this.h === null) return inflateBounded(bytes, declared);
    if (declared > deflateCeiling(bytes.length)) {
      throw new InflateError(`body declares ${declared} bytes, more than ${bytes.length} compressed bytes can hold`);
    }
    const r = this.run(bytes, declared);
    if (typeof r === "string") throw new InflateError(r);
    return r;
  }

  /** The body, or why not. */
  private run(bytes: Uint8Array, declared: number): Uint8Array | string {
    const h = this.h!;
    const room = declared + 1;
    if (this.out.length < room) this.out = new Uint8Array(Math.max(room, 2 * this.out.length));
    this.err = null;
    h.reset();
    h.writeSync(zc.Z_FINISH, bytes, 0, bytes.length, this.out, 0, room);
    if (this.err !== null) return `body does not inflate (${this.err})`;
    const made = room - this.state![0]!;
    // Room left means the stream ended (Z_FINISH); none means it had more to give.
    if (made > declared) return `body inflates to more than the ${declared} bytes it declares`;
    if (made !== declared) return `body inflates to ${made} bytes, expected ${declared}`;
    return this.out.subarray(0, declared);
  }
}

/** The most a gzip'd trace of n bytes may inflate to: GZIP_MAX_RATIO times its size (plus 1 MiB), at most MAX_GUNZIP. */
export function gunzipLimit(n: number): number {
  return Math.min(MAX_GUNZIP, n * GZIP_MAX_RATIO + (1 << 20));
}

/**
 * Gunzips a whole file, stopping at gunzipLimit(bytes.length). A stream cut
 * short gives what inflates (recovery mode takes care of the rest). Throws
 * InflateError with a one-line reason when it does not decompress or would
 * exceed the limit.
 */
export function gunzipBounded(bytes: Uint8Array): Uint8Array {
  const limit = gunzipLimit(bytes.length);
  const tooLarge = () =>
    new InflateError(
      limit === MAX_GUNZIP
        ? `inflates to more than ${MAX_GUNZIP} bytes, more than ktrace decompresses in memory; gunzip it and open the .ktrace`
        : `inflates to more than ${limit} bytes, ${GZIP_MAX_RATIO} times its size; a trace does not compress that well (a decompression bomb?)`,
    );
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (e) {
    if (isTooLarge(e)) throw tooLarge();
  }
  // Cut short: take what inflates.
  try {
    return gunzipSync(bytes, { maxOutputLength: limit, finishFlush: zc.Z_SYNC_FLUSH });
  } catch (e) {
    if (isTooLarge(e)) throw tooLarge();
    throw new InflateError(`does not decompress (${why(e)})`);
  }
}
