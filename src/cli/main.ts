// ktrace entry point: parse, dispatch to ./cmd/<name>.ts, report errors, exit.
//
// Runs on Bun (`bun src/cli/main.ts`, bin/ktrace) and Deno (`deno task ktrace`).
// Adding a command: create src/cli/cmd/<name>.ts exporting
//   export async function run(args: ParsedArgs<'<name>'>): Promise<number>
// (returns the exit code) and add one line to COMMAND_MODULES below.

import process from "node:process";
import { type ParsedArgs, parseArgs, wantsVerbose } from "./args.ts";
import { describeError, UsageError } from "./errors.ts";
import { commandHelp, overviewHelp, VERSION } from "./help.ts";
import { eprintln, flushAll, installPipeHandlers, out, println } from "./io.ts";
import { type CommandName, commandSpec } from "./spec.ts";

/** What a command module exports. */
export interface CommandModule<C extends CommandName> {
  run(args: ParsedArgs<C>): Promise<number>;
}

type CommandLoaders = { [C in CommandName]?: () => Promise<CommandModule<C>> };

/**
 * Built commands. A command absent from this map is "not built yet": running it exits 2
 * with a message naming its issue; its --help still works.
 */
const COMMAND_MODULES: CommandLoaders = {
  scenarios: () => import("./cmd/scenarios.ts"),
  record: () => import("./cmd/record.ts"),
  info: () => import("./cmd/info.ts"),
  explore: () => import("./cmd/explore.ts"),
  merge: () => import("./cmd/merge.ts"),
  diff: () => import("./cmd/diff.ts"),
  report: () => import("./cmd/report.ts"),
  export: () => import("./cmd/export.ts"),
  check: () => import("./cmd/check.ts"),
  state: () => import("./cmd/state.ts"),
  why: () => import("./cmd/why.ts"),
  events: () => import("./cmd/events.ts"),
  replay: () => import("./cmd/replay.ts"),
  import: () => import("./cmd/import.ts"),
  shrink: () => import("./cmd/shrink.ts"),
  whatif: () => import("./cmd/whatif.ts"),
  pivots: () => import("./cmd/pivots.ts"),
};

export function isBuilt(name: CommandName): boolean {
  return COMMAND_MODULES[name] !== undefined;
}

/** Run ktrace with argv (without runtime and script) and return the exit code. Throws on error. */
export async function main(argv: readonly string[]): Promise<number> {
  const inv = parseArgs(argv);
  switch (inv.kind) {
    case "version":
      println(`ktrace ${VERSION}`);
      return 0;
    case "help":
      out(inv.command === undefined ? overviewHelp(isBuilt) : commandHelp(inv.command, isBuilt));
      return 0;
    case "run": {
      const name = inv.args.command;
      const load = COMMAND_MODULES[name] as (() => Promise<CommandModule<CommandName>>) | undefined;
      if (load === undefined) {
        throw new UsageError(`'${name}' is not built yet (issue ${commandSpec(name).issue})`);
      }
      const mod = await load();
      return await mod.run(inv.args);
    }
  }
}

/** Report an error as one stderr line (plus the stack with --verbose) and return its exit code. */
export function reportError(e: unknown, verbose: boolean): number {
  const { line, exitCode } = describeError(e);
  eprintln(line);
  if (verbose && e instanceof Error && e.stack !== undefined) eprintln(e.stack);
  return exitCode;
}

/** Run main, print any error, flush stdout/stderr, and exit the process. Never returns. */
export async function runMain(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  installPipeHandlers();
  let code: number;
  try {
    code = await main(argv);
  } catch (e) {
    code = reportError(e, wantsVerbose(argv));
  }
  process.exitCode = code;
  await flushAll();
  process.exit(code);
}

if (import.meta.main) {
  await runMain();
}
