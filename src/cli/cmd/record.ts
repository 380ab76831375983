// ktrace record <scenario|file.ts> [--fix NAME] [--seed N] [--cpus N]
//   [--snapshot-every K] [--max-events N] [--opt KEY=VALUE]... [-o FILE] [--json]

import { defaultTracePath, prepare, recordAsync } from "../../record/index.ts";
import type { ParsedArgs } from "../args.ts";
import { color, eprintln, printJson, println } from "../io.ts";

export async function run(args: ParsedArgs<"record">): Promise<number> {
  const f = args.flags;
  const p = await prepare({
    target: args.positionals[0]!,
    fix: f.fix,
    seed: f.seed,
    cpus: f.cpus,
    opts: f.opt.map((kv) => `${kv.key}=${kv.value}`),
    maxEvents: f["max-events"],
  });
  const path = f.output ?? defaultTracePath(p);
  // A long run compresses and writes on a second thread (same bytes); KTRACE_WRITER_THREAD=always|never overrides (tests).
  const knob = process.env.KTRACE_WRITER_THREAD;
  const thread = knob === "always" ? true : knob === "never" ? false : "auto";
  const r = await recordAsync(p, path, { snapshotEvery: f["snapshot-every"], thread, note: args.verbose ? eprintln : undefined });
  const o = r.outcome;
  if (f.json) {
    printJson({
      path, scenario: p.scenario.name, fix: p.variant.fix, seed: p.variant.seed, cpus: p.variant.cpus,
      options: p.variant.options, events: r.events, snapshots: r.snapshots, bytes: r.bytes,
      bytesPerEvent: r.events > 0 ? r.bytes / r.events : 0,
      outcome: o ?? { kind: "ok", seq: r.events - 1, message: "" },
    });
    return 0;
  }
  const variant = p.variant.fix ? `--fix ${p.variant.fix}` : Object.keys(p.scenario.fixes).length > 0 ? "buggy" : "default";
  const opts = Object.entries(p.variant.options).map(([k, v]) => ` ${k}=${v}`).join("");
  println(`recorded ${color.bold(p.scenario.name)} (${variant}${opts}) seed ${p.variant.seed} on ${p.variant.cpus} cpus`);
  println(`  events   ${r.events.toLocaleString("en-US")} (${r.snapshots} snapshots, ${r.bytes.toLocaleString("en-US")} bytes, ${(r.bytes / Math.max(1, r.events)).toFixed(1)} bytes/event)`);
  const kind = o?.kind ?? "ok";
  const paint = kind === "ok" ? color.green : kind === "budget" ? color.yellow : color.red;
  println(`  outcome  ${paint(kind)}${o && kind !== "ok" ? ` at seq ${o.seq}: ${o.message}` : ""}`);
  println(`  trace    ${path}`);
  println(color.dim(`next: ktrace check ${path}   ktrace replay ${path}${kind === "ok" ? "" : " --at violation"}`));
  return 0;
}
