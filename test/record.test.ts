// ktrace record and ktrace scenarios, end to end under Bun and Deno.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-record-"));

describe("ktrace scenarios", () => {
  it("--json lists every seed scenario with its fixes and options, and the memory option every scenario takes", async () => {
    const r = await runCli(["scenarios", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const names = doc.scenarios.map((s: { name: string }) => s.name);
    expect(names).toEqual(["cpython-fork-serenity", "tcmalloc-fork", "rcore-kstack", "asterinas-procfs", "stress"]);
    const tc = doc.scenarios.find((s: { name: string }) => s.name === "tcmalloc-fork");
    expect(tc.fixes.map((f: { name: string }) => f.name)).toEqual(["atfork-2.17", "posix-spawn"]);
    expect(tc.description).toMatch(/SlowTLS/);
    // The option every scenario takes without declaring it.
    expect(doc.everyScenario.options).toEqual([{ name: "memory", values: ["sc", "tso", "pso"], default: "sc" }]);
    const text = await runCli(["scenarios"]);
    expect(text.stdout).toContain("also takes --opt memory=sc|tso|pso");
  });
});

describe("ktrace record", () => {
  it("records a seed scenario and prints events, bytes, outcome and where the trace went", async () => {
    const out = join(dir, "cp.ktrace");
    const r = await runCli(["record", "cpython-fork-serenity", "-o", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/events\s+\d+/);
    expect(r.stdout).toContain("outcome  fatal at seq");
    expect(r.stdout).toContain(out);
    expect(existsSync(out)).toBe(true);
    const j = await runCli(["record", "cpython-fork-serenity", "--fix", "linux", "-o", out, "--json"]);
    const doc = JSON.parse(j.stdout);
    expect(doc.outcome.kind).toBe("ok");
    expect(doc.fix).toBe("linux");
    expect(doc.bytes).toBe(readFileSync(out).length);
  });

  it("same scenario + fix + seed + options give a byte-identical trace on Bun and on Deno", async () => {
    const cases = [
      ["tcmalloc-fork", "--seed", "6"],
      ["rcore-kstack", "--opt", "stack=flush"],
      ["stress", "--max-events", "30000", "--seed", "5", "--cpus", "3"],
      ["stress", "--max-events", "20000", "--opt", "state=vars"],
      ["fixtures/scenarios/counter.ts", "--seed", "3"], // variables, registers, the scenario's own invariants in the header
      ["stress", "--max-events", "20000", "--opt", "state=os"], // futexes, condvars, signals, pipes, priorities, timers
      ["stress", "--max-events", "20000", "--opt", "state=vars", "--opt", "memory=tso"], // store buffers and their drains
      ["examples/store-buffering.ts", "--seed", "24"], // a tso scenario's failing seed
      ["stress", "--max-events", "20000", "--opt", "state=vars", "--opt", "memory=pso"], // pso: commits out of order
    ];
    for (const args of cases) {
      const a = join(dir, "bun.ktrace");
      const b = join(dir, "deno.ktrace");
      expect((await runCli(["record", ...args, "-o", a], { runtime: "bun" })).code).toBe(0);
      expect((await runCli(["record", ...args, "-o", b], { runtime: "deno" })).code).toBe(0);
      expect(Buffer.compare(readFileSync(a), readFileSync(b)), args.join(" ")).toBe(0);
    }
  });

  it("runs a user scenario file", async () => {
    const r = await runCli(["record", "fixtures/scenarios/bank.ts", "--seed", "1", "-o", join(dir, "bank.ktrace")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/outcome\s+hang at seq \d+: .*blocks on accounts\.[ab] held by tid/);
    const fixed = await runCli([
      "record",
      "fixtures/scenarios/bank.ts",
      "--fix",
      "ordered",
      "-o",
      join(dir, "bank.ktrace"),
      "--json",
    ]);
    expect(JSON.parse(fixed.stdout).outcome.kind).toBe("ok");
  });

  const bad: [string[], RegExp][] = [
    [["record", "tcmaloc-fork"], /^ktrace: unknown scenario 'tcmaloc-fork' \(did you mean 'tcmalloc-fork'\?\)/],
    [
      ["record", "tcmalloc-fork", "--fix", "atfork"],
      /^ktrace: unknown fix 'atfork' for tcmalloc-fork \(did you mean 'atfork-2\.17'\?\); fixes: atfork-2\.17, posix-spawn/,
    ],
    [
      ["record", "rcore-kstack", "--opt", "stack=loud"],
      /^ktrace: --opt stack expects one of silent, flush, reuse, got 'loud'/,
    ],
    [["record", "rcore-kstack", "--opt", "colour=red"], /^ktrace: unknown option 'colour' for rcore-kstack/],
    [["record", "stress", "--cpus", "0"], /^ktrace: --cpus must be between 1 and 64/],
    [
      ["record", "fixtures/scenarios/throws.ts"],
      /^ktrace: scenario throws \(fixtures\/scenarios\/throws\.ts\): build\(\) threw at throws\.ts:8: TypeError/,
    ],
    [
      ["record", "fixtures/scenarios/malformed.ts"],
      /^ktrace: scenario malformed \(fixtures\/scenarios\/malformed\.ts\): procs\[0\]\.main\[0\]: unknown op 'lokc'/,
    ],
    [["record", "fixtures/scenarios/nope.ts"], /^ktrace: scenario file fixtures\/scenarios\/nope\.ts not found/],
    [
      ["record", "fixtures/scenarios/bad-program.ts"],
      /^ktrace: scenario bad-program \(fixtures\/scenarios\/bad-program\.ts\): procs\[0\]\.main\[1\]\.cond\.l \(if\) at bad-program\.ts:14: unknown variable 'countr' \(declared: counter, head\)\n/,
    ],
    [
      ["record", "fixtures/scenarios/bad-program.ts", "--opt", "mistake=type"],
      /^ktrace: scenario bad-program \(fixtures\/scenarios\/bad-program\.ts\): procs\[0\]\.main\[1\]\.value \(store\) at bad-program\.ts:15: type mismatch: \(counter \+ 1\) is an int, a ptr is needed\n/,
    ],
    [
      ["record", "fixtures/scenarios/bad-program.ts", "--opt", "mistake=unbounded"],
      /^ktrace: scenario bad-program .*: procs\[0\]\.main\[1\] \(while\) at bad-program\.ts:16: a loop needs a bound/,
    ],
    [
      ["record", "fixtures/scenarios/bad-program.ts", "--opt", "mistake=register"],
      /^ktrace: scenario bad-program .*: procs\[0\]\.main\[1\]\.value \(store\) at bad-program\.ts:17: register 'tmp' is never assigned/,
    ],
  ];
  for (const [args, msg] of bad) {
    it(`bad input: ${args.slice(1).join(" ")} → one line, exit 2`, async () => {
      const r = await runCli([...args, "-o", join(dir, "bad.ktrace")]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it("a syntax error in a scenario file: file, line and reason on Bun as on Deno; nothing written", async () => {
    const sub = mkdtempSync(join(dir, "syntax-"));
    const file = join(sub, "broken.ts");
    writeFileSync(
      file,
      'export default (k) =>\n  k.defineScenario({\n    name: "broken",\n    build: () => ({ procs: [{ name: "p", main: [k.user("a"),, ] }] ),\n  });\n',
    );
    const out = join(sub, "keep.ktrace");
    writeFileSync(out, "precious");
    for (const runtime of ["bun", "deno"] as const) {
      const r = await runCli(["record", file, "-o", out], { runtime });
      expect(r.code, runtime).toBe(2);
      expect(r.stderr.trim().split("\n"), runtime).toHaveLength(1);
      expect(r.stderr, runtime).toMatch(
        /^ktrace: scenario file .*broken\.ts has a syntax error at broken\.ts:4:\d+: \S/,
      );
      expect(r.stderr, runtime).not.toMatch(/AggregateError|TypeError/);
    }
    expect(readFileSync(out, "utf8")).toBe("precious");
    expect(readdirSync(sub).sort()).toEqual(["broken.ts", "keep.ktrace"]);
  });

  it("a name the scenario API does not have: the nearest it has (or the C library's name's), on Bun as on Deno (whose TypeErrors differ)", async () => {
    const sub = mkdtempSync(join(dir, "typo-"));
    const file = join(sub, "typo.ts");
    writeFileSync(
      file,
      [
        "export default (k) => k.defineScenario({",
        '  name: "typo", description: "typos", fixes: { a: "", b: "", c: "", d: "", e: "", f: "" },',
        '  build: ({ fix }) => ({ procs: [{ name: "p", main: [',
        '    fix === "a" ? k.regSet("q", 0) : fix === "b" ? k.cvwait("c", "m") : fix === "c" ? k.mutexLock("m") : fix === "e" ? k.condSignal("c") : fix === "f" ? k.pthread_cond_signal("c") : k.frobnicate(),',
        "  ] }] }),",
        "});",
        "",
      ].join("\n"),
    );
    const cases: [string, string][] = [
      ["a", "(the scenario API has no regSet; did you mean set?)"],
      ["b", "(the scenario API has no cvwait; did you mean cvWait?)"],
      ["c", "(the scenario API has no mutexLock; did you mean lock?)"],
      ["d", "(the scenario API has no frobnicate: see docs/SCENARIOS.md)"],
      // As the C library spells it: not SIG, which `condSignal` contains.
      ["e", "(the scenario API has no condSignal; did you mean cvSignal?)"],
      ["f", "(the scenario API has no pthread_cond_signal; did you mean cvSignal?)"],
    ];
    for (const runtime of ["bun", "deno"] as const)
      for (const [fix, hint] of cases) {
        const r = await runCli(["record", file, "--fix", fix, "-o", join(sub, "t.ktrace")], { runtime });
        expect(r.code, `${runtime} ${fix}`).toBe(2);
        expect(r.stderr.trim().split("\n"), `${runtime} ${fix}`).toHaveLength(1);
        expect(r.stderr, `${runtime} ${fix}`).toMatch(
          /^ktrace: scenario typo \(.*typo\.ts\): build\(\) threw at typo\.ts:4: TypeError: /,
        );
        expect(r.stderr.trim().endsWith(hint), `${runtime} ${fix}: ${r.stderr}`).toBe(true);
      }
    expect(readdirSync(sub)).toEqual(["typo.ts"]);
  });

  it("never replaces an existing trace with a failed recording, and leaves no temporary file", async () => {
    const sub = mkdtempSync(join(dir, "keep-"));
    const out = join(sub, "keep.ktrace");
    writeFileSync(out, "precious");
    const r = await runCli(["record", "fixtures/scenarios/throws.ts", "-o", out]);
    expect(r.code).toBe(2);
    expect(readFileSync(out, "utf8")).toBe("precious");
    expect(readdirSync(sub)).toEqual(["keep.ktrace"]);
  });
});
