// A measurement for a format change, not a format: what an event chunk body
// split in two DEFLATE streams (bench/split-lib.ts: core, the kinds, times and
// the folded events' columns; side, the inert kinds' other columns) would cost
// and save (docs/BENCHMARKS.md, "Phase 7: the scan"). A first-violation scan
// would inflate and decode the core only; a seek, both. The script re-encodes
// a trace's chunks both ways (the same varints; fflate at the writer's
// EVENTS_LEVEL, or --level for the split) and prints, per event: raw and
// compressed bytes, the writer's deflate CPU, the reader's inflate CPU
// (node:zlib through the reused handle, as the reader does), and the decode CPU
// of the columns each reader needs. Rounds interleaved; medians and least rounds.
// Usage: npx bun bench/split-body.ts [--trace FILE] [--every K (every K-th chunk, default 2)] [--rounds R]
//        [--level L (the split streams' fflate level; default the writer's)]

import { loadavg } from "node:os";
import { deflateSync } from "fflate";
import { EVENTS_LEVEL } from "../src/trace/compress.ts";
import { decodeEventBody, type EventColumns, Scratch } from "../src/trace/event-codec.ts";
import { Inflater } from "../src/trace/inflate.ts";
import { eachChunk, SplitDecoder, splitBody } from "./split-lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path = opt("--trace") ?? "bench/out/stress-10000000.ktrace";
const every = Number(opt("--every") ?? 2);
const rounds = Math.max(2, Number(opt("--rounds") ?? 7));
const level = Number(opt("--level") ?? EVENTS_LEVEL) as typeof EVENTS_LEVEL;

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

const bodies: Uint8Array[] = [];
const cores: Uint8Array[] = [];
const sides: Uint8Array[] = [];
const heads: Pick<EventColumns, "n" | "firstSeq">[] = [];
const { reader, slots } = eachChunk(path, every, (body, cols, slots) => {
  bodies.push(body.slice());
  heads.push({ n: cols.n, firstSeq: cols.firstSeq });
  const s = splitBody(body, cols, slots);
  cores.push(s.core);
  sides.push(s.side);
});
let events = 0;
for (const h of heads) events += h.n;

const zWhole = bodies.map((b) => deflateSync(b, { level: EVENTS_LEVEL }));
const zCore = cores.map((b) => deflateSync(b, { level }));
const zSide = sides.map((b) => deflateSync(b, { level }));
const inf = new Inflater();
const sc = new Scratch(1 << 16);
const split = new SplitDecoder(slots);
const readerSlots = (reader as unknown as { slots: Parameters<typeof decodeEventBody>[4] }).slots;
const stages: Record<string, () => void> = {
  "deflate whole": () => {
    for (const b of bodies) deflateSync(b, { level: EVENTS_LEVEL });
  },
  "deflate core + side": () => {
    for (let i = 0; i < cores.length; i++) {
      deflateSync(cores[i]!, { level });
      deflateSync(sides[i]!, { level });
    }
  },
  "inflate whole": () => {
    for (let i = 0; i < zWhole.length; i++) inf.inflate(zWhole[i]!, bodies[i]!.length);
  },
  "inflate core (a scan)": () => {
    for (let i = 0; i < zCore.length; i++) inf.inflate(zCore[i]!, cores[i]!.length);
  },
  "inflate core + side (a seek)": () => {
    for (let i = 0; i < zCore.length; i++) {
      inf.inflate(zCore[i]!, cores[i]!.length);
      inf.inflate(zSide[i]!, sides[i]!.length);
    }
  },
  "decode whole (decodeEventBody)": () => {
    for (let i = 0; i < bodies.length; i++)
      decodeEventBody(2, bodies[i]!, heads[i]!.n, heads[i]!.firstSeq, readerSlots, sc);
  },
  "decode core + side (split-lib)": () => {
    for (let i = 0; i < cores.length; i++) split.decode(cores[i]!, sides[i]!);
  },
  "decode core (split-lib)": () => {
    for (let i = 0; i < cores.length; i++) split.decode(cores[i]!, null);
  },
};
const got: Record<string, number[]> = {};
for (const k of Object.keys(stages)) got[k] = [];
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(stages);
  for (let j = 0; j < names.length; j++) {
    const k = names[(j + r) % names.length]!;
    const t = cpu();
    stages[k]!();
    got[k]!.push(((cpu() - t) * 1e6) / events);
  }
}
const sum = (xs: Uint8Array[]) => xs.reduce((s, x) => s + x.length, 0) / events;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `split body: ${path}, ${heads.length} chunks (every ${every}), ${events.toLocaleString("en-US")} events, whole at level ${EVENTS_LEVEL}, split at ${level}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
console.log(
  `  raw bytes/event: whole ${sum(bodies).toFixed(3)}, core ${sum(cores).toFixed(3)} + side ${sum(sides).toFixed(3)}`,
);
console.log(
  `  compressed bytes/event: whole ${sum(zWhole).toFixed(3)}, core ${sum(zCore).toFixed(3)} + side ${sum(zSide).toFixed(3)} = ${(sum(zCore) + sum(zSide)).toFixed(3)}`,
);
console.log(`  CPU ns/event, median (least) of ${rounds - 1} interleaved rounds after the first (it compiles):`);
for (const [k, v] of Object.entries(got))
  console.log(`    ${k.padEnd(36)} ${med(v.slice(1)).toFixed(1).padStart(6)} (${Math.min(...v.slice(1)).toFixed(1)})`);
