// ktrace explore <scenario|file.ts> [--fix NAME] --seeds A..B [--jobs N] [--shard I/N|auto/N]
//   [--save DIR [--save-all]] [--opt KEY=VALUE]... [--cpus N] [--max-events N] [--json]
//
// Runs the scenario under every seed of the range (or of one shard's slice of
// it) and lists the failing ones (outcome fatal, panic or hang, or an
// invariant broken) and the seeds whose run threw. Exit codes, in order:
// 3 when a seed hit an internal error (after every other seed is reported),
// 2 when a seed could not run (a scenario that fails under it), 1 when a seed
// failed, 0 when all passed. `ktrace merge` prints the same for shards.

import process from "node:process";
import { type ExploreDoc, exploreDoc, failureKinds, renderDoc } from "../../explore/doc.ts";
import { explore, type Progress, saveTraces } from "../../explore/index.ts";
import { exploreSearch, type SearchDoc, searchDoc } from "../../explore/search.ts";
import { parseShard, resolveShard, type Shard, shardRange } from "../../explore/shard.ts";
import { type StrategySpec, strategySpec } from "../../explore/strategies/index.ts";
import { safeText } from "../../util/safe-text.ts";
import { cellWidth, cut } from "../../util/text-table.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, errColor, outJson, println, stdoutColumns } from "../io.ts";
import { bar as barOf, duration, liveLine } from "../progress.ts";

/** Failing seeds listed in full on a terminal; above it, the first half of it (the kinds of failure sum up the rest). */
const TERMINAL_ROWS = 20;
/** Kinds of failure listed; the rest are counted. */
const FAILURE_KINDS_SHOWN = 8;

/** Traces --save writes without --save-all. */
export const SAVE_FIRST = 10;

const n = (x: number) => x.toLocaleString("en-US");

/**
 * The progress line for a terminal `columns` wide: always narrower than the
 * terminal (so it never wraps and leaves no stale row), dropping parts in
 * order of use as room runs out (the rate, the time left, the bar, the
 * label) and cutting what is left. `paint` colours the failing count.
 */
export function progressLine(
  label: string,
  p: Progress,
  columns: number,
  paint: (s: string) => string = (s) => s,
): string {
  const room = Math.max(1, columns - 1);
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const left = rate > 0 ? duration(((p.total - p.done) / rate) * 1000) : "?";
  const frac = p.total > 0 ? p.done / p.total : 1;
  const bar = (w: number) => barOf(frac, w);
  const safe = safeText(label);
  // Layouts, widest first. The first that fits with the counts at their widest
  // (done = failing = total) wins, so the layout does not change as they grow.
  const layout = (i: number, done: string, failing: string, errors: string): string => {
    const count = `${done}/${n(p.total)} seeds`;
    const fail = `${failing} failing${p.errors > 0 ? `  ${errors} error${p.errors === 1 ? "" : "s"}` : ""}`;
    switch (i) {
      case 0:
        return `${safe} ${bar(24)} ${count}  ${fail}  ${n(Math.round(rate))} seeds/s  ${left} left`;
      case 1:
        return `${safe} ${bar(24)} ${count}  ${fail}  ${left} left`;
      case 2:
        return `${safe} ${bar(12)} ${count}  ${fail}  ${left} left`;
      case 3:
        return `${bar(12)} ${count}  ${fail}  ${left} left`;
      case 4:
        return `${count}  ${fail}  ${left} left`;
      default:
        return `${count}  ${fail}`;
    }
  };
  const widest = n(p.total);
  const failing = p.failing > 0 ? paint(n(p.failing)) : n(p.failing);
  for (let i = 0; i < 6; i++) {
    if (cellWidth(layout(i, widest, widest, widest)) <= room) return layout(i, n(p.done), failing, n(p.errors));
  }
  return cut(layout(5, n(p.done), n(p.failing), n(p.errors)), room);
}

