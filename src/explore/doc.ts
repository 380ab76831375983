// The `ktrace explore --json` document: one definition of its fields and of
// its bytes, used by explore (a whole run or one shard) and by `ktrace merge`
// (which reads shards' documents back, checks them as untrusted input, and
// prints exactly what one unsharded run prints).

import type { MemoryModel, Outcome } from "../kernel/index.ts";
import { safeText } from "../util/safe-text.ts";
import type { ExploreResult } from "./index.ts";
import { ERROR_OUTCOME, PASSING_KEEP, type SeedError } from "./seed.ts";
import { MAX_SHARDS, shardRange } from "./shard.ts";
import { strategyLabel } from "./strategies/index.ts";

/** The strategy of a run without --strategy. */
export const DEFAULT_STRATEGY = "random";

/** One failing seed as the document lists it. */
export interface FailingJson {
  seed: number;
  outcome: Outcome;
  violation: { seq: number; invariant: string; message: string } | null;
}

/** What a shard's document adds: which slice it ran, and how it saved traces (merge needs both). */
export interface ShardJson {
  index: number;
  count: number;
  /** The --save DIR, or null. */
  save: string | null;
  saveAll: boolean;
}

/** A memory model a document names: one with store buffers (sc is the field's absence). */
export type BufferedModel = Exclude<MemoryModel, "sc">;

/** A document's memory field (untrusted), checked. */
function bufferedModel(m: string, r: Reader): BufferedModel {
  return m === "tso" || m === "pso" ? m : r.fail("memory", "is not tso or pso (the memory models a document names)");
}

export interface ExploreDoc {
  scenario: string;
  fix: string;
  /** Resolved scenario options, in the scenario's order. */
  options: Record<string, string>;
  cpus: number;
  /** "tso" or "pso" when the world ran under that memory model (store buffers); absent under sc. */
  memory?: BufferedModel;
  maxEvents: number;
  /** The strategy as text: "random", "pct depth 3" (strategyLabel). */
  strategy: string;
  /** The whole range asked for (a shard ran a slice of it: see `shard`). */
  seeds: { from: number; to: number };
  /** Present only in a shard's output. */
  shard?: ShardJson;
  scanned: number;
  /** Failing seeds in seed order. */
  failing: FailingJson[];
  /** Seeds whose run threw (an internal error, exitCode 3, or a scenario that cannot run, 2), in seed order. */
  errors: SeedError[];
  /** The first PASSING_KEEP seeds that passed (ended ok, no invariant broken), in seed order: runs to diff a failing one against. */
  passing: number[];
  /** Seeds per outcome kind (kernel kinds in OUTCOME_KINDS order, then "error"). */
  outcomes: Record<string, number>;
  /** Failing seeds per first-violated invariant (in INVARIANT_NAMES order, then others sorted). */
  violations: Record<string, number>;
  /** Traces --save wrote, in seed order: saved[i] is failing[i]'s. */
  saved: string[];
}

/**
 * The document of a run: `res` over the whole range `seeds`, or over shard
 * `shard` of it; `saved` the traces --save wrote.
 */
export function exploreDoc(
  res: ExploreResult,
  seeds: { from: number; to: number },
  saved: string[],
  shard?: ShardJson,
): ExploreDoc {
  return {
    scenario: res.scenario.name,
    fix: res.variant.fix,
    options: res.variant.options,
    cpus: res.variant.cpus,
    ...(res.memory !== "sc" ? { memory: res.memory } : {}),
    maxEvents: res.maxEvents,
    strategy: strategyLabel(res.strategy),
    seeds: { from: seeds.from, to: seeds.to },
    ...(shard ? { shard } : {}),
    scanned: res.scanned,
    failing: res.failing.map((r) => ({ seed: r.seed, outcome: r.outcome, violation: r.violation })),
    errors: res.errors,
    passing: res.passing,
    outcomes: res.outcomes,
    violations: res.violations,
    saved,
  };
}

