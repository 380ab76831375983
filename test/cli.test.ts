// End-to-end tests of the CLI surface (spawning Bun and Deno), plus unit tests of the
// spec-driven parser and error formatting.

import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { afterAll, describe, expect, it } from "vitest";
import { editDistance, type ParsedArgs, parseArgs } from "../src/cli/args.ts";
import { describeError, KtraceError, UsageError } from "../src/cli/errors.ts";
import { isBuilt } from "../src/cli/main.ts";
import { COMMAND_NAMES, COMMANDS } from "../src/cli/spec.ts";
import { cliCommand, REPO_ROOT, type RunResult, type Runtime, runCli } from "./helpers/run-cli.ts";

const RUNTIMES: Runtime[] = ["bun", "deno"];

function expectOneLineError(r: RunResult, code = 2): string {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe("");
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(lines[0]).toMatch(/^ktrace: /);
  return lines[0]!;
}

describe.each(RUNTIMES)("ktrace CLI on %s", (runtime) => {
  const run = (...args: string[]) => runCli(args, { runtime });

  it("--help lists every command", async () => {
    const r = await run("--help");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(COMMANDS).toHaveLength(17);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name} +\\S`, "m"));
  });

  it("no arguments prints the overview; -h too", async () => {
    const [none, h, help] = await Promise.all([run(), run("-h"), run("--help")]);
    expect(none).toEqual(help);
    expect(h).toEqual(help);
  });

  it("record --help lists its flags and examples", async () => {
    const r = await run("record", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ktrace record <scenario\|file\.ts>/);
    for (const f of [
      "--fix NAME",
      "--seed N",
      "--cpus N",
      "--snapshot-every K",
      "--max-events N",
      "--opt KEY=VALUE",
      "-o, --output FILE",
      "--json",
    ]) {
      expect(r.stdout).toContain(f);
    }
    expect(r.stdout).toContain("Examples:");
  });

  it("every command has --help, including unbuilt ones", async () => {
    for (const c of COMMAND_NAMES) {
      const r = await run(c, "--help");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: ktrace ${c}\\b`));
      expect(r.stdout.includes("(not built yet")).toBe(!isBuilt(c));
    }
  });

  it("--version", async () => {
    const r = await run("--version");
    expect(r).toEqual({ code: 0, stdout: "ktrace 0.1.0\n", stderr: "" });
  });

  it("unknown command: exit 2, one line with a suggestion", async () => {
    const line = expectOneLineError(await run("recrod"));
    expect(line).toBe("ktrace: unknown command 'recrod' (did you mean 'record'?)");
  });

  it("unknown flag: exit 2, one line with a suggestion", async () => {
    const line = expectOneLineError(await run("record", "cpython-fork-serenity", "--sed", "3"));
    expect(line).toBe("ktrace: unknown flag --sed for record (did you mean --seed?)");
  });

  it("bad integer: exit 2, one line", async () => {
    const line = expectOneLineError(await run("record", "x", "--seed", "x"));
    expect(line).toBe("ktrace: --seed expects a non-negative integer, got 'x'");
  });

  it("missing positional: exit 2, one line naming the fix", async () => {
    const line = expectOneLineError(await run("record"));
    expect(line).toBe("ktrace: record needs a scenario name or a .ts file (see 'ktrace record --help')");
  });

  it("bad range: exit 2", async () => {
    const line = expectOneLineError(await run("explore", "x", "--seeds", "9..1"));
    expect(line).toMatch(/^ktrace: --seeds expects A\.\.B with A <= B, got '9\.\.1'/);
  });

  it("--verbose does not add a stack to usage errors... but keeps the exit code", async () => {
    const r = await run("--verbose", "recrod");
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("ktrace: unknown command 'recrod' (did you mean 'record'?)");
  });

  it('every command of the CLI contract is built: none says "not built yet"', async () => {
    expect(COMMAND_NAMES.filter((c) => !isBuilt(c))).toEqual([]);
    const r = await run("--help");
    expect(r.stdout).not.toMatch(/not built/);
  });

  it("a reader that stops early (| head) ends output quietly; a slow reader gets everything", async () => {
    const [cmd, pre] = cliCommand(runtime);
    const script = path.join(REPO_ROOT, "test", "helpers", "print-lines.ts");
    const early = await new Promise<{ code: number | null; stderr: string; first: string }>((resolve) => {
      const child = spawn(cmd, [...pre.slice(0, -1), script, "200000"], { cwd: REPO_ROOT });
      let first = "";
      let stderr = "";
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      child.stdout.once("data", (b: Buffer) => {
        first = b.toString().split("\n")[0]!;
        child.stdout.destroy();
      });
      child.on("close", (code) => resolve({ code, stderr, first }));
    });
    expect(early.first).toBe(`line 0 ${"x".repeat(40)}`);
    expect(early.stderr).toBe("");
    expect(early.code).toBe(0);

    const all = await new Promise<number>((resolve) => {
      const child = spawn(cmd, [...pre.slice(0, -1), script, "100000"], { cwd: REPO_ROOT });
      let lines = 0;
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 500); // let the pipe fill up first
      child.stdout.on("data", (b: Buffer) => {
        for (const ch of b) if (ch === 10) lines++;
      });
      child.on("close", () => resolve(lines));
    });
    expect(all).toBe(100000);
  });
});

