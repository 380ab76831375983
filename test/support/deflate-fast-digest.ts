// Prints the SHA-256 of deflateFast's output for deflateFastSamples() (one line
// per sample), on whichever runtime runs it: test/import-deflate.test.ts runs it
// under Bun and Deno and compares with Node's.
import { createHash } from "node:crypto";
import { deflateFast } from "../../src/trace/deflate-fast.ts";

/** A xorshift32 generator from `seed`: the samples' (and other tests') reproducible numbers. */
export function xorshift(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Inputs that take every path: short, incompressible, long matches and far distances, text, varint-like columns. */
export function deflateFastSamples(): Uint8Array[] {
  const rnd = xorshift(0x2545f491);
  const random = (n: number) => Uint8Array.from({ length: n }, () => rnd() & 255);
  const text = new TextEncoder().encode(
    Array.from(
      { length: 3000 },
      (_, i) => `sched_stat_runtime comm=worker${i % 97} pid=${1000 + (rnd() % 400)} runtime="${rnd() % 1e6} [ns]"`,
    ).join(""),
  );
  const far = new Uint8Array(100_000);
  const block = random(300);
  for (let at = 0; at + 300 <= far.length; at += 32_000) far.set(block, at); // matches at distances near 32K
  const columns = Uint8Array.from({ length: 60_000 }, (_, i) => (i % 7 === 0 ? rnd() & 127 : (i * 31) & 15));
  return [
    new Uint8Array(0),
    Uint8Array.of(7),
    Uint8Array.of(1, 2, 3),
    Uint8Array.of(1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4),
    new Uint8Array(70_000), // one byte repeated: matches of 258 at distance 1
    random(50_000),
    text,
    far,
    columns,
  ];
}

export function digests(): string[] {
  return deflateFastSamples().map((d) => createHash("sha256").update(deflateFast(d)).digest("hex"));
}

if ((import.meta as { main?: boolean }).main || process.argv[1]?.endsWith("deflate-fast-digest.ts"))
  console.log(JSON.stringify(digests()));
