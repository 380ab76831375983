// ktrace record <scenario|file.ts> [--fix NAME] [--seed N] [--cpus N]
//   [--snapshot-every K] [--max-events N] [--opt KEY=VALUE]... [--strategy random|pct [--depth d]]
//   [--schedule FILE|ks1.… | --schedule-from TRACE] [-o FILE] [--json]

import { readFileSync, statSync } from "node:fs";
import { readStoredSchedule } from "../../explore/branch.ts";
import { type Mismatch, ReplayChooser, strategySpec } from "../../explore/strategies/index.ts";
import { params } from "../../kernel/index.ts";
import { defaultTracePath, prepare, recordAsync, strategyChooser } from "../../record/index.ts";
import { parseScheduleText, SCHEDULE_PREFIX, type Schedule, ScheduleError } from "../../trace/schedule.ts";
import { safeText } from "../../util/safe-text.ts";
import type { ParsedArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { color, eprintln, printJson, println } from "../io.ts";

/** Largest decision-list file read. */
const MAX_SCHEDULE_FILE = 64 * 1024 * 1024;

/** The decision list of --schedule: the compact string itself, or a file holding one. */
function readScheduleArg(arg: string): Schedule {
  const fail = (e: unknown): never => {
    if (e instanceof ScheduleError)
      throw new UsageError(
        `--schedule ${safeText(arg.length > 60 ? `${arg.slice(0, 57)}...` : arg)}: not a decision list (${e.message})`,
        "give the compact string 'ktrace shrink' prints (ks1.…), or a file holding one; --schedule-from TRACE takes a trace's decisions",
      );
    throw e;
  };
  if (arg.startsWith(SCHEDULE_PREFIX)) {
    try {
      return parseScheduleText(arg, params.MAX_CPUS);
    } catch (e) {
      return fail(e);
    }
  }
  let text: string;
  try {
    const st = statSync(arg);
    if (!st.isFile()) throw new UsageError(`--schedule ${safeText(arg)}: not a file`);
    if (st.size > MAX_SCHEDULE_FILE)
      throw new UsageError(
        `--schedule ${safeText(arg)}: ${st.size} bytes, more than a decision list file may hold (${MAX_SCHEDULE_FILE})`,
      );
    text = readFileSync(arg, "utf8");
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `--schedule ${safeText(arg)}: no such file, and not a decision list (those start with ${SCHEDULE_PREFIX})`,
    );
  }
  try {
    return parseScheduleText(text, params.MAX_CPUS);
  } catch (e) {
    return fail(e);
  }
}

export async function run(args: ParsedArgs<"record">): Promise<number> {
  const f = args.flags;
  if (f.schedule !== undefined && f["schedule-from"] !== undefined)
    throw new UsageError("give one of --schedule and --schedule-from");
  const strategy = strategySpec(f.strategy, f.depth, undefined);
  let schedule: Schedule | null = null;
  let from = "";
  if (f.schedule !== undefined) {
    schedule = readScheduleArg(f.schedule);
    from = "the decision list";
  } else if (f["schedule-from"] !== undefined) {
    schedule = readStoredSchedule(f["schedule-from"]);
    from = safeText(f["schedule-from"]);
  }
  const p = await prepare({
    target: args.positionals[0]!,
    fix: f.fix,
    seed: f.seed,
    cpus: f.cpus ?? schedule?.cpus,
    opts: f.opt.map((kv) => `${kv.key}=${kv.value}`),
    maxEvents: f["max-events"],
    strategy,
  });
  if (schedule !== null && schedule.cpus !== p.variant.cpus) {
    throw new UsageError(
      `${from} was made on ${schedule.cpus} cpu${schedule.cpus === 1 ? "" : "s"}, this run has ${p.variant.cpus}; drop --cpus to run on ${schedule.cpus}`,
    );
  }
  const path = f.output ?? defaultTracePath(p);
  const replay = schedule !== null ? new ReplayChooser(schedule, strategyChooser(p)) : null;
  // A long run compresses and writes on a second thread (same bytes); KTRACE_WRITER_THREAD=always|never overrides (tests).
  const knob = process.env.KTRACE_WRITER_THREAD;
  const thread = knob === "always" ? true : knob === "never" ? false : "auto";
  const r = await recordAsync(p, path, {
    snapshotEvery: f["snapshot-every"],
    thread,
    note: args.verbose ? eprintln : undefined,
    ...(replay
      ? { chooser: replay, origin: `record --schedule${f["schedule-from"] !== undefined ? "-from" : ""}` }
      : {}),
  });
  const mismatch: Mismatch | null = replay?.mismatch ?? null;
  const o = r.outcome;
  if (mismatch)
    eprintln(
      safeText(
        `ktrace: note: ${from}: ${mismatch.what} (seq ${mismatch.seq}); from there on the ${strategy.name} strategy (seed ${p.variant.seed}) decided`,
      ),
    );
  const unused = replay && !mismatch && !replay.exhausted;
  if (f.json) {
    printJson({
      path,
      scenario: p.scenario.name,
      fix: p.variant.fix,
      seed: p.variant.seed,
      cpus: p.variant.cpus,
      options: p.variant.options,
      strategy: strategy.name === "pct" ? `pct depth ${strategy.depth}` : strategy.name,
      events: r.events,
      snapshots: r.snapshots,
      bytes: r.bytes,
      bytesPerEvent: r.events > 0 ? r.bytes / r.events : 0,
      outcome: o ?? { kind: "ok", seq: r.events - 1, message: "" },
      ...(replay ? { schedule: { replayed: true, mismatch, unused: unused ? replay.used() : null } } : {}),
    });
    return 0;
  }
  const variant = p.variant.fix
    ? `--fix ${p.variant.fix}`
    : Object.keys(p.scenario.fixes).length > 0
      ? "buggy"
      : "default";
  const opts = Object.entries(p.variant.options)
    .map(([k, v]) => ` ${k}=${v}`)
    .join("");
  const how = replay
    ? `the decisions of ${from}`
    : strategy.name === "pct"
      ? `pct depth ${strategy.depth}, seed ${p.variant.seed}`
      : `seed ${p.variant.seed}`;
  println(`recorded ${color.bold(p.scenario.name)} (${variant}${opts}) ${how} on ${p.variant.cpus} cpus`);
  println(
    `  events   ${r.events.toLocaleString("en-US")} (${r.snapshots} snapshots, ${r.bytes.toLocaleString("en-US")} bytes, ${(r.bytes / Math.max(1, r.events)).toFixed(1)} bytes/event)`,
  );
  const kind = o?.kind ?? "ok";
  const paint = kind === "ok" ? color.green : kind === "budget" ? color.yellow : color.red;
  println(`  outcome  ${paint(kind)}${o && kind !== "ok" ? ` at seq ${o.seq}: ${o.message}` : ""}`);
  if (replay) {
    const u = replay.used();
    println(
      `  schedule ${mismatch ? color.yellow(`followed until seq ${mismatch.seq}, then the ${strategy.name} strategy`) : unused ? `every question answered from the list (${u.picks} picks, ${u.questions} preemption questions, ${u.draws} timing draws; the rest of the list was not needed)` : "every decision replayed"}`,
    );
  }
  println(`  trace    ${path}`);
  println(color.dim(`next: ktrace check ${path}   ktrace replay ${path}${kind === "ok" ? "" : " --at violation"}`));
  return 0;
}
