// The lock-order invariant (src/replay/lock-order.ts): an AB-BA (or longer)
// cycle in the order locks are taken is reported at the attempt that closes
// it, on a run that does not hang; trylocks, recursive re-entry, one class
// nested in itself and a consistent order are not; it is opt-in.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as k from "../src/kernel/index.ts";
import { KIND, type LockDecl, type Op } from "../src/kernel/index.ts";
import { firstViolation, MemorySource, selectFor, type Violation } from "../src/replay/index.ts";
import { runCli } from "./helpers/run-cli.ts";
import { runWorld, type WorldRun } from "./helpers/world.ts";

const ON = { lockOrder: true };

/** One process: `threads` as its threads, then main's own ops, then a sleep long enough for the threads to finish before its exit. */
function run(threads: Op[][], main: Op[], o: { rules?: object; locks?: Record<string, LockDecl>; seed?: number } = {}) {
  return runWorld([[...threads.map((t) => k.thread(t)), ...main, k.sleep(500_000)]], { cpus: 2, ...o });
}

/** The acquires of user locks (not the kernel's: exit takes the process's VMAR lock). */
const acquires = (r: WorldRun) => r.evs.filter((e) => e.kind === KIND.lockAcquire && r.st.locks.get(e.a)!.space > 0);

/** The run's first violation: its default set, or the invariants named. */
function check(r: WorldRun, names?: string[]): Violation | null {
  return firstViolation(MemorySource.fromEvents(r.w.config, r.evs), names).violation;
}

const pair = (a: string, b: string): Op[] => [k.lock(a), k.user(`in ${a}`), k.lock(b), k.unlock(b), k.unlock(a)];

