// The events `check` lists as leading to a violation are described as `ktrace events`
// describes them: each with the state just after it, not with the state at the violation.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-explain-"));

describe("violation report", () => {
  it("describes each earlier event with the state after it (a lock-wait names the owner then)", async () => {
    const file = join(dir, "two-consumers.ktrace");
    const rec = await runCli(["record", "fixtures/scenarios/two-consumers.ts", "--seed", "1", "-o", file]);
    expect(rec.code).toBe(0);
    const check = await runCli(["check", file, "--json"]);
    expect(check.code).toBe(1);
    const v = JSON.parse(check.stdout).violation;
    expect(v.invariant).toBe("assertions");
    const events = await runCli(["events", file, "--json"]);
    const byseq = new Map<number, string>(
      events.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .map((e: { seq: number; desc: string }) => [e.seq, e.desc]),
    );
    const earlier: { seq: number; desc: string }[] = [...v.causes, ...v.context];
    expect(earlier.length).toBeGreaterThan(0);
    for (const e of earlier) expect(e.desc, `seq ${e.seq}`).toBe(byseq.get(e.seq));
    // The case that was wrong: the consumer's lock-wait, while the other consumer held the mutex.
    const wait = earlier.find((e) => / blocks on m, held by tid \d+$/.test(e.desc));
    expect(wait).toBeDefined();
    const [, waiter, owner] = / tid (\d+) blocks on m, held by tid (\d+)/.exec(` ${wait!.desc}`)!;
    expect(owner).not.toBe(waiter);

    // diff's events common to both runs before the divergence: described the same way (by name, not by id).
    const other = join(dir, "two-consumers-3.ktrace");
    expect((await runCli(["record", "fixtures/scenarios/two-consumers.ts", "--seed", "3", "-o", other])).code).toBe(0);
    const diff = await runCli(["diff", file, other, "--json"]);
    const common: { seq: number; desc: string }[] = JSON.parse(diff.stdout).divergence.common;
    expect(common.length).toBeGreaterThan(0);
    for (const e of common) expect(e.desc, `diff, seq ${e.seq}`).toBe(byseq.get(e.seq));

    // The report's table and its sequence diagram name each wait's owner then.
    const md = join(dir, "two-consumers.md");
    expect((await runCli(["report", file, "-o", md])).code).toBe(0);
    const text = readFileSync(md, "utf8");
    const owners = [
      ...[...text.matchAll(/^\| (\d+) \|.*\| lock-wait \| tid \d+ blocks on m, held by tid (\d+) \|/gm)],
      ...[...text.matchAll(/-->>L\d+: (\d+): blocks \(held by tid (\d+)\)/g)],
    ];
    expect(owners.length).toBeGreaterThan(2);
    for (const [, seq, owner] of owners)
      expect(byseq.get(Number(seq)), `report, seq ${seq}`).toMatch(new RegExp(`held by tid ${owner}$`));
  });

  it("a wait inside a signal handler says so, with the delivery that began the handler among the causes", async () => {
    const file = join(dir, "self-pipe.ktrace");
    expect((await runCli(["record", "fixtures/scenarios/self-pipe.ts", "--seed", "2", "-o", file])).code).toBe(0);
    const check = await runCli(["check", file, "--json"]);
    expect(check.code).toBe(1);
    const v = JSON.parse(check.stdout).violation;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.message).toMatch(
      /^tid (\d+) \(pid 1\) in its SIGUSR1 handler blocks writing pipe 1 \(full\), which can never return: its read end is still open in pid 1 \(fd 3\), whose threads cannot run: tid (\d+) \(pid 1\) in its SIGUSR1 handler blocks writing pipe 1 \(full\)$/,
    );
    const deliveries = v.causes.filter((c: { kind: string }) => c.kind === "signal-deliver");
    // Each delivery plays two parts: the handler the thread waits in, and why the kernel gave tid 2 the second
    // SIGUSR1 (tid 1 had it blocked while its handler for the first ran).
    expect(
      deliveries.map((c: { why: string }) => c.why.replace(/^tid \d+/, "tid N").replace(/ at \d+/, " at S")),
    ).toEqual([
      "tid N took SIGUSR1 (sent by tid 2) and waits inside its handler; tid 1 runs its SIGUSR1 handler from here, with SIGUSR1 blocked while it runs, so the kernel gave the SIGUSR1 sent to pid 1 at S to tid 2",
      "tid N took SIGUSR1 (sent by tid 2) and waits inside its handler; tid 2 runs its SIGUSR1 handler from here: the SIGUSR1 sent to pid 1 at S went to it (tid 1 blocks it)",
    ]);
  });
});
