// Command-line parsing, driven by the table in spec.ts.
//
// Accepts `--flag value`, `--flag=value`, `-o value`, `-o=value`; repeatable flags
// collect into arrays; `--` ends flags (everything after it is positional). Every
// mistake is a UsageError whose message is one line naming the problem and the fix.

import { UsageError } from "./errors.ts";
import {
  AT_WORDS,
  type At,
  COMMAND_NAMES,
  COMMANDS,
  type CommandName,
  type CommandSpec,
  commandSpec,
  type FlagSpec,
  type FlagsOf,
  GLOBAL_FLAGS,
  isCommandName,
  type KeyValue,
  type Range,
} from "./spec.ts";

/**
 * A parsed command line for command C. Required positionals are guaranteed present
 * (positionals[0] for a command with one), required flags are guaranteed present.
 */
export interface ParsedArgs<C extends CommandName = CommandName> {
  command: C;
  positionals: string[];
  flags: FlagsOf<C>;
  /** --verbose was given: print stacks with errors. */
  verbose: boolean;
}

/** What main.ts should do. */
export type Invocation =
  | { kind: "help"; command?: CommandName }
  | { kind: "version" }
  | { kind: "run"; args: ParsedArgs };

// ---- suggestions: src/util/suggest.ts ----

export { editDistance, suggest } from "../util/suggest.ts";

import { suggest } from "../util/suggest.ts";

// ---- values ----

const INT_RE = /^[0-9]+$/;

function parseInt10(s: string): number | undefined {
  if (!INT_RE.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function parseValue(flag: FlagSpec, shown: string, raw: string): unknown {
  const t = flag.type;
  switch (t.kind) {
    case "boolean":
      throw new UsageError(`${shown} takes no value, got '${raw}'`);
    case "string":
      return raw;
    case "int": {
      const n = parseInt10(raw);
      if (n === undefined) throw new UsageError(`${shown} expects a non-negative integer, got '${raw}'`);
      return n;
    }
    case "enum": {
      if (t.values.includes(raw)) return raw;
      const near = suggest(raw, t.values);
      throw new UsageError(
        `${shown} expects one of ${t.values.join(", ")}, got '${raw}'`,
        near === undefined ? undefined : `did you mean '${near}'?`,
      );
    }
    case "range": {
      const m = /^([0-9]+)\.\.([0-9]+)$/.exec(raw);
      const from = m ? parseInt10(m[1]!) : undefined;
      const to = m ? parseInt10(m[2]!) : undefined;
      if (from === undefined || to === undefined || from > to) {
        throw new UsageError(`${shown} expects A..B with A <= B, got '${raw}'`, `e.g. ${shown} 0..99`);
      }
      return { from, to } satisfies Range;
    }
    case "at": {
      const n = parseInt10(raw);
      if (n !== undefined) return n satisfies At;
      if ((AT_WORDS as readonly string[]).includes(raw)) return raw as At;
      throw new UsageError(`${shown} expects an event number or one of ${AT_WORDS.join(", ")}, got '${raw}'`);
    }
    case "keyvalue": {
      const eq = raw.indexOf("=");
      if (eq <= 0) throw new UsageError(`${shown} expects KEY=VALUE, got '${raw}'`, `e.g. ${shown} threads=3`);
      return { key: raw.slice(0, eq), value: raw.slice(eq + 1) } satisfies KeyValue;
    }
  }
}

// ---- flags ----

interface FlagToken {
  /** As typed, without any `=value`: `--seed`, `-o`. */
  shown: string;
  /** Name without dashes. */
  name: string;
  long: boolean;
  /** The inline `=value`, if any. */
  inline?: string;
}

function isFlagToken(arg: string): boolean {
  return arg.length > 1 && arg.startsWith("-") && arg !== "--";
}

function splitFlag(arg: string): FlagToken {
  const eq = arg.indexOf("=");
  const shown = eq === -1 ? arg : arg.slice(0, eq);
  const long = shown.startsWith("--");
  const tok: FlagToken = { shown, name: shown.slice(long ? 2 : 1), long };
  if (eq !== -1) tok.inline = arg.slice(eq + 1);
  return tok;
}

function findFlag(flags: readonly FlagSpec[], tok: FlagToken): FlagSpec | undefined {
  return flags.find((f) => (tok.long ? f.name === tok.name : f.short === tok.name));
}

function flagForms(flags: readonly FlagSpec[]): string[] {
  const out: string[] = [];
  for (const f of flags) {
    out.push(`--${f.name}`);
    if (f.short !== undefined) out.push(`-${f.short}`);
  }
  return out;
}

function unknownFlag(
  tok: FlagToken,
  flags: readonly FlagSpec[],
  cmd: string | undefined,
  nextWord?: string,
): UsageError {
  const near = suggest(tok.shown, flagForms(flags));
  const where = cmd === undefined ? "" : ` for ${cmd}`;
  if (near !== undefined) return new UsageError(`unknown flag ${tok.shown}${where}`, `did you mean ${near}?`);
  if (cmd === undefined) {
    const owner =
      COMMANDS.find((c) => c.name === nextWord && findFlag(c.flags, tok) !== undefined) ??
      COMMANDS.find((c) => findFlag(c.flags, tok) !== undefined);
    if (owner !== undefined) {
      return new UsageError(
        `unknown flag ${tok.shown} before the command`,
        `flags go after the command, e.g. 'ktrace ${owner.name} ${tok.shown}'`,
      );
    }
    return new UsageError(`unknown flag ${tok.shown}`, `run 'ktrace --help' for usage`);
  }
  return new UsageError(`unknown flag ${tok.shown}${where}`, `see 'ktrace ${cmd} --help'`);
}

/** True if argv asks for --verbose (before any `--`). Used before parsing, so a parse error can honour it. */
export function wantsVerbose(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === "--") return false;
    if (a === "--verbose") return true;
  }
  return false;
}