/** The document's bytes: two-space JSON, with each failing seed and each error on a line of its own. */
export function renderDoc(d: ExploreDoc): string {
  const F = "\u0000failing\u0000";
  const E = "\u0000errors\u0000";
  const P = "\u0000passing\u0000";
  const head: Record<string, unknown> = {
    scenario: d.scenario,
    fix: d.fix,
    options: d.options,
    cpus: d.cpus,
    ...(d.memory !== undefined ? { memory: d.memory } : {}),
    maxEvents: d.maxEvents,
    strategy: d.strategy,
    seeds: { from: d.seeds.from, to: d.seeds.to },
  };
  if (d.shard)
    head["shard"] = { index: d.shard.index, count: d.shard.count, save: d.shard.save, saveAll: d.shard.saveAll };
  Object.assign(head, {
    scanned: d.scanned,
    failing: F,
    errors: E,
    passing: P,
    outcomes: d.outcomes,
    violations: d.violations,
    saved: d.saved,
  });
  const rows = (xs: string[]) => (xs.length === 0 ? "[]" : `[\n${xs.map((x) => `    ${x}`).join(",\n")}\n  ]`);
  return (
    JSON.stringify(head, null, 2)
      .replace(JSON.stringify(F), () =>
        rows(d.failing.map((r) => JSON.stringify({ seed: r.seed, outcome: r.outcome, violation: r.violation }))),
      )
      .replace(JSON.stringify(E), () =>
        rows(d.errors.map((e) => JSON.stringify({ seed: e.seed, message: e.message, exitCode: e.exitCode }))),
      )
      .replace(JSON.stringify(P), () => JSON.stringify(d.passing)) + "\n"
  );
}

/** Counts keyed in a fixed order (so the result does not depend on which seed came first). */
export function ordered(counts: Record<string, number>, order: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of order) if (counts[k] !== undefined) out[k] = counts[k]!;
  for (const k of Object.keys(counts).sort()) if (out[k] === undefined) out[k] = counts[k]!;
  return out;
}

/** The order of `outcomes` keys: the kernel's outcome kinds, then errored seeds. */
export function outcomeOrder(kinds: readonly string[]): string[] {
  return [...kinds, ERROR_OUTCOME];
}

// ---- merge ----

/** A bad shard file or set of shards: one line, exitCode 2 (text from the files made terminal-safe). */
export class MergeError extends Error {
  readonly exitCode = 2;
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(safeText(message));
    if (hint !== undefined) this.hint = hint;
  }
}

/** Largest shard document read (bytes); a failing seed's line is well under 1 KB. */
export const MAX_SHARD_BYTES = 256 * 1024 * 1024;
/** Longest string accepted from a shard (a message, a path, a name). */
const MAX_STRING = 64 * 1024;
const SAVE_FIRST_DEFAULT = 10;

type Json = unknown;

/** Field-by-field reader of one untrusted document: every mistake names the file and the field. */
class Reader {
  constructor(readonly file: string) {}
  fail(field: string, what: string): never {
    throw new MergeError(
      `${this.file}: ${field} ${what}`,
      "merge reads the --json output of 'ktrace explore … --shard I/N'",
    );
  }
  obj(v: Json, field: string): Record<string, Json> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, "must be an object");
    return v as Record<string, Json>;
  }
  arr(v: Json, field: string): Json[] {
    if (!Array.isArray(v)) this.fail(field, "must be an array");
    return v;
  }
  str(v: Json, field: string): string {
    if (typeof v !== "string") this.fail(field, "must be a string");
    if (v.length > MAX_STRING) this.fail(field, `is longer than ${MAX_STRING} characters`);
    return v;
  }
  int(v: Json, field: string, min = 0): number {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) this.fail(field, `must be an integer >= ${min}`);
    return v;
  }
  bool(v: Json, field: string): boolean {
    if (typeof v !== "boolean") this.fail(field, "must be true or false");
    return v;
  }
  /** Exactly these keys (a typo or a field from another tool is refused). */
  keys(o: Record<string, Json>, field: string, want: readonly string[], optional: readonly string[] = []): void {
    for (const k of want) if (!(k in o)) this.fail(field, `has no '${k}'`);
    for (const k of Object.keys(o))
      if (!want.includes(k) && !optional.includes(k)) this.fail(field, `has an unknown field '${k.slice(0, 40)}'`);
  }
  counts(v: Json, field: string): Record<string, number> {
    const o = this.obj(v, field);
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(o))
      out[this.str(k, `${field} key`)] = this.int(n, `${field}.${k.slice(0, 40)}`);
    return out;
  }
}

