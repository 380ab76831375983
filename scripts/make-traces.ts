// Writes the example traces in traces/: every seed scenario, buggy and each
// fixed variant, at the scenario's default seed, plus traces/README.md
// listing them. Run with `npm run traces` (bun scripts/make-traces.ts).
//
// test/traces.test.ts records the same list again and fails when the
// committed files differ: that checks determinism and format stability at
// once. After a deliberate change to the kernel, a scenario or the format,
// rerun this script and commit the new traces.

import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeTextFile } from "../src/export/out-file.ts";
import { prepare, record } from "../src/record/index.ts";
import { SCENARIOS } from "../src/scenarios/index.ts";

/** One example: a scenario variant. */
export interface Example {
  scenario: string;
  fix: string;
  opts: string[];
  /** File name in traces/. */
  file: string;
}

/** Extra variants worth a trace besides buggy and each fix (an option that changes the failure). */
const EXTRA: { scenario: string; opts: string[] }[] = [{ scenario: "rcore-kstack", opts: ["stack=flush"] }];

/** The seed scenarios (those reproducing an upstream bug), in registry order. */
export function examples(): Example[] {
  const out: Example[] = [];
  const file = (scenario: string, fix: string, opts: string[]) =>
    `${scenario}${fix ? `--${fix}` : ""}${opts.map((o) => `--${o.replace(/=/g, "-")}`).join("")}.ktrace`;
  for (const s of SCENARIOS) {
    if (!s.upstream) continue;
    for (const fix of ["", ...Object.keys(s.fixes)])
      out.push({ scenario: s.name, fix, opts: [], file: file(s.name, fix, []) });
    for (const x of EXTRA)
      if (x.scenario === s.name) out.push({ scenario: s.name, fix: "", opts: x.opts, file: file(s.name, "", x.opts) });
  }
  return out;
}

/** The command that records an example. */
export function commandFor(ex: Example, path: string): string {
  return `ktrace record ${ex.scenario}${ex.fix ? ` --fix ${ex.fix}` : ""}${ex.opts.map((o) => ` --opt ${o}`).join("")} -o ${path}`;
}

/** Records every example into dir and writes dir/README.md; removes stale .ktrace files there. */
export async function makeTraces(
  dir: string,
): Promise<{ file: string; bytes: number; events: number; outcome: string }[]> {
  mkdirSync(dir, { recursive: true });
  const list = examples();
  const keep = new Set(list.map((e) => e.file));
  for (const f of readdirSync(dir)) if (f.endsWith(".ktrace") && !keep.has(f)) rmSync(join(dir, f));
  const rows = [];
  for (const ex of list) {
    const p = await prepare({ target: ex.scenario, fix: ex.fix || undefined, opts: ex.opts });
    const r = record(p, join(dir, ex.file));
    const o = r.outcome;
    rows.push({
      ex,
      seed: p.variant.seed,
      file: ex.file,
      bytes: r.bytes,
      events: r.events,
      outcome: o ? `${o.kind}${o.kind === "ok" ? "" : ` at ${o.seq}`}` : "ok",
    });
  }
  const lines = [
    "# Example traces",
    "",
    "Written by `npm run traces` (scripts/make-traces.ts): each seed scenario, buggy and",
    "fixed, at its default seed. `test/traces.test.ts` records them again and fails when",
    "these files differ from what the current code records; after a deliberate change",
    "to the kernel, a scenario or the trace format, rerun the script and commit.",
    "",
    "| file | scenario | variant | seed | events | bytes | outcome |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| \`${r.file}\` | ${r.ex.scenario} | ${r.ex.fix ? `--fix ${r.ex.fix}` : "buggy"}${r.ex.opts.map((o) => ` --opt ${o}`).join("")} | ${r.seed} | ${r.events} | ${r.bytes} | ${r.outcome} |`,
    ),
    "",
    "Reproduce one: `" + commandFor(list[0]!, `traces/${list[0]!.file}`) + "`; look at one:",
    "`ktrace info traces/" + list[0]!.file + "`, `ktrace replay traces/" + list[0]!.file + " --at violation`.",
    "",
  ];
  writeTextFile(join(dir, "README.md"), lines.join("\n"));
  return rows.map(({ file, bytes, events, outcome }) => ({ file, bytes, events, outcome }));
}

/** Bytes of a file, for comparisons. */
export function bytesOf(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

if ((import.meta as { main?: boolean }).main) {
  const dir = process.argv[2] ?? "traces";
  const rows = await makeTraces(dir);
  for (const r of rows)
    console.log(
      `${r.file.padEnd(48)} ${String(r.events).padStart(4)} events ${String(r.bytes).padStart(6)} bytes  ${r.outcome}`,
    );
  console.log(`${rows.length} traces in ${dir}/`);
}
