// A wait on a word in a process's user memory that only a forked child would
// end: the child posts its own copy (fork copies user memory), so the wait can
// never end, and no-deadlock says why, naming the child; with the word in
// kernel memory (shared) the post reaches the parent and nothing is reported.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KIND } from "../src/kernel/index.ts";
import { resolveScenario } from "../src/scenarios/index.ts";
import { replaySeed } from "./helpers/scenario-run.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-waits-fork-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function semFork(scope: string): string {
  const file = join(dir, `sem-fork-${scope || "user"}.ts`);
  writeFileSync(
    file,
    `export default (k) => k.defineScenario({
  name: "sem-fork", description: "a child posts a semaphore its parent waits on", defaults: { seed: 1, cpus: 2 },
  build: () => ({
    vars: { ready: k.semaphore(0${scope ? `, { scope: "${scope}" }` : ""}) },
    procs: [{ name: "parent", main: [
      k.fork([k.user("child: set up"), k.semPost("ready"), k.user("child: serve", 3)]),
      k.semWait("ready"), k.user("parent: go on"), k.waitpid("child"),
    ] }],
  }),
});
`,
  );
  return file;
}

describe("no-deadlock: a word in user memory that only a forked child would wake", () => {
  it("names the child and its own copy of the memory", async () => {
    const sc = await resolveScenario(semFork(""));
    for (let seed = 1; seed <= 5; seed++) {
      const r = replaySeed(sc, seed);
      expect(r.v?.invariant, `seed ${seed}`).toBe("no-deadlock");
      const fork = r.evs.find((e) => e.kind === KIND.fork)!;
      expect(r.v!.message).toBe(
        `tid 1 (pid 1) waits on semaphore ready, which can never return: no other thread of pid 1 is left to wake it; pid 2 (forked at seq ${fork.seq}) has its own copy of pid 1's user memory, where a wake of ready does not reach this one (a word shared across fork lives in kernel memory: scope "kernel", as pshared in a MAP_SHARED mapping)`,
      );
    }
  });

  it("with the semaphore in kernel memory the child's post reaches the parent", async () => {
    const sc = await resolveScenario(semFork("kernel"));
    for (let seed = 1; seed <= 5; seed++) expect(replaySeed(sc, seed).v, `seed ${seed}`).toBeNull();
  });
});
