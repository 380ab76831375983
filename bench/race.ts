// The whole-trace scan (`ktrace check`'s) with the data-race invariant on:
// records `stress --opt state=vars` (every access ordered: a lock, an atomic
// or a fork) and times firstViolation over it with every invariant but
// data-race, with every invariant, and with data-race alone.
// Usage: npx bun bench/race.ts [--events N[,N...]] [--opt KEY=VALUE] [--keep] [--json]
// (default --events 10000000 --opt state=vars). Prints events/s per scan and the
// machine's load average; docs/BENCHMARKS.md keeps the latest figures.

import { mkdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { prepare, record } from "../src/record/index.ts";
import { firstViolation, INVARIANTS, type Invariant, openSource } from "../src/replay/index.ts";
import { MACHINE, RUNTIME } from "./host.ts";

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const ei = argv.indexOf("--events");
const sizes = ei >= 0 ? argv[ei + 1]!.split(",").map(Number) : [10_000_000];
const oi = argv.indexOf("--opt");
const opts = oi >= 0 ? [argv[oi + 1]!] : ["state=vars"];
mkdirSync("bench/out", { recursive: true });

const without = INVARIANTS.filter((i) => i.name !== "data-race");
const only = INVARIANTS.filter((i) => i.name === "data-race");
const sets: [string, readonly Invariant[]][] = [
  ["without data-race", without],
  ["all (with data-race)", INVARIANTS],
  ["data-race alone", only],
];

const rows = [];
for (const n of sizes) {
  const path = `bench/out/race-stress-${n}.ktrace`;
  const p = await prepare({ target: "stress", maxEvents: n, opts });
  const r = record(p, path);
  const load = loadavg()[0]!;
  for (const [what, invs] of sets) {
    const src = openSource(path);
    const t = performance.now();
    const res = firstViolation(src, invs);
    const s = (performance.now() - t) / 1000;
    rows.push({
      events: r.events,
      invariants: what,
      eventsPerSec: Math.round(res.scanned / s),
      seconds: +s.toFixed(2),
      violation: res.violation ? `${res.violation.invariant} at ${res.violation.seq}: ${res.violation.message}` : null,
      load: +load.toFixed(2),
    });
  }
  if (!argv.includes("--keep")) rmSync(path, { force: true });
}
const runtime = RUNTIME;
const machine = MACHINE;
if (json) console.log(JSON.stringify({ runtime, machine, opts, rows }, null, 2));
else {
  console.log(`scan benchmark (stress --opt ${opts.join(" ")}), ${runtime}, ${machine}`);
  for (const r of rows) {
    console.log(
      `${r.events.toLocaleString("en-US").padStart(11)} events, ${r.invariants.padEnd(21)}: ${(r.eventsPerSec / 1e6).toFixed(2)} M events/s (${r.seconds} s), load average ${r.load}; ${r.violation ?? "no violation"}`,
    );
  }
}
