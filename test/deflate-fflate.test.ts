// Deflater (src/trace/deflate-fflate.ts), the writer's port of fflate's deflate
// with reused tables: its bytes must be fflate's for every input and level (they
// are every trace's bytes; test/traces.test.ts then catches the rest).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "fflate";
import { describe, expect, it } from "vitest";
import { initState, simulate, toPlain } from "../src/kernel/index.ts";
import { prepare } from "../src/record/index.ts";
import { Deflater, huffmanLengths } from "../src/trace/deflate-fflate.ts";
import { ChunkBuilder, slotTable } from "../src/trace/event-codec.ts";
import { packr } from "../src/trace/format.ts";
import { currentKinds } from "../src/trace/writer.ts";
import { REPO_ROOT } from "./helpers/run-cli.ts";
import { deflateFastSamples, xorshift } from "./support/deflate-fast-digest.ts";

type Level = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

function same(d: Uint8Array, level: Level, z: Deflater, what: string): void {
  const want = deflateSync(d, { level });
  const got = z.deflate(d, level);
  expect(Buffer.compare(Buffer.from(got), Buffer.from(want)), `${what} at level ${level}`).toBe(0);
}

/** A stress run's event chunk bodies (core and side streams) and snapshot bodies, as the writer makes them. */
async function recorded(events: number): Promise<{ streams: Uint8Array[]; snapshots: Uint8Array[] }> {
  const p = await prepare({ target: "stress", maxEvents: events });
  const b = new ChunkBuilder(4096, slotTable(currentKinds()));
  const streams: Uint8Array[] = [];
  const snapshots: Uint8Array[] = [packr.pack(toPlain(initState(p.world.config)))];
  const flush = () => {
    const body = b.encode();
    streams.push(body.slice(0, b.coreLength), body.slice(b.coreLength));
    b.reset();
  };
  simulate(p.world, { seed: p.variant.seed, maxEvents: events, transientEvents: true }, (ev, s) => {
    b.push(ev);
    if (b.n === 4096) {
      flush();
      snapshots.push(packr.pack(toPlain(s)));
    }
  });
  if (b.n > 0) flush();
  return { streams, snapshots };
}

/** Symbol frequencies in the Fibonacci sequence: Huffman codes deeper than 15 bits (fflate's length limiting). */
function skewed(): Uint8Array {
  const rnd = xorshift(0x9e3779b9);
  const out: number[] = [];
  let a = 1;
  let b = 1;
  for (let sym = 0; sym < 22; sym++) {
    for (let k = 0; k < a; k++) out.push(sym * 11 + 3);
    [a, b] = [b, a + b];
  }
  // Shuffled (xorshift), so that few of them match.
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return Uint8Array.from(out);
}

describe("Deflater: fflate's deflate, the same bytes", () => {
  it("on recorded event streams at level 1 and snapshots at level 6, one deflater per stream as the writer", async () => {
    const { streams, snapshots } = await recorded(60_000);
    const core = new Deflater();
    const side = new Deflater();
    for (let i = 0; i < streams.length; i += 2) {
      same(streams[i]!, 1, core, `core stream ${i / 2}`);
      same(streams[i + 1]!, 1, side, `side stream ${i / 2}`);
    }
    for (const [i, s] of snapshots.entries()) same(s, 6, core, `snapshot ${i}`);
    expect(streams.length).toBeGreaterThan(20);
  });

  it("on inputs that take every path (empty, stored, long and far matches, many blocks, deep codes), at every level", () => {
    const samples = [...deflateFastSamples(), skewed(), skewed().subarray(0, 5000)];
    const z = new Deflater();
    for (const level of [1, 2, 3, 4, 5, 6, 7, 8, 9] as const)
      for (const [i, d] of samples.entries()) same(d, level, z, `sample ${i} (${d.length} bytes)`);
  });

  it("a result stays its own until the same deflater's next call; reused tables leave nothing behind", () => {
    const [, , , , zeros, random, text] = deflateFastSamples();
    const a = new Deflater();
    const b = new Deflater();
    const first = a.deflate(text!, 1);
    const kept = first.slice();
    b.deflate(random!, 1);
    expect(Buffer.compare(Buffer.from(first), Buffer.from(kept))).toBe(0);
    // After a large input, a small one: the same bytes as on a fresh deflater.
    a.deflate(zeros!, 6);
    same(text!.subarray(0, 2000), 1, a, "text after zeros");
    same(text!.subarray(0, 2000), 1, new Deflater(), "text, fresh");
  });
});

describe("Deflater's Huffman code lengths: fflate's hTree", () => {
  // fflate's own hTree (not exported), taken from the installed package's source.
  const src = readFileSync(join(REPO_ROOT, "node_modules", "fflate", "esm", "index.mjs"), "utf8");
  const from = src.indexOf("var hTree = function");
  const to = src.indexOf("// length codes generation");
  const hTree = new Function("u8", "u16", "et", `${src.slice(from, to)}; return hTree;`)(
    Uint8Array,
    Uint16Array,
    new Uint8Array(0),
  ) as (d: Uint16Array, mb: number) => { t: Uint8Array; l: number };

  it("the same lengths for random, flat and skewed frequencies, with and without length limiting", () => {
    const rnd = xorshift(0x2545f491);
    let limited = 0;
    let crashed = 0;
    for (let round = 0; round < 3000; round++) {
      const n = [288, 32, 19][round % 3]!;
      const mb = n === 19 ? 7 : 15;
      const d = new Uint16Array(n);
      const used = 1 + (rnd() % n);
      const kind = round % 4;
      let fa = 1;
      let fb = 1;
      for (let k = 0; k < used; k++) {
        const sym = rnd() % n;
        // Fibonacci frequencies make deep trees (fflate then limits them to mb bits).
        d[sym] = kind === 0 ? fa : kind === 1 ? 1 + (rnd() % 5) : kind === 2 ? 1 + (rnd() % 80) : 1 << (rnd() % 12);
        [fa, fb] = [fb, Math.min(fa + fb, 20000)];
      }
      let want: { t: Uint8Array; l: number };
      try {
        want = hTree(d, mb);
      } catch {
        // A total past fflate's sentinel (25001: no block holds that many symbols): the port gives up too (Deflater then calls fflate).
        expect(() => huffmanLengths(d, mb), `round ${round}`).toThrow();
        crashed++;
        continue;
      }
      const got = huffmanLengths(d, mb);
      if (Math.max(...want.t) === mb && want.l === mb) limited++;
      expect([...got.t], `round ${round}`).toEqual([...want.t]);
      expect(got.l, `round ${round}`).toBe(want.l);
    }
    expect(limited).toBeGreaterThan(100);
    expect(crashed).toBeLessThan(1000);
  });
});
