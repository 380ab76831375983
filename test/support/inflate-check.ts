// Inflater (the reused zlib stream) against inflateBounded on valid and
// damaged DEFLATE streams: the same bytes, or both refusing. Run in the test
// process (Node) by test/perf-inflate.test.ts, and as a script under Bun and
// Deno (prints the mismatches as JSON), since each runtime has its own zlib
// binding behind the handle the Inflater uses.

import { deflateSync } from "fflate";
import { Inflater, inflateBounded } from "../../src/trace/inflate.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function outcome(f: () => Uint8Array): string {
  try {
    const b = f();
    let h = 0;
    for (let i = 0; i < b.length; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
    return `ok ${b.length} ${h}`;
  } catch (e) {
    return `refused ${e instanceof Error ? e.constructor.name : typeof e}`;
  }
}

/** Mismatches between the two over `cases` random streams and damaged variants (empty: none). */
export function compareInflaters(
  seed: number,
  cases: number,
): { reusing: boolean; checked: number; mismatches: string[] } {
  const r = rng(seed);
  const inf = new Inflater();
  const mismatches: string[] = [];
  let checked = 0;
  for (let c = 0; c < cases; c++) {
    const n = Math.floor(r() * 40_000);
    const data = new Uint8Array(n);
    const alpha = 1 + Math.floor(r() * 255);
    for (let i = 0; i < n; i++)
      data[i] = r() < 0.7 && i > 8 ? data[i - 1 - Math.floor(r() * 8)]! : Math.floor(r() * alpha);
    const z = deflateSync(data, { level: (1 + Math.floor(r() * 6)) as 1 });
    const variants: [string, Uint8Array, number][] = [
      ["whole", z, n],
      ["declared-1", z, Math.max(0, n - 1)],
      ["declared+1", z, n + 1],
      ["declared 0", z, 0],
      ["cut", z.subarray(0, Math.floor(r() * z.length)), n],
      ["trailing", Uint8Array.from([...z, 1, 2, 3]), n],
    ];
    const flipped = z.slice();
    if (flipped.length) flipped[Math.floor(r() * flipped.length)]! ^= 1 << Math.floor(r() * 8);
    variants.push(["flipped", flipped, n]);
    for (const [what, bytes, declared] of variants) {
      const a = outcome(() => inf.inflate(bytes, declared));
      const b = outcome(() => inflateBounded(bytes, declared));
      checked++;
      if (a !== b) mismatches.push(`case ${c} ${what}: Inflater ${a}, inflateBounded ${b}`);
    }
  }
  return { reusing: inf.reusing, checked, mismatches };
}

if (
  import.meta.main ||
  (typeof process !== "undefined" &&
    process.argv[1] !== undefined &&
    import.meta.url.endsWith(process.argv[1].split("/").pop()!))
) {
  console.log(JSON.stringify(compareInflaters(Number(process.argv[2] ?? 1), Number(process.argv[3] ?? 200))));
}
