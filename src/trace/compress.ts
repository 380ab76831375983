// Compression for the trace layer (what writes traces), each defined once here;
// the checksum is in checksum.ts, so that reading a trace does not load fflate.
//
// - DEFLATE (chunk bodies) and gzip (whole files, embedded traces): fflate,
//   pure JavaScript, so the same input gives the same bytes on Bun, Deno and
//   Node (their zlibs do not agree with each other). fflate is pinned to an
//   exact version in package.json: a change in its output changes every trace,
//   and test/traces.test.ts then fails.
//   The trace writer's hot path (event chunks, snapshots, the index) deflates
//   with deflate-fflate.ts, fflate's deflate with its tables reused: the same
//   bytes, about half the CPU (test/deflate-fflate.test.ts compares the two).
// - Raw inflate (reading): the runtime's native zlib, ~6x faster than fflate's
//   inflate (docs/FORMAT.md, "Measurements"); any DEFLATE decoder gives the
//   same bytes back.

import { deflateSync, Gzip } from "fflate";
import { concatBytes } from "./bytes.ts";

export { crc32 } from "./checksum.ts";

/** An fflate compression level (0: stored blocks, no compression). */
export type Level = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/**
 * fflate level for event chunk bodies. Level 1 compresses the stress load's
 * event chunks at ~5.3 M events/s on this project's machine (~190 ns/event;
 * level 2: ~250 ns, level 4: ~3 M/s, level 6: ~2) for 2.3% more event bytes
 * than level 2: the recorder's writer thread, which deflates every chunk, was
 * at ~330 ns/event with level 2, the bottleneck of recording at 3 M events/s
 * (docs/FORMAT.md, "Measurements"; docs/BENCHMARKS.md). Changing it changes
 * every trace's bytes.
 */
export const EVENTS_LEVEL: Level = 1;
/** fflate level for snapshot and index bodies (one per K events: size matters more than speed). */
export const SNAPSHOT_LEVEL: Level = 6;
/**
 * fflate level for a long run's schedule chunk (writer.ts, SCHEDULE_LEVEL_FROM):
 * 0, stored. It is compressed after the run, while the simulating thread waits:
 * a 10M-event `stress` run's schedule is 4 MB, 58% of it uniformly random timing
 * draws, so deflate saves only 17% of it (4.07 -> 3.38 MB at level 6, 3.40 at
 * level 1) for 0.22-0.33 CPU s at level 6 and 0.12-0.16 at level 1 (the writer
 * thread, cold for such input, took 0.27 s of a 4M-event run's 0.3 s tail at
 * level 1); stored it takes 5-9 ms. Costs +0.068 bytes/event (+2.3%) on long
 * recordings. (Storing only the draws would keep most of those bytes, but needs
 * a sync flush between the two parts, which fflate 0.8 writes wrongly at some bit
 * positions: fflate issue 267.)
 */
export const SCHEDULE_LEVEL: Level = 0;
/** fflate level for gzip-wrapped files. */
const GZIP_LEVEL = 6;
/** Gzip input block: the output depends on how input is pushed, so every gzip here pushes these blocks. */
const GZIP_BLOCK = 1 << 20;

/** Raw DEFLATE (RFC 1951) of data, deterministic on every runtime. */
export function deflate(data: Uint8Array, level: Level): Uint8Array {
  return deflateSync(data, { level });
}

/**
 * Gzip (RFC 1952) of a byte stream, deterministic on every runtime: no file
 * name, modification time 0. `read(buf)` fills buf from the start, wholly
 * unless the input ends, and returns how many bytes it put there (0 at the
 * end); `write` gets each piece of output in order. Memory: two input blocks
 * and fflate's window.
 */
export function gzipStream(read: (buf: Uint8Array) => number, write: (b: Uint8Array) => void): void {
  const gz = new Gzip({ level: GZIP_LEVEL, mtime: 0 }, (chunk) => write(chunk));
  let cur = new Uint8Array(GZIP_BLOCK);
  let n = read(cur);
  for (;;) {
    // Read one block ahead, so that the last push says it is the last.
    const next = new Uint8Array(GZIP_BLOCK);
    const m = n > 0 ? read(next) : 0;
    gz.push(cur.subarray(0, n), m === 0);
    if (m === 0) return;
    cur = next;
    n = m;
  }
}

/** Gzip of bytes in memory; the same bytes as gzipStream gives for them. */
export function gzip(data: Uint8Array): Uint8Array {
  let at = 0;
  const parts: Uint8Array[] = [];
  gzipStream(
    (buf) => {
      const n = Math.min(buf.length, data.length - at);
      buf.set(data.subarray(at, at + n));
      at += n;
      return n;
    },
    (b) => parts.push(b),
  );
  return concatBytes(...parts);
}
