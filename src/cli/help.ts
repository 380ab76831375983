// Help screens, generated from the command table in spec.ts.

import { COMMANDS, type CommandName, commandSpec, type FlagSpec, GLOBAL_FLAGS, type PositionalSpec } from "./spec.ts";

export const VERSION = "0.1.0";

function table(rows: readonly (readonly [string, string])[], indent = "  "): string[] {
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `${indent}${l.padEnd(width)}   ${r}`.trimEnd());
}

function flagLabel(f: FlagSpec): string {
  const long = `--${f.name}`;
  const names = f.short === undefined ? long : `-${f.short}, ${long}`;
  const value = f.type.kind === "boolean" ? "" : ` ${f.metavar ?? "VALUE"}`;
  return `${names}${value}${f.repeatable === true ? " ..." : ""}`;
}

/** The overview: `ktrace`, `ktrace --help`. */
export function overviewHelp(isBuilt: (c: CommandName) => boolean): string {
  const rows = COMMANDS.map((c) => [c.name, isBuilt(c.name) ? c.summary : `${c.summary} (not built yet)`] as const);
  return [
    `ktrace ${VERSION}: a time-travel debugger for kernel concurrency bugs`,
    "",
    "Usage: ktrace <command> [options]",
    "",
    "Commands:",
    ...table(rows),
    "",
    "Global options:",
    ...table(GLOBAL_FLAGS.map((f) => [flagLabel(f), f.description] as const)),
    "",
    "Run 'ktrace <command> --help' for a command's options and examples.",
    "Exit codes: 0 ok or nothing found, 1 something found, 2 bad input or usage, 3 bug in ktrace.",
    "",
  ].join("\n");
}

/** The usage line of one command: `ktrace explore <scenario|file.ts> --seeds A..B [options]`. */
export function usageLine(name: CommandName): string {
  const spec = commandSpec(name);
  const parts = ["ktrace", spec.name];
  const positionals: readonly PositionalSpec[] = spec.positionals;
  for (const p of positionals) parts.push(`<${p.name}>${p.variadic === true ? "..." : ""}`);
  const flags: readonly FlagSpec[] = spec.flags;
  for (const f of flags) {
    if (f.required === true) parts.push(`--${f.name} ${f.metavar ?? "VALUE"}`);
  }
  if (flags.some((f) => f.required !== true)) parts.push("[options]");
  return parts.join(" ");
}

/** `ktrace <command> --help`. */
export function commandHelp(name: CommandName, isBuilt: (c: CommandName) => boolean): string {
  const spec = commandSpec(name);
  const lines = [`Usage: ${usageLine(name)}`, "", spec.summary];
  if (!isBuilt(name)) lines.push(`(not built yet: issue ${spec.issue})`);
  if ("details" in spec && typeof spec.details === "string") lines.push("", spec.details);
  if (spec.positionals.length > 0) {
    lines.push("", "Arguments:", ...table(spec.positionals.map((p) => [`<${p.name}>`, p.description] as const)));
  }
  const flags: readonly FlagSpec[] = [...spec.flags, ...GLOBAL_FLAGS];
  lines.push(
    "",
    "Options:",
    ...table(
      flags.map((f) => [flagLabel(f), f.required === true ? `${f.description} (required)` : f.description] as const),
    ),
  );
  if (spec.examples.length > 0) {
    lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  }
  lines.push("");
  return lines.join("\n");
}
