// Signals: actions, masks, pending sets, delivery at return to user mode,
// SIGCHLD, default actions, EINTR, and the signal-safety invariant
// (src/kernel/signal.ts).
import { describe, expect, it } from "vitest";
import * as k from "../src/kernel/index.ts";
import { type Op, validateWorld } from "../src/kernel/index.ts";
import { describe as describeEv } from "../src/replay/index.ts";
import { ofKind, regs, runWorld, violationOf, worldOf } from "./helpers/world.ts";

const { SIG } = k;
const VARS = { got: { type: "int" as const }, f: { type: "int" as const } };
const world = (procs: Op[][]) => worldOf(procs, { vars: VARS });
const run = (procs: Op[][], seed = 1) => runWorld(procs, { vars: VARS, seed });
const of = ofKind;
const violation = violationOf;

describe("sending and delivering", () => {
  it("a handler runs on the thread that takes the signal, at its return to user mode, with the signal blocked; then sigreturn", () => {
    const r = run([
      [
        k.sigaction("SIGUSR1", [k.store("got", 1), k.user("in handler")], { name: "on_usr1" }),
        k.fork([k.kill(1, "SIGUSR1", { ret: "r" })]),
        k.sleep(50_000),
        k.waitpid(),
      ],
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
    const sig = of(r.evs, k.KIND.signal)[0]!;
    expect([sig.tid, sig.a, sig.b, sig.c]).toEqual([2, 1, SIG.SIGUSR1, -1]);
    expect(describeEv(sig)).toBe("tid 2 sends SIGUSR1 to pid 1");
    const del = of(r.evs, k.KIND.signalDeliver)[0]!;
    expect([del.tid, del.a, del.b, del.c]).toEqual([1, SIG.SIGUSR1, 2, sig.seq]);
    // the sleep was interrupted: woken by the sender, how signal
    const wake = of(r.evs, k.KIND.wake).find((e) => e.c === k.HOW.signal)!;
    expect([wake.a, wake.b, wake.s]).toEqual([1, 2, "SIGUSR1"]);
    const inside = r.evs.find((e) => e.kind === k.KIND.user && e.s === "in handler")!;
    expect(inside.seq).toBeGreaterThan(del.seq);
    expect(of(r.evs, k.KIND.sigreturn)[0]!.seq).toBeGreaterThan(inside.seq);
    expect(regs(r.evs, "r")).toEqual([0]);
  });
  it("the default action of SIGTERM kills the process (status 128 + 15); an ignored signal is dropped", () => {
    const r = run([
      [
        k.fork([k.sigaction("SIGUSR2", "ignore"), k.sleep(100_000), k.user("never")], { pid: "c" }),
        k.sleep(10_000),
        k.kill(k.r("c"), "SIGUSR2"),
        k.sleep(10_000),
        k.kill(k.r("c"), "SIGTERM"),
        k.waitpid(k.r("c"), { status: "st" }),
      ],
    ]);
    expect(regs(r.evs, "st")).toEqual([128 + SIG.SIGTERM]);
    expect(r.evs.some((e) => e.kind === k.KIND.user && e.s === "never")).toBe(false);
    expect(of(r.evs, k.KIND.signalDeliver).map((e) => [e.a, e.b])).toEqual([[SIG.SIGTERM, 0]]);
  });
  it("a blocked signal stays pending until unblocked; a process signal goes to a thread that does not block it", () => {
    const r = run([
      [
        k.sigaction("SIGUSR1", [k.fetchAdd("got", 1)]),
        k.sigmask("block", ["SIGUSR1"]),
        k.thread([k.sigmask("block", ["SIGUSR1"]), k.sleep(5_000), k.user("t2 goes on")]),
        k.raise("SIGUSR1"),
        k.user("still blocked", 3),
        k.sigmask("unblock", ["SIGUSR1"]),
        k.user("after"),
        k.sleep(20_000),
      ],
    ]);
    const del = of(r.evs, k.KIND.signalDeliver)[0]!;
    const unblock = of(r.evs, k.KIND.sigmask).filter((e) => e.tid === 1)[1]!;
    expect(del.tid).toBe(1);
    expect(del.seq).toBeGreaterThan(unblock.seq);
  });
  it("SIGCHLD reaches a parent with a handler at each child's exit; with the default action it is no event at all", () => {
    const withHandler = run([
      [
        k.sigaction("SIGCHLD", [k.waitpid("any", { nohang: true, ret: "reaped" })]),
        k.fork([k.exit(0)]),
        k.sleep(50_000),
      ],
    ]);
    const chld = of(withHandler.evs, k.KIND.signal)[0]!;
    expect([chld.tid, chld.a, chld.b]).toEqual([2, 1, SIG.SIGCHLD]);
    expect(regs(withHandler.evs, "reaped")).toEqual([2]);
    const plain = run([[k.fork([k.exit(0)]), k.sleep(50_000), k.waitpid()]]);
    expect(of(plain.evs, k.KIND.signal)).toEqual([]);
  });
  it("a wait cut short by a signal returns EINTR after the handler (futex, sleep, waitpid)", () => {
    const r = run([
      [
        k.sigaction("SIGUSR1", [k.user("h")]),
        k.thread([
          k.sleep(5_000),
          k.kill(1, "SIGUSR1"),
          k.sleep(5_000),
          k.kill(1, "SIGUSR1"),
          k.sleep(5_000),
          k.kill(1, "SIGUSR1"),
        ]),
        k.futexWait("f", 0, { ret: "a" }),
        k.sleep(1_000_000, { ret: "b" }),
        k.fork([k.sleep(1_000_000)], { pid: "c" }),
        k.waitpid(k.r("c"), { ret: "w" }),
        k.kill(k.r("c"), "SIGKILL"),
        k.waitpid(k.r("c")),
      ],
    ]);
    expect([regs(r.evs, "a"), regs(r.evs, "b"), regs(r.evs, "w")]).toEqual([
      [k.ERRNO.EINTR],
      [k.ERRNO.EINTR],
      [-k.ERRNO.EINTR],
    ]);
  });
  it("a waitpid woken by its child's exit reaps it before the SIGCHLD handler runs: the signal waits for the return to user mode", () => {
    // Linux's do_wait reaps the zombie that woke it before it looks at signal_pending; the handler then finds nothing.
    const r = run([
      [
        k.sigaction("SIGCHLD", [k.waitpid("any", { nohang: true, ret: "h" })], { name: "reaper" }),
        k.fork([k.user("child works", 4), k.exit(0)], { pid: "c" }),
        k.waitpid(k.r("c"), { ret: "w", status: "st" }),
      ],
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
    const reap = of(r.evs, k.KIND.reap)[0]!;
    const del = of(r.evs, k.KIND.signalDeliver)[0]!;
    expect([reap.tid, reap.a]).toEqual([1, 2]);
    expect(del.seq).toBeGreaterThan(reap.seq);
    expect(regs(r.evs, "w")).toEqual([2]);
    expect(regs(r.evs, "h")).toEqual([-k.ERRNO.ECHILD]);
  });
  it("a call woken by its data that must wait again, with a signal pending, ends in EINTR after the handler (no lost signal)", () => {
    // Thread 2 writes a byte (waking thread 1's read), reads it back itself, then signals thread 1: its read, retried,
    // finds the pipe empty; the pending signal ends the wait (Linux: signal_pending before schedule()), not a hang.
    for (let seed = 1; seed <= 6; seed++) {
      const r = runWorld(
        [
          [
            k.sigaction("SIGUSR1", [k.user("in handler")]),
            k.pipe({ read: "rd", write: "wr" }),
            k.thread([
              k.sleep(2_000),
              k.write(k.r("wr"), 1),
              k.read(k.r("rd"), 1, { ret: "b" }),
              k.tkill(1, "SIGUSR1"),
            ]),
            k.read(k.r("rd"), 1, { ret: "a" }),
            k.user("after read"),
          ],
        ],
        { cpus: 1, seed },
      );
      expect(r.st.outcome!.kind).toBe("ok");
      expect(regs(r.evs, "b")).toEqual([1]);
      expect(regs(r.evs, "a")).toEqual([-k.ERRNO.EINTR]);
      const inHandler = r.evs.find((e) => e.kind === k.KIND.user && e.s === "in handler")!;
      const after = r.evs.find((e) => e.kind === k.KIND.user && e.s === "after read")!;
      expect(inHandler.seq).toBeLessThan(after.seq);
      expect(of(r.evs, k.KIND.wake).some((e) => e.a === 1 && e.c === k.HOW.signal)).toBe(true);
    }
  });
});

describe("SA_RESTART, and which thread takes a process-directed signal", () => {
  it("a read interrupted by an SA_RESTART handler is restarted and gets its data; a sleep still returns EINTR", () => {
    for (let seed = 1; seed <= 6; seed++) {
      const r = runWorld(
        [
          [
            k.sigaction("SIGUSR1", [k.user("in handler")], { restart: true }),
            k.pipe({ read: "rd", write: "wr" }),
            k.thread([k.sleep(2_000), k.tkill(1, "SIGUSR1"), k.sleep(2_000), k.write(k.r("wr"), 1)]),
            k.read(k.r("rd"), 1, { ret: "a" }),
            k.thread([k.sleep(2_000), k.tkill(1, "SIGUSR1")], { tid: "again" }),
            k.sleep(1_000_000, { ret: "b" }),
          ],
        ],
        { cpus: 2, seed },
      );
      expect(r.st.outcome!.kind).toBe("ok");
      expect(regs(r.evs, "a")).toEqual([1]);
      expect(regs(r.evs, "b")).toEqual([k.ERRNO.EINTR]);
      // the handler ran during the read, which then blocked again
      const ran = r.evs.filter((e) => e.kind === k.KIND.sigreturn);
      const reads = r.evs.filter((e) => e.kind === k.KIND.pipeWait && e.tid === 1);
      expect(ran.length).toBe(2);
      expect(reads.some((w) => w.seq > ran[0]!.seq)).toBe(true);
      expect(describeEv(of(r.evs, k.KIND.sigaction)[0]!)).toBe(
        "tid 1 sets SIGUSR1 to run sigusr1_handler (SA_RESTART)",
      );
    }
  });

  it("a process-directed signal is taken by the thread it was sent for (the one it woke), not by the running sender", () => {
    for (let seed = 1; seed <= 6; seed++) {
      const r = run(
        [
          [
            k.sigaction("SIGUSR1", [k.user("in handler")]),
            k.thread([k.kill(1, "SIGUSR1"), k.user("sender goes on", 3)]),
            k.futexWait("f", 0, { ret: "a" }),
          ],
        ],
        seed,
      );
      for (const d of of(r.evs, k.KIND.signalDeliver)) expect(d.tid).toBe(1);
    }
  });

  it("a join and a user mutex's wait are interrupted for a handler and wait again after it; a kernel lock's wait is not", () => {
    // The main thread joins the worker (or waits for a mutex the worker holds); the worker signals the process and
    // waits for the handler's flag. As on Linux (glibc's futex wait under pthread_join and pthread_mutex_lock is
    // woken for the handler, then waits again: neither call returns EINTR), the main thread takes the signal in its
    // wait, runs the handler, and waits again; the worker then finishes.
    const handler = [k.store("got", 1), k.futexWake("got", 1)];
    const worker = (hold: boolean) => [
      ...(hold ? [k.lock("m")] : []),
      k.sleep(5_000),
      k.kill(1, "SIGUSR1"),
      k.futexWait("got", 0),
      k.user("worker done"),
      ...(hold ? [k.unlock("m")] : []),
    ];
    for (const wait of ["join", "mutex"] as const)
      for (let seed = 1; seed <= 4; seed++) {
        const main =
          wait === "join"
            ? [k.thread(worker(false), { tid: "w" }), k.join(k.r("w"))]
            : [k.thread(worker(true), { tid: "w" }), k.sleep(1_000), k.lock("m"), k.unlock("m"), k.join(k.r("w"))];
        const r = runWorld([[k.sigaction("SIGUSR1", handler), ...main]], {
          vars: VARS,
          locks: { m: { type: "mutex" } },
          seed,
        });
        expect(r.st.outcome!.kind, `${wait} seed ${seed}`).toBe("ok");
        const d = of(r.evs, k.KIND.signalDeliver);
        expect(d.map((x) => x.tid)).toEqual([1]);
        // Woken from its wait for the signal, then after sigreturn back in the same call: it waits again, or the
        // lock (the thread) it waited for is free (has exited) by then and the call completes.
        const waitKind = wait === "join" ? k.KIND.joinWait : k.KIND.lockWait;
        const doneKind = wait === "join" ? k.KIND.join : k.KIND.lockAcquire;
        const mine = r.evs.filter((e) => e.tid === 1 || (e.kind === k.KIND.wake && e.a === 1));
        const at = mine.findIndex((e) => e.seq === d[0]!.seq);
        expect(mine[at - 1]!.kind === k.KIND.wake || mine[at - 2]!.kind === k.KIND.wake).toBe(true);
        expect(mine.slice(0, at).findLast((e) => e.kind === waitKind || e.kind === doneKind)?.kind).toBe(waitKind);
        const ret = mine.findIndex((e) => e.kind === k.KIND.sigreturn);
        expect([waitKind, doneKind]).toContain(
          mine.slice(ret + 1).find((e) => e.tid === 1 && e.kind !== k.KIND.switch)?.kind,
        );
        expect(r.evs.some((e) => e.tid === 1 && e.kind === k.KIND.errno)).toBe(false);
      }
    // A kernel lock's wait (mutex_lock in a system call: TASK_UNINTERRUPTIBLE) is not woken: the signal waits for the
    // end of the call, and is taken at its return to user mode, after the lock.
    for (let seed = 1; seed <= 4; seed++) {
      const r = runWorld(
        [
          [
            k.sigaction("SIGUSR1", [k.user("in handler")]),
            k.thread([k.syscall("sys_hold", [k.lock("big"), k.sleep(5_000), k.kill(1, "SIGUSR1"), k.unlock("big")])]),
            k.sleep(1_000),
            k.syscall("sys_take", [k.lock("big"), k.unlock("big")]),
          ],
        ],
        { vars: VARS, locks: { big: { type: "mutex", scope: "kernel" } }, seed },
      );
      expect(r.st.outcome!.kind).toBe("ok");
      const d = of(r.evs, k.KIND.signalDeliver);
      const acq = r.evs.filter(
        (e) => e.kind === k.KIND.lockAcquire && e.tid === 1 && r.st.locks.get(e.a)?.name === "big",
      );
      expect(r.evs.some((e) => e.kind === k.KIND.wake && e.c === k.HOW.signal)).toBe(false);
      if (d[0]!.tid === 1) expect(acq[0]!.seq).toBeLessThan(d[0]!.seq);
    }
  });

  it("sem_wait cut short by a handler returns EINTR, even with SA_RESTART; woken by a post, it takes the semaphore", () => {
    for (const restart of [false, true]) {
      const r = runWorld(
        [
          [
            k.sigaction("SIGUSR1", [k.user("in handler")], { restart }),
            k.thread([k.sleep(2_000), k.tkill(1, "SIGUSR1"), k.sleep(2_000), k.semPost("s")]),
            k.semWait("s", { ret: "a" }),
            k.semWait("s", { ret: "b" }),
          ],
        ],
        { vars: { s: k.semaphore(0) }, cpus: 2, seed: 1 },
      );
      expect(r.st.outcome!.kind).toBe("ok");
      expect([regs(r.evs, "a"), regs(r.evs, "b")]).toEqual([[k.ERRNO.EINTR], [0]]);
    }
  });

  it("a call woken for a signal that no handler took (ignored before the thread ran) restarts: no EINTR", () => {
    // Thread 2 signals thread 1 out of its read and at once ignores the signal, which drops it (POSIX); on one cpu
    // thread 1 runs after both: nothing to handle, so its read restarts (Linux: -ERESTARTSYS with no handler) and
    // gets the byte thread 2 writes later.
    const r = runWorld(
      [
        [
          k.sigaction("SIGUSR1", [k.user("in handler")]),
          k.pipe({ read: "rd", write: "wr" }),
          k.thread([
            k.sleep(2_000),
            k.tkill(1, "SIGUSR1"),
            k.sigaction("SIGUSR1", "ignore"),
            k.sleep(2_000),
            k.write(k.r("wr"), 1),
          ]),
          k.read(k.r("rd"), 1, { ret: "a" }),
        ],
      ],
      { cpus: 1, seed: 1 },
    );
    expect(r.st.outcome!.kind).toBe("ok");
    expect(of(r.evs, k.KIND.wake).some((e) => e.a === 1 && e.c === k.HOW.signal)).toBe(true);
    expect(of(r.evs, k.KIND.signalDeliver)).toEqual([]);
    expect(regs(r.evs, "a")).toEqual([1]);
  });

  it("a sleep restarted after a signal no handler took keeps its deadline", () => {
    const r = runWorld(
      [
        [
          k.sigaction("SIGUSR1", [k.user("in handler")]),
          k.thread([k.sleep(2_000), k.tkill(1, "SIGUSR1"), k.sigaction("SIGUSR1", "ignore")]),
          k.sleep(10_000, { ret: "b" }),
        ],
      ],
      { cpus: 1, seed: 1 },
    );
    const sleeps = r.evs.filter((e) => e.kind === k.KIND.sleep && e.tid === 1);
    expect(sleeps.length).toBe(2);
    expect(sleeps[1]!.a).toBe(sleeps[0]!.a);
    expect(regs(r.evs, "b")).toEqual([0]);
  });

  it("validates restart: a boolean, with a handler only", () => {
    const raw = (o: object) => validateWorld(world([[{ op: "sigaction", sig: 10, ...o } as Op]]));
    expect(raw({ action: "handler", handler: [], restart: true })).toBeNull();
    expect(raw({ action: "handler", handler: [], restart: "yes" })).toMatch(
      /restart \(SA_RESTART\) must be true or false/,
    );
    expect(raw({ action: "ignore", restart: true })).toMatch(/restart \(SA_RESTART\) goes with a handler/);
  });
});

describe("sigsuspend", () => {
  it("unblocks and waits in one step: a signal that came while blocked ends the wait at once; the handler runs with the new mask; after it the old mask is back and ret is EINTR", () => {
    for (let seed = 1; seed <= 6; seed++) {
      const r = run(
        [
          [
            k.sigaction("SIGUSR1", [k.store("got", 1, { atomic: true })]),
            k.sigmask("block", ["SIGUSR1", "SIGUSR2"]),
            k.fork([k.kill(1, "SIGUSR1")], { pid: "c" }),
            k.sleep(5_000), // the signal is pending, blocked, by now
            k.sigsuspend("SIGUSR2", { ret: "r" }),
            k.load("g", "got", { atomic: true }),
            k.waitpid(k.r("c")),
          ],
        ],
        seed,
      );
      expect(r.st.outcome!.kind, `seed ${seed}`).toBe("ok");
      expect(regs(r.evs, "r")).toEqual([k.ERRNO.EINTR]);
      expect(r.evs.filter((e) => e.kind === k.KIND.atomicLoad && e.s === "g").map((e) => e.b)).toEqual([1]);
      const mine = r.evs.filter(
        (e) => e.tid === 1 && e.kind !== k.KIND.switch && e.seq > of(r.evs, k.KIND.sleep)[0]!.seq,
      );
      const usr1 = 1 << (k.SIG.SIGUSR1 - 1);
      const usr2 = 1 << (k.SIG.SIGUSR2 - 1);
      expect(mine.slice(0, 4).map((e) => [k.EVENT_KINDS[e.kind]!.name, e.kind === k.KIND.sigmask ? e.a : 0])).toEqual([
        ["sigmask", usr2], // the new mask, and at once:
        ["pause", 0],
        ["wake", 0], // the pending SIGUSR1 ends the wait
        ["signal-deliver", 0],
      ]);
      const back = mine.find((e) => e.kind === k.KIND.sigreturn)!;
      expect(mine.find((e) => e.seq > back.seq)).toMatchObject({ kind: k.KIND.sigmask, a: usr1 | usr2 });
      // nobody else is left to send one, but no-deadlock knows the pending signal ends the wait
      expect(violationOf(r)).toBeNull();
    }
  });
  it("waits again when the signal that woke it went to no handler (ignored before the thread ran)", () => {
    // One cpu: thread 2 signals thread 1 out of its sigsuspend and at once ignores the signal, which drops it; thread 1,
    // woken, has nothing to take and waits again, until thread 2's SIGUSR2 (handled) ends the wait.
    const r = runWorld(
      [
        [
          k.sigaction("SIGUSR1", [k.user("usr1 handler")]),
          k.sigaction("SIGUSR2", [k.user("usr2 handler")]),
          k.thread(
            [
              k.sleep(2_000),
              k.kill(1, "SIGUSR1"),
              k.sigaction("SIGUSR1", "ignore"),
              k.sleep(2_000),
              k.kill(1, "SIGUSR2"),
            ],
            {
              tid: "t",
            },
          ),
          k.sigsuspend([], { ret: "r" }),
          k.join(k.r("t")),
        ],
      ],
      { vars: VARS, seed: 1, cpus: 1 },
    );
    expect(r.st.outcome!.kind).toBe("ok");
    expect(regs(r.evs, "r")).toEqual([k.ERRNO.EINTR]);
    expect(of(r.evs, k.KIND.signalDeliver).map((e) => [e.tid, e.a])).toEqual([[1, k.SIG.SIGUSR2]]);
    // woken twice (SIGUSR1, SIGUSR2), and a pause before each wake
    const wakes = r.evs.filter((e) => e.kind === k.KIND.wake && e.a === 1 && e.c === k.HOW.signal);
    expect(wakes).toHaveLength(2);
    expect(of(r.evs, k.KIND.pause).filter((e) => e.tid === 1)).toHaveLength(2);
  });
});

describe("signal-safety", () => {
  it("a handler taking a lock its interrupted thread holds is found at the relock, with the lock's acquire and the delivery as causes", () => {
    const r = run([
      [
        k.sigaction("SIGUSR1", [k.lock("m"), k.unlock("m")]),
        k.lock("m"),
        k.raise("SIGUSR1"),
        k.user("critical"),
        k.unlock("m"),
      ],
    ]);
    expect(r.st.outcome!.kind).toBe("hang");
    const v = violation(r)!;
    expect(v.invariant).toBe("signal-safety");
    expect(v.message).toBe(
      "tid 1 (pid 1) in its SIGUSR1 handler waits for m, which the code the signal interrupted holds on the same thread: it can never be released (a handler may only make async-signal-safe calls)",
    );
    expect(v.causes.map((c) => c.why)).toEqual([
      "tid 1 took m",
      "tid 1 sent SIGUSR1",
      "SIGUSR1 interrupted tid 1 while it held m; its handler runs",
    ]);
  });
  it("the same lock taken by the handler when the thread does not hold it is fine", () => {
    const r = run([
      [
        k.sigaction("SIGUSR1", [k.lock("m"), k.unlock("m")]),
        k.raise("SIGUSR1"),
        k.user("after"),
        k.lock("m"),
        k.unlock("m"),
      ],
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
    expect(violation(r)).toBeNull();
  });
});

describe("bad input", () => {
  it("kill of no such process is ESRCH; a signal not modelled EINVAL; SIGKILL cannot be caught (EINVAL)", () => {
    const r = run([
      [
        k.kill(42, "SIGTERM", { ret: "a" }),
        k.kill(1, 40, { ret: "b" }),
        k.sigaction("SIGKILL", "ignore", { ret: "c" }),
      ],
    ]);
    expect([regs(r.evs, "a"), regs(r.evs, "b"), regs(r.evs, "c")]).toEqual([
      [k.ERRNO.ESRCH],
      [k.ERRNO.EINVAL],
      [k.ERRNO.EINVAL],
    ]);
  });
  it("an unknown signal name is one line with the op's path", () => {
    expect(validateWorld(world([[k.user("x"), k.kill(1, "SIGFOO")]]))).toMatch(
      /^procs\[0\]\.main\[1\] \(kill\) at kernel-signals\.test\.ts:\d+: unknown signal 'SIGFOO' \(signals: SIGHUP, /,
    );
    expect(validateWorld(world([[k.sigmask("block", ["SIGSTOP"])]]))).toMatch(
      /SIGSTOP: job control signals are not modelled$/,
    );
  });

  it("a wait a signal handler can end (the handler posts the semaphore) is not stuck while a thread that can send the signal lives; without a handler it is", () => {
    const prog = (handler: boolean): Op[][] => [
      [
        ...(handler ? [k.sigaction("SIGUSR1", [k.semPost("s")], { name: "on_usr1" })] : []),
        k.thread([k.semWait("s")], { tid: "w" }),
        k.fork([k.user("child", 4), k.kill(1, "SIGUSR1")], { pid: "c" }),
        k.join(k.r("w")),
        k.waitpid(k.r("c")),
      ],
    ];
    const opts = (seed: number) => ({ vars: { ...VARS, s: k.semaphore(0) }, seed });
    let flagged = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const r = runWorld(prog(true), opts(seed));
      expect(r.st.outcome?.kind ?? "ok", `seed ${seed}`).toBe("ok");
      expect(violationOf(r)?.invariant, `seed ${seed}`).toBeUndefined();
      // Without the handler, init ignores SIGUSR1: nothing posts, and the worker waits for ever.
      const bare = runWorld(prog(false), opts(seed));
      if (violationOf(bare)?.invariant === "no-deadlock") flagged++;
    }
    expect(flagged).toBe(50);
  });
});

describe("sigwait (signal.ts): synchronous signal handling", () => {
  const folded = (r: { evs: k.KEvent[]; st: k.KState; w: k.World }) => {
    const f = k.initState(r.w.config);
    for (const e of r.evs) k.applyEvent(f, e);
    expect(k.toPlain(f)).toEqual(k.toPlain(r.st));
  };
  /** A process (pid 2) whose threads all block SIGUSR1; a thread sigwaits for it; init sends it after `delay` ns. */
  const server = (delay: number, waiter: Op[]) => [
    k.fork(
      [
        k.sigaction("SIGUSR1", [k.store("got", 1)], { name: "on_usr1" }),
        k.sigmask("block", ["SIGUSR1"]),
        k.thread(waiter, { tid: "w" }),
        k.join(k.r("w")),
      ],
      { pid: "c" },
    ),
    k.sleep(delay),
    k.kill(k.r("c"), "SIGUSR1"),
    k.waitpid(k.r("c"), { status: "st" }),
  ];

  it("a thread waiting in sigwait is woken by a process-directed signal it waits for and takes it: no handler runs, its number in ret", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = run([server(50_000, [k.sigwait("SIGUSR1", { ret: "sig" })])], seed);
      expect(r.st.outcome!.kind).toBe("ok");
      const wait = of(r.evs, k.KIND.sigwait)[0]!;
      expect([wait.tid, wait.a, wait.b]).toEqual([3, 1 << (SIG.SIGUSR1 - 1), -1]);
      expect(describeEv(wait)).toBe("tid 3 waits in sigwait for SIGUSR1");
      const send = of(r.evs, k.KIND.signal)[0]!;
      const wake = of(r.evs, k.KIND.wake).find((e) => e.c === k.HOW.signal)!;
      expect([wake.a, wake.b]).toEqual([3, 1]);
      const del = of(r.evs, k.KIND.signalDeliver);
      expect(del.map((e) => [e.tid, e.a, e.b, e.c])).toEqual([[3, SIG.SIGUSR1, 3, send.seq]]);
      expect(describeEv(del[0]!)).toBe(
        `tid 3 takes SIGUSR1 (sent at seq ${send.seq}): sigwait takes it (no action runs)`,
      );
      expect(regs(r.evs, "sig")).toEqual([SIG.SIGUSR1]);
      expect(of(r.evs, k.KIND.sigreturn)).toEqual([]);
      expect(regs(r.evs, "st")).toEqual([0]);
      expect(violation(r)).toBeNull();
      folded(r);
    }
  });

  it("a sigwaiting thread that does not block the signal still takes it when it comes during the wait: no handler runs", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = run([server(50_000, [k.sigmask("unblock", ["SIGUSR1"]), k.sigwait("SIGUSR1", { ret: "sig" })])], seed);
      expect(r.st.outcome!.kind).toBe("ok");
      const wake = of(r.evs, k.KIND.wake).find((e) => e.c === k.HOW.signal)!;
      expect(wake.a).toBe(3);
      expect(of(r.evs, k.KIND.signalDeliver).map((e) => [e.tid, e.a, e.b])).toEqual([[3, SIG.SIGUSR1, 3]]);
      expect(regs(r.evs, "sig")).toEqual([SIG.SIGUSR1]);
      expect(of(r.evs, k.KIND.sigreturn)).toEqual([]);
      folded(r);
    }
  });

  it("a signal already pending is taken at once, without a wait", () => {
    const r = run([
      [k.sigmask("block", ["SIGUSR2"]), k.raise("SIGUSR2"), k.sigwait(["SIGUSR1", "SIGUSR2"], { ret: "sig" })],
    ]);
    expect(r.st.outcome!.kind).toBe("ok");
    expect(of(r.evs, k.KIND.sigwait)).toEqual([]);
    expect(regs(r.evs, "sig")).toEqual([SIG.SIGUSR2]);
  });

  it("sigtimedwait: the timeout ends the wait with -EAGAIN (an errno event); a signal before it is taken", () => {
    const late = run([
      server(80_000, [k.sigwait("SIGUSR1", { ret: "sig", timeout: 20_000 }), k.sigwait("SIGUSR1", { ret: "sig2" })]),
    ]);
    expect(late.st.outcome!.kind).toBe("ok");
    expect(regs(late.evs, "sig")).toEqual([-k.ERRNO.EAGAIN]);
    expect(regs(late.evs, "sig2")).toEqual([SIG.SIGUSR1]);
    const err = of(late.evs, k.KIND.errno)[0]!;
    expect(describeEv(err)).toBe("tid 3: sigtimedwait(SIGUSR1) fails: EAGAIN");
    expect(of(late.evs, k.KIND.sigwait)[0]!.b).toBeGreaterThan(0);
    folded(late);
    const early = run([server(5_000, [k.sigwait("SIGUSR1", { ret: "sig", timeout: 200_000 })])]);
    expect(regs(early.evs, "sig")).toEqual([SIG.SIGUSR1]);
  });

  it("a thread that does not block the signal takes it instead (its handler runs there), and the sigwait can never return: no-deadlock", () => {
    const r = run([
      [
        k.fork(
          [
            k.sigaction("SIGUSR1", [k.store("got", 1)], { name: "on_usr1" }),
            k.thread([k.sigmask("block", ["SIGUSR1"]), k.sigwait("SIGUSR1", { ret: "sig" })], { tid: "w" }),
            k.join(k.r("w")),
          ],
          { pid: "c" },
        ),
        k.sleep(50_000),
        k.kill(k.r("c"), "SIGUSR1"),
        k.waitpid(k.r("c")),
      ],
    ]);
    expect(r.st.outcome!.kind).toBe("hang");
    expect(of(r.evs, k.KIND.signalDeliver).map((e) => [e.tid, e.b])).toEqual([[2, 2]]);
    const v = violation(r)!;
    expect(v.invariant).toBe("no-deadlock");
    expect(r.st.threads.get(3)!.waitOn).toMatchObject({ what: "sigwait", id: 1 << (SIG.SIGUSR1 - 1) });
    expect(k.waitText(r.st, r.st.threads.get(3)!)).toBe("waits in sigwait for SIGUSR1");
    folded(r);
  });

  it("a sigwait nobody can send to is stuck (no-deadlock at the wait); with a timeout it is not", () => {
    const stuck = run([[k.sigmask("block", ["SIGUSR1"]), k.sigwait("SIGUSR1")]]);
    expect(stuck.st.outcome!.kind).toBe("hang");
    const v = violation(stuck)!;
    expect(v.invariant).toBe("no-deadlock");
    expect(v.message).toMatch(/^tid 1 \(pid 1\) waits in sigwait for SIGUSR1, which can never return/);
    const timed = run([[k.sigmask("block", ["SIGUSR1"]), k.sigwait("SIGUSR1", { timeout: 1000, ret: "r" })]]);
    expect(timed.st.outcome!.kind).toBe("ok");
    expect(violation(timed)).toBeNull();
  });

  it("a sigwait with no signal or an unknown one is a scenario error", () => {
    expect(validateWorld(world([[{ op: "sigwait", sigs: [] } as never]]))).toMatch(/needs a list of signals/);
    expect(validateWorld(world([[k.sigwait("SIGNOPE")]]))).toMatch(/SIGNOPE/);
  });
});
