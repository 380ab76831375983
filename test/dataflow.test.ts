// Where the values a failed check read came from (src/replay/dataflow.ts):
// the causes `check`, the report and the TUI give an `assertions` violation.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runSeed } from "../src/explore/index.ts";
import { newChecker } from "../src/explore/seed.ts";
import * as k from "../src/kernel/index.ts";
import { KIND, type Op } from "../src/kernel/index.ts";
import { checkReads } from "../src/replay/dataflow.ts";
import { violationReport } from "../src/replay/explain.ts";
import { firstViolation } from "../src/replay/scan.ts";
import { MemorySource } from "../src/replay/source.ts";
import { resolveScenario } from "../src/scenarios/index.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { storeFor } from "./helpers/tui.ts";
import { worldOf } from "./helpers/world.ts";

const r = k.r;

function failing(
  procs: Op[][],
  o: { cpus?: number; vars?: NonNullable<Parameters<typeof worldOf>[1]>["vars"] },
  seeds = 200,
) {
  const world = worldOf(procs, { cpus: o.cpus ?? 2, vars: o.vars ?? {} });
  for (let seed = 1; seed <= seeds; seed++) {
    const src = MemorySource.record(world, { seed, maxEvents: 5_000 }, { meta: { world } });
    const res = firstViolation(src, ["assertions"]);
    if (res.violation) return { src, rep: violationReport(src, res.violation, res.state ?? undefined) };
  }
  throw new Error("no seed fails");
}

