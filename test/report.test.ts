// ktrace report: the Markdown bug report, and the trace's round trip through
// it (report → issue comment → file → every command), plus gzip'd traces.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { prepare, record } from "../src/record/index.ts";
import { mdEscape } from "../src/report/index.ts";
import { EMBED_BEGIN, EMBED_END, findEmbeddedTrace } from "../src/trace/embed.ts";
import { embedTrace, gzipTrace } from "../src/trace/embed-write.ts";
import { openTrace } from "../src/trace/index.ts";
import { runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-report-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const AST = "traces/asterinas-procfs.ktrace";

/** info --json without the fields that describe the file rather than the trace. */
function infoAnswers(stdout: string): Record<string, unknown> {
  const j = JSON.parse(stdout);
  for (const k of ["file", "path", "bytes", "gzip", "gzipped", "bytesRead", "bytesPerEvent"]) delete j[k];
  return j;
}

describe("ktrace report", () => {
  it("writes a Markdown report: what ran, versions, outcome, first violation with its events and objects, commands, the embedded trace", async () => {
    const out = join(dir, "ast.md");
    const r = await runCli(["report", AST, "-o", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/wrote .*ast\.md, trace embedded/);
    const md = readFileSync(out, "utf8");
    expect(md).toMatch(/^# ktrace report: asterinas-procfs, seed 1: vmar-live violated at event \d+, panic/);
    expect(md).toMatch(/\| scenario \| `asterinas-procfs`/);
    expect(md).toMatch(/\| variant \| buggy \(no fix\) \|/);
    expect(md).toMatch(/\| seed \| 1 \|/);
    expect(md).toMatch(/\| trace \| `asterinas-procfs\.ktrace`, format \d+\.\d+, written by ktrace \d/);
    expect(md).toMatch(/\| report \| ktrace \d+\.\d+\.\d+ \|/);
    expect(md).toMatch(/## Outcome\n\n\*\*panic\*\* at event \d+: called \\`Option::unwrap\(\)\\`/);
    expect(md).toMatch(/## First violation: `vmar-live` at event \d+/);
    expect(md).toMatch(/### Events leading to it\n\n\| seq \| time \(ns\) \| cpu \| tid \| kind \| event \|/);
    expect(md).toMatch(/\| vmar-clear \| pid 2's root VMAR cleared.*\| ← exit of pid 2 set its root VMAR to None \|/);
    expect(md).toMatch(/\*\*← here\*\*/);
    expect(md).toMatch(
      /### State of the objects involved[\s\S]*\*\*Processes\*\*[\s\S]*\| 2 \| 1 \| zombie \(\d+\) \| None \(cleared at \d+\) \| reproducer \| 2 \|/,
    );
    expect(md).toContain("ktrace record asterinas-procfs --seed 1 --cpus 2 -o asterinas-procfs-s1.ktrace\n");
    expect(md).toContain("ktrace replay asterinas-procfs-s1.ktrace --at violation\n");
    expect(md).toContain("ktrace replay ast.md --at violation\n");
    expect(md).toMatch(
      /<details>\n<summary>Trace asterinas-procfs\.ktrace \([\d,]+ bytes gzip'd, base64\)<\/summary>\n\n```text\n-----BEGIN KTRACE TRACE-----\n/,
    );
    expect(md).toMatch(/-----END KTRACE TRACE-----\n```\n\n<\/details>/);
    // The table rows are well formed: as many cells as the header.
    const table = md.split("### Events leading to it")[1]!.split("\n\n")[1]!.split("\n");
    for (const row of table) expect(row.replace(/\\\|/g, "").split("|").length, row).toBe(9);
  });

  it("goes to stdout without -o, the same on Bun and Deno", async () => {
    const a = await runCli(["report", "traces/tcmalloc-fork.ktrace"], { runtime: "bun" });
    const b = await runCli(["report", "traces/tcmalloc-fork.ktrace"], { runtime: "deno" });
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(a.stdout).toMatch(/lock-owner-alive/);
    expect(a.stdout).toMatch(/\*\*Locks\*\*[\s\S]*tcmalloc\.SlowTLS \| pid 2 \| spin \| tid 2 \| \*\*no\*\*/);
    expect(a.stdout).toContain("ktrace replay report.md --at violation");
  });

  it("reports a clean run and a user scenario file plainly", async () => {
    const ok = await runCli(["report", "traces/tcmalloc-fork--atfork-2.17.ktrace"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/seed 1: no violation/);
    expect(ok.stdout).toMatch(/\*\*ok\*\*: the run completed/);
    expect(ok.stdout).toContain(
      "ktrace record tcmalloc-fork --fix atfork-2.17 --seed 1 --cpus 2 -o tcmalloc-fork-atfork-2.17-s1.ktrace",
    );
    const t = join(dir, "bank.ktrace");
    expect((await runCli(["record", "fixtures/scenarios/bank.ts", "--seed", "1", "-o", t])).code).toBe(0);
    const bank = await runCli(["report", t]);
    expect(bank.stdout).toMatch(/# bank\.ts: the scenario file this trace was recorded from\nktrace record bank\.ts/);
  });

  it("shows a user's bug's own state: the variables and condvar the failure involves, what each thread waits on, heap objects, pipes", async () => {
    const rec = async (name: string) => {
      const t = join(dir, `${name}.ktrace`);
      expect((await runCli(["record", `examples/${name}.ts`, "--seed", "1", "-o", t])).code).toBe(0);
      const r = await runCli(["report", t]);
      expect(r.code).toBe(0);
      return r.stdout.split("### State of the objects involved")[1]!.split("## Schedule")[0]!;
    };
    // barrier-reuse seed 1: every thread waits on cv; arrived is 1, written by tid 3's next round (seq 55).
    const b = await rec("barrier-reuse");
    expect(b).toContain("| 1 | 1 | blocked | 1 | 0 | condvar cv | $arrived=1 $cv=1 a=2 b=3 |\n");
    expect(b).toMatch(
      /\*\*Variables\*\*\n\n\| id \| name \| in \| type \| value \| last written at \| by \| waiters \|\n/,
    );
    expect(b).toMatch(/\| arrived \| pid 1 \| int \| 1 \| \d+ \| tid 3 \| {2}\|\n/);
    expect(b).toMatch(/\| cv \| pid 1 \| condvar \| seq 1 \| \d+ \| tid 3 \| tid 3, tid 2, tid 1 \|\n/);
    // refcount-put: the freed object and the pointer to it
    const rc = await rec("refcount-put");
    expect(rc).toMatch(/\*\*Heap objects\*\*[\s\S]*\| conn \| pid 1 \| \*\*freed\*\* \| \d+ \| \d+ \|/);
    // pipe-inherit: the pipe whose write end the forked daemon still holds
    const p = await rec("pipe-inherit");
    expect(p).toContain("| blocks reading pipe 1 (empty) |");
    expect(p).toMatch(
      /\*\*Pipes\*\*[\s\S]*\| 1 \| 0 of \d+ \| 1 \| 2 \| pid 1 read fd 3; pid 3 read fd 3; pid 3 write fd 4 \| tid 1 \(read\) \|/,
    );
  });

  it("escapes Markdown in cells (the one rule: mdText, src/util/safe-text.ts)", () => {
    // A line break is shown as \n, not turned into a space: renders as a|b <c> `d`\ne
    expect(mdEscape("a|b <c> `d`\ne")).toBe("a\\|b &lt;c&gt; \\`d\\`\\\\ne");
  });
});

describe("a trace through an issue comment and back", () => {
  it("info, check, events and state give the same answers from the report as from the trace", async () => {
    const md = join(dir, "round.md");
    expect((await runCli(["report", AST, "-o", md])).code).toBe(0);
    // As if pasted into a comment, then saved from it with a different name.
    const pasted = join(dir, "from-the-issue.md");
    writeFileSync(pasted, `Seen on CI, report below.\n\n${readFileSync(md, "utf8")}\n\nthanks!\n`);
    for (const runtime of ["bun", "deno"] as const) {
      const [i1, i2] = await Promise.all([
        runCli(["info", AST, "--json"], { runtime }),
        runCli(["info", pasted, "--json"], { runtime }),
      ]);
      expect(i2.code).toBe(0);
      expect(infoAnswers(i2.stdout)).toEqual(infoAnswers(i1.stdout));
      const [c1, c2] = await Promise.all([
        runCli(["check", AST, "--json"], { runtime }),
        runCli(["check", pasted, "--json"], { runtime }),
      ]);
      expect(c1.code).toBe(1);
      expect(c2.code).toBe(1);
      expect(c2.stdout).toBe(c1.stdout);
    }
    const [e1, e2] = await Promise.all([runCli(["events", AST, "--json"]), runCli(["events", pasted, "--json"])]);
    expect(e2.stdout).toBe(e1.stdout);
    const [s1, s2] = await Promise.all([
      runCli(["state", AST, "--at", "violation", "--json"]),
      runCli(["state", pasted, "--at", "violation", "--json"]),
    ]);
    expect(s2.stdout).toBe(s1.stdout);
    const [x1, x2] = await Promise.all([
      runCli(["export", AST, "--format", "chrome"]),
      runCli(["export", pasted, "--format", "chrome"]),
    ]);
    expect(x2.stdout).toBe(x1.stdout);
    // A report of the report embeds the same trace.
    const again = await runCli(["report", pasted]);
    const a = findEmbeddedTrace(readFileSync(md, "utf8"))!;
    const b = findEmbeddedTrace(again.stdout)!;
    expect(Buffer.compare(Buffer.from(b.bytes), Buffer.from(a.bytes))).toBe(0);
  });

  it("reads the block alone, quoted in a reply ('> '), with CRLF line ends and extra indentation", async () => {
    const md = (await runCli(["report", AST])).stdout;
    const lines = md.split("\n");
    const block = lines.slice(lines.indexOf(EMBED_BEGIN), lines.indexOf(EMBED_END) + 1);
    const f = join(dir, "quoted.txt");
    writeFileSync(f, "> > quoting the report:\r\n" + block.map((l) => `>  >    ${l}`).join("\r\n") + "\r\n");
    const r = await runCli(["check", f, "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).violation.invariant).toBe("vmar-live");
  });

  it("says what is wrong with a block cut short or changed, in one line, exit 2", async () => {
    const md = (await runCli(["report", AST])).stdout;
    const cut = join(dir, "cut.md");
    writeFileSync(cut, md.slice(0, md.indexOf(EMBED_END) - 200));
    const r = await runCli(["info", cut]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^ktrace: .*cut\.md: the embedded trace is cut short \(no '-----END KTRACE TRACE-----' line\)/,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    const changed = join(dir, "changed.md");
    const i = md.indexOf("\n", md.indexOf("crc32:")) + 10;
    writeFileSync(changed, md.slice(0, i) + (md[i] === "A" ? "B" : "A") + md.slice(i + 1));
    const r2 = await runCli(["check", changed]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/the embedded trace fails its checksum .* copy the block again/);
    const lost = join(dir, "lost.md");
    const j = md.indexOf("\n", md.indexOf("crc32:")) + 1;
    writeFileSync(lost, md.slice(0, j) + md.slice(md.indexOf("\n", j) + 1));
    const r3 = await runCli(["check", lost]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/decodes to \d+ bytes, its header says \d+; lines were lost/);
  });

  it("does not embed a large trace, and a report without one names the command that re-records it", async () => {
    const p = await prepare({ target: "stress", maxEvents: 300_000, seed: 2 });
    const big = join(dir, "big.ktrace");
    record(p, big);
    const md = join(dir, "big.md");
    const r = await runCli(["report", big, "-o", md]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/trace too large to embed/);
    const text = readFileSync(md, "utf8");
    expect(text).not.toContain(EMBED_BEGIN);
    expect(text).toMatch(/larger than 64 KB, so it is not embedded/);
    const back = await runCli(["info", md]);
    expect(back.code).toBe(2);
    expect(back.stderr).toMatch(
      /a ktrace report without an embedded trace .* re-record it with: ktrace record stress --seed 2 --cpus 2 --max-events 300000 -o stress-s2\.ktrace/,
    );
  });
});

describe("gzip-wrapped traces", () => {
  it("record -o x.ktrace.gz writes gzip, and info, check, events, report and export read it as the plain trace", async () => {
    const gz = join(dir, "t.ktrace.gz");
    const plain = join(dir, "t.ktrace");
    expect((await runCli(["record", "tcmalloc-fork", "--seed", "6", "-o", gz])).code).toBe(0);
    expect((await runCli(["record", "tcmalloc-fork", "--seed", "6", "-o", plain], { runtime: "deno" })).code).toBe(0);
    const bytes = readFileSync(gz);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(Buffer.compare(gunzipSync(bytes), readFileSync(plain))).toBe(0);
    expect(openTrace(gz).gzipped).toBe(true);
    for (const cmd of [
      ["info", "--json"],
      ["check", "--json"],
      ["events", "--json"],
      ["export", "--format", "chrome"],
    ]) {
      const [a, b] = await Promise.all([
        runCli([cmd[0]!, gz, ...cmd.slice(1)]),
        runCli([cmd[0]!, plain, ...cmd.slice(1)]),
      ]);
      expect(a.code, cmd[0]).toBe(b.code);
      if (cmd[0] === "info") expect(infoAnswers(a.stdout)).toEqual(infoAnswers(b.stdout));
      else expect(a.stdout, cmd[0]).toBe(b.stdout);
    }
    // A report of the .gz embeds the file as it is.
    const rep = await runCli(["report", gz]);
    expect(Buffer.compare(Buffer.from(findEmbeddedTrace(rep.stdout)!.bytes), bytes)).toBe(0);
  });

  it("gzipTrace is deterministic, readable by zlib, and embedTrace/findEmbeddedTrace round-trip any bytes", () => {
    const raw = readFileSync(AST);
    const a = gzipTrace(new Uint8Array(raw));
    expect(Buffer.compare(Buffer.from(gzipTrace(new Uint8Array(raw))), Buffer.from(a))).toBe(0);
    expect(Buffer.compare(gunzipSync(a), raw)).toBe(0);
    expect(gzipTrace(a)).toBe(a);
    const blob = new Uint8Array(5000).map((_, i) => (i * 7919) & 0xff);
    const back = findEmbeddedTrace(`text\n${embedTrace(blob, "x")}\nmore`, "t")!;
    expect(Buffer.compare(gunzipSync(back.bytes), Buffer.from(blob))).toBe(0);
    expect(back.name).toBe("x");
    expect(findEmbeddedTrace("no trace here")).toBeNull();
  });
});

// ---- the Mermaid sequence diagram ----

const SAFE = String.raw`(?:[A-Za-z0-9 .,:_()\[\]/=+\-→≠…']|#\d+;)+`;
const ID = "[TLP]\\d+";

/** The ```mermaid block of a report, checked line by line against the sequence diagram grammar we emit. */
function checkDiagram(md: string): { participants: Map<string, string>; lines: string[] } {
  const all = md.split("\n");
  const start = all.indexOf("```mermaid");
  expect(start, "a mermaid block").toBeGreaterThan(0);
  expect(all[start - 2]).toBe("### Sequence diagram");
  const end = all.indexOf("```", start + 1);
  const lines = all.slice(start + 1, end);
  expect(lines[0]).toBe("sequenceDiagram");
  const participants = new Map<string, string>();
  const declared = (id: string) => expect(participants.has(id), `${id} declared before use`).toBe(true);
  let messages = 0;
  for (const line of lines.slice(1)) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^    participant (${ID}) as (${SAFE})$`).exec(line))) {
      expect(participants.has(m[1]!), `${m[1]} declared once`).toBe(false);
      expect(messages, "participants come first").toBe(0);
      participants.set(m[1]!, m[2]!);
    } else if ((m = new RegExp(`^    (${ID})(->>|-->>|-x)(${ID}): ${SAFE}$`).exec(line))) {
      declared(m[1]!);
      declared(m[3]!);
      messages++;
    } else if ((m = new RegExp(`^    Note over (${ID})(?:,(${ID}))?: ${SAFE}$`).exec(line))) {
      declared(m[1]!);
      if (m[2]) declared(m[2]);
      messages++;
    } else throw new Error(`not a well-formed sequence diagram line: ${JSON.stringify(line)}`);
  }
  expect(messages).toBeGreaterThan(0);
  expect(messages).toBeLessThanOrEqual(41);
  expect(participants.size).toBeLessThanOrEqual(12);
  return { participants, lines };
}

describe("ktrace report: Mermaid sequence diagram", () => {
  it("shows the tcmalloc worker taking SlowTLS, the fork that copies it, and the violation", async () => {
    const r = await runCli(["report", "traces/tcmalloc-fork.ktrace"]);
    const { participants, lines } = checkDiagram(r.stdout);
    const slow = [...participants].find(([, label]) => label === "tcmalloc.SlowTLS (pid 1)")![0];
    expect(lines.some((l) => new RegExp(`^ {4}T2->>${slow}: \\d+: acquire$`).test(l))).toBe(true);
    expect(lines.some((l) => /^ {4}T1->>P2: \d+: fork → pid 2 \(tid 3\)$/.test(l))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(
      /^ {4}Note over T\d+: \d+: VIOLATION lock-owner-alive: .*tcmalloc\.SlowTLS/,
    );
  });

  it("is well formed for every example trace that fails", async () => {
    for (const t of ["asterinas-procfs", "cpython-fork-serenity", "rcore-kstack", "rcore-kstack--stack-flush"]) {
      const r = await runCli(["report", `traces/${t}.ktrace`]);
      expect(r.code, t).toBe(0);
      checkDiagram(r.stdout);
    }
    const ok = await runCli(["report", "traces/tcmalloc-fork--atfork-2.17.ktrace"]);
    expect(ok.stdout).not.toContain("```mermaid");
  });

  it("is well formed on imported traces: an imported lock wait 'waits', and the violation's thread is declared though no step drew it", async () => {
    const diagram = async (fixture: string) => {
      const t = join(dir, `${fixture.replace(/\W/g, "_")}.ktrace`);
      expect((await runCli(["import", `fixtures/import/${fixture}`, "-o", t])).code).toBe(0);
      const r = await runCli(["report", t]);
      expect(r.code).toBe(0);
      return checkDiagram(r.stdout);
    };
    const abba = await diagram("ftrace/lockdep-abba.txt");
    expect(abba.lines.filter((l) => / waits \(held by tid \d+\)$/.test(l))).toHaveLength(2);
    expect(abba.lines.some((l) => / spins /.test(l))).toBe(false);
    const missing = await diagram("real/tracefs-missing-switch.txt");
    expect(missing.participants.get("T19203")).toBe("tid 19203 (pid 19203)");
    expect(missing.lines.at(-1)).toMatch(/^ {4}Note over T19203: 48: VIOLATION switch-from-current: /);
  });

  it("escapes trace strings: a lock named to break out of the block stays inside it, as entity codes", async () => {
    const file = join(dir, "evil.ts");
    const evil = "a```\\n;#<b>x</b>-->>T1: end\\u001b[2J";
    writeFileSync(
      file,
      `export default (k) => k.defineScenario({ name: "evil", description: "AB-BA with odd lock names",
      build: () => { const A = "${evil}"; const B = "b%%{init}%%";
        const t = (x, y) => [k.lock(x), k.user("w"), k.lock(y), k.unlock(y), k.unlock(x)];
        return { procs: [{ name: "p", main: [k.thread(t(A, B)), ...t(B, A)] }] }; } });\n`,
    );
    const ex = JSON.parse((await runCli(["explore", file, "--seeds", "1..200", "--jobs", "1", "--json"])).stdout);
    const seed = ex.failing.find(
      (f: { violation: { invariant: string } | null }) => f.violation?.invariant === "no-deadlock",
    )?.seed;
    expect(seed, "some seed deadlocks").toBeDefined();
    const trace = join(dir, "evil.ktrace");
    expect((await runCli(["record", file, "--seed", String(seed), "-o", trace])).code).toBe(0);
    const r = await runCli(["report", trace]);
    const { participants, lines } = checkDiagram(r.stdout);
    const labels = [...participants.values()].join("\n");
    // The name holds a line break and an ESC (the scenario's string): a space, and the ESC shown as safeText shows it (\x1b, its backslash as #92;).
    expect(labels).toContain("a#96;#96;#96; #59;#35;#60;b#62;x#60;/b#62;--#62;#62;T1: end#92;x1b[2J (pid 1)");
    expect(labels).toContain("b#37;#37;#123;init#125;#37;#37;");
    for (const line of lines)
      expect(line.replace(/#\d+;/g, "").replace(/^( {4}[TLP]\d+)-?->>/, "$1")).not.toMatch(/[\u0000-\u001f`;#<>]/);
  });
});