describe("lock-order", () => {
  it("finds an AB-BA on a run that does not hang, at the acquire that closes the cycle, with both orders' acquires as causes", () => {
    // The thread takes a then b and is done before main (asleep) takes b then a: no hang, no wait.
    const r = run([pair("accounts.a", "accounts.b")], [k.sleep(50_000), ...pair("accounts.b", "accounts.a")], {
      rules: ON,
    });
    expect(r.st.outcome?.kind ?? "ok").toBe("ok");
    expect(r.evs.some((e) => e.kind === KIND.lockWait)).toBe(false);
    const v = check(r)!;
    expect(v.invariant).toBe("lock-order");
    expect(v.event.kind).toBe(KIND.lockAcquire);
    const acq = acquires(r);
    const name = (e: k.KEvent) => r.st.locks.get(e.a)!.name;
    // The thread's two acquires, then main's: b, then a (the one reported).
    expect(acq.map((e) => [e.tid, name(e)])).toEqual([
      [2, "accounts.a"],
      [2, "accounts.b"],
      [1, "accounts.b"],
      [1, "accounts.a"],
    ]);
    expect(v.seq).toBe(acq[3]!.seq);
    expect(v.message).toBe(
      `lock order inversion (potential deadlock): tid 1 (pid 1) takes accounts.a while holding accounts.b; tid 2 (pid 1) took accounts.b while holding accounts.a (at seq ${acq[1]!.seq})`,
    );
    expect(v.causes).toEqual([
      { seq: acq[0]!.seq, why: "tid 2 took accounts.a" },
      {
        seq: acq[1]!.seq,
        why: "tid 2 took accounts.b while holding accounts.a: accounts.a before accounts.b",
      },
      { seq: acq[2]!.seq, why: "tid 1 took accounts.b" },
    ]);
    // Named, it runs whatever the world's rules.
    const off = run([pair("accounts.a", "accounts.b")], [k.sleep(50_000), ...pair("accounts.b", "accounts.a")]);
    expect(check(off)).toBeNull();
    expect(check(off, ["lock-order"])?.seq).toBe(v.seq);
  });

  it("a three-lock cycle: the whole chain, at the attempt that closes it", () => {
    const r = run([pair("a", "b"), [k.sleep(20_000), ...pair("b", "c")]], [k.sleep(40_000), ...pair("c", "a")], {
      rules: ON,
    });
    expect(r.st.outcome?.kind ?? "ok").toBe("ok");
    const v = check(r)!;
    expect(v.invariant).toBe("lock-order");
    expect(v.message).toMatch(
      /^lock order inversion \(potential deadlock\): tid 1 \(pid 1\) takes a while holding c; tid 2 \(pid 1\) took b while holding a \(at seq \d+\); tid 3 \(pid 1\) took c while holding b \(at seq \d+\)$/,
    );
    // Each order's two acquires, and main's hold of c.
    expect(v.causes.map((c) => c.why)).toEqual([
      "tid 2 took a",
      "tid 2 took b while holding a: a before b",
      "tid 3 took b",
      "tid 3 took c while holding b: b before c",
      "tid 1 took c",
    ]);
  });

  it("a trylock that succeeds orders nothing before its lock; locks taken while holding it order after it", () => {
    // The back-off pattern: take b, trylock a; on EBUSY release b, take a then b (the order).
    const backOff: Op[] = [
      k.lock("b"),
      k.user("in b", 3),
      k.trylock("a", { ret: "got" }),
      k.when(
        k.ne(k.r("got"), 0),
        [k.unlock("b"), k.lock("a"), k.lock("b"), k.unlock("b"), k.unlock("a")],
        [k.unlock("a"), k.unlock("b")],
      ),
      k.user("out", 3),
    ];
    const inOrder: Op[] = [k.lock("a"), k.user("in a", 3), k.lock("b"), k.unlock("b"), k.unlock("a"), k.user("out", 3)];
    let took = 0;
    let busy = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const r = run([[k.repeat(4, inOrder)]], [k.sleep(1_000), k.repeat(4, backOff)], { rules: ON, seed });
      expect(check(r), `seed ${seed}`).toBeNull();
      const tries = r.evs.filter((e) => e.kind === KIND.lockAcquire && e.c === k.TRYLOCK_ACQUIRE);
      if (tries.length > 0) took++;
      if (r.evs.some((e) => e.kind === KIND.errno && e.a === k.ERRNO.EBUSY)) busy++;
    }
    // Both branches ran: the trylock took a while main held b (a -> b already known), and backed off.
    expect(took).toBeGreaterThan(0);
    expect(busy).toBeGreaterThan(0);
    // But c taken while holding the trylocked a orders a before c: against c before a, a cycle.
    const r = run(
      [pair("c", "a")],
      [k.sleep(50_000), k.trylock("a", { ret: "got" }), k.lock("c"), k.unlock("c"), k.unlock("a")],
      { rules: ON },
    );
    expect(r.evs.filter((e) => e.kind === KIND.lockAcquire && e.c === k.TRYLOCK_ACQUIRE)).toHaveLength(1);
    expect(check(r)?.message).toMatch(
      /^lock order inversion \(potential deadlock\): tid 1 \(pid 1\) takes c while holding a;/,
    );
  });

  it("a recursive mutex taken again, and one class nested in itself, order nothing", () => {
    const locks = { r: { type: "recursive" as const } };
    // r, then x, then r again (re-entry while holding x): not x before r.
    const r = run([[k.lock("r"), k.lock("x"), k.lock("r"), k.unlock("r"), k.unlock("x"), k.unlock("r")]], [], {
      rules: ON,
      locks,
    });
    expect(acquires(r).filter((e) => e.b === 2)).toHaveLength(1);
    expect(check(r)).toBeNull();
    // Each process's task.lock is one class: pid 1 takes its own, then pid 2's; pid 2 later the other way (then pid 1 sleeps, and exits).
    const task = { "task.lock": { type: "mutex" as const, scope: "proc" as const } };
    const mine = k.lock("task.lock");
    const w = runWorld(
      [
        [
          mine,
          k.lockOf("task.lock", k.int(2)),
          k.unlockOf("task.lock", k.int(2)),
          k.unlock("task.lock"),
          k.sleep(200_000),
        ],
        [
          k.sleep(50_000),
          mine,
          k.lockOf("task.lock", k.int(1)),
          k.unlockOf("task.lock", k.int(1)),
          k.unlock("task.lock"),
        ],
      ],
      { cpus: 2, rules: ON, locks: task },
    );
    expect(w.evs.filter((e) => e.kind === KIND.lockAcquire && w.st.locks.get(e.a)!.name === "task.lock")).toHaveLength(
      4,
    );
    // (pid 1 then exits before reaping pid 2: a panic, no-panic's; lock-order finds nothing.)
    expect(check(w, ["lock-order"])).toBeNull();
  });

  it("a lock taken in a signal handler orders after the locks the interrupted code holds", () => {
    // Main holds a when SIGUSR1's handler takes b (a before b); the thread later takes b, then a.
    const r = run(
      [[k.sleep(50_000), ...pair("b", "a")]],
      [
        k.sigaction("SIGUSR1", [k.lock("b"), k.unlock("b")]),
        k.lock("a"),
        k.raise("SIGUSR1"),
        k.user("in a", 2),
        k.unlock("a"),
      ],
      { rules: ON },
    );
    expect(r.st.outcome?.kind ?? "ok").toBe("ok");
    const v = check(r)!;
    expect(v.invariant).toBe("lock-order");
    expect(v.message).toMatch(
      /^lock order inversion \(potential deadlock\): tid 2 \(pid 1\) takes a while holding b; tid 1 \(pid 1\) took b while holding a \(at seq \d+\)$/,
    );
  });

  it("a consistent order is never reported (seeds 1..40, three threads)", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = run([pair("a", "b"), [...pair("b", "c"), ...pair("a", "c")]], [...pair("a", "c"), ...pair("b", "c")], {
        rules: ON,
        seed,
      });
      expect(acquires(r).length, `seed ${seed}`).toBe(10);
      expect(check(r), `seed ${seed}`).toBeNull();
    }
  });

  it("is opt-in: out of the default set (and of check's 'checked' list) unless the world's rules set lockOrder or it is named", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-lock-order-"));
    const scenario = (rules: string) => `export default (k) => k.defineScenario({
  name: "abba", description: "AB-BA, one after the other", defaults: { seed: 1 },
  build: () => ({ ${rules} procs: [{ name: "p", main: [
    k.thread([k.lock("a"), k.lock("b"), k.unlock("b"), k.unlock("a")]),
    k.sleep(50000), k.lock("b"), k.lock("a"), k.unlock("a"), k.unlock("b"),
  ] }] }),
});
`;
    writeFileSync(join(dir, "off.ts"), scenario(""));
    writeFileSync(join(dir, "on.ts"), scenario("rules: { lockOrder: true },"));
    for (const f of ["off", "on"])
      expect((await runCli(["record", join(dir, `${f}.ts`), "-o", join(dir, `${f}.ktrace`)])).code).toBe(0);
    const off = await runCli(["check", join(dir, "off.ktrace")]);
    expect(off.code).toBe(0);
    expect(off.stdout).toMatch(/^no invariant violation in \d+ events \(checked: [^)]*no-deadlock[^)]*\)\n$/);
    expect(off.stdout).not.toContain("lock-order");
    const skip = await runCli(["check", join(dir, "off.ktrace"), "--skip", "no-panic", "--json"]);
    expect(JSON.parse(skip.stdout).invariants).not.toContain("lock-order");
    const named = await runCli(["check", join(dir, "off.ktrace"), "--invariant", "lock-order"]);
    expect(named.code).toBe(1);
    expect(named.stdout).toMatch(/^VIOLATION lock-order at seq \d+ \(lock-acquire/);
    // --also: the default set and lock-order beside it (the checked list is the default's plus it).
    const also = await runCli([
      "check",
      join(dir, "off.ktrace"),
      "--also",
      "lock-order",
      "--skip",
      "no-panic",
      "--json",
    ]);
    expect(also.code).toBe(1);
    const alsoDoc = JSON.parse(also.stdout);
    expect(alsoDoc.violation.invariant).toBe("lock-order");
    expect(alsoDoc.invariants).toEqual([
      ...JSON.parse(skip.stdout).invariants.filter((n: string) => n !== "lock-order"),
      "lock-order",
    ]);
    expect(alsoDoc.invariants).toContain("no-deadlock");
    const typo = await runCli(["check", join(dir, "off.ktrace"), "--invariant", "lock-ordr"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("did you mean 'lock-order'?");
    const on = await runCli(["check", join(dir, "on.ktrace"), "--json"]);
    expect(on.code).toBe(1);
    const doc = JSON.parse(on.stdout);
    expect(doc.invariants).toContain("lock-order");
    expect(doc.violation.invariant).toBe("lock-order");
    // explore judges each seed with the world's default set: lock-order's finding on every seed.
    const x = await runCli(["explore", join(dir, "on.ts"), "--seeds", "1..5", "--jobs", "1", "--json"]);
    expect(x.code).toBe(1);
    const xd = JSON.parse(x.stdout);
    expect(xd.failing).toHaveLength(5);
    expect(xd.failing.every((f: { violation: { invariant: string } }) => f.violation.invariant === "lock-order")).toBe(
      true,
    );
    const xo = await runCli(["explore", join(dir, "off.ts"), "--seeds", "1..5", "--jobs", "1", "--json"]);
    expect(xo.code).toBe(0);
  });

  it("an imported lockdep trace: the ABBA at the wait that closes it, with the earlier order's acquires; a lockdep trylock (try=1) orders nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-lock-order-"));
    const out = join(dir, "abba.ktrace");
    const fixture = join(import.meta.dirname, "..", "fixtures", "import", "ftrace", "lockdep-abba.txt");
    expect((await runCli(["import", fixture, "-o", out])).code).toBe(0);
    const r = await runCli(["check", out, "--invariant", "lock-order", "--json"]);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout).violation;
    expect(v).toMatchObject({ invariant: "lock-order", kind: "lock-wait", tid: 201, time: 130_000 });
    expect(v.message).toBe(
      "lock order inversion (potential deadlock): tid 201 (pid 201) waits for &dev->lock_a while holding &dev->lock_b; tid 200 (pid 200) took &dev->lock_b while holding &dev->lock_a (at seq 4)",
    );
    // A trylock (lockdep's try=1, fired once it succeeded) orders nothing before its lock.
    const head = readFileSync(fixture, "utf8").split("\n").slice(0, 12).join("\n");
    const line = (who: string, cpu: number, t: number, ev: string, what: string) =>
      `        ${who} [00${cpu}] ....1  200.${String(t).padStart(6, "0")}: ${ev}: ${what}`;
    const abba = (second: string) =>
      [
        head,
        line("worker-a-200", 0, 10, "lock_acquire", "00000000a1b2c3d4 &dev->lock_a"),
        line("worker-a-200", 0, 12, "lock_acquire", "00000000e5f60718 &dev->lock_b"),
        line("worker-a-200", 0, 15, "lock_release", "00000000e5f60718 &dev->lock_b"),
        line("worker-a-200", 0, 16, "lock_release", "00000000a1b2c3d4 &dev->lock_a"),
        line("worker-b-201", 1, 20, "lock_acquire", "00000000e5f60718 &dev->lock_b"),
        line("worker-b-201", 1, 22, "lock_acquire", `00000000a1b2c3d4 ${second}&dev->lock_a`),
        line("worker-b-201", 1, 25, "lock_release", "00000000a1b2c3d4 &dev->lock_a"),
        line("worker-b-201", 1, 26, "lock_release", "00000000e5f60718 &dev->lock_b"),
        "",
      ].join("\n");
    for (const [second, found] of [
      ["try ", false],
      ["", true],
    ] as const) {
      const txt = join(dir, `abba-${found}.txt`);
      writeFileSync(txt, abba(second));
      const kt = join(dir, `abba-${found}.ktrace`);
      expect((await runCli(["import", txt, "--format", "ftrace", "-o", kt])).code).toBe(0);
      const c = await runCli(["check", kt, "--invariant", "lock-order", "--json"]);
      expect(c.code, second).toBe(found ? 1 : 0);
      const ev = await runCli(["events", kt, "--kind", "lock-acquire", "--json"]);
      const inferred = ev.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).args.inferred);
      expect(inferred).toEqual(found ? [0, 0, 0, 0] : [0, 0, 0, 2]);
    }
    // The default set of an imported trace leaves it out.
    const src = (await import("../src/replay/index.ts")).openSource(out);
    expect(selectFor(src).map((i) => i.name)).not.toContain("lock-order");
    src.close();
  });
});