describe("dataflow of a failed check", () => {
  it("a value a call returned: the call's failure, and for ECHILD the reap that took the child first, in its SIGCHLD handler", () => {
    // system() racing a SIGCHLD reaper (one cpu: the child exits before the parent's waitpid on some seeds).
    const { rep } = failing(
      [
        [
          k.sigaction("SIGCHLD", [
            k.set("reaped", 1),
            k.loopWhile(k.gt(r("reaped"), 0), { max: Infinity }, [k.waitpid("any", { nohang: true, ret: "reaped" })]),
          ]),
          k.fork([k.user("run the command", 2), k.exit(0)], { pid: "cmd" }),
          k.user("system(): ignore SIGINT and SIGQUIT", 2),
          k.waitpid(r("cmd"), { ret: "ret" }),
          k.assert(k.eq(r("ret"), r("cmd")), "waitpid found its child"),
        ],
      ],
      { cpus: 1 },
    );
    const by = (kind: string) => rep.causes.filter((c) => c.kind === kind);
    expect(by("reg-set").map((c) => [c.desc, c.why])).toEqual([
      ["tid 1: cmd = 2", "sets cmd, which the check reads"],
      ["tid 1: ret = -10", "sets ret, which the check reads"],
    ]);
    expect(by("errno").map((c) => c.why)).toEqual(["the call that returned ret failed: ECHILD"]);
    expect(by("reap").map((c) => c.why)).toEqual([
      "pid 2 was reaped here, before the call (in tid 1's SIGCHLD handler)",
    ]);
    expect(by("signal-deliver").map((c) => c.why)).toEqual(["tid 1 took SIGCHLD: its handler reaped pid 2"]);
    // oldest first, each before the violation
    const seqs = rep.causes.map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs.every((q) => q < rep.seq)).toBe(true);
  });

  it("a variable the check tests: the thread's load of it, and the write whose value the load read", () => {
    const { rep } = failing(
      [[k.thread([k.store("x", 7)]), k.user("work", 2), k.assert(k.eq(k.v("x"), 0), "x is still 0")]],
      { vars: { x: { type: "int" } } },
    );
    const load = rep.causes.find((c) => c.kind === "load")!;
    expect(load.why).toBe("reads x, which the check tests");
    const store = rep.causes.find((c) => c.kind === "store")!;
    expect(store.why).toBe(`wrote the value the load at ${load.seq} read`);
    expect(store.seq).toBeLessThan(load.seq);
  });

  it("a stolen wakeup: the wake of the failing thread, and the other thread's change of the value between it and the read", () => {
    // Two consumers, `if` instead of `while` around pthread_cond_wait: a consumer that never waited takes the item
    // the woken one was signalled for.
    const consume: Op[] = [
      k.lock("q"),
      k.when(k.eq(k.v("items"), 0), [k.cvWait("nonempty", "q")]),
      k.load("n", "items"),
      k.assert(k.gt(r("n"), 0), "queue not empty"),
      k.store("items", k.sub(r("n"), 1)),
      k.unlock("q"),
    ];
    const produce: Op[] = [
      k.lock("q"),
      k.load("m", "items"),
      k.store("items", k.add(r("m"), 1)),
      k.cvSignal("nonempty"),
      k.unlock("q"),
    ];
    const { rep } = failing(
      [[k.thread(consume), k.thread(consume), k.repeat(2, [k.user("produce", 2), ...produce])]],
      { vars: { nonempty: k.condvar(), items: { type: "int" } } },
      600,
    );
    const load = rep.causes.find((c) => c.kind === "load" && c.why === "sets n, which the check reads")!;
    const taken = rep.causes.find(
      (c) => c.kind === "store" && c.why === `wrote the value the load at ${load.seq} read`,
    )!;
    const wake = rep.causes.find((c) => c.kind === "wake")!;
    expect(wake.seq).toBeLessThan(taken.seq);
    expect(wake.why).toMatch(
      new RegExp(
        `^tid (\\d+) was woken here by tid \\d+ \\(futex_wake on nonempty\\); tid (\\d+) changed items \\(1 → 0\\) at ${taken.seq}, after this wakeup and before tid \\1 read it at ${load.seq}: what the wakeup announced no longer held when tid \\1 ran \\(a woken waiter tests its condition again: while, not if\\)$`,
      ),
    );
  });

  it("a variable never written before the read: its initial value, and the write that came only after (a sleep orders nothing)", () => {
    // A child checks a kernel flag its parent sets after a while; the child's sleep is meant to wait for it.
    const { rep } = failing(
      [
        [
          k.fork([k.sleep(300), k.load("f", "flag"), k.assert(k.eq(r("f"), 1), "flag set")], { pid: "c" }),
          k.user("work", 30),
          k.store("flag", 1),
          k.waitpid(r("c")),
        ],
      ],
      { vars: { flag: { type: "int", scope: "kernel" } } },
    );
    const load = rep.causes.find((c) => c.kind === "load")!;
    const init = rep.causes.find((c) => c.kind === "var-new")!;
    expect(init.why).toBe(
      `flag still held its initial value 0 when the load at ${load.seq} read it: no thread had written it`,
    );
    const late = rep.causes.find((c) => c.kind === "store")!;
    expect(late.seq).toBeGreaterThan(rep.seq);
    expect(late.why).toBe(
      `tid 1 wrote flag (0 → 1) only here, after the read at ${load.seq}: nothing made the read wait for this write (a sleep or a delay orders nothing)`,
    );
  });

  it("a value another thread was to change: its failed call after the write (ETIMEDOUT) and the wakeup that found no waiter", () => {
    // A worker waits for a job with pthread_cond_timedwait and, on ETIMEDOUT, takes no job without looking again.
    const { rep } = failing(
      [
        [
          k.thread(
            [
              k.lock("m"),
              k.load("q", "jobs"),
              k.when(k.eq(r("q"), 0), [
                k.cvWait("cv", "m", { timeout: 3_000, ret: "rc" }),
                k.when(k.eq(r("rc"), 0), [k.load("q", "jobs")], [k.set("q", 0)]),
              ]),
              k.when(k.ne(r("q"), 0), [k.store("jobs", k.sub(k.v("jobs"), 1))]),
              k.unlock("m"),
            ],
            { tid: "w" },
          ),
          k.sleep(2_900),
          k.lock("m"),
          k.store("jobs", 1),
          k.cvSignal("cv"),
          k.unlock("m"),
          k.join(r("w")),
          k.load("j", "jobs"),
          k.assert(k.eq(r("j"), 0), "no job left behind"),
        ],
      ],
      { vars: { jobs: { type: "int" }, cv: k.condvar() } },
    );
    const gaveUp = rep.causes.find((c) => c.kind === "errno")!;
    expect(gaveUp.desc).toBe("tid 2: pthread_cond_timedwait(cv) fails: ETIMEDOUT");
    expect(gaveUp.why).toBe(
      "tid 2's last call that failed after the values the check read were written: ETIMEDOUT; a thread that gave up may have left a value as it was",
    );
    const lost = rep.causes.find((c) => c.kind === "futex-wake")!;
    expect(lost.why).toBe(
      `this wakeup found no waiter: tid 2's timed wait on the word had timed out (it returns ETIMEDOUT at ${gaveUp.seq})`,
    );
    expect(lost.seq).toBeLessThan(gaveUp.seq);
  });

  it("a lock whose owner died: the owner's acquire, and the SIGKILL that killed it (its send and delivery), for no-deadlock and lock-owner-alive", () => {
    const world = worldOf(
      [
        [
          k.fork([k.lock("shm.lock"), k.user("update shared table", 6), k.unlock("shm.lock")], { pid: "a" }),
          k.fork([k.user("start", 3), k.lock("shm.lock"), k.user("read table"), k.unlock("shm.lock")], { pid: "b" }),
          k.user("supervise", 2),
          k.kill(r("a"), "SIGKILL"),
          k.waitpid(r("a")),
          k.waitpid(r("b")),
        ],
      ],
      { cpus: 2, locks: { "shm.lock": { type: "mutex", scope: "kernel" } } },
    );
    const seen = new Set<string>();
    for (let seed = 1; seed <= 100 && seen.size < 2; seed++) {
      const src = MemorySource.record(world, { seed, maxEvents: 5_000 }, { meta: { world } });
      const res = firstViolation(src, ["no-deadlock", "lock-owner-alive"]);
      const v = res.violation;
      if (!v || seen.has(v.invariant)) continue;
      seen.add(v.invariant);
      const rep = violationReport(src, v, res.state ?? undefined);
      const by = (kind: string) => rep.causes.filter((c) => c.kind === kind).map((c) => c.why);
      expect(by("signal"), v.invariant).toEqual(["the SIGKILL that killed tid 2"]);
      expect(by("signal-deliver"), v.invariant).toEqual([
        "tid 2 took SIGKILL here, whose default action killed its process while it held shm.lock",
      ]);
      // the acquire, said once (lock-owner-alive's own cause is it)
      expect(
        by("lock-acquire").filter((w) => w.includes("shm.lock")),
        v.invariant,
      ).toEqual([
        v.invariant === "no-deadlock"
          ? "tid 2 took shm.lock here and never released it: it exited holding it"
          : "tid 2 took shm.lock",
      ]);
    }
    expect([...seen].sort()).toEqual(["lock-owner-alive", "no-deadlock"]);
  });

  it("a lock whose owner died with its process: another thread's exit() took it down (the owner gone from the state)", () => {
    const world = worldOf(
      [
        [
          k.fork(
            [
              k.thread([k.lock("shm.lock"), k.user("long update", 20), k.unlock("shm.lock")]),
              k.user("main work", 3),
              k.exit(1),
            ],
            { pid: "a" },
          ),
          k.fork([k.user("start", 6), k.lock("shm.lock"), k.unlock("shm.lock")], { pid: "b" }),
          k.waitpid(r("a")),
          k.waitpid(r("b")),
        ],
      ],
      { cpus: 2, locks: { "shm.lock": { type: "mutex", scope: "kernel" } } },
    );
    let rep: ReturnType<typeof violationReport> | undefined;
    for (let seed = 1; seed <= 100 && rep === undefined; seed++) {
      const src = MemorySource.record(world, { seed, maxEvents: 5_000 }, { meta: { world } });
      const res = firstViolation(src, ["lock-owner-alive"]);
      if (res.violation) rep = violationReport(src, res.violation, res.state ?? undefined);
    }
    expect(rep!.message).toMatch(/^tid 3 \(pid 3\) blocks on shm\.lock held by tid 4, which no longer exists/);
    expect(rep!.causes.filter((c) => c.kind === "exit-group").map((c) => c.why)).toEqual([
      "tid 2's exit() took every thread of pid 2 down, tid 4 with shm.lock held",
    ]);
  });

  it("a value written by a thread killed before it finished: the exit() that took it down after its write", () => {
    // main returns while a detached worker is between its two counters (in shared memory).
    const { rep } = failing(
      [
        [
          k.fork(
            [
              k.thread(
                [k.repeat(3, [k.fetchAdd("records", 1), k.user("write record", 2), k.fetchAdd("committed", 1)])],
                {
                  detached: true,
                },
              ),
              k.user("main work", 4),
            ],
            { pid: "app" },
          ),
          k.waitpid(r("app")),
          k.load("rr", "records"),
          k.load("cc", "committed"),
          k.assert(k.eq(r("rr"), r("cc")), "every record started was committed"),
        ],
      ],
      { vars: { records: { type: "int", scope: "kernel" }, committed: { type: "int", scope: "kernel" } } },
    );
    const write = rep.causes.find((c) => c.kind === "fetch-add" && c.why.startsWith("wrote the value"))!;
    const killed = rep.causes.find((c) => c.kind === "exit-group")!;
    expect(killed.why).toMatch(
      new RegExp(
        `^tid 2's exit\\(\\) took every thread of pid 2 down here, tid 3 with it, after its write at ${write.seq}: what it was to do after that write was not done$`,
      ),
    );
    expect(killed.seq).toBeGreaterThan(write.seq);
  });

  it("finds the check by the message the kernel prints for it, in any nested body, and reads only its condition", () => {
    const world = worldOf(
      [
        [
          k.set("a", 1),
          k.when(k.eq(r("a"), 1), [k.repeat(2, [k.assert(k.eq(r("b"), k.v("y")), "deep")])]),
          k.bugOn(k.gt(r("c"), 0), "mm/x.c:10"),
          k.assert(k.eq(r("z"), 0), "other"),
        ],
      ],
      { vars: { y: { type: "int" } } },
    );
    expect(checkReads(world, "Assertion `deep' failed.", false)).toEqual({
      regs: new Set(["b"]),
      vars: new Set(["y"]),
    });
    expect(checkReads(world, "assertion failed: deep", true).regs).toEqual(new Set(["b"]));
    expect(checkReads(world, "kernel BUG at mm/x.c:10!", false).regs).toEqual(new Set(["c"]));
    expect(checkReads(world, "Assertion `nothing' failed.", false)).toEqual({ regs: new Set(), vars: new Set() });
  });
});