/** Parse a full argv (without the runtime and script: `process.argv.slice(2)`). */
export function parseArgs(argv: readonly string[]): Invocation {
  let verbose = false;
  let version = false;
  let help = false;
  let i = 0;

  // Global flags before the command.
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--" || !isFlagToken(arg)) break;
    const tok = splitFlag(arg);
    const flag = findFlag(GLOBAL_FLAGS, tok);
    if (flag === undefined)
      throw unknownFlag(
        tok,
        GLOBAL_FLAGS,
        undefined,
        argv.find((a) => !isFlagToken(a)),
      );
    if (tok.inline !== undefined) throw new UsageError(`${tok.shown} takes no value, got '${arg}'`);
    if (flag.name === "verbose") verbose = true;
    else if (flag.name === "version") version = true;
    else help = true;
  }
  if (argv[i] === "--") i++;

  const word = argv[i];
  if (word === undefined) return version && !help ? { kind: "version" } : { kind: "help" };
  if (help) return isCommandName(word) ? { kind: "help", command: word } : { kind: "help" };
  if (version) return { kind: "version" };
  if (word === "help") {
    const topic = argv[i + 1];
    if (topic === undefined) return { kind: "help" };
    if (isCommandName(topic)) return { kind: "help", command: topic };
    throw unknownCommand(topic);
  }
  if (!isCommandName(word)) throw unknownCommand(word);
  const command: CommandName = word;
  const rest = argv.slice(i + 1);

  // --help or -h anywhere (before `--`) wins over any other mistake on the line.
  for (const a of rest) {
    if (a === "--") break;
    if (a === "--help" || a === "-h") return { kind: "help", command };
  }
  return { kind: "run", args: parseCommand(commandSpec(command), rest, verbose) };
}

function unknownCommand(word: string): UsageError {
  const near = suggest(word, COMMAND_NAMES);
  return new UsageError(
    `unknown command '${word}'`,
    near === undefined ? `run 'ktrace --help' for the list` : `did you mean '${near}'?`,
  );
}

function parseCommand(spec: CommandSpec, argv: readonly string[], verboseBefore: boolean): ParsedArgs {
  const accepted: readonly FlagSpec[] = [...spec.flags, ...GLOBAL_FLAGS];
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  let verbose = verboseBefore;

  for (const f of spec.flags) {
    if (f.repeatable === true) flags[f.name] = [];
    else if (f.type.kind === "boolean") flags[f.name] = false;
  }
  const seen = new Set<string>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!isFlagToken(arg)) {
      positionals.push(arg);
      continue;
    }
    const tok = splitFlag(arg);
    const flag = findFlag(accepted, tok);
    if (flag === undefined) throw unknownFlag(tok, accepted, spec.name);
    if (flag.name === "verbose" || flag.name === "version" || flag.name === "help") {
      if (tok.inline !== undefined) throw new UsageError(`${tok.shown} takes no value, got '${arg}'`);
      if (flag.name === "verbose") verbose = true;
      continue;
    }
    let value: unknown;
    if (flag.type.kind === "boolean") {
      if (tok.inline !== undefined) throw new UsageError(`${tok.shown} takes no value, got '${arg}'`);
      value = true;
    } else {
      let raw = tok.inline;
      if (raw === undefined) {
        const next = argv[i + 1];
        if (next === undefined || next === "--" || (next.startsWith("--") && next.length > 2)) {
          throw new UsageError(`${tok.shown} needs a value`, `e.g. ${tok.shown} ${flag.metavar ?? "VALUE"}`);
        }
        raw = next;
        i++;
      }
      value = parseValue(flag, tok.shown, raw);
    }
    if (flag.repeatable === true) {
      (flags[flag.name] as unknown[]).push(value);
    } else {
      if (seen.has(flag.name)) throw new UsageError(`--${flag.name} given more than once`, "give it once");
      flags[flag.name] = value;
    }
    seen.add(flag.name);
  }

  const see = `see 'ktrace ${spec.name} --help'`;
  for (let p = 0; p < spec.positionals.length; p++) {
    if (positionals[p] === undefined) throw new UsageError(spec.positionals[p]!.missing, see);
  }
  const variadic = spec.positionals[spec.positionals.length - 1]?.variadic === true;
  if (positionals.length > spec.positionals.length && !variadic) {
    const extra = positionals[spec.positionals.length]!;
    const takes =
      spec.positionals.length === 0
        ? "takes no arguments"
        : `takes one <${spec.positionals.map((p) => p.name).join("> <")}>`;
    throw new UsageError(`${spec.name} ${takes}, got an extra '${extra}'`, see);
  }
  for (const f of spec.flags) {
    if (f.required === true && !seen.has(f.name)) {
      throw new UsageError(`${spec.name} needs --${f.name}${f.metavar === undefined ? "" : ` ${f.metavar}`}`, see);
    }
  }

  return { command: spec.name as CommandName, positionals, flags: flags as ParsedArgs["flags"], verbose };
}