/** One progress line on stderr (a terminal; null otherwise), redrawn in place at most every 100 ms through the output helpers. */
function progressBar(label: string): { update(p: Progress): void; clear(): void } | null {
  const live = liveLine((p: Progress, columns: number) => progressLine(label, p, columns, errColor.red));
  return live && { update: (p) => live.update(p, p.done >= p.total), clear: () => live.clear() };
}

/** How the summary line says the run went: jobs and time, or the shards it was merged from. */
export type RunNote = { jobs: number; elapsedMs: number; shard?: Shard } | { mergedFrom: number };

/** What the text report needs besides the document. */
export interface TextContext {
  /** What to pass to `ktrace record` (the scenario name or file). */
  target: string;
  /** Flags to repeat after it (` --cpus 4 --opt k=v`). */
  extra: string;
  /** The --save DIR, or null. */
  saveDir: string | null;
  note: RunNote;
}

/**
 * The human report of an exploration (explore's text, and merge's): failing
 * and errored seeds in seed order, the summary, the next command. `target`
 * is what to pass to `ktrace record`; `extra` the flags to repeat after it.
 * Strings that came from a document (merge) are made safe for the terminal.
 */
export function printText(d: ExploreDoc, ctx: TextContext): void {
  const { target, extra, note } = ctx;
  const fix = d.fix;
  const variant = fix ? `--fix ${safeText(fix)}` : "buggy";
  const { from, to } = d.seeds;
  type Row = { seed: number; outcome: string; what: string; bad: boolean };
  const rows: Row[] = [
    ...d.failing.map((r) => {
      const o = r.outcome;
      const v = r.violation;
      return {
        seed: r.seed,
        bad: true,
        outcome: o.kind === "ok" || o.kind === "budget" ? o.kind : `${o.kind} at ${o.seq}`,
        what: v ? `${v.invariant} at ${v.seq}: ${v.message}` : o.message,
      };
    }),
    ...d.errors.map((e) => ({
      seed: e.seed,
      bad: true,
      outcome: "error",
      what: `${e.exitCode === 3 ? "internal error" : "cannot run"}: ${e.message}`,
    })),
  ].sort((a, b) => a.seed - b.seed);
  if (rows.length > 0) {
    const w = Math.max(4, String(to).length);
    // On a terminal: the first rows, each cut to its width (the kinds of failure below sum up the rest);
    // piped or redirected: every row, in full.
    const cols = stdoutColumns();
    const shown = cols !== undefined && rows.length > TERMINAL_ROWS ? rows.slice(0, TERMINAL_ROWS / 2) : rows;
    println(color.bold(`${"seed".padEnd(w)}  ${"outcome".padEnd(12)}  first violation`));
    for (const r of shown) {
      const what = safeText(r.what);
      const outcome = safeText(r.outcome).padEnd(12);
      const room = cols === undefined ? undefined : cols - w - 4 - cellWidth(outcome);
      println(`${String(r.seed).padEnd(w)}  ${color.red(outcome)}  ${room === undefined ? what : cut(what, room)}`);
    }
    if (shown.length < rows.length)
      println(
        color.dim(`… ${n(rows.length - shown.length)} more failing seeds (every one: pipe the output, or --json)`),
      );
    println();
  }
  const failed = d.failing.length;
  // Seeds cut by the budget that broke nothing before it (those that did are listed as failing).
  const budget = (d.outcomes["budget"] ?? 0) - d.failing.filter((r) => r.outcome.kind === "budget").length;
  const passed = d.scanned - failed - d.errors.length;
  const pct = d.scanned > 0 ? ((100 * failed) / d.scanned).toFixed(failed * 1000 < d.scanned ? 2 : 1) : "0";
  const head =
    failed > 0
      ? color.red(`${n(failed)} of ${n(d.scanned)} seeds failed (${pct}%)`)
      : d.errors.length > 0
        ? `${n(passed)} of ${n(d.scanned)} seeds passed`
        : d.scanned === 0
          ? "no seeds to run"
          : color.green(d.scanned === 1 ? "the 1 seed passed" : `all ${n(d.scanned)} seeds passed`);
  let how: string;
  if ("mergedFrom" in note) how = `merged from ${n(note.mergedFrom)} shard${note.mergedFrom === 1 ? "" : "s"}`;
  else {
    const rate = note.elapsedMs > 0 ? Math.round((d.scanned * 1000) / note.elapsedMs) : 0;
    how = `${note.jobs} job${note.jobs === 1 ? "" : "s"}, ${duration(note.elapsedMs)} (${n(rate)} seeds/s)`;
  }
  const range =
    "shard" in note && note.shard
      ? (() => {
          const s = shardRange(from, to, note.shard.index, note.shard.count);
          const slice = s.to < s.from ? "no seeds" : s.to === s.from ? `seed ${s.from}` : `seeds ${s.from}..${s.to}`;
          return `shard ${note.shard.index}/${note.shard.count} of seeds ${from}..${to}: ${slice}`;
        })()
      : `seeds ${from}..${to}`;
  println(`${head}: ${safeText(d.scenario)} (${variant}${safeText(extra)}) ${range}, ${how}`);
  const kinds = Object.entries(d.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, c]) => `${safeText(k)} ${n(c)}`)
    .join(", ");
  const invs = Object.entries(d.violations)
    .sort((a, b) => b[1] - a[1])
    .map(([k, c]) => `${safeText(k)} ${n(c)}`)
    .join(", ");
  println(color.dim(`  outcomes: ${kinds || "none"}${invs ? `; first violations: ${invs}` : ""}`));
  if (failed >= 2) {
    const ks = failureKinds(d.failing);
    const cw = n(ks[0]!.count).length;
    println(color.dim(`  kinds of failure (the first violation, numbers aside):`));
    for (const k of ks.slice(0, FAILURE_KINDS_SHOWN))
      println(`    ${n(k.count).padStart(cw)}  ${safeText(k.what)}  ${color.dim(`(seed ${k.seed})`)}`);
    if (ks.length > FAILURE_KINDS_SHOWN)
      println(color.dim(`    … ${ks.length - FAILURE_KINDS_SHOWN} more kinds (--json)`));
  }
  if (budget > 0)
    println(
      color.yellow(
        `  ${n(budget)} seed${budget === 1 ? "" : "s"} stopped at the event budget (--max-events) without failing`,
      ),
    );
  const internal = d.errors.filter((e) => e.exitCode === 3);
  if (d.errors.length > 0) {
    const what = internal.length > 0 ? "hit an internal error in ktrace" : "could not run";
    println(
      color.red(
        `  ${n(d.errors.length)} seed${d.errors.length === 1 ? "" : "s"} ${what} (outcome 'error'); every other seed was run and judged`,
      ),
    );
  }
  if (d.saved.length > 0) {
    const more = d.saved.length < failed ? ` (the first ${d.saved.length} of ${n(failed)}; --save-all for all)` : "";
    println(
      `  saved ${d.saved.length} trace${d.saved.length === 1 ? "" : "s"} to ${safeText(ctx.saveDir ?? "")}${more}`,
    );
  }
  // Seeds that passed, when others failed: a run to diff a failing one against.
  const passes = passed - budget;
  if (failed > 0 && d.passing.length > 0) {
    const more = passes > d.passing.length ? ` (the first ${d.passing.length} of ${n(passes)})` : "";
    println(color.green(`  passed: seed${d.passing.length === 1 ? "" : "s"} ${d.passing.join(", ")}${more}`));
  }
  const first = d.failing[0]?.seed ?? d.errors[0]?.seed;
  if (first === undefined) {
    // Every seed passed: random seeds rarely hit a schedule that needs one preemption at one exact point (a thread
    // that starts late never overlaps the other); the searches that do are one flag away.
    if (d.scanned > 0 && !("mergedFrom" in note) && !d.strategy.startsWith("dfs")) {
      const t = `${target}${fix ? ` --fix ${fix}` : ""}`;
      const flags = extra.replace(/ --strategy pct --depth \d+/, "");
      const other = d.strategy.startsWith("pct")
        ? ""
        : `, or ktrace explore ${t}${flags} --seeds ${from}..${to} --strategy pct`;
      println(
        color.dim(
          safeText(
            d.memory !== undefined
              ? `next: seeds pick few of the schedules; to try every schedule on ${d.cpus} cpus with at most 2 preemptions and delays, and every drain of the store buffers: ktrace explore ${t}${flags} --strategy dfs${other}`
              : `next: seeds pick few of the schedules; to try every schedule on 1 cpu with at most 2 preemptions: ktrace explore ${t}${flags.replace(/ --cpus \d+/, "")} --strategy dfs${other}`,
          ),
        ),
      );
    }
    return;
  }
  const base = `${d.scenario.replace(/[^A-Za-z0-9_.-]/g, "_")}${fix ? `-${fix}` : ""}`;
  const file = `${base}-s${first}.ktrace`;
  const recOf = (seed: number) => `ktrace record ${target}${fix ? ` --fix ${fix}` : ""}${extra} --seed ${seed}`;
  const rec = recOf(first);
  if (failed > 0) {
    const saved = d.saved[0];
    println(
      color.dim(safeText(`next: ${saved ? "" : `${rec} -o ${file}   `}ktrace replay ${saved ?? file} --at violation`)),
    );
    const ok = d.passing[0];
    if (ok !== undefined) {
      const okFile = `${base}-s${ok}.ktrace`;
      println(
        color.dim(
          safeText(
            `      compare with a passing run: ${recOf(ok)} -o ${okFile}   ktrace diff ${saved ?? file} ${okFile}`,
          ),
        ),
      );
    }
  } else {
    const verbose = d.errors[0]!.exitCode === 3 ? " --verbose" : "";
    println(
      color.dim(
        safeText(
          `next: ${rec} -o ${file}${verbose}   (reproduces seed ${first}'s error${verbose ? ", with its stack" : ""})`,
        ),
      ),
    );
  }
}

