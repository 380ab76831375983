// examples/ (issue 11): each bug of the operating-system objects fails with
// the invariant its header documents, at its root-cause event, on the seeds
// examples/README.md counts (explore's in-process engine; seeds 1..2000 where
// the bug is rare, 1..200 where nearly every seed fails); every fix is clean
// over seeds 1..500 under every invariant. Also: the pipe example's report
// names the fork that inherited the write end; the priority-inversion example
// shows the medium thread running while the high one waits, in `events` and
// in the TUI's panes.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { newChecker, runBatch } from "../src/explore/seed.ts";
import { EVENT_KINDS, fromPlain, type KEvent, KIND, type OutcomeKind, toPlain } from "../src/kernel/index.ts";
import { prepareWith } from "../src/record/index.ts";
import { Cursor, describe as describeEv, MemorySource, stateView } from "../src/replay/index.ts";
import { resolveScenario, type Scenario } from "../src/scenarios/index.ts";
import type { Command } from "../src/tui/keymap.ts";
import { statePanes } from "../src/tui/rows.ts";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";
import { replaySeed } from "./helpers/scenario-run.ts";
import { storeFor } from "./helpers/tui.ts";

const DIR = join(REPO_ROOT, "examples");
const file = (name: string) => join(DIR, `${name}.ts`);
const kindOf = (e: KEvent) => EVENT_KINDS[e.kind]!.name;
const load = (name: string) => resolveScenario(file(name));

/** A seed's run in full: its events, the first violation (every invariant), the final state. */
const replay = (sc: Scenario, seed: number, fix = "") => replaySeed(sc, seed, { fix });
type Run = ReturnType<typeof replay>;
const causeEvents = (r: Run) => r.v!.causes.map((c) => r.evs[c.seq]!);

interface Case {
  name: string;
  /** Seeds explored for the buggy variant (2000 where the bug is rare). */
  seeds: number;
  failing: number;
  violations: Record<string, number>;
  outcomes: Partial<Record<OutcomeKind, number>>;
  /** Checks the violation's event (the root cause) on the first failing seed. */
  root: (e: KEvent, r: Run) => void;
}

