// Run the ktrace CLI in a child process under Bun or Deno, for end-to-end tests.
//
//   const r = await runCli(['info', 'x.ktrace', '--json'], { runtime: 'deno' });
//   expect(r.code).toBe(0); JSON.parse(r.stdout);
//
// Tests run on Node (vitest); the CLI itself runs under the runtime asked for, using
// the binaries in node_modules/.bin. Colors are off (NO_COLOR=1) so output is stable.

import { spawn } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

export type Runtime = "bun" | "deno";

export interface RunOptions {
  /** Runtime to run the CLI under (default 'bun'). */
  runtime?: Runtime;
  /** Text written to the CLI's stdin (stdin is closed either way). */
  input?: string;
  /** Working directory (default: the repo root). */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Repository root (absolute). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = path.join(REPO_ROOT, "src", "cli", "main.ts");
const BIN = path.join(REPO_ROOT, "node_modules", ".bin");

/** The command line (program and arguments) that runs the CLI under a runtime. */
export function cliCommand(runtime: Runtime): [string, string[]] {
  if (runtime === "bun") return [path.join(BIN, "bun"), [MAIN]];
  return [
    path.join(BIN, "deno"),
    ["run", "--quiet", "--allow-all", `--config=${path.join(REPO_ROOT, "deno.json")}`, MAIN],
  ];
}

export function runCli(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, pre] = cliCommand(opts.runtime ?? "bun");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({
        code: code ?? (signal === null ? -1 : 128),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.on("error", () => {
      // The CLI may exit without reading stdin.
    });
    child.stdin.end(opts.input ?? "");
  });
}
