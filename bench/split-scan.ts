// End to end, what bench/split-body.ts's split chunk body (bench/split-lib.ts)
// would save the first-violation scan: firstViolation over a trace whose
// chunks are served from memory, split and compressed as a writer would
// (fflate at EVENTS_LEVEL), and decoded by split-lib: either both streams
// (what a seek would read) or the core only (the side stream neither inflated
// nor decoded: the inert kinds' events hold only kind, seq and time). Every
// mode must give the same answer, count and final state as the trace read as
// it is (checked; exit 1 otherwise). CPU ns/event on this thread, the modes
// interleaved over R rounds (the first compiles).
// Usage: npx bun bench/split-scan.ts [--trace FILE] [--rounds R]

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { deflateSync } from "fflate";
import { toPlain } from "../src/kernel/state.ts";
import { firstViolation, openSource } from "../src/replay/index.ts";
import type { ReplaySource } from "../src/replay/source.ts";
import { EVENTS_LEVEL } from "../src/trace/compress.ts";
import { packr } from "../src/trace/format.ts";
import { Inflater } from "../src/trace/inflate.ts";
import { eachChunk, SplitDecoder, splitBody } from "./split-lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const path = opt("--trace") ?? "bench/out/stress-10000000.ktrace";
const rounds = Math.max(2, Number(opt("--rounds") ?? 7));

const threadNs = () => Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);

interface Split {
  core: Uint8Array;
  coreLen: number;
  side: Uint8Array;
  sideLen: number;
}
const chunks: Split[] = [];
const { slots } = eachChunk(path, 1, (body, cols, slots) => {
  const s = splitBody(body, cols, slots);
  chunks.push({
    core: deflateSync(s.core, { level: EVENTS_LEVEL }),
    coreLen: s.core.length,
    side: deflateSync(s.side, { level: EVENTS_LEVEL }),
    sideLen: s.side.length,
  });
});

const decoder = new SplitDecoder(slots);
const coreInf = new Inflater();
const sideInf = new Inflater();
/** The trace as a source whose readColumns serves the split chunks (the rest, snapshots and index, as it is). */
function served(whole: boolean): ReplaySource {
  const w = Object.create(openSource(path)) as ReplaySource;
  w.readColumns = (i: number) => {
    const c = chunks[i]!;
    return decoder.decode(coreInf.inflate(c.core, c.coreLen), whole ? sideInf.inflate(c.side, c.sideLen) : null);
  };
  return w;
}
const modes: Record<string, () => ReplaySource> = {
  "as it is (its own decoder)": () => openSource(path),
  "split, both streams": () => served(true),
  "split, core only (the scan)": () => served(false),
};
const got: Record<string, number[]> = {};
const answers: Record<string, string> = {};
for (const k of Object.keys(modes)) got[k] = [];
let events = 0;
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(modes);
  for (let j = 0; j < names.length; j++) {
    const k = names[(j + r) % names.length]!;
    const s = modes[k]!();
    events = s.eventCount;
    const t = threadNs();
    const v = firstViolation(s);
    got[k]!.push((threadNs() - t) / s.eventCount);
    if (r === 0)
      answers[k] = JSON.stringify([
        v.violation,
        v.scanned,
        v.unchecked.length,
        Array.from(packr.pack(toPlain(v.state))),
      ]);
  }
}
const same = new Set(Object.values(answers)).size === 1;
if (!same)
  for (const [k, a] of Object.entries(answers))
    if (a !== answers["as it is (its own decoder)"]) console.log(`  ${k} differs: ${a.slice(0, 300)}`);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const per = (f: (s: Split) => number) => chunks.reduce((x, s) => x + f(s), 0) / events;
console.log(
  `split scan: ${path}, ${events.toLocaleString("en-US")} events, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(
      " ",
    )}; compressed bytes/event core ${per((s) => s.core.length).toFixed(3)} + side ${per((s) => s.side.length).toFixed(3)}`,
);
console.log(`  same answer, count and final state in every mode: ${same ? "yes" : "NO"}`);
console.log(`  firstViolation, CPU ns/event on this thread, median (least) of ${rounds - 1} rounds after the first:`);
for (const [k, v] of Object.entries(got))
  console.log(`    ${k.padEnd(30)} ${med(v.slice(1)).toFixed(1).padStart(6)} (${Math.min(...v.slice(1)).toFixed(1)})`);
if (!same) process.exit(1);