const DOC_KEYS = [
  "scenario",
  "fix",
  "options",
  "cpus",
  "maxEvents",
  "strategy",
  "seeds",
  "shard",
  "scanned",
  "failing",
  "errors",
  "passing",
  "outcomes",
  "violations",
  "saved",
] as const;

/** Parses and checks one shard's document (untrusted). Throws MergeError. */
export function parseShardDoc(text: string, file: string): ExploreDoc & { shard: ShardJson } {
  const r = new Reader(file);
  let v: Json;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new MergeError(
      `${file}: not JSON (${e instanceof Error ? e.message.slice(0, 200) : "parse error"})`,
      "merge reads the --json output of 'ktrace explore … --shard I/N'",
    );
  }
  const o = r.obj(v, "the document");
  if (!("shard" in o) && "scanned" in o && "failing" in o) {
    throw new MergeError(
      `${file}: an explore result without --shard (nothing to merge it with)`,
      "run each slice with 'ktrace explore … --shard I/N --json'",
    );
  }
  r.keys(o, "the document", DOC_KEYS, ["memory"]);
  const seeds = r.obj(o["seeds"], "seeds");
  r.keys(seeds, "seeds", ["from", "to"]);
  const from = r.int(seeds["from"], "seeds.from");
  const to = r.int(seeds["to"], "seeds.to");
  if (to < from) r.fail("seeds", `is empty (${from}..${to})`);
  const sh = r.obj(o["shard"], "shard");
  r.keys(sh, "shard", ["index", "count", "save", "saveAll"]);
  const count = r.int(sh["count"], "shard.count", 1);
  if (count > MAX_SHARDS) r.fail("shard.count", `is ${count}, more than ${MAX_SHARDS} shards`);
  const index = r.int(sh["index"], "shard.index");
  if (index >= count) r.fail("shard.index", `${index} is out of range for ${count} shards`);
  const save = sh["save"] === null ? null : r.str(sh["save"], "shard.save");
  const saveAll = r.bool(sh["saveAll"], "shard.saveAll");
  const opts = r.obj(o["options"], "options");
  const options: Record<string, string> = {};
  for (const [k, val] of Object.entries(opts))
    options[r.str(k, "options key")] = r.str(val, `options.${k.slice(0, 40)}`);

  const slice = shardRange(from, to, index, count);
  const scanned = r.int(o["scanned"], "scanned");
  const size = Math.max(0, slice.to - slice.from + 1);
  if (scanned !== size)
    r.fail("scanned", `is ${scanned}, but shard ${index}/${count} of ${from}..${to} has ${size} seeds`);
  /** The entries of a per-seed list: objects with exactly `keys`, seeds inside the slice and increasing. */
  const seedList = <T>(
    name: string,
    keys: readonly string[],
    read: (e: Record<string, Json>, f: string, seed: number) => T,
  ): T[] => {
    let prev = -1;
    return r.arr(o[name], name).map((x, i) => {
      const f = `${name}[${i}]`;
      const e = r.obj(x, f);
      r.keys(e, f, keys);
      const seed = r.int(e["seed"], `${f}.seed`);
      if (seed < slice.from || seed > slice.to)
        r.fail(`${f}.seed`, `seed ${seed} is outside shard ${index}/${count} (${slice.from}..${slice.to})`);
      if (seed <= prev) r.fail(`${f}.seed`, "is not in increasing seed order");
      prev = seed;
      return read(e, f, seed);
    });
  };
  const failing = seedList("failing", ["seed", "outcome", "violation"], (e, f, seed): FailingJson => {
    const oc = r.obj(e["outcome"], `${f}.outcome`);
    r.keys(oc, `${f}.outcome`, ["kind", "seq", "message"]);
    const outcome = {
      kind: r.str(oc["kind"], `${f}.outcome.kind`),
      seq: r.int(oc["seq"], `${f}.outcome.seq`, -1),
      message: r.str(oc["message"], `${f}.outcome.message`),
    } as Outcome;
    let violation: FailingJson["violation"] = null;
    if (e["violation"] !== null) {
      const vi = r.obj(e["violation"], `${f}.violation`);
      r.keys(vi, `${f}.violation`, ["seq", "invariant", "message"]);
      violation = {
        seq: r.int(vi["seq"], `${f}.violation.seq`),
        invariant: r.str(vi["invariant"], `${f}.violation.invariant`),
        message: r.str(vi["message"], `${f}.violation.message`),
      };
    }
    return { seed, outcome, violation };
  });
  const errors = seedList(
    "errors",
    ["seed", "message", "exitCode"],
    (e, f, seed): SeedError => ({
      seed,
      message: r.str(e["message"], `${f}.message`),
      exitCode: r.int(e["exitCode"], `${f}.exitCode`, 1),
    }),
  );
  let prevPass = -1;
  const passing = r.arr(o["passing"], "passing").map((x, i) => {
    const seed = r.int(x, `passing[${i}]`);
    if (seed < slice.from || seed > slice.to)
      r.fail(`passing[${i}]`, `seed ${seed} is outside shard ${index}/${count} (${slice.from}..${slice.to})`);
    if (seed <= prevPass) r.fail(`passing[${i}]`, "is not in increasing seed order");
    prevPass = seed;
    return seed;
  });
  if (passing.length > PASSING_KEEP) r.fail("passing", `lists ${passing.length} seeds, more than ${PASSING_KEEP}`);
  const outcomes = r.counts(o["outcomes"], "outcomes");
  const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
  if (total !== scanned) r.fail("outcomes", `count ${total} seeds, but scanned is ${scanned}`);
  if ((outcomes[ERROR_OUTCOME] ?? 0) !== errors.length)
    r.fail("outcomes.error", `is ${outcomes[ERROR_OUTCOME] ?? 0}, but errors lists ${errors.length}`);
  if (failing.length + errors.length + passing.length > scanned)
    r.fail("failing", "lists more seeds than the shard scanned");
  const violations = r.counts(o["violations"], "violations");
  const saved = r.arr(o["saved"], "saved").map((x, i) => r.str(x, `saved[${i}]`));
  const wantSaved = save === null ? 0 : saveAll ? failing.length : Math.min(SAVE_FIRST_DEFAULT, failing.length);
  if (saved.length !== wantSaved)
    r.fail("saved", `lists ${saved.length} traces, but the shard's --save settings give ${wantSaved}`);
  return {
    scenario: r.str(o["scenario"], "scenario"),
    fix: r.str(o["fix"], "fix"),
    options,
    cpus: r.int(o["cpus"], "cpus", 1),
    ...(o["memory"] === undefined ? {} : { memory: bufferedModel(r.str(o["memory"], "memory"), r) }),
    maxEvents: r.int(o["maxEvents"], "maxEvents"),
    strategy: r.str(o["strategy"], "strategy"),
    seeds: { from, to },
    shard: { index, count, save, saveAll },
    scanned,
    failing,
    errors,
    passing,
    outcomes,
    violations,
    saved,
  };
}