const CASES: Case[] = [
  {
    name: "pdeathsig-race",
    seeds: 2000,
    failing: 299,
    violations: { "no-orphan-worker": 299 },
    outcomes: { budget: 299, ok: 1701 },
    root: (e, r) => {
      // The orphan's progress after init marked the supervisor gone; the supervisor's exit reparented the worker
      // before its prctl, which is the root.
      expect(kindOf(e)).toBe("progress");
      expect(r.evs.some((x) => kindOf(x) === "signal" && x.a === 3)).toBe(false);
      const re = r.evs.find((x) => kindOf(x) === "reparent")!;
      const set = r.evs.find((x) => kindOf(x) === "pdeathsig")!;
      expect(re.seq).toBeLessThan(set.seq);
      expect(describeEv(set, r.st)).toBe(
        `tid 3 asks for SIGTERM when the thread that forked its process exits (prctl PR_SET_PDEATHSIG): its parent already exited (init adopted pid 3 at seq ${re.seq}), so it never comes`,
      );
    },
  },
  {
    name: "pdeathsig-thread",
    seeds: 2000,
    failing: 532,
    violations: { assertions: 532 },
    outcomes: { fatal: 532, ok: 1468 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("assert-fail");
      expect(r.v!.message).toBe("tid 2 (pid 2): Assertion `the conversion completed' failed.");
      // the pool thread's exit sent SIGKILL to the helper while pid 2 ran on; it killed the helper
      const exit = r.evs.find((x) => kindOf(x) === "thread-exit" && x.a === 3)!;
      const sent = r.evs.find((x) => kindOf(x) === "signal" && x.a === 3)!;
      expect([sent.tid, sent.b, exit.seq < sent.seq]).toEqual([3, 9, true]);
      expect(r.evs.find((x) => kindOf(x) === "signal-deliver")).toMatchObject({ tid: 4, a: 9, b: 0, c: sent.seq });
    },
  },
  {
    name: "lost-wakeup",
    seeds: 2000,
    failing: 1048,
    violations: { "no-deadlock": 1048 },
    outcomes: { hang: 1048, ok: 952 },
    root: (e, r) => {
      expect(["futex-wait", "join-wait"]).toContain(kindOf(e));
      expect(r.v!.message).toMatch(/(waits on condvar job_ready|blocks in join\(tid 2\)), which can never return/);
      // the signal nobody received is among the causes
      const lost = causeEvents(r).find((c) => kindOf(c) === "futex-wake")!;
      expect([lost.c, lost.tid]).toEqual([0, 1]);
      expect(describeEv(lost, r.st)).toBe(
        "tid 1 wakes up to 1 on condvar job_ready: no thread is waiting, the wakeup is lost",
      );
    },
  },
  {
    name: "sem-miscount",
    seeds: 2000,
    failing: 284,
    violations: { "pool-limit": 284 },
    outcomes: { ok: 2000 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("fetch-add");
      expect([e.b, e.c]).toEqual([2, 3]);
      // the failed query posted the pool twice before this third entry
      const failed = r.evs.find((x) => x.kind === KIND.user && x.s === "query failed: release the connection")!;
      expect(failed.seq).toBeLessThan(e.seq);
    },
  },
  {
    name: "pipe-inherit",
    seeds: 200,
    failing: 200,
    violations: { "no-deadlock": 200 },
    outcomes: { hang: 200 },
    root: (e, r) => {
      expect(["pipe-wait", "thread-exit"]).toContain(kindOf(e));
      expect(r.v!.message).toMatch(
        /^tid 1 \(pid 1\) blocks reading pipe 1 \(empty\), which can never return: its write end is still open in pid 3 \(fd 4, inherited when it was forked\)/,
      );
      const fork = causeEvents(r).find((c) => kindOf(c) === "fork")!;
      expect([fork.a, fork.b]).toEqual([1, 3]);
    },
  },
  {
    name: "pipe-both-ways",
    seeds: 200,
    failing: 200,
    violations: { "no-deadlock": 200 },
    outcomes: { hang: 200 },
    root: (e, r) => {
      // the pipe-wait that closes the cycle: the program's on the input pipe, or the filter's on the output pipe
      expect(kindOf(e)).toBe("pipe-wait");
      expect(r.v!.message).toMatch(
        /^tid ([12]) \(pid \1\) blocks writing pipe ([12]) \((full|60 of 64 bytes buffered, the write needs (20|16) free)\), which can never return: its read end is still open in pid [12] \(fd [05]\), whose threads cannot run: tid [12] \(pid [12]\) blocks writing pipe [12] \((full|60 of 64 bytes buffered, the write needs (20|16) free)\)$/,
      );
    },
  },
  {
    name: "robust-mutex",
    seeds: 2000,
    failing: 1158,
    violations: { "lock-misuse": 600, assertions: 558 },
    outcomes: { fatal: 1158, ok: 842 },
    root: (e, r) => {
      // The first failing seed: the writer died between its two stores; the reader took EOWNERDEAD and checked the torn record.
      expect(kindOf(e)).toBe("assert-fail");
      expect(r.v!.message).toBe("tid 3 (pid 3): Assertion `the record is consistent' failed.");
      const robust = r.evs.filter((x) => x.kind === KIND.lockRobust).map((x) => describeEv(x, r.st));
      expect(robust).toEqual([
        "tid 2: robust rec.lock: tid 2 died holding it (owner-died: freed, and the next lock returns EOWNERDEAD)",
        "tid 3: takes robust rec.lock with EOWNERDEAD: its owner died holding it; what it protects may be inconsistent until pthread_mutex_consistent",
        // The assert's abort kills the reader holding it in turn.
        "tid 3: robust rec.lock: tid 3 died holding it (owner-died: freed, and the next lock returns EOWNERDEAD)",
      ]);
    },
  },
  {
    name: "sigwait-unblocked",
    seeds: 2000,
    failing: 1416,
    violations: { "no-deadlock": 1416 },
    outcomes: { hang: 1416, ok: 584 },
    root: (e, r) => {
      // The first failing seed: the main thread took the SIGUSR1 (its handler) before it blocked it; the sigwait waits for ever.
      expect(kindOf(e)).toBe("sigwait");
      expect(r.v!.message).toBe(
        "tid 3 (pid 2) waits in sigwait for SIGUSR1, which can never return: the only threads that could wake it are tid 1 (pid 1), which blocks in waitpid(2); tid 2 (pid 2), which blocks in join(tid 3)",
      );
      expect(causeEvents(r).map(kindOf)).toEqual(["join-wait"]);
      expect(stateView(r.st).threads.find((t) => t.tid === 3)!.waitOn!.text).toBe("waits in sigwait for SIGUSR1");
    },
  },
  {
    name: "signal-malloc",
    seeds: 2000,
    failing: 680,
    violations: { "signal-safety": 680 },
    outcomes: { hang: 680, ok: 1320 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("lock-misuse");
      expect(r.v!.message).toMatch(
        /^tid 1 \(pid 1\) in its SIGALRM handler waits for tcmalloc\.(central\[64\]|SlowTLS), which the code the signal interrupted holds on the same thread/,
      );
      expect(causeEvents(r).map(kindOf)).toEqual(["lock-acquire", "signal", "signal-deliver"]);
    },
  },
  {
    name: "system-reaper",
    seeds: 2000,
    failing: 129,
    violations: { assertions: 129 },
    outcomes: { fatal: 129, ok: 1871 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("assert-fail");
      expect(r.v!.message).toBe("tid 1 (pid 1): Assertion `system(): waitpid found its child' failed.");
      // the handler reaped the child (between its delivery and its sigreturn), then the parent's waitpid failed
      const before = r.evs.slice(0, e.seq);
      const reap = before.find((x) => kindOf(x) === "reap")!;
      const del = before.find((x) => kindOf(x) === "signal-deliver")!;
      const ret = before.find((x) => kindOf(x) === "sigreturn")!;
      const echild = before.findLast((x) => kindOf(x) === "errno")!;
      expect([reap.tid, reap.a]).toEqual([1, 2]);
      expect(del.seq < reap.seq && reap.seq < ret.seq && ret.seq < echild.seq).toBe(true);
      expect(describeEv(echild, r.st)).toBe("tid 1: waitpid(2) fails: ECHILD");
    },
  },
  {
    name: "eintr-read",
    seeds: 2000,
    failing: 395,
    violations: { assertions: 395 },
    outcomes: { fatal: 395, ok: 1605 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("assert-fail");
      expect(r.v!.message).toBe(
        "tid 1 (pid 1): Assertion `the collector read all 64 bytes of the worker's output' failed.",
      );
      // SIGCHLD (sent for tid 1, the thread it woke from its read) ran the handler on tid 1; the read then failed with EINTR
      const before = r.evs.slice(0, e.seq);
      const del = before.findLast((x) => kindOf(x) === "signal-deliver")!;
      const ret = before.findLast((x) => kindOf(x) === "sigreturn")!;
      const eintr = before.findLast((x) => kindOf(x) === "errno")!;
      expect([del.tid, ret.tid, eintr.tid]).toEqual([1, 1, 1]);
      expect(del.seq < ret.seq && ret.seq < eintr.seq).toBe(true);
      expect(describeEv(eintr, r.st)).toBe("tid 1: read(3, 16) fails: EINTR");
      // the check read a total short of 64
      expect(describeEv(before.findLast((x) => kindOf(x) === "load")!, r.st)).toMatch(
        /^tid 1 loads total = (0|16|32|48) into got$/,
      );
    },
  },
  {
    name: "sem-eintr",
    seeds: 2000,
    failing: 407,
    violations: { "one-inside": 407 },
    outcomes: { ok: 2000 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("fetch-add");
      expect(r.v!.message).toBe("two threads inside the semaphore's section (inside = 2 in pid 1)");
    },
  },
  {
    name: "rwlock-upgrade",
    seeds: 2000,
    failing: 931,
    violations: { "no-deadlock": 931 },
    outcomes: { hang: 931, ok: 1069 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("futex-wait");
      expect(r.v!.message).toMatch(/^tid 2 \(pid 1\) waits on rwlock cache_lock, which can never return/);
    },
  },
  {
    name: "rwlock-writer-starvation",
    seeds: 200,
    failing: 126,
    violations: { "no-starvation": 126 },
    outcomes: { budget: 200 },
    root: (e, r) => {
      // seed 1: the writer's last update at 11,131; it lost the rwlock 15 times in the last 4,000 events
      expect(kindOf(e)).toBe("end");
      expect(r.v!.message).toBe(
        "tid 4 (pid 1) starves: no progress since seq 11131 (8868 events), while tids 2, 3 made progress in the last 4000 events; it lost the race for rwlock rw 15 times in them (the last at seq 18957)",
      );
      const [progress, first, last, other] = causeEvents(r);
      expect([kindOf(progress!), progress!.tid, progress!.s]).toEqual(["progress", 4, "update"]);
      for (const lost of [first!, last!]) expect([kindOf(lost), lost.tid]).toEqual(["futex-wait", 4]);
      expect(first!.seq).toBeGreaterThanOrEqual(r.v!.seq - 4000);
      expect([kindOf(other!), other!.tid === 4]).toEqual(["progress", false]);
    },
  },
  {
    name: "signal-counter",
    seeds: 2000,
    failing: 1726,
    violations: { assertions: 1723, "data-race": 3 },
    outcomes: { fatal: 1725, ok: 275 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("assert-fail");
      expect(r.v!.message).toBe("tid 1 (pid 1): Assertion `every event counted' failed.");
    },
  },
  {
    name: "pause-race",
    seeds: 2000,
    failing: 414,
    violations: { "no-deadlock": 414 },
    outcomes: { hang: 414, ok: 1586 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("pause");
      expect(r.v!.message).toBe(
        "tid 1 (pid 1) waits for a signal (pause), which can never return: nothing is left to wake it",
      );
      // the SIGUSR1 it waits for was taken between its check of the flag and the pause
      const before = r.evs.filter((x) => x.seq < e.seq && x.tid === 1);
      const del = before.findLast((x) => kindOf(x) === "signal-deliver")!;
      const check = before.findLast((x) => kindOf(x) === "atomic-load" && x.seq < del.seq)!;
      expect([check.b, describeEv(del, r.st)]).toEqual([0, expect.stringMatching(/^tid 1 takes SIGUSR1 /)]);
    },
  },
  {
    name: "fd-reuse",
    seeds: 200,
    failing: 200,
    violations: { "data-race": 200 },
    outcomes: { ok: 200 },
    root: (e, r) => {
      // a log write through a number the main thread closed (EBADF), or closed and reopened for the data pipe
      expect(["pipe-write", "errno"]).toContain(kindOf(e));
      expect(e.tid).toBe(2);
      const cause = causeEvents(r)[0]!;
      expect([cause.tid, cause.a]).toEqual([1, 4]);
      if (kindOf(e) === "errno") {
        expect(kindOf(cause)).toBe("fd-close");
        expect(r.v!.message).toBe(
          `data race on fd 4 of pid 1: write(4, 8) failing with EBADF by tid 2 (pid 1) at seq ${e.seq} and fd-close (closed) by tid 1 (pid 1) at seq ${cause.seq}; nothing orders them: tid 2 (pid 1) may be using a descriptor another thread closed`,
        );
      } else {
        expect(kindOf(cause)).toBe("fd-open");
        expect(r.v!.message).toMatch(
          /^data race on fd 4 of pid 1: pipe-write \(written through\) by tid 2 \(pid 1\) at seq \d+ and fd-open \(opened\) by tid 1 \(pid 1\) at seq \d+; nothing orders them: tid 2 \(pid 1\) may be using a number that was closed and given to another file under it$/,
        );
      }
    },
  },
  {
    name: "sigchld-merge",
    seeds: 2000,
    failing: 405,
    violations: { "no-deadlock": 405 },
    outcomes: { hang: 405, ok: 1595 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("pause");
      expect(r.v!.message).toBe(
        "tid 1 (pid 1) waits for a signal (pause), which can never return: nothing is left to wake it",
      );
    },
  },
  {
    name: "self-pipe",
    seeds: 2000,
    failing: 1526,
    violations: { "no-deadlock": 1526 },
    outcomes: { hang: 1526, ok: 474 },
    root: (e, r) => {
      // seed 1: the read that waits for the byte merged SIGCHLDs never wrote; the merged sends are among the causes
      expect(kindOf(e)).toBe("pipe-wait");
      expect(r.v!.message).toBe(
        "tid 1 (pid 1) blocks reading pipe 1 (empty), which can never return: its write end is still open in pid 1 (fd 4), and no thread but tid 1 itself is left in pid 1 to write to it or close it",
      );
    },
  },
  {
    name: "cv-timedwait",
    seeds: 2000,
    failing: 393,
    violations: { assertions: 393 },
    outcomes: { fatal: 393, ok: 1607 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("assert-fail");
      expect(r.v!.message).toBe("tid 1 (pid 1): Assertion `no job left behind' failed.");
    },
  },
  {
    name: "one-condvar",
    seeds: 200,
    failing: 175,
    violations: { "no-deadlock": 175 },
    outcomes: { hang: 175, ok: 25 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("futex-wait");
      expect(r.v!.message).toMatch(
        /^tid \d \(pid 1\) waits on condvar cv, which can never return: the only threads that could wake it are /,
      );
      // the story: a signal woke a thread of the same kind (producers tids 2, 3; consumers 4, 5), which waited again
      const role = (tid: number) => (tid <= 3 ? "producer" : "consumer");
      const wasted = causeEvents(r).filter((c) => kindOf(c) === "wake" && c.tid >= 2 && role(c.tid) === role(c.a));
      expect(wasted.length).toBeGreaterThan(0);
      const woken = wasted[0]!.a;
      expect(
        r.v!.causes.some((c) => c.why.startsWith(`tid ${woken} was woken by tid ${wasted[0]!.tid} and waited again`)),
      ).toBe(true);
    },
  },
  {
    name: "priority-inversion",
    seeds: 200,
    failing: 200,
    violations: { "priority-inversion": 200 },
    outcomes: { ok: 200 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("switch");
      expect(e.b).toBe(4);
      expect(r.v!.message).toBe(
        "tid 4 (pid 1, fifo 20) runs on cpu 0 while tid 3 (fifo 30) waits on bus held by tid 2 (fifo 10), which is ready but cannot run: a priority inversion (priority inheritance on bus would let tid 2 run at fifo 30)",
      );
    },
  },
  {
    name: "cv-priority-inversion",
    seeds: 200,
    failing: 200,
    violations: { "wakeup-inversion": 200 },
    outcomes: { ok: 200 },
    root: (e, r) => {
      // The producer's wake of the consumer, judged on what ran while the consumer waited.
      expect(kindOf(e)).toBe("wake");
      expect([e.a, e.b]).toEqual([3, 2]);
      expect(r.v!.message).toMatch(
        /^tid 3 \(pid 1, fifo 30\) waited for condvar frame_ready from seq \d+ until tid 2 \(fifo 10\) woke it here; tid 4 \(fifo 20\) ran from seq \d+ to \d+ while tid 2 was ready and could not: a priority inversion through a wakeup \(a condvar has no owner, so priority inheritance cannot lend tid 2 the waiter's priority: run the waker at it\)$/,
      );
      const [wait, runs] = causeEvents(r);
      expect([kindOf(wait!), wait!.tid]).toEqual(["futex-wait", 3]);
      expect([kindOf(runs!), runs!.b]).toEqual(["switch", 4]);
    },
  },
  {
    name: "zombie-leak",
    seeds: 200,
    failing: 200,
    violations: { "zombie-leak": 200 },
    outcomes: { budget: 200 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("end");
      expect(r.v!.message).toMatch(
        /^pid 2 exited at seq \d+ and is still a zombie at the end of the run: its parent pid 1 runs on and never reaped it \(it has no SIGCHLD handler and never waited for it\); \d+ more zombies of pid 1$/,
      );
      expect(causeEvents(r).map(kindOf)).toEqual(["fork", "proc-exit"]);
    },
  },
  {
    name: "spin-fifo",
    seeds: 2000,
    failing: 627,
    violations: { "no-deadlock": 627 },
    outcomes: { hang: 627, ok: 1373 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("hang");
      expect(r.v!.message).toBe(
        "no thread can ever run again: tid 1 (pid 1) blocks in join(tid 2); tid 2 (pid 1) is runnable (fifo 10) but every cpu runs a higher-priority thread: tid 3 (fifo 30) on cpu 0; tid 3 (pid 1) spins on s held by tid 2",
      );
      // the spinner's lock-wait (spinning: b = 1) is among the causes, and nothing ran after it
      const spin = causeEvents(r).find((c) => kindOf(c) === "lock-wait")!;
      expect([spin.tid, spin.b]).toEqual([3, 1]);
      expect(e.seq).toBe(spin.seq + 1);
    },
  },
  {
    name: "barrier-reuse",
    seeds: 2000,
    failing: 1998,
    violations: { "no-deadlock": 1998 },
    outcomes: { hang: 1998, ok: 2 },
    root: (e, r) => {
      expect(kindOf(e)).toBe("futex-wait");
      expect(r.v!.message).toMatch(/^tid \d+ \(pid 1\) waits on condvar cv, which can never return: /);
      // the other two threads' waits on cv are among its causes
      const waits = causeEvents(r).filter((c) => kindOf(c) === "futex-wait" && c.tid !== e.tid);
      expect(new Set(waits.map((w) => w.tid)).size).toBe(2);
      // the story: the waiter was woken by the broadcast, then a next-round arrival set `arrived` to 1 before it re-checked
      const woke = r.v!.causes.find((c) => c.why.startsWith(`tid ${e.tid} was woken by tid `))!;
      expect(kindOf(r.evs[woke.seq]!)).toBe("wake");
      expect(r.evs[woke.seq]!.a).toBe(e.tid);
      const set = r.v!.causes.find((c) => c.why.includes("read before waiting again"))!;
      const st = r.evs[set.seq]!;
      expect([kindOf(st), st.c]).toEqual(["store", 1]);
      expect(set.seq).toBeGreaterThan(woke.seq);
      expect(set.why).toBe(
        st.tid === e.tid
          ? `tid ${e.tid} itself set arrived to 1 after its wakeup at ${woke.seq}: the value it read before waiting again`
          : `tid ${st.tid} set arrived to 1 after tid ${e.tid}'s wakeup at ${woke.seq}: the value tid ${e.tid} read before waiting again`,
      );
    },
  },
  {
    name: "futex-mutex",
    seeds: 2000,
    failing: 840,
    violations: { "no-deadlock": 840 },
    outcomes: { hang: 840, ok: 1160 },
    root: (e, r) => {
      expect(["futex-wait", "join-wait", "thread-exit"]).toContain(kindOf(e));
      // the unlock that freed the word after the sleeper queued, with no wake after it
      const told = r.v!.causes.find((c) => c.why.includes("the waiter was never told"))!;
      expect(kindOf(r.evs[told.seq]!)).toBe("atomic-store");
      expect(r.evs[told.seq]!.c).toBe(0);
    },
  },
];

describe("examples/ (issue 11)", () => {
  it("each has a header saying what it models and what ktrace reports, and a README row with its fixes, invariant and count", async () => {
    const readme = readFileSync(join(DIR, "README.md"), "utf8");
    for (const c of CASES) {
      const text = readFileSync(file(c.name), "utf8");
      expect(text.startsWith(`// ${c.name}.ts: `), c.name).toBe(true);
      expect(text, c.name).toMatch(/\n\/\/ Models: /);
      expect(text, c.name).toMatch(/\n\/\/ (ktrace reports \(buggy variant|The scenario opts in)/);
      expect(text, c.name).toMatch(/\n\/\/ Fix(es)?: /);
      const sc = await load(c.name);
      expect(sc.name).toBe(c.name);
      const row = readme.split("\n").find((l) => l.startsWith(`| [\`${c.name}\`](${c.name}.ts) |`));
      expect(row, `README row for ${c.name}`).toBeDefined();
      for (const fix of Object.keys(sc.fixes)) expect(row, `${c.name} fix ${fix}`).toContain(`\`${fix}\``);
      for (const inv of Object.keys(c.violations)) expect(row, `${c.name} invariant ${inv}`).toContain(`\`${inv}\``);
      expect(row, `${c.name} count`).toContain(
        `${c.failing.toLocaleString("en-US")} of ${c.seeds.toLocaleString("en-US")}`,
      );
    }
  });

  it.each(CASES.map((c) => [c.name, c] as const))(
    "%s: the buggy variant fails as documented, at its root-cause event; every fix is clean over seeds 1..500",
    async (name, c) => {
      const sc = await load(name);
      const b = runBatch(sc, {}, 1, c.seeds, newChecker());
      expect(b.errors).toEqual([]);
      expect(b.failing).toHaveLength(c.failing);
      expect(b.violations).toEqual(c.violations);
      expect(b.outcomes).toEqual(c.outcomes);
      const f = b.failing[0]!;
      const r = replay(sc, f.seed);
      expect(r.v).toMatchObject({
        seq: f.violation!.seq,
        invariant: f.violation!.invariant,
        message: f.violation!.message,
      });
      c.root(r.evs[r.v!.seq]!, r);
      for (const fix of Object.keys(sc.fixes)) {
        const fb = runBatch(sc, { fix }, 1, 500, newChecker());
        expect(fb.errors, fix).toEqual([]);
        expect(fb.failing, fix).toEqual([]);
      }
    },
  );

  it("rwlock-upgrade: check names the read locks the waiting readers hold themselves", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-examples-os-"));
    try {
      const trace = join(dir, "rwlock-upgrade.ktrace");
      expect((await runCli(["record", file("rwlock-upgrade"), "--seed", "1", "-o", trace])).code).toBe(0);
      const r = await runCli(["check", trace, "--json"]);
      expect(r.code).toBe(1);
      const v = JSON.parse(r.stdout).violation as { causes: { seq: number; desc: string; why: string }[] };
      const held = v.causes.filter((c) => c.why.includes(" holds "));
      expect(held.map((c) => [c.desc, c.why.slice(c.why.lastIndexOf("tid "))])).toEqual([
        [
          "tid 3 compare-and-swaps cache_lock: 0 → 1; $cache_lock = 0",
          "tid 3 holds cache_lock for reading, and waits on it: for its own lock to go",
        ],
        [
          "tid 2 compare-and-swaps cache_lock: 1 → 2; $cache_lock = 1",
          "tid 2 holds cache_lock for reading, and waits on it: for its own lock to go",
        ],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sigchld-merge: a SIGCHLD sent while one is pending merges (events says so) and is among the hang's causes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-examples-os-"));
    try {
      const trace = join(dir, "sigchld-merge.ktrace");
      expect((await runCli(["record", file("sigchld-merge"), "--seed", "7", "-o", trace])).code).toBe(0);
      const sends = (await runCli(["events", trace, "--kind", "signal"])).stdout.trim().split("\n");
      expect(sends).toHaveLength(2);
      const first = Number(sends[0]!.trim().split(/\s+/)[0]);
      expect(sends[1]).toMatch(
        new RegExp(
          `tid 3 sends SIGCHLD to pid 1: merged with the SIGCHLD pending since seq ${first} \\(a signal does not queue\\)$`,
        ),
      );
      const r = await runCli(["check", trace, "--json"]);
      expect(r.code).toBe(1);
      const v = JSON.parse(r.stdout).violation as { invariant: string; causes: { kind: string; why: string }[] };
      expect(v.invariant).toBe("no-deadlock");
      expect(v.causes.find((c) => c.kind === "signal")?.why).toBe(
        "this SIGCHLD came while the one sent earlier was still pending, and merged with it: a signal does not queue, so its handler runs once for both (a SIGCHLD handler must reap every child that has exited, in a loop)",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("self-pipe: check names the SIGCHLDs that merged among the causes of a reader's hang (not only a pause's)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-examples-os-"));
    try {
      const trace = join(dir, "self-pipe.ktrace");
      expect((await runCli(["record", file("self-pipe"), "--seed", "1", "-o", trace])).code).toBe(0);
      const r = await runCli(["check", trace, "--json"]);
      expect(r.code).toBe(1);
      const v = JSON.parse(r.stdout).violation as {
        kind: string;
        causes: { kind: string; desc: string; why: string }[];
      };
      expect(v.kind).toBe("pipe-wait");
      const merged = v.causes.filter((c) => c.kind === "signal");
      expect(merged.length).toBeGreaterThan(0);
      for (const c of merged) {
        expect(c.desc).toMatch(/^tid \d+ sends SIGCHLD to pid 1: merged with the SIGCHLD pending since seq \d+/);
        expect(c.why).toMatch(/^this SIGCHLD came while the one sent earlier was still pending, and merged with it/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("self-pipe: the handler's blocked write is reported at the close of the last other copy of the read end", async () => {
    // seed 27: the handler blocks writing the full pipe while job pid 7 still holds an inherited read end;
    // when pid 7's exit closes it, nothing but the writer itself holds the read end.
    const sc = await load("self-pipe");
    const r = replay(sc, 27);
    expect(kindOf(r.evs[r.v!.seq]!)).toBe("fd-close");
    expect([r.evs[r.v!.seq]!.tid, r.evs[r.v!.seq]!.b]).toEqual([7, 1]);
    expect(r.v!.message).toBe(
      "tid 1 (pid 1) in its SIGCHLD handler blocks writing pipe 1 (full), which can never return: its read end is still open in pid 1 (fd 3), and no thread but tid 1 itself is left in pid 1 to read it or close it",
    );
    // the write's wait came first, and the delivery that started the handler is a cause
    const wait = r.evs.findIndex((e) => kindOf(e) === "pipe-wait" && e.tid === 1);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThan(r.v!.seq);
    expect(causeEvents(r).some((c) => kindOf(c) === "signal-deliver" && c.tid === 1)).toBe(true);
  });

  it("sigwait-unblocked: check names the SIGUSR1 that went to the thread that did not block it, and its send", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-examples-os-"));
    try {
      const sc = await load("sigwait-unblocked");
      const seed = runBatch(sc, {}, 1, 50, newChecker()).failing[0]!.seed;
      const trace = join(dir, "sigwait-unblocked.ktrace");
      expect((await runCli(["record", file("sigwait-unblocked"), "--seed", String(seed), "-o", trace])).code).toBe(0);
      const r = await runCli(["check", trace, "--json"]);
      expect(r.code).toBe(1);
      const v = JSON.parse(r.stdout).violation as {
        causes: { seq: number; kind: string; desc: string; why: string }[];
      };
      const [send, took] = ["signal", "signal-deliver"].map((kind) => v.causes.find((c) => c.kind === kind)!);
      expect(send!.desc).toBe("tid 1 sends SIGUSR1 to pid 2");
      expect(took!.desc).toBe(`tid 2 takes SIGUSR1 (sent at seq ${send!.seq}): its handler runs`);
      expect(took!.why).toBe(
        "the SIGUSR1 tid 3 waits for in sigwait went to tid 2, which does not block it: its handler ran there (block it in every thread, before creating them)",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pdeathsig-race and pdeathsig-thread: check names the late prctl after the reparent, and the parent-death SIGKILL behind the status", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-examples-os-"));
    type Causes = { causes: { seq: number; kind: string; desc: string; why: string; root?: boolean }[] };
    const check = async (name: string): Promise<Causes> => {
      const seed = runBatch(await load(name), {}, 1, 50, newChecker()).failing[0]!.seed;
      const trace = join(dir, `${name}.ktrace`);
      expect((await runCli(["record", file(name), "--seed", String(seed), "-o", trace])).code).toBe(0);
      const r = await runCli(["check", trace, "--json"]);
      expect(r.code).toBe(1);
      return JSON.parse(r.stdout).violation as Causes;
    };
    try {
      const race = await check("pdeathsig-race");
      expect(race.causes.slice(0, 2).map((c) => c.kind)).toEqual(["reparent", "pdeathsig"]);
      expect(race.causes[1]!.root).toBe(true);
      expect(race.causes[1]!.why).toBe(
        `tid 3 asks for SIGTERM at its parent's death after init adopted pid 3 (at ${race.causes[0]!.seq}): its parent is init now, which does not exit, so the signal never comes (compare getppid() with the parent's pid after the prctl)`,
      );
      const thread = await check("pdeathsig-thread");
      const [send, took] = ["signal", "signal-deliver"].map((kind) => thread.causes.find((c) => c.kind === kind)!);
      expect(send!.desc).toBe(
        "tid 3 sends SIGKILL to pid 3 (its parent-death signal: tid 3, the thread that forked it, exited)",
      );
      expect(send!.root).toBe(true);
      expect(took!.why).toBe("pid 3 was killed here by SIGKILL (its default action): st = 128 + 9");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("cv-timedwait: check names the job's store, the signal that found no waiter and the worker's ETIMEDOUT after it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-examples-os-"));
    try {
      const sc = await load("cv-timedwait");
      const seed = runBatch(sc, {}, 1, 200, newChecker()).failing[0]!.seed;
      const trace = join(dir, "cv-timedwait.ktrace");
      expect((await runCli(["record", file("cv-timedwait"), "--seed", String(seed), "-o", trace])).code).toBe(0);
      const r = await runCli(["check", trace, "--json"]);
      expect(r.code).toBe(1);
      const v = JSON.parse(r.stdout).violation as {
        causes: { seq: number; kind: string; desc: string; why: string }[];
      };
      const [stored, lost, gaveUp] = ["store", "futex-wake", "errno"].map(
        (kind) => v.causes.find((c) => c.kind === kind)!,
      );
      expect(stored!.desc).toBe("tid 1 stores jobs: 0 → 1");
      expect(lost!.desc).toBe("tid 1 wakes up to 1 on condvar cv: no thread is waiting, the wakeup is lost");
      expect(gaveUp!.desc).toBe("tid 2: pthread_cond_timedwait(cv) fails: ETIMEDOUT");
      expect(stored!.seq < lost!.seq && lost!.seq < gaveUp!.seq).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("signal-counter: check names each lost update (the handler's write the main loop overwrote), and why a handler ran on the control thread", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-examples-os-"));
    try {
      const causes = async (seed: number) => {
        const trace = join(dir, `signal-counter-${seed}.ktrace`);
        expect((await runCli(["record", file("signal-counter"), "--seed", String(seed), "-o", trace])).code).toBe(0);
        const r = await runCli(["check", trace, "--json"]);
        expect(r.code).toBe(1);
        return (JSON.parse(r.stdout).violation as { causes: { seq: number; why: string }[] }).causes.map((c) => c.why);
      };
      // seed 1: the count is short by the updates lost inside the main loop's load-add-store
      const lost = (await causes(1)).filter((w) => w.startsWith("a lost update: "));
      expect(lost.length).toBeGreaterThan(0);
      for (const w of lost)
        expect(w).toMatch(
          /^a lost update: tid 1 read events = \d+ at \d+, and tid 1's SIGUSR1 handler wrote it at \d+/,
        );
      // seed 23: a poke sent while tid 1 ran the handler for the previous one went to the control thread
      const why = await causes(23);
      expect(why).toContainEqual(
        expect.stringMatching(
          /^tid 1 runs its SIGUSR1 handler from here, with SIGUSR1 blocked while it runs, so the kernel gave the SIGUSR1 sent to pid 1 at \d+ to tid 2$/,
        ),
      );
      expect(why).toContainEqual(
        expect.stringMatching(/^tid 2 runs its SIGUSR1 handler from here: .* went to it \(tid 1 blocks it\)$/),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pipe-inherit: the report names the fork that inherited the write end", async () => {
    const trace = join(mkdtempSync(join(tmpdir(), "ktrace-examples-os-")), "pipe-inherit.ktrace");
    expect((await runCli(["record", file("pipe-inherit"), "--seed", "1", "-o", trace])).code).toBe(0);
    const rep = await runCli(["report", trace]);
    expect(rep.code).toBe(0);
    const fork = replay(await load("pipe-inherit"), 1).evs.find((e) => e.kind === KIND.fork && e.b === 3)!;
    expect(rep.stdout).toContain(
      `- event ${fork.seq} (fork): pid 3 inherits pipe 1's write end (fd 4) at its creation (fork/spawn)`,
    );
    expect(rep.stdout).toContain("its write end is still open in pid 3 (fd 4, inherited when it was forked)");
    // the TUI's sync pane marks the pipe and says who holds its write end; state --json lists the holders
    const sc = await load("pipe-inherit");
    const r = replay(sc, 1);
    const c = new Cursor(MemorySource.fromEvents(prepareWith(sc, { seed: 1 }).world.config, r.evs), { invariants: [] });
    c.seek(r.v!.seq);
    const pipeRow = statePanes(c.state)
      .find((p) => p.id === "sync")!
      .rows.find((x) => x.ref.kind === "pipe")!;
    expect(pipeRow.cells).toEqual(["pipe:1", "0/64", "1"]);
    expect(pipeRow.mark).toBe("bad");
    expect(pipeRow.note).toBe(
      "pipe 1: 0/64 bytes; write end open in pid 3 (fd 4); 2 read ends open; blocked: tid 1 (read)",
    );
    const st = await runCli(["state", trace, "--at", "violation", "--json"]);
    const pipes = JSON.parse(st.stdout).pipes;
    expect(pipes[0]).toMatchObject({
      id: 1,
      used: 0,
      holders: [
        { pid: 1, fds: [3], end: "read" },
        { pid: 3, fds: [3], end: "read" },
        { pid: 3, fds: [4], end: "write" },
      ],
      waiting: [{ tid: 1, to: "read" }],
    });
  });

  it("priority-inversion: events and the TUI's threads pane show the medium thread running while the high one waits", async () => {
    const sc = await load("priority-inversion");
    const r = replay(sc, 1);
    const c = new Cursor(MemorySource.fromEvents(prepareWith(sc, { seed: 1 }).world.config, r.evs), { invariants: [] });
    c.seek(r.v!.seq);
    expect(describeEv(r.evs[r.v!.seq]!, c.state)).toBe(
      "cpu 0: tid 2 → tid 4 (fifo 20); tid 3 (fifo 30) waits on bus held by tid 2 (fifo 10): priority inversion",
    );
    // the medium thread's steps, while the high one is blocked on bus
    c.step();
    const medium = r.evs.filter((e) => e.kind === KIND.user && e.s === "medium: communications");
    const highGets = r.evs.find((e) => e.kind === KIND.lockAcquire && e.tid === 3)!;
    expect(medium.length).toBe(40);
    expect(medium.every((e) => e.seq < highGets.seq)).toBe(true);
    const threads = statePanes(c.state).find((p) => p.id === "threads")!;
    expect(threads.columns).toEqual(["tid", "pid", "ident", "pri", "state"]);
    const rows = Object.fromEntries(threads.rows.map((x) => [x.ref.id, x]));
    expect(rows[4]!.cells).toEqual(["4", "1", "4", "f20", "running"]);
    expect(rows[4]!.mark).toBe("bad");
    expect(rows[4]!.note).toBe(
      "tid 4: tid 4 (fifo 20) runs while tid 3 (fifo 30) waits on bus held by tid 2 (fifo 10): priority inversion",
    );
    expect(rows[3]!.cells).toEqual(["3", "1", "3", "f30", "wait:bus"]);
    expect(rows[2]!.cells).toEqual(["2", "1", "2", "f10", "runnable"]);
    // with inheritance, the low thread shows its boost while the high one waits
    const fixed = replay(sc, 1, "inherit");
    const c2 = new Cursor(
      MemorySource.fromEvents(prepareWith(sc, { seed: 1, fix: "inherit" }).world.config, fixed.evs),
      { invariants: [] },
    );
    c2.seek(fixed.evs.find((e) => e.kind === KIND.lockWait && e.tid === 3)!.seq);
    const t2 = statePanes(c2.state).find((p) => p.id === "threads")!;
    expect(t2.rows.find((x) => x.ref.id === 2)!.cells[3]).toBe("f10↑30");
  });
});

describe("the TUI's e (why) on the objects of issue 11", () => {
  const cmd = (c: Awaited<ReturnType<typeof storeFor>>, command: Command) => c.dispatch({ type: "command", command });
  const focus = (c: Awaited<ReturnType<typeof storeFor>>, pane: string) => {
    for (let i = 0; i < 8 && c.getState().focus !== pane; i++) cmd(c, "focusNext");
    expect(c.getState().focus).toBe(pane);
  };
  it("lost-wakeup: the condvar explains its lost wake (Enter goes there); the waiting worker says who could wake it", async () => {
    const c = await storeFor(file("lost-wakeup"), { seed: 3 });
    focus(c, "sync");
    cmd(c, "explain");
    const d = c.getState().dialog;
    if (d?.kind !== "explain") throw new Error("no explanation");
    expect(d.title).toBe("condvar job_ready (seq 1; waiters 2)");
    const lost = d.lines.find((l) => l.includes("lost-wake"))!;
    expect(lost).toMatch(
      /^seq (\d+) {2}lost-wake: tid 1 woke condvar job_ready when no thread waited on it: nobody received that wakeup$/,
    );
    expect(d.seq).toBe(Number(/^seq (\d+)/.exec(lost)![1]));
    cmd(c, "accept");
    expect(c.engine.cursor.eventAt(c.engine.cursor.seq).kind).toBe(KIND.futexWake);
  });
  it("signal-malloc: the thread in its handler says who sent the signal", async () => {
    const c = await storeFor(file("signal-malloc"), { seed: 1 }, "violation");
    focus(c, "threads");
    cmd(c, "explain");
    const d = c.getState().dialog;
    if (d?.kind !== "explain") throw new Error("no explanation");
    expect(d.lines.join("\n")).toMatch(
      /signal-sent: tid 2 sent SIGALRM, whose handler tid 1 runs \(delivered at seq \d+\)/,
    );
  });
});

describe("robust-mutex", () => {
  it("the unlock without consistent: lock-misuse names the owner's death and the EOWNERDEAD acquire; the state shows the mutex inconsistent, then not recoverable; the next lock fails with ENOTRECOVERABLE; the fold agrees with the simulator", async () => {
    const sc = await load("robust-mutex");
    const seed = runBatch(sc, {}, 1, 50, newChecker()).failing.find(
      (f) => f.violation!.invariant === "lock-misuse",
    )!.seed;
    const r = replay(sc, seed);
    expect(kindOf(r.evs[r.v!.seq]!)).toBe("lock-misuse");
    expect(causeEvents(r).map(kindOf)).toEqual(["lock-robust", "lock-acquire"]);
    expect(r.v!.causes[0]!.why).toBe("its owner died holding rec.lock (owner-died)");
    const c = new Cursor(MemorySource.fromEvents(prepareWith(sc, { seed }).world.config, r.evs), { invariants: [] });
    c.seek(r.v!.seq - 1);
    const lockAt = () => stateView(c.state).locks.find((l) => l.name === "rec.lock")!;
    expect(lockAt()).toMatchObject({ robust: "inconsistent", owner: 3 });
    c.seek(r.v!.seq + 2);
    expect(lockAt()).toMatchObject({ robust: "not-recoverable", owner: -1 });
    const failed = r.evs.filter((e) => kindOf(e) === "errno").map((e) => describeEv(e, r.st));
    expect(failed).toEqual(["tid 3: pthread_mutex_lock(rec.lock) fails: ENOTRECOVERABLE"]);
    expect(r.st.outcome!.message).toBe("Assertion `rec.lock can be taken' failed.");
    c.seek(r.evs.length - 1);
    expect(toPlain(c.state)).toEqual(toPlain(r.st));
  });
});

describe("old snapshots and bad input", () => {
  it("a snapshot without the issue 11 fields reads as empty ones", async () => {
    const sc = await load("pipe-inherit");
    const r = replay(sc, 1);
    const c = new Cursor(MemorySource.fromEvents(prepareWith(sc, { seed: 1 }).world.config, r.evs), { invariants: [] });
    c.seek(r.v!.seq);
    const plain = toPlain(c.state) as unknown as Record<string, unknown>;
    delete plain.pipes;
    delete plain.nextPipe;
    for (const t of plain.threads as Record<string, unknown>[])
      for (const f of ["waitOn", "woken", "prio", "policy", "boost", "sigMask", "sigPending", "handling"]) delete t[f];
    for (const p of plain.procs as Record<string, unknown>[])
      for (const f of ["fds", "sigActions", "sigPending", "adoptedSeq", "exitSeq"]) delete p[f];
    const st = fromPlain(plain as never);
    const v = stateView(st);
    expect(v.pipes).toEqual([]);
    expect(v.processes.every((p) => p.fds.length === 0 && p.sigActions.length === 0)).toBe(true);
    expect(v.threads.every((t) => t.waitOn === undefined && t.sched.policy === "other")).toBe(true);
    expect(st.nextPipe).toBe(1);
  });
  it("a malformed scenario is one line with the op's path, and nothing is written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-bad-os-"));
    const bad = join(dir, "bad-os.ts");
    writeFileSync(
      bad,
      `export default (k) => k.defineScenario({ name: "bad-os", fixes: {}, build: () => ({ procs: [{ name: "p", main: [k.user("x"), k.cvWait("ready", "m")] }] }) });\n`,
    );
    const out = join(dir, "out.ktrace");
    const r = await runCli(["record", bad, "-o", out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toEqual([
      `ktrace: scenario bad-os (${relative(REPO_ROOT, bad)}): procs[0].main[1] (cvWait) at bad-os.ts:1: unknown condvar 'ready' (declare it in build()'s vars: { ready: condvar() })`,
    ]);
    expect(existsSync(out)).toBe(false);
  });
});

describe("the Chrome export of the issue 11 objects", () => {
  it("waits are slices, wakeups and signals flow arrows, a lost wakeup an instant, a handler a slice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktrace-chrome-os-"));
    const events = async (name: string, seed: number) => {
      const trace = join(dir, `${name}.ktrace`);
      expect((await runCli(["record", file(name), "--seed", String(seed), "-o", trace])).code).toBe(0);
      const out = join(dir, `${name}.json`);
      expect((await runCli(["export", trace, "--format", "chrome", "-o", out])).code).toBe(0);
      return (
        JSON.parse(readFileSync(out, "utf8")) as {
          traceEvents: { name: string; ph: string; cat?: string; id?: number; dur?: number }[];
        }
      ).traceEvents;
    };
    const lw = await events("lost-wakeup", 3);
    expect(lw.some((e) => e.ph === "X" && e.cat === "wait" && e.name === "waits on condvar job_ready")).toBe(true);
    expect(lw.some((e) => e.ph === "X" && e.cat === "wait" && e.name === "blocks in join(tid 2)")).toBe(true);
    expect(lw.some((e) => e.ph === "i" && e.name === "lost wakeup: condvar job_ready (no waiter)")).toBe(true);
    const fixed = await events("futex-mutex", 2);
    const starts = fixed.filter((e) => e.ph === "s" && e.cat === "wake");
    const ends = new Set(fixed.filter((e) => e.ph === "f" && e.cat === "wake").map((e) => e.id));
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.every((e) => ends.has(e.id))).toBe(true);
    expect(starts[0]!.name).toMatch(/^wake tid \d+ \(futex: lock\)$/);
    const sig = await events("signal-malloc", 1);
    expect(sig.some((e) => e.ph === "s" && e.cat === "signal" && e.name === "SIGALRM → pid 1")).toBe(true);
    expect(sig.some((e) => e.ph === "X" && e.cat === "signal" && e.name === "SIGALRM handler")).toBe(true);
  });
});