describe("Bun/Deno parity", () => {
  const cases: string[][] = [
    [],
    ["--help"],
    ["--version"],
    ...COMMAND_NAMES.map((c) => [c, "--help"]),
    ["recrod"],
    ["record"],
    ["record", "x", "--sed", "1"],
    ["record", "x", "--seed=x"],
    ["explore", "x", "--seeds", "3..1"],
    ["state", "t.ktrace"],
    ["state", "t.ktrace", "--at", "middle"],
    ["export", "t.ktrace", "--format", "chrom"],
    ["info", "a", "b"],
    ["--json", "info", "x"],
    ["scenarios", "--json=1"],
  ];
  it.each(cases.map((c) => [c.join(" ") || "(no args)", c] as const))("%s", async (_name, args) => {
    const [bun, deno] = await Promise.all([runCli(args, { runtime: "bun" }), runCli(args, { runtime: "deno" })]);
    expect(deno).toEqual(bun);
  });
});

describe("launchers", () => {
  // deno task resolves a bare `deno` to node_modules/.bin/deno and runs that ELF file as a
  // script (denoland/deno#27114), so the task names the binary by path; keep it working.
  it("deno task ktrace gives the same output and exit code as bun", async () => {
    const viaTask = (args: string[]) =>
      new Promise<RunResult>((resolve) => {
        const child = spawn(
          path.join(REPO_ROOT, "node_modules", ".bin", "deno"),
          ["task", "--quiet", "ktrace", ...args],
          {
            cwd: REPO_ROOT,
            env: { ...process.env, NO_COLOR: "1" },
          },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
        child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    for (const args of [["--help"], ["recrod"]]) {
      const [task, bun] = await Promise.all([viaTask(args), runCli(args, { runtime: "bun" })]);
      expect(task).toEqual(bun);
    }
  });
});

describe("bin/ktrace (the sh launcher npx runs)", () => {
  // A copy of the launcher beside a stand-in for node_modules/.bin/bun that prints what it was given.
  const dir = mkdtempSync(path.join(tmpdir(), "ktrace-launcher-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, "bin"));
  mkdirSync(path.join(dir, "node_modules", ".bin"), { recursive: true });
  copyFileSync(path.join(REPO_ROOT, "bin", "ktrace"), path.join(dir, "bin", "ktrace"));
  writeFileSync(
    path.join(dir, "node_modules", ".bin", "bun"),
    '#!/bin/sh\n[ -n "$MIMALLOC_PURGE_DELAY" ] || MIMALLOC_PURGE_DELAY=unset\necho "purge=$MIMALLOC_PURGE_DELAY args=$*"\n',
    { mode: 0o755 },
  );
  const launch = (args: string[], env: Record<string, string> = {}) => {
    const { MIMALLOC_PURGE_DELAY: _, ...rest } = process.env;
    return execFileSync(path.join(dir, "bin", "ktrace"), args, { env: { ...rest, ...env } })
      .toString()
      .trim();
  };
  it("runs the package's Bun on src/cli/main.ts; check gives freed memory back sooner (MIMALLOC_PURGE_DELAY=1), unless set", () => {
    const main = `${dir}/bin/../src/cli/main.ts`;
    expect(launch(["check", "t.ktrace"])).toBe(`purge=1 args=${main} check t.ktrace`);
    expect(launch(["record", "stress"])).toBe(`purge=unset args=${main} record stress`);
    expect(launch(["check", "t.ktrace"], { MIMALLOC_PURGE_DELAY: "10" })).toBe(`purge=10 args=${main} check t.ktrace`);
  });
});

describe("parseArgs", () => {
  const runArgs = (argv: string[]): ParsedArgs => {
    const inv = parseArgs(argv);
    if (inv.kind !== "run") throw new Error(`expected run, got ${inv.kind}`);
    return inv.args;
  };
  const usage = (argv: string[]): string => {
    try {
      parseArgs(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return describeError(e).line;
    }
    throw new Error("expected a UsageError");
  };

  it("reads --flag value, --flag=value, -o value, repeatable and typed values", () => {
    const a = runArgs([
      "record",
      "cpython-fork-serenity",
      "--seed",
      "7",
      "--cpus=4",
      "-o",
      "out.ktrace",
      "--opt",
      "a=1",
      "--opt=b=",
      "--json",
    ]);
    expect(a.command).toBe("record");
    expect(a.positionals).toEqual(["cpython-fork-serenity"]);
    expect(a.flags).toEqual({
      seed: 7,
      cpus: 4,
      output: "out.ktrace",
      opt: [
        { key: "a", value: "1" },
        { key: "b", value: "" },
      ],
      json: true,
    });
    expect(a.verbose).toBe(false);
  });

  it("defaults: booleans false, repeatables empty", () => {
    expect(runArgs(["check", "t"]).flags).toEqual({ invariant: [], also: [], skip: [], json: false });
    expect(
      (runArgs(["check", "t", "--invariant", "no-panic", "--invariant", "vmar-live"]) as ParsedArgs<"check">).flags
        .invariant,
    ).toEqual(["no-panic", "vmar-live"]);
  });

  it("range, at, enum", () => {
    expect(runArgs(["explore", "s", "--seeds", "0..99"]).flags).toMatchObject({ seeds: { from: 0, to: 99 } });
    expect(runArgs(["explore", "s", "--seeds", "5..5"]).flags).toMatchObject({ seeds: { from: 5, to: 5 } });
    expect(runArgs(["state", "t", "--at", "120"]).flags).toMatchObject({ at: 120 });
    expect(runArgs(["state", "t", "--at", "violation"]).flags).toMatchObject({ at: "violation" });
    expect(runArgs(["export", "t", "--format", "chrome"]).flags).toMatchObject({ format: "chrome" });
  });

  it("-- ends flags", () => {
    expect(runArgs(["info", "--", "--weird-name.ktrace"]).positionals).toEqual(["--weird-name.ktrace"]);
  });

  it("--verbose anywhere", () => {
    expect(runArgs(["--verbose", "info", "t"]).verbose).toBe(true);
    expect(runArgs(["info", "t", "--verbose"]).verbose).toBe(true);
  });

  it("help and version", () => {
    expect(parseArgs([])).toEqual({ kind: "help" });
    expect(parseArgs(["--version"])).toEqual({ kind: "version" });
    expect(parseArgs(["help", "record"])).toEqual({ kind: "help", command: "record" });
    expect(parseArgs(["record", "--sed", "-h"])).toEqual({ kind: "help", command: "record" });
  });

  it("errors are one line naming the problem and the fix", () => {
    expect(usage(["record", "x", "--seed"])).toBe("ktrace: --seed needs a value (e.g. --seed N)");
    expect(usage(["record", "x", "--seed", "--cpus", "2"])).toBe("ktrace: --seed needs a value (e.g. --seed N)");
    expect(usage(["record", "x", "--seed", "-1"])).toBe("ktrace: --seed expects a non-negative integer, got '-1'");
    expect(usage(["record", "x", "--seed", "1", "--seed", "2"])).toBe(
      "ktrace: --seed given more than once (give it once)",
    );
    expect(usage(["info", "t", "--json=yes"])).toBe("ktrace: --json takes no value, got '--json=yes'");
    // --seeds is optional to the parser (explore --strategy dfs runs no seeds); the command asks for it.
    expect(runArgs(["explore", "x"]).flags).not.toHaveProperty("seeds");
    expect(usage(["explore", "x", "--seeds", "1-2"])).toMatch(/^ktrace: --seeds expects A\.\.B with A <= B, got '1-2'/);
    expect(usage(["state", "t", "--at", "x"])).toBe(
      "ktrace: --at expects an event number or one of start, end, panic, violation, got 'x'",
    );
    expect(usage(["record", "x", "--opt", "novalue"])).toMatch(/^ktrace: --opt expects KEY=VALUE, got 'novalue'/);
    expect(usage(["info", "a", "b"])).toBe(
      "ktrace: info takes one <trace>, got an extra 'b' (see 'ktrace info --help')",
    );
    expect(usage(["scenarios", "x"])).toBe(
      "ktrace: scenarios takes no arguments, got an extra 'x' (see 'ktrace scenarios --help')",
    );
    expect(usage(["info", "t", "--frobnicate"])).toBe(
      "ktrace: unknown flag --frobnicate for info (see 'ktrace info --help')",
    );
    expect(usage(["zzz"])).toBe("ktrace: unknown command 'zzz' (run 'ktrace --help' for the list)");
    expect(usage(["record", "x", "-seed", "1"])).toBe("ktrace: unknown flag -seed for record (did you mean --seed?)");
  });

  it("editDistance counts a transposition as one edit", () => {
    expect(editDistance("recrod", "record")).toBe(1);
    expect(editDistance("sed", "seed")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });
});

describe("error reporting", () => {
  it("an error with a numeric exitCode is one line with its code", () => {
    class TraceError extends Error {
      exitCode = 2;
    }
    expect(describeError(new TraceError("t.ktrace: bad magic\n(not a ktrace file)"))).toEqual({
      line: "ktrace: t.ktrace: bad magic (not a ktrace file)",
      exitCode: 2,
    });
    expect(describeError(new KtraceError("found", { exitCode: 1, hint: "try x" }))).toEqual({
      line: "ktrace: found (try x)",
      exitCode: 1,
    });
  });

  it("anything else is an internal error, exit 3", () => {
    expect(describeError(new TypeError("x is undefined"))).toEqual({
      line: "ktrace: internal error: x is undefined (run with --verbose for the stack)",
      exitCode: 3,
    });
    expect(describeError("boom").exitCode).toBe(3);
  });
});