/** The exit code of an exploration: 3 internal error, 2 a seed could not run, 1 a seed failed, 0 all passed. */
export function exitCodeFor(d: Pick<ExploreDoc, "failing" | "errors">): number {
  if (d.errors.some((e) => e.exitCode === 3)) return 3;
  if (d.errors.length > 0) return 2;
  return d.failing.length > 0 ? 1 : 0;
}

/** The one stderr line for seeds that errored (main prints nothing more: the run itself did not fail). */
export function errorLine(d: Pick<ExploreDoc, "errors">): string | null {
  if (d.errors.length === 0) return null;
  const internal = d.errors.filter((e) => e.exitCode === 3);
  const list = internal.length > 0 ? internal : d.errors;
  const seeds =
    list
      .slice(0, 5)
      .map((e) => e.seed)
      .join(", ") + (list.length > 5 ? ", …" : "");
  const first = list[0]!;
  const what = internal.length > 0 ? "internal error" : "a scenario that cannot run";
  return safeText(
    `ktrace: ${what} at ${list.length} seed${list.length === 1 ? "" : "s"} (${seeds}); first, seed ${first.seed}: ${first.message.slice(0, 300)} (the other seeds were run and reported${internal.length > 0 ? "; please report this bug" : ""})`,
  );
}

export async function run(args: ParsedArgs<"explore">): Promise<number> {
  const f = args.flags;
  const target = args.positionals[0]!;
  if (f.jobs !== undefined && f.jobs < 1) throw new UsageError(`--jobs must be at least 1, got ${f.jobs}`);
  if (f["save-all"] && f.save === undefined)
    throw new UsageError("--save-all needs --save DIR (where to write the traces)");
  const strategy = strategySpec(f.strategy, f.depth, f.preemptions);
  if (f["max-schedules"] !== undefined && strategy.name !== "dfs")
    throw new UsageError("--max-schedules is the bounded search's (--strategy dfs)");
  if (strategy.name === "dfs") return runSearch(args, strategy);
  const whole = f.seeds;
  if (whole === undefined)
    throw new UsageError("explore needs --seeds A..B (see 'ktrace explore --help'), or --strategy dfs");
  const shard = f.shard !== undefined ? resolveShard(parseShard(f.shard), process.env) : undefined;
  if (shard?.source) eprintln(`ktrace: shard ${shard.index}/${shard.count} (index from ${shard.source})`);
  const req = {
    fix: f.fix,
    cpus: f.cpus,
    opts: f.opt.map((kv) => `${kv.key}=${kv.value}`),
    maxEvents: f["max-events"],
    strategy,
  };
  const { from, to } = shard ? shardRange(whole.from, whole.to, shard.index, shard.count) : whole;
  const bar = progressBar(`explore ${target}`);
  let res: Awaited<ReturnType<typeof explore>>;
  try {
    res = await explore({ target, req, from, to, jobs: f.jobs, onProgress: bar ? (p) => bar.update(p) : undefined });
  } finally {
    bar?.clear();
  }
  let saved: string[] = [];
  if (f.save !== undefined && res.failing.length > 0) {
    const seeds = res.failing.map((r) => r.seed);
    saved = saveTraces(res.scenario, req, f["save-all"] ? seeds : seeds.slice(0, SAVE_FIRST), f.save);
  }
  const doc = exploreDoc(
    res,
    whole,
    saved,
    shard ? { index: shard.index, count: shard.count, save: f.save ?? null, saveAll: f["save-all"] } : undefined,
  );
  const code = exitCodeFor(doc);
  if (f.json) outJson(renderDoc(doc));
  else {
    const extra = [
      f.cpus !== undefined ? ` --cpus ${f.cpus}` : "",
      ...f.opt.map((kv) => ` --opt ${kv.key}=${kv.value}`),
      f["max-events"] !== undefined ? ` --max-events ${f["max-events"]}` : "",
      strategy.name === "pct" ? ` --strategy pct --depth ${strategy.depth}` : "",
    ].join("");
    const note: RunNote = shard
      ? { jobs: res.jobs, elapsedMs: res.elapsedMs, shard }
      : { jobs: res.jobs, elapsedMs: res.elapsedMs };
    printText(doc, { target, extra, saveDir: f.save ?? null, note });
    if (res.failing.length === 0 && f.save !== undefined) eprintln(`ktrace: nothing to save: no seed failed`);
  }
  const line = errorLine(doc);
  if (line !== null) eprintln(line);
  return code;
}

