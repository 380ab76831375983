// ktrace explore <scenario|file.ts> [--fix NAME] --seeds A..B [--jobs N]
//   [--save DIR [--save-all]] [--opt KEY=VALUE]... [--cpus N] [--max-events N] [--json]
//
// Runs the scenario under every seed of the range and lists the failing ones
// (outcome fatal, panic or hang, or an invariant broken). Exit 1 when any
// seed failed, 0 when all passed.

import { explore, saveTraces, type Progress, type SeedResult } from "../../explore/index.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, errColor, isStderrTTY, out, println } from "../io.ts";
import process from "node:process";

/** Traces --save writes without --save-all. */
export const SAVE_FIRST = 10;

const n = (x: number) => x.toLocaleString("en-US");

function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** One progress line on stderr (a terminal), redrawn in place at most every 100 ms. */
function progressBar(label: string): { update(p: Progress): void; clear(): void } {
  let last = -Infinity;
  let shown = false;
  const width = 24;
  const draw = (p: Progress) => {
    const frac = p.total > 0 ? p.done / p.total : 1;
    const full = Math.round(frac * width);
    const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
    const left = rate > 0 ? duration(((p.total - p.done) / rate) * 1000) : "?";
    const bar = `${"█".repeat(full)}${"░".repeat(width - full)}`;
    const fail = p.failing > 0 ? errColor.red(`${n(p.failing)} failing`) : "0 failing";
    process.stderr.write(`\r${label} ${bar} ${n(p.done)}/${n(p.total)} seeds  ${fail}  ${n(Math.round(rate))} seeds/s  ${left} left\x1b[K`);
    shown = true;
  };
  return {
    update(p) {
      const now = p.elapsedMs;
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      draw(p);
    },
    clear() {
      if (shown) process.stderr.write("\r\x1b[K");
    },
  };
}

function outcomeText(r: SeedResult): string {
  const o = r.outcome;
  return o.kind === "ok" || o.kind === "budget" ? o.kind : `${o.kind} at ${o.seq}`;
}

export async function run(args: ParsedArgs<"explore">): Promise<number> {
  const f = args.flags;
  const target = args.positionals[0]!;
  if (f.jobs !== undefined && f.jobs < 1) throw new UsageError(`--jobs must be at least 1, got ${f.jobs}`);
  if (f["save-all"] && f.save === undefined) throw new UsageError("--save-all needs --save DIR (where to write the traces)");
  const req = {
    fix: f.fix,
    cpus: f.cpus,
    opts: f.opt.map((kv) => `${kv.key}=${kv.value}`),
    maxEvents: f["max-events"],
  };
  const { from, to } = f.seeds;
  const bar = isStderrTTY() ? progressBar(`explore ${target}`) : null;
  let res;
  try {
    res = await explore({ target, req, from, to, jobs: f.jobs, onProgress: bar ? (p) => bar.update(p) : undefined });
  } finally {
    bar?.clear();
  }
  const sc = res.scenario;
  const fix = f.fix ?? "";
  let saved: string[] = [];
  if (f.save !== undefined && res.failing.length > 0) {
    const seeds = res.failing.map((r) => r.seed);
    saved = saveTraces(sc, req, f["save-all"] ? seeds : seeds.slice(0, SAVE_FIRST), f.save);
  }

  if (f.json) {
    // One document, as printJson writes it, but one failing seed per line: a range
    // where most seeds fail prints a line each, not a block each.
    const FAILING = "\u0000failing\u0000";
    const doc = JSON.stringify({
      scenario: sc.name, fix, seeds: { from, to }, scanned: res.scanned,
      failing: FAILING, outcomes: res.outcomes, violations: res.violations, saved,
    }, null, 2);
    const rows = res.failing.map((r) => `    ${JSON.stringify({ seed: r.seed, outcome: r.outcome, violation: r.violation })}`);
    out(doc.replace(JSON.stringify(FAILING), rows.length === 0 ? "[]" : `[\n${rows.join(",\n")}\n  ]`) + "\n");
    return res.failing.length > 0 ? 1 : 0;
  }

  const variant = fix ? `--fix ${fix}` : "buggy";
  const extra = [f.cpus !== undefined ? ` --cpus ${f.cpus}` : "", ...f.opt.map((kv) => ` --opt ${kv.key}=${kv.value}`), f["max-events"] !== undefined ? ` --max-events ${f["max-events"]}` : ""].join("");
  const rate = res.elapsedMs > 0 ? Math.round((res.scanned * 1000) / res.elapsedMs) : 0;
  if (res.failing.length > 0) {
    const w = Math.max(4, String(to).length);
    println(color.bold(`${"seed".padEnd(w)}  ${"outcome".padEnd(12)}  first violation`));
    for (const r of res.failing) {
      const v = r.violation;
      const what = v ? `${v.invariant} at ${v.seq}: ${v.message}` : r.outcome.message;
      println(`${String(r.seed).padEnd(w)}  ${color.red(outcomeText(r).padEnd(12))}  ${what}`);
    }
    println();
  }
  // Seeds cut by the budget that broke nothing before it (those that did are listed as failing).
  const budget = (res.outcomes["budget"] ?? 0) - res.failing.filter((r) => r.outcome.kind === "budget").length;
  const pct = ((100 * res.failing.length) / res.scanned).toFixed(res.failing.length * 1000 < res.scanned ? 2 : 1);
  const head = res.failing.length > 0 ? color.red(`${n(res.failing.length)} of ${n(res.scanned)} seeds failed (${pct}%)`) : color.green(`all ${n(res.scanned)} seeds passed`);
  println(`${head}: ${sc.name} (${variant}${extra}) seeds ${from}..${to}, ${res.jobs} job${res.jobs === 1 ? "" : "s"}, ${duration(res.elapsedMs)} (${n(rate)} seeds/s)`);
  const kinds = Object.entries(res.outcomes).sort((a, b) => b[1] - a[1]).map(([k, c]) => `${k} ${n(c)}`).join(", ");
  const invs = Object.entries(res.violations).sort((a, b) => b[1] - a[1]).map(([k, c]) => `${k} ${n(c)}`).join(", ");
  println(color.dim(`  outcomes: ${kinds}${invs ? `; first violations: ${invs}` : ""}`));
  if (budget > 0) println(color.yellow(`  ${n(budget)} seed${budget === 1 ? "" : "s"} stopped at the event budget (--max-events) without failing`));
  if (saved.length > 0) {
    const more = saved.length < res.failing.length ? ` (the first ${saved.length} of ${n(res.failing.length)}; --save-all for all)` : "";
    println(`  saved ${saved.length} trace${saved.length === 1 ? "" : "s"} to ${f.save}${more}`);
  }
  if (res.failing.length > 0) {
    const s = res.failing[0]!.seed;
    const path = saved[0] ?? `${sc.name.replace(/[^A-Za-z0-9_.-]/g, "_")}${fix ? `-${fix}` : ""}-s${s}.ktrace`;
    const rec = `ktrace record ${target}${fix ? ` --fix ${fix}` : ""}${extra} --seed ${s}${saved[0] ? "" : ` -o ${path}`}`;
    println(color.dim(`next: ${saved[0] ? "" : `${rec}   `}ktrace replay ${path} --at violation`));
  } else if (res.failing.length === 0 && f.save !== undefined) {
    eprintln(`ktrace: nothing to save: no seed failed`);
  }
  return res.failing.length > 0 ? 1 : 0;
}
