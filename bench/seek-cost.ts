// Shared by bench/seek.ts, bench/seek-split.ts, bench/seek-tail.ts and
// bench/seek-compare.ts: a seek's own cost, reading a trace through once so
// that its seeks are timed from the page cache, and a thread's exact CPU clock.

import { closeSync, openSync, readSync } from "node:fs";
import { Cursor, type ReplaySource } from "../src/replay/index.ts";

const ms = (x: number) => +x.toFixed(3);

/** The command line of a seek bench: its options (`opt("--name")`: the word after it) and its trace (the first word that is neither an option nor an option's value). */
export function benchArgs(defaultTrace = "bench/out/stress-100000000.ktrace") {
  const argv = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const path = argv.find((a, i) => !a.startsWith("--") && !(i > 0 && argv[i - 1]!.startsWith("--"))) ?? defaultTrace;
  return { argv, opt, path };
}

/**
 * Random seeks before the timed ones, so that these time the seek and not the
 * compiler: after 200, applyEvent (14,098 bytecodes) was still being compiled
 * again during the timed seeks of the 100M trace (DFG once, FTL twice, 200-400
 * ms of a core each: BUN_JSC_reportFTLCompileTimes=1), and the seeks ran in
 * slower code meanwhile; after 1,000, none of its compiles fell there.
 */
export const WARMUP_SEEKS = 1000;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Reads the file through once (into the page cache); the seconds it took. */
export function readThrough(path: string): number {
  const t = performance.now();
  const fd = openSync(path, "r");
  const buf = new Uint8Array(1 << 20);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0) {}
  } finally {
    closeSync(fd);
  }
  return +((performance.now() - t) / 1000).toFixed(2);
}

/**
 * The seek's own cost: `targets` random targets, each sought `passes` times
 * (a fresh cursor per pass and the targets in the same order, so neither the
 * cursor's checkpoints nor the source's caches hold them), keeping the least
 * time per target. Noise only ever adds time, so this is what a quiet machine
 * shows, less collections and disk reads.
 */
export function ownCost(src: ReplaySource, rnd: () => number, targets = 400, passes = 5) {
  const tos = Array.from({ length: targets }, () => Math.floor(rnd() * src.eventCount));
  const best = tos.map(() => Number.POSITIVE_INFINITY);
  for (let p = 0; p < passes; p++) {
    const c = new Cursor(src);
    for (let i = 0; i < tos.length; i++) {
      const t = performance.now();
      c.seek(tos[i]!);
      best[i] = Math.min(best[i]!, performance.now() - t);
    }
  }
  return { p50: ms(pct(best, 50)), p99: ms(pct(best, 99)), max: ms(Math.max(...best)), targets, passes };
}

/**
 * A clock of this thread's CPU time in ns, exact: clock_gettime(CLOCK_THREAD_CPUTIME_ID)
 * through bun:ffi (schedstat's and getrusage's CPU time of a running thread
 * move in scheduler ticks, 4 ms here). Bun on Linux only.
 */
export async function threadCpuClock(): Promise<() => number> {
  const name = "bun:ffi"; // (not a module tsc knows)
  const ffi = (await import(name)) as {
    dlopen(lib: string, s: object): { symbols: { clock_gettime(id: number, p: unknown): number } };
    ptr(a: ArrayBufferView): unknown;
    FFIType: { i32: unknown; ptr: unknown };
  };
  const lib = ffi.dlopen("libc.so.6", {
    clock_gettime: { args: [ffi.FFIType.i32, ffi.FFIType.ptr], returns: ffi.FFIType.i32 },
  });
  // Read as 32-bit halves (little-endian, both values below 2^53): a BigInt64Array read makes a BigInt, garbage per
  // call. The ArrayBuffer first: a view made later would move the array's storage away from the pointer.
  const buf = new ArrayBuffer(16);
  const ts = new BigInt64Array(buf);
  const w = new Uint32Array(buf);
  const p = ffi.ptr(ts);
  const CLOCK_THREAD_CPUTIME_ID = 3;
  return () => {
    lib.symbols.clock_gettime(CLOCK_THREAD_CPUTIME_ID, p);
    return (w[0]! + w[1]! * 4294967296) * 1e9 + w[2]! + w[3]! * 4294967296;
  };
}