/** explore --strategy dfs: every schedule on one cpu within the preemption bound. */
async function runSearch(args: ParsedArgs<"explore">, strategy: StrategySpec): Promise<number> {
  const f = args.flags;
  const target = args.positionals[0]!;
  if (f.seeds !== undefined)
    throw new UsageError("--strategy dfs runs every schedule within its bound, not seeds: drop --seeds");
  if (f.shard !== undefined)
    throw new UsageError("--strategy dfs does not run in shards (its schedules are found as it goes): drop --shard");
  // --cpus: one unless the world runs under tso (search() refuses a wrong count with one line, exit 2).
  const t0 = performance.now();
  const res = await exploreSearch({
    target,
    fix: f.fix,
    opts: f.opt.map((kv) => `${kv.key}=${kv.value}`),
    maxEvents: f["max-events"],
    cpus: f.cpus,
    bound: strategy.preemptions!,
    maxSchedules: f["max-schedules"],
    save: f.save,
    saveAll: f["save-all"],
  });
  const doc = searchDoc(res);
  if (f.json) {
    outJson(JSON.stringify(doc, null, 2) + "\n");
    return doc.failing.length > 0 ? 1 : 0;
  }
  printSearch(
    doc,
    target,
    f.opt.map((kv) => ` --opt ${kv.key}=${kv.value}`).join(""),
    performance.now() - t0,
    f.save ?? null,
  );
  return doc.failing.length > 0 ? 1 : 0;
}

