// The scenario registry, user scenario files, and building a World from a scenario.

import { existsSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import * as kernelApi from "../kernel/index.ts";
import {
  type InvariantDecl,
  type KConfig,
  MEMORY_MODELS,
  type MemoryModel,
  params,
  validateInvariants,
  validateWorld,
  type World,
} from "../kernel/index.ts";
import { editDistance, suggest } from "../util/suggest.ts";
import { DEFAULT_RULES, defineScenario, type Scenario } from "./api.ts";
import asterinas from "./asterinas-procfs.ts";
import cpython from "./cpython-fork-serenity.ts";
import rcore from "./rcore-kstack.ts";
import stress from "./stress.ts";
import tcmalloc from "./tcmalloc-fork.ts";

export * from "./api.ts";

export const SCENARIOS: readonly Scenario[] = [cpython, tcmalloc, rcore, asterinas, stress];

/** Bad scenario name, fix, option or scenario file. exitCode 2 (bad input). */
export class ScenarioError extends Error {
  readonly exitCode = 2;
}

export function findScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s) return s;
  const near = suggest(
    name,
    SCENARIOS.map((x) => x.name),
  );
  throw new ScenarioError(
    `unknown scenario '${name}'${near ? ` (did you mean '${near}'?)` : ""}; see 'ktrace scenarios', or pass a scenario file ending in .ts`,
  );
}

/** The API handed to a scenario file whose default export is a function. */
export const SCENARIO_API = { ...kernelApi, defineScenario };

/** Names a scenario file asked the API for that it does not have, since the last clear (apiHint). */
const apiMisses: string[] = [];
/** SCENARIO_API as scenario files get it: it notes the names it lacks, for apiHint. */
const API_SEEN = new Proxy(SCENARIO_API, {
  get(target, key, receiver) {
    if (typeof key === "string" && !(key in target)) apiMisses.push(key);
    return Reflect.get(target, key, receiver);
  },
});

/**
 * What to add to the error e a scenario's code threw: when it is a
 * TypeError about a name the API does not have (`k.regSet is not a
 * function`), that name and the nearest it has. Clears the names noted.
 */
function apiHint(e: unknown): string {
  const missed = apiMisses.splice(0);
  if (!(e instanceof TypeError)) return "";
  const text = firstLine(e);
  const key = missed.findLast((k) => text.includes(k));
  if (key === undefined) return "";
  const near = nearestApi(key);
  return ` (the scenario API has no ${key}${near ? `; did you mean ${near}?` : ": see docs/SCENARIOS.md"})`;
}

/**
 * The C library's names for what the API calls otherwise, as a C programmer
 * types them (without `pthread_`, underscores and case: see plainName).
 */
const POSIX_NAMES: Readonly<Record<string, string>> = {
  condwait: "cvWait",
  condtimedwait: "cvWait",
  condsignal: "cvSignal",
  condbroadcast: "cvBroadcast",
  condinit: "condvar",
  mutexlock: "lock",
  mutexunlock: "unlock",
  mutextrylock: "trylock",
  create: "thread",
  createthread: "thread",
  newthread: "thread",
  rwlockrdlock: "rdlock",
  rwlockwrlock: "wrlock",
  rwlockunlock: "rwUnlock",
  seminit: "semaphore",
  nanosleep: "sleep",
  usleep: "sleep",
  sigprocmask: "sigmask",
  prctl: "setPdeathsig",
  prsetpdeathsig: "setPdeathsig",
  pdeathsig: "setPdeathsig",
  cmpxchg: "cas",
  compareexchange: "cas",
  atomiccompareexchange: "cas",
  atomicfetchadd: "fetchAdd",
  atomicadd: "fetchAdd",
  atomicexchange: "xchg",
  exchange: "xchg",
  atomicload: "load",
  atomicstore: "store",
};

/** A name as the C library spells it, folded: no `pthread_` prefix, no underscores, lower case (`pthread_cond_signal` → `condsignal`). */
function plainName(name: string): string {
  return name
    .toLowerCase()
    .replace(/_/g, "")
    .replace(/^pthread(?=.)/, "");
}

