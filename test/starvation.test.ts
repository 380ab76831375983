// no-starvation (opt-in): at a budget end, a live thread that kept losing the
// race for what it waits on (a futex word woken and waited on again; a lock
// taken by another while it waits) for the window while other threads made
// progress. Not a thread that only waits, not a run that ends by itself, not
// a window the monitor did not see whole; off unless the world opts in or it
// is named.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KIND } from "../src/kernel/index.ts";
import { INVARIANTS, noStarvation } from "../src/replay/invariants.ts";
import { resolveScenario } from "../src/scenarios/index.ts";
import { runCli } from "./helpers/run-cli.ts";
import { replaySeed } from "./helpers/scenario-run.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-starvation-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A scenario file: `body` is build()'s object literal's text. */
function scenario(name: string, body: string, maxEvents = 6000): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(
    file,
    `export default (k) => k.defineScenario({
  name: "${name}", description: "starvation test", defaults: { seed: 1, cpus: 2, maxEvents: ${maxEvents} },
  build: () => (${body}),
});
`,
  );
  return file;
}

/** Two readers whose read sections overlap on a reader-preferring rwlock, and a writer (examples/rwlock-writer-starvation.ts, buggy). */
const READERS = (rules: string, loops = "Infinity") => `{
  ${rules}
  vars: { rw: { type: "int", sync: "rwlock" } },
  procs: [{ name: "p", main: [
    k.thread([k.repeat(${loops}, [k.rdlock("rw"), k.user("lookup", 12), k.rwUnlock("rw"), k.progress("lookup")])]),
    k.thread([k.repeat(${loops}, [k.rdlock("rw"), k.user("lookup", 12), k.rwUnlock("rw"), k.progress("lookup")])]),
    k.thread([k.repeat(${loops}, [k.user("prepare", 2), k.wrlock("rw"), k.user("update", 2), k.rwUnlock("rw"), k.progress("update")])]),
    k.join(2),
  ] }],
}`;

describe("no-starvation", () => {
  it("is opt-in: out of the default set, in it when the world sets rules.starvationCheck", async () => {
    expect(INVARIANTS).not.toContain(noStarvation);
    const off = await resolveScenario(scenario("off", READERS(""), 20_000));
    const on = await resolveScenario(
      scenario("on", READERS("rules: { starvationCheck: true, starvationWindow: 4000 },"), 20_000),
    );
    // seed 1 starves the writer (examples/rwlock-writer-starvation.ts): found only when the world opts in
    expect(replaySeed(off, 1).v).toBeNull();
    expect(replaySeed(on, 1).v?.invariant).toBe("no-starvation");
  });

  it("does not judge a thread that only waits, a run that ends by itself, or a window wider than the run saw", async () => {
    // The main thread joins a thread that loops for ever: it waits the whole run and loses no race.
    const joiner = await resolveScenario(
      scenario(
        "joiner",
        `{ rules: { starvationCheck: true, starvationWindow: 500 },
           procs: [{ name: "p", main: [k.thread([k.repeat(Infinity, [k.user("work", 3), k.progress("work")])]), k.join(2)] }] }`,
      ),
    );
    const j = replaySeed(joiner, 1);
    expect(j.evs.at(-1)!.kind).toBe(KIND.end);
    expect(j.v).toBeNull();
    // The barging scenario with a bounded loop ends ok: nothing to judge.
    const bounded = await resolveScenario(
      scenario("bounded", READERS("rules: { starvationCheck: true, starvationWindow: 500 },", "60"), 100_000),
    );
    for (let seed = 1; seed <= 10; seed++) expect(replaySeed(bounded, seed).evs.at(-1)!.a).toBe(0); // ok
    for (let seed = 1; seed <= 10; seed++) expect(replaySeed(bounded, seed).v).toBeNull();
    // The window is at most half the run: on seed 1 (20,000 events) the writer has been quiet for 8,868 events,
    // within a window of 8,000 but not of the 9,999 that a window of 50,000 comes down to.
    const within = await resolveScenario(
      scenario("within", READERS("rules: { starvationCheck: true, starvationWindow: 8000 },"), 20_000),
    );
    expect(replaySeed(within, 1).v?.message).toMatch(
      /^tid 4 \(pid 1\) starves: no progress since seq 11131 \(8868 events\)/,
    );
    const wide = await resolveScenario(
      scenario("wide", READERS("rules: { starvationCheck: true, starvationWindow: 50000 },"), 20_000),
    );
    expect(replaySeed(wide, 1).v).toBeNull();
  });

  it("check runs it on any trace when named; a scenario's window is validated", async () => {
    // Recorded without the rule: the default check finds nothing, --also no-starvation finds the writer (the default window: half the run).
    const file = scenario("named", READERS(""), 40_000);
    const trace = join(dir, "named.ktrace");
    expect((await runCli(["record", file, "--seed", "1", "-o", trace])).code).toBe(0);
    expect((await runCli(["check", trace])).code).toBe(0);
    const c = await runCli(["check", trace, "--also", "no-starvation", "--json"]);
    expect(c.code).toBe(1);
    const v = JSON.parse(c.stdout).violation as { invariant: string; kind: string; message: string };
    expect([v.invariant, v.kind]).toEqual(["no-starvation", "end"]);
    expect(v.message).toMatch(
      /^tid 4 \(pid 1\) starves: .* while tids 2, 3 made progress in the last 10000 events; it lost the race for rwlock rw \d+ times? in them/,
    );
    // A report says which opt-in checks the run's world set, with the window.
    const opted = scenario("opted", READERS("rules: { starvationCheck: true, starvationWindow: 4000 },"), 20_000);
    const optedTrace = join(dir, "opted.ktrace");
    expect((await runCli(["record", opted, "--seed", "1", "-o", optedTrace])).code).toBe(0);
    const md = join(dir, "opted.md");
    expect((await runCli(["report", optedTrace, "-o", md])).code).toBe(0);
    expect(readFileSync(md, "utf8")).toContain("| opt-in checks | no-starvation (window 4,000 events) |");
    const bad = scenario(
      "bad-window",
      `{ rules: { starvationCheck: true, starvationWindow: 0 }, procs: [{ name: "p", main: [k.user("x")] }] }`,
    );
    const r = await runCli(["record", bad, "-o", join(dir, "bad.ktrace")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/starvationWindow must be an integer >= 1/);
  });
});