function printSearch(d: SearchDoc, target: string, extra: string, ms: number, saveDir: string | null): void {
  const variant = d.fix ? `--fix ${safeText(d.fix)}` : "buggy";
  const k = d.preemptions;
  const within =
    d.memory !== undefined
      ? `every schedule with at most ${k} preemptions and delays (a step at 4× its base cost)`
      : `every schedule with at most ${k} preemption${k === 1 ? "" : "s"}`;
  if (d.failing.length > 0) {
    println(
      color.bold(
        `${"schedule".padEnd(9)}  ${(d.memory !== undefined ? "pre+delay" : "preempt").padEnd(7)}  ${"outcome".padEnd(12)}  first violation`,
      ),
    );
    for (const r of d.failing) {
      const o = r.outcome;
      const what = r.violation ? `${r.violation.invariant} at ${r.violation.seq}: ${r.violation.message}` : o.message;
      println(
        `${String(r.schedule).padEnd(9)}  ${String(r.preemptions).padEnd(7)}  ${color.red(`${o.kind} at ${o.seq}`.padEnd(12))}  ${safeText(what)}`,
      );
    }
    println();
  }
  const scope = `${safeText(d.scenario)} (${variant}${safeText(extra)}) on ${d.cpus} cpu${d.cpus === 1 ? "" : "s"}, ${within}${d.memory !== undefined ? ` and every drain of the store buffers (${d.memory})` : ""}`;
  const costs = d.memory !== undefined ? "base and delayed (4×) step costs" : "base step costs";
  const how = `${duration(ms)}${d.complete ? (d.timed ? `, exhaustive at ${costs}` : ", exhaustive") : `, stopped after ${n(d.scanned)} schedules (--max-schedules): incomplete`}`;
  if (d.failingCount === 0) {
    const head = d.complete
      ? `no failure in any of the ${n(d.scanned)} schedules`
      : `no failure in the first ${n(d.scanned)} schedules`;
    println(`${color.green(head)}: ${scope} (${how})`);
  } else {
    println(`${color.red(`${n(d.failingCount)} of ${n(d.scanned)} schedules failed`)}: ${scope} (${how})`);
  }
  const kinds = Object.entries(d.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([x, c]) => `${x} ${n(c)}`)
    .join(", ");
  const invs = Object.entries(d.violations)
    .sort((a, b) => b[1] - a[1])
    .map(([x, c]) => `${safeText(x)} ${n(c)}`)
    .join(", ");
  println(color.dim(`  outcomes: ${kinds || "none"}${invs ? `; first violations: ${invs}` : ""}`));
  if (d.timed)
    println(
      color.yellow(
        d.memory !== undefined
          ? `  timing: on ${d.cpus} cpus the step costs decide how the cpus' steps interleave, and the search runs each step at its base cost or delayed (4×, within the bound); other costs make other schedules (explore them with --strategy random or pct)`
          : `  timing: threads here sleep or wait with a timeout, and the search runs every step at its base cost; other step costs wake them at other points and can make other schedules (explore them with --strategy random or pct)`,
      ),
    );
  if (d.failingCount > d.failing.length)
    println(color.dim(`  listed: the first ${d.failing.length} failing schedules`));
  if (d.saved.length > 0)
    println(`  saved ${d.saved.length} trace${d.saved.length === 1 ? "" : "s"} to ${safeText(saveDir ?? "")}`);
  const first = d.failing[0];
  if (first) {
    println(
      `  fewest ${d.memory !== undefined ? "preemptions and delays" : "preemptions"} of a failing schedule: ${d.fewest}${d.complete ? (d.timed ? ` (exact at ${costs})` : " (exact: every schedule within the bound ran)") : ""}`,
    );
    println(
      color.dim(
        safeText(
          `next: ktrace record ${target}${d.fix ? ` --fix ${d.fix}` : ""}${extra} --cpus ${d.cpus} --schedule ${first.decisions} -o ${d.scenario.replace(/[^A-Za-z0-9_.-]/g, "_")}-dfs-${first.schedule}.ktrace`,
        ),
      ),
    );
  }
}