/** The API name nearest to key: the same but for case (or as the C library spells it: `sem_wait`, `pthread_cond_signal`), else one within it or it within one (`regSet` → `set`), else a typo's. */
function nearestApi(key: string): string | undefined {
  const names = Object.keys(SCENARIO_API);
  const low = key.toLowerCase();
  const same = names.find((n) => n.toLowerCase() === low);
  if (same !== undefined) return same;
  const plain = plainName(key);
  const posix = POSIX_NAMES[plain] ?? names.find((n) => n.toLowerCase() === plain);
  if (posix !== undefined) return posix;
  const within = names
    .filter((n) => n.length >= 3 && (low.includes(n.toLowerCase()) || n.toLowerCase().includes(low)))
    .sort((a, b) => b.length - a.length || a.localeCompare(b))[0];
  if (within !== undefined) return within;
  let best: string | undefined;
  let bestD = Math.max(1, Math.min(3, Math.floor(key.length / 3))) + 1;
  for (const n of names) {
    const d = editDistance(key, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best;
}

/** A seed scenario by name, or a scenario file (path ending in .ts/.js/.mjs). */
export async function resolveScenario(nameOrFile: string): Promise<Scenario> {
  if (!/\.(ts|mts|js|mjs)$/.test(nameOrFile)) return findScenario(nameOrFile);
  const abs = resolve(nameOrFile);
  if (!existsSync(abs)) throw new ScenarioError(`scenario file ${nameOrFile} not found`);
  if (!statSync(abs).isFile()) throw new ScenarioError(`scenario file ${nameOrFile} is not a file`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (e) {
    const syntax = syntaxError(e, abs);
    if (syntax)
      throw new ScenarioError(`scenario file ${nameOrFile} has a syntax error at ${syntax.at}: ${syntax.reason}`);
    throw new ScenarioError(`scenario file ${nameOrFile} failed to load${where(e, abs)}: ${firstLine(e)}`);
  }
  let value = mod.default ?? mod.scenario;
  if (typeof value === "function") {
    apiMisses.length = 0;
    try {
      value = (value as (api: typeof SCENARIO_API) => unknown)(API_SEEN);
    } catch (e) {
      throw new ScenarioError(`scenario file ${nameOrFile} threw${where(e, abs)}: ${firstLine(e)}${apiHint(e)}`);
    }
  }
  const s = value as Partial<Scenario> | undefined;
  if (!s || typeof s !== "object") {
    throw new ScenarioError(
      `scenario file ${nameOrFile} must export default defineScenario({...}) or a function (api) => scenario`,
    );
  }
  if (typeof s.build !== "function")
    throw new ScenarioError(`scenario file ${nameOrFile}: the scenario has no build() function`);
  const base = abs
    .split(/[\\/]/)
    .pop()!
    .replace(/\.[^.]+$/, "");
  return {
    name: typeof s.name === "string" && s.name ? s.name : base,
    description: typeof s.description === "string" ? s.description : `scenario file ${nameOrFile}`,
    upstream: s.upstream,
    fixes: s.fixes ?? {},
    options: s.options,
    defaults: s.defaults,
    build: s.build,
    file: abs,
  } as Scenario & { file: string };
}

/**
 * Where and why a scenario file does not parse, the same on every runtime:
 * Bun throws an AggregateError of BuildMessages (each with a position), Deno
 * and Node a SyntaxError whose text or stack names file:line:column.
 */
function syntaxError(e: unknown, abs: string): { at: string; reason: string } | null {
  const name = abs.split(/[\\/]/).pop()!;
  const errs = (e as { errors?: unknown })?.errors;
  if (Array.isArray(errs)) {
    for (const x of errs as {
      message?: unknown;
      position?: { file?: unknown; line?: unknown; column?: unknown } | null;
    }[]) {
      const pos = x?.position;
      if (!pos || typeof pos.line !== "number" || typeof x.message !== "string") continue;
      const file = typeof pos.file === "string" ? pos.file.split(/[\\/]/).pop()! : name;
      return {
        at: `${file}:${pos.line}${typeof pos.column === "number" ? `:${pos.column}` : ""}`,
        reason: x.message.split("\n")[0]!,
      };
    }
    return null;
  }
  if (!(e instanceof Error)) return null;
  const text = `${e.message}\n${e.stack ?? ""}`;
  const m = /SyntaxError: ([^\n]*)/.exec(text);
  if (!m) return null;
  const loc = new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+)(?::(\\d+))?`).exec(text);
  return { at: loc ? `${name}:${loc[1]}${loc[2] ? `:${loc[2]}` : ""}` : name, reason: m[1]! };
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}` : String(e);
  return m.split("\n")[0]!;
}

/** " at file.ts:LINE" from an error's stack, when the stack names the file. */
function where(e: unknown, abs: string): string {
  const stack = e instanceof Error ? (e.stack ?? "") : "";
  const name = abs.split(/[\\/]/).pop()!;
  for (const line of stack.split("\n")) {
    const i = line.indexOf(name);
    if (i < 0) continue;
    const m = /:(\d+)(?::\d+)?/.exec(line.slice(i + name.length));
    if (m) return ` at ${name}:${m[1]}`;
  }
  return "";
}

/**
 * The option every scenario takes without declaring it: `--opt memory=tso`
 * runs it under the tso memory model (store buffers), `memory=pso` under
 * pso (store buffers whose stores to different variables may reach memory
 * out of order), `memory=sc` under sequential consistency, whatever its rules
 * say (src/kernel/tso.ts).
 */
export const MEMORY_OPTION = "memory";
const MEMORY_OPTION_DECL = {
  values: MEMORY_MODELS,
  default: "",
  doc: "the memory model: sc (sequential consistency), tso (x86 store buffers) or pso (SPARC's: stores to different variables reorder)",
};

export interface Variant {
  fix: string;
  seed: number;
  cpus: number;
  options: Record<string, string>;
}

/** Fills in defaults and checks fix and option names against the scenario. */
export function resolveVariant(
  s: Scenario,
  req: { fix?: string; seed?: number; cpus?: number; opts?: string[] },
): Variant {
  const fix = req.fix ?? "";
  if (fix && !(fix in s.fixes)) {
    const names = Object.keys(s.fixes);
    const near = suggest(fix, names);
    throw new ScenarioError(
      names.length === 0
        ? `scenario ${s.name} has no fixes (drop --fix)`
        : `unknown fix '${fix}' for ${s.name}${near ? ` (did you mean '${near}'?)` : ""}; fixes: ${names.join(", ")}`,
    );
  }
  const options: Record<string, string> = {};
  const decl = s.options ?? {};
  for (const [k, o] of Object.entries(decl)) options[k] = o.default;
  for (const kv of req.opts ?? []) {
    const eq = kv.indexOf("=");
    const k = eq < 0 ? kv : kv.slice(0, eq);
    const v = eq < 0 ? "" : kv.slice(eq + 1);
    const o = decl[k] ?? (k === MEMORY_OPTION ? MEMORY_OPTION_DECL : undefined);
    if (!o) {
      const names = Object.keys(decl);
      throw new ScenarioError(
        names.length === 0
          ? `scenario ${s.name} takes no --opt`
          : `unknown option '${k}' for ${s.name}; options: ${names.map((n) => `${n}=${decl[n]!.values.join("|")}`).join(", ")}`,
      );
    }
    if (!o.values.includes(v)) throw new ScenarioError(`--opt ${k} expects one of ${o.values.join(", ")}, got '${v}'`);
    options[k] = v;
  }
  const cpus = req.cpus ?? s.defaults?.cpus ?? params.DEFAULT_CPUS;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > params.MAX_CPUS) {
    throw new ScenarioError(`--cpus must be between 1 and ${params.MAX_CPUS}, got ${cpus}`);
  }
  return { fix, seed: req.seed ?? s.defaults?.seed ?? 1, cpus, options };
}

/** How errors name a scenario: its file (relative to here) when it came from one. */
function label(s: Scenario): string {
  const file = (s as { file?: string }).file;
  return file ? `scenario ${s.name} (${relative(process.cwd(), file) || file})` : `scenario ${s.name}`;
}

/** Builds the World a variant runs in; a scenario whose build throws or returns bad programs gets a ScenarioError. */
export function buildWorld(s: Scenario, v: Variant): World {
  return buildWorldOf(s, v).world;
}

/**
 * As buildWorld, and says whether build() read ctx.seed (a world that does not
 * depend on the seed serves every seed of an exploration), with the
 * scenario's own invariants, checked against the world; `reserved` are names
 * they may not take (the built-in invariants').
 */
export function buildWorldOf(
  s: Scenario,
  v: Variant,
  reserved: readonly string[] = [],
): { world: World; readsSeed: boolean; invariants: InvariantDecl[] } {
  let spec: ReturnType<typeof s.build> | undefined;
  let readsSeed = false;
  const ctx = {
    fix: v.fix,
    options: { ...v.options },
    cpus: v.cpus,
    get seed() {
      readsSeed = true;
      return v.seed;
    },
  };
  apiMisses.length = 0;
  try {
    spec = s.build(ctx);
  } catch (e) {
    const file = (s as { file?: string }).file;
    throw new ScenarioError(`${label(s)}: build() threw${file ? where(e, file) : ""}: ${firstLine(e)}${apiHint(e)}`);
  }
  if (!spec || !Array.isArray(spec.procs) || spec.procs.length === 0) {
    throw new ScenarioError(
      `${label(s)}: build() must return { procs: [{ name, main: [...] }] } with at least one process`,
    );
  }
  const config: KConfig = { cpus: v.cpus, ...DEFAULT_RULES, ...(spec.rules ?? {}) };
  // --opt memory=sc|tso|pso overrides the scenario's rules (unless it declares an option of that name); sc is the default, left absent.
  const memory = s.options?.[MEMORY_OPTION] === undefined ? v.options[MEMORY_OPTION] : undefined;
  if (memory !== undefined) config.memory = memory as MemoryModel;
  if (config.memory === "sc") delete config.memory;
  const world: World = { config, locks: spec.locks ?? {}, procs: spec.procs };
  if (spec.vars !== undefined) world.vars = spec.vars;
  if (spec.firstTid !== undefined) world.firstTid = spec.firstTid;
  if (spec.progressWindow !== undefined) world.progressWindow = spec.progressWindow;
  const bad =
    validateWorld(world) ??
    (spec.invariants !== undefined ? validateInvariants(spec.invariants, world, reserved) : null);
  if (bad) throw new ScenarioError(`${label(s)}: ${bad}`);
  return { world, readsSeed, invariants: spec.invariants ?? [] };
}