/** What every shard of one run must agree on, as text for comparison and for the message. */
function runKey(d: ExploreDoc & { shard: ShardJson }): [string, string][] {
  return [
    ["scenario", d.scenario],
    ["fix", d.fix === "" ? "(none)" : d.fix],
    [
      "options",
      Object.entries(d.options)
        .map(([k, v]) => `${k}=${v}`)
        .join(",") || "(none)",
    ],
    ["cpus", String(d.cpus)],
    ["memory model", d.memory ?? "sc"],
    ["max events", String(d.maxEvents)],
    ["strategy", d.strategy],
    ["seeds", `${d.seeds.from}..${d.seeds.to}`],
    ["shard count", String(d.shard.count)],
    ["--save", d.shard.save ?? "(none)"],
    ["--save-all", String(d.shard.saveAll)],
  ];
}

/**
 * Merges the shards of one run into the document one unsharded run prints.
 * Refuses shards of different runs, a shard given twice, and missing shards.
 * `order` gives the key order of outcomes and violations.
 */
export function mergeDocs(
  docs: readonly { file: string; doc: ExploreDoc & { shard: ShardJson } }[],
  order: { outcomes: readonly string[]; violations: readonly string[] },
): ExploreDoc {
  if (docs.length === 0) throw new MergeError("merge needs the shards' JSON files", "e.g. ktrace merge shard-*.json");
  const first = docs[0]!;
  const key0 = runKey(first.doc);
  const byIndex = new Map<number, string>();
  for (const { file, doc } of docs) {
    const key = runKey(doc);
    key.forEach(([name, val], i) => {
      if (val !== key0[i]![1])
        throw new MergeError(
          `${file} is a shard of another run: ${name} ${val.slice(0, 200)}, but ${first.file} has ${key0[i]![1].slice(0, 200)}`,
        );
    });
    const seen = byIndex.get(doc.shard.index);
    if (seen !== undefined)
      throw new MergeError(`shard ${doc.shard.index}/${doc.shard.count} is given twice (${seen} and ${file})`);
    byIndex.set(doc.shard.index, file);
  }
  const count = first.doc.shard.count;
  const missing: number[] = [];
  for (let i = 0; i < count && missing.length < 10; i++) if (!byIndex.has(i)) missing.push(i);
  if (missing.length > 0) {
    const n = count - byIndex.size;
    throw new MergeError(
      `${n} of ${count} shards missing: ${missing.join(", ")}${n > missing.length ? ", …" : ""}`,
      "merge needs every shard's output",
    );
  }
  const sorted = [...docs].sort((a, b) => a.doc.shard.index - b.doc.shard.index);
  const outcomes: Record<string, number> = {};
  const violations: Record<string, number> = {};
  const failing: FailingJson[] = [];
  const errors: SeedError[] = [];
  const passing: number[] = [];
  const savedBySeed = new Map<number, string>();
  let scanned = 0;
  for (const { doc } of sorted) {
    scanned += doc.scanned;
    for (const f of doc.failing) failing.push(f);
    for (const e of doc.errors) errors.push(e);
    for (const s of doc.passing) if (passing.length < PASSING_KEEP) passing.push(s);
    doc.saved.forEach((p, i) => {
      savedBySeed.set(doc.failing[i]!.seed, p);
    });
    for (const [k, n] of Object.entries(doc.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + n;
    for (const [k, n] of Object.entries(doc.violations)) violations[k] = (violations[k] ?? 0) + n;
  }
  const d0 = first.doc;
  const keep =
    d0.shard.save === null ? 0 : d0.shard.saveAll ? failing.length : Math.min(SAVE_FIRST_DEFAULT, failing.length);
  return {
    scenario: d0.scenario,
    fix: d0.fix,
    options: d0.options,
    cpus: d0.cpus,
    ...(d0.memory !== undefined ? { memory: d0.memory } : {}),
    maxEvents: d0.maxEvents,
    strategy: d0.strategy,
    seeds: d0.seeds,
    scanned,
    failing,
    errors,
    passing,
    outcomes: ordered(outcomes, order.outcomes),
    violations: ordered(violations, order.violations),
    saved: failing.slice(0, keep).map((f) => savedBySeed.get(f.seed)!),
  };
}

/** One kind of failure among a run's failing seeds: the same first violation (or outcome), numbers aside. */
export interface FailureKind {
  /** "no-deadlock: tid N (pid N) waits on condvar cv" */
  what: string;
  count: number;
  /** The first seed that failed this way. */
  seed: number;
}

/**
 * The failing seeds grouped by what broke: the first violated invariant and
 * its message's shape (every number N; up to the first ", which" or "; ", where
 * the details that differ from seed to seed begin), or the outcome when no
 * invariant broke. Most seeds first; ties by first seed.
 */
export function failureKinds(failing: readonly FailingJson[]): FailureKind[] {
  const shape = (s: string) => {
    const t = s.replace(/\d+/g, "N");
    const cut = [t.indexOf(", which"), t.indexOf("; ")].filter((i) => i > 0);
    const end = cut.length > 0 ? Math.min(...cut) : t.length;
    return t.slice(0, end);
  };
  const by = new Map<string, FailureKind>();
  for (const f of failing) {
    const what = f.violation
      ? `${f.violation.invariant}: ${shape(f.violation.message)}`
      : `${f.outcome.kind}: ${shape(f.outcome.message)}`;
    const k = by.get(what);
    if (k) k.count++;
    else by.set(what, { what, count: 1, seed: f.seed });
  }
  return [...by.values()].sort((a, b) => b.count - a.count || a.seed - b.seed);
}