describe("in the replay UI", () => {
  it("`e` on the first violation's event says what it breaks and what set it up, and jumps to where the bad value came from", async () => {
    // examples/procfs-vmar.ts seed 3: the status read unwrap()s pid 2's vmar, which its exit had set to None.
    const c = await storeFor(join(REPO_ROOT, "examples", "procfs-vmar.ts"), { seed: 3 });
    const v = c.engine.cursor.firstViolation()!;
    const x = c.engine.explain("events", v.seq)!;
    const at = x.lines.findIndex((l) =>
      l.startsWith("✗ it breaks assertions: tid 1 (pid 1) in kernel mode: called `Option::unwrap()`"),
    );
    expect(at).toBeGreaterThan(0);
    expect(x.lines[at + 1]).toBe("set up by:");
    const set = x.lines.slice(at + 2).join("\n");
    expect(set).toMatch(
      /seq \d+ {2}store: wrote the value the load at \d+ read\n {6}event: tid 2 stores vmar \(pid 2's kernel struct\): &vmar#1 → None/,
    );
    expect(set).toMatch(/seq \d+ {2}load: reads vmar, which the check tests/);
    // the jump goes to the store that set vmar to None
    expect(x.lines.join("\n")).toContain(`seq ${x.seq}  store:`);
  });

  it("`e` on a failed check that is not the first violation: where the values it read came from", async () => {
    // fixtures/scenarios/flag.ts: a data race on `claimed` comes first; on some seeds the job runs twice and its own assert fails.
    const sc = await resolveScenario(join(REPO_ROOT, "fixtures", "scenarios", "flag.ts"));
    let seed = 0;
    for (let q = 1; q <= 300 && seed === 0; q++) {
      const r = runSeed(sc, {}, q, newChecker());
      if (r.outcome.kind === "fatal") seed = q;
    }
    expect(seed).toBeGreaterThan(0);
    const c = await storeFor(join(REPO_ROOT, "fixtures", "scenarios", "flag.ts"), { seed });
    const v = c.engine.cursor.firstViolation()!;
    expect(v.invariant).toBe("data-race");
    const src = c.engine.cursor.source;
    let at = -1;
    for (let q = v.seq + 1; q < src.eventCount && at < 0; q++)
      if (c.engine.cursor.eventAt(q).kind === KIND.assertFail) at = q;
    expect(at).toBeGreaterThan(v.seq);
    const x = c.engine.explain("events", at)!;
    const i = x.lines.indexOf("where the values the check read came from:");
    expect(i).toBeGreaterThan(0);
    expect(x.lines.slice(i + 1).join("\n")).toMatch(
      /reads runs, which the check tests|sets \S+, which the check reads/,
    );
  });
});

describe("lost updates behind a scenario's own invariant", () => {
  it("fixtures/scenarios/counter.ts seed 1: counter-exact at the exit names both lost increments, each with the write it overwrote", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-dataflow-"));
    try {
      const t = join(dir, "counter.ktrace");
      expect((await runCli(["record", "fixtures/scenarios/counter.ts", "--seed", "1", "-o", t])).code).toBe(0);
      const r = await runCli(["check", t, "--invariant", "counter-exact", "--json"]);
      expect(r.code).toBe(1);
      const v = JSON.parse(r.stdout).violation as {
        message: string;
        causes: { seq: number; why: string; desc: string }[];
      };
      expect(v.message).toBe("an update was lost: the counter should end at 6 (counter = 4 in pid 1)");
      const lost = v.causes.filter((c) => c.why.startsWith("a lost update: "));
      expect(lost.map((c) => [c.desc, c.why])).toEqual([
        [
          "tid 2 stores counter: 2 → 2",
          "a lost update: tid 2 read counter = 1 at 12, and tid 1 wrote it at 13 before this store",
        ],
        [
          "tid 2 stores counter: 3 → 3",
          "a lost update: tid 2 read counter = 2 at 17, and tid 1 wrote it at 19 before this store",
        ],
      ]);
      const over = v.causes.filter((c) => /^tid 1's write of counter, which tid 2 overwrote at \d+$/.test(c.why));
      expect(over.map((c) => c.seq)).toEqual([13, 19]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("examples/eintr-read.ts seed 0: a total short because the loop stopped: the read that failed with EINTR after the last write, and the SIGCHLD behind it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-dataflow-"));
    try {
      const t = join(dir, "eintr.ktrace");
      expect((await runCli(["record", "examples/eintr-read.ts", "--seed", "0", "-o", t])).code).toBe(0);
      const r = await runCli(["check", t, "--json"]);
      expect(r.code).toBe(1);
      const v = JSON.parse(r.stdout).violation as { causes: { seq: number; why: string; desc: string }[] };
      expect(v.causes.map((c) => [c.desc, c.why])).toEqual([
        ["tid 1 stores total: 16 → 32", "wrote the value the load at 66 read"],
        ["tid 1 takes SIGCHLD (sent at seq 57): its handler runs", "the SIGCHLD that interrupted the call"],
        [
          "tid 1: read(3, 16) fails: EINTR",
          "the thread's last call that failed after the values the check read were written: EINTR",
        ],
        ["tid 1 loads total = 32 into got", "sets got, which the check reads"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("examples/sem-eintr.ts: a scenario invariant broken at a write names the other thread's write it changed and the failed calls before them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-dataflow-"));
    try {
      const whys = async (seed: number) => {
        const t = join(dir, `sem-${seed}.ktrace`);
        expect((await runCli(["record", "examples/sem-eintr.ts", "--seed", String(seed), "-o", t])).code).toBe(0);
        const r = await runCli(["check", t, "--json"]);
        expect(r.code).toBe(1);
        const v = JSON.parse(r.stdout).violation as {
          seq: number;
          causes: { seq: number; why: string; desc: string }[];
        };
        return v.causes.filter((c) => c.seq < v.seq && / write|failed/.test(c.why)).map((c) => [c.desc, c.why]);
      };
      // seed 9: tid 3's sem_wait failed with EINTR and it went in; tid 1 then took the semaphore and went in too
      expect(await whys(9)).toEqual([
        ["tid 3: sem_wait(s) fails: EINTR", "tid 3's last call that failed before its write of inside at 97"],
        ["tid 3 fetch-adds inside: 0 → 1", "tid 3's write of inside: the value tid 1's write at 99 changed"],
      ]);
      // seed 13: tid 1 was inside when tid 3's sem_wait failed and it went in
      expect(await whys(13)).toEqual([
        ["tid 1 fetch-adds inside: 0 → 1", "tid 1's write of inside: the value tid 3's write at 64 changed"],
        ["tid 3: sem_wait(s) fails: EINTR", "tid 3's last call that failed before this write of inside"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a deadlock on a read-write lock names who holds it (the kernel keeps no owner): the cas that took each read lock, or the write lock", () => {
    const ownCauses = (rep: ReturnType<typeof violationReport>) =>
      rep.causes.filter((c) => / holds /.test(c.why)).map((c) => [c.desc, c.why.slice(c.why.lastIndexOf("tid "))]);
    const deadlock = (procs: Op[][]) => {
      const world = worldOf(procs, { cpus: 2, vars: { rw: k.rwlock() } });
      for (let seed = 1; seed <= 50; seed++) {
        const src = MemorySource.record(world, { seed, maxEvents: 5_000 }, { meta: { world } });
        const res = firstViolation(src, ["no-deadlock"]);
        if (res.violation) return violationReport(src, res.violation, res.state ?? undefined);
      }
      throw new Error("no seed fails");
    };
    // A reader "upgrades" in place: its wrlock waits for its own read lock.
    const self = deadlock([[k.rdlock("rw"), k.wrlock("rw"), k.rwUnlock("rw"), k.rwUnlock("rw")]]);
    expect(ownCauses(self)).toEqual([
      [
        "tid 1 compare-and-swaps rw: 0 → 1; $rw = 0",
        "tid 1 holds rw for reading, and waits on it: for its own lock to go",
      ],
    ]);
    // A writer that waits for a reader to finish while holding the write lock: the reader waits on the writer.
    const writer = deadlock([
      [
        k.wrlock("rw"),
        k.thread([k.rdlock("rw"), k.rwUnlock("rw")], { tid: "reader" }),
        k.join(r("reader")),
        k.rwUnlock("rw"),
      ],
    ]);
    expect(ownCauses(writer)).toEqual([["tid 1 compare-and-swaps rw: 0 → -1; $rw = 0", "tid 1 holds rw for writing"]]);
    // A thread that unlocked a read lock it did not hold: the counts do not add up to the word, and no holder is guessed.
    const unbalanced = deadlock([
      [k.rdlock("rw"), k.rdlock("rw"), k.thread([k.rwUnlock("rw"), k.wrlock("rw")], { tid: "t" }), k.join(r("t"))],
    ]);
    expect(unbalanced.message).toMatch(/waits on rwlock rw|blocks in join/);
    expect(ownCauses(unbalanced)).toEqual([]);
  });
});
