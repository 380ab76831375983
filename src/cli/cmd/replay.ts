// ktrace replay <trace> [--at N|start|end|panic|violation]: the interactive
// terminal UI (src/tui). Needs a terminal; refuses (exit 2) when piped.

import type { ParsedArgs } from "../args.ts";
import { EXIT, KtraceError } from "../errors.ts";
import { isStdinTTY, isStdoutTTY } from "../io.ts";

export async function run(args: ParsedArgs<"replay">): Promise<number> {
  const file = args.positionals[0]!;
  if (!isStdoutTTY() || !isStdinTTY()) {
    const which = !isStdoutTTY() ? "stdout" : "stdin";
    throw new KtraceError(`replay is interactive and needs a terminal, but ${which} is not one`, {
      exitCode: EXIT.USAGE,
      hint: `in scripts and CI use 'ktrace state ${file} --at N', 'ktrace events ${file}' or 'ktrace check ${file}'`,
    });
  }
  const { runReplay } = await import("../../tui/index.ts");
  const { traceExplorer } = await import("../../explore/explorer.ts");
  const at = args.flags.at;
  // What-if branches (x, X) and the decisions that matter on the timeline: src/explore/.
  return await runReplay(file, { ...(at === undefined ? {} : { at }), explorer: traceExplorer(file) });
}
